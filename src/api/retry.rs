//! The per-operation retry policy (product.md, "Applying"). Reads, PUT, PATCH, DELETE,
//! sign-in and token requests are retried on 429 (honouring `Retry-After` up to 60 s), 5xx,
//! timeouts and connection errors, with exponential backoff (200 ms x 2^n, full jitter,
//! capped at 10 s) and at most 6 attempts. A create is retried as is only when it surely was
//! not processed (429, connection refused); otherwise its outcome is unknown. Pure: the
//! decisions are tested without a network.

use std::time::Duration;

use rand::RngExt;

/// Whether a request may be repeated without changing its effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Reads, PUT, PATCH, DELETE, sign-in and token minting.
    Idempotent,
    /// POST of a new webhook: repeating it after it was processed makes a duplicate.
    Create,
}

/// What one attempt ended with, as far as retrying cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 429, with its `Retry-After` if any.
    RateLimited(Option<Duration>),
    /// A 5xx answer.
    ServerError,
    /// No answer within the timeout.
    Timeout,
    /// The connection could not be made: the request was never sent.
    ConnectRefused,
    /// The connection broke after the request may have been sent.
    ConnectionLost,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Try again after this long.
    RetryAfter(Duration),
    /// Give up: the error stands.
    GiveUp,
    /// A create that may have been applied: stop and let the caller re-list.
    OutcomeUnknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(10),
            max_retry_after: Duration::from_mins(1),
        }
    }
}

impl RetryPolicy {
    /// The verdict after `attempt` (1-based) failed with `failure`. `jitter` is a number in
    /// [0, 1) drawn per decision (full jitter).
    pub fn decide(
        &self,
        kind: Idempotency,
        failure: Failure,
        attempt: u32,
        jitter: f64,
    ) -> Verdict {
        let surely_unprocessed =
            matches!(failure, Failure::RateLimited(_) | Failure::ConnectRefused);
        if kind == Idempotency::Create && !surely_unprocessed {
            return Verdict::OutcomeUnknown;
        }
        if attempt >= self.max_attempts {
            return Verdict::GiveUp;
        }
        if let Failure::RateLimited(Some(wait)) = failure {
            return Verdict::RetryAfter(wait.min(self.max_retry_after));
        }
        Verdict::RetryAfter(self.backoff(attempt, jitter))
    }

    /// Full jitter: uniform in [0, min(cap, base x 2^(attempt-1))].
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        exponential(self.base, self.cap, attempt).mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// The one exponential backoff of the tool (requests here, watch's outages too):
/// `min(cap, base x 2^(attempt-1))` for attempt 1, 2, ...
pub fn exponential(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    base.saturating_mul(1 << exponent).min(cap)
}

/// A jitter draw in [0, 1).
pub fn jitter() -> f64 {
    rand::rng().random::<f64>()
}

#[cfg(test)]
mod tests {
    use super::Failure::{ConnectRefused, ConnectionLost, RateLimited, ServerError, Timeout};
    use super::Idempotency::{Create, Idempotent};
    use super::*;

    #[test]
    fn idempotent_requests_retry_on_every_transient_failure() {
        let policy = RetryPolicy::default();
        for failure in [
            RateLimited(None),
            ServerError,
            Timeout,
            ConnectRefused,
            ConnectionLost,
        ] {
            assert!(
                matches!(
                    policy.decide(Idempotent, failure, 1, 0.5),
                    Verdict::RetryAfter(_)
                ),
                "{failure:?}"
            );
        }
    }

    #[test]
    fn a_create_retries_only_when_it_surely_was_not_processed() {
        let policy = RetryPolicy::default();
        assert!(matches!(
            policy.decide(Create, RateLimited(None), 1, 0.5),
            Verdict::RetryAfter(_)
        ));
        assert!(matches!(
            policy.decide(Create, ConnectRefused, 1, 0.5),
            Verdict::RetryAfter(_)
        ));
        for failure in [ServerError, Timeout, ConnectionLost] {
            assert_eq!(
                policy.decide(Create, failure, 1, 0.5),
                Verdict::OutcomeUnknown,
                "{failure:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_a_minute() {
        let policy = RetryPolicy::default();
        let wait = |s| {
            policy.decide(
                Idempotent,
                RateLimited(Some(Duration::from_secs(s))),
                1,
                0.9,
            )
        };
        assert_eq!(wait(3), Verdict::RetryAfter(Duration::from_secs(3)));
        assert_eq!(wait(600), Verdict::RetryAfter(Duration::from_mins(1)));
    }

    #[test]
    fn backoff_doubles_with_full_jitter_and_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(1, 1.0), Duration::from_millis(200));
        assert_eq!(policy.backoff(3, 1.0), Duration::from_millis(800));
        assert_eq!(policy.backoff(3, 0.5), Duration::from_millis(400));
        assert_eq!(policy.backoff(3, 0.0), Duration::ZERO);
        assert_eq!(policy.backoff(10, 1.0), Duration::from_secs(10));
        assert_eq!(policy.backoff(u32::MAX, 1.0), Duration::from_secs(10));
    }

    #[test]
    fn attempts_are_bounded() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.decide(Idempotent, ServerError, 6, 0.5),
            Verdict::GiveUp
        );
        assert_eq!(
            policy.decide(Create, RateLimited(None), 6, 0.5),
            Verdict::GiveUp
        );
    }
}
