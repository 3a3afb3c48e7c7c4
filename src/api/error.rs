//! The client's errors. Each message names the request (method and path: paths carry only
//! uuids, never a token), what the platform answered (status and its error codes), and what to
//! do. Causes travel as `#[source]`, never repeated in the message.

use reqwest::Method;

use super::wire::codes;

/// A failed API request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The platform answered with an error (any non-2xx, or `success: false`).
    #[error("{method} {path} failed: {status} {}{}", display_codes(.codes), hint(*.status, .codes, *.attempts))]
    Status {
        method: Method,
        path: String,
        status: u16,
        codes: Vec<String>,
        attempts: u32,
    },

    /// No answer within `--timeout`.
    #[error("{method} {path} failed: no answer within {timeout_ms} ms{}", attempts_note(*.attempts))]
    Timeout {
        method: Method,
        path: String,
        timeout_ms: u128,
        attempts: u32,
    },

    /// The connection could not be made or broke.
    #[error("{method} {path} failed: cannot reach {host}{}; check --api-url, the network and HTTPS_PROXY", attempts_note(*.attempts))]
    Transport {
        method: Method,
        path: String,
        host: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },

    /// A create that may or may not have been applied: the caller must re-list to find out.
    #[error(
        "{method} {path}: outcome unknown ({cause}); the change may have been applied, so re-list before retrying"
    )]
    OutcomeUnknown {
        method: Method,
        path: String,
        cause: String,
        /// Whether the platform answered (a 5xx): then a list read afterwards shows whether the
        /// change was made. Without an answer the request may still be in flight.
        answered: bool,
    },

    /// The answer is not the API's envelope, or not the expected model.
    #[error("{method} {path} failed: the answer is not the expected JSON ({status})")]
    Decode {
        method: Method,
        path: String,
        status: u16,
        #[source]
        source: crate::json_error::JsonError,
    },

    /// A sign-in or token answer without the `x-auth-token` header.
    #[error("{method} {path} failed: the answer carries no x-auth-token header")]
    MissingToken { method: Method, path: String },

    /// A list whose `totalCount` disagrees with its entries: never trusted.
    #[error(
        "{method} {path} failed: the list is inconsistent (totalCount {total_count}, {entries} entries); not trusting a partial list"
    )]
    PartialList {
        method: Method,
        path: String,
        total_count: u64,
        entries: usize,
    },
}

fn display_codes(codes: &[String]) -> String {
    if codes.is_empty() {
        "(no error code)".to_owned()
    } else {
        codes.join(", ")
    }
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    }
}

/// What to do about an error, by its codes (vntana-api.md, "Envelope and errors").
fn hint(status: u16, found: &[String], attempts: u32) -> String {
    let has = |code: &str| found.iter().any(|c| c == code);
    let advice = if has(codes::BAD_CREDENTIALS) {
        "the credentials were rejected; check VNTANA_API_KEY, or VNTANA_EMAIL and VNTANA_PASSWORD"
    } else if has(codes::UNAUTHORIZED) {
        "the token was not accepted; sign in again"
    } else if has(codes::FORBIDDEN) {
        "the token expired or was revoked, the resource belongs to another organization, or the role may not manage webhooks (needs ORGANIZATION_OWNER or ORGANIZATION_ADMIN)"
    } else if has(codes::WEBHOOK_NOT_FOUND) {
        "the webhook does not exist (any more); plan again"
    } else if has(codes::ORGANIZATION_NOT_FOUND) {
        "the organization does not exist or is not visible to this user"
    } else if has(codes::CONFLICT) {
        "the body's uuid differs from the path's"
    } else if status == 422 {
        "the platform rejected the webhook's fields (MISSING_* and INVALID_* name them)"
    } else if status == 429 {
        "rate limited; try again later"
    } else if status >= 500 {
        "the platform failed; try again later"
    } else {
        ""
    };
    let mut text = attempts_note(attempts);
    if !advice.is_empty() {
        text.push_str(": ");
        text.push_str(advice);
    }
    text
}

impl ApiError {
    /// The HTTP status, when the platform answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } | ApiError::Decode { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The API's error codes, when it sent some.
    pub fn codes(&self) -> &[String] {
        match self {
            ApiError::Status { codes, .. } => codes,
            _ => &[],
        }
    }

    /// Whether the answer carried `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.codes().iter().any(|c| c == code)
    }

    /// 404: the webhook or organization does not exist.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// 403 `FORBIDDEN`: expired or revoked token, another organization's resource, or a role
    /// that may not manage webhooks.
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(403) && self.has_code(codes::FORBIDDEN)
    }

    /// 401 `UNAUTHORIZED` or 403 `FORBIDDEN`: the answer to a token the platform no longer
    /// accepts (expired, revoked, or forgotten), and also to a real refusal; vntana-api.md,
    /// "Token facts": a client tells them apart before it signs in again.
    pub fn is_token_refused(&self) -> bool {
        (self.status() == Some(401) && self.has_code(codes::UNAUTHORIZED)) || self.is_forbidden()
    }

    /// A create whose outcome is unknown.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, ApiError::OutcomeUnknown { .. })
    }

    /// An unknown outcome after which the platform answered (a 5xx), so that a list read now
    /// tells whether the change was made; false without an answer (timeout, dropped
    /// connection), when the request may still be under way.
    pub fn outcome_settled_by_a_list(&self) -> bool {
        matches!(self, ApiError::OutcomeUnknown { answered: true, .. })
    }
}

/// Why a client cannot be built; raised before any request.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "invalid API url `{url}`: expected an absolute http(s) url such as https://api-platform.vntana.com"
    )]
    InvalidUrl { url: String },
    #[error(
        "refusing the plain-http API url `{url}`: only a loopback host (127.0.0.1, ::1, localhost) may use http; use https"
    )]
    InsecureUrl { url: String },
    #[error("cannot set up the HTTP client")]
    Build(#[source] reqwest::Error),
}
