//! `vntana-webhooks schema [--plan]`: prints the JSON Schema of the config format, or of the
//! JSON plan.

use crate::cli::SchemaArgs;
use crate::commands::ExitStatus;
use crate::printer::Printer;

pub fn run(args: &SchemaArgs, printer: &Printer) -> ExitStatus {
    printer.result(&if args.plan {
        crate::plan::schema::json()
    } else {
        crate::config::schema::json()
    });
    ExitStatus::Success
}
