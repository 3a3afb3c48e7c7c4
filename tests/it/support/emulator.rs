//! Starts `vntana-webhooks emulator` as a child process on 127.0.0.1:0 and reads the address
//! from its start-up lines, as a user would. The child is killed when the handle drops.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::cli::bin;

/// The default seed's demo API key (printed by the emulator at start-up).
pub const DEMO_KEY: &str = "vntana-emulator-demo-key";
/// The default seed's second user: a viewer of acme-3d.
pub const VIEWER_KEY: &str = "vntana-emulator-viewer-key";
pub const OWNER_EMAIL: &str = "owner@acme.example";
pub const OWNER_PASSWORD: &str = "emulator-demo-password";

pub struct Emulator {
    child: Child,
    pub url: String,
    /// Every line the emulator printed on stdout at start-up.
    pub startup: Vec<String>,
    http: reqwest::Client,
}

impl Emulator {
    /// An emulator with the default seed, in memory.
    pub fn start() -> Emulator {
        Emulator::start_with(&[])
    }

    /// An emulator with extra arguments (`--state`, `--seed`, `--deterministic`).
    pub fn start_with(args: &[&str]) -> Emulator {
        let mut child = Command::new(bin())
            .args(["emulator", "--listen", "127.0.0.1:0"])
            .args(args)
            .env_clear()
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the emulator");
        let stdout = child.stdout.take().expect("stdout");
        let mut startup = Vec::new();
        let mut url = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read emulator output");
            if let Some(rest) = line.strip_prefix("export VNTANA_API_URL=") {
                url = Some(rest.to_owned());
            }
            let done = line.starts_with("export VNTANA_API_KEY=")
                || line.starts_with("export VNTANA_PASSWORD=");
            startup.push(line);
            if done {
                break;
            }
        }
        let url = url.unwrap_or_else(|| {
            let _ = child.kill();
            panic!("the emulator printed no address: {startup:?}")
        });
        Emulator {
            child,
            url,
            startup,
            http: reqwest::Client::new(),
        }
    }

    /// Starts with a state file.
    pub fn with_state(path: &Path) -> Emulator {
        Emulator::start_with(&["--state", path.to_str().unwrap()])
    }

    /// Stops the process (SIGKILL), as a crash would. The handle stays, dead, until replaced.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        // The control API takes JSON only, a body or none (`POST /_emulator/reset`).
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("content-type", "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("control request");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.expect("control JSON")
    }

    /// Any control request, answered or refused: the status and the JSON body.
    pub async fn control_answer(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("content-type", "application/json");
        if let Some(body) = body {
            request = request.body(body.to_owned());
        }
        let response = request.send().await.expect("control request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("control JSON"))
    }

    /// `POST /_emulator/reset`.
    pub async fn reset(&self) {
        self.control(reqwest::Method::POST, "/_emulator/reset", None)
            .await;
    }

    /// `GET /_emulator/faults`.
    pub async fn installed_faults(&self) -> Value {
        self.control(reqwest::Method::GET, "/_emulator/faults", None)
            .await
    }

    /// `DELETE /_emulator/faults`.
    pub async fn clear_faults(&self) {
        self.control(reqwest::Method::DELETE, "/_emulator/faults", None)
            .await;
    }

    /// `GET /_emulator/clock`: `{"nowMs", "now"}`.
    pub async fn clock(&self) -> Value {
        self.control(reqwest::Method::GET, "/_emulator/clock", None)
            .await
    }

    /// The uuid of the (only) webhook of the state named `name`.
    pub async fn webhook_uuid(&self, name: &str) -> String {
        let found = self.webhooks_named(name).await;
        assert_eq!(found.len(), 1, "webhooks named {name}: {found:?}");
        found[0]["uuid"].as_str().unwrap().to_owned()
    }

    /// `GET /_emulator/state`.
    pub async fn state(&self) -> Value {
        self.control(reqwest::Method::GET, "/_emulator/state", None)
            .await
    }

    /// `GET /_emulator/requests`.
    pub async fn requests(&self) -> Vec<Value> {
        let log = self
            .control(reqwest::Method::GET, "/_emulator/requests", None)
            .await;
        log.as_array().expect("a list").clone()
    }

    /// The request log as `METHOD PATH` lines, in arrival order.
    pub async fn request_lines(&self) -> Vec<String> {
        self.requests()
            .await
            .iter()
            .map(|r| {
                format!(
                    "{} {}",
                    r["method"].as_str().unwrap(),
                    r["path"].as_str().unwrap()
                )
            })
            .collect()
    }

    /// Runs the binary with `args` in `dir` against this emulator, with the demo key and the
    /// extra environment `env`.
    pub fn cli(
        &self,
        dir: &std::path::Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> super::cli::Run {
        let mut command = super::cli::command(dir);
        command
            .args(args)
            .env("VNTANA_API_URL", &self.url)
            .env("VNTANA_API_KEY", DEMO_KEY);
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().expect("run the binary").into()
    }

    /// The logged requests that change webhooks (POST, PUT, PATCH or DELETE of
    /// `/v1/webhooks*`), as `METHOD PATH` lines.
    pub async fn mutating_requests(&self) -> Vec<String> {
        self.request_lines()
            .await
            .into_iter()
            .filter(|line| !line.starts_with("GET ") && line.contains(" /v1/webhooks"))
            .collect()
    }

    /// How many logged requests have this method and path.
    pub async fn count(&self, method: &str, path: &str) -> usize {
        self.requests()
            .await
            .iter()
            .filter(|r| r["method"] == method && r["path"] == path)
            .count()
    }

    /// `DELETE /_emulator/requests`.
    pub async fn clear_requests(&self) {
        self.control(reqwest::Method::DELETE, "/_emulator/requests", None)
            .await;
    }

    /// `POST /_emulator/faults`.
    pub async fn faults(&self, config: Value) {
        self.control(reqwest::Method::POST, "/_emulator/faults", Some(config))
            .await;
    }

    /// `POST /_emulator/clock`.
    pub async fn advance_clock_ms(&self, ms: u64) {
        self.control(
            reqwest::Method::POST,
            "/_emulator/clock",
            Some(serde_json::json!({"advanceMs": ms})),
        )
        .await;
    }

    /// The webhooks in the state whose name is `name`.
    pub async fn webhooks_named(&self, name: &str) -> Vec<Value> {
        let state = self.state().await;
        state["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["name"] == name)
            .cloned()
            .collect()
    }

    /// The uuid of an organization of the state.
    pub async fn org_uuid(&self, slug: &str) -> String {
        let state = self.state().await;
        let org = state["organizations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["slug"] == slug);
        org.unwrap_or_else(|| panic!("no organization {slug}"))["uuid"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let secrets = if std::thread::panicking() {
            Vec::new()
        } else {
            secrets_of(&self.url)
        };
        let _ = self.child.kill();
        let _ = self.child.wait();
        // product.md, "where secrets may appear": never in what a command prints.
        if let Some((secret, printed)) = super::cli::printed_containing(&secrets) {
            let shown = &secret[..secret.len().min(8)];
            panic!(
                "a secret or token of this emulator ({shown}...) was printed by a command:\n{printed}"
            );
        }
    }
}

/// Every webhook secret, token, API key and password the emulator holds, read with a plain
/// blocking request (this runs in `Drop`, outside any runtime).
fn secrets_of(url: &str) -> Vec<String> {
    use std::io::{Read, Write};
    let Some(authority) = url.strip_prefix("http://") else {
        return Vec::new();
    };
    let Ok(mut stream) = std::net::TcpStream::connect(authority) else {
        return Vec::new();
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let request =
        format!("GET /_emulator/state HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    let mut answer = Vec::new();
    if stream.write_all(request.as_bytes()).is_err() || stream.read_to_end(&mut answer).is_err() {
        return Vec::new();
    }
    let answer = String::from_utf8_lossy(&answer);
    let Some((_, body)) = answer.split_once("\r\n\r\n") else {
        return Vec::new();
    };
    let Ok(state) = serde_json::from_str::<Value>(body) else {
        return Vec::new();
    };
    let strings = |list: &str, field: &str| -> Vec<String> {
        state[list]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item[field].as_str().map(str::to_owned))
            .collect()
    };
    let mut secrets = strings("webhooks", "secret");
    secrets.extend(strings("tokens", "token"));
    secrets.extend(strings("users", "password"));
    // The demo API key is printed by the emulator on purpose; other keys are not.
    secrets.extend(
        strings("users", "apiKey")
            .into_iter()
            .filter(|k| k != DEMO_KEY),
    );
    secrets.retain(|s| s.len() >= 12);
    secrets
}
