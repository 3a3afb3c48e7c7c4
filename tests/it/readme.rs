//! The README's commands, run through the built binary: a newcomer's first commands must
//! stay true.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::cli::command;
use crate::support::emulator::Emulator;

const README: &str = include_str!("../../README.md");
const CI: &str = include_str!("../../.ci/run");

/// The command lines of the README's first `sh` block, without comments.
fn first_commands() -> Vec<String> {
    let block = README
        .split("```sh\n")
        .nth(1)
        .expect("a sh block")
        .split("```")
        .next()
        .unwrap();
    block
        .lines()
        .map(|line| line.split('#').next().unwrap().trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect()
}

#[test]
fn the_readme_opens_with_the_main_command_and_the_test_command() {
    let commands = first_commands();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert!(
        commands[0].starts_with("cargo run --release -- "),
        "{commands:?}"
    );
    assert_eq!(commands[1], "cargo test");
    assert!(
        CI.contains("\ncargo test --locked\n"),
        ".ci/run runs the README's test command"
    );
}

#[test]
fn the_readme_s_first_command_starts_the_emulator() {
    let commands = first_commands();
    let args: Vec<&str> = commands[0]
        .trim_start_matches("cargo run --release -- ")
        .split_whitespace()
        .collect();
    let dir = tempfile::tempdir().unwrap();
    // The README's command, on a free port instead of 8787.
    let mut child = command(dir.path())
        .args(&args)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(3)
        .map(Result::unwrap)
        .collect();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        lines[0].starts_with("# vntana-webhooks emulator listening on http://127.0.0.1:"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("export VNTANA_API_URL=http://127.0.0.1:"),
        "{lines:?}"
    );
    assert_eq!(lines[2], "export VNTANA_API_KEY=vntana-emulator-demo-key");
}

#[test]
fn the_curl_walkthrough_runs_against_the_emulator() {
    let emulator = Emulator::start();
    let output = std::process::Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/curl-walkthrough.sh"
        ))
        .env("API", &emulator.url)
        .env("KEY", "vntana-emulator-demo-key")
        .output()
        .expect("bash and curl");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("after delete, GET answers 404") && stdout.ends_with("done\n"),
        "{stdout}"
    );
}
