//! `vntana-webhooks schema`: prints the JSON Schema of the config format.

use crate::commands::ExitStatus;
use crate::config::schema;
use crate::printer::Printer;

pub fn run(printer: &Printer) -> ExitStatus {
    printer.result(&schema::json());
    ExitStatus::Success
}
