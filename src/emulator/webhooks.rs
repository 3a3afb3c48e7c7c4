//! The event catalogue and the webhook endpoints (vntana-api.md, "Webhooks"). Every webhook
//! operation needs an organization token whose user is an owner or admin of it; another
//! organization's webhook is 403, a missing one 404.

use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::App;
use super::accounts::{caller, parse_json};
use super::catalogue;
use super::clock::format_timestamp;
use super::error::{ApiError, ok};
use super::state::{State as EmulatorState, StoredWebhook, TokenScope};
use super::validate::validate;
use crate::api::ids::{OrganizationUuid, WebhookUuid};
use crate::api::wire::{Grid, WebhookRequest, codes};

/// A path parameter (a webhook's or an organization's uuid). One that does not decode to UTF-8
/// names nothing, so it reads as an id no webhook or organization has: a 404 in the envelope
/// like any unknown uuid, after the token checks, never axum's plain-text 400.
pub struct Param(String);

impl<S: Send + Sync> FromRequestParts<S> for Param {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let value = Path::<String>::from_request_parts(parts, state)
            .await
            .map_or_else(|_| String::new(), |Path(value)| value);
        Ok(Param(value))
    }
}

/// The organization of an organization token whose user may manage its webhooks.
fn manager_of(app: &App, request: &HeaderMap) -> Result<OrganizationUuid, ApiError> {
    let caller = caller(app, request)?;
    let TokenScope::Organization { organization } = caller.scope else {
        return Err(ApiError::forbidden());
    };
    let allowed = app.store.read(|state| {
        state.organization(&organization).is_some()
            && state
                .user(&caller.user)
                .is_some_and(|u| u.may_manage_webhooks(&organization))
    });
    if allowed {
        Ok(organization)
    } else {
        Err(ApiError::forbidden())
    }
}

/// The webhook `uuid` if it belongs to `organization`: 404 if it does not exist, 403 if it is
/// another organization's.
fn owned<'a>(
    state: &'a EmulatorState,
    uuid: &WebhookUuid,
    organization: &OrganizationUuid,
) -> Result<&'a StoredWebhook, ApiError> {
    let webhook = state
        .webhook(uuid)
        .ok_or_else(ApiError::webhook_not_found)?;
    if &webhook.organization_uuid == organization {
        Ok(webhook)
    } else {
        Err(ApiError::forbidden())
    }
}

/// `GET /v1/webhooks/events`: any organization token, any role.
pub async fn events(State(app): State<App>, request: HeaderMap) -> Result<Response, ApiError> {
    match caller(&app, &request)?.scope {
        TokenScope::Organization { .. } => Ok(ok(&catalogue::full())),
        _ => Err(ApiError::forbidden()),
    }
}

/// `GET /v1/webhooks/organization/{organizationUuid}`.
pub async fn list(
    State(app): State<App>,
    Param(organization): Param,
    request: HeaderMap,
) -> Result<Response, ApiError> {
    let own = manager_of(&app, &request)?;
    let organization = OrganizationUuid::new(organization);
    let grid = app.store.read(|state| {
        if state.organization(&organization).is_none() {
            return Err(ApiError::organization_not_found());
        }
        if organization != own {
            return Err(ApiError::forbidden());
        }
        Ok(Grid::of(
            state
                .webhooks
                .iter()
                .filter(|w| w.organization_uuid == organization)
                .map(StoredWebhook::to_wire)
                .collect(),
        ))
    })?;
    Ok(ok(&grid))
}

/// `GET /v1/webhooks/{uuid}`.
pub async fn get(
    State(app): State<App>,
    Param(uuid): Param,
    request: HeaderMap,
) -> Result<Response, ApiError> {
    let organization = manager_of(&app, &request)?;
    let webhook = app.store.read(|state| {
        owned(state, &WebhookUuid::new(uuid), &organization).map(StoredWebhook::to_wire)
    })?;
    Ok(ok(&webhook))
}

/// Checks a request model's organization against the token's: absent means the token's.
fn check_organization(request: &WebhookRequest, own: &OrganizationUuid) -> Result<(), ApiError> {
    match &request.organization_uuid {
        Some(named) if !named.as_str().is_empty() && named != own => Err(ApiError::forbidden()),
        _ => Ok(()),
    }
}

/// `POST /v1/webhooks`.
pub async fn create(
    State(app): State<App>,
    request: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let organization = manager_of(&app, &request)?;
    let body: WebhookRequest = parse_json(body)?;
    check_organization(&body, &organization)?;
    let now = format_timestamp(app.store.clock.now_micros());
    let created = app
        .store
        .mutate(|state| {
            let org = state
                .organization(&organization)
                .ok_or_else(ApiError::forbidden)?;
            let valid = validate(&body, org).map_err(ApiError::unprocessable)?;
            let uuid = loop {
                let candidate = WebhookUuid::new(app.store.ids.uuid());
                if state.webhook(&candidate).is_none() {
                    break candidate;
                }
            };
            let webhook = StoredWebhook {
                uuid,
                organization_uuid: organization.clone(),
                name: body.name,
                description: body.description,
                url: body.url,
                disable: body.disable,
                secret: app.store.ids.secret(),
                user_email: body.user_email,
                clients: valid.clients,
                events: valid.events,
                created: now.clone(),
                updated: now,
            };
            let wire = webhook.to_wire();
            state.webhooks.push(webhook);
            Ok(wire)
        })
        .await?;
    Ok(ok(&created))
}

/// `PUT /v1/webhooks/{uuid}`: replaces the whole object (omitted lists become empty); keeps
/// the uuid, organization, secret and `created`.
pub async fn update(
    State(app): State<App>,
    Param(uuid): Param,
    request: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let organization = manager_of(&app, &request)?;
    let body: WebhookRequest = parse_json(body)?;
    let uuid = WebhookUuid::new(uuid);
    let now = format_timestamp(app.store.clock.now_micros());
    let updated = app
        .store
        .mutate(|state| {
            owned(state, &uuid, &organization)?;
            if body
                .uuid
                .as_ref()
                .is_some_and(|named| !named.as_str().is_empty() && named != &uuid)
            {
                return Err(ApiError::new(StatusCode::CONFLICT, codes::CONFLICT));
            }
            check_organization(&body, &organization)?;
            let org = state
                .organization(&organization)
                .ok_or_else(ApiError::forbidden)?;
            let valid = validate(&body, org).map_err(ApiError::unprocessable)?;
            let webhook = state
                .webhook_mut(&uuid)
                .ok_or_else(ApiError::webhook_not_found)?;
            webhook.name = body.name;
            webhook.description = body.description;
            webhook.url = body.url;
            webhook.disable = body.disable;
            webhook.user_email = body.user_email;
            webhook.clients = valid.clients;
            webhook.events = valid.events;
            webhook.updated = now;
            Ok(webhook.to_wire())
        })
        .await?;
    Ok(ok(&updated))
}

/// `DELETE /v1/webhooks/{uuid}`: answers with the deleted webhook.
pub async fn delete(
    State(app): State<App>,
    Param(uuid): Param,
    request: HeaderMap,
) -> Result<Response, ApiError> {
    let organization = manager_of(&app, &request)?;
    let uuid = WebhookUuid::new(uuid);
    let deleted = app
        .store
        .mutate(|state| {
            let wire = owned(state, &uuid, &organization)?.to_wire();
            state.webhooks.retain(|w| w.uuid != uuid);
            Ok(wire)
        })
        .await?;
    Ok(ok(&deleted))
}

/// `PATCH /v1/webhooks/{uuid}/secret`: a new secret, answered in the webhook.
pub async fn regenerate_secret(
    State(app): State<App>,
    Param(uuid): Param,
    request: HeaderMap,
) -> Result<Response, ApiError> {
    let organization = manager_of(&app, &request)?;
    let uuid = WebhookUuid::new(uuid);
    let now = format_timestamp(app.store.clock.now_micros());
    let rotated = app
        .store
        .mutate(|state| {
            owned(state, &uuid, &organization)?;
            let secret = app.store.ids.secret();
            let webhook = state
                .webhook_mut(&uuid)
                .ok_or_else(ApiError::webhook_not_found)?;
            webhook.secret = secret;
            webhook.updated = now;
            Ok(webhook.to_wire())
        })
        .await?;
    Ok(ok(&rotated))
}
