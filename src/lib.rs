//! nodectl: GitOps for Genesys Cloud data actions. Teams keep each data action as a TOML manifest in
//! git; nodectl validates the manifests and fixtures offline (and, as the later layers land, dry-runs,
//! plans and applies them). See ARCHITECTURE.md for the module map and its one-way dependencies.

pub mod cli;
pub mod jsonpath;
pub mod manifest;
pub mod model;
pub mod report;
