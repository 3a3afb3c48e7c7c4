//! `vntana-webhooks listen [--listen 127.0.0.1:9000] --secrets FILE`: receives deliveries and
//! prints one line per delivery on stdout: when it arrived, the event, the organization's
//! uuid and which webhook's secret verified it (`org/name`, `previous secret of org/name`) or
//! `unverified` (product.md, "Other commands"). It prints its address first. Ctrl-C or
//! SIGTERM stops it with exit 0. It never prints a secret.
//! Printing happens on a thread of its own, so a stdout nobody reads (`listen | sleep 1000`)
//! blocks only that thread: deliveries are still answered, lines the receiver's queue cannot
//! hold are dropped, and a `#` line says how many once the output moves again.

use std::time::Duration;

use crate::cli::ListenArgs;
use crate::commands::ExitStatus;
use crate::printer::Printer;
use crate::receiver::{self, Change, Notice, Notices, Reception, Verdict};
use crate::server::Limits;

/// How long stopping waits for the lines already received to be printed.
const PRINT_GRACE: Duration = Duration::from_secs(1);

pub async fn run(args: &ListenArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let file = args.secrets.display().to_string();
    let limits = match args.read_timeout {
        Some(timeout) => Limits::new(timeout, receiver::MAX_CONNECTIONS),
        None => receiver::default_limits(),
    };
    let (receiver, notices) = receiver::start(args.listen, &args.secrets, limits).await?;
    printer.result(&format!(
        "# vntana-webhooks listen: receiving deliveries on http://{} (secrets of {} from {file})\n",
        receiver.addr(),
        webhooks(receiver.webhooks()),
    ));
    printer.status("Press Ctrl-C to stop.");
    let (finished, all_printed) = tokio::sync::oneshot::channel::<()>();
    let thread_printer = printer.clone();
    // Not a runtime task: a write to a full pipe may block for ever, and the runtime would
    // wait for it when the command ends.
    std::thread::spawn(move || {
        print_all(notices, &thread_printer, &file);
        let _ = finished.send(());
    });
    crate::commands::signal::shutdown().await;
    receiver.shutdown().await;
    // The receiver has stopped, so its queue ends; print what it holds unless stdout is stuck.
    let _ = tokio::time::timeout(PRINT_GRACE, all_printed).await;
    Ok(ExitStatus::Success)
}

/// Prints every notice until the receiver stops.
fn print_all(mut notices: Notices, printer: &Printer, file: &str) {
    while let Some(notice) = notices.blocking_next() {
        match notice {
            Notice::Delivery(reception) => printer.result(&line(&reception)),
            Notice::Secrets(Change::Reloaded(count)) => {
                printer.status(&format!("Re-read {file}: secrets of {}.", webhooks(count)));
            }
            Notice::Secrets(Change::Unreadable(problem)) => {
                printer.warn(&format!("{problem}; the secrets read before stay in force"));
            }
            Notice::Dropped(count) => printer.result(&dropped(count)),
        }
    }
}

/// The line standing for lines that were not printed.
fn dropped(count: u64) -> String {
    format!(
        "# {count} line{} not printed: the output was not read fast enough (every delivery was answered)\n",
        if count == 1 { "" } else { "s" }
    )
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

    #[test]
    fn lost_lines_are_counted_on_a_comment_line() {
        assert_eq!(
            dropped(1),
            "# 1 line not printed: the output was not read fast enough (every delivery was answered)\n"
        );
        assert!(dropped(37).starts_with("# 37 lines not printed"));
    }
}
