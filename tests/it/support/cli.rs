//! Running the built binary as a user would: a temporary working directory, no `VNTANA_*`
//! from the developer's environment, `NO_COLOR` set.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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

/// `command`, run through `sh` with at most `files` open file descriptors (`ulimit -n`), so a
/// test can exhaust them whatever the machine's limit.
pub fn command_with_open_files(dir: &Path, files: u32) -> Command {
    let mut command = Command::new("sh");
    command
        .current_dir(dir)
        .env_clear()
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .args(["-c", &format!("ulimit -n {files} && exec \"$0\" \"$@\"")])
        .arg(bin());
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
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        PRINTED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(format!("{}\n{}", run.stdout, run.stderr));
        run
    }
}

/// Every byte every command of the suite printed (but what `allow_secrets` took back). Each
/// emulator scans it for its secrets and tokens when it stops (`support::emulator`).
static PRINTED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Takes back the output of a command that prints a secret on purpose (`secret ORG/NAME`).
pub fn allow_secrets(run: &Run) {
    let printed = format!("{}\n{}", run.stdout, run.stderr);
    let mut all = PRINTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(at) = all.iter().rposition(|p| *p == printed) {
        all.remove(at);
    }
}

/// The first printed output containing any of `needles`, if one does.
pub fn printed_containing(needles: &[String]) -> Option<(String, String)> {
    let all = PRINTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    all.iter().find_map(|printed| {
        needles
            .iter()
            .find(|n| printed.contains(n.as_str()))
            .map(|n| (n.clone(), printed.clone()))
    })
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

/// Like `run`, for a command expected to exit: if it is still running after `limit` (a
/// liveness guard, e.g. an emulator that accepted a seed it should refuse), it is killed and
/// the test fails instead of hanging.
pub fn run_bounded(args: &[&str], limit: Duration) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut command = command(dir.path());
    command.args(args);
    output_within(&mut command, limit)
}

/// Runs `command` to its end, reading its output as it comes (so a chatty command cannot
/// block on a full pipe); if it still runs after `limit`, it is killed and the test fails.
pub fn output_within(command: &mut Command, limit: Duration) -> Run {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the binary");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).expect("read the output");
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the binary") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} still ran after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Not recorded in `PRINTED`: as before, a bounded run may be an emulator printing its
    // own demo key on purpose.
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout.join().expect("stdout reader")).into_owned(),
        stderr: String::from_utf8_lossy(&stderr.join().expect("stderr reader")).into_owned(),
    }
}
