//! The domain types the planner sees: the desired state read from the config files, with the
//! sensitivity of every value and where it was written. Ordered collections only (BTreeMap,
//! sorted Vec), so anything derived from them is deterministic.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

/// A string of the config, with the environment variables that supplied it. A sensitive text
/// never shows its value: `Debug`, `Serialize` and `shown()` print `(from $VAR)`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Text {
    pub value: String,
    /// The variables that supplied part of the value; non-empty means sensitive.
    pub from_env: Vec<String>,
    /// The value as written, `${VAR}` references included, when it is sensitive.
    pub template: Option<String>,
}

impl Text {
    /// A literal value.
    pub fn literal(value: impl Into<String>) -> Text {
        Text {
            value: value.into(),
            from_env: Vec::new(),
            template: None,
        }
    }

    /// Whether output must hide the value.
    pub fn is_sensitive(&self) -> bool {
        !self.from_env.is_empty()
    }

    /// The value for output: `(from $VAR)` when sensitive.
    pub fn shown(&self) -> String {
        if self.is_sensitive() {
            let vars: Vec<String> = self.from_env.iter().map(|v| format!("${v}")).collect();
            format!("(from {})", vars.join(", "))
        } else {
            self.value.clone()
        }
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.shown())
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.shown())
    }
}

/// `url` with the password part masked (`****`), for output; a url that does not parse is
/// returned as it is (`config::problem::mask_url` masks those, as text).
pub fn masked_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Where something was written: a file and, when known, its line and column. Serialises as
/// `file:line:column`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

impl Serialize for Origin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A value with the place it was written. Serialises as the value alone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Located<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T: Serialize> Serialize for Located<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

/// `prune`: what happens to live webhooks absent from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum Prune {
    /// `false` (default): listed, never deleted.
    #[default]
    Off,
    /// `true`: the ones marked as ours are deleted.
    Marked,
    /// `all`: unmarked ones too.
    All,
}

/// The whole desired state: every organization the config names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Desired {
    /// `owner`: whose marker the tool writes and recognises.
    pub owner: Option<Text>,
    pub organizations: BTreeMap<String, DesiredOrganization>,
}

impl Desired {
    /// The same desired state, with only the organizations whose slug `keep` accepts.
    #[must_use]
    pub fn only(&self, keep: impl Fn(&str) -> bool) -> Desired {
        Desired {
            owner: self.owner.clone(),
            organizations: self
                .organizations
                .iter()
                .filter(|(slug, _)| keep(slug))
                .map(|(slug, org)| (slug.clone(), org.clone()))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredOrganization {
    pub slug: String,
    pub prune: Prune,
    pub webhooks: BTreeMap<String, DesiredWebhook>,
    /// Where the organization was first named.
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredWebhook {
    pub name: String,
    pub url: Text,
    pub description: Text,
    /// Event names in written order, unique; a set to the planner; resolved against the
    /// catalogue later.
    pub events: Vec<Located<Text>>,
    /// Folder slugs in written order, unique; empty means the whole organization.
    pub folders: Vec<Located<Text>>,
    pub enabled: bool,
    /// The webhook's own or the file's default; `None` leaves it to the platform's user.
    pub user_email: Option<Text>,
    pub secret_rotation: u64,
    /// Earlier names, so a rename keeps the uuid and secret.
    pub renamed_from: Vec<Located<Text>>,
    pub origin: Origin,
}
