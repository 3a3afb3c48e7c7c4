//! `vntana-webhooks plan`: read, resolve, plan, print. The plan goes to stdout in the chosen
//! format, its problems with it (a plan that could not be made at all is still printed, with
//! only its problems, so machine output is never empty); stderr ends with one line per
//! problem. Exit codes: 1 for config problems, read errors or conflicts (the plan is still
//! printed), 3 when only safety guards refuse, 2 with `--detailed-exitcode` when there are
//! actions, else 0.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::Context;

use crate::annotations;
use crate::cli::{PlanArgs, PlanFormat, SelectionArgs};
use crate::commands::{ExitStatus, connect, diagnostics_of, painter, print_problems};
use crate::config;
use crate::diagnostic::{Code, Diagnostic};
use crate::live::LiveSnapshot;
use crate::model::Desired;
use crate::plan::file::SavedPlan;
use crate::plan::model::OrganizationPlan;
use crate::plan::{Options, Plan, Target, render};
use crate::printer::Printer;
use crate::reconcile;

pub async fn run(args: PlanArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let (plan, made) = match make(&args, printer).await {
        Ok((plan, desired, options)) => (plan, Some((desired, options))),
        Err(problems) => (Plan::failed(problems), None),
    };
    printer.result(&render_as(args.format, &plan, &args.config.files, printer));
    if let Some(out) = &args.out {
        match &made {
            Some((desired, options)) if !plan.has_errors() && !plan.is_refused() => {
                let salt = hex::encode(rand::random::<[u8; 16]>());
                let (_, with_folders) = reconcile::reads(desired, options);
                let saved = SavedPlan::new(&plan, desired, options, &with_folders, &salt);
                crate::atomic_file::write(out, saved.to_json().as_bytes())
                    .with_context(|| format!("cannot write the plan file {}", out.display()))?;
                printer.status(&format!(
                    "Saved the plan to {}; apply exactly it with `vntana-webhooks apply {}`.",
                    out.display(),
                    out.display()
                ));
            }
            _ => printer.warn(&format!(
                "no plan file written to {}: the plan has problems",
                out.display()
            )),
        }
    }
    Ok(outcome(&plan, args.detailed_exitcode, printer))
}

/// Loads, reads and plans; what stops it before a plan exists comes back as problems.
async fn make(
    args: &PlanArgs,
    printer: &Printer,
) -> Result<(Plan, Desired, Options), Vec<Diagnostic>> {
    let desired = config::load(&args.config.files, &|name| std::env::var(name).ok())
        .map_err(|err| err.problems)?;
    let options = options(&args.selection, &desired).map_err(|problem| vec![problem])?;
    let plan = if let Some(path) = &args.live {
        let snapshot = LiveSnapshot::read(path).map_err(|err| {
            diagnostics_of(
                &anyhow::Error::from(err)
                    .context(format!("cannot use the live snapshot {}", path.display())),
            )
        })?;
        reconcile::plan_snapshot(&desired, &snapshot, &options)
    } else {
        let connection = connect::connect(&args.connection, usize::from(args.parallelism), printer)
            .await
            .map_err(|err| diagnostics_of(&err))?;
        reconcile::plan_online(&connection.session, &desired, &options)
            .await
            .map_err(|err| diagnostics_of(&err.into()))?
            .plan
    };
    Ok((plan, desired, options))
}

/// The plan in `format`, for stdout.
pub(crate) fn render_as(
    format: PlanFormat,
    plan: &Plan,
    files: &[PathBuf],
    printer: &Printer,
) -> String {
    let text = || render::text(plan, &painter(printer));
    match format {
        PlanFormat::Text => text(),
        PlanFormat::Json => render::json(plan),
        PlanFormat::Markdown => render::markdown(plan),
        PlanFormat::Github => annotations::github(&plan.problems) + &text(),
        PlanFormat::Gitlab => annotations::gitlab(&plan.problems, &fallback_file(files)),
    }
}

/// The file a problem without a place is reported at: the first config input.
pub(crate) fn fallback_file(files: &[PathBuf]) -> String {
    files.first().map_or_else(
        || config::sources::DEFAULT_FILE.to_owned(),
        |f| f.display().to_string(),
    )
}

/// The options of the command line, checked against the config.
pub(crate) fn options(selection: &SelectionArgs, desired: &Desired) -> Result<Options, Diagnostic> {
    let invalid = |message: String| Diagnostic::error(Code::InvalidSelection, message);
    let mut targets = Vec::new();
    for target in &selection.targets {
        let parsed = match target.split_once('/') {
            Some((org, name)) => Target::Webhook(org.to_owned(), name.to_owned()),
            None => Target::Organization(target.clone()),
        };
        let (Target::Organization(org) | Target::Webhook(org, _)) = &parsed;
        if !desired.organizations.contains_key(org) {
            let known = desired.organizations.keys().map(String::as_str);
            return Err(invalid(format!(
                "--target {target}: `{org}` is not an organization of the config"
            ))
            .with_suggestion(crate::suggest::closest(org, known)));
        }
        targets.push(parsed);
    }
    let mut rotate = BTreeSet::new();
    for item in &selection.rotate {
        let Some((org, name)) = item.split_once('/') else {
            return Err(invalid(format!("--rotate {item}: expected ORG/NAME")));
        };
        let known = desired
            .organizations
            .get(org)
            .is_some_and(|o| o.webhooks.contains_key(name));
        if !known {
            return Err(invalid(format!(
                "--rotate {item}: the config has no webhook `{name}` in organization `{org}`"
            )));
        }
        rotate.insert((org.to_owned(), name.to_owned()));
    }
    Ok(Options {
        prune: selection.prune,
        rotate,
        targets,
        force: selection.force,
    })
}

/// The exit status of a plan, as plan and apply exit (product.md, "Exit codes").
pub(crate) fn status_of(plan: &Plan, detailed: bool) -> ExitStatus {
    let status = if detailed && plan.has_actions() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    };
    if plan.has_errors() {
        status.combine(ExitStatus::Failure)
    } else if plan.is_refused() {
        status.combine(ExitStatus::Refused)
    } else {
        status
    }
}

/// The exit status of a printed plan. When it cannot be applied, stderr says why and how to
/// proceed, then ends with one line per problem.
pub(crate) fn outcome(plan: &Plan, detailed: bool, printer: &Printer) -> ExitStatus {
    let status = status_of(plan, detailed);
    let (blocked, free): (Vec<&OrganizationPlan>, Vec<&OrganizationPlan>) = plan
        .organizations
        .iter()
        .partition(|o| !o.errors.is_empty() || !o.conflicts.is_empty() || !o.refused_by.is_empty());
    if blocked.is_empty() && !plan.has_errors() {
        return status;
    }
    // All or nothing (product.md, "Planning"): name the way out, the exact --target flags
    // for the organizations that could proceed alone.
    let mut head = if plan.organizations.is_empty() {
        "no plan could be made; nothing was changed".to_owned()
    } else {
        let names: Vec<&str> = blocked.iter().map(|o| o.slug.as_str()).collect();
        format!(
            "the plan cannot be applied because of {}; nothing was changed",
            names.join(", ")
        )
    };
    if !free.is_empty() && !blocked.is_empty() {
        let targets: Vec<String> = free
            .iter()
            .map(|o| format!("--target {}", o.slug))
            .collect();
        head.push_str(&format!(
            "; to proceed with the other organizations, use {}",
            targets.join(" ")
        ));
    }
    printer.error(&head);
    print_problems(&plan.problems, printer);
    status
}
