//! The release emulator the benchmarks run against: a child process on loopback seeded from
//! `seed.yaml` in the benchmark's directory, its address read from its start-up lines, its
//! control API, a tokio runtime for the benchmark's own requests, and the process killed
//! when the handle drops.

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

pub struct Emulator {
    child: Child,
    pub url: String,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Emulator {
    /// Starts `vntana-webhooks emulator --seed seed.yaml` in `dir`, in memory.
    pub fn start(dir: &Path) -> Emulator {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vntana-webhooks"))
            .args(["emulator", "--listen", "127.0.0.1:0", "--seed", "seed.yaml"])
            .current_dir(dir)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the emulator");
        let stdout = child.stdout.take().expect("its stdout");
        let url = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| {
                line.strip_prefix("export VNTANA_API_URL=")
                    .map(str::to_owned)
            })
            .expect("the emulator prints its address");
        Emulator {
            child,
            url,
            http: reqwest::Client::new(),
            runtime: tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime"),
        }
    }

    /// A request to the control API (`/_emulator/...`), which must succeed; its JSON answer.
    pub fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.block_on(async {
            // The control API takes JSON only, a body or none (`POST /_emulator/reset`).
            let mut request = self
                .http
                .request(method, format!("{}{path}", self.url))
                .header("content-type", "application/json");
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.expect("a control request");
            assert!(response.status().is_success(), "{path}");
            response.json().await.expect("control JSON")
        })
    }
}

impl Emulator {
    /// Runs `future` (the benchmark's own requests) to its end.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
