//! A JSON parse error that never quotes the text it read. serde_json's messages quote string
//! values (`invalid type: string "…", expected …`), and the files this tool reads (secrets
//! files, saved plans, the emulator's state) and the platform's answers hold secrets and
//! tokens, which product.md ("Where secrets may appear") keeps out of every message. The kind
//! of problem, field names and the place stay.

use std::fmt;

/// A `serde_json::Error` whose message has its quoted values masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    message: String,
    line: usize,
    column: usize,
}

impl JsonError {
    /// The line of the problem (1-based; 0 when unknown).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The column of the problem (1-based; 0 when unknown).
    pub fn column(&self) -> usize {
        self.column
    }
}

impl From<serde_json::Error> for JsonError {
    fn from(err: serde_json::Error) -> JsonError {
        JsonError {
            message: mask_values(&err.to_string()),
            line: err.line(),
            column: err.column(),
        }
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JsonError {}

/// `message` with every double-quoted string and the backquoted value of an unknown variant
/// replaced by `****`. Field names (`missing field `x``) are the format's, not the input's
/// values, and stay.
fn mask_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(['"', '`']) {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let quote = if from.starts_with('"') { '"' } else { '`' };
        let Some(end) = from[1..].find(quote) else {
            // An unterminated quote: mask to the end rather than show a value.
            out.push(quote);
            out.push_str("****");
            return out;
        };
        let quoted = &from[1..=end];
        let is_value = quote == '"' || out.ends_with("variant ");
        out.push(quote);
        out.push_str(if is_value { "****" } else { quoted });
        out.push(quote);
        rest = &from[end + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of<T: serde::de::DeserializeOwned + fmt::Debug>(json: &str) -> JsonError {
        JsonError::from(serde_json::from_str::<T>(json).unwrap_err())
    }

    #[test]
    fn string_values_are_masked_and_the_place_stays() {
        let err = error_of::<Vec<u32>>(r#"["emu.0123456789abcdef"]"#);
        assert_eq!(
            err.to_string(),
            r#"invalid type: string "****", expected u32 at line 1 column 23"#
        );
        assert_eq!((err.line(), err.column()), (1, 23));
    }

    #[test]
    fn unknown_variants_are_masked_but_field_names_stay() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        enum Kind {
            Login,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Record {
            kind: Kind,
        }
        let variant = error_of::<Record>(r#"{"kind": "hunter2-secret"}"#).to_string();
        assert!(variant.starts_with("unknown variant `****`"), "{variant}");
        assert!(!variant.contains("hunter2"), "{variant}");
        assert!(
            error_of::<Record>("{}")
                .to_string()
                .starts_with("missing field `kind`")
        );
        assert!(
            error_of::<Record>(r#"{"other": 1}"#)
                .to_string()
                .starts_with("unknown field `other`")
        );
    }

    #[test]
    fn syntax_errors_read_as_serde_json_writes_them() {
        assert_eq!(
            error_of::<Vec<u32>>("[1,").to_string(),
            "EOF while parsing a value at line 1 column 3"
        );
    }
}
