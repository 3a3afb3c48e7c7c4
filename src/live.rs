//! The live state: read through the client with the minimum of requests (one token and one
//! webhook list per organization, one event catalogue, folders only where the config names
//! folders), and its versioned snapshot format, used by `plan --live FILE`, `export --format
//! live-json` and the test fixtures. A failed or partial list is never trusted: that
//! organization carries a read error instead of webhooks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::api::redacted::Secret;
use crate::api::wire;
use crate::api::{AuthError, Session, TokenUse};

/// The snapshot format's version.
pub const LIVE_FORMAT_VERSION: u32 = 1;

/// The recorded live state of some organizations. Never holds a secret or token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveSnapshot {
    pub format_version: u32,
    /// The signed-in user's email (the `userEmail` of creates that set none).
    pub email: String,
    /// The event catalogue, categories in the platform's order.
    pub catalogue: Vec<LiveCategory>,
    /// Sorted by slug.
    pub organizations: Vec<LiveOrganization>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveCategory {
    pub category: String,
    pub events: Vec<LiveEvent>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveEvent {
    pub uuid: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveOrganization {
    pub slug: String,
    /// Empty when the organization is not visible to the user.
    pub uuid: String,
    pub role: String,
    /// The organization's folders, when they were read; sorted by slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folders: Option<Vec<LiveFolder>>,
    /// Every webhook, sorted by (name, created, uuid). Empty when `error` is set.
    pub webhooks: Vec<LiveWebhook>,
    /// Why the organization could not be read; its webhooks are then unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveFolder {
    pub uuid: String,
    pub slug: String,
    pub name: String,
}

/// A live webhook without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LiveWebhook {
    pub uuid: String,
    pub name: String,
    /// As the platform holds it, ownership marker included.
    pub description: String,
    pub url: String,
    pub disable: bool,
    pub user_email: String,
    /// Folder slugs, sorted.
    pub clients: Vec<String>,
    /// Event names, sorted.
    pub events: Vec<String>,
    pub created: String,
    pub updated: String,
}

impl LiveWebhook {
    /// The live webhook, secret dropped, lists sorted.
    pub fn from_wire(webhook: &wire::Webhook) -> LiveWebhook {
        let mut clients = webhook.clients.clone();
        clients.sort();
        clients.dedup();
        let mut events: Vec<String> = webhook.event_names().map(str::to_owned).collect();
        events.sort();
        events.dedup();
        LiveWebhook {
            uuid: webhook.uuid.as_str().to_owned(),
            name: webhook.name.clone(),
            description: webhook.description.clone(),
            url: webhook.url.clone(),
            disable: webhook.disable,
            user_email: webhook.user_email.clone(),
            clients,
            events,
            created: webhook.created.clone(),
            updated: webhook.updated.clone(),
        }
    }
}

impl LiveOrganization {
    /// SHA-256 (hex) of the organization's canonical JSON: a saved plan is stale when it
    /// differs.
    pub fn digest(&self) -> String {
        let canonical = serde_json::to_vec(self).expect("a snapshot serialises");
        hex::encode(Sha256::digest(canonical))
    }
}

/// The catalogue as the snapshot records it.
pub fn catalogue_of(catalogue: &wire::EventCatalogue) -> Vec<LiveCategory> {
    catalogue
        .grid
        .iter()
        .map(|category| LiveCategory {
            category: category.category.clone(),
            events: category
                .events
                .iter()
                .map(|e| LiveEvent {
                    uuid: e.uuid.as_str().to_owned(),
                    name: e.name.clone(),
                    description: e.description.clone(),
                })
                .collect(),
        })
        .collect()
}

/// A snapshot file that cannot be used.
pub type SnapshotError = crate::versioned_file::VersionedFileError;

impl LiveSnapshot {
    /// Reads a snapshot file.
    pub fn read(path: &Path) -> Result<LiveSnapshot, SnapshotError> {
        crate::versioned_file::read(path, "live snapshot", LIVE_FORMAT_VERSION)
    }

    /// The snapshot as pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a snapshot serialises");
        text.push('\n');
        text
    }

    /// The organization with this slug.
    pub fn organization(&self, slug: &str) -> Option<&LiveOrganization> {
        self.organizations.iter().find(|o| o.slug == slug)
    }
}

/// Reads the live state of `slugs` (sorted, each once); folders only for `with_folders`.
/// Organizations are read concurrently (bounded by the client's `--parallelism`); an
/// organization that cannot be read carries its error. Fails only when the catalogue cannot
/// be read, since no organization could be planned without it.
pub async fn read(
    session: &Session,
    slugs: &BTreeSet<String>,
    with_folders: &BTreeSet<String>,
) -> Result<LiveRead, AuthError> {
    let reads = slugs
        .iter()
        .map(|slug| read_organization(session, slug, with_folders.contains(slug)));
    let mut secrets = Secrets::new();
    let mut organizations = Vec::new();
    for (organization, found) in futures_util::future::join_all(reads).await {
        organizations.push(organization);
        secrets.extend(found);
    }
    // The catalogue is the same for every organization: one read, with a token already
    // minted. Never with another organization's: minting one would revoke that
    // organization's token in any other run (vntana-api.md, "Token facts"), and when none of
    // the run's organizations could be read, there is nothing to check events for.
    let reader = organizations
        .iter()
        .find(|o| o.error.is_none())
        .and_then(|o| session.organization(&o.slug).ok());
    let catalogue = match reader {
        Some(org) => {
            let client = session.client();
            let catalogue = session
                .with_token(org, TokenUse::ReadCatalogue, |t| async move {
                    client.events(&t).await
                })
                .await?;
            catalogue_of(&catalogue)
        }
        None => Vec::new(),
    };
    let snapshot = LiveSnapshot {
        format_version: LIVE_FORMAT_VERSION,
        email: session.email().to_owned(),
        catalogue,
        organizations,
    };
    Ok(LiveRead { snapshot, secrets })
}

/// Live webhooks' secrets by uuid: kept apart from the snapshot, which never holds one. A
/// rotation reports the secret it replaces as `previousSecret`.
pub type Secrets = BTreeMap<String, Secret>;

/// What a live read found.
#[derive(Debug, Clone)]
pub struct LiveRead {
    pub snapshot: LiveSnapshot,
    pub secrets: Secrets,
}

async fn read_organization(
    session: &Session,
    slug: &str,
    with_folders: bool,
) -> (LiveOrganization, Vec<(String, Secret)>) {
    let mut live = LiveOrganization {
        slug: slug.to_owned(),
        uuid: String::new(),
        role: String::new(),
        folders: None,
        webhooks: Vec::new(),
        error: None,
    };
    let org = match session.organization(slug) {
        Ok(org) => org,
        Err(err) => {
            live.error = Some(err.to_string());
            return (live, Vec::new());
        }
    };
    live.uuid = org.uuid.as_str().to_owned();
    live.role = org.role.clone();
    let client = session.client();
    let listed = session
        .with_token(org, TokenUse::ManageWebhooks, |token| {
            let uuid = org.uuid.clone();
            async move { client.list_webhooks(&token, &uuid).await }
        })
        .await;
    let secrets = match listed {
        Ok(webhooks) => {
            let secrets = webhooks
                .iter()
                .map(|w| (w.uuid.as_str().to_owned(), w.secret.clone()))
                .collect();
            let mut webhooks: Vec<LiveWebhook> =
                webhooks.iter().map(LiveWebhook::from_wire).collect();
            webhooks.sort_by(|a, b| {
                (&a.name, &a.created, &a.uuid).cmp(&(&b.name, &b.created, &b.uuid))
            });
            live.webhooks = webhooks;
            secrets
        }
        Err(err) => {
            live.error = Some(format!("{:#}", anyhow::Error::from(err)));
            return (live, Vec::new());
        }
    };
    if with_folders {
        let folders = session
            .with_token(org, TokenUse::ManageWebhooks, |token| async move {
                client.folders(&token).await
            })
            .await;
        match folders {
            Ok(folders) => {
                let mut folders: Vec<LiveFolder> = folders
                    .into_iter()
                    .map(|f| LiveFolder {
                        uuid: f.uuid.as_str().to_owned(),
                        slug: f.slug,
                        name: f.name,
                    })
                    .collect();
                folders.sort();
                live.folders = Some(folders);
            }
            Err(err) => {
                live.error = Some(format!("{:#}", anyhow::Error::from(err)));
                live.webhooks.clear();
                return (live, Vec::new());
            }
        }
    }
    (live, secrets)
}

/// Groups for lookups: webhooks by name.
pub fn by_name(org: &LiveOrganization) -> BTreeMap<&str, Vec<&LiveWebhook>> {
    let mut map: BTreeMap<&str, Vec<&LiveWebhook>> = BTreeMap::new();
    for webhook in &org.webhooks {
        map.entry(webhook.name.as_str()).or_default().push(webhook);
    }
    map
}
