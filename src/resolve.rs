//! Resolution: the config's event names and folder slugs against the live event catalogue
//! and each organization's folders, with did-you-mean problems located in the config. It is
//! pure: the reads happen before it, and what it cannot find is a problem, not a guess.

use std::collections::BTreeMap;

use std::collections::BTreeSet;

use crate::api::wire::{EventCatalogue, Folder};
use crate::config::ConfigError;
use crate::config::Problem;
use crate::config::yaml::join;
use crate::live::LiveSnapshot;
use crate::model::{Desired, Located, Text};
use crate::suggest;

/// One catalogue event, with its category (the request model carries it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CatalogueEvent {
    pub uuid: String,
    pub name: String,
    pub description: String,
    pub category: String,
}

/// The catalogue by event name.
pub fn index_catalogue(catalogue: &EventCatalogue) -> BTreeMap<String, CatalogueEvent> {
    catalogue
        .grid
        .iter()
        .flat_map(|category| {
            category.events.iter().map(|event| {
                (
                    event.name.clone(),
                    CatalogueEvent {
                        uuid: event.uuid.as_str().to_owned(),
                        name: event.name.clone(),
                        description: event.description.clone(),
                        category: category.category.clone(),
                    },
                )
            })
        })
        .collect()
}

fn unknown(
    item: &Located<Text>,
    path: String,
    what: &str,
    within: &str,
    known: &[&str],
) -> Problem {
    let help = if item.value.is_sensitive() {
        None
    } else {
        suggest::closest(&item.value.value, known.iter().copied())
            .map(|c| format!("did you mean `{c}`?"))
    };
    Problem {
        origin: item.origin.clone(),
        path,
        message: format!("unknown {what} `{}`{within}", item.value.shown()),
        help,
    }
}

/// Every event name and folder slug of the config that the platform does not know.
/// `folders` holds the folders of each organization whose folders were read; the folders of
/// other organizations are not checked.
pub fn check(
    desired: &Desired,
    catalogue: &BTreeMap<String, CatalogueEvent>,
    folders: &BTreeMap<String, Vec<Folder>>,
) -> Vec<Problem> {
    let event_names: Vec<&str> = catalogue.keys().map(String::as_str).collect();
    let mut problems = Vec::new();
    for (slug, org) in &desired.organizations {
        let org_folders: Option<Vec<&str>> = folders
            .get(slug)
            .map(|fs| fs.iter().map(|f| f.slug.as_str()).collect());
        for (name, webhook) in &org.webhooks {
            let path = join(&join(&join("organizations", slug), "webhooks"), name);
            for (i, event) in webhook.events.iter().enumerate() {
                if !catalogue.contains_key(&event.value.value) {
                    let path = format!("{path}.events[{i}]");
                    problems.push(unknown(
                        event,
                        path,
                        "event",
                        " (see `vntana-webhooks events`)",
                        &event_names,
                    ));
                }
            }
            let Some(org_folders) = &org_folders else {
                continue;
            };
            for (i, folder) in webhook.folders.iter().enumerate() {
                if !org_folders.contains(&folder.value.value.as_str()) {
                    let within = format!(" in organization `{slug}`");
                    problems.push(unknown(
                        folder,
                        format!("{path}.folders[{i}]"),
                        "folder",
                        &within,
                        org_folders,
                    ));
                }
            }
        }
    }
    problems
}

/// The catalogue of a live snapshot by event name.
pub fn snapshot_catalogue(snapshot: &LiveSnapshot) -> BTreeMap<String, CatalogueEvent> {
    snapshot
        .catalogue
        .iter()
        .flat_map(|c| {
            c.events.iter().map(|e| {
                let event = CatalogueEvent {
                    uuid: e.uuid.clone(),
                    name: e.name.clone(),
                    description: e.description.clone(),
                    category: c.category.clone(),
                };
                (e.name.clone(), event)
            })
        })
        .collect()
}

/// Every event name and folder slug of the config against a live snapshot. Organizations that
/// could not be read are errors of the plan, not of the config, and are skipped here; a
/// snapshot without the catalogue or the folders the config needs is a problem too.
pub fn check_snapshot(
    desired: &Desired,
    snapshot: &LiveSnapshot,
    with_folders: &BTreeSet<String>,
) -> Result<(), ConfigError> {
    let folders: BTreeMap<String, Vec<Folder>> = snapshot
        .organizations
        .iter()
        .filter(|o| with_folders.contains(&o.slug))
        .filter_map(|o| {
            let listed = o.folders.as_ref()?;
            let folders = listed
                .iter()
                .map(|f| Folder {
                    uuid: f.uuid.as_str().into(),
                    slug: f.slug.clone(),
                    name: f.name.clone(),
                    image_blob_id: None,
                    role: String::new(),
                    created: String::new(),
                })
                .collect();
            Some((o.slug.clone(), folders))
        })
        .collect();
    let readable = desired.only(|slug| {
        snapshot
            .organization(slug)
            .is_some_and(|o| o.error.is_none())
    });
    let mut problems = Vec::new();
    for (slug, org) in &readable.organizations {
        let missing = if snapshot.catalogue.is_empty() {
            Some(
                "the live state has no event catalogue, so event names cannot be checked"
                    .to_owned(),
            )
        } else if with_folders.contains(slug) && !folders.contains_key(slug) {
            Some(format!(
                "the live state has no folders of organization `{slug}`, so its folder slugs cannot be checked"
            ))
        } else {
            None
        };
        if let Some(message) = missing {
            problems.push(Problem {
                origin: org.origin.clone(),
                path: crate::config::yaml::join("organizations", slug),
                message,
                help: None,
            });
        }
    }
    if problems.is_empty() {
        problems = check(&readable, &snapshot_catalogue(snapshot), &folders);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError { problems })
    }
}
