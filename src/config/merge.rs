//! Several files into one desired state: the same organization may span files; the same
//! webhook twice, an earlier name claimed twice (or still in use), or two different explicit
//! `prune` or `owner` values are problems naming both places. Unset values never conflict.
//! The rename rules are checked here only, so one file and several files read the same.

use std::collections::BTreeMap;

use super::parse::FileConfig;
use super::problem::Problem;
use super::yaml::join;
use crate::diagnostic::Code;
use crate::model::{Desired, DesiredOrganization, Located, Origin, Prune, Text};

fn conflict(origin: &Origin, path: &str, message: String) -> Problem {
    Problem::error(Code::Duplicate, message).at(origin.clone(), path)
}

/// Combines the files, in order.
pub fn merge(files: Vec<FileConfig>, problems: &mut Vec<Problem>) -> Desired {
    let mut owner: Option<Located<Text>> = None;
    let mut prunes: BTreeMap<String, Located<Prune>> = BTreeMap::new();
    let mut organizations: BTreeMap<String, DesiredOrganization> = BTreeMap::new();
    let mut renamed: BTreeMap<(String, String), (String, Origin)> = BTreeMap::new();
    for file in files {
        if let Some(new) = file.owner {
            match &owner {
                Some(first) if first.value != new.value => problems.push(conflict(
                    &new.origin,
                    "owner",
                    format!(
                        "`owner: {}` conflicts with `owner: {}` at {}; files that set `owner` must set the same one (a file may leave it unset)",
                        new.value.shown(),
                        first.value.shown(),
                        first.origin
                    ),
                )),
                Some(_) => {}
                None => owner = Some(new),
            }
        }
        for org in file.organizations {
            let path = join("organizations", &org.slug);
            if let Some(new) = org.prune {
                match prunes.get(&org.slug) {
                    Some(first) if first.value != new.value => problems.push(conflict(
                        &new.origin,
                        &format!("{path}.prune"),
                        format!(
                            "`prune: {}` conflicts with `prune: {}` at {}; files that set `prune` for an organization must set the same value (a file may leave it unset)",
                            prune_name(new.value),
                            prune_name(first.value),
                            first.origin
                        ),
                    )),
                    Some(_) => {}
                    None => {
                        prunes.insert(org.slug.clone(), new);
                    }
                }
            }
            let entry =
                organizations
                    .entry(org.slug.clone())
                    .or_insert_with(|| DesiredOrganization {
                        slug: org.slug.clone(),
                        prune: Prune::Off,
                        webhooks: BTreeMap::new(),
                        origin: org.origin.clone(),
                    });
            for webhook in org.webhooks {
                let hook_path = join(&join(&path, "webhooks"), &webhook.name);
                if let Some(first) = entry.webhooks.get(&webhook.name) {
                    problems.push(conflict(
                        &webhook.origin,
                        &hook_path,
                        format!(
                            "the webhook `{}` is also defined at {}; a webhook is defined once",
                            webhook.name, first.origin
                        ),
                    ));
                    continue;
                }
                for old in &webhook.renamed_from {
                    let key = (org.slug.clone(), old.value.value.clone());
                    if let Some((other, at)) = renamed.get(&key) {
                        if other != &webhook.name {
                            problems.push(conflict(
                                &old.origin,
                                &format!("{hook_path}.renamedFrom"),
                                format!("`{}` is also listed in renamedFrom of `{other}` at {at}; only one webhook can take it over", old.value.shown()),
                            ));
                        }
                    } else {
                        renamed.insert(key, (webhook.name.clone(), old.origin.clone()));
                    }
                }
                entry.webhooks.insert(webhook.name.clone(), webhook);
            }
        }
    }
    // An earlier name that is a current name, in this file or another.
    for ((slug, old), (name, origin)) in &renamed {
        if let Some(current) = organizations
            .get(slug)
            .and_then(|org| org.webhooks.get(old))
        {
            let message = format!(
                "`{old}` is still a webhook of this organization (at {}); a webhook cannot be renamed from a name that is in use",
                current.origin
            );
            let path = join(
                &join(&join(&join("organizations", slug), "webhooks"), name),
                "renamedFrom",
            );
            problems.push(conflict(origin, &path, message));
        }
    }
    for (slug, prune) in prunes {
        if let Some(org) = organizations.get_mut(&slug) {
            org.prune = prune.value;
        }
    }
    Desired {
        owner: owner.map(|o| o.value),
        organizations,
    }
}

fn prune_name(prune: Prune) -> &'static str {
    match prune {
        Prune::Off => "false",
        Prune::Marked => "true",
        Prune::All => "all",
    }
}
