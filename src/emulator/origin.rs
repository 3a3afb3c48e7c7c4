//! Who may call the emulator (issue 15). It holds every password, API key, token and secret of
//! its state and answers `/_emulator/state` without a token, so it must never be a web page's
//! target:
//! - every request, `/v1` and `/_emulator` alike, must name in its `Host` header a loopback
//!   host (`localhost`, `127.x.y.z`, `[::1]`, any port), the address given to `--listen`, or a
//!   host given to `--allow-host`, else 403 `HOST_NOT_ALLOWED`. A page that rebinds its own
//!   DNS name to 127.0.0.1 (DNS rebinding) still sends its own name, so it is refused; the
//!   API routes need this as much as the control API, since the seed's demo key, printed at
//!   start-up, signs in and reads every webhook's secret.
//! - a `POST` to the control API must say `Content-Type: application/json`, else 415
//!   `UNSUPPORTED_MEDIA_TYPE`: a page may send `text/plain`, form and multipart POSTs to any
//!   origin without asking (CSRF), but a JSON one only after a CORS preflight, which the
//!   emulator never grants. The API routes keep the platform's rules (vntana-api.md): they
//!   need a token header, which a page cannot send cross-origin without a preflight either.
//!
//! It decides admission only; it never reads a body.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::uri::Authority;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use url::Host;

use super::error::ApiError;
use crate::api::rules::is_loopback_host;

/// 403: the request's `Host` is not one the emulator answers to.
pub const HOST_NOT_ALLOWED: &str = "HOST_NOT_ALLOWED";
/// 415: a control API `POST` that is not `Content-Type: application/json`.
pub const UNSUPPORTED_MEDIA_TYPE: &str = "UNSUPPORTED_MEDIA_TYPE";

/// The hosts, besides loopback ones, that requests may name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    extra: Vec<Host<String>>,
}

impl AllowedHosts {
    /// Loopback hosts, `listen` when it is a specific address that is not loopback (an
    /// unspecified one, `0.0.0.0` or `::`, is no host a client can name), and `extra`.
    pub fn new(listen: IpAddr, extra: &[Host<String>]) -> AllowedHosts {
        let mut extra = extra.to_vec();
        if !listen.is_loopback() && !listen.is_unspecified() {
            extra.push(match listen {
                IpAddr::V4(ip) => Host::Ipv4(ip),
                IpAddr::V6(ip) => Host::Ipv6(ip),
            });
        }
        AllowedHosts { extra }
    }

    /// Whether a `Host` header (or a request target's authority) names an allowed host, with
    /// or without a port.
    pub fn allows(&self, authority: &str) -> bool {
        let Some(host) = host_part(authority).and_then(|h| Host::parse(h).ok()) else {
            return false;
        };
        let borrowed = match &host {
            Host::Domain(domain) => Host::Domain(domain.as_str()),
            Host::Ipv4(ip) => Host::Ipv4(*ip),
            Host::Ipv6(ip) => Host::Ipv6(*ip),
        };
        is_loopback_host(&borrowed) || self.extra.contains(&host)
    }
}

/// Parses a `--allow-host` value: a name or an IP address (IPv6 in brackets), no port.
pub fn parse_host(value: &str) -> Result<Host<String>, String> {
    if value.is_empty() || value.contains(['/', '@']) || host_part(value) != Some(value) {
        return Err(format!(
            "`{value}` is not a host name or IP address (without a port)"
        ));
    }
    Host::parse(value).map_err(|err| format!("`{value}` is not a host: {err}"))
}

/// The host of `host[:port]` or `[v6][:port]`; `None` when the port is not a number.
fn host_part(authority: &str) -> Option<&str> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        authority.split_at(end + 1)
    } else {
        match authority.rfind(':') {
            Some(colon) => authority.split_at(colon),
            None => (authority, ""),
        }
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    (port_ok && !host.is_empty()).then_some(host)
}

/// Refuses a request whose `Host` (exactly one) or absolute target names another host.
pub async fn hosts_only(
    State(allowed): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(host), None) => host.to_str().ok(),
        _ => None,
    };
    let target = request.uri().authority().map(Authority::as_str);
    let admitted =
        host.is_some_and(|h| allowed.allows(h)) && target.is_none_or(|t| allowed.allows(t));
    if !admitted {
        return ApiError::new(StatusCode::FORBIDDEN, HOST_NOT_ALLOWED).into_response();
    }
    next.run(request).await
}

/// Refuses a `POST` that does not say its body is JSON (routed control requests only).
pub async fn json_posts_only(request: Request, next: Next) -> Response {
    if request.method() == Method::POST && !says_json(request.headers()) {
        return ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, UNSUPPORTED_MEDIA_TYPE)
            .into_response();
    }
    next.run(request).await
}

/// `Content-Type: application/json`, any case, parameters (`; charset=utf-8`) allowed.
fn says_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_allowed_with_or_without_a_port_and_others_are_not() {
        let allowed = AllowedHosts::new([127, 0, 0, 1].into(), &[]);
        for host in [
            "localhost",
            "LOCALHOST:8787",
            "127.0.0.1",
            "127.0.0.1:8787",
            "127.8.9.10:1",
            "[::1]",
            "[::1]:8787",
        ] {
            assert!(allowed.allows(host), "{host}");
        }
        for host in [
            "attacker.example",
            "attacker.example:8787",
            "localhost.attacker.example",
            "127.0.0.1.nip.io",
            "192.168.1.5:8787",
            "[::2]:8787",
            "::1",
            "127.0.0.1:",
            "127.0.0.1:80x",
            "user@127.0.0.1",
            "",
        ] {
            assert!(!allowed.allows(host), "{host}");
        }
    }

    #[test]
    fn a_specific_listen_address_and_allowed_hosts_are_allowed_too() {
        let extra = [
            parse_host("emulator").unwrap(),
            parse_host("[fd00::7]").unwrap(),
        ];
        let allowed = AllowedHosts::new([192, 168, 1, 5].into(), &extra);
        for host in [
            "192.168.1.5:8787",
            "192.168.1.5",
            "emulator:8787",
            "EMULATOR",
            "[fd00::7]:1",
        ] {
            assert!(allowed.allows(host), "{host}");
        }
        assert!(!allowed.allows("192.168.1.6:8787"));
        // 0.0.0.0 is not a host anyone can name: only loopback and explicit hosts.
        let wildcard = AllowedHosts::new([0, 0, 0, 0].into(), &[]);
        assert!(!wildcard.allows("0.0.0.0:8787"));
        assert!(wildcard.allows("localhost:8787"));
    }

    #[test]
    fn an_allowed_host_is_a_bare_name_or_address() {
        for bad in ["", "emulator:8787", "http://emulator", "a@b", "[::1", "a b"] {
            assert!(parse_host(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_host("10.0.0.7"), Ok(Host::Ipv4([10, 0, 0, 7].into())));
    }

    #[test]
    fn only_application_json_is_json() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
            says_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("multipart/form-data; boundary=x"));
        assert!(!with("application/jsonx"));
        assert!(!says_json(&HeaderMap::new()));
    }
}
