//! Exit codes: the one place that maps outcomes to process exit codes (docs/plan-apply.md, "Exit codes"), and the
//! precedence used when several apply.

use std::process::ExitCode;

use crate::ops::OpsError;
use crate::ops::apply::ApplyEnd;
use crate::ops::plan::Stops;

/// The documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Success; for `plan --detailed-exitcode`: no changes.
    Success,
    /// Runtime failure (remote error, apply step failed, I/O).
    Failure,
    /// `plan --detailed-exitcode` only: changes present.
    Changes,
    /// Invalid manifests, fixtures or project file.
    Invalid,
    /// Dry-run failures (a fixture did not pass).
    DryRunFailed,
    /// Refused for safety: unsafe plan without `--force`, stale plan, ownership conflict.
    Refused,
    /// Command-line usage error.
    Usage,
}

impl Exit {
    /// When several apply, the first of these that holds wins.
    const PRECEDENCE: [Exit; 7] = [
        Exit::Usage,
        Exit::Invalid,
        Exit::Failure,
        Exit::DryRunFailed,
        Exit::Refused,
        Exit::Changes,
        Exit::Success,
    ];

    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Changes => 2,
            Exit::Invalid => 3,
            Exit::DryRunFailed => 4,
            Exit::Refused => 5,
            Exit::Usage => 64,
        }
    }

    /// The exit that wins among several that hold.
    pub fn combine(exits: &[Exit]) -> Exit {
        Exit::PRECEDENCE
            .into_iter()
            .find(|candidate| exits.contains(candidate))
            .unwrap_or(Exit::Success)
    }
}

impl Exit {
    /// The exit of an operation that failed.
    pub fn of_error(error: &OpsError) -> Exit {
        match error {
            OpsError::Usage(_) => Exit::Usage,
            OpsError::Refused(_) => Exit::Refused,
            OpsError::Credentials(_)
            | OpsError::Emulator(_)
            | OpsError::Remote(_)
            | OpsError::Api(_)
            | OpsError::DryRun(_)
            | OpsError::Setting(_)
            | OpsError::Contained { .. }
            | OpsError::Io(_) => Exit::Failure,
        }
    }

    /// The exits a computed plan implies: its stops, and with `plan --detailed-exitcode`
    /// (`detailed`) its changes.
    pub fn of_plan(stops: Stops, detailed_changes: bool) -> Vec<Exit> {
        let mut exits = Vec::new();
        if stops.dry_run_failed {
            exits.push(Exit::DryRunFailed);
        }
        if stops.refused {
            exits.push(Exit::Refused);
        }
        if detailed_changes {
            exits.push(Exit::Changes);
        }
        exits
    }

    /// The exit of an apply that ran to its end.
    pub fn of_apply(end: &ApplyEnd) -> Exit {
        match end {
            ApplyEnd::Stale(_) | ApplyEnd::NoTerminal | ApplyEnd::Cancelled => Exit::Refused,
            ApplyEnd::Stopped(stops) => Exit::combine(&Exit::of_plan(*stops, false)),
            ApplyEnd::NoChanges => Exit::Success,
            ApplyEnd::Applied(outcome) => {
                let mut exits = Vec::new();
                if outcome.failed() {
                    exits.push(Exit::Failure);
                }
                if outcome.refused() {
                    exits.push(Exit::Refused);
                }
                Exit::combine(&exits)
            }
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}
