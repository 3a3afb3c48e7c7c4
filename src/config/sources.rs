//! Which files make up the config (product.md, "Inputs"): `-f FILE` (repeatable), `-f DIR`
//! (its `*.yaml`/`*.yml`, not recursive, no dotfiles, sorted), or `./vntana-webhooks.yaml`;
//! and reading them as UTF-8 text without NUL bytes, within a size limit.

use std::path::{Path, PathBuf};

use super::problem::Problem;
use crate::model::Origin;

/// The file read when no `-f` is given.
pub const DEFAULT_FILE: &str = "vntana-webhooks.yaml";

/// A config file larger than this is refused.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// One config file's text and how to name it in messages.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

fn problem(name: &str, message: String) -> Problem {
    Problem {
        origin: Origin {
            file: name.to_owned(),
            line: 0,
            column: 0,
        },
        path: String::new(),
        message,
        help: None,
    }
}

/// The files `-f` names (in order, each once), or the default file.
pub fn discover(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<Problem>> {
    if inputs.is_empty() {
        let default = PathBuf::from(DEFAULT_FILE);
        if default.is_file() {
            return Ok(vec![default]);
        }
        return Err(vec![problem(
            DEFAULT_FILE,
            "no config file: pass -f FILE or -f DIR, or create ./vntana-webhooks.yaml".to_owned(),
        )]);
    }
    let mut files: Vec<PathBuf> = Vec::new();
    let mut problems = Vec::new();
    for input in inputs {
        let name = input.display().to_string();
        match std::fs::metadata(input) {
            Ok(meta) if meta.is_dir() => match directory_files(input) {
                Ok(found) if found.is_empty() => problems.push(problem(
                    &name,
                    match hidden_yaml(input).first() {
                        Some(hidden) => format!(
                            "the directory has no *.yaml or *.yml file (`{hidden}` is a dotfile, and dotfiles are not read)"
                        ),
                        None => "the directory has no *.yaml or *.yml file".to_owned(),
                    },
                )),
                Ok(found) => files.extend(found),
                Err(err) => {
                    problems.push(problem(&name, format!("cannot list the directory: {err}")));
                }
            },
            Ok(_) => files.push(input.clone()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                problems.push(problem(&name, "no such file or directory".to_owned()));
            }
            Err(err) => problems.push(problem(&name, format!("cannot read: {err}"))),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut unique: Vec<PathBuf> = Vec::new();
    for file in files {
        let canonical = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
        if !unique
            .iter()
            .any(|u| std::fs::canonicalize(u).unwrap_or_else(|_| u.clone()) == canonical)
        {
            unique.push(file);
        }
    }
    Ok(unique)
}

fn directory_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let yaml = Path::new(name)
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml");
        if yaml && !name.starts_with('.') && path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

/// The YAML dotfiles of `dir`, sorted: skipped, but worth naming when nothing else is there.
fn hidden_yaml(dir: &Path) -> Vec<String> {
    let mut hidden: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| {
            name.starts_with('.')
                && Path::new(name)
                    .extension()
                    .is_some_and(|e| e == "yaml" || e == "yml")
        })
        .collect();
    hidden.sort();
    hidden
}

/// Reads a config file as UTF-8 text: no NUL bytes, at most `MAX_FILE_BYTES`.
pub fn read(path: &Path) -> Result<Source, Problem> {
    let name = path.display().to_string();
    let size = std::fs::metadata(path)
        .map_err(|err| problem(&name, format!("cannot read: {err}")))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(problem(
            &name,
            format!("the file has {size} bytes; a config file may have at most {MAX_FILE_BYTES}"),
        ));
    }
    let bytes = std::fs::read(path).map_err(|err| problem(&name, format!("cannot read: {err}")))?;
    let at = |offset: usize, message: String| {
        let before = &bytes[..offset];
        let line = before.split(|b| *b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        Problem {
            origin: Origin {
                file: name.clone(),
                line,
                column,
            },
            path: String::new(),
            message,
            help: None,
        }
    };
    let text = match String::from_utf8(bytes.clone()) {
        Ok(text) => text,
        Err(err) => {
            return Err(at(
                err.utf8_error().valid_up_to(),
                "the file is not UTF-8 text".to_owned(),
            ));
        }
    };
    if let Some(offset) = text.find('\0') {
        return Err(at(offset, "the file contains a NUL byte".to_owned()));
    }
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_owned)
        .unwrap_or(text);
    Ok(Source { name, text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_gives_its_yaml_files_sorted_without_dotfiles_or_subdirectories() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.yml", "a.yaml", ".hidden.yaml", "notes.txt"] {
            std::fs::write(dir.path().join(name), "version: 1\n").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.yaml")).unwrap();
        let files = discover(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["a.yaml", "b.yml"]);
    }

    #[test]
    fn a_directory_with_only_dotfiles_names_the_one_it_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".webhooks.yaml"), "version: 1\n").unwrap();
        let problems = discover(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(
            problems[0]
                .message
                .ends_with("(`.webhooks.yaml` is a dotfile, and dotfiles are not read)"),
            "{problems:?}"
        );
    }

    #[test]
    fn the_same_file_twice_is_read_once_and_missing_ones_are_problems() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.yaml");
        std::fs::write(&file, "version: 1\n").unwrap();
        assert_eq!(discover(&[file.clone(), file.clone()]).unwrap().len(), 1);
        let missing = discover(&[dir.path().join("nope.yaml")]).unwrap_err();
        assert_eq!(missing[0].message, "no such file or directory");
    }

    #[test]
    fn invalid_utf8_and_nul_bytes_are_located() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, b"version: 1\nowner: a\xffb\n").unwrap();
        let problem = read(&bad).unwrap_err();
        assert_eq!((problem.origin.line, problem.origin.column), (2, 9));
        std::fs::write(&bad, b"version: 1\n\0").unwrap();
        assert_eq!(
            read(&bad).unwrap_err().message,
            "the file contains a NUL byte"
        );
    }
}
