//! Resolution: the config's organizations, event names and folder slugs against what the
//! signed-in user can see (organizations and roles), the live event catalogue and each
//! organization's folders, with did-you-mean problems located in the config. It is pure: the
//! reads happen before it, and what it cannot find is a problem, not a guess.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::wire::{EventCatalogue, roles};
use crate::config::yaml::join;
use crate::diagnostic::{Code, Diagnostic};
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
    code: Code,
    slug: &str,
    item: &Located<Text>,
    path: String,
    message: String,
    known: &[&str],
) -> Diagnostic {
    let suggestion = if item.value.is_sensitive() {
        None
    } else {
        suggest::closest(&item.value.value, known.iter().copied())
    };
    Diagnostic::error(code, message)
        .at(item.origin.clone(), path)
        .in_organization(slug)
        .with_suggestion(suggestion)
}

/// An organization as the signed-in user sees it: its slug and the user's role in it.
#[derive(Debug, Clone, Copy)]
pub struct Visible<'a> {
    pub slug: &'a str,
    pub role: &'a str,
}

/// Every organization of `desired` that the user cannot see (with the closest one it can) or
/// whose role may not manage webhooks, located at the organization's key in the config.
pub fn check_organizations(
    desired: &Desired,
    visible: &[Visible<'_>],
    email: &str,
) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for (slug, org) in &desired.organizations {
        let path = join("organizations", slug);
        match visible.iter().find(|v| v.slug == slug) {
            None => {
                let suggestion = suggest::closest(slug, visible.iter().map(|v| v.slug));
                let mut problem =
                    Diagnostic::error(Code::UnknownOrganization, "unknown organization")
                        .at(org.origin.clone(), path)
                        .in_organization(slug.as_str())
                        .with_suggestion(suggestion);
                if suggestion.is_none() {
                    problem = problem.with_help(visible_help(visible, email));
                }
                problems.push(problem);
            }
            Some(v) if !roles::may_manage_webhooks(v.role) => problems.push(
                Diagnostic::error(
                    Code::RoleForbidden,
                    format!(
                        "role {} may not manage webhooks (needs {})",
                        v.role,
                        roles::MANAGING_ROLES
                    ),
                )
                .at(org.origin.clone(), path)
                .in_organization(slug.as_str())
                .with_help(format!(
                    "ask an owner of `{slug}` to give {email} one of those roles"
                )),
            ),
            Some(_) => {}
        }
    }
    problems
}

/// Which organizations the user can see, for an unknown one without a close match.
fn visible_help(visible: &[Visible<'_>], email: &str) -> String {
    const SHOWN: usize = 10;
    let mut slugs: Vec<&str> = visible.iter().map(|v| v.slug).collect();
    slugs.sort_unstable();
    match slugs.len() {
        0 => format!("{email} can see no organization"),
        n if n <= SHOWN => format!("{email} can see: {}", slugs.join(", ")),
        n => format!(
            "{email} can see {n} organizations: {}, ...",
            slugs[..SHOWN].join(", ")
        ),
    }
}

/// Every event name and folder slug of the config that the platform does not know.
/// `folders` holds the folders of each organization whose folders were read; the folders of
/// other organizations are not checked.
pub fn check(
    desired: &Desired,
    catalogue: &BTreeMap<String, CatalogueEvent>,
    folders: &BTreeMap<String, Vec<&str>>,
) -> Vec<Diagnostic> {
    let event_names: Vec<&str> = catalogue.keys().map(String::as_str).collect();
    let mut problems = Vec::new();
    for (slug, org) in &desired.organizations {
        let org_folders = folders.get(slug);
        for (name, webhook) in &org.webhooks {
            let path = join(&join(&join("organizations", slug), "webhooks"), name);
            for (i, event) in webhook.events.iter().enumerate() {
                if !catalogue.contains_key(&event.value.value) {
                    problems.push(
                        unknown(
                            Code::UnknownEvent,
                            slug,
                            event,
                            format!("{path}.events[{i}]"),
                            format!("unknown event `{}`", event.value.shown()),
                            &event_names,
                        )
                        .with_help("`vntana-webhooks events` lists the catalogue"),
                    );
                }
            }
            let Some(org_folders) = org_folders else {
                continue;
            };
            for (i, folder) in webhook.folders.iter().enumerate() {
                if !org_folders.contains(&folder.value.value.as_str()) {
                    problems.push(unknown(
                        Code::UnknownFolder,
                        slug,
                        folder,
                        format!("{path}.folders[{i}]"),
                        format!(
                            "unknown folder `{}` in organization `{slug}`",
                            folder.value.shown()
                        ),
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

/// The organizations of `desired` that a snapshot records as not visible to its user, or
/// with a role that may not manage webhooks (as `check_organizations` finds them online).
/// Organizations the snapshot does not record are the planner's to report.
pub fn check_snapshot_organizations(desired: &Desired, snapshot: &LiveSnapshot) -> Vec<Diagnostic> {
    let visible: Vec<Visible<'_>> = snapshot
        .organizations
        .iter()
        .filter(|o| !o.uuid.is_empty())
        .map(|o| Visible {
            slug: &o.slug,
            role: &o.role,
        })
        .collect();
    let recorded = desired.only(|slug| snapshot.organization(slug).is_some());
    check_organizations(&recorded, &visible, &snapshot.email)
}

/// Every event name and folder slug of the config against a live snapshot. Organizations that
/// could not be read are errors of the plan, not of the config, and are skipped here; a
/// snapshot without the catalogue or the folders the config needs is a problem too.
pub fn check_snapshot(
    desired: &Desired,
    snapshot: &LiveSnapshot,
    with_folders: &BTreeSet<String>,
) -> Vec<Diagnostic> {
    let folders: BTreeMap<String, Vec<&str>> = snapshot
        .organizations
        .iter()
        .filter(|o| with_folders.contains(&o.slug))
        .filter_map(|o| {
            let listed = o.folders.as_ref()?;
            Some((
                o.slug.clone(),
                listed.iter().map(|f| f.slug.as_str()).collect(),
            ))
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
            problems.push(
                Diagnostic::error(Code::IncompleteSnapshot, message)
                    .at(org.origin.clone(), join("organizations", slug))
                    .in_organization(slug.as_str()),
            );
        }
    }
    if problems.is_empty() {
        problems = check(&readable, &snapshot_catalogue(snapshot), &folders);
    }
    problems
}
