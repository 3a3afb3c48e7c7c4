//! The secrets `listen` checks deliveries with: every `secret` and `previousSecret` of a
//! `--secrets-out` file, re-read when the file changes (its modification time, size or inode,
//! looked at on each delivery) and kept as last read when the file becomes unreadable. It
//! never shows a secret: problems with the file are described without its contents.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use crate::secrets_out::{self, Entry, SecretsFileError};
use crate::signature;

/// Which secret verified a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The current secret of this `org/name`.
    Current(String),
    /// The secret a rotation replaced, of this `org/name`.
    Previous(String),
    /// No secret of the file.
    Unverified,
}

/// The secrets of one reading of the file.
#[derive(Debug, Default)]
pub struct Keyring {
    entries: BTreeMap<String, Entry>,
}

impl Keyring {
    /// How many webhooks it holds secrets of.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no secret at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Checks a delivery against every current secret, then every previous one, in `org/name`
    /// order, so a secret both current and previous counts as current.
    pub fn verify(&self, timestamp: &str, body: &[u8], signature: &str) -> Verdict {
        let matches = |secret: &str| signature::verify(secret, timestamp, body, signature);
        if let Some(key) = self
            .entries
            .iter()
            .find(|(_, e)| matches(e.secret.expose()))
            .map(|(k, _)| k)
        {
            return Verdict::Current(key.clone());
        }
        self.entries
            .iter()
            .find(|(_, e)| {
                e.previous_secret
                    .as_ref()
                    .is_some_and(|p| matches(p.expose()))
            })
            .map_or(Verdict::Unverified, |(k, _)| Verdict::Previous(k.clone()))
    }
}

/// A secrets file that cannot be used, described without its contents (a JSON error may quote
/// a value, and the values are secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(String);

impl From<&SecretsFileError> for Unreadable {
    fn from(err: &SecretsFileError) -> Self {
        match err {
            SecretsFileError::Parse { source, .. } => Unreadable(format!(
                "{err} (at line {}, column {})",
                source.line(),
                source.column()
            )),
            other => Unreadable(crate::error_chain::chain(other)),
        }
    }
}

/// What a look at the file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The file changed and was read: it holds this many webhooks' secrets.
    Reloaded(usize),
    /// The file changed and cannot be used; the secrets read before stay in force.
    Unreadable(Unreadable),
}

/// The identity of one version of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    let metadata = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0;
    Some(Stamp {
        modified: metadata.modified().ok(),
        len: metadata.len(),
        inode,
    })
}

/// The file and the secrets last read from it.
#[derive(Debug)]
pub struct WatchedKeyring {
    path: PathBuf,
    current: Mutex<(Option<Stamp>, Arc<Keyring>)>,
}

impl WatchedKeyring {
    /// Reads the file; a missing one is empty (it is read when it appears), an unreadable one
    /// an error, since there are no earlier secrets to keep.
    pub fn open(path: &Path) -> Result<WatchedKeyring, Unreadable> {
        let stamp = stamp(path);
        let entries = secrets_out::read(path).map_err(|err| Unreadable::from(&err))?;
        Ok(WatchedKeyring {
            path: path.to_path_buf(),
            current: Mutex::new((stamp, Arc::new(Keyring { entries }))),
        })
    }

    /// The secrets in force, re-reading the file first if it changed since the last look.
    pub fn current(&self) -> (Arc<Keyring>, Option<Change>) {
        let now = stamp(&self.path);
        let mut current = self.current.lock().expect("keyring lock");
        if now == current.0 {
            return (current.1.clone(), None);
        }
        // Remember this version either way, so a broken file is reported once, not per request.
        current.0.clone_from(&now);
        let read = if now.is_none() {
            Err(Unreadable(format!(
                "the secrets file {} is gone",
                self.path.display()
            )))
        } else {
            secrets_out::read(&self.path).map_err(|err| Unreadable::from(&err))
        };
        let change = match read {
            Ok(entries) => {
                current.1 = Arc::new(Keyring { entries });
                Change::Reloaded(current.1.len())
            }
            Err(problem) => Change::Unreadable(problem),
        };
        (current.1.clone(), Some(change))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMESTAMP: &str = "2026-11-28T10:00:00.000Z";

    fn write(path: &Path, entries: &str) {
        // A new inode each time, as the atomic writer of `--secrets-out` makes.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, entries).unwrap();
        std::fs::rename(&tmp, path).unwrap();
    }

    #[test]
    fn current_and_previous_secrets_verify_and_others_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        write(
            &path,
            r#"{"acme/a": {"uuid": "u1", "secret": "new-secret", "previousSecret": "old-secret"}, "acme/b": {"uuid": "u2", "secret": "b-secret"}}"#,
        );
        let keyring = WatchedKeyring::open(&path).unwrap().current().0;
        let check = |secret: &str| {
            keyring.verify(TIMESTAMP, b"{}", &signature::sign(secret, TIMESTAMP, b"{}"))
        };
        assert_eq!(check("new-secret"), Verdict::Current("acme/a".into()));
        assert_eq!(check("old-secret"), Verdict::Previous("acme/a".into()));
        assert_eq!(check("b-secret"), Verdict::Current("acme/b".into()));
        assert_eq!(check("other"), Verdict::Unverified);
    }

    #[test]
    fn a_changed_file_is_re_read_and_a_broken_one_keeps_the_last_good_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        let watched = WatchedKeyring::open(&path).unwrap();
        assert!(watched.current().0.is_empty(), "a missing file is empty");
        write(&path, r#"{"acme/a": {"uuid": "u1", "secret": "s1"}}"#);
        assert_eq!(watched.current().1, Some(Change::Reloaded(1)));
        assert_eq!(watched.current().1, None, "unchanged: not re-read");
        write(&path, r#"{"acme/a": "a-secret-value-in-the-wrong-place"}"#);
        let (keyring, change) = watched.current();
        assert_eq!(keyring.len(), 1, "the last good secrets stay");
        let Some(Change::Unreadable(problem)) = change else {
            panic!("{change:?}")
        };
        assert!(!problem.0.contains("a-secret-value"), "{problem}");
        assert!(problem.0.contains("line 1"), "{problem}");
        assert_eq!(watched.current().1, None, "reported once");
    }

    #[test]
    fn an_unreadable_file_at_start_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        std::fs::write(&path, "not json").unwrap();
        assert!(WatchedKeyring::open(&path).is_err());
    }
}
