//! The plan's types: what would change in each organization, why, and what blocks it. They
//! serialise as the JSON plan (`formatVersion` 1, camelCase, lists never omitted), which the
//! README documents. An action also carries, unserialised, the full state to send.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::marker::Marker;
use crate::model::Text;

/// The JSON plan's format version.
pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub format_version: u32,
    /// Sorted by slug.
    pub organizations: Vec<OrganizationPlan>,
    pub summary: Summary,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub rotate: usize,
    pub delete: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ActionKind {
    Create,
    Update,
    Rotate,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
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

/// One field's change. Serialises as `{field, before, after}`, or `{field, sensitive: true}`
/// when either side came from the environment.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub field: &'static str,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    pub sensitive: bool,
}

impl Serialize for Change {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(if self.sensitive { 2 } else { 3 }))?;
        map.serialize_entry("field", self.field)?;
        if self.sensitive {
            map.serialize_entry("sensitive", &true)?;
        } else {
            map.serialize_entry("before", &self.before)?;
            map.serialize_entry("after", &self.after)?;
        }
        map.end()
    }
}

/// A live webhook listed but not acted on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    pub name: String,
    pub uuid: String,
    /// The owner of its marker, when it is marked for another owner.
    pub owner: Option<String>,
    /// Whether it carries a marker (of another owner, or without one).
    pub marked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Conflict {
    pub webhook: String,
    pub message: String,
    pub uuids: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guard {
    /// More than 30% of an organization's (at least 10) live webhooks updated or deleted.
    ChangeThreshold,
    /// Every managed webhook of an organization deleted.
    DeleteAllManaged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
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

    /// Read errors or conflicts anywhere (exit 1).
    pub fn has_errors(&self) -> bool {
        self.organizations
            .iter()
            .any(|o| !o.errors.is_empty() || !o.conflicts.is_empty())
    }

    /// Safety refusals anywhere (exit 3 when nothing worse).
    pub fn is_refused(&self) -> bool {
        self.organizations.iter().any(|o| !o.refused_by.is_empty())
    }
}
