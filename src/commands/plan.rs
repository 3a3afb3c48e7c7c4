//! `vntana-webhooks plan`: read, resolve, plan, print. The plan goes to stdout in the chosen
//! format; problems to stderr. Exit codes: 1 for read errors or conflicts (the plan is still
//! printed), 3 when only safety guards refuse, 2 with `--detailed-exitcode` when there are
//! actions, else 0.

use std::collections::BTreeSet;

use anyhow::Context;

use crate::cli::{PlanArgs, PlanFormat, SelectionArgs};
use crate::commands::{ExitStatus, connect};
use crate::config;
use crate::live::LiveSnapshot;
use crate::model::Desired;
use crate::plan::file::SavedPlan;
use crate::plan::model::OrganizationPlan;
use crate::plan::{Options, Plan, Target, render};
use crate::printer::Printer;
use crate::reconcile;

pub async fn run(args: PlanArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let desired = config::load(&args.config.files, &|name| std::env::var(name).ok())?;
    let options = options(&args.selection, &desired)?;
    let plan = if let Some(path) = &args.live {
        reconcile::plan_snapshot(&desired, &LiveSnapshot::read(path)?, &options)?
    } else {
        let connection =
            connect::connect(&args.connection, usize::from(args.parallelism), printer).await?;
        reconcile::plan_online(&connection.session, &desired, &options)
            .await?
            .plan
    };
    printer.result(&match args.format {
        PlanFormat::Text => render::text(&plan, &|style, text| printer.paint(style, text)),
        PlanFormat::Json => render::json(&plan),
        PlanFormat::Markdown => render::markdown(&plan),
    });
    if let Some(out) = &args.out {
        if plan.has_errors() || plan.is_refused() {
            printer.warn(&format!(
                "no plan file written to {}: the plan has problems",
                out.display()
            ));
        } else {
            let salt = hex::encode(rand::random::<[u8; 16]>());
            let (_, with_folders) = reconcile::reads(&desired, &options);
            let saved = SavedPlan::new(&plan, &desired, &options, &with_folders, &salt);
            crate::atomic_file::write(out, saved.to_json().as_bytes())
                .with_context(|| format!("cannot write the plan file {}", out.display()))?;
            printer.status(&format!(
                "Saved the plan to {}; apply exactly it with `vntana-webhooks apply {}`.",
                out.display(),
                out.display()
            ));
        }
    }
    Ok(outcome(&plan, args.detailed_exitcode, printer))
}

/// The options of the command line, checked against the config.
pub(crate) fn options(selection: &SelectionArgs, desired: &Desired) -> anyhow::Result<Options> {
    let mut targets = Vec::new();
    for target in &selection.targets {
        let parsed = match target.split_once('/') {
            Some((org, name)) => Target::Webhook(org.to_owned(), name.to_owned()),
            None => Target::Organization(target.clone()),
        };
        let (Target::Organization(org) | Target::Webhook(org, _)) = &parsed;
        if !desired.organizations.contains_key(org) {
            anyhow::bail!("--target {target}: `{org}` is not an organization of the config");
        }
        targets.push(parsed);
    }
    let mut rotate = BTreeSet::new();
    for item in &selection.rotate {
        let Some((org, name)) = item.split_once('/') else {
            anyhow::bail!("--rotate {item}: expected ORG/NAME");
        };
        let known = desired
            .organizations
            .get(org)
            .is_some_and(|o| o.webhooks.contains_key(name));
        if !known {
            anyhow::bail!(
                "--rotate {item}: the config has no webhook `{name}` in organization `{org}`"
            );
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

/// The exit status of a printed plan, with the problems summarised on stderr.
pub(crate) fn outcome(plan: &Plan, detailed: bool, printer: &Printer) -> ExitStatus {
    let mut status = if detailed && plan.has_actions() {
        ExitStatus::Changes
    } else {
        ExitStatus::Success
    };
    let (blocked, free): (Vec<&OrganizationPlan>, Vec<&OrganizationPlan>) = plan
        .organizations
        .iter()
        .partition(|o| !o.errors.is_empty() || !o.conflicts.is_empty() || !o.refused_by.is_empty());
    let blocked: Vec<String> = blocked
        .iter()
        .map(|o| {
            let mut why = Vec::new();
            if !o.errors.is_empty() {
                why.push("read error");
            }
            if !o.conflicts.is_empty() {
                why.push("conflict");
            }
            if !o.refused_by.is_empty() {
                why.push("safety refusal");
            }
            format!("{} ({})", o.slug, why.join(", "))
        })
        .collect();
    if blocked.is_empty() {
        return status;
    }
    // All or nothing (product.md, "Planning"): name the way out, the exact --target flags
    // for the organizations that could proceed alone.
    let mut ways = Vec::new();
    if plan.has_errors() {
        ways.push(
            if blocked.len() == 1 {
                "fix it"
            } else {
                "fix them"
            }
            .to_owned(),
        );
        status = status.combine(ExitStatus::Failure);
    } else {
        ways.push("review the plan and use --force".to_owned());
        status = status.combine(ExitStatus::Refused);
    }
    if !free.is_empty() {
        let targets: Vec<String> = free
            .iter()
            .map(|o| format!("--target {}", o.slug))
            .collect();
        ways.push(format!(
            "proceed with the other organizations using {}",
            targets.join(" ")
        ));
    }
    printer.error(&format!(
        "the plan cannot be applied: {}; {}",
        blocked.join(", "),
        ways.join(", or ")
    ));
    status
}
