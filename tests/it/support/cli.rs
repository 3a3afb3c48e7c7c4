//! Running the built binary as a user would: a temporary working directory, no `VNTANA_*`
//! from the developer's environment, `NO_COLOR` set.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_vntana-webhooks"))
}

/// A command for the binary with a clean environment, run in `dir`.
pub fn command(dir: &Path) -> Command {
    let mut command = Command::new(bin());
    command
        .current_dir(dir)
        .env_clear()
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command
}

/// What a finished command printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// Runs the binary with `args` in a fresh temporary directory.
pub fn run(args: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    command(dir.path())
        .args(args)
        .output()
        .expect("run the binary")
        .into()
}
