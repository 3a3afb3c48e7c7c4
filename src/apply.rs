//! The executor (product.md, "Applying"): one attempt over a plan, returning a report of every
//! action's outcome; it never prints. Organizations proceed in parallel; inside one, the phases
//! run in order (creates, updates, rotations, deletes), each finished before the next. A failed
//! action does not stop the others. A create whose outcome is unknown is resolved by listing
//! again and adopting the webhook it made, so no duplicate is made. An update and a declarative
//! rotation of one webhook are one PATCH of the secret, then one PUT with the changes and the
//! new revision. New secrets go to `--secrets-out` as soon as the platform issues them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::api::endpoint::masked;
use crate::api::ids::{OrganizationUuid, WebhookUuid};
use crate::api::redacted::Secret;
use crate::api::wire::{EventRequest, Organization, Webhook, WebhookRequest, paths};
use crate::api::{ApiError, AuthError, Session, TokenUse};
use crate::live::Secrets;
use crate::plan::marker;
use crate::plan::model::{Action, ActionKind, OrganizationPlan, Plan, Reason, TargetState};
use crate::resolve::CatalogueEvent;
use crate::secrets_out::{Entry, SecretsOut};

/// How many times a create is sent when its earlier attempts' outcomes were unknown and the
/// organization's list showed nothing they made.
const CREATE_ATTEMPTS: usize = 3;

/// What an action came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    Applied,
    Failed,
    /// Not started: the run was interrupted.
    Skipped,
    /// `--dry-run`: the requests it would send.
    DryRun,
}

impl Status {
    /// As JSON spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Applied => "applied",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::DryRun => "dryRun",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionOutcome {
    pub organization: String,
    pub action: ActionKind,
    pub webhook: String,
    /// The webhook's uuid (for a create, the new one).
    pub uuid: Option<String>,
    pub reason: Reason,
    pub status: Status,
    /// What went wrong, or a note on how it succeeded.
    pub message: Option<String>,
    /// The API's error codes of a failure.
    pub codes: Vec<String>,
    /// `--dry-run`: each request, as `METHOD PATH BODY` (secrets and env values masked).
    pub requests: Vec<String>,
}

/// Every action's outcome, in plan order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    pub actions: Vec<ActionOutcome>,
    /// Whether an interruption stopped new actions from starting.
    pub interrupted: bool,
}

impl ApplyReport {
    pub fn count(&self, status: Status) -> usize {
        self.actions.iter().filter(|a| a.status == status).count()
    }
}

/// What the executor needs besides the plan.
pub struct Executor<'a> {
    pub session: &'a Session,
    /// The live catalogue by event name: requests carry each event's uuid and category.
    pub catalogue: &'a BTreeMap<String, CatalogueEvent>,
    /// The secrets the live list showed when planning (a rotation's `previousSecret`; and
    /// which webhooks existed before this run).
    pub secrets: &'a Secrets,
    pub secrets_out: Option<&'a SecretsOut>,
    /// Set by Ctrl-C or SIGTERM: no new action starts.
    pub interrupted: &'a AtomicBool,
    pub dry_run: bool,
    /// Called after each action.
    pub progress: &'a (dyn Fn(&ActionOutcome) + Sync),
    /// Actions under way at most (`--parallelism`): an action starts only with a slot, and
    /// after an interruption a waiting action does not start at all.
    pub slots: tokio::sync::Semaphore,
}

fn failure(err: &AuthError) -> (String, Vec<String>) {
    let codes = match err {
        AuthError::Api(api) => api.codes().to_vec(),
        _ => Vec::new(),
    };
    (crate::error_chain::chain(err), codes)
}

impl Executor<'_> {
    /// Executes `plan` once.
    pub async fn run(&self, plan: &Plan) -> ApplyReport {
        let organizations = plan.organizations.iter().map(|org| self.organization(org));
        let actions = futures_util::future::join_all(organizations)
            .await
            .into_iter()
            .flatten()
            .collect();
        ApplyReport {
            actions,
            interrupted: self.interrupted.load(Ordering::SeqCst),
        }
    }

    async fn organization(&self, plan: &OrganizationPlan) -> Vec<ActionOutcome> {
        let org = match self.session.organization(&plan.slug) {
            Ok(org) => org,
            Err(err) => {
                let (message, codes) = failure(&err);
                return plan
                    .actions
                    .iter()
                    .map(|a| {
                        self.outcome(
                            plan,
                            a,
                            Status::Failed,
                            Some(message.clone()),
                            codes.clone(),
                        )
                    })
                    .collect();
            }
        };
        // Updates of webhooks that also rotate declaratively go with the rotation (one PUT).
        let rotating: BTreeSet<&str> = plan
            .actions
            .iter()
            .filter(|a| a.action == ActionKind::Rotate && a.target.is_some())
            .filter_map(|a| a.uuid.as_deref())
            .collect();
        let mut outcomes = Vec::new();
        for phase in [
            ActionKind::Create,
            ActionKind::Update,
            ActionKind::Rotate,
            ActionKind::Delete,
        ] {
            let actions = plan
                .actions
                .iter()
                .filter(|a| a.action == phase)
                .filter(|a| {
                    !(phase == ActionKind::Update
                        && a.uuid.as_deref().is_some_and(|u| rotating.contains(u)))
                });
            let runs = actions.map(|action| self.action(org, plan, action));
            for result in futures_util::future::join_all(runs).await {
                outcomes.extend(result);
            }
        }
        outcomes
    }

    fn outcome(
        &self,
        plan: &OrganizationPlan,
        action: &Action,
        status: Status,
        message: Option<String>,
        codes: Vec<String>,
    ) -> ActionOutcome {
        let outcome = ActionOutcome {
            organization: plan.slug.clone(),
            action: action.action,
            webhook: action.webhook.clone(),
            uuid: action.uuid.clone(),
            reason: action.reason,
            status,
            message,
            codes,
            requests: Vec::new(),
        };
        // For log collectors (`--log-format json`): one event per action, with its fields.
        let webhook = crate::config::chars::escaped(&action.webhook);
        tracing::info!(
            organization = %plan.slug,
            action = action.action.as_str(),
            webhook = %webhook,
            outcome = status.as_str(),
            "{} {}/{}: {}",
            action.action.as_str(),
            plan.slug,
            webhook,
            status.as_str()
        );
        (self.progress)(&outcome);
        outcome
    }

    async fn action(
        &self,
        org: &Organization,
        plan: &OrganizationPlan,
        action: &Action,
    ) -> Vec<ActionOutcome> {
        let merged_update = (action.action == ActionKind::Rotate && action.target.is_some())
            .then(|| {
                plan.actions
                    .iter()
                    .find(|a| a.action == ActionKind::Update && a.uuid == action.uuid)
            })
            .flatten();
        let with_update = |outcome: ActionOutcome| -> Vec<ActionOutcome> {
            let mut outcomes = Vec::new();
            if let Some(update) = merged_update {
                let mut merged = outcome.clone();
                merged.action = ActionKind::Update;
                merged.reason = update.reason;
                merged.requests = Vec::new();
                (self.progress)(&merged);
                outcomes.push(merged);
            }
            outcomes.push(outcome);
            outcomes
        };
        let _slot = self
            .slots
            .acquire()
            .await
            .expect("the semaphore is never closed");
        if self.interrupted.load(Ordering::SeqCst) {
            return with_update(self.outcome(
                plan,
                action,
                Status::Skipped,
                Some("not started: interrupted".to_owned()),
                Vec::new(),
            ));
        }
        if self.dry_run {
            let mut outcome = self.outcome(plan, action, Status::DryRun, None, Vec::new());
            outcome.requests = self.dry_requests(org, action);
            return with_update(outcome);
        }
        let result = match action.action {
            ActionKind::Create => self.create(org, plan, action).await,
            ActionKind::Update => self
                .update(org, action)
                .await
                .map(|()| (action.uuid.clone(), None)),
            ActionKind::Rotate => self
                .rotate(org, plan, action)
                .await
                .map(|()| (action.uuid.clone(), None)),
            ActionKind::Delete => self.delete(org, action).await,
        };
        let outcome = match result {
            Ok((uuid, note)) => {
                let mut outcome = self.outcome(plan, action, Status::Applied, note, Vec::new());
                outcome.uuid = uuid;
                outcome
            }
            Err((message, codes)) => {
                self.outcome(plan, action, Status::Failed, Some(message), codes)
            }
        };
        with_update(outcome)
    }

    /// The request model for a target, with the values sent (or, for `--dry-run`, shown).
    fn request(
        &self,
        org: &Organization,
        target: &TargetState,
        shown: bool,
    ) -> Result<WebhookRequest, String> {
        let text = |t: &crate::model::Text| if shown { t.shown() } else { t.value.clone() };
        let url = if shown {
            masked(&text(&target.url))
        } else {
            text(&target.url)
        };
        let mut events = Vec::new();
        for name in &target.events {
            let event = self.catalogue.get(name).ok_or_else(|| {
                format!(
                    "the event `{name}` is not in the platform's catalogue any more; plan again"
                )
            })?;
            events.push(EventRequest {
                uuid: event.uuid.as_str().into(),
                name: Some(event.name.clone()),
                description: Some(event.description.clone()),
                category: Some(event.category.clone()),
            });
        }
        Ok(WebhookRequest {
            uuid: None,
            name: target.name.clone(),
            url,
            description: marker::format(&text(&target.description), &target.marker),
            disable: !target.enabled,
            user_email: text(&target.user_email),
            organization_uuid: Some(org.uuid.clone()),
            clients: target.folders.clone(),
            events,
        })
    }

    fn dry_requests(&self, org: &Organization, action: &Action) -> Vec<String> {
        let uuid = WebhookUuid::new(action.uuid.clone().unwrap_or_else(|| "(new)".to_owned()));
        let body = |target: &TargetState, with_uuid: bool| match self.request(org, target, true) {
            Ok(mut request) => {
                if with_uuid {
                    request.uuid = Some(uuid.clone());
                }
                serde_json::to_string(&request).expect("requests serialise")
            }
            Err(problem) => format!("(cannot be built: {problem})"),
        };
        match (action.action, &action.target) {
            (ActionKind::Create, Some(target)) => {
                vec![format!("POST {} {}", paths::WEBHOOKS, body(target, false))]
            }
            (ActionKind::Update, Some(target)) => vec![format!(
                "PUT {} {}",
                paths::webhook(&uuid),
                body(target, true)
            )],
            (ActionKind::Rotate, target) => {
                let mut requests = vec![format!("PATCH {}", paths::webhook_secret(&uuid))];
                if let Some(target) = target {
                    requests.push(format!(
                        "PUT {} {}",
                        paths::webhook(&uuid),
                        body(target, true)
                    ));
                }
                requests
            }
            (ActionKind::Delete, _) => vec![format!("DELETE {}", paths::webhook(&uuid))],
            _ => Vec::new(),
        }
    }

    async fn call<T, F, Fut>(&self, org: &Organization, operation: F) -> Result<T, AuthError>
    where
        F: Fn(crate::api::redacted::Token) -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        self.session
            .with_token(org, TokenUse::ManageWebhooks, operation)
            .await
    }

    async fn record(
        &self,
        org: &OrganizationPlan,
        name: &str,
        webhook: &Webhook,
        previous: Option<Secret>,
    ) -> Result<(), (String, Vec<String>)> {
        let Some(out) = self.secrets_out else {
            return Ok(());
        };
        let entry = Entry {
            uuid: webhook.uuid.as_str().to_owned(),
            secret: webhook.secret.clone(),
            previous_secret: previous,
        };
        out.record(&format!("{}/{name}", org.slug), entry)
            .await
            .map_err(|err| {
                (
                    format!(
                        "the new secret could not be saved: {:#}",
                        anyhow::Error::from(err)
                    ),
                    Vec::new(),
                )
            })
    }

    async fn create(
        &self,
        org: &Organization,
        plan: &OrganizationPlan,
        action: &Action,
    ) -> Result<(Option<String>, Option<String>), (String, Vec<String>)> {
        let target = action
            .target
            .as_ref()
            .ok_or_else(|| ("a create without a target".to_owned(), Vec::new()))?;
        let request = self
            .request(org, target, false)
            .map_err(|m| (m, Vec::new()))?;
        let client = self.session.client();
        let mut unknown = None;
        for _ in 0..CREATE_ATTEMPTS {
            let created = self.call(org, |token| {
                let request = request.clone();
                async move { client.create_webhook(&token, &request).await }
            });
            match created.await {
                Ok(webhook) => {
                    self.record(plan, &target.name, &webhook, None).await?;
                    return Ok((
                        Some(webhook.uuid.as_str().to_owned()),
                        unknown.map(|_| "created after an unknown outcome".to_owned()),
                    ));
                }
                Err(AuthError::Api(err)) if err.is_outcome_unknown() => {
                    unknown = Some(err.to_string());
                    // Whatever the platform did, the list tells: adopt what the create made.
                    let listed = self
                        .call(org, |token| {
                            let uuid: OrganizationUuid = org.uuid.clone();
                            async move { client.list_webhooks(&token, &uuid).await }
                        })
                        .await
                        .map_err(|err| {
                            let (message, codes) = failure(&err);
                            (format!("the create's outcome is unknown and the organization could not be listed again: {message}"), codes)
                        })?;
                    if let Some(made) = listed.iter().find(|w| self.made_by(w, target)) {
                        self.record(plan, &target.name, made, None).await?;
                        return Ok((
                            Some(made.uuid.as_str().to_owned()),
                            Some(
                                "the create's answer was lost; adopted the webhook it made"
                                    .to_owned(),
                            ),
                        ));
                    }
                    // Without an answer the create may still be under way on the platform:
                    // sending it again could make a duplicate. The next plan adopts it if it
                    // arrives, or creates it if it never does.
                    if !err.outcome_settled_by_a_list() {
                        return Err((
                            format!(
                                "{err}; the organization's list does not show it yet, so it is not sent again: the next apply adopts it if the platform made it, or creates it"
                            ),
                            Vec::new(),
                        ));
                    }
                }
                Err(err) => return Err(failure(&err)),
            }
        }
        Err((
            format!(
                "the create's outcome stayed unknown after {CREATE_ATTEMPTS} attempts: {}",
                unknown.unwrap_or_default()
            ),
            Vec::new(),
        ))
    }

    /// Whether a listed webhook is the one a create of `target` made: its name, our marker,
    /// and not live before this run.
    fn made_by(&self, webhook: &Webhook, target: &TargetState) -> bool {
        webhook.name == target.name
            && !self.secrets.contains_key(webhook.uuid.as_str())
            && marker::parse(&webhook.description)
                .1
                .is_some_and(|m| m.owner == target.marker.owner)
    }

    async fn update(
        &self,
        org: &Organization,
        action: &Action,
    ) -> Result<(), (String, Vec<String>)> {
        let target = action
            .target
            .as_ref()
            .ok_or_else(|| ("an update without a target".to_owned(), Vec::new()))?;
        let uuid = WebhookUuid::new(action.uuid.clone().unwrap_or_default());
        self.put(org, &uuid, target).await
    }

    async fn put(
        &self,
        org: &Organization,
        uuid: &WebhookUuid,
        target: &TargetState,
    ) -> Result<(), (String, Vec<String>)> {
        let request = self
            .request(org, target, false)
            .map_err(|m| (m, Vec::new()))?;
        let client = self.session.client();
        self.call(org, |token| {
            let request = request.clone();
            async move { client.update_webhook(&token, uuid, &request).await }
        })
        .await
        .map(|_| ())
        .map_err(|err| failure(&err))
    }

    /// PATCH the secret (recorded at once), then, for a declarative rotation, PUT the whole
    /// webhook with the new revision (and any update planned with it).
    async fn rotate(
        &self,
        org: &Organization,
        plan: &OrganizationPlan,
        action: &Action,
    ) -> Result<(), (String, Vec<String>)> {
        let uuid = WebhookUuid::new(action.uuid.clone().unwrap_or_default());
        let client = self.session.client();
        let rotated = self
            .call(org, |token| {
                let uuid = uuid.clone();
                async move { client.regenerate_secret(&token, &uuid).await }
            })
            .await
            .map_err(|err| failure(&err))?;
        let previous = self.secrets.get(uuid.as_str()).cloned();
        self.record(plan, &action.webhook, &rotated, previous)
            .await?;
        let target = plan
            .actions
            .iter()
            .find(|a| a.action == ActionKind::Update && a.uuid == action.uuid)
            .and_then(|a| a.target.as_ref())
            .or(action.target.as_ref());
        if let Some(target) = target {
            self.put(org, &uuid, target).await.map_err(|(message, codes)| {
                (format!("the secret was rotated, but recording its revision failed (the next apply rotates again): {message}"), codes)
            })?;
        }
        Ok(())
    }

    async fn delete(
        &self,
        org: &Organization,
        action: &Action,
    ) -> Result<(Option<String>, Option<String>), (String, Vec<String>)> {
        let uuid = WebhookUuid::new(action.uuid.clone().unwrap_or_default());
        let client = self.session.client();
        let deleted = self
            .call(org, |token| {
                let uuid = uuid.clone();
                async move { client.delete_webhook(&token, &uuid).await }
            })
            .await;
        match deleted {
            Ok(_) => Ok((action.uuid.clone(), None)),
            Err(AuthError::Api(err)) if err.is_not_found() => {
                Ok((action.uuid.clone(), Some("already gone".to_owned())))
            }
            Err(err) => Err(failure(&err)),
        }
    }
}
