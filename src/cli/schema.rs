//! `nodectl schema`: the JSON Schema of the three file formats, derived from the format structs, for
//! editors (taplo / Even Better TOML) and other tools.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::{Exit, Output};
use crate::manifest::paths;
use crate::manifest::shape::{FileKind, schema_for};

#[derive(Debug, Args)]
#[command(
    about = "Print the JSON Schema of a file format (project, node or fixture) for editors",
    after_help = "Examples:\n  nodectl schema node > node.schema.json\n  nodectl schema --out-dir .schemas   # writes nodectl.schema.json, node.schema.json, fixture.schema.json\n\nThen point taplo at them (.taplo.toml):\n  [[rule]]\n  include = [\"nodes/*.toml\"]\n  schema = { path = \".schemas/node.schema.json\" }"
)]
pub struct SchemaArgs {
    /// Which format; required unless --out-dir is given.
    #[arg(value_enum, required_unless_present = "out_dir")]
    kind: Option<Kind>,
    /// Write all three schemas into this directory instead of printing one.
    #[arg(long, value_name = "DIR", conflicts_with = "kind")]
    out_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Kind {
    /// nodectl.toml
    Project,
    /// nodes/*.toml
    Node,
    /// fixtures/**/*.toml
    Fixture,
}

impl Kind {
    fn file_kind(self) -> FileKind {
        match self {
            Kind::Project => FileKind::Project,
            Kind::Node => FileKind::Node,
            Kind::Fixture => FileKind::Fixture,
        }
    }
}

fn pretty(kind: FileKind) -> String {
    serde_json::to_string_pretty(schema_for(kind)).unwrap_or_default()
}

pub fn run(args: SchemaArgs, output: &mut Output) -> Exit {
    if let Some(kind) = args.kind {
        output.line(pretty(kind.file_kind()));
        return Exit::Success;
    }
    let Some(dir) = args.out_dir else {
        return Exit::Usage;
    };
    for kind in FileKind::ALL {
        let path = dir.join(kind.schema_file_name());
        // No project here: the current directory is the place a symlink must not lead out of.
        if let Err(error) =
            paths::write_inside(Path::new("."), &path, (pretty(kind) + "\n").as_bytes())
        {
            output.error(format!("cannot write `{}`: {error}", path.display()));
            return Exit::Failure;
        }
        output.line(format!("wrote {}", path.display()));
    }
    Exit::Success
}
