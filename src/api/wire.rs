//! The wire format of the VNTANA Admin API (vntana-api.md): paths, headers, error codes, the
//! envelope and every request and response model. The client and the emulator both use these
//! types, so they cannot disagree about shape; field names follow the platform's OpenAPI.
//! Deserialisation is lenient where the real platform may be (nulls, missing optional fields,
//! `errors` as an object); serialisation is exactly what vntana-api.md shows.

use serde::{Deserialize, Deserializer, Serialize};

use super::ids::{EventUuid, FolderUuid, OrganizationUuid, WebhookUuid};
use super::redacted::{ApiKey, Password, Secret};

/// Request paths (the canonical form, without a trailing slash).
pub mod paths {
    use super::{OrganizationUuid, WebhookUuid};

    pub const LOGIN: &str = "/v1/auth/login";
    pub const LOGIN_WITH_KEY: &str = "/v1/auth/login/token";
    pub const REFRESH_TOKEN: &str = "/v1/auth/refresh-token";
    pub const LOGOUT: &str = "/v1/auth/logout";
    pub const ORGANIZATIONS: &str = "/v1/organizations";
    pub const FOLDERS: &str = "/v1/clients/client-organizations";
    pub const EVENTS: &str = "/v1/webhooks/events";
    pub const WEBHOOKS: &str = "/v1/webhooks";

    /// `GET/PUT/DELETE /v1/webhooks/{uuid}`.
    pub fn webhook(uuid: &WebhookUuid) -> String {
        format!("/v1/webhooks/{uuid}")
    }

    /// `PATCH /v1/webhooks/{uuid}/secret`.
    pub fn webhook_secret(uuid: &WebhookUuid) -> String {
        format!("/v1/webhooks/{uuid}/secret")
    }

    /// `GET /v1/webhooks/organization/{organizationUuid}`.
    pub fn organization_webhooks(organization: &OrganizationUuid) -> String {
        format!("/v1/webhooks/organization/{organization}")
    }
}

/// Header names. HTTP header names are case-insensitive; these are the spellings we send.
pub mod headers {
    /// Carries `Bearer <token>` on requests and the raw new token on sign-in answers.
    pub const AUTH_TOKEN: &str = "x-auth-token";
    /// The organization a refresh token is minted for.
    pub const ORGANIZATION_UUID: &str = "organizationUuid";
    /// The folder a folder token is minted for.
    pub const CLIENT_UUID: &str = "clientUuid";
    /// Seconds to wait after a 429.
    pub const RETRY_AFTER: &str = "retry-after";
    /// The scheme prefix of `X-AUTH-TOKEN` on requests.
    pub const BEARER_PREFIX: &str = "Bearer ";
}

/// Error codes of the envelope's `errors` (vntana-api.md, "Envelope and errors").
pub mod codes {
    pub const BAD_REQUEST: &str = "BAD_REQUEST";
    pub const UNAUTHORIZED: &str = "UNAUTHORIZED";
    pub const BAD_CREDENTIALS: &str = "BAD_CREDENTIALS";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const METHOD_NOT_ALLOWED: &str = "METHOD_NOT_ALLOWED";
    pub const WEBHOOK_NOT_FOUND: &str = "WEBHOOK_NOT_FOUND";
    pub const ORGANIZATION_NOT_FOUND: &str = "ORGANIZATION_NOT_FOUND";
    pub const CONFLICT: &str = "CONFLICT";
    pub const MISSING_NAME: &str = "MISSING_NAME";
    pub const MISSING_URL: &str = "MISSING_URL";
    pub const INVALID_URL: &str = "INVALID_URL";
    pub const MISSING_EVENTS: &str = "MISSING_EVENTS";
    pub const UNKNOWN_EVENT: &str = "UNKNOWN_EVENT";
    pub const UNKNOWN_CLIENT: &str = "UNKNOWN_CLIENT";
    pub const MISSING_USER_EMAIL: &str = "MISSING_USER_EMAIL";
    pub const INVALID_EMAIL: &str = "INVALID_EMAIL";
    pub const MISSING_ORGANIZATION_UUID: &str = "MISSING_ORGANIZATION_UUID";
    pub const INVALID_CLIENT_UUID: &str = "INVALID_CLIENT_UUID";
    pub const API_RATE_LIMIT_EXCEEDED: &str = "API_RATE_LIMIT_EXCEEDED";
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
    pub const BAD_GATEWAY: &str = "BAD_GATEWAY";
    pub const UNPROCESSABLE_ENTITY: &str = "UNPROCESSABLE_ENTITY";
}

/// Organization roles (vntana-api.md, "Token facts").
pub mod roles {
    pub const ORGANIZATION_OWNER: &str = "ORGANIZATION_OWNER";
    pub const ORGANIZATION_ADMIN: &str = "ORGANIZATION_ADMIN";
    pub const CLIENT_ORGANIZATION_ADMIN: &str = "CLIENT_ORGANIZATION_ADMIN";
    pub const CLIENT_ORGANIZATION_CONTENT_MANAGER: &str = "CLIENT_ORGANIZATION_CONTENT_MANAGER";
    pub const CLIENT_ORGANIZATION_VIEWER: &str = "CLIENT_ORGANIZATION_VIEWER";

    /// Whether a role may manage (read, list, create, change, delete) webhooks.
    pub fn may_manage_webhooks(role: &str) -> bool {
        role == ORGANIZATION_OWNER || role == ORGANIZATION_ADMIN
    }

    /// The phrase error messages use for the roles that may manage webhooks.
    pub const MANAGING_ROLES: &str = "ORGANIZATION_OWNER or ORGANIZATION_ADMIN";
}

/// Every response body: `{"success", "errors", "response"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub success: bool,
    #[serde(default, deserialize_with = "lenient_errors")]
    pub errors: Vec<String>,
    #[serde(default = "none")]
    pub response: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

impl<T> Envelope<T> {
    /// A success envelope.
    pub fn ok(response: T) -> Self {
        Envelope {
            success: true,
            errors: Vec::new(),
            response: Some(response),
        }
    }

    /// A failure envelope with `response: null`.
    pub fn failure(errors: Vec<String>) -> Self {
        Envelope {
            success: false,
            errors,
            response: None,
        }
    }
}

/// `errors` is an array; the published schema types it as an object on sign-in answers, and a
/// platform may send null. Anything but an array of strings reads as no codes.
fn lenient_errors<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    let value = serde_json::Value::deserialize(de)?;
    Ok(match value {
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                serde_json::Value::String(code) => code,
                other => other.to_string(),
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// Reads `null` as the type's default, so a platform sending `"description": null` is read
/// like one omitting it.
fn null_as_default<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

/// Reads a `null` list as empty.
fn null_as_empty<'de, D, T>(de: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(de)?.unwrap_or_default())
}

/// `{"totalCount", "grid"}`: every list. Webhook and event lists are not paginated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
pub struct Grid<T> {
    pub total_count: u64,
    #[serde(default = "Vec::new", deserialize_with = "null_as_empty")]
    pub grid: Vec<T>,
}

impl<T> Grid<T> {
    /// A grid whose `totalCount` is its length.
    pub fn of(grid: Vec<T>) -> Self {
        Grid {
            total_count: grid.len() as u64,
            grid,
        }
    }
}

/// `POST /v1/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignInRequest {
    #[serde(default, deserialize_with = "null_as_default")]
    pub email: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub password: Password,
}

/// `POST /v1/auth/login/token`: note the hyphenated field name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignInWithKeyRequest {
    #[serde(
        rename = "personal-access-token",
        default,
        deserialize_with = "null_as_default"
    )]
    pub personal_access_token: ApiKey,
}

/// The body of sign-in and refresh-token answers; the token itself travels in a header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub email: String,
}

/// One entry of `GET /v1/organizations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub uuid: OrganizationUuid,
    pub slug: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub role: String,
    #[serde(default)]
    pub image_blob_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created: String,
}

/// One entry of `GET /v1/clients/client-organizations`: a folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Folder {
    pub uuid: FolderUuid,
    pub slug: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default)]
    pub image_blob_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub role: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created: String,
}

/// One event of the catalogue (or of a webhook's subscription).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub uuid: EventUuid,
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
}

/// A category of events: the catalogue's grid entries, and a webhook's `events.grid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventCategory {
    #[serde(default, deserialize_with = "null_as_default")]
    pub uuid: String,
    pub category: String,
    pub total_count: u64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<Event>,
}

/// The event catalogue, `GET /v1/webhooks/events`.
pub type EventCatalogue = Grid<EventCategory>;

/// An event as a webhook request names it: the catalogue's information for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct EventRequest {
    #[serde(default, deserialize_with = "null_as_default")]
    pub uuid: EventUuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// The request model of create (`POST /v1/webhooks`) and update (`PUT /v1/webhooks/{uuid}`).
/// Update replaces the whole object: omitted lists become empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct WebhookRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<WebhookUuid>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub url: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub disable: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub user_email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_uuid: Option<OrganizationUuid>,
    /// Folder slugs; empty means the whole organization.
    #[serde(default, deserialize_with = "null_as_default")]
    pub clients: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<EventRequest>,
}

/// The webhook response model: every webhook operation answers with one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub uuid: WebhookUuid,
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub description: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub url: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub disable: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub secret: Secret,
    #[serde(default, deserialize_with = "null_as_default")]
    pub user_email: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub organization_uuid: OrganizationUuid,
    #[serde(default, deserialize_with = "null_as_default")]
    pub clients: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub created: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub updated: String,
    #[serde(default = "empty_events", deserialize_with = "events_or_empty")]
    pub events: Grid<EventCategory>,
}

fn empty_events() -> Grid<EventCategory> {
    Grid::of(Vec::new())
}

fn events_or_empty<'de, D: Deserializer<'de>>(de: D) -> Result<Grid<EventCategory>, D::Error> {
    Ok(Option::<Grid<EventCategory>>::deserialize(de)?.unwrap_or_else(empty_events))
}

impl Webhook {
    /// The names of the events the webhook is subscribed to, in the order the platform sent.
    pub fn event_names(&self) -> impl Iterator<Item = &str> {
        self.events
            .grid
            .iter()
            .flat_map(|c| c.events.iter().map(|e| e.name.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_envelope_serialises_with_a_null_response() {
        let envelope = Envelope::<Webhook>::failure(vec![codes::FORBIDDEN.to_owned()]);
        assert_eq!(
            serde_json::to_string(&envelope).unwrap(),
            r#"{"success":false,"errors":["FORBIDDEN"],"response":null}"#
        );
    }

    #[test]
    fn errors_given_as_an_object_or_null_read_as_no_codes() {
        let a: Envelope<SignInResponse> =
            serde_json::from_str(r#"{"success":true,"errors":{},"response":{"email":"a@b.c"}}"#)
                .unwrap();
        assert!(a.errors.is_empty());
        let b: Envelope<SignInResponse> =
            serde_json::from_str(r#"{"success":false,"errors":null,"response":null}"#).unwrap();
        assert!(b.errors.is_empty() && b.response.is_none());
    }

    #[test]
    fn the_key_sign_in_uses_the_hyphenated_field() {
        let body = SignInWithKeyRequest {
            personal_access_token: ApiKey::new("k"),
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"personal-access-token":"k"}"#
        );
    }

    #[test]
    fn a_webhook_with_nulls_reads_as_defaults() {
        let webhook: Webhook = serde_json::from_str(
            r#"{"uuid":"w","name":"n","description":null,"url":"https://x.example","disable":false,
                "secret":"s","userEmail":"a@b.co","organizationUuid":"o","clients":null,
                "created":"2022-06-20T14:42:15.488732","updated":null,"events":null}"#,
        )
        .unwrap();
        assert_eq!(webhook.description, "");
        assert!(webhook.clients.is_empty() && webhook.events.grid.is_empty());
    }
}
