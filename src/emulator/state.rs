//! The emulator's whole state as one serialisable value: users, organizations with their
//! folders, webhooks, issued tokens and the delivery bookkeeping. It is what `--state`
//! persists, what `GET /_emulator/state` shows and what `POST /_emulator/reset` restores.
//! Plain data with lookups; the rules of the API live in the route modules.

use serde::{Deserialize, Serialize};

use super::delivery::DeliveryState;
use crate::api::ids::{EventUuid, FolderUuid, OrganizationUuid, UserUuid, WebhookUuid};
use crate::api::wire::{self, roles};

/// The version of the state file's format.
pub const STATE_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct State {
    pub format_version: u32,
    pub users: Vec<User>,
    pub organizations: Vec<Organization>,
    /// Every organization's webhooks, in creation order.
    pub webhooks: Vec<StoredWebhook>,
    pub tokens: Vec<TokenRecord>,
    /// Deliveries: the queue, the attempt log, the outbox and failure streaks. Absent from
    /// state files written before deliveries existed, and not shown while empty.
    #[serde(default, skip_serializing_if = "DeliveryState::is_empty")]
    pub delivery: DeliveryState,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct User {
    pub uuid: UserUuid,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    pub memberships: Vec<Membership>,
}

/// A user's role in an organization. For folder-level (`CLIENT_ORGANIZATION_*`) roles,
/// `folders` lists the folders the user belongs to; empty means all of them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Membership {
    pub organization: OrganizationUuid,
    pub role: String,
    #[serde(default)]
    pub folders: Vec<FolderUuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Organization {
    pub uuid: OrganizationUuid,
    pub slug: String,
    pub name: String,
    pub image_blob_id: String,
    pub created: String,
    pub folders: Vec<Folder>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Folder {
    pub uuid: FolderUuid,
    pub slug: String,
    pub name: String,
    pub image_blob_id: String,
    pub created: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoredWebhook {
    pub uuid: WebhookUuid,
    pub organization_uuid: OrganizationUuid,
    pub name: String,
    pub description: String,
    pub url: String,
    pub disable: bool,
    pub secret: String,
    pub user_email: String,
    /// Folder slugs; empty means the whole organization.
    pub clients: Vec<String>,
    /// Subscribed events, in catalogue order.
    pub events: Vec<EventUuid>,
    pub created: String,
    pub updated: String,
}

/// What a token lets its holder do.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum TokenScope {
    /// From sign-in: lists organizations and mints organization tokens.
    Login,
    /// An organization token: webhooks, folders, events.
    Organization { organization: OrganizationUuid },
    /// A folder token (non-admin roles only).
    Folder {
        organization: OrganizationUuid,
        folder: FolderUuid,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenRecord {
    pub token: String,
    pub user: UserUuid,
    pub scope: TokenScope,
    pub expires_micros: i64,
    pub revoked: bool,
}

impl State {
    pub fn user(&self, uuid: &UserUuid) -> Option<&User> {
        self.users.iter().find(|u| &u.uuid == uuid)
    }

    pub fn organization(&self, uuid: &OrganizationUuid) -> Option<&Organization> {
        self.organizations.iter().find(|o| &o.uuid == uuid)
    }

    pub fn organization_by_slug(&self, slug: &str) -> Option<&Organization> {
        self.organizations.iter().find(|o| o.slug == slug)
    }

    pub fn webhook(&self, uuid: &WebhookUuid) -> Option<&StoredWebhook> {
        self.webhooks.iter().find(|w| &w.uuid == uuid)
    }

    pub fn webhook_mut(&mut self, uuid: &WebhookUuid) -> Option<&mut StoredWebhook> {
        self.webhooks.iter_mut().find(|w| &w.uuid == uuid)
    }

    pub fn token(&self, raw: &str) -> Option<&TokenRecord> {
        self.tokens.iter().find(|t| t.token == raw)
    }
}

impl User {
    /// The user's membership of an organization.
    pub fn membership(&self, organization: &OrganizationUuid) -> Option<&Membership> {
        self.memberships
            .iter()
            .find(|m| &m.organization == organization)
    }

    /// Whether the user may manage webhooks of the organization.
    pub fn may_manage_webhooks(&self, organization: &OrganizationUuid) -> bool {
        self.membership(organization)
            .is_some_and(|m| roles::may_manage_webhooks(&m.role))
    }
}

impl Membership {
    /// Whether the member sees this folder.
    pub fn sees_folder(&self, folder: &FolderUuid) -> bool {
        roles::may_manage_webhooks(&self.role)
            || self.folders.is_empty()
            || self.folders.contains(folder)
    }
}

impl Organization {
    pub fn folder(&self, uuid: &FolderUuid) -> Option<&Folder> {
        self.folders.iter().find(|f| &f.uuid == uuid)
    }

    /// The organization as `GET /v1/organizations` shows it to a member with `role`.
    pub fn to_wire(&self, role: &str) -> wire::Organization {
        wire::Organization {
            uuid: self.uuid.clone(),
            slug: self.slug.clone(),
            name: self.name.clone(),
            role: role.to_owned(),
            image_blob_id: Some(self.image_blob_id.clone()),
            created: self.created.clone(),
        }
    }
}

impl Folder {
    /// The folder as `GET /v1/clients/client-organizations` shows it to a member with `role`.
    pub fn to_wire(&self, role: &str) -> wire::Folder {
        wire::Folder {
            uuid: self.uuid.clone(),
            slug: self.slug.clone(),
            name: self.name.clone(),
            image_blob_id: Some(self.image_blob_id.clone()),
            role: role.to_owned(),
            created: self.created.clone(),
        }
    }
}

impl StoredWebhook {
    /// The webhook response model.
    pub fn to_wire(&self) -> wire::Webhook {
        wire::Webhook {
            uuid: self.uuid.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            url: self.url.clone(),
            disable: self.disable,
            secret: crate::api::redacted::Secret::new(self.secret.clone()),
            user_email: self.user_email.clone(),
            organization_uuid: self.organization_uuid.clone(),
            clients: self.clients.clone(),
            created: self.created.clone(),
            updated: self.updated.clone(),
            events: super::catalogue::grid_of(|e| self.events.contains(&e.uuid)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_file_from_before_deliveries_loads_and_an_empty_delivery_part_is_not_written() {
        let old = r#"{"formatVersion": 1, "users": [], "organizations": [], "webhooks": [], "tokens": []}"#;
        let state: State = serde_json::from_str(old).unwrap();
        assert!(state.delivery.is_empty());
        let written = serde_json::to_value(&state).unwrap();
        assert!(written.get("delivery").is_none(), "{written}");
        let mut busy = state;
        busy.delivery.next_seq();
        let round_trip: State =
            serde_json::from_value(serde_json::to_value(&busy).unwrap()).unwrap();
        assert_eq!(round_trip, busy);
    }
}
