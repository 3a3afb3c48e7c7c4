//! `vntana-webhooks listen [--listen 127.0.0.1:9000] --secrets FILE`: receives deliveries and
//! prints one line per delivery on stdout: when it arrived, the event, the organization's
//! uuid and which webhook's secret verified it (`org/name`, `previous secret of org/name`) or
//! `unverified` (product.md, "Other commands"). It prints its address first. Ctrl-C or
//! SIGTERM stops it with exit 0. It never prints a secret.

use crate::cli::ListenArgs;
use crate::commands::ExitStatus;
use crate::printer::Printer;
use crate::receiver::{self, Change, Notice, Reception, Verdict};

pub async fn run(args: &ListenArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let file = args.secrets.display().to_string();
    let mut receiver = receiver::start(args.listen, &args.secrets).await?;
    printer.result(&format!(
        "# vntana-webhooks listen: receiving deliveries on http://{} (secrets of {} from {file})\n",
        receiver.addr(),
        webhooks(receiver.webhooks()),
    ));
    printer.status("Press Ctrl-C to stop.");
    let stop = crate::commands::signal::shutdown();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            notice = receiver.next() => match notice {
                Some(Notice::Delivery(reception)) => printer.result(&line(&reception)),
                Some(Notice::Secrets(Change::Reloaded(count))) => {
                    printer.status(&format!("Re-read {file}: secrets of {}.", webhooks(count)));
                }
                Some(Notice::Secrets(Change::Unreadable(problem))) => printer.warn(&format!(
                    "{problem}; the secrets read before stay in force"
                )),
                None => break,
            },
            () = &mut stop => break,
        }
    }
    receiver.shutdown().await;
    Ok(ExitStatus::Success)
}

fn webhooks(count: usize) -> String {
    format!("{count} webhook{}", if count == 1 { "" } else { "s" })
}

/// `2026-01-01T10:00:00.123Z product.added 7d1f0c2e-... acme-3d/pim-sync`.
fn line(reception: &Reception) -> String {
    let who = match &reception.verdict {
        Verdict::Current(key) => key.clone(),
        Verdict::Previous(key) => format!("previous secret of {key}"),
        Verdict::Unverified => "unverified".to_owned(),
    };
    format!(
        "{} {} {} {who}\n",
        reception.received,
        reception.event.as_deref().unwrap_or("-"),
        reception.organization.as_deref().unwrap_or("-"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_the_time_event_organization_and_secret() {
        let reception = Reception {
            received: "2026-01-01T10:00:00.123Z".into(),
            event: Some("product.added".into()),
            organization: Some("7d1f".into()),
            verdict: Verdict::Previous("acme/pim".into()),
        };
        assert_eq!(
            line(&reception),
            "2026-01-01T10:00:00.123Z product.added 7d1f previous secret of acme/pim\n"
        );
        let unparsed = Reception {
            event: None,
            organization: None,
            verdict: Verdict::Unverified,
            ..reception
        };
        assert_eq!(line(&unparsed), "2026-01-01T10:00:00.123Z - - unverified\n");
    }
}
