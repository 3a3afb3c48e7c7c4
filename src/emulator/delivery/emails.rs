//! The wording of the emails the platform sends a webhook's `userEmail` (vntana-api.md,
//! "Delivery"): one when a streak of failed deliveries starts, one when the webhook is
//! disabled. Text only; `rules` decides when.

use super::record::{Email, WebhookRef};
use super::rules::{DISABLE_AFTER, MAX_ATTEMPTS};
use crate::api::ids::OrganizationUuid;

/// What the emails say about the failure.
pub struct Failure<'a> {
    pub webhook: &'a WebhookRef,
    pub organization: &'a OrganizationUuid,
    pub to: &'a str,
    pub url: &'a str,
    pub event: &'a str,
    /// The last attempt's problem, e.g. `HTTP 500` or `no answer within 10 s`.
    pub problem: &'a str,
    pub time: &'a str,
}

/// The email sent when a delivery fails and the webhook's previous one did not.
pub fn failing(seq: u64, failure: &Failure<'_>) -> Email {
    let name = &failure.webhook.name;
    email(
        seq,
        failure,
        format!("VNTANA webhook \"{name}\" is failing"),
        format!(
            "A {event} delivery to your webhook \"{name}\" ({url}) failed after {MAX_ATTEMPTS} attempts (last: {problem}). \
             After {DISABLE_AFTER} failed deliveries in a row the webhook is disabled.",
            event = failure.event,
            url = failure.url,
            problem = failure.problem,
        ),
    )
}

/// The email sent when failed deliveries disable the webhook.
pub fn disabled(seq: u64, failure: &Failure<'_>) -> Email {
    let name = &failure.webhook.name;
    email(
        seq,
        failure,
        format!("VNTANA webhook \"{name}\" was disabled"),
        format!(
            "{DISABLE_AFTER} deliveries in a row to your webhook \"{name}\" ({url}) failed (last: {problem}), so it was disabled \
             and receives no more events. Fix the receiver, then enable the webhook again.",
            url = failure.url,
            problem = failure.problem,
        ),
    )
}

fn email(seq: u64, failure: &Failure<'_>, subject: String, body: String) -> Email {
    Email {
        seq,
        to: failure.to.to_owned(),
        subject,
        body,
        webhook: failure.webhook.clone(),
        organization: failure.organization.clone(),
        time: failure.time.to_owned(),
    }
}
