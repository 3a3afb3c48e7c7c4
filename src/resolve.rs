//! Resolution: the config's event names and folder slugs against the live event catalogue
//! and each organization's folders, with did-you-mean problems located in the config. It is
//! pure: the reads happen before it, and what it cannot find is a problem, not a guess.

use std::collections::BTreeMap;

use crate::api::wire::{EventCatalogue, Folder};
use crate::config::Problem;
use crate::config::yaml::join;
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
