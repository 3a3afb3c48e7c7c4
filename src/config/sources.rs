//! Which files make up the config (product.md, "Inputs"): `-f FILE` (repeatable), `-f DIR`
//! (its `*.yaml`/`*.yml`, not recursive, no dotfiles, sorted), or `./vntana-webhooks.yaml`;
//! and reading them as UTF-8 text without NUL bytes, within a size limit. Only regular files
//! are read, and never more than the limit: a FIFO, a device such as `/dev/zero` or a file that
//! grows is a problem, not a hang. Bytes already in memory are decoded by the same rules.

use std::path::{Path, PathBuf};

use super::problem::Problem;
use crate::diagnostic::Code;
use crate::model::Origin;

/// The file read when no `-f` is given.
pub const DEFAULT_FILE: &str = "vntana-webhooks.yaml";

/// A config file larger than this is refused.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// All the config files of a run together may hold at most this (100,000 webhooks take about
/// 20 MiB).
pub const MAX_TOTAL_BYTES: u64 = 32 * 1024 * 1024;

/// One config file's text and how to name it in messages.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

fn problem(name: &str, message: String) -> Problem {
    let origin = Origin {
        file: name.to_owned(),
        line: 0,
        column: 0,
    };
    Problem::error(Code::FileUnreadable, message).at(origin, "")
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
    // Each file once, however it was named; one set, so thousands of files stay quick.
    let mut seen = std::collections::BTreeSet::new();
    let mut unique: Vec<PathBuf> = Vec::new();
    for file in files {
        let canonical = std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone());
        if seen.insert(canonical) {
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
        // Not recursive: a subdirectory is skipped, whatever its name. Anything else named
        // `*.yaml` is the user's config, so a broken link, a FIFO or a device is read (and
        // refused with a reason) rather than silently left out.
        if yaml && !name.starts_with('.') && !path.is_dir() {
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

/// Reads a config file as UTF-8 text: a regular file, no NUL bytes, at most `MAX_FILE_BYTES`.
pub fn read(path: &Path) -> Result<Source, Problem> {
    use std::io::Read;

    let name = path.display().to_string();
    let cannot_read = |err: std::io::Error| {
        let message = if err.kind() == std::io::ErrorKind::NotFound {
            // `metadata` follows links: the name is there, what it points to is not.
            "cannot read: it is a symbolic link to nothing (a broken link)".to_owned()
        } else {
            format!("cannot read: {err}")
        };
        problem(&name, message)
    };
    let meta = std::fs::metadata(path).map_err(cannot_read)?;
    if !meta.is_file() {
        // Opening a FIFO blocks and a device never ends: refuse before opening.
        return Err(problem(
            &name,
            format!(
                "cannot read: it is {}, not a regular file; a config is a file of YAML text",
                file_kind(&meta)
            ),
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(&name, meta.len()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(cannot_read)?;
    decode(&name, &bytes)
}

/// The problem of the file that took the config over `MAX_TOTAL_BYTES`.
pub fn over_total(name: &str) -> Problem {
    problem(
        name,
        format!(
            "with this file, the config files add up to more than {MAX_TOTAL_BYTES} bytes, the limit of all files together; a config is far smaller: check what -f reads"
        ),
    )
}

fn too_large(name: &str, size: u64) -> Problem {
    problem(
        name,
        format!("the file has {size} bytes; a config file may have at most {MAX_FILE_BYTES}"),
    )
}

/// What a file that is not a regular file is, for the message.
fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = meta.file_type();
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// Decodes one config file's bytes, named `name` in messages: at most `MAX_FILE_BYTES`, UTF-8
/// without NUL bytes; a leading byte order mark is dropped.
pub fn decode(name: &str, bytes: &[u8]) -> Result<Source, Problem> {
    let size = bytes.len() as u64;
    if size > MAX_FILE_BYTES {
        return Err(too_large(name, size));
    }
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
        let origin = Origin {
            file: name.to_owned(),
            line,
            column,
        };
        Problem::error(Code::FileUnreadable, message).at(origin, "")
    };
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err(problem(
            name,
            "the file is UTF-16 text (it starts with a UTF-16 byte order mark); save it as UTF-8"
                .to_owned(),
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => {
            return Err(at(
                err.valid_up_to(),
                "the file is not UTF-8 text: this byte is not part of a UTF-8 character; save the file as UTF-8".to_owned(),
            ));
        }
    };
    if let Some(offset) = text.find('\0') {
        // Every other byte NUL: ASCII written as UTF-16 without its byte order mark.
        let utf16 = bytes.len() >= 8
            && (bytes[..8].iter().step_by(2).all(|b| *b == 0)
                || bytes[1..8].iter().step_by(2).all(|b| *b == 0));
        let message = if utf16 {
            "the file contains NUL bytes between its characters: it is UTF-16 text; save it as UTF-8"
        } else {
            "the file contains a NUL byte; a config is text: remove it"
        };
        return Err(at(offset, message.to_owned()));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).to_owned();
    Ok(Source {
        name: name.to_owned(),
        text,
    })
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

    #[cfg(unix)]
    #[test]
    fn a_device_is_refused_before_it_is_read() {
        let problem = read(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(
            problem.message,
            "cannot read: it is a device, not a regular file; a config is a file of YAML text"
        );
    }

    #[test]
    fn bytes_in_memory_are_decoded_by_the_file_rules() {
        let utf16: Vec<u8> = "version: 1\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert!(
            decode("a.yaml", &utf16)
                .unwrap_err()
                .message
                .contains("UTF-16"),
            "UTF-16 without a byte order mark is named"
        );
        let big = vec![b'#'; usize::try_from(MAX_FILE_BYTES).unwrap() + 1];
        assert!(
            decode("a.yaml", &big)
                .unwrap_err()
                .message
                .starts_with("the file has 1048577 bytes")
        );
        let bom = decode("a.yaml", b"\xef\xbb\xbfversion: 1\n").unwrap();
        assert_eq!(bom.text, "version: 1\n");
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
            "the file contains a NUL byte; a config is text: remove it"
        );
    }
}
