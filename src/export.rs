//! `export --format yaml`: a config file of the live state, so an existing setup is adopted
//! in minutes (export, plan: only adoptions, apply, and then no changes). Pure: a snapshot in,
//! YAML text out. Markers are stripped (their `secret-rev` becomes `secretRotation`, their
//! owner the config's `owner`); events and folders are sorted; only values that differ from
//! the defaults are written. The password of a url is never written (product.md: "The password
//! part of any url is always masked"): a config gets a `${VAR}` reference in its place, so the
//! round trip still plans no change once VAR is set; a live snapshot gets `****`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::config::chars;
use crate::live::{LiveOrganization, LiveSnapshot, LiveWebhook};
use crate::plan::marker::{self, Marker};

/// A live state that cannot be exported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    #[error(
        "organization `{slug}` has {} unmarked webhooks named `{name}` ({}); a config names each webhook once: delete or rename the extra ones, then export again",
        .uuids.len(),
        .uuids.join(", ")
    )]
    SeveralUnmarked {
        slug: String,
        name: String,
        uuids: Vec<String>,
    },
    #[error("organization `{slug}` could not be read: {error}")]
    Unreadable { slug: String, error: String },
    #[error(
        "the webhook [{uuid}] of organization `{slug}` has a {field} with {character}, which a config cannot hold (it would not show as written): change it on the platform, then export again"
    )]
    Unwritable {
        slug: String,
        uuid: String,
        field: &'static str,
        character: String,
    },
}

/// The exported config, and notes on what was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub yaml: String,
    pub notes: Vec<String>,
}

/// The owner the config takes: the one most marked webhooks carry (ties: the first by name).
fn owner_of(snapshot: &LiveSnapshot) -> Option<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for webhook in snapshot.organizations.iter().flat_map(|o| &o.webhooks) {
        if let (
            _,
            Some(Marker {
                owner: Some(owner), ..
            }),
        ) = marker::parse(&webhook.description)
        {
            *counts.entry(owner).or_default() += 1;
        }
    }
    let most = counts.values().copied().max()?;
    counts
        .into_iter()
        .find(|(_, n)| *n == most)
        .map(|(owner, _)| owner)
}

/// The config for `snapshot`.
pub fn to_config(snapshot: &LiveSnapshot) -> Result<Exported, ExportError> {
    let owner = owner_of(snapshot);
    let mut notes = Vec::new();
    let mut out = String::from(
        "# yaml-language-server: $schema=./vntana-webhooks.schema.json\n\
         # The live webhooks, exported by `vntana-webhooks export`. Review it, then\n\
         # `vntana-webhooks plan -f FILE` shows only adoptions; after `apply`, no changes.\n\
         # The format, for the editor modeline above: `vntana-webhooks schema > vntana-webhooks.schema.json`.\n\
         version: 1\n",
    );
    if let Some(owner) = &owner {
        let _ = writeln!(out, "owner: {}", scalar(owner));
    }
    out.push_str("organizations:\n");
    for org in &snapshot.organizations {
        if let Some(error) = &org.error {
            return Err(ExportError::Unreadable {
                slug: org.slug.clone(),
                error: error.clone(),
            });
        }
        let webhooks = exportable(org, owner.as_deref(), &mut notes)?;
        let _ = writeln!(out, "  {}:", scalar(&org.slug));
        if webhooks.is_empty() {
            out.push_str("    webhooks: {}\n");
            continue;
        }
        out.push_str("    webhooks:\n");
        for webhook in webhooks {
            write_webhook(&mut out, &org.slug, webhook, &mut notes);
        }
    }
    Ok(Exported { yaml: out, notes })
}

/// One webhook per name: the marked one (oldest first) if any, else the only unmarked one.
/// Webhooks marked for another owner are left out, with a note.
fn exportable<'a>(
    org: &'a LiveOrganization,
    owner: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<Vec<&'a LiveWebhook>, ExportError> {
    let mut by_name: BTreeMap<&str, Vec<&LiveWebhook>> = BTreeMap::new();
    for webhook in &org.webhooks {
        match marker::parse(&webhook.description).1 {
            Some(Marker {
                owner: Some(other), ..
            }) if Some(other.as_str()) != owner => notes.push(format!(
                "{}/{} [{}] is managed by owner `{other}`; left out",
                org.slug, webhook.name, webhook.uuid
            )),
            _ => by_name.entry(&webhook.name).or_default().push(webhook),
        }
    }
    let mut chosen = Vec::new();
    for webhook in by_name.values().flatten() {
        writable(&org.slug, webhook)?;
    }
    for (name, mut namesakes) in by_name {
        namesakes.sort_by(|a, b| (&a.created, &a.uuid).cmp(&(&b.created, &b.uuid)));
        let marked: Vec<&&LiveWebhook> = namesakes
            .iter()
            .filter(|w| marker::parse(&w.description).1.is_some())
            .collect();
        match (marked.first(), namesakes.as_slice()) {
            (Some(first), _) => chosen.push(**first),
            (None, [one]) => chosen.push(*one),
            (None, several) => {
                return Err(ExportError::SeveralUnmarked {
                    slug: org.slug.clone(),
                    name: name.to_owned(),
                    uuids: several.iter().map(|w| w.uuid.clone()).collect(),
                });
            }
        }
    }
    Ok(chosen)
}

/// Whether a config can hold the webhook as the platform does: the loader refuses control and
/// invisible characters (and a description's other than line breaks and tabs), so a name
/// with one could not be read back, and would not show as written.
fn writable(slug: &str, webhook: &LiveWebhook) -> Result<(), ExportError> {
    let lines = [
        ("name", chars::first_hidden(&webhook.name)),
        ("url", chars::first_hidden(&webhook.url)),
        ("userEmail", chars::first_hidden(&webhook.user_email)),
        (
            "description",
            chars::first_hidden_in_prose(marker::parse(&webhook.description).0),
        ),
        (
            "event",
            webhook.events.iter().find_map(|e| chars::first_hidden(e)),
        ),
        (
            "folder",
            webhook.clients.iter().find_map(|f| chars::first_hidden(f)),
        ),
    ];
    match lines.into_iter().find_map(|(field, c)| Some((field, c?))) {
        Some((field, c)) => Err(ExportError::Unwritable {
            slug: slug.to_owned(),
            uuid: webhook.uuid.clone(),
            field,
            character: chars::code_point(c),
        }),
        None => Ok(()),
    }
}

fn write_webhook(out: &mut String, slug: &str, webhook: &LiveWebhook, notes: &mut Vec<String>) {
    let (text, mark) = marker::parse(&webhook.description);
    let _ = writeln!(out, "      {}:", scalar(&webhook.name));
    let url = match around_password(&webhook.url) {
        Some((before, after)) => {
            let var = password_variable(slug, &webhook.name);
            notes.push(format!(
                "{slug}/{}: the url's password is written as ${{{var}}}; set {var} to it (as the url spells it) before planning",
                webhook.name
            ));
            let escape = |part: &str| part.replace("${", "$${");
            quoted(&format!("{}${{{var}}}{}", escape(before), escape(after)))
        }
        None => scalar(&webhook.url),
    };
    let _ = writeln!(out, "        url: {url}");
    if !text.is_empty() {
        let _ = writeln!(out, "        description: {}", scalar(text));
    }
    let _ = writeln!(out, "        events: {}", list(&webhook.events));
    if !webhook.clients.is_empty() {
        let _ = writeln!(out, "        folders: {}", list(&webhook.clients));
    }
    if webhook.disable {
        out.push_str("        enabled: false\n");
    }
    let _ = writeln!(out, "        userEmail: {}", scalar(&webhook.user_email));
    if let Some(rev) = mark.map(|m| m.secret_rev).filter(|rev| *rev > 0) {
        let _ = writeln!(out, "        secretRotation: {rev}");
    }
}

/// `url` split around its password (`scheme://user:PASSWORD@host/...`), when it has one. Text,
/// not a re-serialised url, so everything but the password stays as the platform holds it.
fn around_password(url: &str) -> Option<(&str, &str)> {
    url::Url::parse(url).ok()?.password()?;
    let start = url.find("://")? + 3;
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let at = url[start..end].rfind('@')? + start;
    let colon = url[start..at].find(':')? + start;
    Some((&url[..=colon], &url[at..]))
}

/// The variable an exported config reads a url's password from: `URL_PASSWORD_ORG_NAME`,
/// upper case, anything but letters and digits as `_`.
fn password_variable(slug: &str, name: &str) -> String {
    let mut var = String::from("URL_PASSWORD");
    for part in [slug, name] {
        var.push('_');
        var.extend(part.chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        }));
    }
    var
}

/// `snapshot` with the password of every url replaced by `****`, and how many were.
pub fn without_url_passwords(snapshot: &LiveSnapshot) -> (LiveSnapshot, usize) {
    let mut masked = snapshot.clone();
    let mut count = 0;
    for webhook in masked
        .organizations
        .iter_mut()
        .flat_map(|o| &mut o.webhooks)
    {
        if let Some((before, after)) = around_password(&webhook.url) {
            webhook.url = format!("{before}****{after}");
            count += 1;
        }
    }
    (masked, count)
}

fn list(items: &[String]) -> String {
    let mut items: Vec<String> = items
        .iter()
        .map(|i| {
            if i.contains(':') {
                quoted(i)
            } else {
                scalar(i)
            }
        })
        .collect();
    items.sort();
    format!("[{}]", items.join(", "))
}

fn quoted(text: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::to_string(text).expect("strings serialise")
}

/// `text` as a YAML scalar that reads back as the same string: plain when that is safe,
/// double-quoted otherwise. Interpolation is escaped too (`$${`).
fn scalar(text: &str) -> String {
    let text_escaped = text.replace("${", "$${");
    let plain = !text_escaped.is_empty()
        && text_escaped.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text_escaped
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/@:+-".contains(c))
        && !text_escaped.ends_with(':')
        && !matches!(
            text_escaped.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        )
        && text_escaped.parse::<f64>().is_err();
    if plain {
        text_escaped
    } else {
        quoted(&text_escaped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot_with_url(url: &str) -> LiveSnapshot {
        LiveSnapshot {
            format_version: crate::live::LIVE_FORMAT_VERSION,
            email: "owner@acme.example".into(),
            catalogue: Vec::new(),
            organizations: vec![LiveOrganization {
                slug: "acme-3d".into(),
                uuid: "o".into(),
                role: "ORGANIZATION_OWNER".into(),
                folders: None,
                webhooks: vec![LiveWebhook {
                    uuid: "w".into(),
                    name: "pim.sync".into(),
                    description: String::new(),
                    url: url.into(),
                    disable: false,
                    user_email: "a@b.co".into(),
                    clients: Vec::new(),
                    events: vec!["product.added".into()],
                    created: String::new(),
                    updated: String::new(),
                }],
                error: None,
            }],
        }
    }

    #[test]
    fn a_url_password_is_exported_as_a_variable_reference_and_masked_in_snapshots() {
        let url = "https://deploy:hunter%402@pim.example/x?t=${A}";
        let exported = to_config(&snapshot_with_url(url)).unwrap();
        assert!(!exported.yaml.contains("hunter"), "{}", exported.yaml);
        let config: serde_json::Value = serde_saphyr::from_str(&exported.yaml).unwrap();
        assert_eq!(
            config["organizations"]["acme-3d"]["webhooks"]["pim.sync"]["url"],
            "https://deploy:${URL_PASSWORD_ACME_3D_PIM_SYNC}@pim.example/x?t=$${A}"
        );
        assert_eq!(
            exported.notes,
            [
                "acme-3d/pim.sync: the url's password is written as ${URL_PASSWORD_ACME_3D_PIM_SYNC}; set URL_PASSWORD_ACME_3D_PIM_SYNC to it (as the url spells it) before planning"
            ]
        );
        let (masked, count) = without_url_passwords(&snapshot_with_url(url));
        assert_eq!(count, 1);
        assert_eq!(
            masked.organizations[0].webhooks[0].url,
            "https://deploy:****@pim.example/x?t=${A}"
        );
        let plain = snapshot_with_url("https://user@pim.example/x");
        assert_eq!(without_url_passwords(&plain), (plain.clone(), 0));
        assert!(to_config(&plain).unwrap().notes.is_empty());
    }

    #[test]
    fn scalars_read_back_as_the_same_string() {
        for text in [
            "pim-sync",
            "https://a.example/x?y=1&z",
            "true",
            "12",
            "1.5",
            "",
            "a: b",
            "#x",
            "say \"hi\"",
            "x${Y}z",
            "product.added",
            "ja\u{e9}",
        ] {
            let yaml = format!("v: {}\n", scalar(text));
            let value: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
            let expected = text.replace("${", "$${");
            assert_eq!(value["v"], serde_json::json!(expected), "{yaml}");
        }
    }
}
