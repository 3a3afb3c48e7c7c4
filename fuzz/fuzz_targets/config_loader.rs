//! Fuzzes the config loader (`config::load_bytes`, the code path of `config::load` once the
//! files are read): whatever the bytes, it returns, never panics, and what it reports is
//! printable as it would be printed: at least one problem, no raw control character, no value
//! from the environment, no url password from it, and at most `MAX_SHOWN` problems shown.
//! The input is one file, or several joined by `SEPARATOR` (as a `-f DIR` of them).

#![no_main]

use libfuzzer_sys::fuzz_target;
use vntana_webhooks::config;

/// Between the files of one input: a YAML comment line, so a seed made of several fixture
/// files still reads as they do.
const SEPARATOR: &[u8] = b"\n#--- next file ---\n";

/// Values of the environment the loader may read; none may ever reach its output.
const SECRET: &str = "fuzz-s3cr3t-value";
const PASSWORD: &str = "fuzz-pa55word";

fn lookup(name: &str) -> Option<String> {
    match name {
        "SECRET" | "X" => Some(SECRET.to_owned()),
        "URL" => Some(format!("https://deploy:{PASSWORD}@pim.example/hooks")),
        "EMPTY" => Some(String::new()),
        "BIG" => Some(SECRET.repeat(200)),
        _ => None,
    }
}

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut files = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        files.push(&rest[..at]);
        rest = &rest[at + SEPARATOR.len()..];
    }
    files.push(rest);
    files
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fuzz_target!(|data: &[u8]| {
    let parts = split(data);
    let names: Vec<String> = (0..parts.len()).map(|i| format!("f{i}.yaml")).collect();
    let files: Vec<(&str, &[u8])> = names
        .iter()
        .map(String::as_str)
        .zip(parts.iter().copied())
        .take(16)
        .collect();
    let shown = match config::load_bytes(&files, &lookup) {
        Ok(desired) => format!("{desired:?}"),
        Err(err) => {
            assert!(!err.problems.is_empty(), "an error without a problem");
            let shown = err.to_string();
            assert!(
                shown
                    .chars()
                    .all(|c| c == '\n' || !(c.is_control() || config::chars::is_invisible(c))),
                "a raw control character in {shown:?}"
            );
            let lines = shown.lines().filter(|l| !l.starts_with("  help: ")).count();
            assert!(
                lines <= config::problem::MAX_SHOWN + 2,
                "{lines} lines shown"
            );
            shown
        }
    };
    // The input may write the secret itself; only then may it be shown.
    for secret in [SECRET, PASSWORD] {
        if !contains(data, secret) {
            assert!(
                !shown.contains(secret),
                "{secret} reached the output: {shown}"
            );
        }
    }
});
