//! The command edge: runs a parsed command line and turns outcomes into exit codes and
//! messages. Library errors become `error: ...` lines here and nowhere else.

mod apply;
mod completions;
mod connect;
mod emulator;
mod events;
mod export;
mod listen;
mod plan;
mod schema;
mod secret;
mod signal;
mod validate;
mod verify;
mod watch;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::diagnostic::{Code, Diagnostic};
use crate::printer::{self, Printer};

/// What a command tells the shell (product.md, "Exit codes"). When several apply, the highest
/// wins in this order: `Failure`, then `Refused`, then `Changes`, then `Success`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success (and no changes with `--detailed-exitcode`).
    Success,
    /// 1: an error of any kind, usage errors included.
    Failure,
    /// 2: the plan has actions (only with `--detailed-exitcode`).
    Changes,
    /// 3: refused by a safety guard.
    Refused,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Changes => 2,
            ExitStatus::Refused => 3,
        }
    }

    fn precedence(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Changes => 1,
            ExitStatus::Refused => 2,
            ExitStatus::Failure => 3,
        }
    }

    /// The status that wins when both apply.
    #[must_use]
    pub fn combine(self, other: ExitStatus) -> ExitStatus {
        if other.precedence() > self.precedence() {
            other
        } else {
            self
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// Parses `args`, runs the command and returns the process exit code.
pub fn main_from_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let no_color = printer::no_color_from_env();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => return usage(&err, no_color).into(),
    };
    let printer = Printer::with_log_format(
        cli.global.quiet,
        cli.global.verbose,
        cli.global.color,
        no_color,
        cli.global.log_format,
    );
    printer::init_tracing(&printer);
    match run(cli, &printer) {
        Ok(status) => status.into(),
        Err(err) => {
            report(&err, &printer);
            ExitStatus::Failure.into()
        }
    }
}

/// The terminal colours of the plan's styles, through `printer` (which colours only where
/// colour is on).
pub(crate) fn painter(printer: &Printer) -> impl Fn(crate::plan::render::Style, &str) -> String {
    use crate::plan::render::Style as Plan;
    use crate::printer::Style;
    move |style, text| {
        let colour = match style {
            Plan::Heading => Style::Bold,
            Plan::Quiet => Style::Dim,
            Plan::Create => Style::Green,
            Plan::Update | Plan::Warning => Style::Yellow,
            Plan::Rotate => Style::Cyan,
            Plan::Delete | Plan::Error => Style::Red,
        };
        printer.paint(colour, text)
    }
}

/// Prints an error: a config error as its count, then one `error:` line per problem (so
/// stderr ends with them); anything else with its chain of causes.
pub(crate) fn report(err: &anyhow::Error, printer: &Printer) {
    match err.downcast_ref::<crate::config::ConfigError>() {
        Some(config) => {
            let count = config.problems.len();
            let of_config = config.problems.iter().all(|p| p.code.is_config());
            printer.error(&format!(
                "{count} problem{}{}; nothing was changed",
                if count == 1 { "" } else { "s" },
                if of_config { " in the config" } else { "" }
            ));
            print_problems(&config.problems, printer);
        }
        None => printer.error(&format!("{err:#}")),
    }
}

/// One `error:` line per error among `problems` (warnings belong to the output they are part
/// of), each naming its cause and place; bounded, since a hostile file can hold a hundred
/// thousand problems.
pub(crate) fn print_problems(problems: &[Diagnostic], printer: &Printer) {
    let errors: Vec<&Diagnostic> = problems.iter().filter(|p| p.is_error()).collect();
    for problem in errors.iter().take(crate::config::problem::MAX_SHOWN) {
        printer.error(&problem.to_string());
    }
    if let Some(line) = crate::config::problem::not_shown(errors.len()) {
        printer.error(&line);
    }
}

/// An error that stopped a command before its output existed, as the problems its output
/// carries: a config error's own, or one problem naming the error and its causes.
pub(crate) fn diagnostics_of(err: &anyhow::Error) -> Vec<Diagnostic> {
    match err.downcast_ref::<crate::config::ConfigError>() {
        Some(config) => config.problems.clone(),
        None => vec![Diagnostic::error(Code::RunError, format!("{err:#}"))],
    }
}

/// Help and version go to stdout with exit 0; every other parse error is a usage error: exit
/// 1, not clap's 2, which here means "the plan has changes".
fn usage(err: &clap::Error, no_color: bool) -> ExitStatus {
    use clap::error::ErrorKind;
    let printer = Printer::new(false, 0, printer::ColorChoice::Auto, no_color);
    let rendered = err.render().to_string();
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            printer.result(&rendered);
            ExitStatus::Success
        }
        _ => {
            printer.raw_stderr(&rendered);
            ExitStatus::Failure
        }
    }
}

fn run(cli: Cli, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|err| anyhow::anyhow!("cannot start the async runtime: {err}"))?;
    runtime.block_on(async move {
        match cli.command {
            Command::Plan(args) => plan::run(args, printer).await,
            Command::Watch(args) => watch::run(args, printer).await,
            Command::Apply(args) => apply::run(args, printer).await,
            Command::Export(args) => export::run(&args, printer).await,
            Command::Completions(args) => Ok(completions::run(&args, printer)),
            Command::Secret(args) => secret::run(&args, printer).await,
            Command::Validate(args) => validate::run(args, printer).await,
            Command::Schema(args) => Ok(schema::run(&args, printer)),
            Command::Events(args) => events::run(args, printer).await,
            Command::Emulator(args) => emulator::run(args, printer).await,
            Command::Verify(args) => verify::run(args, printer),
            Command::Listen(args) => listen::run(&args, printer).await,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::ExitStatus::{Changes, Failure, Refused, Success};

    #[test]
    fn exit_statuses_combine_with_failure_over_refused_over_changes_over_success() {
        assert_eq!(Success.combine(Changes), Changes);
        assert_eq!(Changes.combine(Refused), Refused);
        assert_eq!(Refused.combine(Changes), Refused);
        assert_eq!(Refused.combine(Failure), Failure);
        assert_eq!(Failure.combine(Success), Failure);
        assert_eq!(
            [Success, Failure, Refused, Changes].map(super::ExitStatus::code),
            [0, 1, 3, 2]
        );
    }
}
