//! nodectl: GitOps for Genesys Cloud data actions. Teams keep each data action as a TOML manifest in
//! git; nodectl validates the manifests and fixtures offline (and, as the later layers land, dry-runs,
//! plans and applies them). See ARCHITECTURE.md for the module map and its one-way dependencies.

// Library code reports failures as values: no panicking shortcuts, and only `cli` prints.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::print_stdout,
        clippy::print_stderr
    )
)]

pub mod apply;
pub mod canonical;
pub mod cli;
pub mod emulator;
pub mod export;
pub mod fingerprint;
pub mod fixture;
pub mod fsx;
pub mod genesys;
pub mod http;
pub mod jsonpath;
pub mod lint;
pub mod manifest;
pub mod model;
pub mod ops;
pub mod parity;
pub mod plan;
pub mod remote;
pub mod report;
pub mod runtime;
pub mod schema;
pub mod serve;
pub mod transport;
pub mod vtl;
