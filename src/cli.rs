//! The command line: clap types for the global flags of product.md and one variant per
//! subcommand. Parsing only; `commands` runs them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::duration;
use crate::printer::{ColorChoice, LogFormat};

/// The platform's API address.
pub const DEFAULT_API_URL: &str = "https://api-platform.vntana.com";

/// Keep the webhooks of VNTANA organizations exactly as a YAML file in git says.
#[derive(Debug, Parser)]
#[command(
    name = "vntana-webhooks",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = ABOUT_ENVIRONMENT_AND_EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// The help heading of the flags every command takes.
const GLOBAL: &str = "Global options";

/// Flags every command takes: they mean the same everywhere, before or after the command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Log requests to stderr (method, path, status, time): -v, more detail with -vv and -vvv.
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,

    /// Print only results and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    pub quiet: bool,

    /// When to colour output; `NO_COLOR` is honoured with `auto`.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN", help_heading = GLOBAL)]
    pub color: ColorChoice,

    /// How stderr's messages and logs are written: text for people, or one JSON object per
    /// line (timestamp, level, message and fields) for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT", help_heading = GLOBAL)]
    pub log_format: LogFormat,
}

/// How a command that talks to the platform reaches it: flattened only into those commands,
/// so `verify --help` does not offer `--api-url`. Credentials are read from the environment
/// only (`VNTANA_API_KEY`, or `VNTANA_EMAIL` and `VNTANA_PASSWORD`), never from flags, so they
/// do not show in process listings or shell history.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Connection")]
pub struct ConnectionArgs {
    /// The VNTANA Admin API address; plain http only for a loopback host. Default:
    /// $VNTANA_API_URL, else https://api-platform.vntana.com.
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,

    /// Run against an embedded emulator (state in ./.vntana-emulator/, seeded on first use
    /// with the default seed); ignores VNTANA_*.
    #[arg(long, conflicts_with = "api_url")]
    pub emulator: bool,

    /// Per-request timeout: 30s, 500ms, 1m (a bare number means seconds).
    #[arg(long, default_value = "30s", value_parser = duration::timeout, value_name = "DURATION")]
    pub timeout: Duration,
}

impl ConnectionArgs {
    /// `--api-url`, else `VNTANA_API_URL` (read through `lookup`), else the platform's.
    pub fn api_url(&self, lookup: impl Fn(&str) -> Option<String>) -> String {
        self.api_url
            .clone()
            .or_else(|| lookup("VNTANA_API_URL").filter(|v| !v.is_empty()))
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned())
    }
}

/// The end of `vntana-webhooks --help` (product.md, "Other commands" and "Exit codes").
const ABOUT_ENVIRONMENT_AND_EXIT_CODES: &str = "\
Environment:
  VNTANA_API_KEY   API key to sign in with; wins over VNTANA_EMAIL and VNTANA_PASSWORD
  VNTANA_EMAIL     email to sign in with, together with VNTANA_PASSWORD
  VNTANA_PASSWORD  password of VNTANA_EMAIL
  VNTANA_API_URL   API address when --api-url is not given (default https://api-platform.vntana.com)
  NO_COLOR         set and not empty: no colour, unless --color always
  HTTPS_PROXY      proxy for requests to the platform (HTTP_PROXY and NO_PROXY are honoured too)

Credentials are read only by commands that talk to the platform; schema, validate --offline,
plan --live, verify, listen, emulator and completions need none.

Exit codes:
  0  success (with --detailed-exitcode: the plan has no actions)
  1  error of any kind, usage errors included
  2  the plan has actions (only with --detailed-exitcode)
  3  refused by a safety guard

Examples:
  # Plan the example config against the embedded emulator: nothing leaves your machine
  vntana-webhooks plan --emulator -f examples/webhooks.yaml
  # Every command's help ends with examples of its own
  vntana-webhooks plan --help";

/// `--help` ends with examples: real command lines, each checked to parse by the tests
/// (tests/it/cli.rs).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show how the live platform differs from the config.
    #[command(after_help = "\
Examples:
  # Plan the example config against the embedded emulator: nothing leaves your machine
  vntana-webhooks plan --emulator -f examples/webhooks.yaml
  # Save the plan, for `vntana-webhooks apply plan.json` to apply exactly as planned
  vntana-webhooks plan -f webhooks/ --out plan.json
  # A pull-request comment with no credentials: against a snapshot from `export --format live-json`
  vntana-webhooks plan -f webhooks/ --live live-snapshot.json --format markdown > plan.md
  # In a GitHub Actions job: annotate the problems on the pull request's lines, then the plan
  vntana-webhooks plan -f webhooks/ --format github --detailed-exitcode")]
    Plan(PlanArgs),
    /// Keep planning (and with --apply, applying) as the config and the platform change.
    #[command(after_help = "\
Examples:
  # Plan again on every save of the config, against the embedded emulator
  vntana-webhooks watch --emulator -f examples/webhooks.yaml
  # Run as a controller: apply every change, and check for drift every minute
  vntana-webhooks watch -f webhooks/ --apply --interval 1m --secrets-out secrets.json
  # As a service: probes and metrics on port 9090, JSON logs
  vntana-webhooks watch -f /config --apply --health-addr 0.0.0.0:9090 --log-format json
  # One pass from a CronJob or a timer: exit 0, 1, or 3 when a safety guard refuses
  vntana-webhooks watch -f webhooks/ --apply --once")]
    Watch(WatchArgs),
    /// Make the live platform match the config, or apply a plan saved with `plan --out`.
    #[command(after_help = "\
Examples:
  # Apply a plan saved with `plan --out`, writing the new secrets to a file
  vntana-webhooks apply plan.json --secrets-out secrets.json
  # In CI, on merge: plan and apply without a prompt
  vntana-webhooks apply -f webhooks/ --auto-approve --secrets-out secrets.json
  # Print the requests an apply would send, without sending them
  vntana-webhooks apply -f webhooks/ --dry-run
  # Incident response: rotate one webhook's signing secret now
  vntana-webhooks apply -f webhooks/ --rotate acme-3d/pim-sync --secrets-out secrets.json")]
    Apply(ApplyArgs),
    /// Print one webhook's signing secret (ORG/NAME).
    #[command(after_help = "\
Examples:
  # The secret of webhook pim-sync of organization acme-3d
  vntana-webhooks secret acme-3d/pim-sync
  # The same, from the embedded emulator
  vntana-webhooks secret --emulator acme-3d/pim-sync")]
    Secret(SecretArgs),
    /// Write a config (or a live snapshot) of the live state: adopt an existing setup.
    #[command(after_help = "\
Examples:
  # Adopt an existing setup: a config of one organization's webhooks
  vntana-webhooks export --org acme-3d > acme-3d.yaml
  # A live snapshot of every organization you may manage, for `plan --live`
  vntana-webhooks export --format live-json > live-snapshot.json")]
    Export(ExportArgs),
    /// Print a shell completion script.
    #[command(after_help = "\
Examples:
  # bash
  vntana-webhooks completions bash > ~/.local/share/bash-completion/completions/vntana-webhooks
  # zsh: into a folder of your $fpath
  vntana-webhooks completions zsh > ~/.zfunc/_vntana-webhooks
  # fish
  vntana-webhooks completions fish > ~/.config/fish/completions/vntana-webhooks.fish")]
    Completions(CompletionsArgs),
    /// Check the config files; online, also the organizations, folders and events they name.
    #[command(after_help = "\
Examples:
  # The files alone: no credentials, no request
  vntana-webhooks validate --offline -f webhooks/
  # Also check, with reads only, the organizations, roles, folders and events the files name
  vntana-webhooks validate -f webhooks/
  # In a GitHub Actions job: annotate the problems on the pull request's lines
  vntana-webhooks validate --offline -f webhooks/ --format github
  # In a GitLab job: a Code Quality report for the merge request
  vntana-webhooks validate -f webhooks/ --format gitlab > gl-code-quality-report.json")]
    Validate(ValidateArgs),
    /// Print the JSON Schema of the config format (or, with --plan, of the JSON plan).
    #[command(after_help = "\
Examples:
  # Write it beside the configs, for editors; start each config with the line
  # yaml-language-server: $schema=./vntana-webhooks.schema.json
  vntana-webhooks schema > vntana-webhooks.schema.json
  # In CI: fail when the committed copy is out of date
  vntana-webhooks schema | diff - vntana-webhooks.schema.json
  # The schema of `plan --format json`, for programs that read plans
  vntana-webhooks schema --plan > plan.schema.json")]
    Schema(SchemaArgs),
    /// List the platform's event catalogue by category.
    #[command(after_help = "\
Examples:
  # The catalogue of the embedded emulator
  vntana-webhooks events --emulator
  # As JSON, read with organization acme-3d's token
  vntana-webhooks events --org acme-3d --format json")]
    Events(EventsArgs),
    /// Run a local, faithful emulator of the VNTANA Admin API.
    #[command(after_help = "\
Examples:
  # The default seed on 127.0.0.1:8787; paste the printed export lines into another shell
  vntana-webhooks emulator
  # Keep the state across restarts
  vntana-webhooks emulator --state emulator-state.json
  # Your own organizations, users and webhooks, on a free port
  vntana-webhooks emulator --seed seed.yaml --listen 127.0.0.1:0")]
    Emulator(EmulatorArgs),
    /// Check a delivery's signature: exit 0 when it is valid, 1 when not.
    #[command(after_help = "\
Examples:
  # The secret in $SECRET; the X-TIMESTAMP and X-VNTANA-SIGNATURE headers in $TS and $SIG
  vntana-webhooks verify --secret-env SECRET --timestamp \"$TS\" --signature \"$SIG\" < body.json
  # The body as an argument, byte for byte
  vntana-webhooks verify --secret-env SECRET --timestamp \"$TS\" --signature \"$SIG\" \"$BODY\"")]
    Verify(VerifyArgs),
    /// Receive deliveries and check their signatures with a --secrets-out file.
    #[command(after_help = "\
Examples:
  # Receive on http://127.0.0.1:9000, checking signatures with the secrets apply wrote
  vntana-webhooks listen --secrets secrets.json
  # On a free port, printed on the first line
  vntana-webhooks listen --listen 127.0.0.1:0 --secrets secrets.json")]
    Listen(ListenArgs),
}

/// Which config files to read.
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigArgs {
    /// A config file, or a directory of *.yaml/*.yml files; repeatable. Default:
    /// ./vntana-webhooks.yaml.
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Check the files alone, without any request to the platform.
    #[arg(long)]
    pub offline: bool,

    /// Output format of the result and its problems.
    #[arg(long, value_enum, default_value_t = ValidateFormat::Text, value_name = "FORMAT")]
    pub format: ValidateFormat,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `plan --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PlanFormat {
    /// Terraform-like, for people.
    #[default]
    Text,
    /// For programs: `vntana-webhooks schema --plan` prints its JSON Schema.
    Json,
    /// A pull-request comment.
    Markdown,
    /// GitHub workflow commands annotating the problems' lines, then the text plan.
    Github,
    /// Only a GitLab Code Quality report of the problems (`artifacts:reports:codequality`).
    Gitlab,
}

/// `validate --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ValidateFormat {
    /// A line saying the config is valid; problems on stderr.
    #[default]
    Text,
    /// `{formatVersion, valid, offline, organizations, webhooks, problems}`.
    Json,
    /// GitHub workflow commands annotating the problems' lines, then the text result.
    Github,
    /// Only a GitLab Code Quality report of the problems (`artifacts:reports:codequality`).
    Gitlab,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Output format of the plan and its problems.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text, value_name = "FORMAT")]
    pub format: PlanFormat,

    /// Plan against a recorded live snapshot (JSON) instead of the platform: no credentials,
    /// no request.
    #[arg(long, value_name = "FILE", conflicts_with = "emulator")]
    pub live: Option<PathBuf>,

    /// Exit 2 when the plan has actions (0 when it has none).
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Save the plan to FILE for `apply FILE` (not written when the plan has problems).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Requests in flight at most, reads included.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64), value_name = "N")]
    pub parallelism: u16,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `plan --out`: applied exactly as planned; no -f needed.
    #[arg(value_name = "PLANFILE")]
    pub plan_file: Option<PathBuf>,

    #[command(flatten)]
    pub config: ConfigArgs,

    /// Apply without asking (needed when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,

    /// Do everything but the changes: print each request that would be sent.
    #[arg(long)]
    pub dry_run: bool,

    /// Write new secrets (creates, rotations) to FILE: JSON, merged, mode 0600.
    #[arg(long, value_name = "FILE")]
    pub secrets_out: Option<PathBuf>,

    /// Output format of the report: text, or only the JSON report on stdout.
    #[arg(long, value_enum, default_value_t = TextOrJson::Text, value_name = "FORMAT")]
    pub format: TextOrJson,

    #[command(flatten)]
    pub selection: SelectionArgs,

    /// Requests in flight at most, reads included.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64), value_name = "N")]
    pub parallelism: u16,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `export --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ExportFormat {
    /// A config file of the live state.
    #[default]
    Yaml,
    /// A live snapshot, for `plan --live`.
    LiveJson,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// An organization to export (repeatable); default: every one whose role may manage
    /// webhooks.
    #[arg(long = "org", value_name = "SLUG")]
    pub orgs: Vec<String>,

    /// What to write.
    #[arg(long, value_enum, default_value_t = ExportFormat::Yaml, value_name = "FORMAT")]
    pub format: ExportFormat,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema of `plan --format json` instead of the config's.
    #[arg(long)]
    pub plan: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub config: ConfigArgs,

    /// Apply each non-empty plan without asking (a safety refusal waits for the next change).
    #[arg(long)]
    pub apply: bool,

    /// Plan this often to catch drift on the platform.
    #[arg(long, default_value = "5m", value_parser = duration::interval, value_name = "DURATION")]
    pub interval: Duration,

    /// Quiet time after a config change before planning (bursts of saves are one change).
    #[arg(long, default_value = "300ms", value_parser = duration::debounce, value_name = "DURATION")]
    pub debounce: Duration,

    /// Limit the run to an organization (`ORG`) or one webhook (`ORG/NAME`); repeatable.
    #[arg(long = "target", value_name = "ORG[/NAME]")]
    pub targets: Vec<String>,

    /// Delete managed webhooks absent from the config, as `prune: true` does.
    #[arg(long)]
    pub prune: bool,

    /// Write new secrets (creates, rotations) to FILE: JSON, merged, mode 0600.
    #[arg(long, value_name = "FILE")]
    pub secrets_out: Option<PathBuf>,

    /// Requests in flight at most, reads included.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64), value_name = "N")]
    pub parallelism: u16,

    /// Serve /healthz, /readyz and /metrics (Prometheus) on ADDR, e.g. 0.0.0.0:9090 in a pod.
    #[arg(long, value_name = "ADDR")]
    pub health_addr: Option<SocketAddr>,

    /// One pass, then exit as plan and apply do (0, 1, or 3 when a safety guard refuses): for
    /// CronJobs and systemd timers.
    #[arg(long)]
    pub once: bool,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct SecretArgs {
    /// The webhook, as ORG/NAME (split at the first `/`).
    #[arg(value_name = "ORG/NAME")]
    pub webhook: String,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// What a plan covers, beyond the config.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectionArgs {
    /// Limit the run to an organization (`ORG`) or one webhook (`ORG/NAME`); repeatable.
    #[arg(long = "target", value_name = "ORG[/NAME]")]
    pub targets: Vec<String>,

    /// Delete managed webhooks absent from the config, as `prune: true` does.
    #[arg(long)]
    pub prune: bool,

    /// Rotate this webhook's signing secret now (incident response); repeatable.
    #[arg(long = "rotate", value_name = "ORG/NAME")]
    pub rotate: Vec<String>,

    /// Proceed even when a safety guard would refuse.
    #[arg(long)]
    pub force: bool,
}

/// `--format` of commands printing text or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TextOrJson {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Read the catalogue with this organization's token (default: the config's first
    /// organization, else the first one the user can see).
    #[arg(long, value_name = "SLUG")]
    pub org: Option<String>,

    #[command(flatten)]
    pub config: ConfigArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = TextOrJson::Text, value_name = "FORMAT")]
    pub format: TextOrJson,

    #[command(flatten)]
    pub connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Address to listen on; port 0 picks a free one. Binds loopback unless told otherwise.
    #[arg(long, default_value = "127.0.0.1:8787", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// Persist the state to this JSON file (mode 0600) before answering each change, and load
    /// it at start when it exists.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Seed (YAML) for a fresh state: organizations, folders, users and webhooks. Without it,
    /// the default seed.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,

    /// Deterministic ids, secrets and tokens (from --id-seed) and a test clock that starts at
    /// 2026-01-01T00:00:00Z and moves only through POST /_emulator/clock.
    #[arg(long)]
    pub deterministic: bool,

    /// The seed of the deterministic id source.
    #[arg(
        long,
        default_value_t = 0,
        requires = "deterministic",
        value_name = "N"
    )]
    pub id_seed: u64,

    /// Deliver fired events to urls that are not loopback too (by default such attempts are
    /// recorded as refused).
    #[arg(long)]
    pub allow_remote_delivery: bool,

    /// Also answer requests whose Host header names HOST (a name or an IP address, any port),
    /// e.g. the emulator's name on a container network. Loopback names and the --listen address
    /// are always answered; other hosts get 403 HOST_NOT_ALLOWED, so no web page can reach the
    /// emulator by rebinding its own DNS name.
    #[arg(long, value_name = "HOST", value_parser = crate::emulator::parse_host)]
    pub allow_host: Vec<url::Host<String>>,

    /// How long a client has to send a request's head, and then its body (default 10s).
    #[arg(long, hide = true, value_parser = duration::parse, value_name = "DURATION")]
    pub read_timeout: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The environment variable holding the webhook's secret (never a flag, so it stays out
    /// of process listings and shell history).
    #[arg(long, value_name = "VAR")]
    pub secret_env: String,

    /// The delivery's X-TIMESTAMP header, exactly as received.
    #[arg(long, value_name = "TIMESTAMP")]
    pub timestamp: String,

    /// The delivery's X-VNTANA-SIGNATURE header (lowercase hex).
    #[arg(long, value_name = "SIGNATURE")]
    pub signature: String,

    /// The raw body, exactly as received; `-` or none reads it from stdin.
    #[arg(value_name = "BODY")]
    pub body: Option<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:9000", value_name = "ADDR")]
    pub listen: SocketAddr,

    /// The --secrets-out file of `apply`: every secret and previous secret in it is tried; it
    /// is re-read when it changes.
    #[arg(long, value_name = "FILE")]
    pub secrets: PathBuf,

    /// How long a client has to send a request's head, and then its body (default 10s).
    #[arg(long, hide = true, value_parser = duration::parse, value_name = "DURATION")]
    pub read_timeout: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
