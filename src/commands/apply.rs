//! `vntana-webhooks apply [PLANFILE]`: plan (or load a saved plan and refuse it if anything
//! it relied on changed), show the plan, confirm, execute, report every action's outcome, and
//! re-read to say whether a new plan would be empty. Exit 1 if any action failed, the run was
//! interrupted, or the plan has errors or conflicts (nothing applied); 3 for a safety refusal
//! (nothing applied).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::Context;
use serde_json::json;

use crate::apply::{ActionOutcome, ApplyReport, Executor, Status};
use crate::cli::{ApplyArgs, SelectionArgs, TextOrJson};
use crate::commands::plan::{options, outcome};
use crate::commands::{ExitStatus, connect, diagnostics_of, painter, report};
use unicode_width::UnicodeWidthStr;

use crate::config::chars::escaped;
use crate::config::{self, ConfigError};
use crate::live::LiveRead;
use crate::model::Desired;
use crate::plan::file::{SavedPlan, SavedPlanError, desired_digest};
use crate::plan::{Options, Plan, render};
use crate::printer::Printer;
use crate::reconcile;
use crate::resolve;
use crate::secrets_out::SecretsOut;

/// What `apply` works from: the plan, the live read it was made from, and the config and
/// options it was made with (a saved plan's own).
struct Prepared {
    plan: Plan,
    read: LiveRead,
    desired: Desired,
    options: Options,
    saved: bool,
}

pub async fn run(args: ApplyArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let json_report = args.format == TextOrJson::Json;
    match apply(&args, printer).await {
        // `--format json` prints its report whatever happens, the problems in it.
        Err(err) if json_report => {
            let plan = Plan::failed(diagnostics_of(&err));
            printer.result(&report_json(&ApplyReport::default(), None, &plan));
            report(&err, printer);
            Ok(ExitStatus::Failure)
        }
        other => other,
    }
}

async fn apply(args: &ApplyArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    // Everything that can be checked without the platform is checked first.
    let secrets_out = args
        .secrets_out
        .as_deref()
        .map(SecretsOut::open)
        .transpose()?;
    let saved = load_saved_plan(args)?;
    // A saved plan's own config, checked by every rule of a config file before any request.
    let saved = match saved {
        Some(saved) => {
            let desired =
                saved
                    .desired(&|name| std::env::var(name).ok())
                    .map_err(|err| match err {
                        SavedPlanError::Config(config) => anyhow::Error::from(config),
                        other => other.into(),
                    })?;
            Some((saved, desired))
        }
        None => None,
    };
    let desired = match (&saved, args.config.files.is_empty()) {
        (Some(_), true) => None,
        _ => Some(config::load(&args.config.files, &|name| {
            std::env::var(name).ok()
        })?),
    };
    if let (Some((saved, _)), Some(desired)) = (&saved, &desired)
        && saved.desired_digest != desired_digest(desired)
    {
        anyhow::bail!(
            "the config given with -f differs from the one the saved plan was made from; plan again"
        );
    }
    let connection =
        connect::connect(&args.connection, usize::from(args.parallelism), printer).await?;
    let session = &connection.session;
    let prepared = prepare(args, saved, desired, session).await?;
    let Prepared {
        plan,
        read,
        desired,
        options,
        saved,
    } = prepared;
    let json_report = args.format == TextOrJson::Json;
    // `-q` is results and errors only: the plan is shown when someone must approve it.
    let approving = !args.dry_run && !args.auto_approve && !saved;
    if !json_report && (!printer.is_quiet() || approving) {
        printer.result(&render::text(&plan, &painter(printer)));
    }
    if json_report && (plan.has_errors() || plan.is_refused() || !plan.has_actions()) {
        let converged = (!plan.has_errors() && !plan.is_refused()).then_some(true);
        printer.result(&report_json(&ApplyReport::default(), converged, &plan));
    }
    let blocked = outcome(&plan, false, printer);
    if blocked != ExitStatus::Success {
        return Ok(blocked);
    }
    if !plan.has_actions() {
        return Ok(ExitStatus::Success);
    }
    if approving {
        if !printer.is_interactive() {
            anyhow::bail!(
                "stdin is not a terminal, so apply cannot ask for approval: pass --auto-approve (or apply a saved plan)"
            );
        }
        if !printer.confirm("Apply? [y/N]") {
            printer.error("apply cancelled; nothing was changed");
            return Ok(ExitStatus::Failure);
        }
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    let watcher = interrupt_on_signal(&interrupted, printer);
    let how = Execution {
        session,
        secrets_out: secrets_out.as_ref(),
        dry_run: args.dry_run,
        parallelism: usize::from(args.parallelism),
        interrupted: &interrupted,
        printer,
    };
    let report = execute(&plan, &read, &how).await;
    watcher.abort();
    // After applying, a fresh read tells whether the platform now matches the config.
    // (Not after an interruption: the user asked to stop.)
    let converged = if args.dry_run || report.interrupted {
        None
    } else {
        Some(replan(session, &desired, &options).await)
    };
    if json_report {
        printer.result(&report_json(
            &report,
            converged.as_ref().and_then(|c| c.as_ref().ok().copied()),
            &plan,
        ));
    } else {
        printer.result(&report_text(&report, args.dry_run, printer));
    }
    match converged {
        Some(Ok(true)) => {
            printer.status("A new plan would be empty: the platform matches the config.");
        }
        Some(Ok(false)) => printer
            .warn("a new plan would still have actions; run `vntana-webhooks plan` to see them"),
        Some(Err(err)) => printer.warn(&format!(
            "could not re-read the live state to check the result: {err:#}"
        )),
        None => {}
    }
    let failed = report.count(Status::Failed) > 0 || report.interrupted;
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn load_saved_plan(args: &ApplyArgs) -> anyhow::Result<Option<SavedPlan>> {
    let Some(path) = &args.plan_file else {
        return Ok(None);
    };
    let selection = &args.selection;
    if !selection.targets.is_empty()
        || selection.prune
        || !selection.rotate.is_empty()
        || selection.force
    {
        anyhow::bail!(
            "a saved plan carries its own --target, --prune, --rotate and --force; plan again to change them"
        );
    }
    Ok(Some(SavedPlan::read(path)?))
}

async fn prepare(
    args: &ApplyArgs,
    saved: Option<(SavedPlan, Desired)>,
    desired: Option<Desired>,
    session: &crate::api::Session,
) -> anyhow::Result<Prepared> {
    let invalid = |problem| ConfigError {
        problems: vec![problem],
    };
    if let Some((saved, desired)) = saved {
        // Planned again from the saved config, then held against the saved plan: what is
        // shown and executed is this plan, and only if it is exactly the saved one.
        let selection = SelectionArgs {
            targets: saved.targets.clone(),
            prune: saved.prune,
            rotate: saved.rotate.clone(),
            force: saved.force,
        };
        let options = options(&selection, &desired).map_err(invalid)?;
        let planned = reconcile::plan_online(session, &desired, &options).await?;
        let (_, with_folders) = reconcile::reads(&desired, &options);
        saved.verify(&planned.plan, &desired, &options, &with_folders)?;
        return Ok(Prepared {
            plan: planned.plan,
            read: planned.read,
            desired,
            options,
            saved: true,
        });
    }
    let desired = desired.expect("without a plan file the config is loaded");
    let options = options(&args.selection, &desired).map_err(invalid)?;
    let planned = reconcile::plan_online(session, &desired, &options).await?;
    Ok(Prepared {
        plan: planned.plan,
        read: planned.read,
        desired,
        options,
        saved: false,
    })
}

/// How to execute a plan.
pub(crate) struct Execution<'a> {
    pub session: &'a crate::api::Session,
    pub secrets_out: Option<&'a SecretsOut>,
    pub dry_run: bool,
    pub parallelism: usize,
    /// Set on Ctrl-C or SIGTERM: no new action starts.
    pub interrupted: &'a AtomicBool,
    pub printer: &'a Printer,
}

/// Executes `plan` with a progress line on a terminal.
pub(crate) async fn execute(plan: &Plan, read: &LiveRead, how: &Execution<'_>) -> ApplyReport {
    let printer = how.printer;
    let total: usize = plan.organizations.iter().map(|o| o.actions.len()).sum();
    let done = AtomicUsize::new(0);
    let show_progress = total > 5 && !how.dry_run;
    let progress = |outcome: &ActionOutcome| {
        let done = done.fetch_add(1, Ordering::SeqCst) + 1;
        if show_progress {
            printer.progress(Some(&format!(
                "Applying: {done}/{total} ({} {})",
                outcome.action.as_str(),
                escaped(&outcome.webhook)
            )));
        }
    };
    let catalogue = resolve::snapshot_catalogue(&read.snapshot);
    let executor = Executor {
        session: how.session,
        catalogue: &catalogue,
        secrets: &read.secrets,
        secrets_out: how.secrets_out,
        interrupted: how.interrupted,
        dry_run: how.dry_run,
        progress: &progress,
        slots: tokio::sync::Semaphore::new(how.parallelism),
    };
    let report = executor.run(plan).await;
    if show_progress {
        printer.progress(None);
    }
    report
}

/// Sets `interrupted` on Ctrl-C or SIGTERM, with a warning; abort the task when done.
pub(crate) fn interrupt_on_signal(
    interrupted: &Arc<AtomicBool>,
    printer: &Printer,
) -> tokio::task::JoinHandle<()> {
    let interrupted = interrupted.clone();
    let printer = printer.clone();
    tokio::spawn(async move {
        crate::commands::signal::shutdown().await;
        interrupted.store(true, Ordering::SeqCst);
        printer.progress(None);
        printer.warn("interrupted: no new action starts; finishing the requests in flight");
    })
}

async fn replan(
    session: &crate::api::Session,
    desired: &Desired,
    options: &Options,
) -> anyhow::Result<bool> {
    let options = Options {
        force: true,
        rotate: BTreeSet::new(),
        ..options.clone()
    };
    let planned = reconcile::plan_online(session, desired, &options)
        .await
        .context("re-planning")?;
    Ok(!planned.plan.has_actions())
}

/// `text` followed by spaces up to `width` display columns.
fn pad(text: &str, width: usize) -> String {
    format!("{text}{}", " ".repeat(width.saturating_sub(text.width())))
}

pub(crate) fn report_text(report: &ApplyReport, dry_run: bool, printer: &Printer) -> String {
    let mut out = String::new();
    if dry_run {
        let _ = writeln!(
            out,
            "\nDry run: the requests apply would send (nothing was sent):"
        );
        for outcome in &report.actions {
            for request in &outcome.requests {
                let _ = writeln!(
                    out,
                    "  {} {}: {}",
                    escaped(&outcome.organization),
                    escaped(&outcome.webhook),
                    escaped(request)
                );
            }
        }
        return out;
    }
    // Columns by display width (an emoji is two columns, an accent none), of the text as
    // printed: escaped.
    let organizations: Vec<String> = report
        .actions
        .iter()
        .map(|a| escaped(&a.organization).into_owned())
        .collect();
    let webhooks: Vec<String> = report
        .actions
        .iter()
        .map(|a| escaped(&a.webhook).into_owned())
        .collect();
    let widest = |names: &[String], least: usize| {
        names
            .iter()
            .map(|n| n.width())
            .max()
            .unwrap_or(0)
            .max(least)
    };
    let (org_width, name_width) = (widest(&organizations, 12), widest(&webhooks, 7));
    let _ = writeln!(out, "\nApply report:");
    let _ = writeln!(
        out,
        "  {}  {:6}  {}  RESULT",
        pad("ORGANIZATION", org_width),
        "ACTION",
        pad("WEBHOOK", name_width)
    );
    for ((outcome, organization), webhook) in
        report.actions.iter().zip(&organizations).zip(&webhooks)
    {
        let result = match outcome.status {
            Status::Applied => printer.paint(crate::printer::Style::Green, "applied"),
            Status::Failed => printer.paint(crate::printer::Style::Red, "failed"),
            Status::Skipped => printer.paint(crate::printer::Style::Yellow, "skipped"),
            Status::DryRun => "dry run".to_owned(),
        };
        // Names and messages can carry text from the platform: data, never terminal control.
        let detail = outcome
            .message
            .as_deref()
            .map(|m| format!(": {}", escaped(m)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}  {:6}  {}  {result}{detail}",
            pad(organization, org_width),
            outcome.action.as_str(),
            pad(webhook, name_width)
        );
    }
    let (applied, failed, skipped) = (
        report.count(Status::Applied),
        report.count(Status::Failed),
        report.count(Status::Skipped),
    );
    let _ = write!(
        out,
        "\nApplied {applied} of {} actions",
        report.actions.len()
    );
    if failed > 0 {
        let _ = write!(out, "; {failed} failed");
    }
    if skipped > 0 {
        let _ = write!(out, "; {skipped} not started (interrupted)");
    }
    out.push_str(".\n");
    out
}

/// The JSON report: the plan (with every problem, per organization too), each action's
/// outcome, and whether a new plan would be empty.
fn report_json(report: &ApplyReport, converged: Option<bool>, plan: &Plan) -> String {
    let value = json!({
        "formatVersion": 1,
        "problems": plan.problems,
        "plan": plan,
        "actions": report.actions,
        "interrupted": report.interrupted,
        "summary": {
            "applied": report.count(Status::Applied),
            "failed": report.count(Status::Failed),
            "skipped": report.count(Status::Skipped),
            "dryRun": report.count(Status::DryRun),
        },
        "converged": converged,
    });
    let mut text = serde_json::to_string_pretty(&value).expect("JSON serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::ActionOutcome;
    use crate::plan::model::{ActionKind, Reason};
    use crate::printer::ColorChoice;

    fn outcome(organization: &str, webhook: &str) -> ActionOutcome {
        ActionOutcome {
            organization: organization.to_owned(),
            action: ActionKind::Create,
            webhook: webhook.to_owned(),
            uuid: None,
            reason: Reason::New,
            status: Status::Applied,
            message: None,
            codes: Vec::new(),
            requests: Vec::new(),
        }
    }

    #[test]
    fn the_report_s_columns_align_by_display_width() {
        let report = ApplyReport {
            actions: vec![outcome("acme-3d", "🦀🦀-crab"), outcome("acme-3d", "plain")],
            interrupted: false,
        };
        let printer = Printer::new(false, 0, ColorChoice::Never, true);
        let text = report_text(&report, false, &printer);
        let columns: Vec<usize> = text
            .lines()
            .filter(|l| l.contains("applied") || l.contains("RESULT"))
            .map(|l| {
                let at = l.find("applied").or_else(|| l.find("RESULT")).unwrap();
                l[..at].width()
            })
            .collect();
        assert_eq!(columns.len(), 3, "{text}");
        assert!(columns.iter().all(|c| *c == columns[0]), "{text}");
    }
}
