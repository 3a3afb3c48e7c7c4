//! Who receives an event (vntana-api.md, "Delivery"; product.md, "The emulator"): the
//! organization's enabled webhooks subscribed to it; a folder-scoped webhook (non-empty
//! `clients`) only for events in one of its folders, so not for an event without a folder;
//! `user.*` events only webhooks of the whole organization. Pure: it reads the state.

use serde::Serialize;

use super::super::catalogue::CatalogueEvent;
use super::super::state::{Folder, State, StoredWebhook};
use crate::api::ids::OrganizationUuid;

/// Why a webhook of the organization does not receive an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Skip {
    /// It is not subscribed to the event.
    NotSubscribed,
    /// It is disabled.
    Disabled,
    /// A `user.*` event, and the webhook is scoped to folders.
    WholeOrganizationOnly,
    /// The event has no folder, and the webhook is scoped to folders.
    NoFolder,
    /// The event's folder is not one of the webhook's.
    OtherFolder,
}

/// Each webhook of `organization` with whether it receives the event, in creation order.
pub fn decide<'a>(
    state: &'a State,
    organization: &OrganizationUuid,
    event: &CatalogueEvent,
    folder: Option<&Folder>,
) -> Vec<(&'a StoredWebhook, Option<Skip>)> {
    state
        .webhooks
        .iter()
        .filter(|w| &w.organization_uuid == organization)
        .map(|w| (w, skip(w, event, folder)))
        .collect()
}

fn skip(webhook: &StoredWebhook, event: &CatalogueEvent, folder: Option<&Folder>) -> Option<Skip> {
    if !webhook.events.contains(&event.uuid) {
        return Some(Skip::NotSubscribed);
    }
    if webhook.disable {
        return Some(Skip::Disabled);
    }
    if webhook.clients.is_empty() {
        return None;
    }
    if is_user_event(event) {
        return Some(Skip::WholeOrganizationOnly);
    }
    match folder {
        None => Some(Skip::NoFolder),
        Some(folder) if webhook.clients.contains(&folder.slug) => None,
        Some(_) => Some(Skip::OtherFolder),
    }
}

/// Whether the event is about users (the catalogue's `User` category: `user.*`).
pub fn is_user_event(event: &CatalogueEvent) -> bool {
    event.category == "User"
}

#[cfg(test)]
mod tests {
    use super::super::super::catalogue;
    use super::super::super::clock::Clock;
    use super::super::super::ids::IdSource;
    use super::super::super::seed::Seed;
    use super::*;

    const SEED: &str = r"
organizations:
  - slug: acme
    folders: [{slug: footwear}, {slug: bags}]
    webhooks:
      - {name: whole, url: 'http://127.0.0.1:1/', events: [product.added, user.added], userEmail: a@b.co}
      - {name: shoes, url: 'http://127.0.0.1:1/', events: [product.added, user.added], clients: [footwear], userEmail: a@b.co}
      - {name: off, url: 'http://127.0.0.1:1/', events: [product.added], disable: true, userEmail: a@b.co}
      - {name: deletes, url: 'http://127.0.0.1:1/', events: [product.deleted], userEmail: a@b.co}
  - slug: other
    webhooks:
      - {name: elsewhere, url: 'http://127.0.0.1:1/', events: [product.added], userEmail: a@b.co}
";

    fn outcomes(event: &str, folder: Option<&str>) -> Vec<(String, Option<Skip>)> {
        let state = Seed::parse(SEED, "test")
            .unwrap()
            .to_state(&IdSource::seeded(1), &Clock::test())
            .unwrap();
        let org = state.organization_by_slug("acme").unwrap();
        let folder = folder.map(|slug| org.folders.iter().find(|f| f.slug == slug).unwrap());
        decide(
            &state,
            &org.uuid,
            catalogue::by_name(event).unwrap(),
            folder,
        )
        .into_iter()
        .map(|(w, skip)| (w.name.clone(), skip))
        .collect()
    }

    #[test]
    fn folder_scoped_webhooks_receive_only_events_of_their_folders() {
        let expected = |shoes| {
            vec![
                ("whole".to_owned(), None),
                ("shoes".to_owned(), shoes),
                ("off".to_owned(), Some(Skip::Disabled)),
                ("deletes".to_owned(), Some(Skip::NotSubscribed)),
            ]
        };
        assert_eq!(outcomes("product.added", Some("footwear")), expected(None));
        assert_eq!(
            outcomes("product.added", Some("bags")),
            expected(Some(Skip::OtherFolder))
        );
        assert_eq!(
            outcomes("product.added", None),
            expected(Some(Skip::NoFolder))
        );
    }

    #[test]
    fn user_events_reach_only_webhooks_of_the_whole_organization() {
        let names: Vec<_> = outcomes("user.added", Some("footwear"))
            .into_iter()
            .filter(|(_, skip)| skip.is_none())
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["whole"]);
        assert_eq!(
            outcomes("user.added", Some("footwear"))[1].1,
            Some(Skip::WholeOrganizationOnly)
        );
    }
}
