//! `vntana-webhooks validate [--offline]`: the config files alone (no request at all), or also
//! against the platform with reads only: the organizations exist and the role may manage
//! webhooks, the folders and event names are known (with did-you-mean).

use std::collections::BTreeMap;

use crate::api::wire::{Folder, roles};
use crate::api::{AuthError, Session, TokenUse};
use crate::cli::ValidateArgs;
use crate::commands::{ExitStatus, connect};
use crate::config::{self, ConfigError, Problem};
use crate::model::Desired;
use crate::printer::Printer;
use crate::{resolve, suggest};

/// Requests in flight when validating (reads only).
const PARALLELISM: usize = 4;

pub async fn run(args: ValidateArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let desired = config::load(&args.config.files, &|name| std::env::var(name).ok())?;
    let webhooks: usize = desired
        .organizations
        .values()
        .map(|o| o.webhooks.len())
        .sum();
    let summary = format!(
        "{} organization{}, {webhooks} webhook{}",
        desired.organizations.len(),
        plural(desired.organizations.len()),
        plural(webhooks)
    );
    if args.offline {
        printer.result(&format!(
            "The config is valid: {summary} (offline: not checked against the platform).\n"
        ));
        return Ok(ExitStatus::Success);
    }
    let connection = connect::connect(&args.connection, PARALLELISM, printer).await?;
    let session = &connection.session;
    let problems = check_online(&desired, session).await?;
    if !problems.is_empty() {
        return Err(ConfigError { problems }.into());
    }
    printer.result(&format!(
        "The config is valid: {summary}; organizations, roles, folders and events checked against {}.\n",
        session.client().base_url()
    ));
    Ok(ExitStatus::Success)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The problems only the platform can reveal; reads only.
pub async fn check_online(desired: &Desired, session: &Session) -> anyhow::Result<Vec<Problem>> {
    let mut problems = Vec::new();
    let mut usable = Vec::new();
    for (slug, org) in &desired.organizations {
        let problem = |message: String, help: Option<String>| Problem {
            origin: org.origin.clone(),
            path: organization_path(slug),
            message,
            help,
        };
        match session.organization(slug) {
            Err(AuthError::UnknownOrganization { .. }) => {
                let visible = session.organizations().iter().map(|o| o.slug.as_str());
                let help = suggest::closest(slug, visible).map(|c| format!("did you mean `{c}`?"));
                problems.push(problem(
                    format!(
                        "organization `{slug}` is not visible to {}",
                        session.email()
                    ),
                    help,
                ));
            }
            Err(err) => return Err(err.into()),
            Ok(live) if !roles::may_manage_webhooks(&live.role) => problems.push(problem(
                format!(
                    "{} has the role {} in `{slug}`; managing webhooks needs {}",
                    session.email(),
                    live.role,
                    roles::MANAGING_ROLES
                ),
                None,
            )),
            Ok(live) => usable.push((org, live)),
        }
    }
    // The catalogue is the same for every organization; any organization token reads it.
    let reader = usable
        .first()
        .map(|(_, live)| *live)
        .or_else(|| session.organizations().first());
    let Some(reader) = reader else {
        problems.push(Problem {
            origin: desired
                .organizations
                .values()
                .next()
                .map(|o| o.origin.clone())
                .unwrap_or_default(),
            path: String::new(),
            message: format!(
                "{} can see no organization, so the event names cannot be checked",
                session.email()
            ),
            help: None,
        });
        return Ok(problems);
    };
    let client = session.client();
    let catalogue = session
        .with_token(reader, TokenUse::ReadCatalogue, |token| async move {
            client.events(&token).await
        })
        .await?;
    let mut folders: BTreeMap<String, Vec<Folder>> = BTreeMap::new();
    for (org, live) in usable {
        if org.webhooks.values().any(|w| !w.folders.is_empty()) {
            let listed = session
                .with_token(live, TokenUse::ManageWebhooks, |token| async move {
                    client.folders(&token).await
                })
                .await?;
            folders.insert(org.slug.clone(), listed);
        }
    }
    // Only organizations that can be checked: the others already have a problem.
    let checkable = desired.only(|slug| problems.iter().all(|p| p.path != organization_path(slug)));
    problems.extend(resolve::check(
        &checkable,
        &resolve::index_catalogue(&catalogue),
        &folders,
    ));
    problems.sort();
    Ok(problems)
}

/// The config path of an organization, quoted as the loader quotes it.
fn organization_path(slug: &str) -> String {
    crate::config::yaml::join("organizations", slug)
}
