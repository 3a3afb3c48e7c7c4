//! Platform validation rules that the config loader checks before any request and the
//! emulator enforces with 422 codes, so both sides apply the same definition.

/// Whether `url` is an absolute http(s) url with a host (else the platform's `INVALID_URL`).
/// Stricter than a WHATWG parse, which would accept `http:host` or surrounding spaces.
pub fn is_valid_webhook_url(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return false;
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    // `https:///x` has no host; a WHATWG parse would take `x` for one.
    let after_scheme = url.split_once("://").map_or("", |(_, rest)| rest);
    if after_scheme.starts_with('/') || after_scheme.starts_with('\\') {
        return false;
    }
    url::Url::parse(url).is_ok_and(|parsed| parsed.host_str().is_some_and(|h| !h.is_empty()))
}

/// Whether `email` is valid (else the platform's `INVALID_EMAIL`): one `@`, a non-empty local
/// part, a domain with a dot, and no whitespace (product.md, "Fine points").
pub fn is_valid_email(email: &str) -> bool {
    if email.chars().any(char::is_whitespace) {
        return false;
    }
    let mut parts = email.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(local), Some(domain), None) => !local.is_empty() && domain.contains('.'),
        _ => false,
    }
}

/// Whether `host` is a loopback host: `localhost`, or a loopback IPv4/IPv6 address. Plain
/// http to the API, and the emulator's deliveries without `--allow-remote-delivery`, are
/// allowed only there.
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(domain) => domain.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Whether `url` parses and names a loopback host (see `is_loopback_host`).
pub fn is_loopback_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|parsed| parsed.host().is_some_and(|h| is_loopback_host(&h)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_localhost_and_loopback_addresses_are_loopback() {
        for loopback in [
            "http://127.0.0.1:9000/hook",
            "http://127.8.9.10/",
            "http://[::1]:80/",
            "http://LOCALHOST:1/",
        ] {
            assert!(is_loopback_url(loopback), "{loopback}");
        }
        for remote in [
            "https://pim.acme.example/hooks",
            "http://0.0.0.0:9000/",
            "http://10.0.0.1/",
            "http://localhost.example/",
            "not a url",
        ] {
            assert!(!is_loopback_url(remote), "{remote}");
        }
    }

    #[test]
    fn webhook_urls_must_be_absolute_http_with_a_host() {
        for good in [
            "https://pim.acme.example/hooks/vntana",
            "http://127.0.0.1:9000/",
            "HTTPS://EXAMPLE.COM",
            "https://user:pw@example.com/x?y=1",
        ] {
            assert!(is_valid_webhook_url(good), "{good}");
        }
        for bad in [
            "",
            "pim.acme.example",
            "ftp://example.com",
            "https://",
            "http:example.com",
            "http:/example.com",
            " https://example.com",
            "https://exa mple.com",
            "mailto:a@b.co",
            "/relative/path",
            "https:///hooks",
            "http:///",
        ] {
            assert!(!is_valid_webhook_url(bad), "{bad}");
        }
    }

    #[test]
    fn emails_need_one_at_a_local_part_and_a_dotted_domain() {
        for good in [
            "a@b.co",
            "pim-team@acme.example",
            "x.y+z@sub.domain.example",
        ] {
            assert!(is_valid_email(good), "{good}");
        }
        for bad in [
            "", "a", "@b.co", "a@b", "a@@b.co", "a@b@c.co", "a b@c.co", "a@b.co ", "a@",
        ] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }
}
