//! Saved plans (`plan --out FILE`, applied by `apply FILE`): self-contained and exact. A saved
//! plan holds its format and tool versions, the digest of the canonical desired model, each
//! organization's live digest, the options, and every action with the whole state it writes.
//! Values from the environment are kept only as their `${VAR}` template with a salted hash,
//! so the file holds no secret and `apply` can refuse a plan whose environment changed.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::marker::Marker;
use super::model::{
    Action, ActionKind, Change, OrganizationPlan, PLAN_FORMAT_VERSION, Plan, Reason, TargetState,
};
use super::planner::{Options, Target};
use crate::config::interpolate::interpolate;
use crate::model::{Desired, Text};

/// The saved-plan format's version.
pub const SAVED_PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SavedPlan {
    pub format_version: u32,
    pub tool_version: String,
    /// Hex salt of the hashes of environment values.
    pub salt: String,
    /// SHA-256 of the canonical desired model (without file positions or env values).
    pub desired_digest: String,
    pub force: bool,
    pub prune: bool,
    pub targets: Vec<String>,
    pub rotate: Vec<String>,
    pub organizations: Vec<SavedOrganization>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SavedOrganization {
    pub slug: String,
    pub uuid: String,
    pub live_digest: String,
    /// Whether the organization's folders were part of its live state (and its digest).
    pub folders_read: bool,
    pub actions: Vec<SavedAction>,
    /// Names of the webhooks that matched (for the summary).
    pub unchanged: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SavedAction {
    pub action: ActionKind,
    pub webhook: String,
    pub uuid: Option<String>,
    pub reason: Reason,
    pub changes: Vec<SavedChange>,
    pub target: Option<SavedTarget>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SavedChange {
    pub field: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    pub sensitive: bool,
    /// The variables a sensitive value came from (names only).
    #[serde(default)]
    pub from_env: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SavedTarget {
    pub name: String,
    pub url: SavedText,
    pub description: SavedText,
    pub owner: Option<String>,
    pub secret_rev: u64,
    pub events: Vec<String>,
    pub folders: Vec<String>,
    pub enabled: bool,
    pub user_email: SavedText,
}

/// A value: literal, or (from the environment) its template and a salted hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SavedText {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// Why a saved plan cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error(transparent)]
    File(#[from] crate::versioned_file::VersionedFileError),
    #[error("the plan's environment changed: {}; plan again", .0.join("; "))]
    Environment(Vec<String>),
}

fn hash(salt: &str, value: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update([0u8]);
    hasher.update(value.as_bytes());
    hex::encode(hasher.finalize())
}

fn save_text(text: &Text, salt: &str) -> SavedText {
    match &text.template {
        Some(template) if text.is_sensitive() => SavedText {
            value: None,
            template: Some(template.clone()),
            sha256: Some(hash(salt, &text.value)),
        },
        _ => SavedText {
            value: Some(text.value.clone()),
            template: None,
            sha256: None,
        },
    }
}

/// The canonical desired model: its JSON without positions; env values appear as
/// `(from $VAR)`, their hashes being checked separately.
pub fn desired_digest(desired: &Desired) -> String {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.remove("origin");
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(desired).expect("the desired model serialises");
    strip(&mut value);
    hex::encode(Sha256::digest(
        serde_json::to_vec(&value).expect("JSON serialises"),
    ))
}

fn target_name(target: &Target) -> String {
    match target {
        Target::Organization(org) => org.clone(),
        Target::Webhook(org, name) => format!("{org}/{name}"),
    }
}

impl SavedPlan {
    /// The saved form of `plan`; `salt` should be fresh randomness.
    pub fn new(
        plan: &Plan,
        desired: &Desired,
        options: &Options,
        with_folders: &BTreeSet<String>,
        salt: &str,
    ) -> SavedPlan {
        let organizations = plan
            .organizations
            .iter()
            .map(|org| SavedOrganization {
                slug: org.slug.clone(),
                uuid: org.uuid.clone(),
                live_digest: org.live_digest.clone(),
                folders_read: with_folders.contains(&org.slug),
                unchanged: org.unchanged.clone(),
                actions: org
                    .actions
                    .iter()
                    .map(|action| SavedAction {
                        action: action.action,
                        webhook: action.webhook.clone(),
                        uuid: action.uuid.clone(),
                        reason: action.reason,
                        changes: action
                            .changes
                            .iter()
                            .map(|c| SavedChange {
                                field: c.field.to_owned(),
                                before: if c.sensitive {
                                    serde_json::Value::Null
                                } else {
                                    c.before.clone()
                                },
                                after: if c.sensitive {
                                    serde_json::Value::Null
                                } else {
                                    c.after.clone()
                                },
                                sensitive: c.sensitive,
                                from_env: c.from_env.clone(),
                            })
                            .collect(),
                        target: action.target.as_ref().map(|t| SavedTarget {
                            name: t.name.clone(),
                            url: save_text(&t.url, salt),
                            description: save_text(&t.description, salt),
                            owner: t.marker.owner.clone(),
                            secret_rev: t.marker.secret_rev,
                            events: t.events.clone(),
                            folders: t.folders.clone(),
                            enabled: t.enabled,
                            user_email: save_text(&t.user_email, salt),
                        }),
                    })
                    .collect(),
            })
            .collect();
        SavedPlan {
            format_version: SAVED_PLAN_FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            salt: salt.to_owned(),
            desired_digest: desired_digest(desired),
            force: options.force,
            prune: options.prune,
            targets: options.targets.iter().map(target_name).collect(),
            rotate: options
                .rotate
                .iter()
                .map(|(org, name)| format!("{org}/{name}"))
                .collect(),
            organizations,
        }
    }

    /// Pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a saved plan serialises");
        text.push('\n');
        text
    }

    /// Reads a saved plan, refusing unknown format versions before anything else.
    pub fn read(path: &Path) -> Result<SavedPlan, SavedPlanError> {
        Ok(crate::versioned_file::read(
            path,
            "saved plan",
            SAVED_PLAN_FORMAT_VERSION,
        )?)
    }

    /// The plan to execute, with environment values read again through `lookup` and checked
    /// against their hashes.
    pub fn to_plan(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Plan, SavedPlanError> {
        let mut mismatches: BTreeSet<String> = BTreeSet::new();
        let mut text = |saved: &SavedText| -> Text {
            match (&saved.value, &saved.template, &saved.sha256) {
                (Some(value), _, _) => Text::literal(value),
                (None, Some(template), Some(expected)) => match interpolate(template, lookup) {
                    Ok(text) if hash(&self.salt, &text.value) == *expected => text,
                    Ok(text) => {
                        mismatches.insert(format!(
                            "{} has a different value than when planning",
                            text.from_env
                                .iter()
                                .map(|v| format!("${v}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                        text
                    }
                    Err(err) => {
                        mismatches.insert(err.to_string());
                        Text::default()
                    }
                },
                _ => {
                    mismatches.insert("a value without a value or template".to_owned());
                    Text::default()
                }
            }
        };
        let mut organizations = Vec::new();
        for org in &self.organizations {
            let mut actions = Vec::new();
            for saved in &org.actions {
                let target = saved.target.as_ref().map(|t| TargetState {
                    name: t.name.clone(),
                    url: text(&t.url),
                    description: text(&t.description),
                    marker: Marker {
                        owner: t.owner.clone(),
                        secret_rev: t.secret_rev,
                    },
                    events: t.events.clone(),
                    folders: t.folders.clone(),
                    enabled: t.enabled,
                    user_email: text(&t.user_email),
                });
                actions.push(Action {
                    action: saved.action,
                    webhook: saved.webhook.clone(),
                    uuid: saved.uuid.clone(),
                    reason: saved.reason,
                    changes: saved
                        .changes
                        .iter()
                        .map(|c| Change {
                            field: field_name(&c.field),
                            before: c.before.clone(),
                            after: c.after.clone(),
                            sensitive: c.sensitive,
                            from_env: c.from_env.clone(),
                        })
                        .collect(),
                    target,
                });
            }
            organizations.push(OrganizationPlan {
                slug: org.slug.clone(),
                uuid: org.uuid.clone(),
                live_digest: org.live_digest.clone(),
                actions,
                unchanged: org.unchanged.clone(),
                ..OrganizationPlan::default()
            });
        }
        if !mismatches.is_empty() {
            return Err(SavedPlanError::Environment(
                mismatches.into_iter().collect(),
            ));
        }
        let mut plan = Plan {
            format_version: PLAN_FORMAT_VERSION,
            organizations,
            summary: super::model::Summary::default(),
            problems: Vec::new(),
        };
        plan.summary = super::planner::summarise(&plan.organizations);
        Ok(plan)
    }
}

/// The planner's static field names.
fn field_name(field: &str) -> &'static str {
    const FIELDS: &[&str] = &[
        "name",
        "url",
        "description",
        "events",
        "folders",
        "enabled",
        "userEmail",
        "marker",
        "secretRotation",
    ];
    FIELDS
        .iter()
        .find(|f| **f == field)
        .copied()
        .unwrap_or("unknown")
}
