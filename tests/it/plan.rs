//! The planner through the real binary, offline: every case under `tests/fixtures/plan/<case>/`
//! has `desired.yaml` and `live.json` (a live snapshot; the standard event catalogue, the
//! format version and the signed-in email are filled in when absent), and optionally `args`
//! (extra command-line arguments, one per line) and `env` (`KEY=VALUE` lines). Each is run as
//! `plan --live live.json -f desired.yaml` in text and in JSON, and both transcripts are
//! snapshotted, under `snapshots/plan@<case>.text.snap` and `.json.snap`. No output may contain
//! a value of `env` or the password of a url in the case's files. `--live` sends no request, so
//! no emulator runs here.

use std::path::Path;

use crate::support::cli::{Run, command};
use crate::support::snapshot;

const CASES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plan");
const CATALOGUE: &str = include_str!("../fixtures/plan/catalogue.json");

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The case's live snapshot, completed, written next to a temporary copy.
fn live_snapshot(case: &Path, into: &Path) -> std::path::PathBuf {
    let mut live: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("live.json")).unwrap())
            .expect("live.json is JSON");
    let object = live.as_object_mut().expect("live.json is an object");
    object
        .entry("formatVersion")
        .or_insert(serde_json::json!(1));
    object
        .entry("email")
        .or_insert(serde_json::json!("owner@acme.example"));
    object
        .entry("catalogue")
        .or_insert_with(|| serde_json::from_str(CATALOGUE).unwrap());
    let path = into.join("live.json");
    std::fs::write(&path, serde_json::to_string_pretty(&live).unwrap()).unwrap();
    path
}

pub fn run_case(case: &Path, format: &str) -> Run {
    let temp = tempfile::tempdir().unwrap();
    let live = live_snapshot(case, temp.path());
    let mut command = command(case);
    command.args([
        "plan",
        "--live",
        live.to_str().unwrap(),
        "-f",
        "desired.yaml",
        "--format",
        format,
    ]);
    command.args(lines(&case.join("args")));
    for line in lines(&case.join("env")) {
        let (k, v) = line.split_once('=').expect("KEY=VALUE");
        command.env(k, v);
    }
    command.output().unwrap().into()
}

/// The passwords of `scheme://user:password@host` urls written in a case's files.
fn url_passwords(case: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for file in ["desired.yaml", "live.json"] {
        let text = std::fs::read_to_string(case.join(file)).unwrap_or_default();
        for (start, _) in text.match_indices("://") {
            let rest = &text[start + 3..];
            let authority = rest
                .split(['/', '"', '\'', ' ', '\n'])
                .next()
                .unwrap_or_default();
            if let Some((userinfo, _)) = authority.rsplit_once('@')
                && let Some((_, password)) = userinfo.split_once(':')
                && !password.is_empty()
            {
                found.push(password.to_owned());
            }
        }
    }
    found
}

fn transcript(run: &Run) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

#[test]
fn every_plan_case_snapshots_its_text_and_json_plan() {
    let mut count = 0;
    snapshot::settings().bind(|| {
        insta::glob!(CASES, "*/desired.yaml", |path| {
            count += 1;
            let case = path.parent().unwrap();
            let text = run_case(case, "text");
            let json = run_case(case, "json");
            assert!(!text.stderr.contains("panicked") && !json.stderr.contains("panicked"));
            assert_eq!(
                text.code,
                json.code,
                "{}: both formats exit alike",
                case.display()
            );
            if !json.stdout.is_empty() {
                serde_json::from_str::<serde_json::Value>(&json.stdout)
                    .expect("stdout is clean JSON");
            }
            for line in lines(&case.join("env")) {
                let value = line.split_once('=').unwrap().1;
                for output in [&text.stdout, &text.stderr, &json.stdout, &json.stderr] {
                    assert!(
                        !output.contains(value),
                        "{}: an env value was printed",
                        case.display()
                    );
                }
            }
            for password in url_passwords(case) {
                for output in [&text.stdout, &text.stderr, &json.stdout, &json.stderr] {
                    assert!(
                        !output.contains(&format!(":{password}@")),
                        "{}: a url password was printed",
                        case.display()
                    );
                }
            }
            let name = case.file_name().unwrap().to_str().unwrap();
            // Named `plan@<case>.<format>`: without glob's `@<case>__desired.yaml` suffix.
            let mut settings = insta::Settings::clone_current();
            settings.remove_snapshot_suffix();
            settings.bind(|| {
                insta::assert_snapshot!(format!("plan@{name}.text"), transcript(&text));
                insta::assert_snapshot!(format!("plan@{name}.json"), transcript(&json));
            });
        });
    });
    assert!(count >= 45, "only {count} plan cases");
}
