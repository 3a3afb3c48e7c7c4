//! A running `watch` (the real binary) and its output: stdout and stderr, line by line, in one
//! channel, read as they come. Waits are liveness guards only, never timings.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::cli::command;
use super::emulator::{DEMO_KEY, Emulator};

pub struct Watching {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

impl Watching {
    /// `watch ARGS` in `dir` against `emulator`, with the demo key.
    pub fn start(emulator: &Emulator, dir: &Path, args: &[&str]) -> Watching {
        let mut child = command(dir)
            .arg("watch")
            .args(args)
            .env("VNTANA_API_URL", &emulator.url)
            .env("VNTANA_API_KEY", DEMO_KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (sender, lines) = mpsc::channel();
        let pipes: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for pipe in pipes {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if sender.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        Watching {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits until `times` more lines contain `text` (up to 60 s); returns the last of them.
    pub fn wait_for_times(&mut self, text: &str, times: usize) -> String {
        let deadline = std::time::Instant::now() + Duration::from_mins(1);
        let mut found = 0;
        while std::time::Instant::now() < deadline {
            match self.lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let hit = line.contains(text);
                    self.seen.push(line.clone());
                    found += usize::from(hit);
                    if found == times {
                        return line;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        panic!(
            "{found} of {times} lines with `{text}` in:\n{}",
            self.seen.join("\n")
        );
    }

    /// Waits for a line containing `text`; returns it.
    pub fn wait_for(&mut self, text: &str) -> String {
        self.wait_for_times(text, 1)
    }

    /// Reads what comes until `quiet` passes without a line.
    pub fn drain(&mut self, quiet: Duration) {
        while let Ok(line) = self.lines.recv_timeout(quiet) {
            self.seen.push(line);
        }
    }

    /// The passes seen so far: each prints one header or one line on stdout (stderr's lines
    /// start with `error:` or `warning:`).
    pub fn passes(&self) -> usize {
        self.seen
            .iter()
            .filter(|l| {
                l.contains(" UTC · ") && !l.starts_with("error") && !l.starts_with("warning")
            })
            .count()
    }

    /// Sends signal `name` (`TERM`, `INT`).
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// SIGTERM: the pass in flight finishes and the process exits 0; returns every line.
    pub fn stop(mut self) -> Vec<String> {
        self.signal("TERM");
        let status = self.child.wait().unwrap();
        self.drain(Duration::from_millis(500));
        assert_eq!(status.code(), Some(0), "{}", self.seen.join("\n"));
        std::mem::take(&mut self.seen)
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
