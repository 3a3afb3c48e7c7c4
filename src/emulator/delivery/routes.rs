//! The delivery endpoints of the control API: `POST /_emulator/events` (fire an event),
//! `GET /_emulator/deliveries` (every attempt and its outcome, never a secret or signature)
//! and `GET /_emulator/outbox` (the emails sent to webhooks' `userEmail`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::super::App;
use super::super::catalogue::{self, CatalogueEvent};
use super::super::error::{ApiError, json_response};
use super::super::state::{Folder, Organization};
use super::fanout::{self, Skip};
use super::payload;
use super::record::{MAX_QUEUED, Queued, WebhookRef};
use crate::api::endpoint::masked;
use crate::api::wire::codes;
use crate::suggest::closest;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/_emulator/events", post(fire))
        .route("/_emulator/deliveries", get(deliveries))
        .route("/_emulator/outbox", get(outbox))
}

/// `POST /_emulator/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fire {
    /// The organization's slug.
    organization: String,
    /// The event's name, from the catalogue.
    event: String,
    /// The slug of the folder the event happened in.
    #[serde(default)]
    folder: Option<String>,
}

/// A webhook the event was queued for.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct QueuedFor {
    delivery: String,
    webhook: WebhookRef,
    url: String,
}

/// A webhook of the organization that does not receive the event, and why.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Skipped {
    webhook: WebhookRef,
    reason: Skip,
}

fn refused(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({"success": false, "errors": [code], "response": null, "message": message}),
    )
}

fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(input, candidates).map_or_else(String::new, |c| format!("; did you mean `{c}`?"))
}

/// The event, organization and folder a request names, or the answer refusing it.
fn resolve(
    app: &App,
    fire: &Fire,
) -> Result<(&'static CatalogueEvent, Organization, Option<Folder>), Response> {
    let event = catalogue::by_name(&fire.event).ok_or_else(|| {
        refused(
            StatusCode::BAD_REQUEST,
            codes::BAD_REQUEST,
            &format!(
                "unknown event `{}`{}",
                fire.event,
                did_you_mean(&fire.event, catalogue::events().iter().map(|e| e.name))
            ),
        )
    })?;
    app.store.read(|state| {
        let organization = state
            .organization_by_slug(&fire.organization)
            .ok_or_else(|| {
                refused(
                    StatusCode::NOT_FOUND,
                    codes::ORGANIZATION_NOT_FOUND,
                    &format!(
                        "no organization `{}`{}",
                        fire.organization,
                        did_you_mean(
                            &fire.organization,
                            state.organizations.iter().map(|o| o.slug.as_str())
                        )
                    ),
                )
            })?;
        let folder = match &fire.folder {
            None => None,
            Some(slug) => Some(
                organization
                    .folders
                    .iter()
                    .find(|f| &f.slug == slug)
                    .cloned()
                    .ok_or_else(|| {
                        refused(
                            StatusCode::NOT_FOUND,
                            codes::NOT_FOUND,
                            &format!(
                                "organization `{}` has no folder `{slug}`{}",
                                organization.slug,
                                did_you_mean(
                                    slug,
                                    organization.folders.iter().map(|f| f.slug.as_str())
                                )
                            ),
                        )
                    })?,
            ),
        };
        Ok((event, organization.clone(), folder))
    })
}

/// Fires an event: queues a delivery for every webhook that receives it, due now, and says
/// which webhooks it was queued for and why the others were skipped.
async fn fire(State(app): State<App>, body: Result<Bytes, BytesRejection>) -> Response {
    let fire: Fire = match body
        .map_err(|err| err.body_text())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|err| err.to_string()))
    {
        Ok(fire) => fire,
        Err(problem) => return refused(StatusCode::BAD_REQUEST, codes::BAD_REQUEST, &problem),
    };
    let (event, organization, folder) = match resolve(&app, &fire) {
        Ok(resolved) => resolved,
        Err(response) => return response,
    };
    let payload = payload::body(&organization, event, folder.as_ref(), &app.store.ids);
    let bytes = payload.to_bytes();
    let text = String::from_utf8(bytes).expect("JSON is UTF-8");
    let now = app.store.clock.now_micros();
    let queued = app
        .store
        .mutate(|state| {
            let decisions = fanout::decide(state, &organization.uuid, event, folder.as_ref());
            let receiving = decisions.iter().filter(|(_, skip)| skip.is_none()).count();
            if state.delivery.queue.len() + receiving > MAX_QUEUED {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    codes::API_RATE_LIMIT_EXCEEDED,
                ));
            }
            let (mut queued, mut skipped, mut entries) = (Vec::new(), Vec::new(), Vec::new());
            for (webhook, skip) in decisions {
                let reference = WebhookRef {
                    uuid: webhook.uuid.clone(),
                    name: webhook.name.clone(),
                };
                if let Some(reason) = skip {
                    skipped.push(Skipped {
                        webhook: reference,
                        reason,
                    });
                    continue;
                }
                let id = app.store.ids.uuid();
                entries.push(Queued {
                    id: id.clone(),
                    webhook: webhook.uuid.clone(),
                    event: event.name.to_owned(),
                    body: text.clone(),
                    attempt: 1,
                    due_micros: now,
                });
                queued.push(QueuedFor {
                    delivery: id,
                    webhook: reference,
                    url: masked(&webhook.url),
                });
            }
            state.delivery.queue.extend(entries);
            Ok((queued, skipped))
        })
        .await;
    let (queued, skipped) = match queued {
        Ok(outcome) => outcome,
        Err(err) => return err.into_response(),
    };
    app.delivery.wake();
    let payload: serde_json::Value = serde_json::from_str(&text).expect("the body is JSON");
    json_response(
        StatusCode::OK,
        &json!({
            "event": event.name,
            "organization": {"uuid": organization.uuid, "slug": organization.slug},
            "folder": folder.map(|f| f.slug),
            "payload": payload,
            "queued": queued,
            "skipped": skipped,
        }),
    )
}

/// `GET /_emulator/deliveries`: every attempt kept, oldest first.
async fn deliveries(State(app): State<App>) -> Response {
    json_response(
        StatusCode::OK,
        &app.store.read(|state| state.delivery.attempts.clone()),
    )
}

/// `GET /_emulator/outbox`: every email kept, oldest first.
async fn outbox(State(app): State<App>) -> Response {
    json_response(
        StatusCode::OK,
        &app.store.read(|state| state.delivery.outbox.clone()),
    )
}
