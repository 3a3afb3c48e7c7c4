//! Every answer of the emulator's API is the platform's envelope. `ApiError` is the one error
//! type of the route handlers; it renders `{"success": false, "errors": [...], "response": null}`
//! with the spec's status (never an HTML page or an empty body).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::api::wire::{Envelope, codes, headers};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub codes: Vec<&'static str>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str) -> Self {
        ApiError {
            status,
            codes: vec![code],
            retry_after: None,
        }
    }

    pub fn bad_request() -> Self {
        Self::new(StatusCode::BAD_REQUEST, codes::BAD_REQUEST)
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, codes::UNAUTHORIZED)
    }

    pub fn bad_credentials() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, codes::BAD_CREDENTIALS)
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, codes::FORBIDDEN)
    }

    pub fn webhook_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, codes::WEBHOOK_NOT_FOUND)
    }

    pub fn organization_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, codes::ORGANIZATION_NOT_FOUND)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL_SERVER_ERROR,
        )
    }

    /// 422 with every validation code found.
    pub fn unprocessable(found: Vec<&'static str>) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            codes: found,
            retry_after: None,
        }
    }

    /// The error an injected fault answers with for `status`.
    pub fn for_status(status: StatusCode, retry_after: Option<u64>) -> Self {
        let code = match status.as_u16() {
            400 => codes::BAD_REQUEST,
            401 => codes::UNAUTHORIZED,
            403 => codes::FORBIDDEN,
            404 => codes::NOT_FOUND,
            405 => codes::METHOD_NOT_ALLOWED,
            409 => codes::CONFLICT,
            422 => codes::UNPROCESSABLE_ENTITY,
            429 => codes::API_RATE_LIMIT_EXCEEDED,
            502 => codes::BAD_GATEWAY,
            _ if status.is_server_error() => codes::INTERNAL_SERVER_ERROR,
            _ => codes::BAD_REQUEST,
        };
        ApiError {
            status,
            codes: vec![code],
            retry_after,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let envelope =
            Envelope::<()>::failure(self.codes.iter().map(|c| (*c).to_owned()).collect());
        let mut response = json_response(self.status, &envelope);
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(headers::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A 200 success envelope around `body`.
pub fn ok<T: Serialize>(body: &T) -> Response {
    json_response(StatusCode::OK, &Envelope::ok(body))
}

/// `value` as a JSON response with `status`.
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response(),
        // Our own types always serialise; this is only a last resort without a panic.
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
