//! The emulator's token rules (vntana-api.md, "Authentication"): reading `X-AUTH-TOKEN:
//! Bearer <token>`, telling unknown (401) from expired or revoked (403) tokens, and minting
//! tokens, where a new organization or folder token revokes the same user's previous one.

use axum::http::HeaderMap;

use super::error::ApiError;
use super::ids::IdSource;
use super::state::{State, TokenRecord, TokenScope};
use crate::api::ids::UserUuid;
use crate::api::wire::headers;

/// Tokens expire 30 days after they are minted.
pub const TOKEN_LIFETIME_MICROS: i64 = 30 * 24 * 3600 * 1_000_000;

/// How long an expired token is remembered, so that its use still answers 403 (expired), not
/// 401 (never issued). After that it is forgotten, so the state does not grow without bound.
pub const EXPIRED_TOKEN_RETENTION_MICROS: i64 = TOKEN_LIFETIME_MICROS;

/// Who is calling, with what kind of token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: UserUuid,
    pub scope: TokenScope,
}

/// The caller of a request: 401 `UNAUTHORIZED` without a well-formed bearer token or for a
/// token never issued; 403 `FORBIDDEN` for an expired or revoked one.
pub fn authenticate(
    state: &State,
    request: &HeaderMap,
    now_micros: i64,
) -> Result<Caller, ApiError> {
    let value = request
        .get(headers::AUTH_TOKEN)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(ApiError::unauthorized)?;
    let raw = bearer_token(value).ok_or_else(ApiError::unauthorized)?;
    let record = state.token(raw).ok_or_else(ApiError::unauthorized)?;
    if record.revoked || record.expires_micros <= now_micros {
        return Err(ApiError::forbidden());
    }
    if state.user(&record.user).is_none() {
        return Err(ApiError::unauthorized());
    }
    Ok(Caller {
        user: record.user.clone(),
        scope: record.scope.clone(),
    })
}

/// The token of a `Bearer <token>` header value (the scheme is case-insensitive).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// Mints a token; an organization or folder token revokes the user's earlier live ones of the
/// same scope. Returns the raw token.
pub fn mint(
    state: &mut State,
    ids: &IdSource,
    now_micros: i64,
    user: &UserUuid,
    scope: TokenScope,
) -> String {
    if scope != TokenScope::Login {
        for earlier in state
            .tokens
            .iter_mut()
            .filter(|t| &t.user == user && t.scope == scope)
        {
            earlier.revoked = true;
        }
    }
    // Drop tokens long dead so the state does not grow without bound. Expired and revoked
    // ones are kept for a while after they expire: their use must answer 403, not 401.
    state.tokens.retain(|t| {
        t.expires_micros
            .saturating_add(EXPIRED_TOKEN_RETENTION_MICROS)
            > now_micros
    });
    let token = loop {
        let candidate = ids.token();
        if state.token(&candidate).is_none() {
            break candidate;
        }
    };
    state.tokens.push(TokenRecord {
        token: token.clone(),
        user: user.clone(),
        scope,
        expires_micros: now_micros.saturating_add(TOKEN_LIFETIME_MICROS),
        revoked: false,
    });
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_bearer_scheme_with_one_token_is_accepted() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer a b"), None);
    }

    #[test]
    fn an_expired_token_is_remembered_for_a_while_after_later_mints() {
        let mut state = State {
            format_version: 1,
            users: Vec::new(),
            organizations: Vec::new(),
            webhooks: Vec::new(),
            tokens: Vec::new(),
            delivery: crate::emulator::delivery::DeliveryState::default(),
        };
        let (ids, user) = (IdSource::seeded(1), UserUuid::new("u"));
        let first = mint(&mut state, &ids, 0, &user, TokenScope::Login);
        let expired = TOKEN_LIFETIME_MICROS + 1;
        mint(&mut state, &ids, expired, &user, TokenScope::Login);
        assert!(state.token(&first).is_some(), "still answers 403");
        mint(
            &mut state,
            &ids,
            expired + EXPIRED_TOKEN_RETENTION_MICROS,
            &user,
            TokenScope::Login,
        );
        assert!(state.token(&first).is_none(), "forgotten in the end");
    }
}
