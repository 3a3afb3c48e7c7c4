//! The plan's problems as diagnostics: what blocks or concerns each organization (config
//! problems found against the platform, read errors, conflicts, safety refusals, warnings),
//! placed in the config files where they have a place, so every output (text, JSON, markdown,
//! annotations) carries the same ones. Pure: it reads the plan, the config and the snapshot.

use super::model::{Conflict, OrganizationPlan, Plan, Refusal};
use super::planner::{guard_name, refusal_text};
use crate::config::yaml::join;
use crate::diagnostic::{Code, Diagnostic};
use crate::live::LiveSnapshot;
use crate::model::{Desired, Origin};

/// Fills the plan's problems: each organization's own, and all of them at the top with those
/// of no organization (`extra` holds the problems found before planning). An organization
/// with a problem of its own that the planner did not plan is added, with its problems alone.
pub fn attach(plan: &mut Plan, desired: &Desired, snapshot: &LiveSnapshot, extra: Vec<Diagnostic>) {
    let mut general = Vec::new();
    for problem in extra {
        let Some(slug) = problem.organization.clone() else {
            general.push(problem);
            continue;
        };
        let index = match plan.organizations.binary_search_by(|o| o.slug.cmp(&slug)) {
            Ok(index) => index,
            Err(index) => {
                let live = snapshot.organization(&slug);
                plan.organizations.insert(
                    index,
                    OrganizationPlan {
                        slug: slug.clone(),
                        uuid: live.map(|l| l.uuid.clone()).unwrap_or_default(),
                        live_digest: live
                            .map(crate::live::LiveOrganization::digest)
                            .unwrap_or_default(),
                        ..OrganizationPlan::default()
                    },
                );
                index
            }
        };
        let org = &mut plan.organizations[index];
        if problem.is_error() {
            org.errors.push(problem.text());
        }
        org.problems.push(problem);
    }
    for org in &mut plan.organizations {
        let found = of_organization(org, desired);
        org.problems.extend(found);
        org.problems.sort();
        org.problems.dedup();
    }
    general.extend(
        plan.organizations
            .iter()
            .flat_map(|o| o.problems.iter().cloned()),
    );
    general.sort();
    general.dedup();
    plan.problems = general;
}

/// The problems the planner recorded in an organization's plan.
fn of_organization(org: &OrganizationPlan, desired: &Desired) -> Vec<Diagnostic> {
    let desired_org = desired.organizations.get(&org.slug);
    let org_origin = desired_org.map(|o| o.origin.clone()).unwrap_or_default();
    let org_path = join("organizations", &org.slug);
    let at_org = |d: Diagnostic| {
        d.at(org_origin.clone(), org_path.clone())
            .in_organization(org.slug.as_str())
    };
    let mut found = Vec::new();
    // Errors already attached as diagnostics (config problems) are not read errors.
    let attached: Vec<String> = org.problems.iter().map(Diagnostic::text).collect();
    for error in org.errors.iter().filter(|e| !attached.contains(e)) {
        found.push(read_error(desired, &org.slug, error.clone()));
    }
    for conflict in &org.conflicts {
        let (origin, path) = webhook_place(desired, &org.slug, &conflict.webhook)
            .unwrap_or_else(|| (org_origin.clone(), org_path.clone()));
        found.push(
            Diagnostic::error(Code::Conflict, conflict_text(conflict))
                .at(origin, path)
                .in_organization(org.slug.as_str()),
        );
    }
    for refusal in &org.refused_by {
        found.push(at_org(refusal_diagnostic(refusal)));
    }
    for warning in &org.warnings {
        found.push(at_org(Diagnostic::warning(
            Code::PlanWarning,
            warning.clone(),
        )));
    }
    found
}

/// An organization whose live state could not be read, placed at its key in the config.
pub fn read_error(desired: &Desired, slug: &str, message: String) -> Diagnostic {
    let origin = desired
        .organizations
        .get(slug)
        .map(|o| o.origin.clone())
        .unwrap_or_default();
    Diagnostic::error(Code::ReadError, message)
        .at(origin, join("organizations", slug))
        .in_organization(slug)
}

/// Where a webhook of the config is written, if it is.
fn webhook_place(desired: &Desired, slug: &str, name: &str) -> Option<(Origin, String)> {
    let webhook = desired.organizations.get(slug)?.webhooks.get(name)?;
    let path = join(&join(&join("organizations", slug), "webhooks"), name);
    Some((webhook.origin.clone(), path))
}

/// `conflict: pim-sync [u1, u2]: several unmarked ...`.
fn conflict_text(conflict: &Conflict) -> String {
    format!(
        "conflict: {} [{}]: {}",
        conflict.webhook,
        conflict.uuids.join(", "),
        conflict.message
    )
}

/// `safety refusal: would update or delete 4 of 10 live webhooks (40%, ...); use --force`.
fn refusal_diagnostic(refusal: &Refusal) -> Diagnostic {
    Diagnostic::error(
        Code::SafetyRefusal,
        format!("safety refusal: {}", refusal_text(refusal)),
    )
    .with_help(format!(
        "review the plan, then use --force to override the {} guard",
        guard_name(refusal.guard)
    ))
}
