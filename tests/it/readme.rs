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

/// The `sh` blocks of the README, as (the comment line before the block, its lines).
fn sh_blocks() -> Vec<(String, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut previous = String::new();
    let mut lines = README.lines();
    while let Some(line) = lines.next() {
        if line == "```sh" {
            let body: Vec<String> = lines
                .by_ref()
                .take_while(|l| *l != "```")
                .map(str::to_owned)
                .collect();
            blocks.push((previous.clone(), body));
        }
        line.clone_into(&mut previous);
    }
    blocks
}

/// A README command line without its trailing comment.
fn command_of(line: &str) -> Option<String> {
    let line = line.split(" #").next().unwrap().trim();
    line.starts_with("vntana-webhooks ")
        .then(|| line.to_owned())
}

#[test]
fn the_five_minute_tour_runs_in_a_fresh_folder() {
    let (_, tour) = sh_blocks()
        .into_iter()
        .find(|(before, _)| before.starts_with("<!-- tour:"))
        .expect("the tour block");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("examples")).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/webhooks.yaml"),
        dir.path().join("examples/webhooks.yaml"),
    )
    .unwrap();
    let bin_dir = crate::support::cli::bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // The tour's own reset step too, and twice: it can be run again as written.
    let commands: Vec<String> = tour
        .iter()
        .filter_map(|l| {
            command_of(l).or_else(|| {
                let line = l.split(" #").next().unwrap().trim();
                (line == "rm -rf .vntana-emulator").then(|| line.to_owned())
            })
        })
        .collect();
    assert!(commands.len() >= 9, "{commands:?}");
    assert_eq!(commands[0], "rm -rf .vntana-emulator");
    for line in commands.iter().chain(&commands) {
        let output = std::process::Command::new("bash")
            .args(["-c", line])
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "`{line}` failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let secrets: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("secrets.json")).unwrap())
            .unwrap();
    assert_eq!(
        secrets.as_object().unwrap().len(),
        3,
        "two creates and a rotation"
    );
    assert!(
        std::fs::read_to_string(dir.path().join("globex.yaml"))
            .unwrap()
            .contains("erp-bridge:")
    );
}

#[test]
fn every_other_readme_command_parses() {
    let mut checked = 0;
    for (before, block) in sh_blocks() {
        if before.starts_with("<!-- tour:") {
            continue;
        }
        for line in block.iter().filter_map(|l| command_of(l)) {
            // Without redirections; `--help` makes clap check the arguments before it.
            let words: Vec<&str> = line
                .split(" >")
                .next()
                .unwrap()
                .split_whitespace()
                .skip(1)
                .collect();
            let run = crate::support::cli::run(&[words.as_slice(), &["--help"]].concat());
            assert_eq!(run.code, 0, "`{line}`: {}", run.stderr);
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} commands");
}

#[test]
fn the_config_reference_lists_every_field_of_the_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../schema/vntana-webhooks.schema.json")).unwrap();
    let mut fields: Vec<String> = [
        "/properties",
        "/$defs/Defaults/properties",
        "/$defs/Organization/properties",
        "/$defs/Webhook/properties",
    ]
    .iter()
    .flat_map(|p| {
        schema
            .pointer(p)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
    })
    .filter(|f| !matches!(f.as_str(), "defaults" | "organizations" | "webhooks"))
    .collect();
    fields.sort();
    let table = README
        .split("| field | type | default | meaning |")
        .nth(1)
        .unwrap();
    let mut documented: Vec<String> = table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.split('`')
                .nth(1)
                .unwrap()
                .rsplit('.')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    documented.sort();
    assert_eq!(documented, fields);
}
