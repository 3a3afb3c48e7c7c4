//! What an attempt's outcome does to the state (vntana-api.md, "Delivery"): it is logged; a
//! failed attempt is retried with exponential backoff on the emulator's clock, up to 5
//! attempts; the first failed delivery of a streak emails the webhook's `userEmail`, the third
//! in a row disables the webhook and emails again; a delivered one ends the streak. Pure: a
//! function of the state, the attempt's report and the time; no I/O.

use super::super::clock::{format_delivery_timestamp, format_timestamp};
use super::super::state::State;
use super::emails::{self, Failure};
use super::record::{LoggedAttempt, Outcome, WebhookRef};
use crate::api::ids::{OrganizationUuid, WebhookUuid};

/// Attempts of one delivery at most.
pub const MAX_ATTEMPTS: u32 = 5;
/// Failed deliveries in a row that disable a webhook.
pub const DISABLE_AFTER: u32 = 3;
/// The wait before the second attempt *(decided)*; each later wait doubles: 1, 2, 4 and 8
/// minutes, so a delivery fails 15 minutes after its first attempt.
pub const FIRST_RETRY_MICROS: i64 = 60_000_000;

/// The wait after failed attempt number `attempt` (from 1) before the next one.
pub fn backoff_micros(attempt: u32) -> i64 {
    FIRST_RETRY_MICROS << attempt.saturating_sub(1).min(16)
}

/// One attempt as the worker saw it.
#[derive(Debug, Clone)]
pub struct Report {
    pub webhook: WebhookRef,
    pub organization: OrganizationUuid,
    /// The url, any password masked.
    pub url: String,
    pub outcome: Outcome,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The `X-TIMESTAMP` sent.
    pub timestamp: String,
    pub duration_ms: u64,
}

impl Report {
    /// The problem of a failed attempt, for emails: `HTTP 500`, or the error.
    fn problem(&self) -> String {
        match (self.status, &self.error) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => error.clone(),
            (None, None) => "no answer".to_owned(),
        }
    }
}

/// Records the attempt of delivery `id` and applies its consequences. A delivery no longer
/// queued (the emulator was reset meanwhile) is left alone.
pub fn settle(state: &mut State, id: &str, report: &Report, now: i64) {
    let Some(index) = state.delivery.queue.iter().position(|q| q.id == id) else {
        return;
    };
    let queued = &mut state.delivery.queue[index];
    let (number, event, webhook) = (queued.attempt, queued.event.clone(), queued.webhook.clone());
    let retry = report.outcome == Outcome::Failed && number < MAX_ATTEMPTS;
    let next_attempt = if retry {
        queued.attempt += 1;
        queued.due_micros = now.saturating_add(backoff_micros(number));
        Some(format_delivery_timestamp(queued.due_micros))
    } else {
        state.delivery.queue.remove(index);
        None
    };
    let seq = state.delivery.next_seq();
    state.delivery.log(LoggedAttempt {
        seq,
        delivery: id.to_owned(),
        webhook: report.webhook.clone(),
        organization: report.organization.clone(),
        event: event.clone(),
        url: report.url.clone(),
        attempt: number,
        outcome: report.outcome,
        status: report.status,
        error: report.error.clone(),
        timestamp: report.timestamp.clone(),
        finished: format_delivery_timestamp(now),
        duration_ms: report.duration_ms,
        next_attempt,
    });
    match report.outcome {
        Outcome::Delivered => {
            state.delivery.streaks.remove(&webhook);
        }
        Outcome::Failed if !retry => delivery_failed(state, &webhook, &event, report, now),
        Outcome::Failed | Outcome::Refused => {}
    }
    let State {
        webhooks, delivery, ..
    } = state;
    delivery
        .streaks
        .retain(|uuid, _| webhooks.iter().any(|w| &w.uuid == uuid));
}

/// Removes delivery `id` from the queue without an attempt (its webhook was deleted or
/// disabled: disabled webhooks receive nothing).
pub fn cancel(state: &mut State, id: &str) {
    state.delivery.queue.retain(|q| q.id != id);
}

/// A delivery failed all its attempts: the streak grows, with an email when it starts and the
/// webhook disabled (and its owner emailed) when it reaches `DISABLE_AFTER`. Deliveries ending
/// after their webhook was disabled (they were in flight) do not count.
fn delivery_failed(state: &mut State, uuid: &WebhookUuid, event: &str, report: &Report, now: i64) {
    let Some(webhook) = state.webhook(uuid) else {
        return;
    };
    if webhook.disable {
        return;
    }
    let (to, organization) = (
        webhook.user_email.clone(),
        webhook.organization_uuid.clone(),
    );
    let reference = WebhookRef {
        uuid: uuid.clone(),
        name: webhook.name.clone(),
    };
    let streak = {
        let streak = state.delivery.streaks.entry(uuid.clone()).or_insert(0);
        *streak += 1;
        *streak
    };
    let (problem, time) = (report.problem(), format_delivery_timestamp(now));
    let failure = Failure {
        webhook: &reference,
        organization: &organization,
        to: &to,
        url: &report.url,
        event,
        problem: &problem,
        time: &time,
    };
    if streak == 1 {
        let seq = state.delivery.next_seq();
        state.delivery.send(emails::failing(seq, &failure));
    }
    if streak >= DISABLE_AFTER {
        if let Some(webhook) = state.webhook_mut(uuid) {
            webhook.disable = true;
            webhook.updated = format_timestamp(now);
        }
        // The streak ends with the disable: once re-enabled, the rules start over.
        state.delivery.streaks.remove(uuid);
        let seq = state.delivery.next_seq();
        state.delivery.send(emails::disabled(seq, &failure));
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::Queued;
    use super::*;
    use crate::emulator::clock::Clock;
    use crate::emulator::ids::IdSource;
    use crate::emulator::seed::Seed;

    fn state() -> State {
        Seed::parse(
            "organizations:\n  - slug: acme\n    webhooks:\n      - {name: hook, url: 'http://127.0.0.1:1/', events: [product.added], userEmail: ops@acme.example}\n",
            "test",
        )
        .unwrap()
        .to_state(&IdSource::seeded(1), &Clock::test())
        .unwrap()
    }

    fn queue(state: &mut State, id: &str) {
        let webhook = state.webhooks[0].uuid.clone();
        state.delivery.queue.push(Queued {
            id: id.to_owned(),
            webhook,
            event: "product.added".to_owned(),
            body: "{}".to_owned(),
            attempt: 1,
            due_micros: 0,
        });
    }

    fn report(state: &State, outcome: Outcome, status: u16) -> Report {
        let webhook = &state.webhooks[0];
        Report {
            webhook: WebhookRef {
                uuid: webhook.uuid.clone(),
                name: webhook.name.clone(),
            },
            organization: webhook.organization_uuid.clone(),
            url: webhook.url.clone(),
            outcome,
            status: Some(status),
            error: None,
            timestamp: String::new(),
            duration_ms: 0,
        }
    }

    /// Fails every attempt of delivery `id`; returns the times the attempts were due.
    fn fail_all(state: &mut State, id: &str) -> Vec<i64> {
        queue(state, id);
        let failed = report(state, Outcome::Failed, 500);
        let mut due = Vec::new();
        while let Some(queued) = state.delivery.queue.iter().find(|q| q.id == id) {
            due.push(queued.due_micros);
            let now = queued.due_micros;
            settle(state, id, &failed, now);
        }
        due
    }

    #[test]
    fn a_failing_delivery_is_tried_five_times_with_doubling_waits() {
        let mut state = state();
        let due = fail_all(&mut state, "d1");
        let minute = 60_000_000;
        assert_eq!(due, [0, minute, 3 * minute, 7 * minute, 15 * minute]);
        let numbers: Vec<u32> = state.delivery.attempts.iter().map(|a| a.attempt).collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5]);
        assert!(state.delivery.attempts[4].next_attempt.is_none());
    }

    #[test]
    fn three_failed_deliveries_in_a_row_disable_the_webhook_with_two_emails() {
        let mut state = state();
        fail_all(&mut state, "d1");
        assert_eq!(state.delivery.outbox.len(), 1);
        assert_eq!(state.delivery.outbox[0].to, "ops@acme.example");
        fail_all(&mut state, "d2");
        assert_eq!(
            state.delivery.outbox.len(),
            1,
            "only the first failure emails"
        );
        assert!(!state.webhooks[0].disable);
        fail_all(&mut state, "d3");
        assert!(state.webhooks[0].disable);
        let subjects: Vec<&str> = state
            .delivery
            .outbox
            .iter()
            .map(|e| e.subject.as_str())
            .collect();
        assert_eq!(
            subjects,
            [
                "VNTANA webhook \"hook\" is failing",
                "VNTANA webhook \"hook\" was disabled"
            ]
        );
        assert!(state.delivery.streaks.is_empty());
    }

    #[test]
    fn a_delivered_attempt_ends_the_streak() {
        let mut state = state();
        fail_all(&mut state, "d1");
        fail_all(&mut state, "d2");
        queue(&mut state, "d3");
        let delivered = report(&state, Outcome::Delivered, 204);
        settle(&mut state, "d3", &delivered, 0);
        assert!(state.delivery.streaks.is_empty());
        fail_all(&mut state, "d4");
        assert!(!state.webhooks[0].disable);
        assert_eq!(state.delivery.outbox.len(), 2, "a new streak emails again");
    }

    #[test]
    fn a_refused_attempt_is_not_retried_and_does_not_count() {
        let mut state = state();
        queue(&mut state, "d1");
        let refused = report(&state, Outcome::Refused, 0);
        settle(&mut state, "d1", &refused, 0);
        assert!(state.delivery.queue.is_empty());
        assert!(state.delivery.streaks.is_empty());
        assert_eq!(state.delivery.attempts.len(), 1);
    }

    #[test]
    fn an_attempt_of_a_delivery_no_longer_queued_changes_nothing() {
        let mut state = state();
        let before = state.clone();
        let failed = report(&state, Outcome::Failed, 500);
        settle(&mut state, "gone", &failed, 0);
        assert_eq!(state, before);
    }
}
