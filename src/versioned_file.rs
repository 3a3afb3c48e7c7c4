//! Reading a versioned JSON file (live snapshots, saved plans): its `formatVersion` is read
//! first, so a file of another version is named as such instead of failing to parse. Only a
//! regular file of at most `MAX_BYTES` is read (never a FIFO, a device or an endless file).

use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A versioned file that cannot be used; `what` names the kind of file.
#[derive(Debug, thiserror::Error)]
pub enum VersionedFileError {
    #[error("cannot read the {what} {path}")]
    Read {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a {what} (format version {expected})")]
    Parse {
        what: &'static str,
        path: String,
        expected: u32,
        #[source]
        source: crate::json_error::JsonError,
    },
    #[error(
        "{path} is not a regular file of at most {MAX_BYTES} bytes, so it is not read as a {what}"
    )]
    TooLarge { what: &'static str, path: String },
    #[error("{path} is a {what} of format version {found}; this tool ({}) reads version {expected}", env!("CARGO_PKG_VERSION"))]
    Version {
        what: &'static str,
        path: String,
        found: u32,
        expected: u32,
    },
}

/// A saved plan or live snapshot larger than this is refused: 100,000 webhooks take about a
/// tenth of it.
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FormatVersion {
    format_version: u32,
}

/// Reads `path` as a `what` of format version `expected`.
pub fn read<T: DeserializeOwned>(
    path: &Path,
    what: &'static str,
    expected: u32,
) -> Result<T, VersionedFileError> {
    let name = path.display().to_string();
    let read_error = |source| VersionedFileError::Read {
        what,
        path: name.clone(),
        source,
    };
    // Looked at before opening: opening a FIFO would wait for a writer.
    let meta = std::fs::metadata(path).map_err(read_error)?;
    if !meta.is_file() || meta.len() > MAX_BYTES {
        return Err(VersionedFileError::TooLarge { what, path: name });
    }
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_BYTES + 1), &mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(VersionedFileError::TooLarge { what, path: name });
    }
    let parse_error = |source: serde_json::Error| VersionedFileError::Parse {
        what,
        path: name.clone(),
        expected,
        source: source.into(),
    };
    let version: FormatVersion = serde_json::from_slice(&bytes).map_err(parse_error)?;
    if version.format_version != expected {
        return Err(VersionedFileError::Version {
            what,
            path: name,
            found: version.format_version,
            expected,
        });
    }
    serde_json::from_slice(&bytes).map_err(parse_error)
}
