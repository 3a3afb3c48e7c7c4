//! Signing and verifying webhook deliveries (vntana-api.md, "Delivery"): the signature is the
//! lowercase hex HMAC-SHA256, keyed by the webhook secret's UTF-8 bytes, of
//! `X-TIMESTAMP` + `#` + the raw body bytes.
//!
//! This is the library API a Rust receiver calls:
//!
//! ```
//! let secret = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
//! let timestamp = "2026-11-28T10:00:00.000Z";
//! let body = br#"{"event":"product.added"}"#;
//! let signature = vntana_webhooks::signature::sign(secret, timestamp, body);
//! assert!(vntana_webhooks::signature::verify(secret, timestamp, body, &signature));
//! assert!(!vntana_webhooks::signature::verify(secret, timestamp, b"{}", &signature));
//! ```

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header carrying the delivery time; receivers treat its value as opaque bytes.
pub const TIMESTAMP_HEADER: &str = "X-TIMESTAMP";
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-VNTANA-SIGNATURE";

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac takes any key");
    mac.update(timestamp.as_bytes());
    mac.update(b"#");
    mac.update(body);
    mac
}

/// The `X-VNTANA-SIGNATURE` value for a delivery: 64 lowercase hex characters.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// Whether `signature` is the signature of this delivery under `secret`.
///
/// The comparison of the MAC is constant-time. Only lowercase hex is accepted, as the platform
/// sends it; anything else (uppercase, a prefix, base64, surrounding whitespace) is invalid.
pub fn verify(secret: &str, timestamp: &str, body: &[u8], signature: &str) -> bool {
    if signature.len() != 64
        || !signature
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return false;
    }
    let Ok(tag) = hex::decode(signature) else {
        return false;
    };
    mac(secret, timestamp, body).verify_slice(&tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The known-answer vector of vntana-api.md, computed independently with Python's hmac.
    const SECRET: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    const TIMESTAMP: &str = "2026-11-28T10:00:00.000Z";
    const BODY: &str = r#"{"event":"product.added","organization":{"uuid":"7d1f0c2e-0000-4000-8000-000000000001"},"product":{"uuid":"3b6a1d9e-0000-4000-8000-000000000002","name":"Sneaker","status":"DRAFT"}}"#;
    const SIGNATURE: &str = "fe314f727e3152251a93b4038f6808974fa5aca952ea071e58d4e365d67442e6";

    #[test]
    fn signing_the_spec_vector_gives_the_spec_signature() {
        assert_eq!(sign(SECRET, TIMESTAMP, BODY.as_bytes()), SIGNATURE);
    }

    #[test]
    fn the_spec_vector_verifies() {
        assert!(verify(SECRET, TIMESTAMP, BODY.as_bytes(), SIGNATURE));
    }

    #[test]
    fn any_change_to_secret_timestamp_body_or_signature_fails_verification() {
        let body = BODY.as_bytes();
        assert!(!verify(
            &SECRET.replace('9', "8"),
            TIMESTAMP,
            body,
            SIGNATURE
        ));
        assert!(!verify(SECRET, "2026-11-28T10:00:00.001Z", body, SIGNATURE));
        assert!(!verify(
            SECRET,
            TIMESTAMP,
            BODY.replace("Sneaker", "Sneakers").as_bytes(),
            SIGNATURE
        ));
        assert!(!verify(
            SECRET,
            TIMESTAMP,
            &[body, b" "].concat(),
            SIGNATURE
        ));
        let mut flipped = SIGNATURE.to_owned();
        flipped.replace_range(63.., "7");
        assert!(!verify(SECRET, TIMESTAMP, body, &flipped));
    }

    #[test]
    fn signatures_in_another_encoding_are_rejected() {
        let body = BODY.as_bytes();
        assert!(!verify(SECRET, TIMESTAMP, body, &SIGNATURE.to_uppercase()));
        assert!(!verify(
            SECRET,
            TIMESTAMP,
            body,
            &format!("sha256={SIGNATURE}")
        ));
        assert!(!verify(SECRET, TIMESTAMP, body, &format!(" {SIGNATURE}")));
        assert!(!verify(SECRET, TIMESTAMP, body, ""));
        assert!(!verify(SECRET, TIMESTAMP, body, &SIGNATURE[..62]));
    }

    #[test]
    fn the_separator_is_part_of_the_message() {
        // Moving bytes between timestamp and body must change the signature.
        assert_ne!(sign(SECRET, "ab", b"c"), sign(SECRET, "a", b"bc"));
        assert_ne!(
            sign(SECRET, TIMESTAMP, b""),
            sign(SECRET, &format!("{TIMESTAMP}#"), b"")
        );
    }
}
