//! The desired state from the config files (product.md, "Desired state: the config file"):
//! which files, YAML with locations, the format's fields and values, `${VAR}` interpolation,
//! and several files merged. A YAML syntax error stops at the first; every other problem of
//! the files is reported at once, each with file, line and column, what was expected and the
//! closest valid name. Reads only the files and the environment: never the network.

pub mod chars;
pub mod interpolate;
pub mod merge;
pub mod parse;
pub mod problem;
pub mod schema;
pub mod sources;
pub mod yaml;

use std::path::PathBuf;

pub use problem::{ConfigError, Problem};

use crate::diagnostic::Code;
use crate::model::{Desired, Origin};

/// Loads the config from `-f` inputs (empty: `./vntana-webhooks.yaml`); `lookup` reads the
/// environment.
pub fn load(
    inputs: &[PathBuf],
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Desired, ConfigError> {
    let files = sources::discover(inputs).map_err(|problems| ConfigError { problems })?;
    // Sizes first (a directory of a thousand one-megabyte files is refused at once); then read
    // one at a time, and no further than the total limit, should a file grow meanwhile.
    let declared: u64 = files
        .iter()
        .filter_map(|path| std::fs::metadata(path).ok())
        .filter(std::fs::Metadata::is_file)
        .map(|meta| meta.len().min(sources::MAX_FILE_BYTES + 1))
        .sum();
    if declared > sources::MAX_TOTAL_BYTES
        && let Some(last) = files.last()
    {
        return Err(ConfigError {
            problems: vec![sources::over_total(&last.display().to_string())],
        });
    }
    // Read one at a time, and no further than the total limit: a directory of a thousand
    // one-megabyte files must not take minutes and gigabytes to refuse.
    let mut total = 0u64;
    let mut over = false;
    let read = files.iter().map_while(|path| {
        if over {
            return None;
        }
        let source = sources::read(path);
        if let Ok(source) = &source {
            total += source.text.len() as u64;
            if total > sources::MAX_TOTAL_BYTES {
                over = true;
                return Some(Err(sources::over_total(&source.name)));
            }
        }
        Some(source)
    });
    load_sources(read, lookup)
}

/// Loads the config from files already in memory, each a name (for messages) and its bytes,
/// in order, exactly as `load` reads files once it has their bytes. For tools and fuzzing.
pub fn load_bytes(
    files: &[(&str, &[u8])],
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Desired, ConfigError> {
    load_sources(
        files
            .iter()
            .map(|(name, bytes)| sources::decode(name, bytes)),
        lookup,
    )
}

/// Loads one config document already in memory, whatever its size (the caller bounds it):
/// the config a saved plan carries, checked by every rule a file is.
pub fn load_text(
    name: &str,
    text: String,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Desired, ConfigError> {
    let source = sources::Source {
        name: name.to_owned(),
        text,
    };
    load_sources(std::iter::once(Ok(source)), lookup)
}

fn load_sources(
    sources: impl Iterator<Item = Result<sources::Source, Problem>>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Desired, ConfigError> {
    let mut problems = Vec::new();
    let mut parsed = Vec::new();
    for source in sources {
        let source = match source {
            Ok(source) => source,
            Err(problem) => {
                problems.push(problem);
                continue;
            }
        };
        let tree = yaml::parse(&source.text);
        let syntax_error = tree.root.is_none() && !tree.problems.is_empty();
        problems.extend(tree.problems.into_iter().map(|p| {
            let origin = Origin {
                file: source.name.clone(),
                line: p.loc.line,
                column: p.loc.column,
            };
            Problem::error(p.code, p.message).at(origin, p.path)
        }));
        if syntax_error {
            // A syntax error stops here: what follows it cannot be read reliably. The files
            // before it were read whole, so their problems are reported too.
            problems.sort();
            problems.dedup();
            return Err(ConfigError { problems });
        }
        let Some(root) = tree.root else {
            let message = if source.text.trim().is_empty() {
                "the file is empty; a config starts with `version: 1`"
            } else {
                "the file has only comments; a config starts with `version: 1`"
            };
            let origin = Origin {
                file: source.name.clone(),
                line: 0,
                column: 0,
            };
            problems.push(Problem::error(Code::EmptyConfig, message).at(origin, ""));
            continue;
        };
        let mut walker = parse::Walker::new(&source.name, lookup);
        parsed.push(walker.file(&root));
        problems.extend(walker.problems);
    }
    let desired = merge::merge(parsed, &mut problems);
    if problems.is_empty() {
        Ok(desired)
    } else {
        problems.sort();
        problems.dedup();
        Err(ConfigError { problems })
    }
}
