//! Injected faults (product.md, "The emulator"): `POST /_emulator/faults` installs rules that
//! make matching API requests slow, fail, hang, drop their connection, or commit and then
//! fail. Decisions use a seeded generator, so a rule set with a seed fires the same way for
//! the same sequence of requests.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// The body of `POST /_emulator/faults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultConfig {
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    /// Only requests with this method (any case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Only requests with this path; a trailing slash is ignored and `*` matches one segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub kind: FaultKind,
    /// `status`: the status to answer; `commit-then-fail`: a 5xx to answer after committing
    /// (without it, the connection is dropped after committing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Seconds for a `Retry-After` header on a `status` answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// Delay before the request is handled (`latency`), or before any other kind's effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Fire for at most this many matching requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Fire for each matching request with this probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    Status,
    Latency,
    Hang,
    CommitThenFail,
    Drop,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Status => "status",
            FaultKind::Latency => "latency",
            FaultKind::Hang => "hang",
            FaultKind::CommitThenFail => "commit-then-fail",
            FaultKind::Drop => "drop",
        }
    }
}

/// What to do with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub latency: Duration,
    pub outcome: Outcome,
    /// The kinds of the rules that fired, for the request log.
    pub fired: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Proceed,
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    Hang,
    Drop,
    CommitThenStatus(u16),
    CommitThenDrop,
}

impl FaultConfig {
    /// Why the rule set cannot be used, naming the rule.
    pub fn check(&self) -> Result<(), String> {
        for (i, rule) in self.rules.iter().enumerate() {
            let problem = match (rule.kind, rule.status) {
                (FaultKind::Status, None) => Some("kind `status` needs `status`".to_owned()),
                (FaultKind::Status, Some(s)) if !(400..=599).contains(&s) => {
                    Some(format!("`status` {s} is not an error status (400-599)"))
                }
                (FaultKind::CommitThenFail, Some(s)) if !(500..=599).contains(&s) => Some(format!(
                    "commit-then-fail answers 5xx (or drops the connection without `status`), not {s}"
                )),
                (FaultKind::Latency, _) if rule.latency_ms.is_none() => {
                    Some("kind `latency` needs `latencyMs`".to_owned())
                }
                _ => None,
            };
            let problem = problem.or_else(|| {
                rule.probability
                    .filter(|p| !(0.0..=1.0).contains(p))
                    .map(|p| format!("`probability` {p} is not between 0 and 1"))
            });
            if let Some(problem) = problem {
                return Err(format!("rule {i}: {problem}"));
            }
        }
        Ok(())
    }
}

fn path_matches(pattern: &str, path: &str) -> bool {
    let pattern = pattern.trim_end_matches('/');
    let path = path.trim_end_matches('/');
    let (mut p, mut q) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == "*" || a == b => {}
            _ => return false,
        }
    }
}

#[derive(Debug)]
struct Active {
    config: FaultConfig,
    rng: StdRng,
    fired: Vec<u64>,
}

/// The installed rules and their counters.
#[derive(Debug, Default)]
pub struct Faults {
    active: Mutex<Option<Active>>,
}

impl Faults {
    /// Replaces the rules (checked first).
    pub fn install(&self, config: FaultConfig) -> Result<(), String> {
        config.check()?;
        let active = Active {
            rng: StdRng::seed_from_u64(config.seed),
            fired: vec![0; config.rules.len()],
            config,
        };
        *self.active.lock().expect("faults lock") = Some(active);
        Ok(())
    }

    /// Removes every rule.
    pub fn clear(&self) {
        *self.active.lock().expect("faults lock") = None;
    }

    /// The installed rules.
    pub fn config(&self) -> FaultConfig {
        self.active
            .lock()
            .expect("faults lock")
            .as_ref()
            .map(|a| a.config.clone())
            .unwrap_or_default()
    }

    /// Decides the fate of one API request. Latency rules add up; the first other rule that
    /// fires decides the outcome.
    pub fn decide(&self, method: &str, path: &str) -> Decision {
        let mut decision = Decision {
            latency: Duration::ZERO,
            outcome: Outcome::Proceed,
            fired: Vec::new(),
        };
        let mut guard = self.active.lock().expect("faults lock");
        let Some(active) = guard.as_mut() else {
            return decision;
        };
        for (i, rule) in active.config.rules.iter().enumerate() {
            let matches = rule
                .method
                .as_ref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && rule.path.as_ref().is_none_or(|p| path_matches(p, path));
            if !matches || rule.count.is_some_and(|count| active.fired[i] >= count) {
                continue;
            }
            if let Some(p) = rule.probability
                && !active.rng.random_bool(p)
            {
                continue;
            }
            active.fired[i] += 1;
            decision.fired.push(rule.kind.name());
            decision.latency += Duration::from_millis(rule.latency_ms.unwrap_or(0));
            decision.outcome = match (rule.kind, rule.status) {
                (FaultKind::Latency, _) => continue,
                (FaultKind::Status, status) => Outcome::Status {
                    status: status.unwrap_or(500),
                    retry_after: rule.retry_after,
                },
                (FaultKind::Hang, _) => Outcome::Hang,
                (FaultKind::Drop, _) => Outcome::Drop,
                (FaultKind::CommitThenFail, Some(status)) => Outcome::CommitThenStatus(status),
                (FaultKind::CommitThenFail, None) => Outcome::CommitThenDrop,
            };
            break;
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(json: &str) -> Faults {
        let faults = Faults::default();
        faults.install(serde_json::from_str(json).unwrap()).unwrap();
        faults
    }

    #[test]
    fn a_counted_rule_fires_that_many_times_for_matching_requests_only() {
        let faults = rules(
            r#"{"rules":[{"method":"POST","path":"/v1/webhooks","kind":"status","status":429,"retryAfter":1,"count":2}]}"#,
        );
        let status = Outcome::Status {
            status: 429,
            retry_after: Some(1),
        };
        assert_eq!(
            faults.decide("GET", "/v1/webhooks").outcome,
            Outcome::Proceed
        );
        assert_eq!(faults.decide("POST", "/v1/webhooks/").outcome, status);
        assert_eq!(faults.decide("post", "/v1/webhooks").outcome, status);
        assert_eq!(
            faults.decide("POST", "/v1/webhooks").outcome,
            Outcome::Proceed
        );
    }

    #[test]
    fn latency_adds_up_and_the_first_terminal_rule_decides() {
        let faults = rules(
            r#"{"rules":[{"kind":"latency","latencyMs":20},{"path":"/v1/webhooks/*","kind":"commit-then-fail"},{"kind":"drop"}]}"#,
        );
        let d = faults.decide("PUT", "/v1/webhooks/abc");
        assert_eq!(
            (d.latency, d.outcome),
            (Duration::from_millis(20), Outcome::CommitThenDrop)
        );
        assert_eq!(d.fired, ["latency", "commit-then-fail"]);
        assert_eq!(
            faults.decide("GET", "/v1/organizations").outcome,
            Outcome::Drop
        );
    }

    #[test]
    fn probabilities_are_reproducible_for_a_seed() {
        let json = r#"{"seed":7,"rules":[{"kind":"status","status":500,"probability":0.3}]}"#;
        let run = |f: Faults| {
            (0..200)
                .map(|_| f.decide("GET", "/x").outcome != Outcome::Proceed)
                .collect::<Vec<_>>()
        };
        let (a, b) = (run(rules(json)), run(rules(json)));
        assert_eq!(a, b);
        let fired = a.iter().filter(|x| **x).count();
        assert!((30..90).contains(&fired), "fired {fired} of 200 at p=0.3");
    }

    #[test]
    fn unusable_rules_are_refused_naming_the_rule() {
        for (json, expected) in [
            (
                r#"{"rules":[{"kind":"status"}]}"#,
                "rule 0: kind `status` needs `status`",
            ),
            (
                r#"{"rules":[{"kind":"drop"},{"kind":"commit-then-fail","status":404}]}"#,
                "rule 1: commit-then-fail answers 5xx",
            ),
            (
                r#"{"rules":[{"kind":"latency"}]}"#,
                "rule 0: kind `latency` needs `latencyMs`",
            ),
            (
                r#"{"rules":[{"kind":"drop","probability":1.5}]}"#,
                "rule 0: `probability` 1.5",
            ),
        ] {
            let config: FaultConfig = serde_json::from_str(json).unwrap();
            let err = config.check().unwrap_err();
            assert!(err.starts_with(expected), "{err}");
        }
    }
}
