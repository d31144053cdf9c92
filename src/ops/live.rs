//! What a live execution of one node (`run`, `record`) is made of, once `cli` has resolved the
//! node, its input and credentials, and the selected env's execution context.

use serde_json::Value;

use crate::manifest::Project;
use crate::runtime::{CompiledNode, ExecContext};
use crate::transport::live::LiveTransport;

/// Everything a live execution needs.
pub struct Prepared {
    pub project: Project,
    pub env_name: String,
    pub node: CompiledNode,
    pub input: Value,
    pub context: ExecContext,
    pub transport: LiveTransport,
}
