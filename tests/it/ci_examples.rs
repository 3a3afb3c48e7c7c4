//! The CI recipes users copy (`examples/ci/`): both parse as YAML and have the shape their
//! comments promise (credentials only where they are needed, locks that keep two runs of one
//! VNTANA user apart, the plan comment updated in place), and every `vntana-webhooks` command
//! line they run, in their scripts or through the GitHub Action (the command lines
//! `action/run.sh` runs, which tests/it/action.rs checks), parses (`--help` after its
//! arguments) and, run for real against fixtures and the emulator, exits as the recipe relies
//! on. Their secret hand-off runs too, on names with spaces and `*`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::support::cli::{Run, command};
use crate::support::emulator::{DEMO_KEY, Emulator};

const GITHUB: &str = include_str!("../../examples/ci/github-actions.yml");
const GITLAB: &str = include_str!("../../examples/ci/gitlab-ci.yml");

/// The hidden marker that finds the plan comment of `webhooks/` again (the action's format).
const MARKER: &str = "<!-- vntana-webhooks: webhooks/ -->";

/// How the GitHub recipe names this repository's action (a placeholder pin until a release).
const THE_ACTION: &str = "OWNER/vntana-webhooks@";

/// The default seed plus one webhook to create, in two files of a `webhooks/` folder.
const ACME: &str = "\
version: 1
owner: platform-repo
organizations:
  acme-3d:
    webhooks:
      pim-sync:
        url: https://pim.acme.example/hooks/vntana
        description: Push finished products into the PIM
        events: [product.completed]
        folders: [footwear]
        userEmail: pim-team@acme.example
      cdn-purge:
        url: https://cdn.acme.example/purge
        description: Purge cached viewers when a product changes
        events: [product.published, product.deleted]
      legacy-ftp-export:
        url: https://ftp-bridge.acme.example/export
        events: [product.completed]
        folders: [bags]
      dam-ingest:
        url: https://dam.acme.example/vntana/ingest
        description: Ingest finished products into the DAM
        events: [product.added]
";
const GLOBEX: &str = "\
version: 1
owner: platform-repo
organizations:
  globex:
    webhooks:
      erp-bridge:
        url: https://erp.globex.example/vntana/events
        description: Sync published products to the ERP
        events: [product.published]
        folders: [emea, americas]
        userEmail: it@globex.example
        secretRotation: 2
";

// ---------------------------------------------------------------------------------------------
// Reading command lines out of shell scripts.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    /// `;`, `&&`, `||`, `|`, `&`, `(`, `)`, `$(`, a newline: the end of a simple command.
    Separator,
    /// A redirection operator; `true` when it names its target itself (`2>&1`).
    Redirect(String, bool),
}

/// A small POSIX-shell lexer: quotes removed (variables left in place), `\`-newline joined,
/// comments dropped. Never fails: odd input (a quote inside `$(...)`) only lexes oddly.
fn lex(script: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    let flush = |tokens: &mut Vec<Token>, word: &mut String, in_word: &mut bool| {
        if *in_word {
            tokens.push(Token::Word(std::mem::take(word)));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(next) => {
                    word.push(next);
                    in_word = true;
                }
            },
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('\n') | None => {}
                            Some(next @ ('"' | '\\' | '$' | '`')) => word.push(next),
                            Some(next) => {
                                word.push('\\');
                                word.push(next);
                            }
                        },
                        _ => word.push(c),
                    }
                }
            }
            '#' if !in_word => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            ' ' | '\t' => flush(&mut tokens, &mut word, &mut in_word),
            '$' if chars.peek() == Some(&'(') => {
                chars.next();
                flush(&mut tokens, &mut word, &mut in_word);
                tokens.push(Token::Separator);
            }
            '\n' | ';' | '&' | '|' | '(' | ')' => {
                flush(&mut tokens, &mut word, &mut in_word);
                if matches!(c, '&' | '|') && chars.peek() == Some(&c) {
                    chars.next();
                }
                tokens.push(Token::Separator);
            }
            '>' | '<' => {
                // `2>`: a word of digits right before the operator is its file descriptor.
                let mut op = if in_word && word.chars().all(|d| d.is_ascii_digit()) {
                    in_word = false;
                    std::mem::take(&mut word)
                } else {
                    flush(&mut tokens, &mut word, &mut in_word);
                    String::new()
                };
                op.push(c);
                if chars.peek() == Some(&'>') {
                    op.push('>');
                    chars.next();
                }
                let mut has_target = false;
                if chars.peek() == Some(&'&') {
                    chars.next();
                    op.push('&');
                    while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit() || **d == '-') {
                        op.push(d);
                        chars.next();
                    }
                    has_target = true;
                }
                tokens.push(Token::Redirect(op, has_target));
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    flush(&mut tokens, &mut word, &mut in_word);
    tokens
}

/// One `vntana-webhooks` command of a recipe: its arguments (variables expanded) and where
/// its stdout goes.
#[derive(Debug, Clone, PartialEq)]
struct Invocation {
    /// Where it was found: the recipe and the job.
    origin: String,
    args: Vec<String>,
    stdout: Option<String>,
}

/// Words that may precede a command in a simple command.
const PREFIXES: &[&str] = &[
    "if", "then", "else", "elif", "do", "while", "until", "!", "time", "exec", "{",
];

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// `$NAME` and `${NAME}` replaced by the recipe's variables; an unknown one fails the test,
/// since the test could not know what the recipe runs.
fn expand(word: &str, vars: &BTreeMap<String, String>, origin: &str) -> String {
    let mut out = String::new();
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, tail) = if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').expect("a closed ${");
            (&braced[..end], &braced[end + 1..])
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        let value = vars.get(name).unwrap_or_else(|| {
            panic!(
                "{origin}: a vntana-webhooks command uses ${name}, which the recipe does not set"
            )
        });
        out.push_str(value);
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// Every `vntana-webhooks` command of a script: the simple commands whose command word it is
/// (after `if`, `!`, assignments...), redirections removed, `> FILE` kept as `stdout`.
fn invocations(script: &str, vars: &BTreeMap<String, String>, origin: &str) -> Vec<Invocation> {
    let tokens = lex(script);
    let mut found = Vec::new();
    for command in tokens.split(|t| *t == Token::Separator) {
        let mut tokens = command.iter().peekable();
        while let Some(Token::Word(w)) = tokens.peek() {
            if PREFIXES.contains(&w.as_str()) || is_assignment(w) {
                tokens.next();
            } else {
                break;
            }
        }
        if tokens.next() != Some(&Token::Word("vntana-webhooks".to_owned())) {
            continue;
        }
        let mut invocation = Invocation {
            origin: origin.to_owned(),
            args: Vec::new(),
            stdout: None,
        };
        while let Some(token) = tokens.next() {
            match token {
                Token::Word(w) => invocation.args.push(expand(w, vars, origin)),
                Token::Redirect(op, false) => {
                    let Some(Token::Word(target)) = tokens.next() else {
                        panic!("{origin}: a redirection without a target in {script}");
                    };
                    if matches!(op.as_str(), ">" | ">>" | "1>" | "1>>") {
                        invocation.stdout = Some(expand(target, vars, origin));
                    }
                }
                Token::Redirect(_, true) | Token::Separator => {}
            }
        }
        found.push(invocation);
    }
    found
}

#[test]
fn the_extractor_reads_continuations_redirections_variables_and_exit_codes() {
    let vars = BTreeMap::from([("DIR".to_owned(), "webhooks/".to_owned())]);
    let script = "\
# vntana-webhooks schema   (a comment)
status=0
if ! vntana-webhooks plan -f \"$DIR\" \\
    --format markdown > plan.md 2>&1; then echo 'vntana-webhooks is not run here'; fi
FOO=1 vntana-webhooks validate --offline -f ${DIR} || status=$?
cargo install --git x vntana-webhooks
x=$(vntana-webhooks export --format live-json 2> /dev/null | jq .)
";
    let found = invocations(script, &vars, "test");
    let args: Vec<(Vec<&str>, Option<&str>)> = found
        .iter()
        .map(|i| {
            (
                i.args.iter().map(String::as_str).collect(),
                i.stdout.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        args,
        [
            (
                vec!["plan", "-f", "webhooks/", "--format", "markdown"],
                Some("plan.md")
            ),
            (vec!["validate", "--offline", "-f", "webhooks/"], None),
            (vec!["export", "--format", "live-json"], None),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// The recipes.
// ---------------------------------------------------------------------------------------------

fn parse(name: &str, text: &str) -> Value {
    let doc: Value = serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(doc.is_object(), "{name} is not a mapping");
    doc
}

/// Every string-valued `env:`/`variables:` entry anywhere in the document.
fn variables(doc: &Value) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    let mut stack = vec![doc];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    if let ("env" | "variables", Value::Object(entries)) = (key.as_str(), value) {
                        for (name, v) in entries {
                            if let Some(v) = v.as_str() {
                                vars.insert(name.clone(), v.to_owned());
                            }
                        }
                    }
                    stack.push(value);
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    vars
}

/// GitHub Actions: the commands of every step of every job, in order: those of `run:`
/// scripts, and those the vntana-webhooks action runs for its `with:` inputs.
fn github_invocations(name: &str, doc: &Value) -> Vec<Invocation> {
    let vars = variables(doc);
    let jobs = doc["jobs"].as_object().expect("jobs");
    let mut found = Vec::new();
    for (job, definition) in jobs {
        let origin = format!("{name}: job {job}");
        for step in definition["steps"].as_array().expect("steps") {
            if let Some(run) = step["run"].as_str() {
                found.extend(invocations(run, &vars, &origin));
            }
            if step["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with(THE_ACTION))
            {
                let with = |input: &str, default: &str| {
                    step["with"][input].as_str().unwrap_or(default).to_owned()
                };
                let commands = crate::action::commands_of_the_action(
                    &with("command", "plan"),
                    &with("files", "webhooks/"),
                    &with("args", ""),
                    "",
                );
                found.extend(commands.into_iter().map(|(args, stdout)| Invocation {
                    origin: origin.clone(),
                    args,
                    stdout,
                }));
            }
        }
    }
    found
}

/// GitLab CI: `before_script`, `script` and `after_script` of every job and template.
fn gitlab_scripts(doc: &Value) -> Vec<(String, String)> {
    let mut scripts = Vec::new();
    for (job, definition) in doc.as_object().expect("a mapping") {
        for key in ["before_script", "script", "after_script"] {
            match &definition[key] {
                Value::String(line) => scripts.push((job.clone(), line.clone())),
                Value::Array(lines) => scripts.extend(lines.iter().map(|line| {
                    let line = line
                        .as_str()
                        .unwrap_or_else(|| panic!("{job}.{key}: a string"));
                    (job.clone(), line.to_owned())
                })),
                _ => {}
            }
        }
    }
    scripts
}

/// Every `vntana-webhooks` command of a recipe, in document order.
fn recipe_invocations(name: &str, doc: &Value, scripts: &[(String, String)]) -> Vec<Invocation> {
    let vars = variables(doc);
    scripts
        .iter()
        .flat_map(|(job, script)| invocations(script, &vars, &format!("{name}: job {job}")))
        .collect()
}

fn github() -> (Value, Vec<Invocation>) {
    let doc = parse("github-actions.yml", GITHUB);
    let found = github_invocations("github-actions.yml", &doc);
    (doc, found)
}

fn gitlab() -> (Value, Vec<Invocation>) {
    let doc = parse("gitlab-ci.yml", GITLAB);
    let found = recipe_invocations("gitlab-ci.yml", &doc, &gitlab_scripts(&doc));
    (doc, found)
}

/// What a command is for, and so how the test runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// `export --format live-json > FILE`: the snapshot pull requests plan against.
    Export,
    /// `validate --offline`: no credentials.
    Validate,
    /// `plan --live FILE`: no credentials, no request.
    PlanLive,
    /// `plan --detailed-exitcode` against the platform: the drift check.
    Drift,
    /// `apply --auto-approve`.
    Apply,
}

fn kind(invocation: &Invocation) -> Kind {
    let has = |flag: &str| invocation.args.iter().any(|a| a == flag);
    match invocation.args.first().map(String::as_str) {
        Some("export") if has("live-json") => Kind::Export,
        Some("validate") if has("--offline") => Kind::Validate,
        Some("plan") if has("--live") => Kind::PlanLive,
        Some("plan") if has("--detailed-exitcode") => Kind::Drift,
        Some("apply") if has("--auto-approve") => Kind::Apply,
        _ => panic!(
            "{}: the test does not know how to run `vntana-webhooks {}`: teach it",
            invocation.origin,
            invocation.args.join(" ")
        ),
    }
}

/// The value following `flag`.
fn flag_value<'a>(invocation: &'a Invocation, flag: &str) -> Option<&'a str> {
    let at = invocation.args.iter().position(|a| a == flag)?;
    invocation.args.get(at + 1).map(String::as_str)
}

fn check_the_commands_cover_the_workflow(name: &str, found: &[Invocation]) {
    let kinds: std::collections::BTreeSet<Kind> = found.iter().map(kind).collect();
    assert_eq!(
        kinds,
        [
            Kind::Export,
            Kind::Validate,
            Kind::PlanLive,
            Kind::Drift,
            Kind::Apply
        ]
        .into(),
        "{name}: {found:#?}"
    );
    for invocation in found {
        let args = &invocation.args;
        let config = flag_value(invocation, "-f");
        if kind(invocation) != Kind::Export {
            assert_eq!(config, Some("webhooks/"), "{invocation:?}");
        }
        match kind(invocation) {
            Kind::Export => assert_eq!(
                invocation.stdout.as_deref(),
                Some("live-snapshot.json"),
                "{invocation:?}"
            ),
            Kind::PlanLive => {
                assert_eq!(
                    flag_value(invocation, "--live"),
                    Some("live-snapshot.json"),
                    "{invocation:?}"
                );
                assert_eq!(flag_value(invocation, "--format"), Some("markdown"));
                assert_eq!(invocation.stdout.as_deref(), Some("plan.md"));
            }
            Kind::Apply => assert_eq!(
                flag_value(invocation, "--secrets-out"),
                Some("secrets.json"),
                "{args:?}"
            ),
            Kind::Validate | Kind::Drift => {}
        }
    }
}

#[test]
fn both_recipes_parse_and_name_every_command_of_the_workflow() {
    let (_, found) = github();
    check_the_commands_cover_the_workflow("github-actions.yml", &found);
    let (_, found) = gitlab();
    check_the_commands_cover_the_workflow("gitlab-ci.yml", &found);
}

/// The names of the jobs running commands of these kinds.
fn jobs_running(found: &[Invocation], kinds: &[Kind]) -> std::collections::BTreeSet<String> {
    found
        .iter()
        .filter(|i| kinds.contains(&kind(i)))
        .map(|i| i.origin.rsplit("job ").next().unwrap().to_owned())
        .collect()
}

const MINTING: &[Kind] = &[Kind::Export, Kind::Drift, Kind::Apply];
const OFFLINE: &[Kind] = &[Kind::Validate, Kind::PlanLive];

/// The one job of a kind.
fn the_job(found: &[Invocation], kind: Kind) -> String {
    let jobs = jobs_running(found, &[kind]);
    assert_eq!(jobs.len(), 1, "{kind:?}: {jobs:?}");
    jobs.into_iter().next().unwrap()
}

#[test]
fn the_github_workflow_keeps_minting_runs_apart_and_pull_requests_credential_free() {
    let (doc, found) = github();
    let jobs = &doc["jobs"];
    assert_eq!(doc["permissions"], serde_json::json!({}), "least privilege");
    for (name, job) in jobs.as_object().unwrap() {
        for (scope, access) in job["permissions"].as_object().expect("per-job permissions") {
            assert!(
                access == "read" || (scope == "pull-requests" && access == "write"),
                "{name}: {scope}: {access}"
            );
        }
        assert!(job["timeout-minutes"].is_u64(), "{name}: timeout-minutes");
    }

    // Two jobs mint tokens: the apply and the nightly drift check, each in its own protected
    // environment (its own VNTANA user) and its own lock, never cancelled while running.
    let minting = jobs_running(&found, MINTING);
    assert_eq!(minting.len(), 2, "{minting:?}");
    let apply = the_job(&found, Kind::Apply);
    let drift = the_job(&found, Kind::Drift);
    assert_eq!(jobs_running(&found, &[Kind::Export]), minting);
    assert_eq!(jobs[&apply]["environment"], "vntana");
    assert_eq!(jobs[&apply]["concurrency"]["group"], "vntana-platform");
    assert_eq!(jobs[&drift]["environment"], "vntana-drift");
    assert_ne!(
        jobs[&drift]["concurrency"]["group"], jobs[&apply]["concurrency"]["group"],
        "a nightly run must never displace a pending apply"
    );
    for name in &minting {
        let job = &jobs[name];
        assert_eq!(job["concurrency"]["cancel-in-progress"], false, "{name}");
        assert!(
            job["env"]["VNTANA_API_KEY"]
                .as_str()
                .unwrap()
                .contains("secrets.")
        );
    }

    // The pull-request plan: no credential, a lock per pull request that cancels the plan of
    // an older push, and the action's comment (on by default on pull requests).
    let plan = the_job(&found, Kind::PlanLive);
    assert!(
        !minting.contains(&plan),
        "{plan} runs offline and online commands"
    );
    let job = &jobs[&plan];
    let text = job.to_string();
    assert!(
        !text.contains("secrets.") && !text.contains("VNTANA_API_KEY"),
        "{plan}"
    );
    assert!(
        job["concurrency"]["group"]
            .as_str()
            .unwrap()
            .contains("github.event.pull_request.number")
    );
    assert_eq!(job["concurrency"]["cancel-in-progress"], true);
    assert_eq!(job["permissions"]["pull-requests"], "write");
    let step = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with(THE_ACTION))
        })
        .expect("the plan step");
    assert_eq!(step["with"]["command"], "plan");
    assert!(
        step["with"].get("comment").is_none(),
        "the comment is on by default"
    );
    for validate in jobs_running(&found, &[Kind::Validate]) {
        assert!(validate == plan || minting.contains(&validate));
    }

    let cleanup = jobs[&apply]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("rm -f secrets.json"))
        })
        .expect("a step deleting secrets.json");
    assert!(cleanup["if"].as_str().unwrap().contains("always()"));
}

/// A field of a GitLab job, or of the templates it `extends`.
fn gitlab_field<'a>(doc: &'a Value, job: &str, field: &str) -> Option<&'a Value> {
    let definition = &doc[job];
    if let Some(value) = definition.get(field) {
        return Some(value);
    }
    let extends = match &definition["extends"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    extends
        .iter()
        .find_map(|parent| gitlab_field(doc, parent, field))
}

#[test]
fn the_gitlab_pipeline_locks_minting_jobs_and_keeps_merge_requests_credential_free() {
    let (doc, found) = gitlab();
    let minting = jobs_running(&found, MINTING);
    assert_eq!(minting.len(), 3, "{minting:?}");
    for name in &minting {
        assert_eq!(
            gitlab_field(&doc, name, "resource_group"),
            Some(&Value::from("vntana-platform")),
            "{name}"
        );
    }
    let offline = jobs_running(&found, OFFLINE);
    for name in &offline {
        assert!(!doc[name].to_string().contains("VNTANA_API_KEY"), "{name}");
        assert!(
            !minting.contains(name),
            "{name} runs offline and online commands"
        );
    }
    for name in doc.as_object().unwrap().keys() {
        if !name.starts_with('.') && doc[name].is_object() && doc[name].get("stage").is_some() {
            assert!(
                gitlab_field(&doc, name, "timeout").is_some(),
                "{name}: no timeout"
            );
            let image = gitlab_field(&doc, name, "image").expect("an image");
            assert!(
                image["name"]
                    .as_str()
                    .is_some_and(|i| i.starts_with("ghcr.io/OWNER/vntana-webhooks:")
                        && i.ends_with("-alpine")),
                "{name}: {image}"
            );
            assert_eq!(image["entrypoint"], serde_json::json!([""]));
        }
    }
    for name in &offline {
        assert_eq!(doc[name]["interruptible"], true, "{name}");
    }
    for name in &minting {
        assert_eq!(
            gitlab_field(&doc, name, "interruptible"),
            Some(&Value::Bool(false)),
            "{name}"
        );
    }
    assert_eq!(
        doc[&the_job(&found, Kind::Apply)]["environment"]["name"],
        "vntana"
    );
    assert_eq!(
        doc[&the_job(&found, Kind::Drift)]["environment"]["name"],
        "vntana-drift"
    );
    let plan = &doc[&the_job(&found, Kind::PlanLive)];
    assert_eq!(plan["variables"]["PLAN_MARKER"], MARKER);
    let script = plan["script"].to_string();
    for needle in ["-X PUT", "-X POST", "PLAN_MARKER", "note.md"] {
        assert!(script.contains(needle), "the plan job lacks {needle}");
    }
    let apply = jobs_running(&found, &[Kind::Apply]);
    let after = gitlab_field(&doc, apply.first().unwrap(), "after_script").unwrap();
    assert!(after.to_string().contains("rm -f secrets.json"), "{after}");
    assert_eq!(
        gitlab_field(
            &doc,
            jobs_running(&found, &[Kind::Drift]).first().unwrap(),
            "allow_failure"
        ),
        Some(&serde_json::json!({"exit_codes": [2]}))
    );
}

// ---------------------------------------------------------------------------------------------
// Running the commands.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_command_line_parses() {
    let dir = tempfile::tempdir().unwrap();
    // The check has teeth: clap refuses a bad value or flag before `--help`.
    for bad in [
        &["plan", "--format", "yaml", "--help"][..],
        &["apply", "--auto-aprove", "--help"],
    ] {
        let run: Run = command(dir.path()).args(bad).output().unwrap().into();
        assert_eq!(run.code, 1, "{bad:?} parsed: {}", run.stdout);
    }
    let (_, mut found) = github();
    found.extend(gitlab().1);
    for invocation in &found {
        let run: Run = command(dir.path())
            .args(&invocation.args)
            .arg("--help")
            .output()
            .unwrap()
            .into();
        assert_eq!(
            run.code,
            0,
            "{}: `vntana-webhooks {} --help` does not parse:\n{}",
            invocation.origin,
            invocation.args.join(" "),
            run.stderr
        );
    }
}

/// Runs a recipe's command in `dir`, online commands with the emulator's credentials, and
/// writes its stdout where the recipe redirects it.
fn run(invocation: &Invocation, dir: &Path, emulator: Option<&Emulator>) -> Run {
    let mut cmd = command(dir);
    cmd.args(&invocation.args);
    if let Some(emulator) = emulator {
        cmd.env("VNTANA_API_URL", &emulator.url)
            .env("VNTANA_API_KEY", DEMO_KEY);
    }
    let run: Run = cmd.output().unwrap().into();
    if let Some(target) = &invocation.stdout {
        std::fs::write(dir.join(target), &run.stdout).unwrap();
    }
    run
}

fn assert_exit(run: &Run, code: i32, invocation: &Invocation) {
    assert_eq!(
        run.code,
        code,
        "{}: `vntana-webhooks {}` exited {}:\n{}\n{}",
        invocation.origin,
        invocation.args.join(" "),
        run.code,
        run.stdout,
        run.stderr
    );
}

/// Whether this build has `export` (it is being built; until then the test writes the live
/// snapshot through the library, as `export --format live-json` would).
fn has_export(dir: &Path) -> bool {
    command(dir)
        .args(["export", "--help"])
        .output()
        .unwrap()
        .status
        .success()
}

async fn write_snapshot_with_the_library(emulator: &Emulator, path: &Path) {
    use std::collections::BTreeSet;
    use vntana_webhooks::api::redacted::ApiKey;
    use vntana_webhooks::api::{Client, ClientOptions, Credentials, Session};

    let client = Client::new(&ClientOptions::new(&emulator.url)).unwrap();
    let session = Session::sign_in(client, &Credentials::ApiKey(ApiKey::new(DEMO_KEY)))
        .await
        .unwrap();
    let slugs: BTreeSet<String> = ["acme-3d".to_owned(), "globex".to_owned()].into();
    let read = vntana_webhooks::live::read(&session, &slugs, &slugs)
        .await
        .unwrap();
    std::fs::write(path, read.snapshot.to_json()).unwrap();
}

/// Refreshes the live snapshot as the recipe does (after an apply, and nightly).
async fn export(found: &[Invocation], dir: &Path, emulator: &Emulator) {
    let exports: Vec<&Invocation> = found.iter().filter(|i| kind(i) == Kind::Export).collect();
    if has_export(dir) {
        for invocation in exports {
            assert_exit(&run(invocation, dir, Some(emulator)), 0, invocation);
        }
    } else {
        write_snapshot_with_the_library(emulator, &dir.join("live-snapshot.json")).await;
    }
    let snapshot = vntana_webhooks::live::LiveSnapshot::read(&dir.join("live-snapshot.json"))
        .expect("a live snapshot");
    assert!(snapshot.organization("acme-3d").is_some());
}

/// The pull-request job: validate and plan with no credential at all and no request.
/// `changes`: whether the plan has actions (exit 2 where the recipe asks for
/// `--detailed-exitcode`, as the GitHub action does).
async fn pull_request(
    found: &[Invocation],
    dir: &Path,
    emulator: &Emulator,
    expect: &str,
    changes: bool,
) {
    emulator.clear_requests().await;
    for invocation in found {
        match kind(invocation) {
            Kind::Validate => assert_exit(&run(invocation, dir, None), 0, invocation),
            Kind::PlanLive => {
                let run = run(invocation, dir, None);
                let detailed = invocation.args.iter().any(|a| a == "--detailed-exitcode");
                assert_exit(&run, if changes && detailed { 2 } else { 0 }, invocation);
                let target = invocation
                    .stdout
                    .as_deref()
                    .expect("the plan goes to a file");
                let plan = std::fs::read_to_string(dir.join(target)).unwrap();
                assert!(plan.contains(expect), "plan.md lacks {expect}:\n{plan}");
                assert!(plan.len() < 60_000);
            }
            _ => {}
        }
    }
    assert!(
        emulator.requests().await.is_empty(),
        "a pull-request command sent requests"
    );
}

/// Runs every command of a recipe in the order the workflow does: the nightly snapshot, a
/// pull request, the drift check (drift), the apply on merge, the drift check (none), and a
/// pull request planned against the snapshot refreshed after the apply.
async fn run_the_recipe(found: Vec<Invocation>) {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    std::fs::create_dir(dir.join("webhooks")).unwrap();
    std::fs::write(dir.join("webhooks/acme-3d.yaml"), ACME).unwrap();
    std::fs::write(dir.join("webhooks/globex.yaml"), GLOBEX).unwrap();

    export(&found, dir, &emulator).await;
    pull_request(&found, dir, &emulator, "dam-ingest", true).await;

    let of = |k: Kind| found.iter().filter(move |i| kind(i) == k);
    for invocation in of(Kind::Drift) {
        assert_exit(&run(invocation, dir, Some(&emulator)), 2, invocation);
    }
    for invocation in of(Kind::Apply) {
        assert_exit(&run(invocation, dir, Some(&emulator)), 0, invocation);
        // The hand-off step reads `{"org/name": {"uuid", "secret"}}` from this file.
        let path = dir.join(flag_value(invocation, "--secrets-out").expect("--secrets-out"));
        let text = std::fs::read_to_string(&path).expect("apply wrote the secrets file");
        let secrets: Value = serde_json::from_str(&text).unwrap();
        let entry = &secrets["acme-3d/dam-ingest"];
        assert!(
            entry["uuid"].is_string() && entry["secret"].is_string(),
            "the secrets file has no usable entry for acme-3d/dam-ingest"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
    for invocation in of(Kind::Drift) {
        assert_exit(&run(invocation, dir, Some(&emulator)), 0, invocation);
    }

    export(&found, dir, &emulator).await;
    pull_request(&found, dir, &emulator, "No changes", false).await;
}

#[tokio::test]
async fn the_github_workflow_s_commands_run_as_the_workflow_relies_on() {
    run_the_recipe(github().1).await;
}

#[tokio::test]
async fn the_gitlab_pipeline_s_commands_run_as_the_workflow_relies_on() {
    run_the_recipe(gitlab().1).await;
}

// ---------------------------------------------------------------------------------------------
// The secret hand-off, on names that word splitting and globbing would break.
// ---------------------------------------------------------------------------------------------

/// A recipe's hand-off script with its placeholder `store_secret` replaced by one that records
/// `name<TAB>kind<TAB>value` lines in $STORE_LOG.
fn with_a_recording_store(script: &str) -> String {
    let lines: Vec<&str> = script.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim_start().starts_with("store_secret() {"))
        .expect("store_secret() is defined");
    let indent = &lines[start][..lines[start].len() - lines[start].trim_start().len()];
    let end = start
        + lines[start..]
            .iter()
            .position(|l| *l == format!("{indent}}}"))
            .expect("the end of store_secret()");
    let recording = format!(
        "{indent}store_secret() {{ value=$(cat); printf '%s\\t%s\\t%s\\n' \"$1\" \"$2\" \"$value\" >> \"$STORE_LOG\"; }}"
    );
    [&lines[..start], &[recording.as_str()], &lines[end + 1..]]
        .concat()
        .join("\n")
}

#[test]
fn each_recipe_hands_off_secrets_whose_names_have_spaces_and_globs() {
    let github_doc = parse("github-actions.yml", GITHUB);
    let github_script = github_doc["jobs"]["apply"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .find(|r| r.contains("store_secret()"))
        .expect("the GitHub hand-off step")
        .to_owned();
    let gitlab_doc = parse("gitlab-ci.yml", GITLAB);
    let gitlab_script = gitlab_doc["apply"]["script"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|r| r.contains("store_secret()"))
        .expect("the GitLab hand-off script")
        .to_owned();

    let secrets = serde_json::json!({
        "acme 3d/pim sync": {"uuid": "u1", "secret": "s1"},
        "acme-3d/*": {"uuid": "u2", "secret": "s2", "previousSecret": "p2"},
        "globex/erp*bridge": {"uuid": "u3", "secret": "s3"},
        " spaced/ends ": {"uuid": "u4", "secret": "s 4 "},
        "plain/name": {"uuid": "u5", "secret": "s5", "previousSecret": "p5"},
    });
    let mut expected: Vec<String> = vec![
        "acme 3d/pim sync\tsecret\ts1".into(),
        "acme-3d/*\tsecret\ts2".into(),
        "acme-3d/*\tpreviousSecret\tp2".into(),
        "globex/erp*bridge\tsecret\ts3".into(),
        " spaced/ends \tsecret\ts 4 ".into(),
        "plain/name\tsecret\ts5".into(),
        "plain/name\tpreviousSecret\tp5".into(),
    ];
    expected.sort();

    // GitHub runs `bash -eo pipefail`; GitLab's Alpine image runs a POSIX sh (here: the
    // system's sh).
    for (name, shell, flags, script) in [
        ("github-actions.yml", "bash", "-eo pipefail", github_script),
        ("gitlab-ci.yml", "sh", "-e", gitlab_script),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secrets.json"), secrets.to_string()).unwrap();
        // What `*` would expand to if a name were globbed.
        std::fs::create_dir(dir.path().join("acme-3d")).unwrap();
        std::fs::write(dir.path().join("acme-3d/decoy"), "").unwrap();
        std::fs::write(dir.path().join("globex-decoy"), "").unwrap();
        let log = dir.path().join("store.log");
        let mut command = std::process::Command::new(shell);
        for flag in flags.split(' ') {
            command.arg(flag);
        }
        let output = command
            .arg("-c")
            .arg(with_a_recording_store(&script))
            .current_dir(dir.path())
            .env("STORE_LOG", &log)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{name}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let mut stored: Vec<String> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        stored.sort();
        assert_eq!(stored, expected, "{name}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.contains("stored the new secret of acme 3d/pim sync\n"),
            "{name}: {stdout}"
        );
        assert!(
            !stdout.contains("decoy"),
            "{name}: a name was glob-expanded: {stdout}"
        );
    }
}
