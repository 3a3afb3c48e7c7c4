//! The config files: every bad fixture under `tests/fixtures/config/bad/` (a file, or a
//! directory of files) is run through `validate --offline` and its whole output snapshotted;
//! every one exits 1, never panics, and sends no request. Every good fixture loads to a
//! snapshotted model and validates. The JSON Schema accepts the good ones and rejects the bad
//! ones marked `# schema: invalid` on their first line.
//!
//! Hostile fixtures, under `tests/fixtures/config/hostile/`, are input crafted to abuse the
//! loader (alias bombs, tags, invisible characters, leaked passwords...), at least 60 of them:
//! each fails cleanly (exit 1, its problems with their places, bounded output, no raw control
//! character, no secret) or, when marked `# accepted: WHY`, is valid as the spec says and is
//! snapshotted with the model it loads to. A `# never shown: TEXT` comment names a secret the
//! output must not hold. What cannot be committed (FIFOs, links to devices, huge files) is
//! made at test time.
//!
//! A fixture may have a sidecar `NAME.env` with `KEY=VALUE` lines: the environment it runs in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vntana_webhooks::config;

use crate::support::cli::{Run, command};
use crate::support::emulator::{DEMO_KEY, Emulator};
use crate::support::snapshot;

const BAD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/config/bad");
const GOOD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/config/good");
const HOSTILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/config/hostile");

/// The sidecar environment of a fixture.
fn fixture_env(path: &Path) -> BTreeMap<String, String> {
    let sidecar = path.with_extension("env");
    let Ok(text) = std::fs::read_to_string(&sidecar) else {
        return BTreeMap::new();
    };
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("KEY=VALUE");
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// A fixture: a YAML file, or a directory of them (not the fixtures' own folder, which
/// `glob!` also yields).
fn is_fixture(path: &Path) -> bool {
    let own_folder = [BAD, GOOD, HOSTILE]
        .iter()
        .any(|dir| path == Path::new(dir));
    (path.is_dir() && !own_folder) || path.extension().is_some_and(|e| e == "yaml" || e == "yml")
}

/// Runs `validate --offline -f NAME` in the fixture's folder, so messages name it relatively.
fn validate_offline(path: &Path, extra_env: &[(&str, &str)]) -> Run {
    let dir = path.parent().unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    let mut command = command(dir);
    command.args(["validate", "--offline", "-f", name]);
    for (k, v) in fixture_env(path) {
        command.env(k, v);
    }
    for (k, v) in extra_env {
        command.env(k, v);
    }
    command.output().expect("run validate").into()
}

fn transcript(run: &Run) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

#[test]
fn every_bad_config_exits_1_with_all_its_problems_and_sends_no_request() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emulator = Emulator::start();
    let credentials = [
        ("VNTANA_API_URL", emulator.url.as_str()),
        ("VNTANA_API_KEY", DEMO_KEY),
    ];
    let mut count = 0;
    snapshot::settings().bind(|| {
        insta::glob!(BAD, "*", |path| {
            if !is_fixture(path) {
                return;
            }
            count += 1;
            let run = validate_offline(path, &credentials);
            assert_eq!(run.code, 1, "{}: {}", path.display(), transcript(&run));
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
            assert!(run.stdout.is_empty(), "errors go to stderr: {}", run.stdout);
            for value in fixture_env(path).values() {
                assert!(
                    !run.stderr.contains(value.as_str()),
                    "{}: an env value reached the output",
                    path.display()
                );
            }
            insta::assert_snapshot!(transcript(&run));
        });
    });
    assert!(count >= 50, "only {count} bad fixtures");
    let requests = runtime.block_on(emulator.requests());
    assert!(
        requests.is_empty(),
        "validate --offline sent requests: {requests:?}"
    );
}

/// What a hostile fixture says of itself in its comments (for a directory, in its first file):
/// whether the spec says it is valid, and the secrets the output must never hold.
struct Hostile {
    accepted: bool,
    never_shown: Vec<String>,
}

fn hostile(path: &Path) -> Hostile {
    let mut found = Hostile {
        accepted: false,
        never_shown: Vec::new(),
    };
    let Some(first) = yaml_files(path).into_iter().next() else {
        return found;
    };
    // Bytes first: some hostile fixtures are not UTF-8 on purpose.
    let text = String::from_utf8_lossy(&std::fs::read(first).unwrap()).into_owned();
    for line in text.lines() {
        let line = line.trim_start_matches('\u{feff}').trim_end_matches('\r');
        if line.starts_with("# accepted:") {
            found.accepted = true;
        } else if let Some(secret) = line.strip_prefix("# never shown: ") {
            found.never_shown.push(secret.to_owned());
        }
    }
    found
}

/// The checks every hostile input's run passes, accepted or not: no panic, output bounded,
/// no raw control or invisible character (each line is what it seems), none of `secrets`.
fn assert_contained(name: &str, run: &Run, secrets: &[String]) {
    let printed = format!("{}{}", run.stdout, run.stderr);
    assert!(!printed.contains("panicked"), "{name}: {printed}");
    assert!(
        printed.len() <= 64 * 1024,
        "{name}: {} bytes of output",
        printed.len()
    );
    assert!(
        printed.chars().all(|c| c == '\n' || !c.is_control()),
        "{name}: a raw control or invisible character reached the terminal: {printed:?}"
    );
    for secret in secrets {
        assert!(
            !printed.contains(secret.as_str()),
            "{name}: a secret reached the output: {printed}"
        );
    }
}

#[test]
fn every_hostile_config_fails_cleanly_or_is_accepted_safely() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let emulator = Emulator::start();
    let credentials = [
        ("VNTANA_API_URL", emulator.url.as_str()),
        ("VNTANA_API_KEY", DEMO_KEY),
    ];
    let mut count = 0;
    snapshot::settings().bind(|| {
        insta::glob!(HOSTILE, "*", |path| {
            if !is_fixture(path) {
                return;
            }
            count += 1;
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let expected = hostile(path);
            let env = fixture_env(path);
            let run = validate_offline(path, &credentials);
            let mut secrets = expected.never_shown.clone();
            secrets.extend(env.values().filter(|v| v.len() >= 4).cloned());
            assert_contained(&name, &run, &secrets);
            let mut transcript = transcript(&run);
            if expected.accepted {
                assert_eq!(run.code, 0, "{name}: {transcript}");
                // What it was read as, so the snapshot shows how it behaves. The model is the
                // library's value, which holds real urls: masked here as every output does.
                let desired = config::load(&[path.to_path_buf()], &|name| env.get(name).cloned())
                    .unwrap_or_else(|err| panic!("{name}: {err}"));
                let model = serde_json::to_string_pretty(&desired)
                    .unwrap()
                    .replace(HOSTILE, "[HOSTILE]");
                let model = config::problem::mask_url_passwords(&model);
                transcript.push_str(&format!("--- model (url passwords masked)\n{model}\n"));
            } else {
                assert_eq!(run.code, 1, "{name}: {transcript}");
                assert!(run.stdout.is_empty(), "{name}: errors go to stderr");
                assert!(
                    run.stderr.ends_with("in the config; nothing was changed\n"),
                    "{name}: {transcript}"
                );
            }
            insta::assert_snapshot!(transcript);
        });
    });
    assert!(count >= 11, "only {count} hostile fixtures");
    let requests = runtime.block_on(emulator.requests());
    assert!(
        requests.is_empty(),
        "validate --offline sent requests: {requests:?}"
    );
}

#[test]
fn every_good_config_loads_to_its_model_and_validates_offline() {
    let mut count = 0;
    snapshot::settings().bind(|| {
        insta::glob!(GOOD, "*", |path| {
            if !is_fixture(path) {
                return;
            }
            count += 1;
            let env = fixture_env(path);
            let desired = config::load(&[path.to_path_buf()], &|name| env.get(name).cloned())
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            let model = serde_json::to_string_pretty(&desired)
                .unwrap()
                .replace(GOOD, "[GOOD]");
            for value in env.values() {
                assert!(
                    !model.contains(value.as_str()),
                    "an env value reached the model's output"
                );
            }
            insta::assert_snapshot!(model);
            let run = validate_offline(path, &[]);
            assert_eq!(run.code, 0, "{}", transcript(&run));
            for value in env.values() {
                assert!(
                    !run.stdout.contains(value.as_str()) && !run.stderr.contains(value.as_str())
                );
            }
        });
    });
    assert!(count >= 8, "only {count} good fixtures");
}

fn schema_validator() -> jsonschema::Validator {
    let run = crate::support::cli::run(&["schema"]);
    assert_eq!(run.code, 0);
    let schema: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}

/// The files the tool reads for a fixture: a directory's `*.yaml`/`*.yml` files without
/// dotfiles, as `-f DIR` reads them.
fn yaml_files(path: &Path) -> Vec<PathBuf> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.is_file()
                    && is_fixture(p)
                    && !p.file_name().unwrap().to_string_lossy().starts_with('.')
            })
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    }
}

#[test]
fn the_schema_accepts_every_good_config_and_rejects_the_schema_level_bad_ones() {
    let validator = schema_validator();
    let mut rejected = 0;
    for (dir, good) in [(GOOD, true), (BAD, false)] {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| is_fixture(p))
            .collect();
        entries.sort();
        for entry in entries {
            for file in yaml_files(&entry) {
                // Bytes first: some bad fixtures are not UTF-8 on purpose.
                let bytes = std::fs::read(&file).unwrap();
                if !good && !bytes.starts_with(b"# schema: invalid") {
                    continue;
                }
                let text = String::from_utf8(bytes).unwrap();
                let instance: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
                let valid = validator.is_valid(&instance);
                assert_eq!(
                    valid,
                    good,
                    "{}: the schema {} it",
                    file.display(),
                    if valid { "accepts" } else { "rejects" }
                );
                rejected += usize::from(!good);
            }
        }
    }
    assert!(rejected >= 12, "only {rejected} schema-level bad fixtures");
}

#[test]
fn the_committed_schema_file_is_the_one_the_binary_prints() {
    let run = crate::support::cli::run(&["schema"]);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/vntana-webhooks.schema.json"
    ))
    .unwrap();
    assert!(
        run.stdout == committed,
        "schema/vntana-webhooks.schema.json is stale: run `cargo run -- schema > schema/vntana-webhooks.schema.json`"
    );
}

#[test]
fn a_missing_config_file_is_an_error_naming_it() {
    let run = crate::support::cli::run(&["validate", "--offline", "-f", "missing.yaml"]);
    assert_eq!(run.code, 1);
    insta::assert_snapshot!(run.stderr, @r"
    error: missing.yaml: no such file or directory
    error: 1 problem in the config; nothing was changed
    ");
    let default = crate::support::cli::run(&["validate", "--offline"]);
    assert_eq!(default.code, 1);
    assert!(
        default
            .stderr
            .contains("no config file: pass -f FILE or -f DIR, or create ./vntana-webhooks.yaml"),
        "{}",
        default.stderr
    );
}

#[test]
fn hostile_generated_inputs_are_refused_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let huge = format!(
        "version: 1\norganizations:\n  a:\n    webhooks:\n      w:\n        url: https://x.example/{}\n        events: [product.added]\n",
        "a".repeat(200_000)
    );
    let deep = format!(
        "version: 1\norganizations: {}1{}\n",
        "[".repeat(40),
        "]".repeat(40)
    );
    let deeper = format!(
        "version: 1\norganizations: {}1{}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let many_keys: String =
        (0..60_000).fold(String::from("version: 1\nowner: x\n"), |mut text, i| {
            text.push_str(&format!("k{i}: {i}\n"));
            text
        });
    for (name, text, expected) in [
        (
            "huge.yaml",
            huge,
            "the value has 200018 characters; at most 10000 are allowed",
        ),
        ("deep.yaml", deep, "nesting deeper than 32 levels"),
        (
            "deeper.yaml",
            deeper,
            "invalid YAML: recursion limit exceeded",
        ),
        ("many.yaml", many_keys, "unknown field `k0`"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let run = validate_offline(&path, &[]);
        assert_eq!(run.code, 1, "{name}");
        assert!(
            run.stderr.contains(expected),
            "{name}: {}",
            &run.stderr[..run.stderr.len().min(2000)]
        );
        assert!(!run.stderr.contains("panicked"));
    }
}

#[tokio::test]
async fn the_example_validates_online_against_the_default_seed() {
    let emulator = Emulator::start();
    let example = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/webhooks.yaml"
    ));
    let dir = tempfile::tempdir().unwrap();
    let run: Run = command(dir.path())
        .args(["validate", "-f", example.to_str().unwrap()])
        .env("VNTANA_API_URL", &emulator.url)
        .env("VNTANA_API_KEY", DEMO_KEY)
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 0, "{}", transcript(&run));
    assert!(
        run.stdout
            .starts_with("The config is valid: 2 organizations, 6 webhooks;"),
        "{}",
        run.stdout
    );
    let mutating: Vec<_> = emulator
        .requests()
        .await
        .into_iter()
        .filter(|r| {
            r["method"] != "GET"
                && r["path"] != "/v1/auth/login/token"
                && r["path"] != "/v1/auth/refresh-token"
        })
        .collect();
    assert!(mutating.is_empty(), "validate only reads: {mutating:?}");
}
