//! Issue 15, item 8: a proxy from the environment never sees a call to a loopback API, where
//! the API key and tokens travel in clear; real hosts still go through it.

use std::io::Read;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::cli::{Run, command};
use crate::support::emulator::{DEMO_KEY, Emulator};

const CONFIG: &str = "\
version: 1
owner: long-runner
organizations:
  globex:
    webhooks:
      kept:
        url: https://one.example/hook
        events: [product.added]
";

/// A plain TCP listener standing for a proxy: it records what every connection sends first,
/// then hangs up.
struct ProxyRecorder {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl ProxyRecorder {
    fn start() -> ProxyRecorder {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let mut first = vec![0; 4096];
                let read = stream.read(&mut first).unwrap_or(0);
                record
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&first[..read]).into_owned());
            }
        });
        ProxyRecorder { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// Every proxy variable reqwest reads, in both cases, pointing here.
    fn env(&self) -> Vec<(&'static str, String)> {
        [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ]
        .into_iter()
        .map(|name| (name, self.url.clone()))
        .collect()
    }
}

#[tokio::test]
async fn a_proxy_never_sees_a_call_to_a_loopback_api() {
    let emulator = Emulator::start();
    let proxy = ProxyRecorder::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("webhooks.yaml"), CONFIG).unwrap();
    let run = |args: &[&str]| -> Run {
        command(dir.path())
            .args(args)
            .args(["--timeout", "3s"])
            .env("VNTANA_API_KEY", DEMO_KEY)
            .envs(proxy.env())
            .output()
            .unwrap()
            .into()
    };
    let plan = run(&["plan", "-f", "webhooks.yaml", "--api-url", &emulator.url]);
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    let apply = run(&[
        "apply",
        "-f",
        "webhooks.yaml",
        "--auto-approve",
        "--api-url",
        &emulator.url,
    ]);
    assert_eq!(apply.code, 0, "{}\n{}", apply.stdout, apply.stderr);
    let localhost = emulator.url.replace("127.0.0.1", "localhost");
    let by_name = run(&["plan", "-f", "webhooks.yaml", "--api-url", &localhost]);
    assert_eq!(by_name.code, 0, "{}\n{}", by_name.stdout, by_name.stderr);
    let embedded = run(&["plan", "-f", "webhooks.yaml", "--emulator"]);
    assert_eq!(embedded.code, 0, "{}\n{}", embedded.stdout, embedded.stderr);
    assert_eq!(proxy.seen(), Vec::<String>::new());
    assert_eq!(emulator.webhooks_named("kept").await.len(), 1);
}

#[tokio::test]
async fn a_proxy_still_carries_calls_to_a_real_host_through_a_tunnel() {
    let proxy = ProxyRecorder::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("webhooks.yaml"), CONFIG).unwrap();
    let run: Run = command(dir.path())
        .args(["plan", "-f", "webhooks.yaml", "--timeout", "3s"])
        .args(["--api-url", "https://api-platform.example.invalid"])
        .env("VNTANA_API_KEY", DEMO_KEY)
        .envs(proxy.env())
        .output()
        .unwrap()
        .into();
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let seen = proxy.seen();
    assert!(
        seen.iter()
            .any(|s| s.starts_with("CONNECT api-platform.example.invalid:443 ")),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|s| !s.contains(DEMO_KEY)),
        "the key is inside the tunnel"
    );
}
