//! The JSON Schema of the config format (`vntana-webhooks schema`), for editors
//! (`# yaml-language-server: $schema=...`) and CI linters. These types exist only to describe
//! the format; their doc comments are the field reference. The loader (`parse`) is what
//! enforces the format; a test keeps the two in step (same fields at every level).
//! Values may be `${VAR}` references, so url and email patterns accept those too.

use std::collections::BTreeMap;

use schemars::JsonSchema;

/// A vntana-webhooks config file: the webhooks every VNTANA organization must have.
#[derive(JsonSchema)]
#[schemars(
    title = "vntana-webhooks config",
    deny_unknown_fields,
    rename_all = "camelCase"
)]
#[allow(dead_code)]
pub struct ConfigFile {
    /// The format's version. Required; always 1.
    #[schemars(extend("const" = 1))]
    version: u32,
    /// Which config owns what it manages. Webhooks marked for another owner are never
    /// updated, adopted or pruned. Letters, digits, `-`, `_`, `.` and `/`.
    #[schemars(regex(pattern = r"^([A-Za-z0-9._/-]+|.*\$\{.*)$"))]
    owner: Option<String>,
    /// Values applied to every webhook of this file.
    defaults: Option<Defaults>,
    /// Organizations by slug, as `GET /v1/organizations` returns it.
    organizations: Option<BTreeMap<String, Option<Organization>>>,
}

/// Defaults for every webhook of the file.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct Defaults {
    /// The email that receives the platform's failure emails, when a webhook sets none.
    #[schemars(regex(pattern = r"^([^@\s]+@[^@\s]*\.[^@\s]*|.*\$\{.*)$"))]
    user_email: Option<String>,
}

/// One organization's webhooks.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct Organization {
    /// What happens to live webhooks absent from the config: `false` (default) lists them;
    /// `true` deletes the ones marked as managed by this owner; `all` deletes unmarked ones
    /// too.
    prune: Option<Prune>,
    /// Webhooks by name: the name is the webhook's identity inside the organization.
    webhooks: Option<BTreeMap<String, Webhook>>,
}

/// `prune`: a boolean or `all`.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum Prune {
    Bool(bool),
    All(PruneAll),
}

#[derive(JsonSchema)]
#[allow(dead_code)]
enum PruneAll {
    #[serde(rename = "all")]
    All,
}

/// One webhook.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct Webhook {
    /// Where the platform POSTs events: an absolute http(s) url with a host.
    #[schemars(regex(pattern = r"^((?i:https?)://.+|.*\$\{.*)$"))]
    url: String,
    /// Free text; default "". The tool appends its ownership marker on the platform and
    /// ignores it when comparing.
    description: Option<String>,
    /// Event names from the catalogue (`vntana-webhooks events`); at least one.
    #[schemars(length(min = 1))]
    events: Vec<String>,
    /// Folder (client) slugs; omitted or empty means the whole organization.
    folders: Option<Vec<String>>,
    /// Default true; false disables deliveries (the API's `disable`).
    enabled: Option<bool>,
    /// Who receives the platform's failure emails; default: `defaults.userEmail`, else the
    /// signed-in user's email on create and the live value on update.
    #[schemars(regex(pattern = r"^([^@\s]+@[^@\s]*\.[^@\s]*|.*\$\{.*)$"))]
    user_email: Option<String>,
    /// Default 0; raise it to rotate the signing secret once.
    secret_rotation: Option<u64>,
    /// Earlier names, so a rename keeps the webhook's uuid and secret.
    renamed_from: Option<Vec<String>>,
}

/// The schema as pretty JSON, with a trailing newline.
pub fn json() -> String {
    let schema = schemars::schema_for!(ConfigFile);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::super::parse::{DEFAULTS_FIELDS, ORGANIZATION_FIELDS, TOP_FIELDS, WEBHOOK_FIELDS};

    fn fields(schema: &serde_json::Value, pointer: &str) -> Vec<String> {
        let mut names: Vec<String> = schema
            .pointer(pointer)
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn the_schema_has_the_fields_the_loader_knows_at_every_level() {
        let schema: serde_json::Value = serde_json::from_str(&super::json()).unwrap();
        assert_eq!(fields(&schema, "/properties"), sorted(TOP_FIELDS));
        assert_eq!(
            fields(&schema, "/$defs/Defaults/properties"),
            sorted(DEFAULTS_FIELDS)
        );
        assert_eq!(
            fields(&schema, "/$defs/Organization/properties"),
            sorted(ORGANIZATION_FIELDS)
        );
        assert_eq!(
            fields(&schema, "/$defs/Webhook/properties"),
            sorted(WEBHOOK_FIELDS)
        );
    }
}
