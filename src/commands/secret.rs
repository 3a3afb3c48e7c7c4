//! `vntana-webhooks secret ORG/NAME`: prints one webhook's signing secret, on purpose (one of
//! the places product.md lets a secret appear). Reads only.

use crate::api::TokenUse;
use crate::cli::SecretArgs;
use crate::commands::{ExitStatus, connect};
use crate::printer::Printer;

pub async fn run(args: &SecretArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let Some((slug, name)) = args
        .webhook
        .split_once('/')
        .filter(|(o, n)| !o.is_empty() && !n.is_empty())
    else {
        anyhow::bail!("`{}` is not ORG/NAME, e.g. acme-3d/pim-sync", args.webhook);
    };
    let connection = connect::connect(&args.connection, 1, printer).await?;
    let session = &connection.session;
    let organization = session.organization(slug)?;
    let client = session.client();
    let webhooks = session
        .with_token(organization, TokenUse::ManageWebhooks, |token| {
            let uuid = organization.uuid.clone();
            async move { client.list_webhooks(&token, &uuid).await }
        })
        .await?;
    let found: Vec<_> = webhooks.iter().filter(|w| w.name == name).collect();
    match found.as_slice() {
        [one] => {
            printer.result(&format!("{}\n", one.secret.expose()));
            Ok(ExitStatus::Success)
        }
        [] => anyhow::bail!("organization `{slug}` has no webhook named `{name}`"),
        several => {
            let uuids: Vec<&str> = several.iter().map(|w| w.uuid.as_str()).collect();
            anyhow::bail!(
                "organization `{slug}` has {} webhooks named `{name}` ({}); plan shows which one the config manages",
                several.len(),
                uuids.join(", ")
            )
        }
    }
}
