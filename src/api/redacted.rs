//! Strings that must never be printed: tokens, webhook secrets, API keys and passwords. Their
//! `Debug` and `Display` print `****`; the raw value is reachable only through `expose()`, so
//! every place that lets one out is easy to find.
//!
//! Defence in depth, as CI systems mask their secrets: the credentials a run uses (its API
//! key or password, the tokens it is given) are also registered with `never_show`, and the
//! printer masks every occurrence of them in every output (`mask_known`), even inside a value
//! read from the platform (a webhook url that a hostile config once pointed at the key).

use std::borrow::Cow;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a redacted value prints as.
pub const REDACTED: &str = "****";

macro_rules! redacted_string {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a raw value.
            pub fn new(raw: impl Into<String>) -> Self {
                Self(raw.into())
            }

            /// The raw value. Call only where product.md lets it appear, or to put it on the wire.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(REDACTED)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(REDACTED)
            }
        }
    };
}

redacted_string!(
    /// An authentication token (login, organization or folder), sent as `X-AUTH-TOKEN`.
    Token
);
redacted_string!(
    /// A webhook's signing secret.
    Secret
);
redacted_string!(
    /// A personal access token ("Authentication Key"), read from `VNTANA_API_KEY`.
    ApiKey
);
redacted_string!(
    /// A password, read from `VNTANA_PASSWORD`.
    Password
);

/// Values shorter than this are not masked: masking a two-letter password would garble every
/// line it happens to occur in.
const MIN_MASKED_CHARS: usize = 6;
/// Tokens kept for masking at most (a long `watch` mints new ones); credentials are few.
const MAX_MASKED_TOKENS: usize = 1024;

struct Known {
    credentials: Vec<String>,
    tokens: std::collections::VecDeque<String>,
}

static KNOWN: RwLock<Known> = RwLock::new(Known {
    credentials: Vec::new(),
    tokens: std::collections::VecDeque::new(),
});

/// What a credential or token is registered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The API key or password of the run: kept for the whole run.
    Credential,
    /// A token: the newest `MAX_MASKED_TOKENS` are kept.
    Token,
}

/// Registers `raw` as a value no output may show.
pub fn never_show(raw: &str, kind: Kind) {
    if raw.chars().count() < MIN_MASKED_CHARS {
        return;
    }
    let mut known = KNOWN
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if known
        .credentials
        .iter()
        .chain(&known.tokens)
        .any(|k| k == raw)
    {
        return;
    }
    match kind {
        Kind::Credential => known.credentials.push(raw.to_owned()),
        Kind::Token => {
            if known.tokens.len() == MAX_MASKED_TOKENS {
                known.tokens.pop_front();
            }
            known.tokens.push_back(raw.to_owned());
        }
    }
}

/// `text` with every registered value replaced by `****`.
pub fn mask_known(text: &str) -> Cow<'_, str> {
    let known = KNOWN
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut out = Cow::Borrowed(text);
    for value in known.credentials.iter().chain(&known.tokens) {
        if out.contains(value.as_str()) {
            out = Cow::Owned(out.replace(value.as_str(), REDACTED));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let token = Token::new("abc123");
        assert_eq!(
            format!("{token} {token:?} {:?}", Some(&token)),
            "**** **** Some(****)"
        );
        assert_eq!(format!("{:?}", Secret::new("s3cr3t")), "****");
        assert_eq!(token.expose(), "abc123");
    }

    #[test]
    fn serde_carries_the_raw_value() {
        let secret: Secret = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"abc\"");
    }

    #[test]
    fn registered_values_are_masked_wherever_they_occur() {
        never_show("key-4c1d-registered", Kind::Credential);
        never_show("tok", Kind::Token);
        assert_eq!(
            mask_known("https://x.example/?k=key-4c1d-registered&t=tok"),
            "https://x.example/?k=****&t=tok"
        );
        assert!(matches!(mask_known("nothing here"), Cow::Borrowed(_)));
    }
}
