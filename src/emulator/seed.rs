//! The seed: a YAML description of a fresh emulator (organizations, folders, users with
//! passwords, API keys and roles, existing webhooks), the built-in default seed, and turning
//! a seed into a `State`. Every reference (organization, folder, event) is checked here, so a
//! bad seed fails at start with a message naming the entry.

use std::path::Path;

use serde::Deserialize;

use super::catalogue;
use super::clock::{Clock, format_timestamp};
use super::delivery::DeliveryState;
use super::ids::IdSource;
use super::state::{
    Folder, Membership, Organization, STATE_FORMAT_VERSION, State, StoredWebhook, User,
};
use crate::api::ids::{FolderUuid, OrganizationUuid, UserUuid, WebhookUuid};

/// The built-in seed's text.
pub const DEFAULT_SEED: &str = include_str!("default-seed.yaml");

/// A seed that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read the seed file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The parser's message without its source snippet: a seed holds passwords and API keys,
    /// and an error must not quote them (product.md, "Where secrets may appear").
    #[error("the seed {origin} is not valid YAML for a seed: {problem}")]
    Parse { origin: String, problem: String },
    #[error("the seed {origin} is inconsistent: {problem}")]
    Invalid { origin: String, problem: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub users: Vec<SeedUser>,
    #[serde(default)]
    pub organizations: Vec<SeedOrganization>,
    #[serde(skip)]
    origin: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedUser {
    pub email: String,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub roles: Vec<SeedRole>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedRole {
    /// The organization's slug.
    pub organization: String,
    pub role: String,
    /// Folder slugs, for folder-level roles; empty means all.
    #[serde(default)]
    pub folders: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedOrganization {
    pub slug: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub uuid: Option<String>,
    #[serde(default)]
    pub folders: Vec<SeedFolder>,
    #[serde(default)]
    pub webhooks: Vec<SeedWebhook>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedFolder {
    pub slug: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub uuid: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeedWebhook {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// Event names from the catalogue.
    pub events: Vec<String>,
    /// Folder slugs of this organization.
    #[serde(default)]
    pub clients: Vec<String>,
    #[serde(default)]
    pub disable: bool,
    pub user_email: String,
    #[serde(default)]
    pub uuid: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
    /// A zone-less ISO date-time; default: the emulator's clock at seeding.
    #[serde(default)]
    pub created: Option<String>,
}

impl Seed {
    /// The built-in default seed.
    pub fn default_seed() -> Seed {
        Seed::parse(DEFAULT_SEED, "built-in default seed").expect("the default seed is valid")
    }

    /// Reads a seed file.
    pub fn from_file(path: &Path) -> Result<Seed, SeedError> {
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Seed::parse(&text, &path.display().to_string())
    }

    /// Parses seed YAML; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Seed, SeedError> {
        let mut seed: Seed = serde_saphyr::from_str(text).map_err(|source| SeedError::Parse {
            origin: origin.to_owned(),
            problem: source.without_snippet().to_string(),
        })?;
        origin.clone_into(&mut seed.origin);
        Ok(seed)
    }

    /// The credentials a user would paste first: the first user's email, and their API key
    /// or password.
    pub fn first_user(&self) -> Option<&SeedUser> {
        self.users.first()
    }

    fn invalid(&self, problem: String) -> SeedError {
        SeedError::Invalid {
            origin: self.origin.clone(),
            problem,
        }
    }

    /// The state this seed describes, with ids from `ids` and times from `clock`.
    pub fn to_state(&self, ids: &IdSource, clock: &Clock) -> Result<State, SeedError> {
        let now = format_timestamp(clock.now_micros());
        let mut state = State {
            format_version: STATE_FORMAT_VERSION,
            users: Vec::new(),
            organizations: Vec::new(),
            webhooks: Vec::new(),
            tokens: Vec::new(),
            delivery: DeliveryState::default(),
        };
        for org in &self.organizations {
            if state.organization_by_slug(&org.slug).is_some() {
                return Err(self.invalid(format!("organization `{}` appears twice", org.slug)));
            }
            let organization = self.organization(org, ids, &now)?;
            for hook in &org.webhooks {
                state
                    .webhooks
                    .push(self.webhook(hook, &organization, ids, &now)?);
            }
            state.organizations.push(organization);
        }
        for user in &self.users {
            if state
                .users
                .iter()
                .any(|u| u.email.eq_ignore_ascii_case(&user.email))
            {
                return Err(self.invalid(format!("user `{}` appears twice", user.email)));
            }
            let user = self.user(user, &state, ids)?;
            state.users.push(user);
        }
        self.check_unique_uuids(&state)?;
        Ok(state)
    }

    /// Seeds may fix uuids; two entries of a kind sharing one would make lookups find the
    /// wrong one (and a delete remove both).
    fn check_unique_uuids(&self, state: &State) -> Result<(), SeedError> {
        let kinds: [(&str, Vec<&str>); 3] = [
            (
                "organization",
                state
                    .organizations
                    .iter()
                    .map(|o| o.uuid.as_str())
                    .collect(),
            ),
            (
                "folder",
                state
                    .organizations
                    .iter()
                    .flat_map(|o| o.folders.iter().map(|f| f.uuid.as_str()))
                    .collect(),
            ),
            (
                "webhook",
                state.webhooks.iter().map(|w| w.uuid.as_str()).collect(),
            ),
        ];
        for (kind, uuids) in kinds {
            for (i, uuid) in uuids.iter().enumerate() {
                if uuids[..i].contains(uuid) {
                    return Err(self.invalid(format!("{kind} uuid `{uuid}` appears twice")));
                }
            }
        }
        Ok(())
    }

    fn organization(
        &self,
        org: &SeedOrganization,
        ids: &IdSource,
        now: &str,
    ) -> Result<Organization, SeedError> {
        let mut folders: Vec<Folder> = Vec::new();
        for folder in &org.folders {
            if folders.iter().any(|f| f.slug == folder.slug) {
                return Err(self.invalid(format!(
                    "folder `{}` appears twice in organization `{}`",
                    folder.slug, org.slug
                )));
            }
            folders.push(Folder {
                uuid: FolderUuid::new(folder.uuid.clone().unwrap_or_else(|| ids.uuid())),
                slug: folder.slug.clone(),
                name: folder.name.clone().unwrap_or_else(|| folder.slug.clone()),
                image_blob_id: format!("{}.png", ids.uuid()),
                created: now.to_owned(),
            });
        }
        Ok(Organization {
            uuid: OrganizationUuid::new(org.uuid.clone().unwrap_or_else(|| ids.uuid())),
            slug: org.slug.clone(),
            name: org.name.clone().unwrap_or_else(|| org.slug.clone()),
            image_blob_id: format!("{}.png", ids.uuid()),
            created: now.to_owned(),
            folders,
        })
    }

    fn webhook(
        &self,
        hook: &SeedWebhook,
        organization: &Organization,
        ids: &IdSource,
        now: &str,
    ) -> Result<StoredWebhook, SeedError> {
        let mut events = Vec::new();
        for name in &hook.events {
            let event = catalogue::by_name(name).ok_or_else(|| {
                self.invalid(format!(
                    "webhook `{}` of `{}` names unknown event `{name}`",
                    hook.name, organization.slug
                ))
            })?;
            events.push(event.uuid.clone());
        }
        if let Some(folder) = hook
            .clients
            .iter()
            .find(|c| !organization.folders.iter().any(|f| &f.slug == *c))
        {
            return Err(self.invalid(format!(
                "webhook `{}` of `{}` names unknown folder `{folder}`",
                hook.name, organization.slug
            )));
        }
        let created = hook.created.clone().unwrap_or_else(|| now.to_owned());
        Ok(StoredWebhook {
            uuid: WebhookUuid::new(hook.uuid.clone().unwrap_or_else(|| ids.uuid())),
            organization_uuid: organization.uuid.clone(),
            name: hook.name.clone(),
            description: hook.description.clone(),
            url: hook.url.clone(),
            disable: hook.disable,
            secret: hook.secret.clone().unwrap_or_else(|| ids.secret()),
            user_email: hook.user_email.clone(),
            clients: hook.clients.clone(),
            events: catalogue::events()
                .iter()
                .filter(|e| events.contains(&e.uuid))
                .map(|e| e.uuid.clone())
                .collect(),
            created: created.clone(),
            updated: created,
        })
    }

    fn user(&self, user: &SeedUser, state: &State, ids: &IdSource) -> Result<User, SeedError> {
        let mut memberships = Vec::new();
        for role in &user.roles {
            let org = state
                .organization_by_slug(&role.organization)
                .ok_or_else(|| {
                    self.invalid(format!(
                        "user `{}` has a role in unknown organization `{}`",
                        user.email, role.organization
                    ))
                })?;
            let mut folders = Vec::new();
            for slug in &role.folders {
                let folder = org
                    .folders
                    .iter()
                    .find(|f| &f.slug == slug)
                    .ok_or_else(|| {
                        self.invalid(format!(
                            "user `{}` names unknown folder `{slug}` of `{}`",
                            user.email, org.slug
                        ))
                    })?;
                folders.push(folder.uuid.clone());
            }
            memberships.push(Membership {
                organization: org.uuid.clone(),
                role: role.role.clone(),
                folders,
            });
        }
        Ok(User {
            uuid: UserUuid::new(ids.uuid()),
            email: user.email.clone(),
            password: user.password.clone(),
            api_key: user.api_key.clone(),
            memberships,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_seed_builds_three_organizations_and_six_webhooks() {
        let state = Seed::default_seed()
            .to_state(&IdSource::seeded(1), &Clock::test())
            .unwrap();
        let slugs: Vec<&str> = state
            .organizations
            .iter()
            .map(|o| o.slug.as_str())
            .collect();
        assert_eq!(slugs, ["acme-3d", "globex", "initech"]);
        assert_eq!(state.webhooks.len(), 6);
        assert_eq!(
            state.users[0].api_key.as_deref(),
            Some("vntana-emulator-demo-key")
        );
    }

    #[test]
    fn a_seed_naming_an_unknown_event_is_refused_with_the_webhook_named() {
        let seed = Seed::parse(
            "organizations:\n  - slug: a\n    webhooks:\n      - {name: h, url: 'https://x.example', events: [product.nope], userEmail: a@b.co}\n",
            "test.yaml",
        )
        .unwrap();
        let err = seed
            .to_state(&IdSource::seeded(1), &Clock::test())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the seed test.yaml is inconsistent: webhook `h` of `a` names unknown event `product.nope`"
        );
    }

    #[test]
    fn a_seed_giving_two_webhooks_one_uuid_is_refused() {
        let hook = "{name: h, uuid: 00000000-0000-4000-8000-000000000001, url: 'https://x.example', events: [product.added], userEmail: a@b.co}";
        let seed = Seed::parse(
            &format!("organizations:\n  - slug: a\n    webhooks: [{hook}, {hook}]\n"),
            "test.yaml",
        )
        .unwrap();
        let err = seed
            .to_state(&IdSource::seeded(1), &Clock::test())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the seed test.yaml is inconsistent: webhook uuid `00000000-0000-4000-8000-000000000001` appears twice"
        );
    }

    #[test]
    fn unknown_seed_fields_are_refused() {
        assert!(Seed::parse("organisations: []\n", "t").is_err());
    }
}
