//! The planner: a pure, infallible function of the desired state (already checked and
//! resolved), the live snapshot and the options. It matches desired webhooks to live ones by
//! name (with `renamedFrom`), honours the ownership marker and `owner`, adopts, finds
//! duplicates and conflicts, compares fields (events and folders as sets), plans rotations and
//! prunes, and applies the safety guards. No I/O, no clock, no randomness: the same inputs give
//! the same plan.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::marker::{self, Marker};
use super::model::{
    Action, ActionKind, Change, Conflict, Guard, Listed, OrganizationPlan, PLAN_FORMAT_VERSION,
    Plan, Reason, Refusal, Summary, TargetState,
};
use crate::live::{LiveOrganization, LiveSnapshot, LiveWebhook};
use crate::model::{
    Desired, DesiredOrganization, DesiredWebhook, Prune, Text, masked_url as masked,
};

/// What the command line adds to the config.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// `--prune`: `prune: false` acts as `true`.
    pub prune: bool,
    /// `--rotate ORG/NAME`: imperative rotations.
    pub rotate: BTreeSet<(String, String)>,
    /// `--target ORG` or `--target ORG/NAME`; empty means everything.
    pub targets: Vec<Target>,
    /// `--force`: the safety guards do not refuse.
    pub force: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Organization(String),
    Webhook(String, String),
}

impl Options {
    /// Whether the run touches this organization at all.
    pub fn targets_organization(&self, slug: &str) -> bool {
        self.targets.is_empty()
            || self.targets.iter().any(|t| match t {
                Target::Organization(s) | Target::Webhook(s, _) => s == slug,
            })
    }

    /// Whether actions on this webhook are in the run.
    fn targets_webhook(&self, slug: &str, name: &str) -> bool {
        self.targets.is_empty()
            || self.targets.iter().any(|t| match t {
                Target::Organization(s) => s == slug,
                Target::Webhook(s, n) => s == slug && n == name,
            })
    }
}

/// A safety guard refuses when an organization with at least this many live webhooks...
const GUARD_MIN_LIVE: usize = 10;
/// ...would have more than this percentage of them updated or deleted.
const GUARD_PERCENT: usize = 30;

/// Plans every organization of the desired state that the options target.
pub fn plan(desired: &Desired, live: &LiveSnapshot, options: &Options) -> Plan {
    let owner = desired.owner.as_ref().map(|o| o.value.as_str());
    let organizations: Vec<OrganizationPlan> = desired
        .organizations
        .values()
        .filter(|org| options.targets_organization(&org.slug))
        .map(|org| match live.organization(&org.slug) {
            Some(live_org) => plan_organization(org, live_org, owner, &live.email, options),
            None => OrganizationPlan {
                slug: org.slug.clone(),
                errors: vec![format!(
                    "the live state has no organization `{}`, so it cannot be planned",
                    org.slug
                )],
                ..OrganizationPlan::default()
            },
        })
        .collect();
    let summary = summarise(&organizations);
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        organizations,
        summary,
        problems: Vec::new(),
    }
}

/// The plan's counts.
pub fn summarise(organizations: &[OrganizationPlan]) -> Summary {
    let mut summary = Summary::default();
    for org in organizations {
        summary.unchanged += org.unchanged.len();
        for action in &org.actions {
            match action.action {
                ActionKind::Create => summary.create += 1,
                ActionKind::Update => summary.update += 1,
                ActionKind::Rotate => summary.rotate += 1,
                ActionKind::Delete => summary.delete += 1,
            }
        }
    }
    summary
}

/// Whose a live webhook is, by its marker and the config's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Claim {
    /// Marked for this config's owner (or both without owner).
    Mine(Marker),
    /// Marked without an owner while this config has one: adopted only when named.
    Ownerless(Marker),
    /// Marked for another owner: never touched.
    Foreign(Marker),
    Unmarked,
}

impl Claim {
    fn of(webhook: &LiveWebhook, owner: Option<&str>) -> Claim {
        match marker::parse(&webhook.description).1 {
            None => Claim::Unmarked,
            Some(m) => match (m.owner.as_deref(), owner) {
                (a, b) if a == b => Claim::Mine(m),
                (None, Some(_)) => Claim::Ownerless(m),
                _ => Claim::Foreign(m),
            },
        }
    }

    fn is_marked_claimable(&self) -> bool {
        matches!(self, Claim::Mine(_) | Claim::Ownerless(_))
    }

    fn secret_rev(&self) -> u64 {
        match self {
            Claim::Mine(m) | Claim::Ownerless(m) | Claim::Foreign(m) => m.secret_rev,
            Claim::Unmarked => 0,
        }
    }
}

/// The planning of one organization, in steps.
struct OrgPlanner<'a> {
    org: &'a DesiredOrganization,
    live: &'a LiveOrganization,
    owner: Option<&'a str>,
    email: &'a str,
    options: &'a Options,
    claims: Vec<Claim>,
    /// Live webhooks (by index) that the plan has accounted for.
    used: BTreeSet<usize>,
    /// Live webhooks (by index) by name, oldest first: lookups stay O(log n) at any size.
    by_name: BTreeMap<&'a str, Vec<usize>>,
    /// Warnings with the webhook they are about, so `--target` can leave out the others'.
    warnings: Vec<(String, String)>,
    out: OrganizationPlan,
}

fn plan_organization(
    org: &DesiredOrganization,
    live: &LiveOrganization,
    owner: Option<&str>,
    email: &str,
    options: &Options,
) -> OrganizationPlan {
    let mut out = OrganizationPlan {
        slug: org.slug.clone(),
        uuid: live.uuid.clone(),
        live_digest: live.digest(),
        ..OrganizationPlan::default()
    };
    if let Some(error) = &live.error {
        out.errors.push(error.clone());
        return out;
    }
    let claims = live.webhooks.iter().map(|w| Claim::of(w, owner)).collect();
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, webhook) in live.webhooks.iter().enumerate() {
        by_name.entry(webhook.name.as_str()).or_default().push(i);
    }
    for indices in by_name.values_mut() {
        indices.sort_by(|a, b| {
            let (a, b) = (&live.webhooks[*a], &live.webhooks[*b]);
            (&a.created, &a.uuid).cmp(&(&b.created, &b.uuid))
        });
    }
    let mut planner = OrgPlanner {
        org,
        live,
        owner,
        email,
        options,
        claims,
        used: BTreeSet::new(),
        by_name,
        warnings: Vec::new(),
        out,
    };
    for webhook in org.webhooks.values() {
        planner.desired(webhook);
    }
    planner.leftovers();
    planner.finish()
}

impl OrgPlanner<'_> {
    /// Live webhooks named `name`, not yet accounted for, oldest first.
    fn namesakes(&self, name: &str) -> Vec<usize> {
        self.by_name
            .get(name)
            .map(|indices| {
                indices
                    .iter()
                    .copied()
                    .filter(|i| !self.used.contains(i))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn uuids(&self, indices: &[usize]) -> Vec<String> {
        let mut uuids: Vec<String> = indices
            .iter()
            .map(|i| self.live.webhooks[*i].uuid.clone())
            .collect();
        uuids.sort();
        uuids
    }

    /// Which live webhook (if any) is the desired one under `name`: `Ok(Some)` a match,
    /// `Ok(None)` nothing live, `Err` a conflict (already recorded).
    fn find(&mut self, desired: &DesiredWebhook, name: &str) -> Result<Option<usize>, ()> {
        let namesakes = self.namesakes(name);
        let foreign: Vec<usize> = namesakes
            .iter()
            .copied()
            .filter(|i| matches!(self.claims[*i], Claim::Foreign(_)))
            .collect();
        if !foreign.is_empty() {
            let message = self.foreign_message(name, &foreign, &namesakes);
            self.conflict(&desired.name, message, &foreign);
            // The config's own namesakes are part of the conflict: never pruned or listed
            // as if the config did not name them.
            self.used.extend(namesakes);
            return Err(());
        }
        let marked: Vec<usize> = namesakes
            .iter()
            .copied()
            .filter(|i| self.claims[*i].is_marked_claimable())
            .collect();
        let unmarked: Vec<usize> = namesakes
            .iter()
            .copied()
            .filter(|i| self.claims[*i] == Claim::Unmarked)
            .collect();
        if let Some((keep, duplicates)) = marked.split_first() {
            for duplicate in duplicates {
                self.delete(*duplicate, Reason::Duplicate);
            }
            for extra in unmarked {
                if self.org.prune == Prune::All {
                    self.delete(extra, Reason::Duplicate);
                }
            }
            self.used.insert(*keep);
            return Ok(Some(*keep));
        }
        match unmarked.as_slice() {
            [] => Ok(None),
            [one] => {
                self.used.insert(*one);
                Ok(Some(*one))
            }
            several => {
                let message = format!(
                    "{} unmarked live webhooks are named `{name}`; delete the extra ones, or mark the one to keep by adding ` [managed-by:vntana-webhooks{}]` to its description",
                    several.len(),
                    self.owner
                        .map(|o| format!(" owner:{o}"))
                        .unwrap_or_default()
                );
                let several = several.to_vec();
                self.conflict(&desired.name, message, &several);
                Err(())
            }
        }
    }

    /// Why a desired name whose live namesakes include another owner's webhooks cannot be
    /// planned (product.md, "Fine points": a conflict naming the owner and the uuids).
    fn foreign_message(&self, name: &str, foreign: &[usize], namesakes: &[usize]) -> String {
        let mut owners: Vec<&str> = foreign
            .iter()
            .filter_map(|i| match &self.claims[*i] {
                Claim::Foreign(m) => m.owner.as_deref(),
                _ => None,
            })
            .collect();
        owners.sort_unstable();
        owners.dedup();
        let listed = owners
            .iter()
            .map(|o| format!("`{o}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let subject = if foreign.len() == 1 {
            format!("the live webhook named `{name}` is")
        } else {
            format!("{} live webhooks named `{name}` are", foreign.len())
        };
        let owner_word = if owners.len() == 1 { "owner" } else { "owners" };
        let untouched = if foreign.len() == 1 {
            "it is never changed"
        } else {
            "they are never changed"
        };
        let mut message = match (self.owner, owners.as_slice()) {
            (Some(own), _) => format!(
                "{subject} managed by {owner_word} {listed}, not by this config (owner `{own}`), so {untouched}; rename this config's webhook, or theirs"
            ),
            (None, [only]) => format!(
                "{subject} managed by owner `{only}`, and this config sets no owner, so {untouched}; rename the webhook, or set `owner: {only}` if this config is that owner"
            ),
            (None, _) => format!(
                "{subject} managed by owners {listed}, and this config sets no owner, so {untouched}; rename the webhook"
            ),
        };
        let own: Vec<usize> = namesakes
            .iter()
            .copied()
            .filter(|i| !foreign.contains(i))
            .collect();
        if !own.is_empty() {
            let _ = write!(
                message,
                "; the other live `{name}` [{}] stays as it is until then",
                self.uuids(&own).join(", ")
            );
        }
        message
    }

    fn warn(&mut self, webhook: &str, message: String) {
        self.warnings.push((webhook.to_owned(), message));
    }

    fn conflict(&mut self, webhook: &str, message: String, indices: &[usize]) {
        let uuids = self.uuids(indices);
        for i in indices {
            self.used.insert(*i);
        }
        self.out.conflicts.push(Conflict {
            webhook: webhook.to_owned(),
            message,
            uuids,
        });
    }

    fn delete(&mut self, index: usize, reason: Reason) {
        self.used.insert(index);
        let live = &self.live.webhooks[index];
        self.out.actions.push(Action {
            action: ActionKind::Delete,
            webhook: live.name.clone(),
            uuid: Some(live.uuid.clone()),
            reason,
            changes: Vec::new(),
            target: None,
        });
    }

    /// Plans one desired webhook.
    fn desired(&mut self, desired: &DesiredWebhook) {
        let Ok(found) = self.find(desired, &desired.name) else {
            return;
        };
        let mut renamed_from = None;
        let found = if let Some(index) = found {
            // Both the new and an old name live: the old one is not in the config.
            for old in &desired.renamed_from {
                if !self.namesakes(&old.value.value).is_empty() {
                    self.warn(&desired.name, format!(
                        "`{}` exists under its new name and under its earlier name `{}`; the one named `{}` is treated as not in the config",
                        desired.name, old.value.value, old.value.value
                    ));
                }
            }
            Some(index)
        } else {
            let mut found = None;
            for old in &desired.renamed_from {
                match self.find(desired, &old.value.value) {
                    Err(()) => return,
                    Ok(Some(index)) => {
                        renamed_from = Some(old.value.value.as_str());
                        found = Some(index);
                        break;
                    }
                    Ok(None) => {}
                }
            }
            found
        };
        match found {
            None => self.create(desired),
            Some(index) => self.compare(desired, index, renamed_from),
        }
    }

    fn target(
        &self,
        desired: &DesiredWebhook,
        live: Option<&LiveWebhook>,
        secret_rev: u64,
    ) -> TargetState {
        let user_email = match (&desired.user_email, live) {
            (Some(email), _) => email.clone(),
            (None, Some(live)) => Text::literal(&live.user_email),
            (None, None) => Text::literal(self.email),
        };
        TargetState {
            name: desired.name.clone(),
            url: desired.url.clone(),
            description: desired.description.clone(),
            marker: Marker {
                owner: self.owner.map(str::to_owned),
                secret_rev,
            },
            events: sorted(desired.events.iter().map(|e| e.value.value.clone())),
            folders: sorted(desired.folders.iter().map(|f| f.value.value.clone())),
            enabled: desired.enabled,
            user_email,
        }
    }

    fn create(&mut self, desired: &DesiredWebhook) {
        if self
            .options
            .rotate
            .contains(&(self.org.slug.clone(), desired.name.clone()))
        {
            self.warn(&desired.name, format!(
                "--rotate {}/{}: the webhook does not exist yet; creating it makes its first secret, so there is nothing to rotate",
                self.org.slug, desired.name
            ));
        }
        let target = self.target(desired, None, desired.secret_rotation);
        let mut changes = vec![
            text_change("url", None, &target.url, true),
            text_change("description", None, &target.description, false),
            set_change(
                "events",
                None,
                &desired
                    .events
                    .iter()
                    .map(|e| e.value.clone())
                    .collect::<Vec<_>>(),
            ),
            set_change(
                "folders",
                None,
                &desired
                    .folders
                    .iter()
                    .map(|f| f.value.clone())
                    .collect::<Vec<_>>(),
            ),
            Change {
                field: "enabled",
                before: Value::Null,
                after: json!(target.enabled),
                sensitive: false,
                from_env: Vec::new(),
            },
            text_change("userEmail", None, &target.user_email, false),
        ];
        if desired.secret_rotation > 0 {
            changes.push(Change {
                field: "secretRotation",
                before: Value::Null,
                after: json!(desired.secret_rotation),
                sensitive: false,
                from_env: Vec::new(),
            });
        }
        self.out.actions.push(Action {
            action: ActionKind::Create,
            webhook: desired.name.clone(),
            uuid: None,
            reason: Reason::New,
            changes,
            target: Some(target),
        });
    }

    fn compare(&mut self, desired: &DesiredWebhook, index: usize, renamed_from: Option<&str>) {
        let live = &self.live.webhooks[index];
        let claim = self.claims[index].clone();
        let live_rev = claim.secret_rev();
        let rotate = desired.secret_rotation > live_rev;
        if desired.secret_rotation < live_rev {
            self.warn(&desired.name, format!(
                "`{}`: secretRotation {} is below the live secret revision {live_rev}; a secret cannot be un-rotated, so nothing changes (set it to {live_rev} or more)",
                desired.name, desired.secret_rotation
            ));
        }
        let target = self.target(
            desired,
            Some(live),
            if rotate {
                desired.secret_rotation
            } else {
                live_rev
            },
        );
        let mut changes = Vec::new();
        if let Some(old) = renamed_from {
            changes.push(Change {
                field: "name",
                before: json!(old),
                after: json!(desired.name),
                sensitive: false,
                from_env: Vec::new(),
            });
        }
        changes.extend(field_changes(live, desired, &target));
        let reenable = live.disable && desired.enabled;
        if reenable {
            self.warn(&desired.name, format!(
                "`{}` is disabled on the platform (after failed deliveries, or by hand); the config says enabled, so it will be re-enabled",
                desired.name
            ));
        }
        let adopt = matches!(claim, Claim::Unmarked | Claim::Ownerless(_));
        if adopt {
            let before = match &claim {
                Claim::Ownerless(_) => json!("managed, no owner"),
                _ => json!("unmanaged"),
            };
            let after = json!(
                self.owner
                    .map_or_else(|| "managed".to_owned(), |o| format!("managed by {o}"))
            );
            changes.push(Change {
                field: "marker",
                before,
                after,
                sensitive: false,
                from_env: Vec::new(),
            });
        }
        let reason = if renamed_from.is_some() {
            Reason::Rename
        } else if adopt {
            Reason::Adopt
        } else if reenable {
            Reason::Reenable
        } else {
            Reason::Drift
        };
        let updated = !changes.is_empty();
        if updated {
            self.out.actions.push(Action {
                action: ActionKind::Update,
                webhook: desired.name.clone(),
                uuid: Some(live.uuid.clone()),
                reason,
                changes,
                target: Some(target.clone()),
            });
        }
        let imperative = self
            .options
            .rotate
            .contains(&(self.org.slug.clone(), desired.name.clone()));
        if rotate || imperative {
            let changes = if rotate {
                vec![Change {
                    field: "secretRotation",
                    before: json!(live_rev),
                    after: json!(desired.secret_rotation),
                    sensitive: false,
                    from_env: Vec::new(),
                }]
            } else {
                Vec::new()
            };
            self.out.actions.push(Action {
                action: ActionKind::Rotate,
                webhook: desired.name.clone(),
                uuid: Some(live.uuid.clone()),
                reason: if rotate {
                    Reason::Rotation
                } else {
                    Reason::ImperativeRotation
                },
                changes,
                target: rotate.then_some(target),
            });
        }
        if !updated && !rotate && !imperative {
            self.out.unchanged.push(desired.name.clone());
        }
    }

    /// Live webhooks the config does not name: pruned or listed.
    fn leftovers(&mut self) {
        let prune = match self.org.prune {
            Prune::Off if self.options.prune => Prune::Marked,
            prune => prune,
        };
        for index in 0..self.live.webhooks.len() {
            if self.used.contains(&index) {
                continue;
            }
            let live = &self.live.webhooks[index];
            let listed = |owner: Option<String>, marked: bool| Listed {
                name: live.name.clone(),
                uuid: live.uuid.clone(),
                owner,
                marked,
            };
            match &self.claims[index] {
                Claim::Mine(_) if prune != Prune::Off => self.delete(index, Reason::Prune),
                Claim::Mine(_) => self.out.not_in_config.push(listed(None, true)),
                Claim::Unmarked if prune == Prune::All => self.delete(index, Reason::Prune),
                Claim::Unmarked => self.out.unmanaged.push(listed(None, false)),
                Claim::Ownerless(_) => self.out.unmanaged.push(listed(None, true)),
                Claim::Foreign(m) => self.out.unmanaged.push(listed(m.owner.clone(), true)),
            }
        }
    }

    /// Targets, order, the safety guards.
    fn finish(mut self) -> OrganizationPlan {
        let slug = self.org.slug.clone();
        let options = self.options;
        self.out
            .actions
            .retain(|a| options.targets_webhook(&slug, &a.webhook));
        self.out
            .conflicts
            .retain(|c| options.targets_webhook(&slug, &c.webhook));
        // Like Terraform's -target: only the targeted webhooks are shown, listings included.
        self.out
            .unchanged
            .retain(|name| options.targets_webhook(&slug, name));
        self.out
            .not_in_config
            .retain(|l| options.targets_webhook(&slug, &l.name));
        self.out
            .unmanaged
            .retain(|l| options.targets_webhook(&slug, &l.name));
        let warnings = std::mem::take(&mut self.warnings);
        self.out.warnings.extend(
            warnings
                .into_iter()
                .filter(|(webhook, _)| options.targets_webhook(&slug, webhook))
                .map(|(_, w)| w),
        );
        self.targeting_notes();
        self.out
            .actions
            .sort_by(|a, b| (a.action, &a.webhook, &a.uuid).cmp(&(b.action, &b.webhook, &b.uuid)));
        self.out.unchanged.sort();
        self.out.not_in_config.sort();
        self.out.unmanaged.sort();
        self.out.conflicts.sort();
        self.guards();
        self.out
    }

    /// With `--target ORG/NAME` (and no `--target ORG`): say that the rest of the organization
    /// is left out, as Terraform does, and which targets match nothing (a typo).
    fn targeting_notes(&mut self) {
        let slug = &self.org.slug;
        if self
            .options
            .targets
            .contains(&Target::Organization(slug.clone()))
        {
            return;
        }
        let names: BTreeSet<&str> = self
            .options
            .targets
            .iter()
            .filter_map(|t| match t {
                Target::Webhook(s, name) if s == slug => Some(name.as_str()),
                _ => None,
            })
            .collect();
        if names.is_empty() {
            return;
        }
        for name in &names {
            if !self.org.webhooks.contains_key(*name) && !self.by_name.contains_key(name) {
                self.out.warnings.push(format!(
                    "--target {slug}/{name} matches no webhook of the config or of the platform"
                ));
            }
        }
        let listed = names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        self.out.warnings.push(format!(
            "--target limits this organization's plan to {listed}; its other webhooks are left out"
        ));
    }

    fn guards(&mut self) {
        let live = self.live.webhooks.len();
        let mut counted: BTreeSet<&str> = BTreeSet::new();
        for action in &self.out.actions {
            let pure_adoption = action.reason == Reason::Adopt
                && action.changes.iter().all(|c| c.field == "marker");
            let counts = match action.action {
                ActionKind::Delete => true,
                ActionKind::Update => !pure_adoption,
                ActionKind::Rotate => action.reason == Reason::Rotation,
                ActionKind::Create => false,
            };
            if counts && let Some(uuid) = &action.uuid {
                counted.insert(uuid);
            }
        }
        let mut refusals = Vec::new();
        if live >= GUARD_MIN_LIVE && counted.len() * 100 > live * GUARD_PERCENT {
            refusals.push(Refusal {
                organization: self.org.slug.clone(),
                guard: Guard::ChangeThreshold,
                counted: counted.len(),
                live,
            });
        }
        let managed: BTreeSet<&str> = (0..live)
            .filter(|i| matches!(self.claims[*i], Claim::Mine(_)))
            .map(|i| self.live.webhooks[i].uuid.as_str())
            .collect();
        let deleted: BTreeSet<&str> = self
            .out
            .actions
            .iter()
            .filter(|a| a.action == ActionKind::Delete)
            .filter_map(|a| a.uuid.as_deref())
            .collect();
        if !managed.is_empty() && managed.is_subset(&deleted) {
            refusals.push(Refusal {
                organization: self.org.slug.clone(),
                guard: Guard::DeleteAllManaged,
                counted: managed.len(),
                live,
            });
        }
        if self.options.force {
            for refusal in refusals {
                self.out.warnings.push(format!(
                    "{}; proceeding because of --force",
                    refusal_text(&refusal)
                ));
            }
        } else {
            self.out.refused_by = refusals;
        }
    }
}

/// What a safety guard objects to, in words: `refused: ...` in the text plan, or the warning
/// of `--force`.
pub fn refusal_text(refusal: &Refusal) -> String {
    let name = guard_name(refusal.guard);
    match refusal.guard {
        Guard::ChangeThreshold => format!(
            "would update or delete {} of {} live webhooks ({}%; the {name} guard allows {GUARD_PERCENT}% in an organization of {GUARD_MIN_LIVE} or more)",
            refusal.counted,
            refusal.live,
            refusal.counted * 100 / refusal.live.max(1)
        ),
        Guard::DeleteAllManaged => format!(
            "would delete every webhook this config manages here ({} of {} live; the {name} guard)",
            refusal.counted, refusal.live
        ),
    }
}

/// The guard's name as JSON and messages spell it.
pub fn guard_name(guard: Guard) -> &'static str {
    match guard {
        Guard::ChangeThreshold => "change-threshold",
        Guard::DeleteAllManaged => "delete-all-managed",
    }
}

/// The webhook's fields that differ between live and target, after normalising (product.md,
/// "Planning"): events and folders as sets, the description without the marker, `enabled`
/// against `!disable`, url and userEmail exactly.
fn field_changes(
    live: &LiveWebhook,
    desired: &DesiredWebhook,
    target: &TargetState,
) -> Vec<Change> {
    let mut changes = Vec::new();
    if live.url != target.url.value {
        changes.push(text_change("url", Some(&live.url), &target.url, true));
    }
    let (live_text, _) = marker::parse(&live.description);
    if live_text != target.description.value {
        changes.push(text_change(
            "description",
            Some(live_text),
            &target.description,
            false,
        ));
    }
    if set_of(&live.events) != set_of(&target.events) {
        let events: Vec<Text> = desired.events.iter().map(|e| e.value.clone()).collect();
        changes.push(set_diff("events", &live.events, &events));
    }
    if set_of(&live.clients) != set_of(&target.folders) {
        let folders: Vec<Text> = desired.folders.iter().map(|f| f.value.clone()).collect();
        changes.push(set_diff("folders", &live.clients, &folders));
    }
    if live.disable == target.enabled {
        changes.push(Change {
            field: "enabled",
            before: json!(!live.disable),
            after: json!(target.enabled),
            sensitive: false,
            from_env: Vec::new(),
        });
    }
    if live.user_email != target.user_email.value {
        changes.push(text_change(
            "userEmail",
            Some(&live.user_email),
            &target.user_email,
            false,
        ));
    }
    changes
}

fn set_of(items: &[String]) -> BTreeSet<&str> {
    items.iter().map(String::as_str).collect()
}

fn sorted(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut items: Vec<String> = items.collect();
    items.sort();
    items.dedup();
    items
}

/// A text field's change; urls have their password masked; a sensitive value hides both sides.
fn text_change(field: &'static str, before: Option<&str>, after: &Text, is_url: bool) -> Change {
    let show = |value: &str| {
        if is_url {
            masked(value)
        } else {
            value.to_owned()
        }
    };
    // Only the masked password differs: showing `x -> x` would say nothing.
    let hidden = before.is_some_and(|b| b != after.value && show(b) == show(&after.value));
    Change {
        field,
        before: before.map_or(Value::Null, |b| json!(show(b))),
        after: json!(show(&after.value)),
        sensitive: after.is_sensitive() || hidden,
        from_env: after.from_env.clone(),
    }
}

fn set_change(field: &'static str, before: Option<&[String]>, after: &[Text]) -> Change {
    Change {
        field,
        before: before.map_or(Value::Null, |b| json!(b)),
        after: json!(sorted(after.iter().map(|t| t.value.clone()))),
        sensitive: after.iter().any(Text::is_sensitive),
        from_env: sorted(after.iter().flat_map(|t| t.from_env.iter().cloned())),
    }
}

fn set_diff(field: &'static str, live: &[String], desired: &[Text]) -> Change {
    set_change(field, Some(&sorted(live.iter().cloned())), desired)
}

/// The organizations whose live state a plan needs, and those whose folders it needs.
pub fn reads(desired: &Desired, options: &Options) -> (BTreeSet<String>, BTreeSet<String>) {
    let orgs: BTreeMap<&String, &DesiredOrganization> = desired
        .organizations
        .iter()
        .filter(|(slug, _)| options.targets_organization(slug))
        .collect();
    let slugs = orgs.keys().map(|s| (*s).clone()).collect();
    let with_folders = orgs
        .iter()
        .filter(|(_, org)| org.webhooks.values().any(|w| !w.folders.is_empty()))
        .map(|(s, _)| (*s).clone())
        .collect();
    (slugs, with_folders)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Located, Origin};

    const OWNER: &str = "platform-repo";

    fn hook(name: &str) -> DesiredWebhook {
        DesiredWebhook {
            name: name.to_owned(),
            url: Text::literal(format!("https://{name}.example/hook")),
            description: Text::default(),
            events: vec![Located {
                value: Text::literal("product.completed"),
                origin: Origin::default(),
            }],
            folders: Vec::new(),
            enabled: true,
            user_email: None,
            secret_rotation: 0,
            renamed_from: Vec::new(),
            origin: Origin::default(),
        }
    }

    fn desired(prune: Prune, webhooks: Vec<DesiredWebhook>) -> Desired {
        let org = DesiredOrganization {
            slug: "acme".to_owned(),
            prune,
            webhooks: webhooks.into_iter().map(|w| (w.name.clone(), w)).collect(),
            origin: Origin::default(),
        };
        Desired {
            owner: Some(Text::literal(OWNER)),
            organizations: [("acme".to_owned(), org)].into(),
        }
    }

    fn live(n: u32, name: &str, description: &str) -> LiveWebhook {
        LiveWebhook {
            uuid: format!("uuid-{n}"),
            name: name.to_owned(),
            description: description.to_owned(),
            url: format!("https://{name}.example/hook"),
            disable: false,
            user_email: "team@acme.example".to_owned(),
            clients: Vec::new(),
            events: vec!["product.completed".to_owned()],
            created: format!("2026-01-0{n}T00:00:00.000000"),
            updated: format!("2026-01-0{n}T00:00:00.000000"),
        }
    }

    fn snapshot(webhooks: Vec<LiveWebhook>) -> LiveSnapshot {
        LiveSnapshot {
            format_version: 1,
            email: "me@acme.example".to_owned(),
            catalogue: Vec::new(),
            organizations: vec![LiveOrganization {
                slug: "acme".to_owned(),
                uuid: "org-uuid".to_owned(),
                role: "ORGANIZATION_OWNER".to_owned(),
                folders: None,
                webhooks,
                error: None,
            }],
        }
    }

    fn mine() -> String {
        marker::format(
            "",
            &Marker {
                owner: Some(OWNER.to_owned()),
                secret_rev: 0,
            },
        )
    }

    fn one(plan: &Plan) -> &OrganizationPlan {
        &plan.organizations[0]
    }

    #[test]
    fn an_own_namesake_beside_another_owner_s_is_part_of_the_conflict_not_pruned() {
        let theirs = marker::format(
            "",
            &Marker {
                owner: Some("team-b".to_owned()),
                secret_rev: 0,
            },
        );
        let plan = plan(
            &desired(Prune::Marked, vec![hook("pim")]),
            &snapshot(vec![live(1, "pim", &mine()), live(2, "pim", &theirs)]),
            &Options::default(),
        );
        let org = one(&plan);
        assert!(org.actions.is_empty(), "{:?}", org.actions);
        assert!(org.not_in_config.is_empty() && org.unmanaged.is_empty());
        assert_eq!(org.conflicts.len(), 1);
        assert_eq!(org.conflicts[0].uuids, ["uuid-2"]);
        assert!(
            org.conflicts[0].message.contains("owner `team-b`"),
            "{}",
            org.conflicts[0].message
        );
        assert!(
            org.conflicts[0].message.contains("[uuid-1]"),
            "{}",
            org.conflicts[0].message
        );
    }

    #[test]
    fn a_config_without_owner_is_told_which_owner_to_set() {
        let theirs = marker::format(
            "",
            &Marker {
                owner: Some(OWNER.to_owned()),
                secret_rev: 0,
            },
        );
        let mut config = desired(Prune::Off, vec![hook("pim")]);
        config.owner = None;
        let plan = plan(
            &config,
            &snapshot(vec![live(1, "pim", &theirs)]),
            &Options::default(),
        );
        let message = &one(&plan).conflicts[0].message;
        assert!(message.contains("set `owner: platform-repo`"), "{message}");
    }

    #[test]
    fn a_url_differing_only_in_its_password_is_a_sensitive_change() {
        let change = text_change(
            "url",
            Some("https://u:old@h.example/p"),
            &Text::literal("https://u:new@h.example/p"),
            true,
        );
        assert!(change.sensitive);
        let visible = text_change(
            "url",
            Some("https://u:old@h.example/a"),
            &Text::literal("https://u:old@h.example/b"),
            true,
        );
        assert!(!visible.sensitive);
        assert_eq!(visible.before, json!("https://u:****@h.example/a"));
    }

    #[test]
    fn a_webhook_target_leaves_out_the_other_webhooks_listings_and_warnings() {
        // `b` has a rotation-down warning, `c` is unchanged, `old` and `manual` are listings.
        let plan = plan(
            &desired(Prune::Off, vec![hook("a"), hook("b"), hook("c")]),
            &snapshot(vec![
                live(
                    1,
                    "a",
                    &marker::format(
                        "",
                        &Marker {
                            owner: Some(OWNER.to_owned()),
                            secret_rev: 0,
                        },
                    ),
                ),
                live(
                    2,
                    "b",
                    &marker::format(
                        "",
                        &Marker {
                            owner: Some(OWNER.to_owned()),
                            secret_rev: 2,
                        },
                    ),
                ),
                live(3, "c", &mine()),
                live(4, "old", &mine()),
                live(5, "manual", ""),
            ]),
            &Options {
                targets: vec![Target::Webhook("acme".to_owned(), "a".to_owned())],
                ..Options::default()
            },
        );
        let org = one(&plan);
        assert_eq!(org.unchanged, ["a"]);
        assert!(org.not_in_config.is_empty() && org.unmanaged.is_empty());
        assert_eq!(org.warnings.len(), 1, "{:?}", org.warnings);
        assert!(
            org.warnings[0].starts_with("--target limits"),
            "{:?}",
            org.warnings
        );
        assert_eq!(plan.summary.unchanged, 1);
    }

    #[test]
    fn rotating_a_webhook_that_is_still_to_be_created_warns() {
        let plan = plan(
            &desired(Prune::Off, vec![hook("new")]),
            &snapshot(Vec::new()),
            &Options {
                rotate: [("acme".to_owned(), "new".to_owned())].into(),
                ..Options::default()
            },
        );
        let org = one(&plan);
        assert_eq!(org.actions.len(), 1);
        assert_eq!(org.actions[0].action, ActionKind::Create);
        assert!(
            org.warnings[0].contains("nothing to rotate"),
            "{:?}",
            org.warnings
        );
    }

    #[test]
    fn the_delete_all_managed_refusal_says_what_it_protects() {
        let plan = plan(
            &desired(Prune::Marked, vec![hook("new")]),
            &snapshot(vec![live(1, "old", &mine()), live(2, "manual", "")]),
            &Options::default(),
        );
        let refusal = &one(&plan).refused_by[0];
        assert_eq!(
            (refusal.guard, refusal.counted, refusal.live),
            (Guard::DeleteAllManaged, 1, 2)
        );
        assert_eq!(
            refusal_text(refusal),
            "would delete every webhook this config manages here (1 of 2 live; the delete-all-managed guard)"
        );
    }

    #[test]
    fn an_organization_missing_from_the_live_state_is_an_error_of_the_plan() {
        let mut live = snapshot(Vec::new());
        live.organizations.clear();
        let plan = plan(
            &desired(Prune::Off, vec![hook("a")]),
            &live,
            &Options::default(),
        );
        assert_eq!(
            one(&plan).errors,
            ["the live state has no organization `acme`, so it cannot be planned"]
        );
        assert!(plan.has_errors());
    }
}
