//! The two servers against clients that mean harm (issue 15, items 6 and 7), over loopback
//! with the real binary:
//! - neither `listen` nor the emulator can be held open: a thousand sockets that send half a
//!   request line are dropped after the head's deadline, a body that trickles in is cut off,
//!   and a real request sent meanwhile is answered (`listen` runs under a 512 file descriptor
//!   limit here, which half-sent requests exhausted before);
//! - `listen` answers deliveries while nobody reads its stdout, and says how many lines it
//!   could not print;
//! - the emulator is no web page's target: a `Host` that is not loopback (DNS rebinding) is
//!   refused on the control API and the API alike, and so is a control `POST` that is not JSON
//!   (CSRF), with the state unchanged.
//!
//! The servers' read deadline is shortened with their hidden `--read-timeout` flag, so these
//! tests wait a fraction of a second where a user's server waits 10 seconds.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vntana_webhooks::signature::sign;

use crate::support::cli::{command, command_with_open_files};
use crate::support::emulator::{DEMO_KEY, Emulator};
use crate::support::raw::{call, client_with_timeout};
use crate::verify_listen::Listen;

/// A guard against a server that never lets go, never a measure of speed.
const LIVENESS: Duration = Duration::from_mins(1);
/// The servers' read deadline in these tests.
const READ_TIMEOUT: &str = "300ms";

const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const TIMESTAMP: &str = "2026-11-28T10:00:00.000Z";
const ORGANIZATION: &str = "7d1f0c2e-0000-4000-8000-000000000001";

/// A secrets file holding `SECRET` for `acme/pim`, in a new directory.
fn secrets_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("secrets.json"),
        format!(r#"{{"acme/pim": {{"uuid": "u1", "secret": "{SECRET}"}}}}"#),
    )
    .unwrap();
    dir
}

/// A delivery body for `event`, and its signature with `SECRET`.
fn signed(event: &str) -> (String, String) {
    let body = format!(r#"{{"event":"{event}","organization":{{"uuid":"{ORGANIZATION}"}}}}"#);
    let signature = sign(SECRET, TIMESTAMP, body.as_bytes());
    (body, signature)
}

/// POSTs a signed delivery to `listen` with `client`: the status it answered.
async fn deliver(client: &reqwest::Client, url: &str, event: &str) -> u16 {
    let (body, signature) = signed(event);
    client
        .post(format!("{url}/hooks/vntana"))
        .header("content-type", "application/json")
        .header("X-TIMESTAMP", TIMESTAMP)
        .header("X-VNTANA-SIGNATURE", signature)
        .body(body)
        .send()
        .await
        .unwrap_or_else(|err| panic!("no answer to a delivery: {err}"))
        .status()
        .as_u16()
}

/// `wanted`, or fewer when this process may not open twice as many files (Linux's
/// `/proc/self/limits`): the suite's other tests open sockets in this process too.
fn within_open_files(wanted: usize) -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse::<usize>().ok())
        });
    soft.map_or(wanted, |soft| wanted.min(soft / 2))
}

/// Opens `count` connections to `authority` that each send half a request line and no more.
async fn slow_sockets(authority: &str, count: usize) -> Vec<TcpStream> {
    let mut sockets = Vec::with_capacity(count);
    for _ in 0..count {
        let mut socket = TcpStream::connect(authority).await.expect("connect");
        socket
            .write_all(b"POST /hooks/vnt")
            .await
            .expect("half a request line");
        sockets.push(socket);
    }
    sockets
}

/// Waits until the server has closed every socket (an end of stream or a reset).
async fn all_closed(sockets: Vec<TcpStream>) {
    let count = sockets.len();
    let mut reads = tokio::task::JoinSet::new();
    for mut socket in sockets {
        reads.spawn(async move {
            let mut answer = Vec::new();
            let _ = socket.read_to_end(&mut answer).await;
        });
    }
    let mut closed = 0;
    let waited = tokio::time::timeout(LIVENESS, async {
        while reads.join_next().await.is_some() {
            closed += 1;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "the server still holds {} of {count} slow sockets open",
        count - closed
    );
}

/// Sends a head announcing a 1000-byte body, then the body one byte every 100 ms, never
/// finishing; returns once the server closes the connection, with what it answered.
async fn trickle(authority: &str, path: &str) -> String {
    let mut socket = TcpStream::connect(authority).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    );
    socket.write_all(head.as_bytes()).await.expect("the head");
    let (mut read, mut write) = socket.into_split();
    let writer = tokio::spawn(async move {
        while write.write_all(b" ").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(LIVENESS, read.read_to_end(&mut answer)).await;
    writer.abort();
    assert!(
        closed.is_ok(),
        "{path}: the server still reads a body that trickles in"
    );
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_thousand_slow_sockets_are_dropped_by_listen_while_a_signed_delivery_gets_its_200() {
    let dir = secrets_dir();
    // Under 512 descriptors, half-sent requests used to exhaust them: no delivery got in.
    let listen = Listen::start_with(
        command_with_open_files(dir.path(), 512),
        "secrets.json",
        &["--read-timeout", READ_TIMEOUT],
    );
    let authority = listen.url.trim_start_matches("http://").to_owned();
    let count = within_open_files(1000);
    // More than `listen` serves at once, then the delivery, then the rest of the flood.
    let mut sockets = slow_sockets(&authority, 300.min(count)).await;
    let url = listen.url.clone();
    let delivery = tokio::spawn(async move {
        deliver(&client_with_timeout(LIVENESS), &url, "product.added").await
    });
    sockets.extend(slow_sockets(&authority, count.saturating_sub(300)).await);

    assert_eq!(delivery.await.unwrap(), 200);
    assert!(
        listen
            .next_line()
            .ends_with(" product.added 7d1f0c2e-0000-4000-8000-000000000001 acme/pim")
    );
    all_closed(sockets).await;

    let run = listen.stop();
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[tokio::test]
async fn slow_sockets_are_dropped_by_the_emulator_while_an_api_request_gets_its_answer() {
    let emulator = Emulator::start_with(&["--read-timeout", READ_TIMEOUT]);
    let authority = emulator.url.trim_start_matches("http://").to_owned();
    let count = within_open_files(600);
    // More than the emulator serves at once, then the request, then the rest of the flood.
    let mut sockets = slow_sockets(&authority, 520.min(count)).await;
    let url = emulator.url.clone();
    let login = tokio::spawn(async move {
        call(&url, "POST", "/v1/auth/login/token")
            .json(&json!({"personal-access-token": DEMO_KEY}))
            .try_send(&client_with_timeout(LIVENESS))
            .await
            .expect("an answer while slow sockets are open")
    });
    sockets.extend(slow_sockets(&authority, count.saturating_sub(520)).await);

    let login = login.await.unwrap();
    assert_eq!(login.status, 200, "{:?}", login.body);
    all_closed(sockets).await;
}

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off_by_both_servers() {
    let dir = secrets_dir();
    let listen = Listen::start_with(
        command(dir.path()),
        "secrets.json",
        &["--read-timeout", READ_TIMEOUT],
    );
    let answer = trickle(listen.url.trim_start_matches("http://"), "/hooks/vntana").await;
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");

    let emulator = Emulator::start_with(&["--read-timeout", READ_TIMEOUT]);
    let authority = emulator.url.trim_start_matches("http://");
    for path in ["/v1/auth/login/token", "/_emulator/faults"] {
        let answer = trickle(authority, path).await;
        assert!(!answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
    }
    // Both still answer.
    let client = client_with_timeout(LIVENESS);
    assert_eq!(deliver(&client, &listen.url, "product.added").await, 200);
    assert!(emulator.clock().await["nowMs"].is_u64());
}

/// A `listen` whose stdout is a pipe the test reads only when it chooses to.
struct Unread {
    child: Child,
    url: String,
    stdout: Option<BufReader<std::process::ChildStdout>>,
}

impl Unread {
    fn start(dir: &Path) -> Unread {
        let mut child = command(dir)
            .args([
                "listen",
                "--listen",
                "127.0.0.1:0",
                "--secrets",
                "secrets.json",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run listen");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).expect("the address line");
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_owned();
        Unread {
            child,
            url,
            stdout: Some(stdout),
        }
    }

    /// Sends `count` signed deliveries, 8 at a time, each with an event name as long as a
    /// line may show (so the pipe fills sooner); every one must be answered 200.
    async fn deliver(&self, count: usize) {
        let client = client_with_timeout(LIVENESS);
        let event = format!("product.{}", "x".repeat(92));
        let mut senders = tokio::task::JoinSet::new();
        for sender in 0..8 {
            let (client, url, event) = (client.clone(), self.url.clone(), event.clone());
            senders.spawn(async move {
                for _ in (sender..count).step_by(8) {
                    assert_eq!(deliver(&client, &url, &event).await, 200);
                }
            });
        }
        while let Some(done) = senders.join_next().await {
            done.expect("every delivery answered 200");
        }
    }

    /// Reads stdout, from now on, on a thread: its lines as they come.
    fn read_from_now_on(&mut self) -> mpsc::Receiver<String> {
        let stdout = self.stdout.take().expect("stdout not read yet");
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        received
    }

    /// SIGTERM; the exit code, once it has exited.
    fn terminate(&mut self) -> Option<i32> {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(sent.success());
        let deadline = std::time::Instant::now() + LIVENESS;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "listen did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Unread {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn listen_answers_every_delivery_while_nobody_reads_its_stdout_and_counts_what_it_dropped() {
    let dir = secrets_dir();
    let mut listen = Unread::start(dir.path());
    // A pipe holds 64 KiB (some 380 of these lines), the queue 256 more: 1500 overflow both.
    let sent = 1500;
    listen.deliver(sent).await;

    // Once read, the output catches up: the lines kept, then one saying how many were not.
    let lines = listen.read_from_now_on();
    let mut printed = 0;
    let dropped = loop {
        let line = lines
            .recv_timeout(LIVENESS)
            .expect("a line saying how many lines were dropped");
        if let Some(rest) = line.strip_prefix("# ") {
            let count: usize = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{line}"));
            assert!(
                line.ends_with(
                    "not printed: the output was not read fast enough (every delivery was answered)"
                ),
                "{line}"
            );
            break count;
        }
        assert!(line.ends_with(" acme/pim"), "{line}");
        printed += 1;
    };
    assert!(
        dropped > 0,
        "nothing was dropped: the test did not fill the pipe"
    );
    assert_eq!(printed + dropped, sent, "every delivery printed or counted");
    drop(lines);

    // Stuck again, it still stops on SIGTERM, with exit 0.
    let mut stuck = Unread::start(dir.path());
    stuck.deliver(sent).await;
    assert_eq!(stuck.terminate(), Some(0));
}

/// An answer, raw: the status, the headers and the JSON body (control answers have no
/// OpenAPI schema, so not through `support::raw`, which checks every 200 against one).
struct Raw {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Raw {
    #[track_caller]
    fn assert_refused(&self, status: u16, code: &str, request: &str) {
        assert_eq!(
            (self.status, &self.body),
            (
                status,
                &json!({"success": false, "errors": [code], "response": null})
            ),
            "{request}"
        );
    }
}

/// `method path` on the emulator at `base` with these headers and body.
async fn request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Raw {
    let mut request = reqwest::Client::new().request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{base}{path}"),
    );
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request
        .body(body.to_owned())
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.expect("a JSON answer");
    Raw {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn the_emulator_refuses_a_foreign_host_on_the_control_api_and_the_api_and_changes_nothing() {
    let emulator = Emulator::start();
    let base = emulator.url.as_str();
    let port = base.rsplit(':').next().unwrap();
    // A change, so a refused reset would show.
    call(base, "POST", "/v1/auth/login/token")
        .json(&json!({"personal-access-token": DEMO_KEY}))
        .send()
        .await
        .token();
    let before = emulator.state().await;
    emulator.clear_requests().await;

    let foreign = [
        "attacker.example".to_owned(),
        format!("attacker.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
        format!("localhost.attacker.example:{port}"),
        format!("192.168.1.5:{port}"),
    ];
    let faults = json!({"rules": [{"kind": "drop"}]}).to_string();
    let event = json!({"organization": "acme-3d", "event": "product.added"}).to_string();
    let login = json!({"personal-access-token": DEMO_KEY}).to_string();
    for host in &foreign {
        for (method, path, body) in [
            ("GET", "/_emulator/state", ""),
            ("GET", "/_emulator/requests", ""),
            ("POST", "/_emulator/reset", ""),
            ("POST", "/_emulator/faults", faults.as_str()),
            ("POST", "/_emulator/events", event.as_str()),
            ("POST", "/v1/auth/login/token", login.as_str()),
            ("GET", "/v1/organizations", ""),
        ] {
            let headers = [
                ("host", host.as_str()),
                ("content-type", "application/json"),
            ];
            let answer = request(base, method, path, &headers, body).await;
            let label = format!("{method} {path} from {host}");
            answer.assert_refused(403, "HOST_NOT_ALLOWED", &label);
            assert!(answer.headers.get("x-auth-token").is_none(), "{label}");
        }
    }
    assert_eq!(
        emulator.state().await,
        before,
        "a refused request changed the state"
    );
    assert_eq!(
        emulator.installed_faults().await,
        json!({"seed": 0, "rules": []})
    );
    assert_eq!(
        emulator.requests().await,
        Vec::<Value>::new(),
        "refused requests are not logged"
    );
}

#[tokio::test]
async fn the_emulator_answers_loopback_names_with_any_port_and_hosts_it_was_told_to_allow() {
    let emulator = Emulator::start_with(&["--allow-host", "emulator.internal"]);
    let base = emulator.url.as_str();
    for host in [
        "localhost",
        "localhost:1234",
        "127.0.0.1",
        "127.8.9.10:8787",
        "[::1]:8787",
        "emulator.internal",
        "EMULATOR.internal:8787",
    ] {
        let answer = request(base, "GET", "/_emulator/clock", &[("host", host)], "").await;
        assert_eq!(answer.status, 200, "{host}: {}", answer.body);
    }
    request(
        base,
        "GET",
        "/_emulator/clock",
        &[("host", "other.internal")],
        "",
    )
    .await
    .assert_refused(403, "HOST_NOT_ALLOWED", "other.internal");
}

#[tokio::test]
async fn control_posts_that_are_not_json_are_refused_and_change_nothing() {
    let emulator = Emulator::start();
    let base = emulator.url.as_str();
    call(base, "POST", "/v1/auth/login/token")
        .json(&json!({"personal-access-token": DEMO_KEY}))
        .send()
        .await
        .token();
    let before = emulator.state().await;

    let faults = json!({"rules": [{"kind": "drop"}]}).to_string();
    let event = json!({"organization": "acme-3d", "event": "product.added"}).to_string();
    let clock = json!({"advanceMs": 60_000}).to_string();
    for content_type in [
        Some("text/plain"),
        Some("text/plain; charset=utf-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        for (path, body) in [
            ("/_emulator/reset", ""),
            ("/_emulator/faults", faults.as_str()),
            ("/_emulator/events", event.as_str()),
            ("/_emulator/clock", clock.as_str()),
        ] {
            let headers: Vec<(&str, &str)> = content_type
                .map(|c| ("content-type", c))
                .into_iter()
                .collect();
            request(base, "POST", path, &headers, body)
                .await
                .assert_refused(
                    415,
                    "UNSUPPORTED_MEDIA_TYPE",
                    &format!("POST {path} as {content_type:?}"),
                );
        }
    }
    assert_eq!(
        emulator.state().await,
        before,
        "a refused POST changed the state"
    );
    assert_eq!(
        emulator.installed_faults().await,
        json!({"seed": 0, "rules": []})
    );
    let (status, deliveries) = emulator
        .control_answer(reqwest::Method::GET, "/_emulator/deliveries", None)
        .await;
    assert_eq!((status, deliveries), (200, json!([])));

    // The same POST as JSON is taken.
    let headers = [("content-type", "application/json; charset=utf-8")];
    let reset = request(base, "POST", "/_emulator/reset", &headers, "").await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_ne!(emulator.state().await, before, "a JSON reset resets");
}
