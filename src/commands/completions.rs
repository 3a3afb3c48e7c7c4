//! `vntana-webhooks completions SHELL`: a completion script for bash, zsh, fish, elvish or
//! PowerShell, on stdout.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::commands::ExitStatus;
use crate::printer::Printer;

pub fn run(args: &CompletionsArgs, printer: &Printer) -> ExitStatus {
    let mut script = Vec::new();
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "vntana-webhooks",
        &mut script,
    );
    printer.result(&String::from_utf8_lossy(&script));
    ExitStatus::Success
}
