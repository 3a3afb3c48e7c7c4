//! `--emulator`: an embedded emulator with its state under `./.vntana-emulator/`, seeded on
//! first use, persisted (mode 0600), locked against concurrent runs, ignoring `VNTANA_*`.

use crate::support::cli::{Run, command};

const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/webhooks.yaml");

#[test]
fn the_embedded_emulator_seeds_persists_and_ignores_vntana_variables() {
    let dir = tempfile::tempdir().unwrap();
    let run: Run = command(dir.path())
        .args(["validate", "--emulator", "-f", CONFIG])
        .env("VNTANA_API_URL", "http://127.0.0.1:1")
        .env("VNTANA_API_KEY", "not-a-key")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("Using the embedded emulator at http://127.0.0.1:"),
        "{}",
        run.stderr
    );
    let state_path = dir.path().join(".vntana-emulator/state.json");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
    assert_eq!(
        state["webhooks"].as_array().unwrap().len(),
        6,
        "the default seed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&state_path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".vntana-emulator/.gitignore")).unwrap(),
        "*\n"
    );
    // A second run starts from the saved state: same organizations, same uuids.
    let again: Run = command(dir.path())
        .args(["events", "--emulator"])
        .output()
        .unwrap()
        .into();
    assert_eq!(again.code, 0, "{}", again.stderr);
    let after: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
    assert_eq!(after["organizations"], state["organizations"]);
}

#[test]
fn a_second_run_while_the_first_holds_the_lock_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".vntana-emulator")).unwrap();
    let lock = std::fs::File::create(dir.path().join(".vntana-emulator/lock")).unwrap();
    lock.lock().unwrap();
    let run: Run = command(dir.path())
        .args(["events", "--emulator"])
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: another vntana-webhooks run is using the embedded emulator (.vntana-emulator is locked); wait for it to finish\n"
    );
}

#[test]
fn the_emulator_flag_conflicts_with_an_explicit_api_url() {
    let run =
        crate::support::cli::run(&["events", "--emulator", "--api-url", "http://127.0.0.1:1"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains("'--emulator' cannot be used with '--api-url <URL>'"),
        "{}",
        run.stderr
    );
}
