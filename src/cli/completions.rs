//! `nodectl completions SHELL`: shell completion scripts generated from the clap definitions.

use clap::Args;
use clap_complete::Shell;

use super::{Exit, Output};

#[derive(Debug, Args)]
#[command(
    about = "Print a shell completion script (bash, zsh or fish)",
    after_help = "Examples:\n  nodectl completions bash > ~/.local/share/bash-completion/completions/nodectl\n  nodectl completions zsh > ~/.zfunc/_nodectl\n  nodectl completions fish > ~/.config/fish/completions/nodectl.fish"
)]
pub struct CompletionsArgs {
    #[arg(value_parser = ["bash", "zsh", "fish"])]
    shell: String,
}

pub fn run(args: CompletionsArgs, output: &mut Output) -> Exit {
    let shell = match args.shell.as_str() {
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        _ => Shell::Fish,
    };
    let mut command = super::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "nodectl", &mut script);
    output.line(String::from_utf8_lossy(&script).trim_end());
    Exit::Success
}
