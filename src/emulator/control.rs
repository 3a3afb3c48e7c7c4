//! The control and inspection API under `/_emulator/` (product.md, "The emulator"): reset,
//! state, faults, the request log and the clock, with the delivery endpoints of
//! `delivery::routes`. No token; the emulator binds loopback, answers loopback hosts only, and
//! takes only JSON POSTs here (`origin`).
//! Answers are plain JSON; errors are the envelope with a `message` saying what is wrong.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::App;
use super::clock::format_timestamp;
use super::error::json_response;
use super::faults::FaultConfig;
use crate::api::wire::codes;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/state", get(state))
        .route(
            "/_emulator/faults",
            get(faults).post(install_faults).delete(clear_faults),
        )
        .route("/_emulator/requests", get(requests).delete(clear_requests))
        .route("/_emulator/clock", get(clock).post(advance_clock))
        .merge(super::delivery::routes())
        // Routed requests only, so an unknown control path stays 404.
        .route_layer(axum::middleware::from_fn(super::origin::json_posts_only))
}

fn bad_request(message: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"success": false, "errors": [codes::BAD_REQUEST], "response": null, "message": message}),
    )
}

fn parse<T: serde::de::DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, String> {
    let body = body.map_err(|err| err.body_text())?;
    serde_json::from_slice(&body).map_err(|err| err.to_string())
}

/// Back to the seed's state (so no queued delivery, attempt log or outbox); faults and the
/// request log are cleared too.
async fn reset(State(app): State<App>) -> Response {
    app.faults.clear();
    app.log.clear();
    match app.store.reset().await {
        Ok(()) => json_response(StatusCode::OK, &json!({"reset": true})),
        Err(err) => axum::response::IntoResponse::into_response(err),
    }
}

async fn state(State(app): State<App>) -> Response {
    json_response(StatusCode::OK, &app.store.snapshot())
}

async fn faults(State(app): State<App>) -> Response {
    json_response(StatusCode::OK, &app.faults.config())
}

async fn install_faults(State(app): State<App>, body: Result<Bytes, BytesRejection>) -> Response {
    let config: FaultConfig = match parse(body) {
        Ok(config) => config,
        Err(problem) => return bad_request(&problem),
    };
    match app.faults.install(config) {
        Ok(()) => json_response(StatusCode::OK, &app.faults.config()),
        Err(problem) => bad_request(&problem),
    }
}

async fn clear_faults(State(app): State<App>) -> Response {
    app.faults.clear();
    json_response(StatusCode::OK, &app.faults.config())
}

async fn requests(State(app): State<App>) -> Response {
    json_response(StatusCode::OK, &app.log.entries())
}

async fn clear_requests(State(app): State<App>) -> Response {
    app.log.clear();
    json_response(StatusCode::OK, &json!([]))
}

fn now(app: &App) -> Response {
    let micros = app.store.clock.now_micros();
    json_response(
        StatusCode::OK,
        &json!({"nowMs": micros.div_euclid(1000), "now": format_timestamp(micros)}),
    )
}

async fn clock(State(app): State<App>) -> Response {
    now(&app)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Advance {
    advance_ms: u64,
}

async fn advance_clock(State(app): State<App>, body: Result<Bytes, BytesRejection>) -> Response {
    match parse::<Advance>(body) {
        Ok(advance) => {
            app.store.clock.advance_millis(advance.advance_ms);
            // Retries may have fallen due.
            app.delivery.wake();
            now(&app)
        }
        Err(problem) => bad_request(&problem),
    }
}
