//! The binary's command line: help, version, usage errors and exit codes.

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
        "--timeout",
        "5x",
        "emulator",
        "--seed",
        "/nonexistent/seed.yaml",
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
