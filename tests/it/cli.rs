//! The binary's command line: help, version, usage errors and exit codes, and each flag
//! offered only where it means something.

use clap::CommandFactory;
use vntana_webhooks::cli::Cli;

use crate::support::cli::run;

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
