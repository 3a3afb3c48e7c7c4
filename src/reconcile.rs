//! One pass of the pipeline: read the live state of the organizations the run touches,
//! check the config's names against it, and plan. `plan`, `apply` and (later) `watch` share
//! it. The config is loaded by the caller; nothing here prints.

use std::collections::BTreeSet;

use crate::api::{AuthError, Session};
use crate::config::ConfigError;
use crate::live::{self, LiveRead, LiveSnapshot};
use crate::model::Desired;
use crate::plan::{self, Options, Plan};
use crate::resolve;

/// A pass's failure before a plan exists.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A plan with the live state it was made from.
#[derive(Debug, Clone)]
pub struct Planned {
    pub read: LiveRead,
    pub plan: Plan,
}

/// The organizations to read, and those whose folders to read, for a plan.
pub fn reads(desired: &Desired, options: &Options) -> (BTreeSet<String>, BTreeSet<String>) {
    plan::planner::reads(desired, options)
}

/// Plans against a snapshot (offline, or after a read).
pub fn plan_snapshot(
    desired: &Desired,
    snapshot: &LiveSnapshot,
    options: &Options,
) -> Result<Plan, ConfigError> {
    let (_, with_folders) = reads(desired, options);
    resolve::check_snapshot(desired, snapshot, &with_folders)?;
    Ok(plan::plan(desired, snapshot, options))
}

/// Reads the live state through `session` and plans.
pub async fn plan_online(
    session: &Session,
    desired: &Desired,
    options: &Options,
) -> Result<Planned, ReconcileError> {
    let (slugs, with_folders) = reads(desired, options);
    let read = live::read(session, &slugs, &with_folders).await?;
    let plan = plan_snapshot(desired, &read.snapshot, options)?;
    Ok(Planned { read, plan })
}
