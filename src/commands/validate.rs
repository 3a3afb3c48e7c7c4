//! `vntana-webhooks validate [--offline]`: the config files alone (no request at all), or also
//! against the platform with reads only, exactly as `plan` checks them (the same code finds
//! the same problems): the organizations exist and the role may manage webhooks, the folders
//! and event names are known (with did-you-mean). `--format` prints the result and its
//! problems as text, JSON, GitHub annotations or a GitLab Code Quality report.

use serde_json::json;

use crate::annotations;
use crate::cli::{ValidateArgs, ValidateFormat};
use crate::commands::plan::fallback_file;
use crate::commands::{ExitStatus, connect, diagnostics_of, print_problems};
use crate::config;
use crate::diagnostic::Diagnostic;
use crate::model::Desired;
use crate::plan::Options;
use crate::printer::Printer;
use crate::reconcile;

/// Requests in flight when validating (reads only).
const PARALLELISM: usize = 4;

/// What validation found.
struct Validated {
    /// The counts of a config that loaded.
    counts: Option<(usize, usize)>,
    /// Where it was checked: `None` offline.
    against: Option<String>,
    problems: Vec<Diagnostic>,
}

pub async fn run(args: ValidateArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let validated = validate(&args, printer).await;
    let valid = !validated.problems.iter().any(Diagnostic::is_error);
    let text = || text_result(&validated, valid);
    printer.result(&match args.format {
        ValidateFormat::Text => text(),
        ValidateFormat::Json => json_result(&validated, valid, args.offline),
        ValidateFormat::Github => annotations::github(&validated.problems) + &text(),
        ValidateFormat::Gitlab => {
            annotations::gitlab(&validated.problems, &fallback_file(&args.config.files))
        }
    });
    if valid {
        return Ok(ExitStatus::Success);
    }
    let count = validated.problems.iter().filter(|p| p.is_error()).count();
    printer.error(&format!(
        "{count} problem{} in the config",
        if count == 1 { "" } else { "s" }
    ));
    print_problems(&validated.problems, printer);
    Ok(ExitStatus::Failure)
}

async fn validate(args: &ValidateArgs, printer: &Printer) -> Validated {
    let desired = match config::load(&args.config.files, &|name| std::env::var(name).ok()) {
        Ok(desired) => desired,
        Err(err) => {
            return Validated {
                counts: None,
                against: None,
                problems: err.problems,
            };
        }
    };
    let counts = Some(counts(&desired));
    if args.offline {
        return Validated {
            counts,
            against: None,
            problems: Vec::new(),
        };
    }
    let checked = async {
        let connection = connect::connect(&args.connection, PARALLELISM, printer).await?;
        let session = &connection.session;
        let checked = reconcile::read_and_check(session, &desired, &Options::default()).await?;
        anyhow::Ok((session.client().base_url().clone(), checked))
    };
    match checked.await {
        Ok((url, checked)) => {
            // What the live read could not vouch for is a problem of validation too.
            let mut problems = checked.problems;
            for org in checked
                .read
                .snapshot
                .organizations
                .iter()
                .filter(|o| o.error.is_some())
            {
                let message = org.error.clone().unwrap_or_default();
                problems.push(crate::plan::problems::read_error(
                    &desired, &org.slug, message,
                ));
            }
            problems.sort();
            Validated {
                counts,
                against: Some(url),
                problems,
            }
        }
        Err(err) => Validated {
            counts,
            against: None,
            problems: diagnostics_of(&err),
        },
    }
}

fn counts(desired: &Desired) -> (usize, usize) {
    let webhooks = desired
        .organizations
        .values()
        .map(|o| o.webhooks.len())
        .sum();
    (desired.organizations.len(), webhooks)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `The config is valid: ...` when it is; nothing on stdout when it is not (the problems end
/// stderr).
fn text_result(validated: &Validated, valid: bool) -> String {
    let Some((organizations, webhooks)) = validated.counts.filter(|_| valid) else {
        return String::new();
    };
    let summary = format!(
        "{organizations} organization{}, {webhooks} webhook{}",
        plural(organizations),
        plural(webhooks)
    );
    match &validated.against {
        None => {
            format!("The config is valid: {summary} (offline: not checked against the platform).\n")
        }
        Some(url) => format!(
            "The config is valid: {summary}; organizations, roles, folders and events checked against {url}.\n"
        ),
    }
}

/// `{formatVersion, valid, offline, organizations, webhooks, problems}`; the counts are null
/// when the config did not load.
fn json_result(validated: &Validated, valid: bool, offline: bool) -> String {
    let (organizations, webhooks) = validated.counts.unzip();
    let value = json!({
        "formatVersion": 1,
        "valid": valid,
        "offline": offline,
        "organizations": organizations,
        "webhooks": webhooks,
        "problems": validated.problems,
    });
    let mut text = serde_json::to_string_pretty(&value).expect("JSON serialises");
    text.push('\n');
    text
}
