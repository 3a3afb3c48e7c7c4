//! Sign-in, token minting, organizations and folders (vntana-api.md, "Authentication").

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use super::App;
use super::auth::{Caller, authenticate, mint};
use super::error::{ApiError, ok};
use super::state::{State as EmulatorState, TokenScope, User};
use crate::api::ids::{FolderUuid, OrganizationUuid};
use crate::api::wire::{
    Grid, SignInRequest, SignInResponse, SignInWithKeyRequest, codes, headers, roles,
};

/// A JSON body, or 400 `BAD_REQUEST` (malformed JSON or a field of the wrong type).
pub fn parse_json<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let body = body.map_err(|_| ApiError::bad_request())?;
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| ApiError::bad_request())?;
    if !models_are_objects(&value) {
        return Err(ApiError::bad_request());
    }
    serde_json::from_slice(&body).map_err(|_| ApiError::bad_request())
}

/// Whether every model in a request body is a JSON object. Serde's derived types also read a
/// struct from an array (fields by position), which the platform would refuse as the wrong
/// type. Request models are objects at the top and inside lists (`events`); no request has a
/// list of lists, so an array directly inside an array always stands for a model.
fn models_are_objects(body: &serde_json::Value) -> bool {
    fn no_nested_arrays(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::Array(items) => items
                .iter()
                .all(|item| !item.is_array() && no_nested_arrays(item)),
            serde_json::Value::Object(fields) => fields.values().all(no_nested_arrays),
            _ => true,
        }
    }
    body.is_object() && no_nested_arrays(body)
}

/// The caller of a request, read under the state lock.
pub fn caller(app: &App, request: &HeaderMap) -> Result<Caller, ApiError> {
    let now = app.store.clock.now_micros();
    app.store.read(|state| authenticate(state, request, now))
}

/// `POST /v1/auth/login`.
pub async fn login(
    State(app): State<App>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: SignInRequest = parse_json(body)?;
    let password = request.password.expose().to_owned();
    sign_in(&app, move |user| {
        user.email.eq_ignore_ascii_case(&request.email)
            && !password.is_empty()
            && user.password.as_deref() == Some(password.as_str())
    })
    .await
}

/// `POST /v1/auth/login/token`.
pub async fn login_with_key(
    State(app): State<App>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: SignInWithKeyRequest = parse_json(body)?;
    let key = request.personal_access_token.expose().to_owned();
    sign_in(&app, move |user| {
        !key.is_empty() && user.api_key.as_deref() == Some(key.as_str())
    })
    .await
}

async fn sign_in(app: &App, matches: impl Fn(&User) -> bool) -> Result<Response, ApiError> {
    let now = app.store.clock.now_micros();
    let (token, email) = app
        .store
        .mutate(|state| {
            let user = state
                .users
                .iter()
                .find(|u| matches(u))
                .ok_or_else(ApiError::bad_credentials)?;
            let (uuid, email) = (user.uuid.clone(), user.email.clone());
            Ok((
                mint(state, &app.store.ids, now, &uuid, TokenScope::Login),
                email,
            ))
        })
        .await?;
    Ok(with_token(ok(&SignInResponse { email }), &token))
}

fn with_token(mut response: Response, token: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(token) {
        response.headers_mut().insert(headers::AUTH_TOKEN, value);
    }
    response
}

fn header<'a>(request: &'a HeaderMap, name: &str) -> Option<&'a str> {
    request
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// `POST /v1/auth/refresh-token`: an organization token (header `organizationUuid`, with a
/// login or organization token), or a folder token (also `clientUuid`, with an organization
/// token; only for non-admin roles).
pub async fn refresh_token(
    State(app): State<App>,
    request: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(&app, &request)?;
    let organization = header(&request, headers::ORGANIZATION_UUID)
        .map(OrganizationUuid::from)
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                codes::MISSING_ORGANIZATION_UUID,
            )
        })?;
    let folder = header(&request, headers::CLIENT_UUID).map(FolderUuid::from);
    let now = app.store.clock.now_micros();
    let (token, email) = app
        .store
        .mutate(|state| {
            let scope = token_scope(state, &caller, organization, folder)?;
            let email = state
                .user(&caller.user)
                .map(|u| u.email.clone())
                .unwrap_or_default();
            Ok((mint(state, &app.store.ids, now, &caller.user, scope), email))
        })
        .await?;
    Ok(with_token(ok(&SignInResponse { email }), &token))
}

/// The scope a refresh-token request may mint, or why not.
fn token_scope(
    state: &EmulatorState,
    caller: &Caller,
    organization: OrganizationUuid,
    folder: Option<FolderUuid>,
) -> Result<TokenScope, ApiError> {
    let org = state
        .organization(&organization)
        .ok_or_else(ApiError::organization_not_found)?;
    let user = state
        .user(&caller.user)
        .ok_or_else(ApiError::unauthorized)?;
    let membership = user
        .membership(&organization)
        .ok_or_else(ApiError::forbidden)?;
    let Some(folder) = folder else {
        return match caller.scope {
            TokenScope::Login | TokenScope::Organization { .. } => {
                Ok(TokenScope::Organization { organization })
            }
            TokenScope::Folder { .. } => Err(ApiError::forbidden()),
        };
    };
    if caller.scope
        != (TokenScope::Organization {
            organization: organization.clone(),
        })
    {
        return Err(ApiError::forbidden());
    }
    if roles::may_manage_webhooks(&membership.role) {
        // Organization owners and admins have no folder tokens: 403 BAD_CREDENTIALS.
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            codes::BAD_CREDENTIALS,
        ));
    }
    if org.folder(&folder).is_none() {
        return Err(ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            codes::INVALID_CLIENT_UUID,
        ));
    }
    if !membership.sees_folder(&folder) {
        return Err(ApiError::forbidden());
    }
    Ok(TokenScope::Folder {
        organization,
        folder,
    })
}

/// `POST /v1/auth/logout` (in the platform's OpenAPI, not in vntana-api.md): expires the
/// token it is called with; answers an empty object.
pub async fn logout(State(app): State<App>, request: HeaderMap) -> Result<Response, ApiError> {
    caller(&app, &request)?;
    let raw = request
        .get(headers::AUTH_TOKEN)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(_, token)| token.trim().to_owned())
        .unwrap_or_default();
    app.store
        .mutate(|state| {
            for record in state.tokens.iter_mut().filter(|t| t.token == raw) {
                record.revoked = true;
            }
            Ok(())
        })
        .await?;
    Ok(ok(&serde_json::json!({})))
}

/// `GET /v1/organizations`: with a login or organization token.
pub async fn organizations(
    State(app): State<App>,
    request: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(&app, &request)?;
    if matches!(caller.scope, TokenScope::Folder { .. }) {
        return Err(ApiError::forbidden());
    }
    let grid = app.store.read(|state| {
        let user = state
            .user(&caller.user)
            .ok_or_else(ApiError::unauthorized)?;
        Ok::<_, ApiError>(Grid::of(
            user.memberships
                .iter()
                .filter_map(|m| {
                    state
                        .organization(&m.organization)
                        .map(|o| o.to_wire(&m.role))
                })
                .collect(),
        ))
    })?;
    Ok(ok(&grid))
}

/// `GET /v1/clients/client-organizations`: the folders of the token's organization the user
/// sees (a folder token sees its own folder).
pub async fn folders(State(app): State<App>, request: HeaderMap) -> Result<Response, ApiError> {
    let caller = caller(&app, &request)?;
    let (organization, only) = match caller.scope {
        TokenScope::Login => return Err(ApiError::forbidden()),
        TokenScope::Organization { organization } => (organization, None),
        TokenScope::Folder {
            organization,
            folder,
        } => (organization, Some(folder)),
    };
    let grid = app.store.read(|state| {
        let org = state
            .organization(&organization)
            .ok_or_else(ApiError::forbidden)?;
        let user = state
            .user(&caller.user)
            .ok_or_else(ApiError::unauthorized)?;
        let membership = user
            .membership(&organization)
            .ok_or_else(ApiError::forbidden)?;
        Ok::<_, ApiError>(Grid::of(
            org.folders
                .iter()
                .filter(|f| only.as_ref().is_none_or(|only| only == &f.uuid))
                .filter(|f| membership.sees_folder(&f.uuid))
                .map(|f| f.to_wire(&membership.role))
                .collect(),
        ))
    })?;
    Ok(ok(&grid))
}
