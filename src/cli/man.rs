//! `nodectl man --out-dir DIR`: the manual pages — `nodectl.1` and one `nodectl-<command>.1` per
//! command —, generated from the same clap definitions as `--help` (clap_mangen), so they cannot
//! drift from the binary. Install them where `man` looks (`/usr/local/share/man/man1`).

use std::path::PathBuf;

use clap::{Args, CommandFactory};

use super::{Cli, Exit, Output};

#[derive(Debug, Args)]
#[command(
    about = "Write the manual pages (nodectl.1 and one per command) into a folder",
    after_help = "The pages are generated from the same definitions as --help. The folder is created when missing; existing pages are replaced.\n\nExamples:\n  nodectl man --out-dir target/man\n  sudo nodectl man --out-dir /usr/local/share/man/man1 && man nodectl-plan"
)]
pub struct ManArgs {
    /// Where to write the pages.
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
}

pub fn run(args: ManArgs, output: &mut Output) -> Exit {
    let command = Cli::command();
    let mut pages = vec![("nodectl.1".to_string(), command.clone())];
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("nodectl-{}", sub.get_name());
        pages.push((format!("{name}.1"), sub.clone().name(name)));
    }
    if let Err(error) = std::fs::create_dir_all(&args.out_dir) {
        output.error(format!(
            "cannot create `{}`: {error}",
            args.out_dir.display()
        ));
        return Exit::Failure;
    }
    for (file, page) in &pages {
        let mut text = Vec::new();
        let written = clap_mangen::Man::new(page.clone())
            .render(&mut text)
            .and_then(|()| crate::fsx::write_atomic(&args.out_dir.join(file), &text));
        if let Err(error) = written {
            output.error(format!(
                "cannot write `{}`: {error}",
                args.out_dir.join(file).display()
            ));
            return Exit::Failure;
        }
    }
    output.line(format!(
        "wrote {} manual pages to {}",
        pages.len(),
        args.out_dir.display()
    ));
    Exit::Success
}
