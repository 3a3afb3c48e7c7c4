//! Validation of a webhook request model (vntana-api.md, "Webhooks"): every 422 code that
//! applies, in a fixed order. Pure: it sees the request, the organization's folders and the
//! catalogue, and returns the normalised events and folders to store.

use super::catalogue;
use super::state::Organization;
use crate::api::ids::EventUuid;
use crate::api::rules::{is_valid_email, is_valid_webhook_url};
use crate::api::wire::{WebhookRequest, codes};

/// What a valid request stores: events in catalogue order, folders deduplicated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valid {
    pub events: Vec<EventUuid>,
    pub clients: Vec<String>,
}

/// Checks a create or update request against the organization; `Err` lists every code.
pub fn validate(request: &WebhookRequest, org: &Organization) -> Result<Valid, Vec<&'static str>> {
    let mut found = Vec::new();
    if request.name.trim().is_empty() {
        found.push(codes::MISSING_NAME);
    }
    if request.url.trim().is_empty() {
        found.push(codes::MISSING_URL);
    } else if !is_valid_webhook_url(&request.url) {
        found.push(codes::INVALID_URL);
    }
    if request.events.is_empty() {
        found.push(codes::MISSING_EVENTS);
    } else if request.events.iter().any(|e| {
        catalogue::by_uuid(&e.uuid)
            .is_none_or(|known| e.name.as_deref().is_some_and(|name| name != known.name))
    }) {
        found.push(codes::UNKNOWN_EVENT);
    }
    if request
        .clients
        .iter()
        .any(|slug| !org.folders.iter().any(|f| &f.slug == slug))
    {
        found.push(codes::UNKNOWN_CLIENT);
    }
    if request.user_email.trim().is_empty() {
        found.push(codes::MISSING_USER_EMAIL);
    } else if !is_valid_email(&request.user_email) {
        found.push(codes::INVALID_EMAIL);
    }
    if !found.is_empty() {
        return Err(found);
    }
    let events = catalogue::events()
        .iter()
        .filter(|known| request.events.iter().any(|e| e.uuid == known.uuid))
        .map(|known| known.uuid.clone())
        .collect();
    let mut clients: Vec<String> = Vec::new();
    for slug in &request.clients {
        if !clients.contains(slug) {
            clients.push(slug.clone());
        }
    }
    Ok(Valid { events, clients })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::wire::EventRequest;
    use crate::emulator::state::Folder;

    fn org() -> Organization {
        Organization {
            uuid: "o".into(),
            slug: "acme".into(),
            name: "Acme".into(),
            image_blob_id: String::new(),
            created: String::new(),
            folders: vec![Folder {
                uuid: "f".into(),
                slug: "bags".into(),
                name: "Bags".into(),
                image_blob_id: String::new(),
                created: String::new(),
            }],
        }
    }

    fn event(name: &str) -> EventRequest {
        let known = catalogue::by_name(name).unwrap();
        EventRequest {
            uuid: known.uuid.clone(),
            name: Some(name.into()),
            ..EventRequest::default()
        }
    }

    #[test]
    fn an_empty_request_reports_every_missing_field() {
        assert_eq!(
            validate(&WebhookRequest::default(), &org()),
            Err(vec![
                codes::MISSING_NAME,
                codes::MISSING_URL,
                codes::MISSING_EVENTS,
                codes::MISSING_USER_EMAIL
            ])
        );
    }

    #[test]
    fn bad_values_report_their_codes() {
        let mut wrong_name = event("product.added");
        wrong_name.name = Some("product.deleted".into());
        let request = WebhookRequest {
            name: "n".into(),
            url: "ftp://x.example".into(),
            events: vec![wrong_name],
            clients: vec!["shoes".into()],
            user_email: "nobody".into(),
            ..WebhookRequest::default()
        };
        assert_eq!(
            validate(&request, &org()),
            Err(vec![
                codes::INVALID_URL,
                codes::UNKNOWN_EVENT,
                codes::UNKNOWN_CLIENT,
                codes::INVALID_EMAIL
            ])
        );
    }

    #[test]
    fn a_valid_request_stores_events_in_catalogue_order_without_duplicates() {
        let request = WebhookRequest {
            name: "n".into(),
            url: "https://x.example".into(),
            events: vec![
                event("product.failed"),
                event("product.added"),
                event("product.failed"),
            ],
            clients: vec!["bags".into(), "bags".into()],
            user_email: "a@b.co".into(),
            ..WebhookRequest::default()
        };
        let valid = validate(&request, &org()).unwrap();
        assert_eq!(valid.clients, ["bags"]);
        let names: Vec<_> = valid
            .events
            .iter()
            .map(|u| catalogue::by_uuid(u).unwrap().name)
            .collect();
        assert_eq!(names, ["product.added", "product.failed"]);
    }
}
