//! Strings that must never be printed: tokens, webhook secrets, API keys and passwords. Their
//! `Debug` and `Display` print `****`; the raw value is reachable only through `expose()`, so
//! every place that lets one out is easy to find.

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
}
