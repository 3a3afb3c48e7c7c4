//! `vntana-webhooks watch`: the watch loop (`crate::watch`) fed by the config files' events
//! (notify; the folders holding them are watched, so an editor's write-then-rename save and a
//! Kubernetes ConfigMap's `..data` swap are seen) and Ctrl-C/SIGTERM; and the pass it runs:
//! reload the config (keeping the last good one when it is invalid), plan with the session
//! kept across passes, print what is new (a pass with nothing new is one line; a problem
//! already reported is a one-line reminder), and with `--apply` apply it under apply's safety
//! rules (never forced), re-enabling a webhook the platform keeps disabling at most once an
//! hour. `--health-addr` serves probes and metrics (`crate::health`); `--once` is one pass.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use notify::event::ModifyKind;
use notify::{EventKind, RecursiveMode, Watcher};
use time::OffsetDateTime;
use time::macros::format_description;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument;

use crate::api::client::Observer;
use crate::apply::Status;
use crate::cli::{SelectionArgs, WatchArgs};
use crate::commands::apply::{Execution, execute, report_text};
use crate::commands::connect::{self, Connection};
use crate::commands::plan::{options, outcome, status_of};
use crate::commands::{ExitStatus, diagnostics_of, painter, print_problems};
use crate::config;
use crate::diagnostic::{Code, Diagnostic};
use crate::health::{self, Health};
use crate::model::Desired;
use crate::plan::model::{ActionKind, Reason};
use crate::plan::{Options, Plan, render};
use crate::printer::Printer;
use crate::reconcile;
use crate::secrets_out::SecretsOut;
use crate::watch::{self, Outcome, Pass, Timing, Trigger, Why};

/// A webhook the platform keeps disabling is re-enabled at most this often.
const REENABLE_EVERY: Duration = Duration::from_hours(1);

pub async fn run(args: WatchArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let secrets_out = args
        .secrets_out
        .as_deref()
        .map(SecretsOut::open)
        .transpose()?;
    let health = Arc::new(Health::new());
    let _server = match args.health_addr {
        Some(address) => {
            let server = health::serve(address, health.clone())
                .await
                .with_context(|| format!("cannot serve --health-addr {address}"))?;
            printer.status(&format!(
                "Serving /healthz, /readyz and /metrics on http://{}.",
                server.address
            ));
            Some(server)
        }
        None => None,
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let (sender, mut triggers) = mpsc::channel(64);
    let _watcher = if args.once {
        None
    } else {
        Some(watch_files(&args.config.files, sender.clone())?)
    };
    let signals = {
        let interrupted = interrupted.clone();
        let printer = printer.clone();
        tokio::spawn(async move {
            crate::commands::signal::shutdown().await;
            // An apply in flight starts no new action; the loop ends after the pass.
            interrupted.store(true, Ordering::SeqCst);
            let _ = sender.send(Trigger::Shutdown).await;
            printer.warn(
                "stopping after the requests in flight; a second Ctrl-C or SIGTERM stops at once",
            );
            crate::commands::signal::shutdown().await;
            printer.error("stopped at once: the pass in flight did not finish");
            std::process::exit(1);
        })
    };
    let observer = {
        let health = health.clone();
        Observer(Some(Arc::new(move |status, took| {
            health.request(status, took);
        })))
    };
    let mut pass = WatchPass {
        args: &args,
        printer,
        last_good: None,
        connection: None,
        secrets_out,
        reenabled: BTreeMap::new(),
        interrupted: &interrupted,
        health: &health,
        observer,
        said: Said::default(),
        passes: 0,
        status: ExitStatus::Success,
    };
    if args.once {
        pass.run(Why::Start).await;
        signals.abort();
        return Ok(pass.status);
    }
    let timing = Timing {
        debounce: args.debounce,
        interval: args.interval,
        retry_base: Duration::from_secs(1),
        retry_cap: args.interval.max(Duration::from_secs(1)),
    };
    printer.status(&format!(
        "Watching the config{}; looking for drift {} after each pass. Ctrl-C to stop.",
        if args.apply { " and applying" } else { "" },
        humanise(args.interval)
    ));
    watch::run(&mut pass, &mut triggers, &timing).await;
    health.stopped();
    signals.abort();
    printer.status("Stopped.");
    Ok(ExitStatus::Success)
}

/// `5m`, `90s`, `1h30m`: the interval as it is written.
fn humanise(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            out.push_str(&format!("{n}{unit}"));
        }
    }
    if out.is_empty() {
        format!("{}ms", duration.as_millis())
    } else {
        out
    }
}

/// Watches the folders of the config files (not recursive) and sends `ConfigChanged` for
/// events on the config's files.
fn watch_files(
    inputs: &[PathBuf],
    sender: mpsc::Sender<Trigger>,
) -> anyhow::Result<notify::RecommendedWatcher> {
    let inputs: Vec<PathBuf> = if inputs.is_empty() {
        vec![PathBuf::from(config::sources::DEFAULT_FILE)]
    } else {
        inputs.to_vec()
    };
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    let mut folders: BTreeSet<PathBuf> = BTreeSet::new();
    for input in &inputs {
        let input = absolute(input);
        if input.is_dir() {
            folders.insert(input);
        } else {
            folders.insert(
                input
                    .parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            );
            files.insert(input);
        }
    }
    // A Kubernetes ConfigMap volume updates by swapping its `..data` link: the files named in
    // the folder (links into `..data`) change all at once, and no event names them.
    let configmap_swap = |path: &Path| path.file_name().is_some_and(|n| n == "..data");
    let matches = {
        let (files, folders) = (files.clone(), folders.clone());
        move |path: &Path| {
            (configmap_swap(path) && path.parent().is_some_and(|p| folders.contains(p)))
                || files.contains(path)
                || (path.parent().is_some_and(|p| {
                    folders.contains(p) && !files.iter().any(|f| f.parent() == Some(p))
                }) && path.extension().is_some_and(|e| e == "yaml" || e == "yml")
                    && !path
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.')))
        }
    };
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Reads (ours, each pass) and metadata changes are not edits.
        let edit = |kind: &EventKind| {
            matches!(kind, EventKind::Create(_) | EventKind::Remove(_) | EventKind::Any | EventKind::Other)
                || matches!(kind, EventKind::Modify(change) if !matches!(change, ModifyKind::Metadata(_)))
        };
        if let Ok(event) = event
            && edit(&event.kind)
            && event.paths.iter().any(|p| matches(p))
        {
            // A full channel already holds a change: dropping this one loses nothing.
            let _ = sender.try_send(Trigger::ConfigChanged);
        }
    })
    .context("cannot watch the config files")?;
    for folder in &folders {
        watcher
            .watch(folder, RecursiveMode::NonRecursive)
            .with_context(|| format!("cannot watch {}", folder.display()))?;
    }
    Ok(watcher)
}

struct WatchPass<'a> {
    args: &'a WatchArgs,
    printer: &'a Printer,
    /// The last config that loaded without problems: in force while the files are invalid.
    last_good: Option<Desired>,
    /// Kept across passes: tokens are reused.
    connection: Option<Connection>,
    secrets_out: Option<SecretsOut>,
    /// When each webhook (organization, name) was last re-enabled by this watch, and the
    /// wall-clock time it may be re-enabled again.
    reenabled: BTreeMap<(String, String), (Instant, OffsetDateTime)>,
    interrupted: &'a AtomicBool,
    health: &'a Health,
    /// Tells `health` of every request.
    observer: Observer,
    /// What was last reported, so the same is not reported in full every pass.
    said: Said,
    /// Passes so far (the id of the next one's log span).
    passes: u64,
    /// The exit status of the latest pass, as plan and apply would exit (`--once`).
    status: ExitStatus,
}

/// What a watch reported last, by kind: the same thing again is a one-line reminder.
#[derive(Debug, Default)]
struct Said {
    /// The problems of an invalid config.
    invalid_config: Option<Vec<Diagnostic>>,
    /// Why the platform could not be used.
    outage: Option<Vec<Diagnostic>>,
    /// The problems of the latest plan that had no actions.
    quiet_plan: Option<Vec<Diagnostic>>,
}

/// Reports `problems` on stderr in full the first time, and as a one-line `reminder` when
/// they are the same as `last` time; remembers them. stdout gets the pass's one line either
/// way, so every pass shows there once.
fn say_once(
    printer: &Printer,
    last: &mut Option<Vec<Diagnostic>>,
    problems: Vec<Diagnostic>,
    head: &str,
    reminder: &str,
) {
    if last.as_ref() == Some(&problems) {
        printer.result(&format!("{reminder}\n"));
    } else {
        printer.result(&format!("{head} (the problems are on stderr)\n"));
        printer.error(head);
        print_problems(&problems, printer);
        *last = Some(problems);
    }
}

fn why_text(why: Why) -> &'static str {
    match why {
        Why::Start => "start",
        Why::ConfigChanged => "config changed",
        Why::Interval => "interval",
        Why::Retry => "retry after an outage",
    }
}

/// Bounded label values for the metrics.
fn why_label(why: Why) -> &'static str {
    match why {
        Why::Start => "start",
        Why::ConfigChanged => "config",
        Why::Interval => "interval",
        Why::Retry => "retry",
    }
}

fn outcome_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Done => "done",
        Outcome::InvalidConfig => "invalid_config",
        Outcome::Outage => "outage",
    }
}

fn now_text() -> String {
    OffsetDateTime::now_utc()
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_default()
}

impl Pass for WatchPass<'_> {
    async fn run(&mut self, why: Why) -> Outcome {
        self.passes += 1;
        let span = tracing::info_span!("pass", id = self.passes, trigger = why_label(why));
        let started = Instant::now();
        self.health.pass_started();
        let outcome = self.run_pass(why).instrument(span.clone()).await;
        let took = started.elapsed();
        span.in_scope(|| {
            tracing::info!(
                outcome = outcome_label(outcome),
                duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
                "pass {} ended: {}",
                self.passes,
                outcome_label(outcome)
            );
        });
        self.health.pass_finished(
            why_label(why),
            outcome_label(outcome),
            outcome == Outcome::Done,
            took,
        );
        if outcome != Outcome::Done {
            self.status = self.status.combine(ExitStatus::Failure);
        }
        outcome
    }
}

impl WatchPass<'_> {
    async fn run_pass(&mut self, why: Why) -> Outcome {
        self.status = ExitStatus::Success;
        let header = format!("{} · {}", now_text(), why_text(why));
        match config::load(&self.args.config.files, &|name| std::env::var(name).ok()) {
            Ok(desired) => {
                self.health.config_valid(true);
                self.said.invalid_config = None;
                self.last_good = Some(desired);
            }
            Err(err) => {
                self.health.config_valid(false);
                let keep =
                    !matches!(why, Why::Start | Why::ConfigChanged) && self.last_good.is_some();
                let count = err.problems.len();
                say_once(
                    self.printer,
                    &mut self.said.invalid_config,
                    err.problems,
                    &format!(
                        "{header}: the config is invalid ({count} problem{}); {}",
                        if count == 1 { "" } else { "s" },
                        if self.last_good.is_some() {
                            "the last valid one stays in force"
                        } else {
                            "nothing is planned until it is fixed"
                        }
                    ),
                    &format!(
                        "{header}: the config is still invalid, with the same {count} problem{} as before; {}",
                        if count == 1 { "" } else { "s" },
                        if self.last_good.is_some() {
                            "the last valid one stays in force"
                        } else {
                            "nothing is planned until it is fixed"
                        }
                    ),
                );
                if !keep {
                    return Outcome::InvalidConfig;
                }
            }
        }
        let desired = self.last_good.clone().expect("a valid config");
        let selection = SelectionArgs {
            targets: self.args.targets.clone(),
            prune: self.args.prune,
            ..SelectionArgs::default()
        };
        let options = match options(&selection, &desired) {
            Ok(options) => options,
            Err(problem) => {
                print_problems(&[problem], self.printer);
                return Outcome::InvalidConfig;
            }
        };
        self.pass(&header, &desired, &options).await
    }

    /// An outage: reported in full once, then a one-line reminder each retry.
    fn outage(&mut self, header: &str, err: &anyhow::Error) -> Outcome {
        say_once(
            self.printer,
            &mut self.said.outage,
            diagnostics_of(err),
            &format!("{header}: the platform cannot be used; retrying with backoff"),
            &format!("{header}: the platform still cannot be used (the same error); retrying"),
        );
        Outcome::Outage
    }

    async fn pass(&mut self, header: &str, desired: &Desired, options: &Options) -> Outcome {
        if self.connection.is_none() {
            match connect::connect_observed(
                &self.args.connection,
                usize::from(self.args.parallelism),
                self.printer,
                &self.observer,
            )
            .await
            {
                Ok(connection) => self.connection = Some(connection),
                Err(err) => return self.outage(header, &err),
            }
        }
        let connection = self.connection.take().expect("connected");
        let outcome = self
            .plan_and_apply(header, &connection, desired, options)
            .await;
        self.connection = Some(connection);
        outcome
    }

    async fn plan_and_apply(
        &mut self,
        header: &str,
        connection: &Connection,
        desired: &Desired,
        options: &Options,
    ) -> Outcome {
        let session = &connection.session;
        session.start_pass();
        let planned = match reconcile::plan_online(session, desired, options).await {
            Ok(planned) => planned,
            Err(err) => return self.outage(header, &err.into()),
        };
        let mut plan = planned.plan;
        // Names the platform does not know (or a role that may not manage webhooks) make the
        // config invalid, like a typo in the files; a failed read is an outage.
        let read_failed = plan.problems.iter().any(|p| p.code == Code::ReadError);
        let invalid = plan
            .problems
            .iter()
            .any(|p| p.is_error() && (p.code.is_config() || p.code == Code::RoleForbidden));
        if !read_failed {
            self.said.outage = None;
        }
        for org in &plan.organizations {
            self.health.drift(&org.slug, org.actions.len());
        }
        if self.args.apply {
            self.hold_back_reenables(&mut plan);
        }
        self.status = if self.show(header, &plan) {
            outcome(&plan, false, self.printer)
        } else {
            status_of(&plan, false)
        };
        if invalid {
            return Outcome::InvalidConfig;
        }
        if read_failed {
            return Outcome::Outage;
        }
        if !self.args.apply || !plan.has_actions() {
            return Outcome::Done;
        }
        if self.status != ExitStatus::Success {
            self.printer
                .warn("not applied (watch never forces); waiting for the next change");
            return Outcome::Done;
        }
        let how = Execution {
            session,
            secrets_out: self.secrets_out.as_ref(),
            dry_run: false,
            parallelism: usize::from(self.args.parallelism),
            interrupted: self.interrupted,
            printer: self.printer,
        };
        let applied = execute(&plan, &planned.read, &how).await;
        self.printer
            .result(&report_text(&applied, false, self.printer));
        let now = Instant::now();
        let again = OffsetDateTime::now_utc() + REENABLE_EVERY;
        for action in &applied.actions {
            self.health.action(
                &action.organization,
                action.action.as_str(),
                action.status.as_str(),
            );
            if action.status == Status::Applied && action.reason == Reason::Reenable {
                self.reenabled.insert(
                    (action.organization.clone(), action.webhook.clone()),
                    (now, again),
                );
            }
        }
        if applied.count(Status::Failed) > 0 || applied.interrupted {
            self.status = ExitStatus::Failure;
        }
        Outcome::Done
    }

    /// Prints the plan under the pass's header, or one line when it has nothing new: no
    /// actions, and no problems but the ones the last such pass had. Whether it printed the
    /// whole plan (and so its problems belong on stderr again).
    fn show(&mut self, header: &str, plan: &Plan) -> bool {
        if plan.has_actions() {
            self.said.quiet_plan = None;
        } else {
            let webhooks = plan.summary.unchanged;
            let organizations = plan.organizations.len();
            if plan.problems.is_empty() {
                self.said.quiet_plan = Some(Vec::new());
                self.printer.result(&format!(
                    "{header}: No changes. Live webhooks match the config ({organizations} organization{}, {webhooks} webhook{}).\n",
                    if organizations == 1 { "" } else { "s" },
                    if webhooks == 1 { "" } else { "s" }
                ));
                return false;
            }
            if self.said.quiet_plan.as_ref() == Some(&plan.problems) {
                self.printer.result(&format!(
                    "{header}: no changes; the same {} problem{} as before\n",
                    plan.problems.len(),
                    if plan.problems.len() == 1 { "" } else { "s" }
                ));
                return false;
            }
            self.said.quiet_plan = Some(plan.problems.clone());
        }
        self.printer.result(&format!(
            "\n=== {header} ===\n{}",
            render::text(plan, &painter(self.printer))
        ));
        true
    }

    /// Leaves out re-enables of webhooks this watch re-enabled less than an hour ago, and
    /// says so in the plan instead of claiming they will be re-enabled.
    fn hold_back_reenables(&self, plan: &mut Plan) {
        let now = Instant::now();
        for org in &mut plan.organizations {
            let slug = org.slug.clone();
            let mut held = Vec::new();
            org.actions.retain(|action| {
                let last = (action.action == ActionKind::Update
                    && action.reason == Reason::Reenable)
                    .then(|| self.reenabled.get(&(slug.clone(), action.webhook.clone())))
                    .flatten()
                    .filter(|(at, _)| now.duration_since(*at) < REENABLE_EVERY);
                if let Some((_, again)) = last {
                    held.push((action.webhook.clone(), *again));
                }
                last.is_none()
            });
            for (name, again) in held {
                let claim = format!("`{name}` is disabled on the platform");
                let again = again
                    .format(format_description!("[hour]:[minute] UTC"))
                    .unwrap_or_default();
                let warning = format!(
                    "`{name}` is disabled on the platform again (failed deliveries?); this watch re-enabled it less than an hour ago, so it stays disabled for now (re-enabled again at {again} at the earliest)"
                );
                org.warnings.retain(|w| !w.starts_with(&claim));
                org.warnings.push(warning.clone());
                org.problems
                    .retain(|p| !(p.code == Code::PlanWarning && p.message.starts_with(&claim)));
                org.problems.push(
                    Diagnostic::warning(Code::PlanWarning, warning).in_organization(slug.as_str()),
                );
                org.problems.sort();
            }
        }
        plan.summary = crate::plan::planner::summarise(&plan.organizations);
        let mut problems: Vec<Diagnostic> = plan
            .problems
            .iter()
            .filter(|p| p.organization.is_none())
            .chain(plan.organizations.iter().flat_map(|o| o.problems.iter()))
            .cloned()
            .collect();
        problems.sort();
        plan.problems = problems;
    }
}
