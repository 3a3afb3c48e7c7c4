//! Every problem reaches every output (issue 14; product.md, "Plans and command results go to
//! stdout"). For every bad and hostile config fixture, `plan` runs in each format against the
//! emulator, and:
//! - the JSON plan parses, validates against `schema --plan` and holds the problems (never an
//!   empty output on error);
//! - stderr ends with one line per error, each with the JSON problem's place and message;
//! - the markdown comment holds them;
//! - `--format github` prints one well-formed workflow command per problem, at its place;
//! - `--format gitlab` is a valid GitLab Code Quality report of the same problems;
//! - `validate --format json` finds the same problems as `plan`.
//!
//! Then: an unknown organization, folder and event each give `file:line:col`, the path and a
//! suggestion, in validate and plan alike; a forbidden role's line names both roles.

use std::path::Path;

use serde_json::Value;

use crate::config::{BAD, HOSTILE, fixture_env, is_fixture};
use crate::support::cli::{Run, command};
use crate::support::emulator::{DEMO_KEY, Emulator};

/// Codes of problems shown at their organization (not at a place in the files) on stderr.
const LIVE_STATE_CODES: &[&str] = &[
    "invalid-selection",
    "role-forbidden",
    "read-error",
    "conflict",
    "safety-refusal",
    "run-error",
    "plan-warning",
];

/// Codes only a plan finds (not `validate`).
const PLAN_ONLY_CODES: &[&str] = &["conflict", "safety-refusal", "plan-warning"];

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft202012::new(schema).expect("a valid JSON Schema")
}

fn plan_schema() -> jsonschema::Validator {
    let run = crate::support::cli::run(&["schema", "--plan"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    validator(&serde_json::from_str(&run.stdout).expect("the plan's schema is JSON"))
}

fn gitlab_schema() -> jsonschema::Validator {
    let text = include_str!("../fixtures/gitlab/codequality.schema.json");
    validator(&serde_json::from_str(text).unwrap())
}

/// Runs the binary in the fixture's folder with `-f NAME`, its sidecar environment and the
/// emulator's credentials.
fn run_on(path: &Path, args: &[&str], emulator: &Emulator) -> Run {
    let dir = path.parent().unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    let mut command = command(dir);
    command.args(args).args(["-f", name]);
    command
        .env("VNTANA_API_URL", &emulator.url)
        .env("VNTANA_API_KEY", DEMO_KEY);
    for (k, v) in fixture_env(path) {
        command.env(k, v);
    }
    command.output().expect("run the binary").into()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// Where stderr and the text plan show a problem: `file:line:col: path` for one of the files,
/// the organization's slug for one of the live state.
fn place(problem: &Value) -> String {
    let code = text(&problem["code"]);
    if LIVE_STATE_CODES.contains(&code) && !problem["organization"].is_null() {
        return text(&problem["organization"]).to_owned();
    }
    let mut parts = Vec::new();
    if let Some(file) = problem["file"].as_str() {
        parts.push(
            match (problem["line"].as_u64(), problem["column"].as_u64()) {
                (Some(line), Some(column)) => format!("{file}:{line}:{column}"),
                _ => file.to_owned(),
            },
        );
    }
    if let Some(path) = problem["path"].as_str() {
        parts.push(path.to_owned());
    }
    parts.join(": ")
}

/// The problems of a JSON plan, checked against the plan's schema.
fn json_problems(name: &str, run: &Run, schema: &jsonschema::Validator) -> Vec<Value> {
    let plan: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|err| panic!("{name}: stdout is not JSON ({err}): {}", run.stdout));
    let errors: Vec<String> = schema.iter_errors(&plan).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{name}: the JSON plan breaks its schema: {errors:?}"
    );
    let problems = plan["problems"].as_array().unwrap().clone();
    // Each organization's problems are among the top-level ones.
    for org in plan["organizations"].as_array().unwrap() {
        for problem in org["problems"].as_array().unwrap() {
            assert!(
                problems.contains(problem),
                "{name}: {problem} not at the top"
            );
        }
    }
    problems
}

fn check_stderr(name: &str, run: &Run, errors: &[&Value]) {
    let lines: Vec<&str> = run.stderr.lines().collect();
    let shown = errors.len().min(100);
    let extra = usize::from(errors.len() > 100);
    assert!(
        lines.len() > shown + extra,
        "{name}: stderr has a head line, then one line per problem:\n{}",
        run.stderr
    );
    // stderr ends with one line per error, in the JSON's order, each naming its place.
    let tail = &lines[lines.len() - shown - extra..lines.len() - extra];
    for (line, problem) in tail.iter().zip(errors) {
        let expected = format!("error: {}: {}", place(problem), text(&problem["message"]));
        assert!(
            line.starts_with(&expected),
            "{name}: stderr line `{line}` is not problem `{expected}`"
        );
    }
}

fn check_markdown(name: &str, run: &Run, problems: &[Value]) {
    let markdown = &run.stdout;
    assert!(markdown.starts_with("### vntana-webhooks plan"), "{name}");
    assert!(
        markdown.len() < 60_000,
        "{name}: {} characters",
        markdown.len()
    );
    let errors = problems.iter().filter(|p| p["severity"] == "error").count();
    if problems.is_empty() {
        assert!(!markdown.contains("#### Problems"), "{name}");
        return;
    }
    assert!(
        markdown.contains(&format!("#### Problems: {errors} error")),
        "{name}: {markdown}"
    );
    // The first problems at least (a hostile file's thousands are truncated with a note).
    for problem in problems.iter().take(5) {
        let line = format!(
            "{}[{}] {}: {}",
            text(&problem["severity"]),
            text(&problem["code"]),
            place(problem),
            text(&problem["message"])
        )
        .replace("```", "'''");
        assert!(
            markdown.contains(&line),
            "{name}: `{line}` not in:\n{markdown}"
        );
    }
}

/// A workflow command: its name, its properties (unescaped) and its message (unescaped).
type WorkflowCommand<'a> = (&'a str, Vec<(&'a str, String)>, String);

/// A workflow command split into its name, properties and message, checking its grammar:
/// `::NAME key=value,...::message`, with `%`, CR, LF (and in values `:` and `,`) escaped.
fn parse_command(line: &str) -> Option<WorkflowCommand<'_>> {
    let rest = line.strip_prefix("::")?;
    let (head, message) = rest.split_once("::")?;
    let (name, properties) = head.split_once(' ').unwrap_or((head, ""));
    let unescape = |value: &str, property: bool| -> Option<String> {
        let mut out = String::new();
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            match c {
                '%' => {
                    let code: String = chars.by_ref().take(2).collect();
                    out.push(match code.as_str() {
                        "25" => '%',
                        "0D" => '\r',
                        "0A" => '\n',
                        "3A" if property => ':',
                        "2C" if property => ',',
                        _ => return None,
                    });
                }
                '\r' | '\n' => return None,
                ':' | ',' if property => return None,
                c => out.push(c),
            }
        }
        Some(out)
    };
    let mut parsed = Vec::new();
    for property in properties.split(',').filter(|p| !p.is_empty()) {
        let (key, value) = property.split_once('=')?;
        if !["file", "line", "col", "title", "endLine", "endColumn"].contains(&key) {
            return None;
        }
        parsed.push((key, unescape(value, true)?));
    }
    Some((name, parsed, unescape(message, false)?))
}

fn check_github(name: &str, run: &Run, problems: &[Value]) {
    let commands: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), problems.len(), "{name}: {}", run.stdout);
    for (line, problem) in commands.iter().zip(problems) {
        let (command, properties, message) =
            parse_command(line).unwrap_or_else(|| panic!("{name}: not a workflow command: {line}"));
        assert_eq!(command, text(&problem["severity"]), "{name}: {line}");
        let get = |key: &str| {
            properties
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("title").as_deref(), problem["code"].as_str(), "{name}");
        assert_eq!(
            get("file").as_deref(),
            problem["file"].as_str(),
            "{name}: {line}"
        );
        let number = |key: &str| get(key).map(|v| v.parse::<u64>().expect("a number"));
        assert_eq!(number("line"), problem["line"].as_u64(), "{name}: {line}");
        assert_eq!(number("col"), problem["column"].as_u64(), "{name}: {line}");
        assert!(
            message.contains(text(&problem["message"])),
            "{name}: {line}"
        );
    }
    // The usual output follows: the text plan's summary line.
    assert!(
        run.stdout
            .trim_end()
            .lines()
            .last()
            .is_some_and(|l| !l.starts_with("::")),
        "{name}: the text plan follows the annotations"
    );
}

fn check_gitlab(
    name: &str,
    run: &Run,
    problems: &[Value],
    fallback: &str,
    schema: &jsonschema::Validator,
) {
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|err| panic!("{name}: not JSON ({err}): {}", run.stdout));
    let errors: Vec<String> = schema.iter_errors(&report).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{name}: not a Code Quality report: {errors:?}"
    );
    let issues = report.as_array().unwrap();
    assert_eq!(issues.len(), problems.len(), "{name}");
    for (issue, problem) in issues.iter().zip(problems) {
        assert_eq!(issue["check_name"], problem["code"], "{name}");
        let path = problem["file"].as_str().unwrap_or(fallback);
        assert_eq!(issue["location"]["path"], path, "{name}");
        assert_eq!(
            issue["location"]["lines"]["begin"].as_u64(),
            Some(problem["line"].as_u64().unwrap_or(1)),
            "{name}"
        );
    }
    let mut fingerprints: Vec<&str> = issues.iter().map(|i| text(&i["fingerprint"])).collect();
    fingerprints.sort_unstable();
    fingerprints.dedup();
    assert_eq!(
        fingerprints.len(),
        issues.len(),
        "{name}: fingerprints are unique"
    );
}

fn fixtures() -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for dir in [BAD, HOSTILE] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if is_fixture(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn every_bad_or_hostile_config_carries_the_same_problems_in_every_format() {
    let emulator = Emulator::start();
    let plan_schema = plan_schema();
    let gitlab_schema = gitlab_schema();
    let fixtures = fixtures();
    assert!(fixtures.len() >= 150, "only {} fixtures", fixtures.len());
    for path in &fixtures {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let name = name.as_str();
        let run = |format: &str| run_on(path, &["plan", "--format", format], &emulator);
        let json = run("json");
        let problems = json_problems(name, &json, &plan_schema);
        let text_run = run("text");
        assert_eq!(text_run.code, json.code, "{name}: every format exits alike");
        let errors: Vec<&Value> = problems
            .iter()
            .filter(|p| p["severity"] == "error")
            .collect();
        if json.code == 1 {
            assert!(
                !errors.is_empty(),
                "{name}: exit 1 names its problems in the JSON"
            );
            check_stderr(name, &text_run, &errors);
        }
        let markdown = run("markdown");
        assert_eq!(markdown.code, json.code, "{name}");
        check_markdown(name, &markdown, &problems);
        let github = run("github");
        assert_eq!(github.code, json.code, "{name}");
        check_github(name, &github, &problems);
        let gitlab = run("gitlab");
        assert_eq!(gitlab.code, json.code, "{name}");
        check_gitlab(name, &gitlab, &problems, name, &gitlab_schema);
        // `validate` finds what `plan` finds, but for what only a plan can find.
        let validate = run_on(path, &["validate", "--format", "json"], &emulator);
        let validated: Value = serde_json::from_str(&validate.stdout)
            .unwrap_or_else(|err| panic!("{name}: validate's stdout is not JSON ({err})"));
        let planned: Vec<&Value> = problems
            .iter()
            .filter(|p| !PLAN_ONLY_CODES.contains(&text(&p["code"])))
            .collect();
        let validated: Vec<&Value> = validated["problems"].as_array().unwrap().iter().collect();
        assert_eq!(validated, planned, "{name}: validate and plan differ");
    }
}

#[test]
fn unknown_names_are_located_with_suggestions_and_a_forbidden_role_names_both_roles() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("teams.yaml");
    std::fs::write(&path, crate::validate::PROBLEMS).unwrap();
    let plan = run_on(&path, &["plan", "--format", "json"], &emulator);
    let validate = run_on(&path, &["validate", "--format", "json"], &emulator);
    assert_eq!((plan.code, validate.code), (1, 1));
    let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
    let validate: Value = serde_json::from_str(&validate.stdout).unwrap();
    assert_eq!(
        plan["problems"], validate["problems"],
        "validate and plan agree"
    );
    let found: Vec<(String, String, Option<String>)> = plan["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                text(&p["code"]).to_owned(),
                place(p),
                p["suggestion"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let expected = [
        (
            "unknown-organization",
            "teams.yaml:3:3: organizations.acme3d",
            Some("acme-3d"),
        ),
        (
            "unknown-event",
            "teams.yaml:9:18: organizations.globex.webhooks.erp.events[0]",
            Some("product.completed"),
        ),
        (
            "unknown-event",
            "teams.yaml:9:55: organizations.globex.webhooks.erp.events[2]",
            Some("user.revoked"),
        ),
        (
            "unknown-folder",
            "teams.yaml:10:19: organizations.globex.webhooks.erp.folders[0]",
            Some("emea"),
        ),
        ("role-forbidden", "initech", None),
    ]
    .map(|(c, p, s)| (c.to_owned(), p.to_owned(), s.map(str::to_owned)));
    assert_eq!(found, expected);
    // The lines stderr ends with (product.md's own examples, in our words).
    let text_run = run_on(&path, &["plan"], &emulator);
    let tail: Vec<&str> = text_run.stderr.lines().rev().take(5).collect();
    assert!(tail.contains(
        &"error: teams.yaml:3:3: organizations.acme3d: unknown organization (did you mean acme-3d?)"
    ));
    assert!(tail.iter().any(|l| l.starts_with(
        "error: initech: role CLIENT_ORGANIZATION_VIEWER may not manage webhooks (needs ORGANIZATION_OWNER or ORGANIZATION_ADMIN)"
    )), "{}", text_run.stderr);
}

#[test]
fn a_config_that_does_not_load_still_gives_machine_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("c.yaml"), "version: 1\norganizations: [\n").unwrap();
    for format in ["json", "markdown", "github", "gitlab"] {
        let run: Run = command(dir.path())
            .args(["plan", "-f", "c.yaml", "--format", format])
            .output()
            .unwrap()
            .into();
        assert_eq!(run.code, 1, "{format}");
        assert!(
            run.stdout.contains("yaml-syntax"),
            "{format}: {}",
            run.stdout
        );
    }
    // And without credentials, the JSON says so instead of printing nothing.
    std::fs::write(
        dir.path().join("c.yaml"),
        "version: 1\norganizations:\n  acme-3d:\n    webhooks: {}\n",
    )
    .unwrap();
    let run: Run = command(dir.path())
        .args(["plan", "-f", "c.yaml", "--format", "json"])
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, 1);
    let plan: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(plan["problems"][0]["code"], "run-error");
    assert!(text(&plan["problems"][0]["message"]).contains("VNTANA_API_KEY"));
    assert!(
        run.stderr
            .lines()
            .last()
            .unwrap()
            .contains("no credentials")
    );
}
