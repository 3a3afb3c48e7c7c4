//! The command line: clap types for the global flags of product.md and one variant per
//! subcommand. Parsing only; `commands` runs them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::duration;
use crate::printer::ColorChoice;

/// The platform's API address.
pub const DEFAULT_API_URL: &str = "https://api-platform.vntana.com";

/// Keep the webhooks of VNTANA organizations exactly as a YAML file in git says.
#[derive(Debug, Parser)]
#[command(
    name = "vntana-webhooks",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes. Credentials are read from the environment only
/// (`VNTANA_API_KEY`, or `VNTANA_EMAIL` and `VNTANA_PASSWORD`), never from flags, so they do
/// not show in process listings or shell history.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The VNTANA Admin API address; plain http only for a loopback host.
    #[arg(
        long,
        global = true,
        env = "VNTANA_API_URL",
        hide_env_values = true,
        default_value = DEFAULT_API_URL,
        value_name = "URL"
    )]
    pub api_url: String,

    /// Per-request timeout: <n>[ms|s|m|h], a bare number meaning seconds.
    #[arg(long, global = true, default_value = "30s", value_parser = duration::parse, value_name = "DURATION")]
    pub timeout: Duration,

    /// Log requests to stderr (method, path, status, time): -v, more detail with -vv and -vvv.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print only results and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// When to colour output; `NO_COLOR` is honoured with `auto`.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a local, faithful emulator of the VNTANA Admin API.
    Emulator(EmulatorArgs),
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
