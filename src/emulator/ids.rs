//! Where the emulator's uuids, secrets, tokens and made-up names come from: the OS's
//! randomness, or a seeded generator in deterministic mode, so that a test can know them in
//! advance.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[derive(Debug)]
pub struct IdSource {
    rng: Mutex<StdRng>,
}

impl IdSource {
    /// Unpredictable ids.
    pub fn random() -> Self {
        IdSource {
            rng: Mutex::new(rand::make_rng()),
        }
    }

    /// The same sequence for the same seed.
    pub fn seeded(seed: u64) -> Self {
        IdSource {
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    fn bytes<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        self.rng
            .lock()
            .expect("id source lock")
            .fill_bytes(&mut out);
        out
    }

    /// A random (version 4) uuid.
    pub fn uuid(&self) -> String {
        uuid::Builder::from_random_bytes(self.bytes())
            .into_uuid()
            .to_string()
    }

    /// A webhook secret: 64 lowercase hex characters (vntana-api.md).
    pub fn secret(&self) -> String {
        hex::encode(self.bytes::<32>())
    }

    /// A number below `len` (which must not be 0), to pick realistic names for event bodies.
    pub fn index(&self, len: usize) -> usize {
        let len = u64::try_from(len).unwrap_or(u64::MAX).max(1);
        usize::try_from(u64::from_le_bytes(self.bytes()) % len).unwrap_or(0)
    }

    /// An opaque authentication token.
    pub fn token(&self) -> String {
        format!("emu.{}", hex::encode(self.bytes::<24>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_source_repeats_and_secrets_are_64_lowercase_hex() {
        let (a, b) = (IdSource::seeded(7), IdSource::seeded(7));
        assert_eq!(a.uuid(), b.uuid());
        let secret = a.secret();
        assert_eq!(secret, b.secret());
        assert_eq!(secret.len(), 64);
        assert!(
            secret
                .bytes()
                .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        );
        assert_ne!(IdSource::random().uuid(), IdSource::random().uuid());
    }
}
