//! The one type for every problem the tool reports about a run: config files, names only the
//! platform knows, read errors, conflicts, safety refusals and the plan's warnings. Each has a
//! severity, a stable code, a message, its place (file, line, column and the config path)
//! when it has one, the organization it concerns, help and the closest valid name. Every
//! output carries the same diagnostics: the text plan and stderr (one line each), the JSON
//! plan and reports, markdown, GitHub workflow commands and GitLab Code Quality.
//!
//! Whatever a diagnostic holds, it is shown with url passwords masked (product.md: "always
//! masked") and control and invisible characters escaped, in every format: the text in it may
//! come from the files or from the platform.

use std::fmt;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::config::chars::escaped;
use crate::config::problem::mask_url_passwords;
use crate::model::Origin;

/// How bad a diagnostic is: an error blocks the run; a warning is information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $config:literal;)*) => {
        /// A diagnostic's stable code: programs and annotations key on it, so a code is never
        /// renamed or reused (the README lists them).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            /// Every code, in the README's order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as outputs spell it (kebab-case).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $name,)*
                }
            }

            /// Whether the problem is one of the config files (shown at its place in a file),
            /// rather than of an organization's live state (shown after the organization).
            pub fn is_config(self) -> bool {
                match self {
                    $(Code::$variant => $config,)*
                }
            }
        }
    };
}

codes! {
    /// A file or directory that cannot be read (missing, not a regular file, too large).
    FileUnreadable = "file-unreadable", true;
    /// An empty file, or one with only comments.
    EmptyConfig = "empty-config", true;
    /// YAML that does not parse.
    YamlSyntax = "yaml-syntax", true;
    /// YAML this format refuses: tags, directives, merge keys, complex keys, deep nesting.
    YamlUnsupported = "yaml-unsupported", true;
    /// `version` missing or not 1.
    UnsupportedVersion = "unsupported-version", true;
    /// A field the format does not have.
    UnknownField = "unknown-field", true;
    /// A required field that is missing.
    MissingField = "missing-field", true;
    /// A value of the wrong type (a list where a string belongs).
    InvalidType = "invalid-type", true;
    /// A value the format refuses (a bad name, a hidden character, too long...).
    InvalidValue = "invalid-value", true;
    /// Not an absolute http(s) url with a host.
    InvalidUrl = "invalid-url", true;
    /// Not a valid email.
    InvalidEmail = "invalid-email", true;
    /// `${VAR}` of a variable that is not set.
    EnvUnset = "env-unset", true;
    /// `${VNTANA_*}`: the tool's own credentials and settings, refused in a config.
    EnvRefused = "env-refused", true;
    /// A webhook defined twice, two different `prune` or `owner` values, a repeated name.
    Duplicate = "duplicate", true;
    /// An organization the signed-in user cannot see.
    UnknownOrganization = "unknown-organization", true;
    /// A folder the organization does not have.
    UnknownFolder = "unknown-folder", true;
    /// An event the catalogue does not have.
    UnknownEvent = "unknown-event", true;
    /// A recorded live state (`plan --live`) without what the config needs checked.
    IncompleteSnapshot = "incomplete-snapshot", true;
    /// A `--target` or `--rotate` that names nothing of the config.
    InvalidSelection = "invalid-selection", false;
    /// The user's role in the organization may not manage webhooks.
    RoleForbidden = "role-forbidden", false;
    /// The organization's live state could not be read (after retries).
    ReadError = "read-error", false;
    /// Live webhooks the tool cannot match safely (several unmarked namesakes, another
    /// owner's webhook under a desired name).
    Conflict = "conflict", false;
    /// A safety guard refused the plan; `--force` overrides it.
    SafetyRefusal = "safety-refusal", false;
    /// The run could not go on: no credentials, the platform out of reach, a saved plan or
    /// snapshot that cannot be used. The message names the cause.
    RunError = "run-error", false;
    /// A warning of the plan: a re-enable, a lowered `secretRotation`, `--force` used, a
    /// `--target` that matches nothing, a renamed webhook whose old name still exists.
    PlanWarning = "plan-warning", false;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One problem. Ordered by place (file, line, column), then path and message, so a sorted
/// list reads like the files.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Diagnostic {
    /// Where it was written; `file` empty when it has no place in a file.
    pub origin: Origin,
    /// The config path of the value (`organizations.acme-3d.webhooks.pim.events[1]`); empty
    /// at the top or when it has no place.
    pub path: String,
    pub message: String,
    /// What to do about it, when the message does not say.
    pub help: Option<String>,
    /// The closest valid name ("did you mean").
    pub suggestion: Option<String>,
    pub severity: Severity,
    pub code: Code,
    /// The organization it concerns.
    pub organization: Option<String>,
}

impl Diagnostic {
    /// An error with a code and message, without a place yet.
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            origin: Origin::default(),
            path: String::new(),
            message: message.into(),
            help: None,
            suggestion: None,
            severity: Severity::Error,
            code,
            organization: None,
        }
    }

    /// A warning with a code and message, without a place yet.
    pub fn warning(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// The same, at `origin` and config `path`.
    #[must_use]
    pub fn at(mut self, origin: Origin, path: impl Into<String>) -> Diagnostic {
        self.origin = origin;
        self.path = path.into();
        self
    }

    /// The same, concerning organization `slug`.
    #[must_use]
    pub fn in_organization(mut self, slug: impl Into<String>) -> Diagnostic {
        self.organization = Some(slug.into());
        self
    }

    /// The same, with help.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// The same, with a suggestion when there is one.
    #[must_use]
    pub fn with_suggestion(mut self, suggestion: Option<impl Into<String>>) -> Diagnostic {
        self.suggestion = suggestion.map(Into::into);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The file, when it has a place in one.
    pub fn file(&self) -> Option<&str> {
        (!self.origin.file.is_empty()).then_some(self.origin.file.as_str())
    }

    /// The line and column, when known.
    pub fn line_column(&self) -> Option<(usize, usize)> {
        (self.file().is_some() && self.origin.line > 0)
            .then_some((self.origin.line, self.origin.column))
    }

    /// The message with its suggestion and help, on one line, without the place:
    /// `unknown organization (did you mean acme-3d?)`. Safe for any output.
    pub fn text(&self) -> String {
        let mut out = self.message.clone();
        if let Some(suggestion) = &self.suggestion {
            out.push_str(&format!(" (did you mean {suggestion}?)"));
        }
        if let Some(help) = &self.help {
            out.push_str("; ");
            out.push_str(help);
        }
        clean(&out)
    }

    /// Where it is, as a prefix: `file:line:column: path` for a problem of the files, the
    /// organization's slug for one of the live state, or nothing.
    pub fn place(&self) -> String {
        if self.code.is_config() || self.organization.is_none() {
            let mut parts = Vec::new();
            if self.file().is_some() {
                parts.push(self.origin.to_string());
            }
            if !self.path.is_empty() {
                parts.push(self.path.clone());
            }
            clean(&parts.join(": "))
        } else {
            clean(self.organization.as_deref().unwrap_or_default())
        }
    }
}

/// One line: `teams.yaml:3:3: organizations.acme-4d: unknown organization (did you mean
/// acme-3d?)`, or `globex: safety refusal: ...`.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = self.place();
        if !place.is_empty() {
            write!(f, "{place}: ")?;
        }
        f.write_str(&self.text())
    }
}

/// Text from the files or the platform made safe for any output.
fn clean(text: &str) -> String {
    escaped(&mask_url_passwords(text)).into_owned()
}

/// `{severity, code, message, organization, file, line, column, path, help, suggestion}`;
/// absent parts are `null`, never omitted (the plan's JSON Schema says so).
impl Serialize for Diagnostic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let optional = |text: Option<&str>| text.map(clean);
        let mut map = serializer.serialize_map(Some(10))?;
        map.serialize_entry("severity", &self.severity)?;
        map.serialize_entry("code", &self.code)?;
        map.serialize_entry("message", &clean(&self.message))?;
        map.serialize_entry("organization", &optional(self.organization.as_deref()))?;
        map.serialize_entry("file", &optional(self.file()))?;
        let (line, column) = self.line_column().unzip();
        map.serialize_entry("line", &line)?;
        map.serialize_entry("column", &column)?;
        map.serialize_entry(
            "path",
            &optional((!self.path.is_empty()).then_some(self.path.as_str())),
        )?;
        map.serialize_entry("help", &optional(self.help.as_deref()))?;
        map.serialize_entry("suggestion", &optional(self.suggestion.as_deref()))?;
        map.end()
    }
}

impl schemars::JsonSchema for Diagnostic {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Diagnostic".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        let text = serde_json::json!({"type": ["string", "null"]});
        let number = serde_json::json!({"type": ["integer", "null"], "minimum": 1});
        schemars::json_schema!({
            "description": "A problem: an error blocks the run, a warning informs. Text has url passwords masked and control characters escaped; absent parts are null.",
            "type": "object",
            "properties": {
                "severity": {"enum": ["error", "warning"]},
                "code": {"enum": codes, "description": "Stable: programs may key on it."},
                "message": {"type": "string"},
                "organization": text,
                "file": text,
                "line": number,
                "column": number,
                "path": {"type": ["string", "null"], "description": "The config path, e.g. organizations.acme-3d.webhooks.pim-sync.events[1]."},
                "help": text,
                "suggestion": {"type": ["string", "null"], "description": "The closest valid name (did you mean)."}
            },
            "required": ["severity", "code", "message", "organization", "file", "line", "column", "path", "help", "suggestion"],
            "additionalProperties": false
        })
    }
}

/// How many of `diagnostics` are errors and warnings.
pub fn counts(diagnostics: &[Diagnostic]) -> (usize, usize) {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    (errors, diagnostics.len() - errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(file: &str, line: usize, column: usize) -> Origin {
        Origin {
            file: file.to_owned(),
            line,
            column,
        }
    }

    #[test]
    fn a_config_problem_shows_its_place_path_message_and_suggestion_on_one_line() {
        let problem = Diagnostic::error(Code::UnknownOrganization, "unknown organization")
            .at(origin("teams.yaml", 3, 3), "organizations.acme-4d")
            .in_organization("acme-4d")
            .with_suggestion(Some("acme-3d"));
        assert_eq!(
            problem.to_string(),
            "teams.yaml:3:3: organizations.acme-4d: unknown organization (did you mean acme-3d?)"
        );
    }

    #[test]
    fn a_live_state_problem_is_placed_at_its_organization() {
        let problem = Diagnostic::error(
            Code::RoleForbidden,
            "role ORGANIZATION_VIEWER may not manage webhooks (needs ORGANIZATION_OWNER or ORGANIZATION_ADMIN)",
        )
        .at(origin("a.yaml", 9, 3), "organizations.umbrella")
        .in_organization("umbrella");
        assert_eq!(
            problem.to_string(),
            "umbrella: role ORGANIZATION_VIEWER may not manage webhooks (needs ORGANIZATION_OWNER or ORGANIZATION_ADMIN)"
        );
    }

    #[test]
    fn every_part_is_escaped_and_url_passwords_masked_in_text_and_json() {
        let problem = Diagnostic::error(
            Code::InvalidUrl,
            "found `https://u:hunter2@h x`\n::error::forged\u{1b}[2J",
        )
        .at(origin("a\u{202e}.yaml", 1, 2), "x")
        .with_help("\u{200b}");
        let line = problem.to_string();
        assert_eq!(
            line,
            "a\\u{202e}.yaml:1:2: x: found `https://u:****@h x`\\u{a}::error::forged\\u{1b}[2J; \\u{200b}"
        );
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["file"], "a\\u{202e}.yaml");
        assert_eq!(
            json["message"],
            "found `https://u:****@h x`\\u{a}::error::forged\\u{1b}[2J"
        );
        assert!(!json.to_string().contains("hunter2"));
    }

    #[test]
    fn json_never_omits_a_key() {
        let json = serde_json::to_value(Diagnostic::warning(Code::PlanWarning, "m")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"severity": "warning", "code": "plan-warning", "message": "m",
                "organization": null, "file": null, "line": null, "column": null, "path": null,
                "help": null, "suggestion": null})
        );
    }

    #[test]
    fn codes_are_unique() {
        let names: std::collections::BTreeSet<&str> =
            Code::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), Code::ALL.len());
    }
}
