//! `verify` and `listen` through the real binary: the spec's known-answer vector from a
//! literal body and from stdin, exit codes, the secret only from the environment; `listen`
//! answering 200 or 401, naming the webhook whose (previous) secret verified a delivery,
//! re-reading its secrets file, keeping the last good one, and exiting 0 on SIGTERM. The
//! `Listen` handle here is also what `deliveries.rs` points webhooks at.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use vntana_webhooks::signature::sign;

use crate::support::cli::{Run, command};

// The known-answer vector of vntana-api.md ("Delivery").
const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const TIMESTAMP: &str = "2026-11-28T10:00:00.000Z";
const BODY: &str = r#"{"event":"product.added","organization":{"uuid":"7d1f0c2e-0000-4000-8000-000000000001"},"product":{"uuid":"3b6a1d9e-0000-4000-8000-000000000002","name":"Sneaker","status":"DRAFT"}}"#;
const SIGNATURE: &str = "fe314f727e3152251a93b4038f6808974fa5aca952ea071e58d4e365d67442e6";

/// A guard against a hung process or a line that never comes; never a measure of speed.
const LIVENESS: Duration = Duration::from_secs(30);

/// `verify` with the spec's timestamp and signature, the secret in `$WEBHOOK_SECRET` (unless
/// `secret` is `None`), `args` after the flags and `stdin` piped in.
fn verify(secret: Option<&str>, args: &[&str], stdin: &[u8]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut command = command(dir.path());
    command
        .args([
            "verify",
            "--secret-env",
            "WEBHOOK_SECRET",
            "--timestamp",
            TIMESTAMP,
            "--signature",
            SIGNATURE,
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(secret) = secret {
        command.env("WEBHOOK_SECRET", secret);
    }
    let mut child = command.spawn().expect("run verify");
    let mut input = child.stdin.take().unwrap();
    // verify may exit without reading stdin (a literal body): a broken pipe is fine.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().unwrap().into()
}

#[test]
fn the_spec_vector_verifies_from_a_literal_body() {
    let run = verify(Some(SECRET), &[BODY], b"");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "valid\n");
}

#[test]
fn the_spec_vector_verifies_from_stdin_with_a_dash_or_no_body() {
    for args in [&["-"][..], &[]] {
        let run = verify(Some(SECRET), args, BODY.as_bytes());
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "valid\n");
    }
}

#[test]
fn one_changed_byte_of_the_body_fails_with_exit_1() {
    let changed = BODY.replace("Sneaker", "Sneakes");
    let literal = verify(Some(SECRET), &[&changed], b"");
    assert_eq!(literal.code, 1);
    assert_eq!(literal.stdout, "");
    assert!(
        literal.stderr.starts_with("error: invalid signature"),
        "{}",
        literal.stderr
    );
    // Exact bytes: a trailing newline from stdin is part of the body.
    let newline = verify(Some(SECRET), &[], format!("{BODY}\n").as_bytes());
    assert_eq!(newline.code, 1, "{}", newline.stdout);
    let other_secret = verify(Some(&SECRET.replace('9', "8")), &[BODY], b"");
    assert_eq!(other_secret.code, 1);
}

#[test]
fn an_unset_secret_variable_is_an_error_naming_it() {
    let run = verify(None, &[BODY], b"");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("WEBHOOK_SECRET") && run.stderr.contains("not set"),
        "{}",
        run.stderr
    );
}

/// A running `vntana-webhooks listen`, its stdout lines read as they come.
pub struct Listen {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    lines: mpsc::Receiver<String>,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl Listen {
    /// Starts `listen --listen 127.0.0.1:0 --secrets FILE` in `dir` and reads its address.
    pub fn start(dir: &Path, secrets: &str) -> Listen {
        Listen::start_with(command(dir), secrets, &[])
    }

    /// `start` with `command` (e.g. `support::cli::command_with_open_files`) and `extra`
    /// arguments.
    pub fn start_with(mut command: Command, secrets: &str, extra: &[&str]) -> Listen {
        let mut child = command
            .args(["listen", "--listen", "127.0.0.1:0", "--secrets", secrets])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run listen");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (sender, lines) = mpsc::channel();
        let out = BufReader::new(child.stdout.take().unwrap());
        let all = stdout.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                all.lock().unwrap().push(line.clone());
                let _ = sender.send(line);
            }
        });
        let err = BufReader::new(child.stderr.take().unwrap());
        let all = stderr.clone();
        std::thread::spawn(move || {
            for line in err.lines().map_while(Result::ok) {
                let mut all = all.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        let mut listen = Listen {
            child: Some(child),
            url: String::new(),
            lines,
            stdout,
            stderr,
        };
        let first = listen.next_line();
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        url.clone_into(&mut listen.url);
        listen
    }

    /// The next line printed on stdout.
    pub fn next_line(&self) -> String {
        self.lines.recv_timeout(LIVENESS).unwrap_or_else(|_| {
            panic!(
                "listen printed no further line; stderr:\n{}",
                self.stderr.lock().unwrap()
            )
        })
    }

    /// Waits until stderr has `text` (it comes through its own pipe, so it may trail stdout).
    pub fn wait_for_stderr(&self, text: &str) {
        let deadline = std::time::Instant::now() + LIVENESS;
        while !self.stderr().contains(text) {
            assert!(
                std::time::Instant::now() < deadline,
                "no `{text}` on stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Stops it with SIGTERM and returns what it printed; the suite's secret scan sees it.
    pub fn stop(mut self) -> Run {
        let mut child = self.child.take().unwrap();
        let terminated = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(terminated.success());
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader threads end with the process's pipes.
        std::thread::sleep(Duration::from_millis(50));
        let mut stdout = self.stdout.lock().unwrap().join("\n");
        stdout.push('\n');
        let stderr = self.stderr();
        Output {
            status,
            stdout: stdout.into_bytes(),
            stderr: stderr.into_bytes(),
        }
        .into()
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// POSTs a delivery by hand: the status `listen` answered.
pub async fn post(url: &str, timestamp: &str, signature: &str, body: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{url}/hooks/vntana"))
        .header("content-type", "application/json")
        .header("X-TIMESTAMP", timestamp)
        .header("X-VNTANA-SIGNATURE", signature)
        .body(body.to_owned())
        .send()
        .await
        .expect("post to listen")
        .status()
        .as_u16()
}

fn write_secrets(path: &Path, text: &str) {
    // As `--secrets-out` writes it: a new file renamed over the old one.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn listen_names_the_verifying_secret_rejects_others_and_follows_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secrets.json");
    write_secrets(
        &file,
        &format!(r#"{{"acme/pim": {{"uuid": "u1", "secret": "{SECRET}"}}}}"#),
    );
    let listen = Listen::start(dir.path(), "secrets.json");

    assert_eq!(post(&listen.url, TIMESTAMP, SIGNATURE, BODY).await, 200);
    assert_eq!(
        listen.next_line().split_once(' ').unwrap().1,
        "product.added 7d1f0c2e-0000-4000-8000-000000000001 acme/pim"
    );
    let tampered = BODY.replace("DRAFT", "PUBLISHED");
    assert_eq!(
        post(&listen.url, TIMESTAMP, SIGNATURE, &tampered).await,
        401
    );
    assert!(listen.next_line().ends_with(" unverified"));

    // A rotation: the file now has a new secret and the replaced one.
    let rotated = "a-new-secret-after-rotation-0123456789abcdef";
    write_secrets(
        &file,
        &format!(
            r#"{{"acme/pim": {{"uuid": "u1", "secret": "{rotated}", "previousSecret": "{SECRET}"}}}}"#
        ),
    );
    assert_eq!(post(&listen.url, TIMESTAMP, SIGNATURE, BODY).await, 200);
    assert!(listen.next_line().ends_with(" previous secret of acme/pim"));
    let new_signature = sign(rotated, TIMESTAMP, BODY.as_bytes());
    assert_eq!(
        post(&listen.url, TIMESTAMP, &new_signature, BODY).await,
        200
    );
    assert!(listen.next_line().ends_with(" acme/pim"));

    // A broken file: reported, and the secrets read before stay in force.
    write_secrets(&file, &format!(r#"{{"acme/pim": "{rotated}"}}"#));
    assert_eq!(
        post(&listen.url, TIMESTAMP, &new_signature, BODY).await,
        200
    );
    assert!(listen.next_line().ends_with(" acme/pim"));
    listen.wait_for_stderr("the secrets read before stay in force");

    // Not a delivery: no line, no verdict.
    let get = reqwest::get(format!("{}/hooks", listen.url)).await.unwrap();
    assert_eq!(get.status().as_u16(), 405);

    let run = listen.stop();
    assert_eq!(run.code, 0, "SIGTERM exits 0: {}", run.stderr);
    let printed = format!("{}{}", run.stdout, run.stderr);
    for secret in [SECRET, rotated] {
        assert!(
            !printed.contains(secret),
            "a secret was printed:\n{printed}"
        );
    }
    assert_eq!(run.stdout.lines().count(), 6, "{}", run.stdout);
}

#[test]
fn listen_refuses_an_unreadable_secrets_file_at_start_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("secrets.json"),
        format!(r#"{{"acme/pim": "{SECRET}"}}"#),
    )
    .unwrap();
    let run = crate::support::cli::run_bounded(
        &[
            "listen",
            "--listen",
            "127.0.0.1:0",
            "--secrets",
            dir.path().join("secrets.json").to_str().unwrap(),
        ],
        LIVENESS,
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("is not a JSON object") && run.stderr.contains("line 1"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(SECRET), "{}", run.stderr);
}
