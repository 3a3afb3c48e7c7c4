//! What the emulator remembers about deliveries, as part of its persisted state: the queue of
//! deliveries waiting for their next attempt, the log of attempts (`GET /_emulator/deliveries`),
//! the outbox of failure emails (`GET /_emulator/outbox`) and each webhook's streak of failed
//! deliveries. Plain data, bounded: the log and the outbox keep their newest entries. It never
//! holds a secret or a signature.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::ids::{OrganizationUuid, WebhookUuid};

/// Attempts kept in the log, newest last.
pub const MAX_ATTEMPTS_KEPT: usize = 500;
/// Emails kept in the outbox, newest last.
pub const MAX_EMAILS_KEPT: usize = 200;
/// Deliveries waiting at most; an event that would exceed it is refused.
pub const MAX_QUEUED: usize = 10_000;

/// The delivery part of the emulator's state. Every field defaults, so state files written
/// before deliveries existed still load.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveryState {
    /// Deliveries waiting for their next attempt, in the order they were queued.
    #[serde(default)]
    pub queue: Vec<Queued>,
    /// The newest attempts, oldest first.
    #[serde(default)]
    pub attempts: Vec<LoggedAttempt>,
    /// The newest emails, oldest first.
    #[serde(default)]
    pub outbox: Vec<Email>,
    /// Failed deliveries in a row, per webhook; absent means none.
    #[serde(default)]
    pub streaks: BTreeMap<WebhookUuid, u32>,
    /// The number of the next attempt or email (1 for the first).
    #[serde(default)]
    pub last_seq: u64,
}

impl DeliveryState {
    /// Whether nothing was ever delivered or queued (the state then shows no `delivery`).
    pub fn is_empty(&self) -> bool {
        self == &DeliveryState::default()
    }

    /// The next sequence number.
    pub fn next_seq(&mut self) -> u64 {
        self.last_seq += 1;
        self.last_seq
    }

    /// Appends an attempt to the log, dropping the oldest beyond the bound.
    pub fn log(&mut self, attempt: LoggedAttempt) {
        push_bounded(&mut self.attempts, attempt, MAX_ATTEMPTS_KEPT);
    }

    /// Puts an email in the outbox, dropping the oldest beyond the bound.
    pub fn send(&mut self, email: Email) {
        push_bounded(&mut self.outbox, email, MAX_EMAILS_KEPT);
    }
}

fn push_bounded<T>(list: &mut Vec<T>, item: T, max: usize) {
    list.push(item);
    if list.len() > max {
        let excess = list.len() - max;
        list.drain(..excess);
    }
}

/// A webhook as the log and the outbox name it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookRef {
    pub uuid: WebhookUuid,
    pub name: String,
}

/// One event on its way to one webhook.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Queued {
    /// The delivery's id (a uuid), shared by its attempts.
    pub id: String,
    pub webhook: WebhookUuid,
    pub event: String,
    /// The exact body every attempt sends (compact JSON).
    pub body: String,
    /// The number of the next attempt, from 1.
    pub attempt: u32,
    /// When the next attempt is due, on the emulator's clock (microseconds since the epoch).
    pub due_micros: i64,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// The receiver answered 2xx.
    Delivered,
    /// A non-2xx answer, or no answer in time.
    Failed,
    /// Not sent: the url is not loopback and remote delivery is off.
    Refused,
}

/// One attempt, as `GET /_emulator/deliveries` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoggedAttempt {
    pub seq: u64,
    pub delivery: String,
    pub webhook: WebhookRef,
    pub organization: OrganizationUuid,
    pub event: String,
    /// The url, any password masked.
    pub url: String,
    /// 1 for the first attempt of the delivery.
    pub attempt: u32,
    pub outcome: Outcome,
    /// The receiver's status, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why there was no (good) answer: a timeout, a refused connection, a refused url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The `X-TIMESTAMP` sent (or, for a refused attempt, that would have been).
    pub timestamp: String,
    /// When the answer (or its absence) was settled, on the emulator's clock.
    pub finished: String,
    /// Real time the attempt took.
    pub duration_ms: u64,
    /// When the next attempt is due, if the delivery is retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt: Option<String>,
}

/// An email to a webhook's `userEmail`, as `GET /_emulator/outbox` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Email {
    pub seq: u64,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub webhook: WebhookRef,
    pub organization: OrganizationUuid,
    /// When it was sent, on the emulator's clock.
    pub time: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_only_the_newest_attempts() {
        let mut list: Vec<u32> = Vec::new();
        for i in 0..10 {
            push_bounded(&mut list, i, 3);
        }
        assert_eq!(list, [7, 8, 9]);
    }

    #[test]
    fn an_empty_delivery_state_reads_from_an_empty_object() {
        let state: DeliveryState = serde_json::from_str("{}").unwrap();
        assert!(state.is_empty());
    }
}
