//! `vntana-webhooks events [--org SLUG] [--format text|json]`: the event catalogue by
//! category, read with the token of `--org`, else the config's first organization (in sorted
//! order), else the first organization the user can see.

use std::fmt::Write as _;

use serde_json::json;

use crate::api::TokenUse;
use crate::api::wire::EventCatalogue;
use crate::cli::{EventsArgs, TextOrJson};
use crate::commands::{ExitStatus, connect};
use crate::config;
use crate::config::chars::escaped;
use crate::printer::{Printer, Style};

pub async fn run(args: EventsArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    // The config is read only when one is given or the default file exists.
    let config_slug = if args.org.is_none()
        && (!args.config.files.is_empty()
            || std::path::Path::new(config::sources::DEFAULT_FILE).is_file())
    {
        let desired = config::load(&args.config.files, &|name| std::env::var(name).ok())?;
        desired.organizations.keys().next().cloned()
    } else {
        None
    };
    let connection = connect::connect(&args.connection, 1, printer).await?;
    let session = &connection.session;
    let organization = match args.org.as_deref().or(config_slug.as_deref()) {
        Some(slug) => session.organization(slug)?,
        None => session.organizations().first().ok_or_else(|| {
            anyhow::anyhow!(
                "{} can see no organization to read the catalogue with",
                session.email()
            )
        })?,
    };
    let client = session.client();
    let catalogue = session
        .with_token(organization, TokenUse::ReadCatalogue, |token| async move {
            client.events(&token).await
        })
        .await?;
    printer.result(&match args.format {
        TextOrJson::Text => text(&catalogue, printer),
        TextOrJson::Json => json(&catalogue),
    });
    Ok(ExitStatus::Success)
}

fn text(catalogue: &EventCatalogue, printer: &Printer) -> String {
    let width = catalogue
        .grid
        .iter()
        .flat_map(|c| c.events.iter().map(|e| e.name.len()))
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (i, category) in catalogue.grid.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        // The catalogue is the platform's text: data, never terminal control.
        let _ = writeln!(
            out,
            "{}",
            printer.paint(Style::Bold, &escaped(&category.category))
        );
        for event in &category.events {
            let _ = writeln!(
                out,
                "  {:width$}  {}",
                escaped(&event.name),
                escaped(&event.description)
            );
        }
    }
    out
}

fn json(catalogue: &EventCatalogue) -> String {
    let categories: Vec<_> = catalogue
        .grid
        .iter()
        .map(|category| {
            json!({
                "category": category.category,
                "events": category.events.iter().map(|e| json!({"name": e.name, "description": e.description, "uuid": e.uuid})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut text =
        serde_json::to_string_pretty(&json!({"categories": categories})).expect("JSON serialises");
    text.push('\n');
    text
}
