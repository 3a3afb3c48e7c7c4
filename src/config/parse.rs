//! One config file's located tree to its typed content, collecting every problem: unknown
//! fields (with the closest valid name), wrong types, missing required fields, bad values
//! (version, urls, emails, names), env references. It reads one file; `merge` combines files.

use std::collections::BTreeMap;

use super::chars;
use super::interpolate::interpolate;
use super::problem::{Problem, mask_url};
use super::yaml::{Key, Kind, Loc, Node, Scalar, Style, Typed, join};
use crate::api::rules::{is_valid_email, is_valid_webhook_url};
use crate::diagnostic::Code;
use crate::model::{DesiredWebhook, Located, Origin, Prune, Text};
use crate::suggest;

/// The fields of each level of the format.
pub const TOP_FIELDS: &[&str] = &["version", "owner", "defaults", "organizations"];
pub const DEFAULTS_FIELDS: &[&str] = &["userEmail"];
pub const ORGANIZATION_FIELDS: &[&str] = &["prune", "webhooks"];
pub const WEBHOOK_FIELDS: &[&str] = &[
    "url",
    "description",
    "events",
    "folders",
    "enabled",
    "userEmail",
    "secretRotation",
    "renamedFrom",
];

/// A string value may have at most this many characters, as written and once interpolated.
pub const MAX_VALUE_CHARS: usize = 10_000;

/// The values of one file that came from the environment may add up to at most this many
/// bytes, so references to a large variable cannot multiply it (`events: [${BIG}, ${BIG}, ...]`)
/// beyond what a config could hold.
pub const MAX_FROM_ENV_BYTES: usize = 1024 * 1024;

/// The marker the tool appends to descriptions; a description must not carry one itself.
const MARKER_PREFIX: &str = "[managed-by:";

/// What one file says.
#[derive(Debug, Default)]
pub struct FileConfig {
    pub owner: Option<Located<Text>>,
    pub organizations: Vec<FileOrganization>,
}

#[derive(Debug)]
pub struct FileOrganization {
    pub slug: String,
    pub origin: Origin,
    pub prune: Option<Located<Prune>>,
    pub webhooks: Vec<DesiredWebhook>,
}

/// Walks one file's tree.
pub struct Walker<'a> {
    file: &'a str,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    pub problems: Vec<Problem>,
    /// Bytes of the values taken from the environment so far (see `MAX_FROM_ENV_BYTES`).
    from_env_bytes: usize,
}

/// YAML's merge key, which YAML 1.2 (and this format) does not have.
const MERGE_KEY: &str = "<<";

/// The field name at the end of a path (`enabled` of `...pim-sync.enabled`), for hints.
fn last_field(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// For a quoted scalar that would have the expected type without its quotes: how to write it.
fn unquote_help(node: &Node, path: &str, expected: impl Fn(&Typed) -> bool) -> Option<String> {
    let Kind::Scalar(scalar) = &node.kind else {
        return None;
    };
    if scalar.style != Style::Quoted {
        return None;
    }
    let plain = Scalar {
        text: scalar.text.clone(),
        style: Style::Plain,
        tag: None,
    };
    expected(&plain.typed()).then(|| {
        format!(
            "remove the quotes: `{}: {}` (quoted, it is text)",
            last_field(path),
            scalar.text
        )
    })
}

/// YAML 1.1's other booleans, which YAML 1.2 reads as text: what they meant.
fn yaml11_boolean(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "yes" | "y" | "on" => Some(true),
        "no" | "n" | "off" => Some(false),
        _ => None,
    }
}

/// Why an email that is not valid is not (the rule of `is_valid_email`), without quoting it.
fn email_trouble(email: &str) -> &'static str {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    if email.chars().any(char::is_whitespace) {
        "it contains a space"
    } else if !email.contains('@') {
        "it has no `@`"
    } else if domain.contains('@') {
        "it has more than one `@`"
    } else if local.is_empty() {
        "it has no name before the `@`"
    } else {
        "the domain after the `@` has no dot"
    }
}

/// Why a url that is not a valid webhook url is not, without quoting it.
fn url_trouble(url: &str) -> &'static str {
    use url::ParseError;
    if url.chars().any(char::is_control) {
        "a url cannot contain line breaks or control characters"
    } else if url.chars().any(char::is_whitespace) {
        "a url cannot contain spaces"
    } else if !url.contains("://") {
        match scheme_without_slashes(url) {
            Some(scheme)
                if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http") =>
            {
                "its scheme is not followed by `://`"
            }
            Some(_) => "only `https://` and `http://` urls can receive webhooks",
            None => "it has no scheme; a webhook url starts with `https://` (or `http://`)",
        }
    } else if !url.split("://").next().is_some_and(|scheme| {
        scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")
    }) {
        "only `https://` and `http://` urls can receive webhooks"
    } else if password_needs_encoding(url) {
        "its user or password holds `/`, `?` or `#`, which must be percent-encoded there (`%2F`, `%3F`, `%23`)"
    } else {
        match url::Url::parse(url) {
            Err(ParseError::InvalidPort) => "its port is not a number from 0 to 65535",
            Err(ParseError::InvalidIpv6Address) => {
                "its IPv6 address is not valid (a zone such as `%eth0` cannot be used)"
            }
            Err(ParseError::InvalidIpv4Address) => "its IPv4 address is not valid",
            Err(ParseError::InvalidDomainCharacter | ParseError::IdnaError) => {
                "its host name has a character a host name cannot have"
            }
            _ => "it has no host after `://`",
        }
    }
}

fn field<'n>(entries: &'n [(Key, Node)], name: &str) -> Option<&'n Node> {
    entries.iter().find(|(k, _)| k.name == name).map(|(_, v)| v)
}

impl<'a> Walker<'a> {
    pub fn new(file: &'a str, lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Walker {
            file,
            lookup,
            problems: Vec::new(),
            from_env_bytes: 0,
        }
    }

    pub fn origin(&self, loc: Loc) -> Origin {
        Origin {
            file: self.file.to_owned(),
            line: loc.line,
            column: loc.column,
        }
    }

    fn problem(&mut self, code: Code, loc: Loc, path: &str, message: String) {
        self.problem_with_help(code, loc, path, message, None);
    }

    /// A problem at `loc`; a value copied by an alias also names the alias, since the path
    /// (where it is used) and the place (where it is written) differ.
    fn problem_with_help(
        &mut self,
        code: Code,
        loc: Loc,
        path: &str,
        mut message: String,
        help: Option<String>,
    ) {
        if let Some(line) = loc.alias {
            message.push_str(&format!(" (used through the alias at line {line})"));
        }
        let mut problem = Problem::error(code, message).at(self.origin(loc), path);
        problem.help = help;
        self.problems.push(problem);
    }

    /// A problem with the closest valid name, when there is one.
    fn problem_suggesting(
        &mut self,
        code: Code,
        loc: Loc,
        path: &str,
        message: String,
        suggestion: Option<&str>,
    ) {
        self.problem(code, loc, path, message);
        if let Some(last) = self.problems.last_mut() {
            last.suggestion = suggestion.map(str::to_owned);
        }
    }

    /// A `<<` key: YAML 1.1's merge, which this format does not read.
    fn merge_key(&mut self, key: &Key, path: &str) {
        self.problem_with_help(Code::YamlUnsupported, key.loc,
            &join(path, &key.name),
            "merge keys (`<<: *anchor`) are not supported".to_owned(),
            Some("write the fields out, or reuse a whole value with an alias (`events: *common-events`)".to_owned()),
        );
    }

    /// A mapping whose keys are all in `known`; unknown keys are problems with a suggestion.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        known: &[&str],
    ) -> Option<&'n [(Key, Node)]> {
        let entries = self.mapping(node, path)?;
        for (key, _) in entries {
            if key.name == MERGE_KEY {
                self.merge_key(key, path);
            } else if !known.contains(&key.name.as_str()) {
                let expected = match known {
                    [only] => format!("the only field here is `{only}`"),
                    _ => format!(
                        "expected one of {}",
                        known
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                let suggestion = suggest::closest(&key.name, known.iter().copied());
                self.problem_suggesting(
                    Code::UnknownField,
                    key.loc,
                    &join(path, &key.name),
                    format!(
                        "unknown field `{}`; {expected}",
                        super::yaml::abbreviate(&key.name)
                    ),
                    suggestion,
                );
            }
        }
        Some(entries)
    }

    /// A mapping whose keys are names chosen by the user (organization slugs, webhook names);
    /// a merge key is a problem, not a name.
    fn named<'n>(&mut self, node: &'n Node, path: &str, what: &str) -> Vec<&'n (Key, Node)> {
        if let Kind::Seq(_) = node.kind {
            // `- url: ...` items: the YAML shape of most tools' lists of webhooks.
            self.problem_with_help(
                Code::InvalidType,
                node.loc,
                path,
                format!("expected a mapping, found a list; {what}"),
                Some(format!(
                    "write `{}:` without `- ` in front, with its fields indented under it",
                    if what.starts_with("organizations") {
                        "acme-3d"
                    } else {
                        "pim-sync"
                    }
                )),
            );
            return Vec::new();
        }
        let Some(entries) = self.mapping(node, path) else {
            return Vec::new();
        };
        entries
            .iter()
            .filter(|entry| {
                let merge = entry.0.name == MERGE_KEY;
                if merge {
                    self.merge_key(&entry.0, path);
                }
                !merge
            })
            .collect()
    }

    /// Any mapping (names chosen by the user: organizations, webhooks).
    fn mapping<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [(Key, Node)]> {
        match &node.kind {
            Kind::Map(entries) => Some(entries),
            // `acme-3d:` with nothing under it is an empty mapping.
            Kind::Scalar(s) if s.typed() == Typed::Null => Some(&[]),
            _ => {
                self.problem(
                    Code::InvalidType,
                    node.loc,
                    path,
                    format!("expected a mapping, found {}", node.describe()),
                );
                None
            }
        }
    }

    /// A string value, interpolated: one line of visible characters (urls, emails, names).
    fn text(&mut self, node: &Node, path: &str) -> Option<Text> {
        self.string(node, path, chars::first_hidden)
    }

    /// Free text (a description): line breaks, tabs and emoji are fine; control characters
    /// and bidirectional controls are not.
    fn prose(&mut self, node: &Node, path: &str) -> Option<Text> {
        self.string(node, path, chars::first_hidden_in_prose)
    }

    fn string(
        &mut self,
        node: &Node,
        path: &str,
        hidden: fn(&str) -> Option<char>,
    ) -> Option<Text> {
        let Kind::Scalar(scalar) = &node.kind else {
            self.problem(
                Code::InvalidType,
                node.loc,
                path,
                format!("expected a string, found {}", node.describe()),
            );
            return None;
        };
        let Typed::Str(raw) = scalar.typed() else {
            let message = format!(
                "expected a string, found {}; quote it to use it as text",
                node.describe()
            );
            self.problem(Code::InvalidType, node.loc, path, message);
            return None;
        };
        let chars = raw.chars().count();
        if chars > MAX_VALUE_CHARS {
            self.problem(
                Code::InvalidValue,
                node.loc,
                path,
                format!("the value has {chars} characters; at most {MAX_VALUE_CHARS} are allowed"),
            );
            return None;
        }
        let text = match interpolate(raw, self.lookup) {
            Ok(text) => text,
            Err(err) => {
                self.problem(err.code(), node.loc, path, err.to_string());
                return None;
            }
        };
        if text.is_sensitive() {
            let before = self.from_env_bytes;
            self.from_env_bytes = before.saturating_add(text.value.len());
            if self.from_env_bytes > MAX_FROM_ENV_BYTES {
                // Said once, at the value that went over; the file fails either way.
                if before <= MAX_FROM_ENV_BYTES {
                    self.problem(Code::InvalidValue, node.loc, path, format!(
                        "the values taken from the environment in this file add up to more than {MAX_FROM_ENV_BYTES} bytes (here {}); a config is far smaller: check the variables it uses",
                        text.shown()
                    ));
                }
                return None;
            }
        }
        if let Some(c) = hidden(&text.value) {
            let whose = if text.is_sensitive() {
                format!("the value {}", text.shown())
            } else {
                "the value".to_owned()
            };
            self.problem(
                Code::InvalidValue,
                node.loc,
                path,
                format!(
                    "{whose} contains {} ({}), which does not show as written: remove it",
                    chars::code_point(c),
                    hidden_kind(c)
                ),
            );
            return None;
        }
        Some(text)
    }

    /// A non-empty string.
    fn name(&mut self, node: &Node, path: &str, what: &str) -> Option<Located<Text>> {
        let text = self.text(node, path)?;
        if text.value.trim().is_empty() {
            self.problem(
                Code::InvalidValue,
                node.loc,
                path,
                format!("expected {what}, found an empty string"),
            );
            return None;
        }
        Some(Located {
            value: text,
            origin: self.origin(node.loc),
        })
    }

    fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        if let Kind::Scalar(scalar) = &node.kind
            && let Typed::Bool(b) = scalar.typed()
        {
            return Some(b);
        }
        let help = unquote_help(node, path, |t| matches!(t, Typed::Bool(_))).or_else(|| {
            let Kind::Scalar(scalar) = &node.kind else {
                return None;
            };
            yaml11_boolean(&scalar.text).map(|meant| {
                format!(
                    "YAML 1.2 reads `{}` as text, not as a boolean: write `{}: {meant}`",
                    scalar.text,
                    last_field(path)
                )
            })
        });
        self.problem_with_help(
            Code::InvalidType,
            node.loc,
            path,
            format!("expected true or false, found {}", node.describe()),
            help,
        );
        None
    }

    fn count(&mut self, node: &Node, path: &str) -> Option<u64> {
        if let Kind::Scalar(scalar) = &node.kind
            && let Typed::Int(n) = scalar.typed()
            && let Ok(n) = u64::try_from(n)
        {
            return Some(n);
        }
        let too_large = matches!(&node.kind, Kind::Scalar(s)
            if s.typed() == Typed::Float && s.text.bytes().all(|b| b.is_ascii_digit()));
        let message = if too_large {
            format!(
                "expected a whole number, 0 or more, found {}, which is too large",
                node.describe()
            )
        } else {
            format!(
                "expected a whole number, 0 or more, found {}",
                node.describe()
            )
        };
        let help = unquote_help(node, path, |t| matches!(t, Typed::Int(n) if *n >= 0));
        self.problem_with_help(Code::InvalidType, node.loc, path, message, help);
        None
    }

    /// A list of non-empty strings, in written order, without repeats (a repeat is a problem).
    fn names(&mut self, node: &Node, path: &str, what: &str) -> Option<Vec<Located<Text>>> {
        let Kind::Seq(items) = &node.kind else {
            // One name written without the list around it.
            let help = match &node.kind {
                Kind::Scalar(scalar) if matches!(scalar.typed(), Typed::Str(_)) => Some(format!(
                    "write a list, even of one: `{}: [{}]`",
                    last_field(path),
                    super::yaml::abbreviate(&scalar.text)
                )),
                _ => None,
            };
            self.problem_with_help(
                Code::InvalidType,
                node.loc,
                path,
                format!("expected a list of {what}s, found {}", node.describe()),
                help,
            );
            return None;
        };
        // Each name with its index in the list, for "already listed as events[0]"; a map, so a
        // list of a hundred thousand names is not a hundred thousand scans.
        let mut names: Vec<Located<Text>> = Vec::new();
        let mut first_index: BTreeMap<String, usize> = BTreeMap::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            match self.name(item, &item_path, what) {
                Some(name) => {
                    if let Some(first) = first_index.get(&name.value.value) {
                        let message = format!(
                            "`{}` is already listed as {}[{first}]; list each {what} once",
                            name.value.shown(),
                            last_field(path),
                        );
                        self.problem(Code::Duplicate, item.loc, &item_path, message);
                    } else {
                        first_index.insert(name.value.value.clone(), i);
                        names.push(name);
                    }
                }
                None => ok = false,
            }
        }
        ok.then_some(names)
    }

    /// The whole file.
    pub fn file(&mut self, root: &Node) -> FileConfig {
        let mut config = FileConfig::default();
        let Kind::Map(_) = &root.kind else {
            self.problem(
                Code::InvalidType,
                root.loc,
                "",
                format!(
                    "expected a mapping with `version: 1` at the top, found {}",
                    root.describe()
                ),
            );
            return config;
        };
        let Some(entries) = self.fields(root, "", TOP_FIELDS) else {
            return config;
        };
        match field(entries, "version") {
            None => self.problem(
                Code::UnsupportedVersion,
                root.loc,
                "",
                "missing `version: 1` (the format's version) at the top of the file".to_owned(),
            ),
            Some(node) => {
                let is_one = matches!(&node.kind, Kind::Scalar(s) if s.typed() == Typed::Int(1));
                if !is_one {
                    let help = unquote_help(node, "version", |t| *t == Typed::Int(1));
                    self.problem_with_help(Code::UnsupportedVersion, node.loc,
                        "version",
                        format!(
                            "expected `version: 1`, found {}; this vntana-webhooks reads format version 1 only",
                            node.describe()
                        ),
                        help,
                    );
                }
            }
        }
        if let Some(node) = field(entries, "owner") {
            config.owner = self.owner(node);
        }
        let default_email = field(entries, "defaults").and_then(|node| {
            let entries = self.fields(node, "defaults", DEFAULTS_FIELDS)?;
            self.email(field(entries, "userEmail")?, "defaults.userEmail")
        });
        if let Some(node) = field(entries, "organizations") {
            for (key, node) in self.named(
                node,
                "organizations",
                "organizations are keyed by their slug",
            ) {
                if let Some(org) = self.organization(key, node, default_email.as_ref()) {
                    config.organizations.push(org);
                }
            }
        }
        config
    }

    fn owner(&mut self, node: &Node) -> Option<Located<Text>> {
        let owner = self.name(node, "owner", "an owner name")?;
        let valid = owner
            .value
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
        if !valid {
            self.problem(Code::InvalidValue, node.loc, "owner", format!(
                "`{}` is not a valid owner: use letters, digits, `-`, `_`, `.` and `/` (it is written into the webhook's description)",
                owner.value.shown()
            ));
            return None;
        }
        Some(owner)
    }

    fn email(&mut self, node: &Node, path: &str) -> Option<Text> {
        let email = self.text(node, path)?;
        if !is_valid_email(&email.value) {
            self.problem_with_help(Code::InvalidEmail, node.loc,
                path,
                format!(
                    "`{}` is not a valid email: {}",
                    email.shown(),
                    email_trouble(&email.value)
                ),
                Some("an email has one `@`, a name before it, a domain with a dot after it, and no spaces".to_owned()),
            );
            return None;
        }
        Some(email)
    }

    fn organization(
        &mut self,
        key: &Key,
        node: &Node,
        default_email: Option<&Text>,
    ) -> Option<FileOrganization> {
        let path = join("organizations", &key.name);
        if let Some(message) = bad_name(&key.name, "an organization slug") {
            self.problem(Code::InvalidValue, key.loc, &path, message);
        }
        let entries = self.fields(node, &path, ORGANIZATION_FIELDS)?;
        let prune =
            field(entries, "prune").and_then(|node| self.prune(node, &join(&path, "prune")));
        let mut webhooks = Vec::new();
        if let Some(node) = field(entries, "webhooks") {
            for (name, node) in self.named(
                node,
                &join(&path, "webhooks"),
                "webhooks are keyed by their name",
            ) {
                if let Some(webhook) = self.webhook(&path, name, node, default_email) {
                    webhooks.push(webhook);
                }
            }
        }
        Some(FileOrganization {
            slug: key.name.clone(),
            origin: self.origin(key.loc),
            prune,
            webhooks,
        })
    }

    fn prune(&mut self, node: &Node, path: &str) -> Option<Located<Prune>> {
        let value = match &node.kind {
            Kind::Scalar(s) => match s.typed() {
                Typed::Bool(false) => Some(Prune::Off),
                Typed::Bool(true) => Some(Prune::Marked),
                Typed::Str("all") => Some(Prune::All),
                _ => None,
            },
            _ => None,
        };
        if value.is_none() {
            let help = unquote_help(node, path, |t| matches!(t, Typed::Bool(_))).or_else(|| {
                let Kind::Scalar(scalar) = &node.kind else {
                    return None;
                };
                yaml11_boolean(&scalar.text).map(|meant| {
                    format!(
                        "YAML 1.2 reads `{}` as text, not as a boolean: write `prune: {meant}`",
                        scalar.text
                    )
                })
            });
            let suggestion = match (&help, &node.kind) {
                (None, Kind::Scalar(scalar)) => {
                    suggest::closest(&scalar.text, ["false", "true", "all"])
                }
                _ => None,
            };
            let message = format!("expected false, true or all, found {}", node.describe());
            self.problem_with_help(Code::InvalidValue, node.loc, path, message, help);
            if let Some(last) = self.problems.last_mut() {
                last.suggestion = suggestion.map(str::to_owned);
            }
        }
        value.map(|value| Located {
            value,
            origin: self.origin(node.loc),
        })
    }

    fn webhook(
        &mut self,
        org_path: &str,
        key: &Key,
        node: &Node,
        default_email: Option<&Text>,
    ) -> Option<DesiredWebhook> {
        let path = join(&join(org_path, "webhooks"), &key.name);
        let problems_before = self.problems.len();
        if let Some(message) = bad_name(&key.name, "a webhook name") {
            self.problem(Code::InvalidValue, key.loc, &path, message);
        }
        let entries = self.fields(node, &path, WEBHOOK_FIELDS)?;
        if entries.is_empty() {
            // `pim-sync:` with nothing under it: one problem, not one per required field.
            self.problem(
                Code::InvalidValue,
                key.loc,
                &path,
                "the webhook is empty: it needs at least `url` and `events`".to_owned(),
            );
            return None;
        }
        let here = |name: &str| join(&path, name);
        // A merge key was meant to supply fields: it is the problem, not their absence.
        let merged = entries.iter().any(|(k, _)| k.name == MERGE_KEY);
        let url = match field(entries, "url") {
            None if merged => None,
            Some(node) if matches!(node.kind, Kind::Seq(_)) => {
                self.problem_with_help(
                    Code::InvalidType,
                    node.loc,
                    &here("url"),
                    format!("expected a string, found {}", node.describe()),
                    Some("a webhook has one url: define one webhook for each url".to_owned()),
                );
                None
            }
            None => {
                self.problem(
                    Code::MissingField,
                    key.loc,
                    &path,
                    "missing `url`: the address the platform posts events to".to_owned(),
                );
                None
            }
            Some(node) => self
                .text(node, &here("url"))
                .filter(|url| self.webhook_url(url, node.loc, &here("url"))),
        };
        let description = field(entries, "description").map_or_else(|| Some(Text::default()), |node| {
            let text = self.prose(node, &here("description"))?;
            if text.value.contains(MARKER_PREFIX) {
                self.problem(Code::InvalidValue, node.loc, &here("description"), format!(
                    "a description cannot contain `{MARKER_PREFIX}`: the tool writes its ownership marker there"
                ));
                return None;
            }
            Some(text)
        });
        let events = match field(entries, "events") {
            None if merged => None,
            None => {
                self.problem(Code::MissingField, key.loc, &path, "missing `events`: at least one event name from the catalogue (see `vntana-webhooks events`)".to_owned());
                None
            }
            Some(node) => self
                .names(node, &here("events"), "event name")
                .filter(|events| {
                    if events.is_empty() {
                        self.problem(Code::MissingField, node.loc,
                            &here("events"),
                            "expected at least one event name; a webhook without events receives nothing (see `vntana-webhooks events`)".to_owned(),
                        );
                    }
                    !events.is_empty()
                }),
        };
        let folders = field(entries, "folders").map_or_else(
            || Some(Vec::new()),
            |node| match &node.kind {
                Kind::Scalar(s) if s.typed() == Typed::Null => Some(Vec::new()),
                _ => self.names(node, &here("folders"), "folder slug"),
            },
        );
        let enabled = field(entries, "enabled")
            .map_or(Some(true), |node| self.boolean(node, &here("enabled")));
        let user_email = match field(entries, "userEmail") {
            Some(node) => self.email(node, &here("userEmail")).map(Some),
            None => Some(default_email.cloned()),
        };
        let secret_rotation = field(entries, "secretRotation")
            .map_or(Some(0), |node| self.count(node, &here("secretRotation")));
        let renamed_from = field(entries, "renamedFrom").map_or_else(
            || Some(Vec::new()),
            |node| {
                let names = self.names(node, &here("renamedFrom"), "earlier name")?;
                if let Some(own) = names.iter().find(|n| n.value.value == key.name) {
                    self.problems.push(
                        Problem::error(
                            Code::InvalidValue,
                            format!(
                                "`{}` is the webhook's own name; renamedFrom lists earlier names",
                                key.name
                            ),
                        )
                        .at(own.origin.clone(), here("renamedFrom")),
                    );
                    return None;
                }
                Some(names)
            },
        );
        if self.problems.len() > problems_before {
            return None;
        }
        Some(DesiredWebhook {
            name: key.name.clone(),
            url: url?,
            description: description?,
            events: events?,
            folders: folders?,
            enabled: enabled?,
            user_email: user_email?,
            secret_rotation: secret_rotation?,
            renamed_from: renamed_from?,
            origin: self.origin(key.loc),
        })
    }

    /// Whether `url` is a webhook url; if not, a problem that shows it only when it is not
    /// from the environment (and never its password).
    fn webhook_url(&mut self, url: &Text, loc: Loc, path: &str) -> bool {
        if is_valid_webhook_url(&url.value) {
            return true;
        }
        let trouble = url_trouble(&url.value);
        // Shown masked (whether it parses or not), then shortened: shortening first could
        // cut a password before the `@` that marks it.
        let shown = if url.is_sensitive() {
            url.shown()
        } else {
            abbreviate_url(&mask_url(&url.value))
        };
        let message = format!("expected an absolute http(s) url with a host, found `{shown}`");
        if url.is_sensitive() {
            let vars: Vec<String> = url.from_env.iter().map(|v| format!("${v}")).collect();
            let help = format!("check {}: {trouble}", vars.join(", "));
            self.problem_with_help(Code::InvalidUrl, loc, path, message, Some(help));
        } else if !url.value.contains("://")
            && scheme_without_slashes(&url.value).is_none()
            && is_valid_webhook_url(&format!("https://{}", url.value))
        {
            let suggestion = format!("https://{shown}");
            self.problem_suggesting(Code::InvalidUrl, loc, path, message, Some(&suggestion));
        } else {
            self.problem_with_help(
                Code::InvalidUrl,
                loc,
                path,
                message,
                Some(trouble.to_owned()),
            );
        }
        false
    }
}

/// The scheme of a url written without `://` (`data:...`, `mailto:...`, `https:\\host`), if
/// it seems to have one: a name before a `:` that is not a host name (no dot), a port (digits
/// follow) or a user (an `@` follows before any `/`).
fn scheme_without_slashes(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once(':')?;
    let named = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-'));
    let port = rest.starts_with(|c: char| c.is_ascii_digit());
    let user = rest
        .split('/')
        .next()
        .is_some_and(|head| head.contains('@'));
    (named && !port && !user).then_some(scheme)
}

/// Whether a url that does not parse has an `@` after its authority seems to end, with a `:`
/// before: the mark of a password holding `/`, `?` or `#` unencoded.
fn password_needs_encoding(url: &str) -> bool {
    let rest = url.split_once("://").map_or("", |(_, rest)| rest);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after) = rest.split_at(end);
    !authority.contains('@')
        && authority.contains(':')
        && after.contains('@')
        && url::Url::parse(url).is_err()
}

/// A url for a message: at most 200 characters (a url may have 10,000).
fn abbreviate_url(url: &str) -> String {
    let mut chars = url.chars();
    let short: String = chars.by_ref().take(200).collect();
    if chars.next().is_some() {
        format!("{short}...")
    } else {
        short
    }
}

/// What is wrong with an organization slug or webhook name written as a key, if anything.
fn bad_name(name: &str, what: &str) -> Option<String> {
    if name.trim().is_empty() {
        Some(format!("{what} cannot be empty"))
    } else if name.trim() != name {
        Some(format!("{what} cannot start or end with spaces"))
    } else {
        chars::first_hidden(name).map(|c| {
            format!(
                "{what} cannot contain {} ({}): it does not show, so two names that look the same would differ",
                chars::code_point(c),
                hidden_kind(c)
            )
        })
    }
}

/// What a character that does not show is, for messages.
fn hidden_kind(c: char) -> &'static str {
    match c {
        '\n' | '\r' | '\u{85}' => "a line break",
        '\t' => "a tab",
        '\u{2028}' | '\u{2029}' => "a line or paragraph separator",
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            "a bidirectional control, which reorders the text around it"
        }
        c if c.is_control() => "a control character",
        _ => "an invisible character",
    }
}

#[cfg(test)]
mod tests {
    use super::super::{merge, yaml};
    use super::*;

    /// The problems of one file, as `load` would report them, each as
    /// `line:column path: message [help]`.
    fn problems(text: &str) -> Vec<String> {
        let tree = yaml::parse(text);
        assert!(tree.problems.is_empty(), "{:?}", tree.problems);
        let lookup = |name: &str| (name == "SECRET_URL").then(|| "pim.internal/x".to_owned());
        let mut walker = Walker::new("f.yaml", &lookup);
        let file = walker.file(&tree.root.unwrap());
        let mut problems = walker.problems;
        merge::merge(vec![file], &mut problems);
        problems.sort();
        problems
            .iter()
            .map(|p| {
                let help = p
                    .help
                    .clone()
                    .or_else(|| {
                        p.suggestion
                            .as_ref()
                            .map(|s| format!("did you mean `{s}`?"))
                    })
                    .map(|h| format!(" [{h}]"))
                    .unwrap_or_default();
                format!(
                    "{}:{} {}: {}{help}",
                    p.origin.line, p.origin.column, p.path, p.message
                )
            })
            .collect()
    }

    fn webhook(fields: &str) -> String {
        let mut text =
            String::from("version: 1\norganizations:\n  acme:\n    webhooks:\n      w:\n");
        for line in fields.lines() {
            text.push_str("        ");
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    const OK: &str = "url: https://x.example/h\nevents: [product.completed]\n";

    #[test]
    fn a_valid_file_has_no_problems() {
        assert_eq!(problems(&webhook(OK)), Vec::<String>::new());
    }

    #[test]
    fn quoted_values_of_the_right_type_say_to_remove_the_quotes() {
        let found = problems(&webhook(&format!(
            "{OK}enabled: \"false\"\nsecretRotation: '3'"
        )));
        assert_eq!(
            found,
            [
                "8:18 organizations.acme.webhooks.w.enabled: expected true or false, found the string \"false\" [remove the quotes: `enabled: false` (quoted, it is text)]",
                "9:25 organizations.acme.webhooks.w.secretRotation: expected a whole number, 0 or more, found the string \"3\" [remove the quotes: `secretRotation: 3` (quoted, it is text)]",
            ]
        );
    }

    #[test]
    fn yaml_1_1_booleans_are_explained() {
        let found = problems(&webhook(&format!("{OK}enabled: off")));
        assert!(
            found[0].ends_with(
                "[YAML 1.2 reads `off` as text, not as a boolean: write `enabled: false`]"
            ),
            "{found:?}"
        );
        let text = "version: 1\norganizations:\n  acme:\n    prune: Yes\n  beta:\n    prune: All\n";
        let found = problems(text);
        assert!(found[0].ends_with("write `prune: true`]"), "{found:?}");
        assert!(found[1].ends_with("[did you mean `all`?]"), "{found:?}");
    }

    #[test]
    fn a_repeated_name_points_at_its_first_index() {
        let found = problems(&webhook(
            "url: https://x.example/h\nevents: [a.b, c.d, a.b]\nfolders: [f, f]",
        ));
        assert_eq!(
            found,
            [
                "7:28 organizations.acme.webhooks.w.events[2]: `a.b` is already listed as events[0]; list each event name once",
                "8:22 organizations.acme.webhooks.w.folders[1]: `f` is already listed as folders[0]; list each folder slug once",
            ]
        );
    }

    #[test]
    fn an_empty_webhook_is_one_problem_at_its_name() {
        let text = "version: 1\norganizations:\n  acme:\n    webhooks:\n      a:\n      b: {}\n";
        assert_eq!(
            problems(text),
            [
                "5:7 organizations.acme.webhooks.a: the webhook is empty: it needs at least `url` and `events`",
                "6:7 organizations.acme.webhooks.b: the webhook is empty: it needs at least `url` and `events`",
            ]
        );
    }

    #[test]
    fn missing_fields_are_reported_at_the_webhook_name() {
        let found = problems(&webhook("description: x"));
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|p| p.starts_with("5:7 ")), "{found:?}");
    }

    #[test]
    fn a_merge_key_is_the_one_problem_not_the_fields_it_would_have_merged() {
        let text = "version: 1\norganizations:\n  acme:\n    webhooks:\n      a: &a\n        url: https://x.example/h\n        events: [e.f]\n      b:\n        <<: *a\n      <<: *a\n";
        assert_eq!(
            problems(text),
            [
                "9:9 organizations.acme.webhooks.b.<<: merge keys (`<<: *anchor`) are not supported [write the fields out, or reuse a whole value with an alias (`events: *common-events`)]",
                "10:7 organizations.acme.webhooks.<<: merge keys (`<<: *anchor`) are not supported [write the fields out, or reuse a whole value with an alias (`events: *common-events`)]",
            ]
        );
    }

    #[test]
    fn a_problem_in_an_aliased_value_names_the_alias() {
        let text = "version: 1\norganizations:\n  acme:\n    webhooks:\n      a:\n        url: https://x.example/h\n        events: &e [1]\n      b:\n        url: https://x.example/h\n        events: *e\n";
        let found = problems(text);
        assert_eq!(found.len(), 2);
        assert!(
            found[0].starts_with("7:21 organizations.acme.webhooks.a.events[0]: ")
                && !found[0].contains("alias"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("7:21 organizations.acme.webhooks.b.events[0]: ")
                && found[1].contains("(used through the alias at line 10)"),
            "{found:?}"
        );
    }

    #[test]
    fn urls_say_what_is_wrong_and_hide_env_values() {
        let found = problems(&webhook("url: pim.example/h\nevents: [e.f]"));
        assert!(
            found[0].ends_with("[did you mean `https://pim.example/h`?]"),
            "{found:?}"
        );
        let found = problems(&webhook("url: ${SECRET_URL}\nevents: [e.f]"));
        assert_eq!(
            found,
            [
                "6:14 organizations.acme.webhooks.w.url: expected an absolute http(s) url with a host, found `(from $SECRET_URL)` [check $SECRET_URL: it has no scheme; a webhook url starts with `https://` (or `http://`)]"
            ]
        );
        assert!(!found[0].contains("pim.internal"));
        assert_eq!(
            url_trouble("ftp://x.example"),
            "only `https://` and `http://` urls can receive webhooks"
        );
        assert_eq!(url_trouble("https://"), "it has no host after `://`");
        assert_eq!(url_trouble("https://a b"), "a url cannot contain spaces");
        assert_eq!(
            url_trouble("https://x.example:99999/"),
            "its port is not a number from 0 to 65535"
        );
        assert!(url_trouble("https://u:p/w@x.example/").starts_with("its user or password holds"));
        assert!(url_trouble("http://[fe80::1%25eth0]/").starts_with("its IPv6 address"));
        assert_eq!(
            url_trouble("data:text/html,x"),
            "only `https://` and `http://` urls can receive webhooks"
        );
        assert_eq!(
            url_trouble("https:\\\\evil.example"),
            "its scheme is not followed by `://`"
        );
        for no_scheme in ["pim.example/h", "localhost:8080/h", "u:p@pim.example/h"] {
            assert!(
                url_trouble(no_scheme).starts_with("it has no scheme"),
                "{no_scheme}"
            );
        }
    }

    #[test]
    fn values_from_the_environment_have_a_budget_per_file() {
        let refs: Vec<String> = (0..300).map(|i| format!("\"${{BIG}}{i}\"")).collect();
        let refs = refs.join(", ");
        let text = webhook(&format!("url: https://x.example/h\nevents: [{refs}]"));
        let tree = yaml::parse(&text);
        let lookup = |name: &str| (name == "BIG").then(|| "x".repeat(5_000));
        let mut walker = Walker::new("f.yaml", &lookup);
        walker.file(&tree.root.unwrap());
        assert_eq!(walker.problems.len(), 1, "said once");
        assert!(
            walker.problems[0]
                .message
                .starts_with("the values taken from the environment in this file add up to more than 1048576 bytes (here (from $BIG))"),
            "{:?}",
            walker.problems
        );
    }

    #[test]
    fn hidden_characters_are_refused_in_names_and_values_but_not_emoji_in_prose() {
        let found = problems(&webhook(
            "url: https://x.example/h\nevents: [\"a.b\\u200b\"]\ndescription: \"ok 👩\\u200d💻\\n\\tfine\"",
        ));
        assert_eq!(
            found,
            [
                "7:18 organizations.acme.webhooks.w.events[0]: the value contains U+200B (an invisible character), which does not show as written: remove it"
            ]
        );
        let found = problems("version: 1\norganizations:\n  \"acme\\u202e\": {}\n");
        assert!(
            found[0].contains("cannot contain U+202E (a bidirectional control"),
            "{found:?}"
        );
    }

    #[test]
    fn emails_say_which_rule_they_break() {
        assert_eq!(email_trouble("a.example"), "it has no `@`");
        assert_eq!(email_trouble("a@b@c.example"), "it has more than one `@`");
        assert_eq!(email_trouble("@c.example"), "it has no name before the `@`");
        assert_eq!(
            email_trouble("a@localhost"),
            "the domain after the `@` has no dot"
        );
        assert_eq!(email_trouble("a b@c.example"), "it contains a space");
    }

    #[test]
    fn names_written_as_keys_are_checked_and_quoted_in_paths() {
        let text = "version: 1\norganizations:\n  \"\":\n  acme:\n    webhooks:\n      \" w\":\n        url: https://x.example/h\n        events: [e.f]\n";
        assert_eq!(
            problems(text),
            [
                "3:3 organizations.\"\": an organization slug cannot be empty",
                "6:7 organizations.acme.webhooks.\" w\": a webhook name cannot start or end with spaces",
            ]
        );
    }

    #[test]
    fn a_list_where_names_are_keys_shows_how_to_write_it() {
        let text = "version: 1\norganizations:\n  acme:\n    webhooks:\n      - url: https://x.example/h\n";
        assert_eq!(
            problems(text),
            [
                "5:7 organizations.acme.webhooks: expected a mapping, found a list; webhooks are keyed by their name [write `pim-sync:` without `- ` in front, with its fields indented under it]"
            ]
        );
    }

    #[test]
    fn rename_rules_are_reported_once_with_both_places() {
        let text = "version: 1\norganizations:\n  acme:\n    webhooks:\n      a:\n        url: https://x.example/h\n        events: [e.f]\n        renamedFrom: [old, b]\n      b:\n        url: https://x.example/h\n        events: [e.f]\n        renamedFrom: [old]\n";
        assert_eq!(
            problems(text),
            [
                "8:28 organizations.acme.webhooks.a.renamedFrom: `b` is still a webhook of this organization (at f.yaml:9:7); a webhook cannot be renamed from a name that is in use",
                "12:23 organizations.acme.webhooks.b.renamedFrom: `old` is also listed in renamedFrom of `a` at f.yaml:8:23; only one webhook can take it over",
            ]
        );
    }

    #[test]
    fn the_version_must_be_the_number_1() {
        let found = problems("version: '1'\n");
        assert_eq!(
            found,
            [
                "1:10 version: expected `version: 1`, found the string \"1\"; this vntana-webhooks reads format version 1 only [remove the quotes: `version: 1` (quoted, it is text)]"
            ]
        );
        assert!(problems("version: 2\n")[0].contains("found the number 2"));
        assert!(problems("owner: x\n")[0].contains("missing `version: 1`"));
    }
}
