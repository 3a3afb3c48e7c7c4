//! The plan's types: what would change in each organization, why, and what blocks it. They
//! serialise as the JSON plan (`formatVersion` 1, camelCase, lists never omitted), which the
//! README documents. An action also carries, unserialised, the full state to send.

use schemars::JsonSchema;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::marker::Marker;
use crate::diagnostic::Diagnostic;
use crate::model::Text;

/// The JSON plan's format version.
pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Plan {
    pub format_version: u32,
    /// Sorted by slug.
    pub organizations: Vec<OrganizationPlan>,
    pub summary: Summary,
    /// Every problem of the run, sorted: those of no organization (a config that did not
    /// load, the platform out of reach) and each organization's.
    pub problems: Vec<Diagnostic>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema, Default)]
#[schemars(deny_unknown_fields)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub rotate: usize,
    pub delete: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct OrganizationPlan {
    pub slug: String,
    pub uuid: String,
    pub live_digest: String,
    /// In execution order: creates, updates, rotations, deletes; by name within each.
    pub actions: Vec<Action>,
    /// Names of webhooks that match the config.
    pub unchanged: Vec<String>,
    /// Live webhooks managed by this config but absent from it (kept: prune is off).
    pub not_in_config: Vec<Listed>,
    /// Live webhooks this config does not manage: unmarked, or marked for another owner.
    pub unmanaged: Vec<Listed>,
    pub conflicts: Vec<Conflict>,
    pub warnings: Vec<String>,
    /// Why the organization could not be planned (a failed read).
    pub errors: Vec<String>,
    pub refused_by: Vec<Refusal>,
    /// Everything above that blocks or concerns the organization, as diagnostics (config
    /// problems found against the platform included), sorted.
    pub problems: Vec<Diagnostic>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum ActionKind {
    Create,
    Update,
    Rotate,
    Delete,
}

impl ActionKind {
    /// As JSON spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Create => "create",
            ActionKind::Update => "update",
            ActionKind::Rotate => "rotate",
            ActionKind::Delete => "delete",
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema, serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum Reason {
    New,
    Adopt,
    Rename,
    Reenable,
    Drift,
    Duplicate,
    Prune,
    Rotation,
    ImperativeRotation,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Action {
    pub action: ActionKind,
    /// The webhook's name (its new name for a rename).
    pub webhook: String,
    /// The live webhook's uuid; null for a create.
    pub uuid: Option<String>,
    pub reason: Reason,
    pub changes: Vec<Change>,
    /// The whole webhook as it must be after a create or update (and the PUT after a
    /// declarative rotation).
    #[serde(skip)]
    pub target: Option<TargetState>,
}

/// A webhook as the tool will write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetState {
    pub name: String,
    pub url: Text,
    /// The user's description, without the marker.
    pub description: Text,
    pub marker: Marker,
    /// Event names, sorted.
    pub events: Vec<String>,
    /// Folder slugs, sorted.
    pub folders: Vec<String>,
    pub enabled: bool,
    pub user_email: Text,
}

/// One field's change. Serialises as `{field, before, after}`, or `{field, sensitive: true,
/// fromEnv: [VAR...]}` when the new value came from the environment (or differs only in a
/// masked url password, then `fromEnv` is empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub field: &'static str,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    pub sensitive: bool,
    /// The environment variables the new value came from.
    pub from_env: Vec<String>,
}

impl Change {
    /// How a sensitive value shows: `(from $VAR)`, or `(sensitive value)` when it came from
    /// no variable (a url differing only in its masked password).
    pub fn shown_source(&self) -> String {
        if self.from_env.is_empty() {
            "(sensitive value)".to_owned()
        } else {
            let vars: Vec<String> = self.from_env.iter().map(|v| format!("${v}")).collect();
            format!("(from {})", vars.join(", "))
        }
    }
}

impl JsonSchema for Change {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Change".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "One field's change: its value before (null for a create) and after, or only that it is sensitive (the new value came from these environment variables, or differs only in a masked url password).",
            "oneOf": [
                {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string"},
                        "before": {},
                        "after": {}
                    },
                    "required": ["field", "before", "after"],
                    "additionalProperties": false
                },
                {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string"},
                        "sensitive": {"const": true},
                        "fromEnv": {"type": "array", "items": {"type": "string"}}
                    },
                    "required": ["field", "sensitive", "fromEnv"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl Serialize for Change {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("field", self.field)?;
        if self.sensitive {
            map.serialize_entry("sensitive", &true)?;
            map.serialize_entry("fromEnv", &self.from_env)?;
        } else {
            map.serialize_entry("before", &self.before)?;
            map.serialize_entry("after", &self.after)?;
        }
        map.end()
    }
}

/// A live webhook listed but not acted on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Listed {
    pub name: String,
    pub uuid: String,
    /// The owner of its marker, when it is marked for another owner.
    pub owner: Option<String>,
    /// Whether it carries a marker (of another owner, or without one).
    pub marked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Conflict {
    pub webhook: String,
    pub message: String,
    pub uuids: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Guard {
    /// More than 30% of an organization's (at least 10) live webhooks updated or deleted.
    ChangeThreshold,
    /// Every managed webhook of an organization deleted.
    DeleteAllManaged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Refusal {
    pub organization: String,
    pub guard: Guard,
    pub counted: usize,
    pub live: usize,
}

impl Plan {
    /// Whether any organization has actions.
    pub fn has_actions(&self) -> bool {
        self.organizations.iter().any(|o| !o.actions.is_empty())
    }

    /// Read errors, config problems or conflicts anywhere (exit 1).
    pub fn has_errors(&self) -> bool {
        self.organizations
            .iter()
            .any(|o| !o.errors.is_empty() || !o.conflicts.is_empty())
            || self
                .problems
                .iter()
                .any(|p| p.is_error() && p.code != crate::diagnostic::Code::SafetyRefusal)
    }

    /// A plan that could not be made: no organization, only `problems` (a config that did
    /// not load, the platform out of reach).
    pub fn failed(problems: Vec<Diagnostic>) -> Plan {
        let mut problems = problems;
        problems.sort();
        Plan {
            format_version: PLAN_FORMAT_VERSION,
            organizations: Vec::new(),
            summary: Summary::default(),
            problems,
        }
    }

    /// Safety refusals anywhere (exit 3 when nothing worse).
    pub fn is_refused(&self) -> bool {
        self.organizations.iter().any(|o| !o.refused_by.is_empty())
    }
}
