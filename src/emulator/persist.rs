//! The state file: loaded at start, and written atomically (temporary file, fsync, rename,
//! mode 0600) before a change is answered. Writes are group-committed: many concurrent changes
//! share one write of the newest state, and each waits until a write covering it is on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

use super::state::{STATE_FORMAT_VERSION, State};

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot read the state file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the state file {path} is not an emulator state (format version {STATE_FORMAT_VERSION}); move it away to start fresh"
    )]
    Parse {
        path: String,
        #[source]
        source: crate::json_error::JsonError,
    },
    #[error("cannot write the state file {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The state stored at `path`, if the file exists.
pub fn load(path: &Path) -> Result<Option<State>, PersistError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(PersistError::Read {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let state: State = serde_json::from_slice(&bytes).map_err(|source| PersistError::Parse {
        path: path.display().to_string(),
        source: source.into(),
    })?;
    Ok(Some(state))
}

/// Writes `bytes` to `path` so that a reader sees the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), PersistError> {
    crate::atomic_file::write(path, bytes).map_err(|source| PersistError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// The newest state waiting to be written, with its version.
type Pending = (u64, Arc<Vec<u8>>);

/// Writes the newest submitted state in the background and tells waiters how far it got.
#[derive(Debug)]
pub struct Persister {
    pending: watch::Sender<Pending>,
    /// `(newest version on disk, newest version whose write failed)`.
    written: watch::Receiver<(u64, u64)>,
}

impl Persister {
    /// Starts the writer task for `path`. Needs a tokio runtime.
    pub fn start(path: PathBuf) -> Persister {
        let (pending, mut pending_rx) = watch::channel::<Pending>((0, Arc::new(Vec::new())));
        let (written_tx, written) = watch::channel((0, 0));
        tokio::spawn(async move {
            while pending_rx.changed().await.is_ok() {
                let (version, bytes) = pending_rx.borrow_and_update().clone();
                let path = path.clone();
                let outcome =
                    tokio::task::spawn_blocking(move || write_atomic(&path, &bytes)).await;
                written_tx.send_modify(|(done, failed)| match outcome {
                    Ok(Ok(())) => *done = version,
                    Ok(Err(err)) => {
                        tracing::error!("{}", crate::error_chain::chain(&err));
                        *failed = version;
                    }
                    Err(_) => *failed = version,
                });
            }
        });
        Persister { pending, written }
    }

    /// Queues `bytes` as version `version`. Call in version order (under the state lock).
    pub fn submit(&self, version: u64, bytes: Vec<u8>) {
        self.pending.send_replace((version, Arc::new(bytes)));
    }

    /// Waits until `version` (or a newer one) is on disk; false if its write failed.
    pub async fn wait(&self, version: u64) -> bool {
        let mut written = self.written.clone();
        let outcome = written
            .wait_for(|&(done, failed)| done >= version || failed >= version)
            .await;
        outcome.is_ok_and(|state| state.0 >= version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_atomic_write_replaces_the_file_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    fn a_missing_state_file_loads_as_none_and_a_corrupt_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(&dir.path().join("absent.json")).unwrap().is_none());
        let corrupt = dir.path().join("corrupt.json");
        std::fs::write(&corrupt, "{not json").unwrap();
        let err = load(&corrupt).unwrap_err();
        assert!(
            err.to_string().contains("is not an emulator state"),
            "{err}"
        );
    }
}
