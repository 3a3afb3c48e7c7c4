//! The README's commands, run through the built binary: a newcomer's first commands must
//! stay true.

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
fn the_readme_s_first_command_plans_the_example_with_every_kind_of_action() {
    let commands = first_commands();
    let args: Vec<&str> = commands[0]
        .trim_start_matches("cargo run --release -- ")
        .split_whitespace()
        .collect();
    // A fresh clone: the example in place, no emulator state yet.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("examples")).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/webhooks.yaml"),
        dir.path().join("examples/webhooks.yaml"),
    )
    .unwrap();
    let output = command(dir.path())
        .args(&args)
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "  + dam-ingest\n",
        "  ~ pim-sync [",
        "  ~ slack-alerts (adopt) [",
        "  ↻ cdn-purge (secret rotation) [",
        "  - legacy-ftp-export (prune) [",
        "Plan: 2 to create, 2 to update, 1 to rotate, 1 to delete; 1 unchanged.\n",
    ] {
        assert!(
            stdout.contains(expected),
            "missing `{expected}` in:\n{stdout}"
        );
    }
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
