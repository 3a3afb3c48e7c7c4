//! Reading a versioned JSON file (live snapshots, saved plans): its `formatVersion` is read
//! first, so a file of another version is named as such instead of failing to parse.

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
    #[error("{path} is a {what} of format version {found}; this tool ({}) reads version {expected}", env!("CARGO_PKG_VERSION"))]
    Version {
        what: &'static str,
        path: String,
        found: u32,
        expected: u32,
    },
}

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
    let bytes = std::fs::read(path).map_err(|source| VersionedFileError::Read {
        what,
        path: name.clone(),
        source,
    })?;
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
