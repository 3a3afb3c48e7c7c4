//! The only place that writes to the terminal. Results go to stdout; progress, warnings,
//! errors and logs go to stderr (product.md, "Planning"), so `--format json > file` is clean.
//! It decides colour (TTY, `NO_COLOR`, `--color`) and quietness; it never sees a secret that
//! callers have not already redacted, and as defence in depth it masks the run's credentials
//! and tokens wherever they occur in what it writes.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};

/// `--color`: when to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when the stream is a terminal and `NO_COLOR` is unset.
    #[default]
    Auto,
    /// Colour, even when the stream is not a terminal or `NO_COLOR` is set.
    Always,
    /// Never colour.
    Never,
}

/// `--log-format`: how stderr's messages and logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people (`warning: ...`, `error: ...`).
    #[default]
    Text,
    /// One JSON object per line: timestamp, level, message and the event's fields.
    Json,
}

/// A style for a span of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Bold,
    Dim,
    Green,
    Yellow,
    Red,
    Cyan,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Red => "31",
            Style::Cyan => "36",
        }
    }
}

/// Writes command output. Cheap to copy; every command receives one.
#[derive(Debug, Clone)]
pub struct Printer {
    quiet: bool,
    verbosity: u8,
    log_format: LogFormat,
    stdout_color: bool,
    stderr_color: bool,
}

impl Printer {
    /// A printer for the real terminal. `no_color` is whether `NO_COLOR` is set (non-empty).
    pub fn new(quiet: bool, verbosity: u8, choice: ColorChoice, no_color: bool) -> Self {
        Self::with_log_format(quiet, verbosity, choice, no_color, LogFormat::Text)
    }

    /// The same, writing stderr's messages as `log_format` says.
    pub fn with_log_format(
        quiet: bool,
        verbosity: u8,
        choice: ColorChoice,
        no_color: bool,
        log_format: LogFormat,
    ) -> Self {
        // JSON lines are read by programs: never colour, even with --color always.
        let choice = if log_format == LogFormat::Json {
            ColorChoice::Never
        } else {
            choice
        };
        let decide = |is_tty: bool| match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_tty && !no_color,
        };
        Printer {
            quiet,
            verbosity,
            log_format,
            stdout_color: decide(std::io::stdout().is_terminal()),
            stderr_color: decide(std::io::stderr().is_terminal()),
        }
    }

    /// How many `-v` were given (0 with `-q`).
    pub fn verbosity(&self) -> u8 {
        self.verbosity
    }

    /// Whether stderr gets colour (the tracing subscriber asks).
    pub fn stderr_color(&self) -> bool {
        self.stderr_color
    }

    /// `text` in `style` when stdout is coloured, else as is.
    pub fn paint(&self, style: Style, text: &str) -> String {
        paint(self.stdout_color, style, text)
    }

    /// A result on stdout, written as given (the caller adds newlines). Never suppressed by
    /// `-q`: results are what the command is for.
    pub fn result(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        // A closed pipe (e.g. `| head`) is not an error worth a panic.
        let _ = out.write_all(masked(text).as_bytes());
        let _ = out.flush();
    }

    /// Whether stderr carries JSON lines.
    pub fn logs_json(&self) -> bool {
        self.log_format == LogFormat::Json
    }

    /// A progress or informational line on stderr, suppressed by `-q`.
    pub fn status(&self, line: &str) {
        if self.quiet {
            return;
        }
        if self.logs_json() {
            tracing::info!("{}", plain_lines(line));
        } else {
            eprintln!("{}", plain_lines(&masked(line)));
        }
    }

    /// Whether `-q` asked for results and errors only.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Whether stdin and stderr are terminals (a person can be asked and answer).
    pub fn is_interactive(&self) -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    /// A progress line that replaces itself, on a terminal only; `None` ends it.
    pub fn progress(&self, line: Option<&str>) {
        if self.quiet || self.logs_json() || !std::io::stderr().is_terminal() {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = match line {
            Some(line) => write!(err, "\r\x1b[2K{}", masked(line)),
            None => write!(err, "\r\x1b[2K"),
        };
        let _ = err.flush();
    }

    /// Asks a yes/no question on stderr and reads the answer from stdin; only `y`/`yes` is yes.
    pub fn confirm(&self, question: &str) -> bool {
        eprint!("{} ", masked(question));
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok()
            && matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
    }

    /// A warning on stderr, suppressed by `-q`.
    pub fn warn(&self, message: &str) {
        if self.logs_json() {
            if !self.quiet {
                tracing::warn!("{}", plain_lines(message));
            }
            return;
        }
        if !self.quiet {
            eprintln!(
                "{}: {}",
                paint(self.stderr_color, Style::Yellow, "warning"),
                plain_lines(&masked(message))
            );
        }
    }

    /// An error on stderr; always printed.
    pub fn error(&self, message: &str) {
        if self.logs_json() {
            tracing::error!("{}", plain_lines(message));
            return;
        }
        eprintln!(
            "{}: {}",
            paint(self.stderr_color, Style::Red, "error"),
            plain_lines(&masked(message))
        );
    }

    /// Text that must reach stderr unconditionally (clap's usage errors).
    pub fn raw_stderr(&self, text: &str) {
        eprint!("{}", masked(text));
    }
}

/// Output with the run's credentials and tokens masked (`api::redacted::never_show`).
fn masked(text: &str) -> std::borrow::Cow<'_, str> {
    crate::api::redacted::mask_known(text)
}

/// A message with control and invisible characters escaped, line by line: errors, warnings
/// and notes can quote the platform's text, which must never move the cursor or forge a line.
fn plain_lines(text: &str) -> String {
    text.split('\n')
        .map(|line| crate::config::chars::escaped(line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// stderr for the tracing subscriber, masked like every other output.
struct MaskedStderr;

impl Write for MaskedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The fmt layer writes each event whole; a value split across writes is not masked,
        // but secrets never reach tracing fields in the first place (they are redacted types).
        let text = String::from_utf8_lossy(buf);
        std::io::stderr().write_all(masked(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

fn paint(enabled: bool, style: Style, text: &str) -> String {
    if enabled {
        format!("\x1b[{}m{text}\x1b[0m", style.code())
    } else {
        text.to_owned()
    }
}

/// Whether `NO_COLOR` asks for no colour (set and non-empty, as no-color.org says).
pub fn no_color_from_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Installs the `-v/-vv/-vvv` tracing subscriber on stderr. Only this crate's events are
/// shown: dependencies' debug logs may print header values, and headers carry tokens.
pub fn init_tracing(printer: &Printer) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::prelude::*;

    // JSON logs carry the messages a person would read on stderr, which are info events.
    let json_messages = printer.logs_json() && !printer.quiet;
    let level = match printer.verbosity {
        0 if json_messages => LevelFilter::INFO,
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let filter = Targets::new()
        .with_default(LevelFilter::OFF)
        .with_target(env!("CARGO_CRATE_NAME"), level);
    // A second initialisation (tests calling commands in-process) keeps the first subscriber.
    let _ = if printer.logs_json() {
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_target(false)
            .with_writer(|| MaskedStderr);
        tracing_subscriber::registry()
            .with(layer)
            .with(filter)
            .try_init()
    } else {
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(|| MaskedStderr)
            .with_ansi(printer.stderr_color)
            .with_target(false)
            .with_timer(tracing_subscriber::fmt::time::uptime());
        tracing_subscriber::registry()
            .with(layer)
            .with(filter)
            .try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn painting_is_plain_text_when_colour_is_off() {
        assert_eq!(paint(false, Style::Red, "x"), "x");
        assert_eq!(paint(true, Style::Red, "x"), "\x1b[31mx\x1b[0m");
    }
}
