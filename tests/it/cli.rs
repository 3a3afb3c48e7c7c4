//! The binary's command line: help, version, usage errors and exit codes; every `--help`
//! snapshotted, its examples parsed, and each flag offered only where it means something.

use clap::{CommandFactory, Parser};
use vntana_webhooks::cli::Cli;

use crate::support::cli::{Run, command, run};
use crate::support::snapshot;

#[test]
fn usage_errors_exit_1_not_clap_s_2() {
    let unknown_flag = run(&["--no-such-flag"]);
    assert_eq!(unknown_flag.code, 1, "{unknown_flag:?}");
    assert!(
        unknown_flag.stderr.contains("--no-such-flag"),
        "{}",
        unknown_flag.stderr
    );
    let unknown_command = run(&["frobnicate"]);
    assert_eq!(unknown_command.code, 1);
    let bad_duration = run(&[
        "validate",
        "--timeout",
        "5x",
        "-f",
        "/nonexistent/webhooks.yaml",
    ]);
    assert_eq!(bad_duration.code, 1);
    assert!(
        bad_duration.stderr.contains("invalid duration `5x`"),
        "{}",
        bad_duration.stderr
    );
}

#[test]
fn help_and_version_go_to_stdout_and_exit_0() {
    let help = run(&["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("emulator"), "{}", help.stdout);
    let version = run(&["--version"]);
    assert_eq!(
        (version.code, version.stdout.trim()),
        (0, concat!("vntana-webhooks ", env!("CARGO_PKG_VERSION")))
    );
}

/// Every subcommand's name, from the CLI's definition (so a new command is not forgotten).
fn subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .filter(|name| name != "help")
        .collect()
}

/// `vntana-webhooks [COMMAND] --help`, rendered 100 columns wide: clap reads the width of a
/// terminal on stdout, stderr or stdin, else `COLUMNS`; here none is a terminal (piped output,
/// null stdin), and `COLUMNS` is set so the width does not depend on clap's fallback.
fn help(subcommand: Option<&str>) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let run: Run = command(dir.path())
        .env("COLUMNS", "100")
        .env("LINES", "50")
        .args(subcommand)
        .arg("--help")
        .output()
        .expect("run the binary")
        .into();
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (0, ""),
        "{subcommand:?} --help"
    );
    run
}

#[test]
fn every_help_matches_its_snapshot() {
    snapshot::unfiltered().bind(|| {
        insta::assert_snapshot!("help", help(None).stdout);
        for name in subcommands() {
            insta::assert_snapshot!(format!("help@{name}"), help(Some(name.as_str())).stdout);
        }
    });
}

/// The example command lines of a help text: the lines starting with `vntana-webhooks`.
fn examples(help: &str) -> Vec<String> {
    help.lines()
        .map(str::trim)
        .filter(|line| line.starts_with("vntana-webhooks "))
        .map(str::to_owned)
        .collect()
}

/// An example's arguments as the shell would pass them: without its redirections, and with
/// the double quotes around a word removed (the examples quote only `"$VAR"`s).
fn arguments(example: &str) -> Vec<String> {
    let command = example
        .split(['>', '<', '|'])
        .next()
        .expect("a command before any redirection");
    command
        .split_whitespace()
        .map(|word| word.trim_matches('"').to_owned())
        .collect()
}

/// The examples written in the CLI's definition, for the top level (`None`) or a command.
fn written_examples(subcommand: Option<&str>) -> Vec<String> {
    let cli = Cli::command();
    let command = match subcommand {
        None => &cli,
        Some(name) => cli.find_subcommand(name).expect("a subcommand"),
    };
    examples(
        &command
            .get_after_help()
            .map(ToString::to_string)
            .unwrap_or_default(),
    )
}

#[test]
fn every_example_in_every_help_parses() {
    let top = examples(&help(None).stdout);
    assert!(!top.is_empty(), "the top-level help has examples");
    assert_eq!(top, written_examples(None), "shown whole, not wrapped");
    let mut all = top;
    for name in subcommands() {
        let found = examples(&help(Some(name.as_str())).stdout);
        assert!(
            (2..=4).contains(&found.len()),
            "`{name} --help` has {} examples, not 2 to 4: {found:#?}",
            found.len()
        );
        assert_eq!(
            found,
            written_examples(Some(&name)),
            "`{name} --help` shows its examples whole, not wrapped"
        );
        for example in &found {
            assert_eq!(
                arguments(example).get(1),
                Some(&name),
                "an example of `{name} --help` runs another command: {example}"
            );
        }
        all.extend(found);
    }
    // The teeth of the check: a flag that does not exist, a bad value, a conflict.
    for bad in [
        "vntana-webhooks plan --no-such-flag",
        "vntana-webhooks plan --format yaml",
        "vntana-webhooks plan --emulator --live live.json",
    ] {
        assert!(Cli::try_parse_from(arguments(bad)).is_err(), "{bad} parsed");
    }
    for example in all {
        // Parsed in full, not only up to a `--help`: required arguments and conflicts count.
        match Cli::try_parse_from(arguments(&example)) {
            Ok(_) => {}
            Err(err) if err.kind() == clap::error::ErrorKind::DisplayHelp => {}
            Err(err) => panic!("`{example}` does not parse:\n{err}"),
        }
    }
}

/// The commands that talk to the platform, and so take `--api-url`, `--emulator` and
/// `--timeout`.
const CONNECTED: &[&str] = &[
    "plan", "apply", "watch", "validate", "export", "events", "secret",
];

#[test]
fn connection_flags_appear_only_on_commands_that_talk_to_the_platform() {
    let cli = Cli::command();
    for subcommand in cli.get_subcommands() {
        let name = subcommand.get_name();
        let longs: Vec<&str> = subcommand
            .get_arguments()
            .filter_map(|a| a.get_long())
            .collect();
        for flag in ["api-url", "emulator", "timeout"] {
            assert_eq!(
                longs.contains(&flag),
                CONNECTED.contains(&name),
                "`{name}` and --{flag}"
            );
        }
    }
    // The flags go after the command; before it they are unknown.
    let before = run(&["--emulator", "plan", "-f", "/nonexistent/webhooks.yaml"]);
    assert_eq!(before.code, 1);
    assert!(
        before.stderr.contains("unexpected argument '--emulator'"),
        "{}",
        before.stderr
    );
    let verify = run(&["verify", "--api-url", "https://example.com", "--help"]);
    assert_eq!(verify.code, 1, "{}", verify.stdout);
}

#[test]
fn verbosity_and_colour_flags_are_taken_by_every_command() {
    for name in subcommands() {
        let text = help(Some(name.as_str())).stdout;
        for flag in ["--verbose", "--quiet", "--color <WHEN>"] {
            assert!(text.contains(flag), "`{name} --help` lacks {flag}:\n{text}");
        }
    }
    let quiet_schema = run(&["schema", "-q", "--color", "never"]);
    assert_eq!(quiet_schema.code, 0, "{}", quiet_schema.stderr);
}

#[test]
fn durations_that_make_no_sense_are_usage_errors() {
    for args in [
        &["watch", "--interval", "0", "-f", "x.yaml"][..],
        &["watch", "--interval", "200h", "-f", "x.yaml"],
        &["watch", "--debounce", "5m", "-f", "x.yaml"],
        &["plan", "--timeout", "0", "-f", "x.yaml"],
    ] {
        let run = run(args);
        assert_eq!(run.code, 1, "{args:?}");
        assert!(run.stderr.contains("is out of range"), "{}", run.stderr);
    }
}
