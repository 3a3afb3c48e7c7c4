//! One pass of the pipeline: check the config's organizations against what the user can see,
//! read the live state of the organizations the run touches, check the config's names against
//! it, and plan. `plan`, `apply`, `validate` and `watch` share it, so they find the same
//! problems. The config is loaded by the caller; nothing here prints.

use std::collections::BTreeSet;

use crate::api::{AuthError, Session};
use crate::diagnostic::Diagnostic;
use crate::live::{self, LiveRead, LiveSnapshot};
use crate::model::Desired;
use crate::plan::{self, Options, Plan};
use crate::resolve::{self, Visible};

/// A pass's failure before a plan exists: the platform could not be used at all.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// A plan with the live state it was made from.
#[derive(Debug, Clone)]
pub struct Planned {
    pub read: LiveRead,
    pub plan: Plan,
}

/// The live state a run needs and the config's problems that only it reveals.
#[derive(Debug, Clone)]
pub struct Checked {
    pub read: LiveRead,
    /// Unknown organizations, roles that may not manage webhooks, unknown events and
    /// folders; sorted.
    pub problems: Vec<Diagnostic>,
}

/// The organizations to read, and those whose folders to read, for a plan.
pub fn reads(desired: &Desired, options: &Options) -> (BTreeSet<String>, BTreeSet<String>) {
    plan::planner::reads(desired, options)
}

/// Checks the config against a recorded live state (offline).
pub fn check_snapshot(
    desired: &Desired,
    snapshot: &LiveSnapshot,
    options: &Options,
) -> Vec<Diagnostic> {
    let (slugs, with_folders) = reads(desired, options);
    let touched = desired.only(|slug| slugs.contains(slug));
    let organizations = resolve::check_snapshot_organizations(&touched, snapshot);
    finish_check(&touched, snapshot, &with_folders, organizations)
}

/// Reads what the run needs through `session` (never an organization the run does not touch,
/// nor one the user cannot see or manage) and checks the config against it.
pub async fn read_and_check(
    session: &Session,
    desired: &Desired,
    options: &Options,
) -> Result<Checked, ReconcileError> {
    let (slugs, with_folders) = reads(desired, options);
    let touched = desired.only(|slug| slugs.contains(slug));
    let visible: Vec<Visible<'_>> = session
        .organizations()
        .iter()
        .map(|o| Visible {
            slug: &o.slug,
            role: &o.role,
        })
        .collect();
    let organizations = resolve::check_organizations(&touched, &visible, session.email());
    let blocked = organizations_of(&organizations);
    let readable: BTreeSet<String> = slugs.difference(&blocked).cloned().collect();
    let read = live::read(session, &readable, &with_folders).await?;
    let problems = finish_check(&touched, &read.snapshot, &with_folders, organizations);
    Ok(Checked { read, problems })
}

/// The name checks of the organizations without an organization problem, after those.
fn finish_check(
    touched: &Desired,
    snapshot: &LiveSnapshot,
    with_folders: &BTreeSet<String>,
    mut problems: Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    let blocked = organizations_of(&problems);
    let checkable = touched.only(|slug| !blocked.contains(slug));
    problems.extend(resolve::check_snapshot(&checkable, snapshot, with_folders));
    problems.sort();
    problems
}

/// The organizations that have an error among `problems`.
fn organizations_of(problems: &[Diagnostic]) -> BTreeSet<String> {
    problems
        .iter()
        .filter(|p| p.is_error())
        .filter_map(|p| p.organization.clone())
        .collect()
}

/// Plans against a checked live state: organizations with a config problem are shown with
/// their problems and nothing else; the others are planned.
pub fn plan_checked(
    desired: &Desired,
    snapshot: &LiveSnapshot,
    options: &Options,
    problems: Vec<Diagnostic>,
) -> Plan {
    let blocked = organizations_of(&problems);
    let plannable = desired.only(|slug| !blocked.contains(slug));
    let mut plan = plan::plan(&plannable, snapshot, options);
    plan::problems::attach(&mut plan, desired, snapshot, problems);
    plan
}

/// Plans against a snapshot (offline).
pub fn plan_snapshot(desired: &Desired, snapshot: &LiveSnapshot, options: &Options) -> Plan {
    let problems = check_snapshot(desired, snapshot, options);
    plan_checked(desired, snapshot, options, problems)
}

/// Reads the live state through `session` and plans.
pub async fn plan_online(
    session: &Session,
    desired: &Desired,
    options: &Options,
) -> Result<Planned, ReconcileError> {
    let Checked { read, problems } = read_and_check(session, desired, options).await?;
    let plan = plan_checked(desired, &read.snapshot, options, problems);
    Ok(Planned { read, plan })
}
