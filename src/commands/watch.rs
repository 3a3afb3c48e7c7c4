//! `vntana-webhooks watch`: the watch loop (`crate::watch`) fed by the config files' events
//! (notify; the folders holding them are watched, so an editor's write-then-rename save is
//! seen), an interval ticker and Ctrl-C/SIGTERM; and the pass it runs: reload the config
//! (keeping the last good one when it is invalid), plan with the session kept across passes,
//! print the plan under a timestamped header, and with `--apply` apply it under apply's
//! safety rules (never forced), re-enabling a webhook the platform keeps disabling at most
//! once an hour.

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

use crate::apply::Status;
use crate::cli::{SelectionArgs, WatchArgs};
use crate::commands::apply::{Execution, execute, report_text};
use crate::commands::connect::{self, Connection};
use crate::commands::plan::{options, outcome};
use crate::commands::{ExitStatus, print_problems, report};
use crate::config;
use crate::diagnostic::Code;
use crate::model::Desired;
use crate::plan::model::{ActionKind, Reason};
use crate::plan::{Options, render};
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
    let (sender, mut triggers) = mpsc::channel(64);
    let _watcher = watch_files(&args.config.files, sender.clone())?;
    let interrupted = Arc::new(AtomicBool::new(false));
    let ticker = {
        let sender = sender.clone();
        let interval = args.interval;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval_at(Instant::now() + interval, interval);
            loop {
                ticks.tick().await;
                if sender.send(Trigger::Tick).await.is_err() {
                    return;
                }
            }
        })
    };
    let signals = {
        let interrupted = interrupted.clone();
        tokio::spawn(async move {
            crate::commands::signal::shutdown().await;
            // An apply in flight starts no new action; the loop ends after the pass.
            interrupted.store(true, Ordering::SeqCst);
            let _ = sender.send(Trigger::Shutdown).await;
        })
    };
    let mut pass = WatchPass {
        args: &args,
        printer,
        last_good: None,
        connection: None,
        secrets_out,
        reenabled: BTreeMap::new(),
        interrupted: &interrupted,
    };
    let timing = Timing {
        debounce: args.debounce,
        retry_base: Duration::from_secs(1),
        retry_cap: args.interval.max(Duration::from_secs(1)),
    };
    printer.status(&format!(
        "Watching the config{}; planning every {}s. Ctrl-C to stop.",
        if args.apply { " and applying" } else { "" },
        args.interval.as_secs()
    ));
    watch::run(&mut pass, &mut triggers, &timing).await;
    ticker.abort();
    signals.abort();
    printer.status("Stopped.");
    Ok(ExitStatus::Success)
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
    let matches = {
        let (files, folders) = (files.clone(), folders.clone());
        move |path: &Path| {
            files.contains(path)
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
    /// When each webhook (organization, name) was last re-enabled by this watch.
    reenabled: BTreeMap<(String, String), Instant>,
    interrupted: &'a AtomicBool,
}

fn why_text(why: Why) -> &'static str {
    match why {
        Why::Start => "start",
        Why::ConfigChanged => "config changed",
        Why::Interval => "interval",
        Why::Retry => "retry after an outage",
    }
}

impl Pass for WatchPass<'_> {
    async fn run(&mut self, why: Why) -> Outcome {
        let now = OffsetDateTime::now_utc()
            .format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .unwrap_or_default();
        self.printer
            .result(&format!("\n=== {now} · {} ===\n", why_text(why)));
        match config::load(&self.args.config.files, &|name| std::env::var(name).ok()) {
            Ok(desired) => self.last_good = Some(desired),
            Err(err) => {
                report(&anyhow::Error::from(err), self.printer);
                if matches!(why, Why::Start | Why::ConfigChanged) || self.last_good.is_none() {
                    self.printer.warn("the config is invalid: nothing is planned from it; waiting for the next change");
                    return Outcome::InvalidConfig;
                }
                self.printer
                    .warn("the config is invalid: planning with the last valid one");
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
        self.pass(&desired, &options).await
    }
}

impl WatchPass<'_> {
    async fn pass(&mut self, desired: &Desired, options: &Options) -> Outcome {
        if self.connection.is_none() {
            match connect::connect(
                &self.args.connection,
                usize::from(self.args.parallelism),
                self.printer,
            )
            .await
            {
                Ok(connection) => self.connection = Some(connection),
                Err(err) => {
                    report(
                        &err.context("the platform cannot be reached; retrying"),
                        self.printer,
                    );
                    return Outcome::Outage;
                }
            }
        }
        let session = &self.connection.as_ref().expect("connected").session;
        session.start_pass();
        let planned = match reconcile::plan_online(session, desired, options).await {
            Ok(planned) => planned,
            Err(err) => {
                report(
                    &anyhow::Error::from(err).context("the platform cannot be read; retrying"),
                    self.printer,
                );
                return Outcome::Outage;
            }
        };
        let mut plan = planned.plan;
        // Names the platform does not know (or a role that may not manage webhooks) make the
        // config invalid, like a typo in the files; a failed read is an outage.
        let read_failed = plan.problems.iter().any(|p| p.code == Code::ReadError);
        let invalid = plan
            .problems
            .iter()
            .any(|p| p.is_error() && (p.code.is_config() || p.code == Code::RoleForbidden));
        self.printer.result(&render::text(&plan, &|style, text| {
            self.printer.paint(style, text)
        }));
        if invalid {
            outcome(&plan, false, self.printer);
            return Outcome::InvalidConfig;
        }
        if read_failed {
            outcome(&plan, false, self.printer);
            return Outcome::Outage;
        }
        if !self.args.apply || !plan.has_actions() {
            return Outcome::Done;
        }
        if outcome(&plan, false, self.printer) != ExitStatus::Success {
            self.printer
                .warn("not applied (watch never forces); waiting for the next change");
            return Outcome::Done;
        }
        self.hold_back_reenables(&mut plan);
        if !plan.has_actions() {
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
        for action in applied
            .actions
            .iter()
            .filter(|a| a.status == Status::Applied && a.reason == Reason::Reenable)
        {
            self.reenabled
                .insert((action.organization.clone(), action.webhook.clone()), now);
        }
        Outcome::Done
    }

    /// Leaves out re-enables of webhooks this watch re-enabled less than an hour ago.
    fn hold_back_reenables(&self, plan: &mut crate::plan::Plan) {
        let now = Instant::now();
        for org in &mut plan.organizations {
            let slug = org.slug.clone();
            org.actions.retain(|action| {
                let recent = action.action == ActionKind::Update
                    && action.reason == Reason::Reenable
                    && self
                        .reenabled
                        .get(&(slug.clone(), action.webhook.clone()))
                        .is_some_and(|at| now.duration_since(*at) < REENABLE_EVERY);
                if recent {
                    self.printer.warn(&format!(
                        "{slug}/{}: the platform disabled it again (failed deliveries?); it is re-enabled at most once an hour",
                        action.webhook
                    ));
                }
                !recent
            });
        }
        plan.summary = crate::plan::planner::summarise(&plan.organizations);
    }
}
