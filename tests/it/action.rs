//! The GitHub Action (`action.yml` and its scripts in `action/`), run as GitHub would run its
//! steps, against local stand-ins: a recording HTTP server serving a fake release (archives
//! holding a shell script named `vntana-webhooks`, and `SHA256SUMS`) for `install.sh`, a fake
//! `vntana-webhooks` on PATH that records its arguments for `run.sh`, and a stand-in for the
//! GitHub API's issue comments for `comment.sh`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::http_stub::{Request, Response, Stub};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const ACTION: &str = include_str!("../../action.yml");
const VERSION: &str = "1.2.3";

// ---------------------------------------------------------------------------------------------
// Running the scripts.
// ---------------------------------------------------------------------------------------------

/// What a script printed, how it exited, and the step outputs it wrote.
#[derive(Debug)]
struct Step {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: BTreeMap<String, String>,
}

impl Step {
    fn output(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .unwrap_or_else(|| panic!("no output {name}: {self:#?}"))
    }
}

/// Runs `action/<script>` with bash, a clean environment (PATH first through `path`), and
/// GITHUB_OUTPUT in `dir`; `env` adds the rest.
fn step(script: &str, args: &[&str], dir: &Path, path: &[&Path], env: &[(&str, &str)]) -> Step {
    let outputs = dir.join("github-output");
    std::fs::write(&outputs, "").unwrap();
    let mut dirs: Vec<PathBuf> = path.iter().map(|p| p.to_path_buf()).collect();
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let output = Command::new("bash")
        .arg(Path::new(ROOT).join("action").join(script))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::join_paths(dirs).unwrap())
        .env("HOME", dir)
        .env("GITHUB_OUTPUT", &outputs)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let mut parsed = BTreeMap::new();
    for line in std::fs::read_to_string(&outputs).unwrap().lines() {
        let (name, value) = line.split_once('=').expect("NAME=VALUE");
        // The last value wins, as on GitHub.
        parsed.insert(name.to_owned(), value.to_owned());
    }
    Step {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        outputs: parsed,
    }
}

// ---------------------------------------------------------------------------------------------
// install.sh against a fake release.
// ---------------------------------------------------------------------------------------------

/// The runner platforms GitHub names, the release's target for each, and its archive's kind.
const PLATFORMS: &[(&str, &str, &str, &str)] = &[
    ("Linux", "X64", "x86_64-unknown-linux-musl", "tar.gz"),
    ("Linux", "ARM64", "aarch64-unknown-linux-musl", "tar.gz"),
    ("macOS", "X64", "x86_64-apple-darwin", "tar.gz"),
    ("macOS", "ARM64", "aarch64-apple-darwin", "tar.gz"),
    ("Windows", "X64", "x86_64-pc-windows-msvc", "zip"),
];

fn archive_name(target: &str, kind: &str) -> String {
    format!("vntana-webhooks-{VERSION}-{target}.{kind}")
}

/// A release as the release workflow lays it out: one archive per target, each holding
/// `vntana-webhooks-<version>-<target>/vntana-webhooks[.exe]` (here a script printing its
/// version and its target), and SHA256SUMS.
fn fake_release(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut sums = String::new();
    for &(_, _, target, kind) in PLATFORMS {
        let folder = format!("vntana-webhooks-{VERSION}-{target}");
        let staging = dir.join(format!("staging-{target}"));
        std::fs::create_dir_all(staging.join(&folder)).unwrap();
        let exe = if kind == "zip" {
            "vntana-webhooks.exe"
        } else {
            "vntana-webhooks"
        };
        let binary = staging.join(&folder).join(exe);
        std::fs::write(
            &binary,
            format!(
                "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'vntana-webhooks {VERSION}'; else echo 'built for {target}'; fi\n"
            ),
        )
        .unwrap();
        make_executable(&binary);
        let archive = dir.join(archive_name(target, kind));
        let status = if kind == "zip" {
            Command::new("zip")
                .args(["-qr"])
                .arg(&archive)
                .arg(&folder)
                .current_dir(&staging)
                .status()
        } else {
            Command::new("tar")
                .arg("-czf")
                .arg(&archive)
                .arg("-C")
                .arg(&staging)
                .arg(&folder)
                .status()
        }
        .expect("tar and zip");
        assert!(status.success());
        let bytes = std::fs::read(&archive).unwrap();
        sums.push_str(&format!(
            "{}  {}\n",
            hex::encode(Sha256::digest(&bytes)),
            archive_name(target, kind)
        ));
        files.insert(archive_name(target, kind), bytes);
    }
    files.insert("SHA256SUMS".to_owned(), sums.into_bytes());
    files
}

fn make_executable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Serves `files` under `/download/v1.2.3/`, 404 for anything else.
fn release_server(files: BTreeMap<String, Vec<u8>>) -> Stub {
    Stub::start(move |request: &Request| {
        let name = request
            .path()
            .strip_prefix(&format!("/download/v{VERSION}/"))
            .unwrap_or("");
        match files.get(name) {
            Some(bytes) if request.method == "GET" => Response::new(200, bytes.clone()),
            _ => Response::new(404, "Not Found"),
        }
    })
}

struct Install {
    dir: tempfile::TempDir,
    server: Stub,
}

impl Install {
    fn new(files: BTreeMap<String, Vec<u8>>) -> Install {
        Install {
            dir: tempfile::tempdir().unwrap(),
            server: release_server(files),
        }
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("tool-cache")
    }

    /// `install.sh MODE` for a runner platform.
    fn run(&self, mode: &str, os: &str, arch: &str) -> Step {
        let github_path = self.dir.path().join("github-path");
        let base = format!("{}/download/v{VERSION}/", self.server.url);
        let cache = self.cache();
        step(
            "install.sh",
            &[mode],
            self.dir.path(),
            &[],
            &[
                ("RUNNER_OS", os),
                ("RUNNER_ARCH", arch),
                ("VNTANA_WEBHOOKS_VERSION", VERSION),
                ("VNTANA_WEBHOOKS_CACHE", cache.to_str().unwrap()),
                ("VNTANA_WEBHOOKS_RELEASE_BASE", &base),
                ("GITHUB_PATH", github_path.to_str().unwrap()),
            ],
        )
    }

    fn github_path(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("github-path")).unwrap_or_default()
    }
}

#[test]
fn the_installer_picks_the_archive_of_each_runner_platform() {
    let scratch = tempfile::tempdir().unwrap();
    let files = fake_release(scratch.path());
    for &(os, arch, target, kind) in PLATFORMS {
        let install = Install::new(files.clone());
        let resolved = install.run("resolve", os, arch);
        assert_eq!(resolved.code, 0, "{resolved:#?}");
        assert_eq!(resolved.output("version"), VERSION);
        assert_eq!(resolved.output("target"), target);
        let dir = install.cache().join(VERSION).join(target);
        assert_eq!(resolved.output("dir"), dir.to_str().unwrap());
        assert!(
            install.server.requests().is_empty(),
            "resolve downloads nothing"
        );

        let installed = install.run("install", os, arch);
        assert_eq!(installed.code, 0, "{os}/{arch}: {installed:#?}");
        assert_eq!(
            install.server.lines(),
            [
                format!("GET /download/v{VERSION}/SHA256SUMS"),
                format!("GET /download/v{VERSION}/{}", archive_name(target, kind)),
            ],
            "{os}/{arch}"
        );
        assert!(
            installed.stdout.contains("checksum verified"),
            "{installed:#?}"
        );
        assert_eq!(installed.output("bin-dir"), dir.to_str().unwrap());
        assert_eq!(install.github_path(), format!("{}\n", dir.display()));
        let exe = if os == "Windows" {
            "vntana-webhooks.exe"
        } else {
            "vntana-webhooks"
        };
        let printed = Command::new(dir.join(exe)).output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&printed.stdout),
            format!("built for {target}\n"),
            "{os}/{arch} installed another platform's binary"
        );
    }
}

#[test]
fn the_installer_refuses_a_platform_without_a_release() {
    let install = Install::new(BTreeMap::new());
    for (os, arch) in [("Linux", "ARM"), ("Windows", "ARM64"), ("FreeBSD", "X64")] {
        let run = install.run("install", os, arch);
        assert_eq!(run.code, 1, "{run:#?}");
        assert!(
            run.stderr.contains(&format!(
                "::error::vntana-webhooks install: no vntana-webhooks release for {os} on {arch}"
            )),
            "{run:#?}"
        );
    }
    assert!(install.server.requests().is_empty());
}

#[test]
fn a_tampered_archive_is_refused_with_a_clear_message_and_nothing_is_installed() {
    let scratch = tempfile::tempdir().unwrap();
    let genuine = fake_release(scratch.path());
    let archive = archive_name("x86_64-unknown-linux-musl", "tar.gz");

    // The same archive with one byte changed, under the genuine SHA256SUMS.
    let mut tampered = genuine.clone();
    tampered.get_mut(&archive).unwrap()[100] ^= 0xff;
    let install = Install::new(tampered.clone());
    let run = install.run("install", "Linux", "X64");
    assert_eq!(run.code, 1, "{run:#?}");
    let expected = hex::encode(Sha256::digest(&genuine[&archive]));
    let actual = hex::encode(Sha256::digest(&tampered[&archive]));
    assert!(
        run.stderr.contains(&format!(
            "::error::vntana-webhooks install: checksum mismatch for {archive}: SHA256SUMS says {expected}, the download is {actual}; refusing to install it"
        )),
        "{run:#?}"
    );
    assert!(
        !install.cache().join(VERSION).exists(),
        "something was installed"
    );
    assert_eq!(install.github_path(), "");

    // An archive that SHA256SUMS does not list is refused too.
    let mut unlisted = genuine.clone();
    let sums = String::from_utf8(genuine["SHA256SUMS"].clone()).unwrap();
    let kept: String = sums
        .split_inclusive('\n')
        .filter(|l| !l.trim_end().ends_with(&archive))
        .collect();
    unlisted.insert("SHA256SUMS".to_owned(), kept.into_bytes());
    let install = Install::new(unlisted);
    let run = install.run("install", "Linux", "X64");
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr.contains(&format!(
            "SHA256SUMS of {VERSION} has no line for {archive}: refusing to install it"
        )),
        "{run:#?}"
    );
    assert!(!install.cache().join(VERSION).exists());

    // A release without the file at all.
    let mut missing = genuine;
    missing.remove(&archive);
    let install = Install::new(missing);
    let run = install.run("install", "Linux", "X64");
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("could not download"), "{run:#?}");
}

#[test]
fn a_cached_version_is_not_fetched_again_unless_its_binary_changed() {
    let scratch = tempfile::tempdir().unwrap();
    let install = Install::new(fake_release(scratch.path()));
    let first = install.run("install", "Linux", "X64");
    assert_eq!(first.code, 0, "{first:#?}");
    assert_eq!(install.server.requests().len(), 2);

    let second = install.run("install", "Linux", "X64");
    assert_eq!(second.code, 0, "{second:#?}");
    assert_eq!(
        install.server.requests().len(),
        2,
        "the cached copy was fetched again"
    );
    assert!(
        second.stdout.contains("the verified copy in"),
        "{second:#?}"
    );
    assert_eq!(second.output("bin-dir"), first.output("bin-dir"));

    // Another version or platform is a download of its own.
    let other = install.run("install", "Linux", "ARM64");
    assert_eq!(other.code, 0, "{other:#?}");
    assert_eq!(install.server.requests().len(), 4);

    // A cached binary that no longer matches what was verified is replaced, not run.
    let binary = Path::new(first.output("bin-dir")).join("vntana-webhooks");
    std::fs::write(
        &binary,
        "#!/bin/sh\necho 'vntana-webhooks 1.2.3'\necho tampered\n",
    )
    .unwrap();
    let healed = install.run("install", "Linux", "X64");
    assert_eq!(healed.code, 0, "{healed:#?}");
    assert_eq!(
        install.server.requests().len(),
        6,
        "the altered copy was trusted"
    );
    assert!(
        !std::fs::read_to_string(&binary)
            .unwrap()
            .contains("tampered")
    );
}

#[test]
fn the_version_is_the_input_else_the_action_s_tag_else_its_cargo_toml() {
    let dir = tempfile::tempdir().unwrap();
    let action_at_commit = dir.path().join("checkout");
    std::fs::create_dir(&action_at_commit).unwrap();
    std::fs::write(
        action_at_commit.join("Cargo.toml"),
        "[package]\nname = \"vntana-webhooks\"\nversion = \"3.1.4\"\n\n[dependencies]\nfoo = { version = \"9.9.9\" }\n",
    )
    .unwrap();
    let tagged = dir
        .path()
        .join("_actions")
        .join("acme")
        .join("vntana-webhooks")
        .join("v4.0.0");
    std::fs::create_dir_all(&tagged).unwrap();
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let resolve = |env: &[(&str, &str)]| {
        let mut all = vec![("RUNNER_OS", "Linux"), ("RUNNER_ARCH", "X64")];
        all.extend_from_slice(env);
        step("install.sh", &["resolve"], dir.path(), &[], &all)
    };

    let run = resolve(&[
        ("VNTANA_WEBHOOKS_VERSION", "v0.9.0"),
        ("VNTANA_WEBHOOKS_ACTION_REF", "v2.0.1"),
        ("GITHUB_REPOSITORY", "acme/config"),
    ]);
    assert_eq!(run.output("version"), "0.9.0", "{run:#?}");
    assert_eq!(run.output("repository"), "acme/config");

    let run = resolve(&[
        ("VNTANA_WEBHOOKS_ACTION_REF", "v2.0.1"),
        ("VNTANA_WEBHOOKS_REPOSITORY", "acme/vntana-webhooks"),
    ]);
    assert_eq!(run.output("version"), "2.0.1", "{run:#?}");
    assert_eq!(run.output("repository"), "acme/vntana-webhooks");

    // Pinned by commit: the action's ref is a SHA, so the version is that commit's.
    let run = resolve(&[
        ("VNTANA_WEBHOOKS_ACTION_REF", sha),
        ("GITHUB_ACTION_PATH", action_at_commit.to_str().unwrap()),
        ("VNTANA_WEBHOOKS_REPOSITORY", "acme/vntana-webhooks"),
    ]);
    assert_eq!(run.output("version"), "3.1.4", "{run:#?}");

    // Where github.action_ref and github.action_repository are empty (they can be, inside a
    // composite action), the action's path names both.
    let run = resolve(&[("GITHUB_ACTION_PATH", tagged.to_str().unwrap())]);
    assert_eq!(run.output("version"), "4.0.0", "{run:#?}");
    assert_eq!(run.output("repository"), "acme/vntana-webhooks");

    // Without the action's path, the working directory's Cargo.toml (the user's own project,
    // perhaps) is never read.
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nversion = \"7.7.7\"\n",
    )
    .unwrap();
    let run = resolve(&[]);
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(run.stderr.contains("no version"), "{run:#?}");

    let run = resolve(&[("VNTANA_WEBHOOKS_VERSION", "latest")]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("`latest` is not a version"), "{run:#?}");
}

#[test]
fn the_download_is_https_only_but_for_a_loopback_test_server() {
    let install = Install::new(BTreeMap::new());
    let run = step(
        "install.sh",
        &["install"],
        install.dir.path(),
        &[],
        &[
            ("RUNNER_OS", "Linux"),
            ("RUNNER_ARCH", "X64"),
            ("VNTANA_WEBHOOKS_VERSION", VERSION),
            ("VNTANA_WEBHOOKS_CACHE", install.cache().to_str().unwrap()),
            // Not loopback: plain http is refused before any connection.
            (
                "VNTANA_WEBHOOKS_RELEASE_BASE",
                "http://example.invalid/download",
            ),
        ],
    );
    assert_eq!(run.code, 1, "{run:#?}");
    assert!(
        run.stderr
            .contains("could not download http://example.invalid/download/SHA256SUMS"),
        "{run:#?}"
    );
    assert!(run.stderr.to_lowercase().contains("protocol"), "{run:#?}");
}

// ---------------------------------------------------------------------------------------------
// run.sh with a fake vntana-webhooks: the command lines, the outputs, the summary.
// ---------------------------------------------------------------------------------------------

/// What `action/run.sh` runs for a command, its `files` and `args` inputs: each command line
/// and where its stdout goes; `work` is the step's folder. The recipes' test (ci_examples.rs)
/// runs these against the emulator; the test below checks them against the script.
pub(crate) fn commands_of_the_action(
    command: &str,
    files: &str,
    args: &str,
    work: &str,
) -> Vec<(Vec<String>, Option<String>)> {
    let at = |file: &str| {
        if work.is_empty() {
            file.to_owned()
        } else {
            format!("{work}/{file}")
        }
    };
    let words = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let files: Vec<String> = words(files)
        .into_iter()
        .flat_map(|f| ["-f".to_owned(), f])
        .collect();
    let strings = |s: &[&str]| s.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
    let validate = [
        strings(&["validate", "--offline"]),
        files.clone(),
        strings(&["--format", "github"]),
    ]
    .concat();
    match command {
        "validate" => vec![([validate, words(args)].concat(), None)],
        "plan" => vec![
            (validate, None),
            (
                [
                    strings(&["plan"]),
                    files,
                    strings(&["--format", "markdown", "--detailed-exitcode", "--out"]),
                    vec![at("plan.json")],
                    words(args),
                ]
                .concat(),
                Some(at("plan.md")),
            ),
        ],
        "apply" => vec![(
            [
                strings(&["apply"]),
                files,
                strings(&["--auto-approve"]),
                words(args),
            ]
            .concat(),
            None,
        )],
        other => panic!("the action has no command {other}"),
    }
}

/// A fake `vntana-webhooks` that appends its arguments (one invocation a line, separated by
/// U+001F) to $FAKE_LOG, prints a markdown plan for `plan` (and writes `--out`'s file unless it
/// exits 1), and exits $FAKE_<COMMAND>_EXIT.
const FAKE: &str = r#"#!/usr/bin/env bash
(IFS=$'\x1f'; printf '%s\n' "$*") >> "$FAKE_LOG"
case "$1" in
  --version) echo "vntana-webhooks 1.2.3" ;;
  validate) echo "::error file=webhooks/a.yaml,line=3::an example problem"; exit "${FAKE_VALIDATE_EXIT:-0}" ;;
  plan)
    out=""; previous=""
    for arg in "$@"; do [ "$previous" = --out ] && out="$arg"; previous="$arg"; done
    printf '### vntana-webhooks plan\n\n**Plan: 1 to create, 0 to update, 0 to rotate, 0 to delete; 0 unchanged.**\n'
    code="${FAKE_PLAN_EXIT:-2}"
    if [ "$code" != 1 ] && [ -n "$out" ]; then echo '{"formatVersion": 1}' > "$out"; fi
    exit "$code" ;;
  apply) echo "Apply complete: 1 created"; echo "applying..." >&2; exit "${FAKE_APPLY_EXIT:-0}" ;;
esac
"#;

struct Runner {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Runner {
    fn new() -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(bin.join("vntana-webhooks"), FAKE).unwrap();
        make_executable(&bin.join("vntana-webhooks"));
        std::fs::create_dir(dir.path().join("runner-temp")).unwrap();
        std::fs::write(
            dir.path().join("event.json"),
            json!({"pull_request": {"number": 7}}).to_string(),
        )
        .unwrap();
        Runner { dir, bin }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `run.sh` with these inputs (`INPUT_*`) and more environment.
    fn run(&self, inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Step {
        let _ = std::fs::remove_file(self.path("fake.log"));
        std::fs::write(self.path("summary.md"), "").unwrap();
        let log = self.path("fake.log");
        let summary = self.path("summary.md");
        let temp = self.path("runner-temp");
        let event = self.path("event.json");
        let mut all: Vec<(String, String)> = vec![
            ("FAKE_LOG".into(), log.to_str().unwrap().into()),
            (
                "GITHUB_STEP_SUMMARY".into(),
                summary.to_str().unwrap().into(),
            ),
            ("RUNNER_TEMP".into(), temp.to_str().unwrap().into()),
            ("GITHUB_EVENT_PATH".into(), event.to_str().unwrap().into()),
            ("GITHUB_EVENT_NAME".into(), "push".into()),
            ("GITHUB_REPOSITORY".into(), "acme/config".into()),
            ("GITHUB_SHA".into(), "89abcdef0123456789".into()),
            ("GITHUB_TOKEN".into(), "test-token".into()),
        ];
        for (name, value) in inputs {
            all.push((
                format!("INPUT_{}", name.to_ascii_uppercase()),
                (*value).into(),
            ));
        }
        for (name, value) in env {
            all.push(((*name).into(), (*value).into()));
        }
        let borrowed: Vec<(&str, &str)> =
            all.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        step("run.sh", &[], self.dir.path(), &[&self.bin], &borrowed)
    }

    /// The fake's invocations of the last run.
    fn invocations(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(self.path("fake.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.split('\u{1f}').map(str::to_owned).collect())
            .collect()
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.path("summary.md")).unwrap()
    }
}

#[test]
fn the_action_runs_the_command_lines_it_documents() {
    let runner = Runner::new();
    let files = "webhooks/ \n more/extra.yaml";
    let args = "--live live-snapshot.json  --target acme-3d";
    for command in ["validate", "plan", "apply"] {
        let run = runner.run(
            &[("command", command), ("files", files), ("args", args)],
            &[],
        );
        assert_eq!(run.code, 0, "{command}: {run:#?}");
        let work = Path::new(run.output("markdown-file"))
            .parent()
            .map(|p| p.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let expected: Vec<Vec<String>> = commands_of_the_action(command, files, args, &work)
            .into_iter()
            .map(|(args, _)| args)
            .collect();
        assert_eq!(runner.invocations(), expected, "{command}");
    }
    // Nothing in an input is ever expanded by a shell.
    let run = runner.run(
        &[
            ("command", "validate"),
            ("files", "webhooks/*"),
            ("args", "$(touch pwned) `touch pwned2` ;rm -rf /"),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        runner.invocations()[0],
        [
            "validate",
            "--offline",
            "-f",
            "webhooks/*",
            "--format",
            "github",
            "$(touch",
            "pwned)",
            "`touch",
            "pwned2`",
            ";rm",
            "-rf",
            "/"
        ]
    );
    assert!(!runner.path("pwned").exists() && !runner.path("pwned2").exists());
}

#[test]
fn plan_sets_the_outputs_and_the_summary_and_fails_only_on_errors_and_refusals() {
    let runner = Runner::new();
    let plan = |exit: &str, validate: &str| {
        runner.run(
            &[("command", "plan"), ("files", "webhooks/")],
            &[("FAKE_PLAN_EXIT", exit), ("FAKE_VALIDATE_EXIT", validate)],
        )
    };

    let changes = plan("2", "0");
    assert_eq!(changes.code, 0, "{changes:#?}");
    assert_eq!(changes.output("exit-code"), "2");
    assert_eq!(changes.output("has-changes"), "true");
    let plan_file = changes.output("plan-file");
    assert!(plan_file.ends_with("/plan.json") && Path::new(plan_file).exists());
    let markdown = std::fs::read_to_string(changes.output("markdown-file")).unwrap();
    assert!(markdown.starts_with("### vntana-webhooks plan"));
    assert_eq!(runner.summary(), markdown, "the job summary is the plan");
    // validate's annotations reach the log (GitHub reads them from there).
    assert!(
        changes
            .stdout
            .contains("::error file=webhooks/a.yaml,line=3::")
    );

    let none = plan("0", "0");
    assert_eq!(none.code, 0);
    assert_eq!(none.output("exit-code"), "0");
    assert_eq!(none.output("has-changes"), "false");

    for (exit, validate, code) in [("3", "0", 3), ("1", "1", 1), ("2", "1", 1)] {
        let failed = plan(exit, validate);
        assert_eq!(
            failed.code, code,
            "plan {exit}, validate {validate}: {failed:#?}"
        );
        assert_eq!(failed.output("exit-code"), code.to_string());
        assert_eq!(failed.output("has-changes"), "false");
        assert!(
            runner.summary().starts_with("### vntana-webhooks plan"),
            "the plan is summarised even when it fails"
        );
    }
    let refused = plan("1", "0");
    assert_eq!(
        refused.output("plan-file"),
        "",
        "no saved plan after an error"
    );

    let applied = runner.run(&[("command", "apply"), ("files", "webhooks/")], &[]);
    assert_eq!(applied.code, 0, "{applied:#?}");
    assert!(runner.summary().contains("Apply complete: 1 created"));
    let failed = runner.run(
        &[("command", "apply"), ("files", "webhooks/")],
        &[("FAKE_APPLY_EXIT", "1")],
    );
    assert_eq!(failed.code, 1);
    assert_eq!(failed.output("exit-code"), "1");

    let wrong = runner.run(&[("command", "destroy"), ("files", "webhooks/")], &[]);
    assert_eq!(wrong.code, 1);
    assert!(
        wrong
            .stderr
            .contains("command must be validate, plan or apply")
    );
    assert!(runner.invocations().is_empty());
}

// ---------------------------------------------------------------------------------------------
// The pull-request comment, against a stand-in for the GitHub API.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Comment {
    id: u64,
    body: String,
    login: String,
    bot: bool,
}

/// Whose token the scripts hold.
#[derive(Clone, Copy)]
enum Token {
    /// The default GITHUB_TOKEN: an app's, which may not read /user and comments as a bot.
    Default,
    /// A fork's default token: the same, read-only.
    ReadOnly,
    /// A person's token.
    Personal(&'static str),
}

/// The issue comments of pull request 7 of acme/config, answering as GitHub's REST API does
/// (pages of `per_page`, /user only for a person's token); writes answer 403 for a read-only
/// token.
fn github_api(comments: Arc<Mutex<Vec<Comment>>>, token: Token) -> Stub {
    let read_only = matches!(token, Token::ReadOnly);
    let (author, bot) = match token {
        Token::Personal(login) => (login, false),
        Token::Default | Token::ReadOnly => ("github-actions[bot]", true),
    };
    Stub::start(move |request: &Request| {
        if request.header("authorization") != Some("Bearer test-token") {
            return Response::json(401, &json!({"message": "Bad credentials"}));
        }
        let mut comments = comments.lock().unwrap();
        let render = |c: &Comment| {
            json!({
                "id": c.id,
                "body": c.body,
                "html_url": format!("https://github.example/acme/config/pull/7#issuecomment-{}", c.id),
                "user": {"login": c.login, "type": if c.bot { "Bot" } else { "User" }},
            })
        };
        let body = || -> String {
            let value: Value = serde_json::from_slice(&request.body).expect("a JSON body");
            value["body"].as_str().expect("body").to_owned()
        };
        match (request.method.as_str(), request.path()) {
            ("GET", "/user") => match token {
                Token::Personal(login) => Response::json(200, &json!({"login": login})),
                Token::Default | Token::ReadOnly => Response::json(
                    403,
                    &json!({"message": "Resource not accessible by integration"}),
                ),
            },
            ("GET", "/repos/acme/config/issues/7/comments") => {
                let per_page: usize = request.query("per_page").unwrap_or("30").parse().unwrap();
                let page: usize = request.query("page").unwrap_or("1").parse().unwrap();
                let list: Vec<Value> = comments
                    .iter()
                    .skip((page - 1) * per_page)
                    .take(per_page)
                    .map(render)
                    .collect();
                Response::json(200, &Value::Array(list))
            }
            (_, _) if read_only => Response::json(
                403,
                &json!({"message": "Resource not accessible by integration"}),
            ),
            ("POST", "/repos/acme/config/issues/7/comments") => {
                let comment = Comment {
                    id: 1000 + comments.len() as u64,
                    body: body(),
                    login: author.into(),
                    bot,
                };
                let answer = render(&comment);
                comments.push(comment);
                Response::json(201, &answer)
            }
            ("PATCH", path) => {
                let id: u64 = path
                    .strip_prefix("/repos/acme/config/issues/comments/")
                    .and_then(|id| id.parse().ok())
                    .unwrap_or(0);
                match comments.iter_mut().find(|c| c.id == id) {
                    Some(comment) => {
                        comment.body = body();
                        let answer = render(comment);
                        Response::json(200, &answer)
                    }
                    None => Response::json(404, &json!({"message": "Not Found"})),
                }
            }
            _ => Response::json(404, &json!({"message": "Not Found"})),
        }
    })
}

fn comment(id: u64, body: &str, login: &str, bot: bool) -> Comment {
    Comment {
        id,
        body: body.to_owned(),
        login: login.to_owned(),
        bot,
    }
}

const MARKER: &str = "<!-- vntana-webhooks: webhooks/ -->";

#[test]
fn the_plan_comment_is_posted_once_then_edited_in_place() {
    let others = vec![
        comment(1, "Looks good to me", "alice", false),
        // A person quoting the marker, and another config's comment: never edited.
        comment(
            2,
            &format!("{MARKER}\nI pasted the plan here"),
            "mallory",
            false,
        ),
        comment(
            3,
            "<!-- vntana-webhooks: other/ -->\nanother config",
            "github-actions[bot]",
            true,
        ),
        comment(4, "a bot without the marker", "github-actions[bot]", true),
    ];
    let comments = Arc::new(Mutex::new(others.clone()));
    let api = github_api(Arc::clone(&comments), Token::Default);
    let runner = Runner::new();
    let pr_env = [
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_API_URL", api.url.as_str()),
    ];
    let plan = || runner.run(&[("command", "plan"), ("files", "webhooks/")], &pr_env);

    let first = plan();
    assert_eq!(first.code, 0, "{first:#?}");
    assert_eq!(
        api.lines(),
        [
            "GET /user",
            "GET /repos/acme/config/issues/7/comments?per_page=100&page=1",
            "POST /repos/acme/config/issues/7/comments",
        ]
    );
    assert!(
        first.stdout.contains("posted the plan comment"),
        "{first:#?}"
    );
    let posted = comments.lock().unwrap()[4].clone();
    assert!(
        posted.body.starts_with(&format!("{MARKER}\n")),
        "{posted:?}"
    );
    assert!(posted.body.contains("**Plan: 1 to create"), "{posted:?}");
    assert!(posted.body.contains("at commit 89abcde"), "{posted:?}");

    let second = runner.run(
        &[("command", "plan"), ("files", "webhooks/")],
        &[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_API_URL", api.url.as_str()),
            ("FAKE_PLAN_EXIT", "3"),
        ],
    );
    assert_eq!(second.code, 3, "{second:#?}");
    assert_eq!(
        api.lines()[3..],
        [
            "GET /user".to_owned(),
            "GET /repos/acme/config/issues/7/comments?per_page=100&page=1".to_owned(),
            format!("PATCH /repos/acme/config/issues/comments/{}", posted.id),
        ]
    );
    assert!(
        second.stdout.contains("updated the plan comment"),
        "{second:#?}"
    );
    let now = comments.lock().unwrap().clone();
    assert_eq!(now.len(), 5, "one comment, edited in place: {now:#?}");
    assert!(
        now[4].body.contains("Refused by a safety guard"),
        "{:?}",
        now[4]
    );
    for (before, after) in others.iter().zip(&now) {
        assert_eq!(before.body, after.body, "comment {} was edited", before.id);
    }

    // The token travels in a header, never elsewhere.
    for request in api.requests() {
        assert_eq!(request.header("authorization"), Some("Bearer test-token"));
        assert!(!request.target.contains("test-token"));
    }
}

#[test]
fn the_plan_comment_is_found_on_a_later_page() {
    let mut existing: Vec<Comment> = (1..=100)
        .map(|id| comment(id, "chatter", "bob", false))
        .collect();
    existing.push(comment(
        101,
        &format!("{MARKER}\nold plan"),
        "github-actions[bot]",
        true,
    ));
    let comments = Arc::new(Mutex::new(existing));
    let api = github_api(Arc::clone(&comments), Token::Default);
    let runner = Runner::new();
    let run = runner.run(
        &[
            ("command", "plan"),
            ("files", "webhooks/"),
            ("comment", "true"),
        ],
        &[("GITHUB_API_URL", api.url.as_str())],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        api.lines(),
        [
            "GET /user",
            "GET /repos/acme/config/issues/7/comments?per_page=100&page=1",
            "GET /repos/acme/config/issues/7/comments?per_page=100&page=2",
            "PATCH /repos/acme/config/issues/comments/101",
        ]
    );
    assert_eq!(comments.lock().unwrap().len(), 101);
}

#[test]
fn with_a_personal_token_only_that_person_s_comment_is_edited() {
    let comments = Arc::new(Mutex::new(vec![
        comment(
            1,
            &format!("{MARKER}\nfrom the default token"),
            "github-actions[bot]",
            true,
        ),
        comment(2, &format!("{MARKER}\nquoted"), "mallory", false),
        comment(3, &format!("{MARKER}\nold plan"), "carol", false),
    ]));
    let api = github_api(Arc::clone(&comments), Token::Personal("carol"));
    let runner = Runner::new();
    let run = runner.run(
        &[("command", "plan"), ("files", "webhooks/")],
        &[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_API_URL", api.url.as_str()),
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(
        api.lines().last().unwrap(),
        "PATCH /repos/acme/config/issues/comments/3"
    );
    let now = comments.lock().unwrap().clone();
    assert_eq!(now.len(), 3);
    assert!(now[0].body.ends_with("from the default token"));
    assert!(now[1].body.ends_with("quoted"));
    assert!(now[2].body.contains("**Plan: 1 to create"));
}

#[test]
fn no_comment_off_pull_requests_and_a_read_only_token_only_warns() {
    let comments = Arc::new(Mutex::new(Vec::new()));
    let api = github_api(Arc::clone(&comments), Token::ReadOnly);
    let runner = Runner::new();

    // `auto` on a push, and `false` on a pull request: no request at all.
    for (event, comment) in [("push", "auto"), ("pull_request", "false")] {
        let run = runner.run(
            &[
                ("command", "plan"),
                ("files", "webhooks/"),
                ("comment", comment),
            ],
            &[
                ("GITHUB_EVENT_NAME", event),
                ("GITHUB_API_URL", api.url.as_str()),
            ],
        );
        assert_eq!(run.code, 0, "{run:#?}");
    }
    assert!(api.requests().is_empty(), "{:?}", api.lines());

    // A fork's pull request: the token cannot write; the plan is still in the summary.
    let run = runner.run(
        &[("command", "plan"), ("files", "webhooks/")],
        &[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_API_URL", api.url.as_str()),
        ],
    );
    assert_eq!(run.code, 0, "{run:#?}");
    assert!(
        run.stdout
            .contains("::warning::vntana-webhooks: the plan comment could not be written"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("answered 403"), "{run:#?}");
    assert!(runner.summary().starts_with("### vntana-webhooks plan"));
    assert!(comments.lock().unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// action.yml itself.
// ---------------------------------------------------------------------------------------------

#[test]
fn action_yml_declares_the_inputs_and_outputs_and_passes_inputs_only_through_env() {
    let action: Value = serde_saphyr::from_str(ACTION).unwrap();
    let keys = |v: &Value| -> Vec<String> {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(
        keys(&action["inputs"]),
        [
            "args",
            "command",
            "comment",
            "files",
            "github-token",
            "version"
        ]
    );
    assert_eq!(
        keys(&action["outputs"]),
        ["exit-code", "has-changes", "markdown-file", "plan-file"]
    );
    assert_eq!(action["inputs"]["files"]["default"], "webhooks/");
    assert_eq!(action["inputs"]["comment"]["default"], "auto");
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().unwrap();
    for step in steps {
        if let Some(run) = step["run"].as_str() {
            assert!(!run.contains("${{"), "an expression inside a script: {run}");
            assert!(
                run.starts_with("bash \"$GITHUB_ACTION_PATH/action/"),
                "{run}"
            );
            assert_eq!(step["shell"], "bash");
        }
        if let Some(uses) = step["uses"].as_str() {
            let (_, pin) = uses.split_once('@').unwrap();
            assert!(
                pin.len() == 40 && pin.chars().all(|c| c.is_ascii_hexdigit()),
                "{uses} is not pinned to a commit"
            );
        }
    }
    // The cache is keyed by what was installed.
    let cache = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/cache@"))
        })
        .unwrap();
    let key = cache["with"]["key"].as_str().unwrap();
    for part in ["steps.resolve.outputs.version", "runner.os", "runner.arch"] {
        assert!(key.contains(part), "{key}");
    }
    assert_eq!(cache["with"]["path"], "${{ steps.resolve.outputs.dir }}");
}
