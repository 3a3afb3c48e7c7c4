//! The API's base url: parsed and checked before any request. Plain http is refused unless
//! the host is loopback (product.md, "Other commands"), so credentials never cross a network
//! unencrypted; a loopback url is also never proxied (the client's business). Messages show
//! the url with any password masked.

use url::{Host, Url};

use super::error::ClientError;

/// A checked base url, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    base: Url,
}

pub use crate::model::masked_url as masked;

fn is_loopback(host: Option<&Host<&str>>) -> bool {
    host.is_some_and(super::rules::is_loopback_host)
}

impl Endpoint {
    /// Checks `url`: https, or http on a loopback host.
    pub fn parse(url: &str) -> Result<Endpoint, ClientError> {
        let invalid = || ClientError::InvalidUrl { url: masked(url) };
        let base = Url::parse(url.trim()).map_err(|_| invalid())?;
        if base.host_str().is_none_or(str::is_empty) || base.cannot_be_a_base() {
            return Err(invalid());
        }
        match base.scheme() {
            "https" => {}
            "http" if is_loopback(base.host().as_ref()) => {}
            "http" => return Err(ClientError::InsecureUrl { url: masked(url) }),
            _ => return Err(invalid()),
        }
        Ok(Endpoint { base })
    }

    /// The full url of an API path such as `/v1/organizations`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_str().trim_end_matches('/'))
    }

    /// The base url for messages, any password masked, without a trailing slash.
    pub fn shown(&self) -> String {
        masked(self.base.as_str()).trim_end_matches('/').to_owned()
    }

    /// Whether the host is loopback (127.0.0.0/8, ::1, localhost): the emulator, or a tunnel
    /// on this machine. Such a url is never sent through a proxy.
    pub fn is_loopback(&self) -> bool {
        is_loopback(self.base.host().as_ref())
    }

    /// The host, for messages.
    pub fn host(&self) -> String {
        match self.base.port() {
            Some(port) => format!("{}:{port}", self.base.host_str().unwrap_or_default()),
            None => self.base.host_str().unwrap_or_default().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_only_on_loopback_are_accepted() {
        for good in [
            "https://api-platform.vntana.com",
            "https://api.example/",
            "http://127.0.0.1:8787",
            "http://127.1.2.3:1",
            "http://[::1]:8787",
            "http://localhost:8787/",
        ] {
            assert!(Endpoint::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn loopback_hosts_are_known_whatever_the_scheme() {
        for (url, loopback) in [
            ("https://api-platform.vntana.com", false),
            ("https://127.0.0.1.example", false),
            ("http://127.1.2.3:1", true),
            ("http://[::1]:8787", true),
            ("http://LOCALHOST:8787/", true),
            ("https://localhost:8443", true),
        ] {
            assert_eq!(
                Endpoint::parse(url).unwrap().is_loopback(),
                loopback,
                "{url}"
            );
        }
    }

    #[test]
    fn plain_http_elsewhere_and_non_urls_are_refused() {
        let err = Endpoint::parse("http://api-platform.vntana.com").unwrap_err();
        assert!(matches!(err, ClientError::InsecureUrl { .. }), "{err}");
        let err = Endpoint::parse("http://10.0.0.1:8787").unwrap_err();
        assert!(matches!(err, ClientError::InsecureUrl { .. }), "{err}");
        for bad in ["", "api-platform.vntana.com", "ftp://x.example", "https://"] {
            assert!(
                matches!(Endpoint::parse(bad), Err(ClientError::InvalidUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_password_in_the_url_is_masked_in_errors() {
        let err = Endpoint::parse("http://user:hunter2@example.com")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2") && err.contains("****"), "{err}");
    }

    #[test]
    fn paths_join_without_a_double_slash() {
        let endpoint = Endpoint::parse("http://127.0.0.1:1/").unwrap();
        assert_eq!(
            endpoint.url("/v1/organizations"),
            "http://127.0.0.1:1/v1/organizations"
        );
        assert_eq!(endpoint.host(), "127.0.0.1:1");
    }
}
