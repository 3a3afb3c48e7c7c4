//! The binary: parse the arguments, run the command, turn its outcome into an exit code.

use std::process::ExitCode;

fn main() -> ExitCode {
    vntana_webhooks::commands::main_from_args(std::env::args_os())
}
