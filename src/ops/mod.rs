//! The operations behind the project commands, as cargo's `commands/*` call `ops::*`: `cli` parses
//! arguments, calls one operation here and hands its result to `report`. An operation makes the
//! decisions of its command (what to connect to, when a saved plan is stale, when to ask for
//! confirmation, which files an export may write) and does the I/O around the pure layers (`plan`,
//! `apply`, `export`, `fixture::record`); it never prints: what a person must be asked goes through
//! a callback (`apply::ApplyUi`), and its failures are `OpsError` values that `cli::exit` maps to
//! exit codes.

pub mod apply;
pub mod connect;
pub mod export;
pub mod import;
pub mod init;
pub mod integrations;
pub mod live;
pub mod parity;
pub mod plan;
pub mod record;
pub mod update;

use std::path::PathBuf;

use thiserror::Error;

use crate::emulator;
use crate::manifest::paths::ContainmentError;
use crate::remote::RemoteError;

pub use crate::lint::load_project;
pub use connect::{Connection, connect, emulator_state_file};
pub use plan::{PlanSettings, Planned};

/// What an operation can fail with. The variant says which exit code applies (`cli::exit`); the
/// message is the one line the user sees after `error:`.
#[derive(Debug, Error)]
pub enum OpsError {
    #[error("{0}")]
    Credentials(String),
    #[error("the embedded emulator: {0}")]
    Emulator(#[from] emulator::EmulatorError),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Api(#[from] crate::genesys::ApiError),
    #[error("cannot start the dry-run: {0}")]
    DryRun(std::io::Error),
    /// A setting from the environment (`NODECTL_API_BASE`, `NODECTL_HTTP_TIMEOUT`) that is wrong.
    #[error("{0}")]
    Setting(String),
    /// A file of nodectl's own under the project that a symlink leads elsewhere (docs/security.md).
    #[error("`{path}` {reason}; nodectl does not use it")]
    Contained {
        path: PathBuf,
        reason: ContainmentError,
    },
    /// A file that could not be read or written (the message names it and says why).
    #[error("{0}")]
    Io(String),
    /// The request contradicts itself or the project (a flag against the plan file, an
    /// integration the env does not manage): a usage error.
    #[error("{0}")]
    Usage(String),
    /// Not done for safety: a saved plan that is not intact, files an export would overwrite, a
    /// fixture `record` would overwrite.
    #[error("{0}")]
    Refused(String),
}
