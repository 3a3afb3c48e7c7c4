//! The `--secrets-out` file (product.md, "Identity, ownership, rotation"): new secrets from
//! creates and rotations, `{"org/name": {"uuid", "secret", "previousSecret"?}}`, merged with
//! what the file holds, rewritten atomically (mode 0600) after each new secret, so a crash
//! loses none that the platform already issued. The one place besides `secret` that a webhook
//! secret is written out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::api::redacted::Secret;

/// One webhook's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub uuid: String,
    pub secret: Secret,
    /// The secret a rotation replaced, so receivers can accept both during a rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret: Option<Secret>,
}

/// A secrets file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SecretsFileError {
    #[error("cannot read the secrets file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the secrets file {path} is not a JSON object of {{\"org/name\": {{\"uuid\", \"secret\"}}}}; move it away or fix it"
    )]
    Parse {
        path: String,
        #[source]
        source: crate::json_error::JsonError,
    },
    #[error("cannot write the secrets file {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Reads a secrets file; a missing one is empty.
pub fn read(path: &Path) -> Result<BTreeMap<String, Entry>, SecretsFileError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| SecretsFileError::Parse {
            path: path.display().to_string(),
            source: source.into(),
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(source) => Err(SecretsFileError::Read {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// The `--secrets-out` file, written one entry at a time.
#[derive(Debug)]
pub struct SecretsOut {
    path: PathBuf,
    /// Serialises the read-merge-write of concurrent actions.
    lock: tokio::sync::Mutex<()>,
}

impl SecretsOut {
    /// Checks that the file, if it exists, can be read, before anything is changed.
    pub fn open(path: &Path) -> Result<SecretsOut, SecretsFileError> {
        read(path)?;
        Ok(SecretsOut {
            path: path.to_path_buf(),
            lock: tokio::sync::Mutex::new(()),
        })
    }

    /// Records a new secret for `key` (`org/name`), merged with the file's other entries.
    pub async fn record(&self, key: &str, entry: Entry) -> Result<(), SecretsFileError> {
        let _guard = self.lock.lock().await;
        let mut entries = read(&self.path)?;
        entries.insert(key.to_owned(), entry);
        let mut text = serde_json::to_string_pretty(&entries).expect("secrets serialise");
        text.push('\n');
        crate::atomic_file::write(&self.path, text.as_bytes()).map_err(|source| {
            SecretsFileError::Write {
                path: self.path.display().to_string(),
                source,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_merge_into_the_file_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        std::fs::write(&path, r#"{"a/old": {"uuid": "u0", "secret": "s0"}}"#).unwrap();
        let out = SecretsOut::open(&path).unwrap();
        out.record(
            "a/new",
            Entry {
                uuid: "u1".into(),
                secret: Secret::new("s1"),
                previous_secret: None,
            },
        )
        .await
        .unwrap();
        out.record(
            "a/old",
            Entry {
                uuid: "u0".into(),
                secret: Secret::new("s2"),
                previous_secret: Some(Secret::new("s0")),
            },
        )
        .await
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"a/new": {"uuid": "u1", "secret": "s1"}, "a/old": {"uuid": "u0", "secret": "s2", "previousSecret": "s0"}})
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn an_unreadable_file_is_refused_before_anything_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        std::fs::write(&path, "not json").unwrap();
        assert!(matches!(
            SecretsOut::open(&path),
            Err(SecretsFileError::Parse { .. })
        ));
    }
}
