//! `vntana-webhooks export [--org SLUG ...] [--format yaml|live-json]`: the live state as a
//! config (to adopt an existing setup) or as a live snapshot (for `plan --live`). Without
//! `--org`, every organization the user can see, skipping with a note those whose role may not
//! manage webhooks. Reads only.

use std::collections::BTreeSet;

use crate::api::wire::roles;
use crate::cli::{ExportArgs, ExportFormat};
use crate::commands::{ExitStatus, connect};
use crate::export;
use crate::live;
use crate::printer::Printer;

/// Requests in flight at most.
const PARALLELISM: usize = 4;

pub async fn run(args: &ExportArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let connection = connect::connect(&args.connection, PARALLELISM, printer).await?;
    let session = &connection.session;
    let mut slugs = BTreeSet::new();
    if args.orgs.is_empty() {
        for org in session.organizations() {
            if roles::may_manage_webhooks(&org.role) {
                slugs.insert(org.slug.clone());
            } else {
                printer.status(&format!(
                    "note: skipping organization `{}`: the role {} may not manage webhooks",
                    org.slug, org.role
                ));
            }
        }
    } else {
        for slug in &args.orgs {
            let org = session.organization(slug)?;
            if !roles::may_manage_webhooks(&org.role) {
                anyhow::bail!(
                    "{} has the role {} in organization `{slug}`; exporting webhooks needs {}",
                    session.email(),
                    org.role,
                    roles::MANAGING_ROLES
                );
            }
            slugs.insert(slug.clone());
        }
    }
    // A live snapshot records folders; a config needs none.
    let with_folders = if args.format == ExportFormat::LiveJson {
        slugs.clone()
    } else {
        BTreeSet::new()
    };
    let read = live::read(session, &slugs, &with_folders).await?;
    if let Some(org) = read
        .snapshot
        .organizations
        .iter()
        .find(|o| o.error.is_some())
    {
        anyhow::bail!(
            "cannot export organization `{}`: {}",
            org.slug,
            org.error.clone().unwrap_or_default()
        );
    }
    match args.format {
        ExportFormat::LiveJson => {
            let (snapshot, masked) = export::without_url_passwords(&read.snapshot);
            if masked > 0 {
                printer.status(&format!(
                    "note: the password of {masked} url{} is written as ****; a plan against this snapshot shows {} as changed",
                    if masked == 1 { "" } else { "s" },
                    if masked == 1 { "it" } else { "them" }
                ));
            }
            printer.result(&snapshot.to_json());
        }
        ExportFormat::Yaml => {
            let exported = export::to_config(&read.snapshot)?;
            for note in &exported.notes {
                printer.status(&format!("note: {note}"));
            }
            printer.result(&exported.yaml);
        }
    }
    Ok(ExitStatus::Success)
}
