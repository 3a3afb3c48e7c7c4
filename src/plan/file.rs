//! Saved plans (`plan --out FILE`, applied by `apply FILE`): self-contained and exact. A saved
//! plan holds its format and tool versions, the desired state as a config document, the digest
//! of the canonical desired model, each organization's live digest, the options, and every
//! action with the whole state it writes. Values from the environment are kept only as their
//! `${VAR}` template with a salted hash, so the file holds no secret and `apply` can refuse a
//! plan whose environment changed.
//!
//! A saved plan is never trusted as it stands (it is a file anyone may edit): `apply` loads its
//! config through the config loader (every rule of a config file), checks the digests, plans
//! that config again against the live state, and refuses the plan unless the live state is the
//! one it was made from and the actions are exactly the ones it holds. What is shown and what
//! is executed are then the same plan, made by the planner with its ownership and prune rules.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use serde_json::json;

use super::model::{ActionKind, Plan, Reason};
use super::planner::{Options, Target};
use crate::config::ConfigError;
use crate::model::{Desired, Located, Prune, Text};

/// The saved-plan format's version.
pub const SAVED_PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SavedPlan {
    pub format_version: u32,
    pub tool_version: String,
    /// Hex salt of the hashes of environment values.
    pub salt: String,
    /// SHA-256 of the canonical desired model (without file positions or env values, sets
    /// sorted).
    pub desired_digest: String,
    pub force: bool,
    pub prune: bool,
    pub targets: Vec<String>,
    pub rotate: Vec<String>,
    /// The desired state as a config document (JSON, which the config loader reads as YAML
    /// 1.2): every organization of the config, environment values as their `${VAR}` templates.
    pub config: serde_json::Value,
    /// The salted SHA-256 of each environment value, by its template.
    pub env: BTreeMap<String, String>,
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

/// Why a saved plan cannot be used; nothing was applied.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error(transparent)]
    File(#[from] crate::versioned_file::VersionedFileError),
    #[error("the plan's environment changed: {}; plan again", .0.join("; "))]
    Environment(Vec<String>),
    #[error("the saved plan's config is not valid; plan again")]
    Config(#[source] ConfigError),
    #[error(
        "the saved plan does not hold together: {0}; it was edited, or made by another version of the tool, so nothing was applied; plan again"
    )]
    Edited(&'static str),
    #[error(
        "the saved plan is stale: the live state of {} changed since it was planned; nothing was applied, plan again",
        .0.join(", ")
    )]
    Stale(Vec<String>),
}

/// What a saved plan's config is called in messages.
pub const SAVED_CONFIG_NAME: &str = "(the saved plan's config)";

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

/// The canonical desired model: its JSON without positions, sets (events, folders, earlier
/// names) sorted; env values appear as `(from $VAR)`, their hashes being checked separately.
pub fn desired_digest(desired: &Desired) -> String {
    fn canonical(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.remove("origin");
                for (key, value) in map.iter_mut() {
                    canonical(value);
                    if let ("events" | "folders" | "renamedFrom", serde_json::Value::Array(items)) =
                        (key.as_str(), value)
                    {
                        items.sort_by_key(ToString::to_string);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(canonical),
            _ => {}
        }
    }
    let mut value = serde_json::to_value(desired).expect("the desired model serialises");
    canonical(&mut value);
    hex::encode(Sha256::digest(
        serde_json::to_vec(&value).expect("JSON serialises"),
    ))
}

/// A value as a config writes it: its `${VAR}` template when it came from the environment,
/// else the value with `${` escaped, so the loader reads back exactly it.
fn written(text: &Text) -> serde_json::Value {
    match &text.template {
        Some(template) if text.is_sensitive() => json!(template),
        _ => json!(text.value.replace("${", "$${")),
    }
}

fn written_set(items: &[Located<Text>]) -> serde_json::Value {
    let mut values: Vec<serde_json::Value> = items.iter().map(|i| written(&i.value)).collect();
    values.sort_by_key(ToString::to_string);
    serde_json::Value::Array(values)
}

/// The desired state as a config document: defaults folded into each webhook, sets sorted.
fn config_document(desired: &Desired) -> serde_json::Value {
    let mut organizations = serde_json::Map::new();
    for (slug, org) in &desired.organizations {
        let mut webhooks = serde_json::Map::new();
        for (name, webhook) in &org.webhooks {
            let mut fields = serde_json::Map::new();
            fields.insert("url".to_owned(), written(&webhook.url));
            fields.insert("description".to_owned(), written(&webhook.description));
            fields.insert("events".to_owned(), written_set(&webhook.events));
            fields.insert("folders".to_owned(), written_set(&webhook.folders));
            fields.insert("enabled".to_owned(), json!(webhook.enabled));
            if let Some(email) = &webhook.user_email {
                fields.insert("userEmail".to_owned(), written(email));
            }
            fields.insert("secretRotation".to_owned(), json!(webhook.secret_rotation));
            fields.insert("renamedFrom".to_owned(), written_set(&webhook.renamed_from));
            webhooks.insert(name.clone(), serde_json::Value::Object(fields));
        }
        let prune = match org.prune {
            Prune::Off => json!(false),
            Prune::Marked => json!(true),
            Prune::All => json!("all"),
        };
        organizations.insert(
            slug.clone(),
            json!({"prune": prune, "webhooks": serde_json::Value::Object(webhooks)}),
        );
    }
    let mut root = serde_json::Map::new();
    root.insert("version".to_owned(), json!(1));
    if let Some(owner) = &desired.owner {
        root.insert("owner".to_owned(), written(owner));
    }
    root.insert(
        "organizations".to_owned(),
        serde_json::Value::Object(organizations),
    );
    serde_json::Value::Object(root)
}

/// Every value of the desired state that came from the environment.
fn sensitive_texts(desired: &Desired) -> Vec<&Text> {
    let mut found: Vec<&Text> = desired.owner.iter().collect();
    for webhook in desired
        .organizations
        .values()
        .flat_map(|o| o.webhooks.values())
    {
        found.extend([&webhook.url, &webhook.description]);
        found.extend(webhook.user_email.iter());
        for list in [&webhook.events, &webhook.folders, &webhook.renamed_from] {
            found.extend(list.iter().map(|item| &item.value));
        }
    }
    found.retain(|text| text.is_sensitive());
    found
}

/// A recorded value with the run's credentials masked, like every other output (a live url
/// can hold one that a hostile config once sent there).
fn masked(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::String(text) => {
            json!(crate::api::redacted::mask_known(text).into_owned())
        }
        serde_json::Value::Array(items) => items.iter().map(masked).collect(),
        other => other.clone(),
    }
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
                                    masked(&c.before)
                                },
                                after: if c.sensitive {
                                    serde_json::Value::Null
                                } else {
                                    masked(&c.after)
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
        let env = sensitive_texts(desired)
            .into_iter()
            .filter_map(|text| {
                let template = text.template.clone()?;
                Some((template, hash(salt, &text.value)))
            })
            .collect();
        SavedPlan {
            format_version: SAVED_PLAN_FORMAT_VERSION,
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            salt: salt.to_owned(),
            desired_digest: desired_digest(desired),
            config: config_document(desired),
            env,
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

    /// The plan's desired state: its config loaded by every rule of a config file, its
    /// environment values read again through `lookup` and checked against their hashes, and
    /// its digest checked.
    pub fn desired(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Desired, SavedPlanError> {
        let text = serde_json::to_string_pretty(&self.config).expect("JSON serialises");
        // The limit of the config files together holds for the config a plan carries too.
        if text.len() as u64 > crate::config::sources::MAX_TOTAL_BYTES {
            return Err(SavedPlanError::Config(ConfigError {
                problems: vec![crate::config::sources::over_total(SAVED_CONFIG_NAME)],
            }));
        }
        let desired = crate::config::load_text(SAVED_CONFIG_NAME, text, lookup)
            .map_err(SavedPlanError::Config)?;
        let mut mismatches = BTreeSet::new();
        for text in sensitive_texts(&desired) {
            let saved = text.template.as_ref().and_then(|t| self.env.get(t));
            if saved != Some(&hash(&self.salt, &text.value)) {
                let vars: Vec<String> = text.from_env.iter().map(|v| format!("${v}")).collect();
                mismatches.insert(format!(
                    "{} has a different value than when planning",
                    vars.join(", ")
                ));
            }
        }
        if !mismatches.is_empty() {
            return Err(SavedPlanError::Environment(
                mismatches.into_iter().collect(),
            ));
        }
        if desired_digest(&desired) != self.desired_digest {
            return Err(SavedPlanError::Edited(
                "its config does not match its desiredDigest",
            ));
        }
        Ok(desired)
    }

    /// Checks `plan`, made again from this plan's config and options against the live state
    /// now, against this plan: the live state of every organization must be the one it was
    /// made from, and the actions exactly the ones it holds.
    pub fn verify(
        &self,
        plan: &Plan,
        desired: &Desired,
        options: &Options,
        with_folders: &BTreeSet<String>,
    ) -> Result<(), SavedPlanError> {
        let mut stale = Vec::new();
        for saved in &self.organizations {
            match plan.organizations.iter().find(|o| o.slug == saved.slug) {
                Some(now) if now.live_digest == saved.live_digest && now.errors.is_empty() => {}
                Some(now) if !now.errors.is_empty() => stale.push(format!(
                    "{} (cannot be read: {})",
                    saved.slug,
                    now.errors.join("; ")
                )),
                _ => stale.push(saved.slug.clone()),
            }
        }
        if !stale.is_empty() {
            return Err(SavedPlanError::Stale(stale));
        }
        let again = SavedPlan::new(plan, desired, options, with_folders, &self.salt);
        if again.organizations != self.organizations {
            return Err(SavedPlanError::Edited(
                "its actions are not the ones its config plans against the same live state",
            ));
        }
        Ok(())
    }
}
