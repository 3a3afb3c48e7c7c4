//! `vntana-webhooks emulator`: runs the emulator in the foreground until Ctrl-C or SIGTERM,
//! after printing its address and ready-to-paste `export` lines (the seed's own demo
//! credentials, one of the places product.md lets a secret appear).

use anyhow::Context;

use crate::cli::EmulatorArgs;
use crate::commands::ExitStatus;
use crate::emulator::{self, Options, Seed};
use crate::printer::Printer;
use crate::server::Limits;

pub async fn run(args: EmulatorArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let seed = match &args.seed {
        Some(path) => Seed::from_file(path)?,
        None => Seed::default_seed(),
    };
    let options = Options {
        seed: seed.clone(),
        state_file: args.state.clone(),
        deterministic: args.deterministic.then_some(args.id_seed),
        allow_remote_delivery: args.allow_remote_delivery,
        allowed_hosts: args.allow_host.clone(),
        limits: match args.read_timeout {
            Some(timeout) => Limits::new(timeout, emulator::MAX_CONNECTIONS),
            None => emulator::default_limits(),
        },
    };
    let running = emulator::start(options, args.listen)
        .await
        .context("cannot start the emulator")?;
    let url = running.url();
    let state = args.state.as_ref().map_or_else(
        || "in memory".to_owned(),
        |p| format!("state in {}", p.display()),
    );
    let mut lines = vec![
        format!("# vntana-webhooks emulator listening on {url} ({state})"),
        format!("export VNTANA_API_URL={url}"),
    ];
    if let Some(user) = seed.first_user() {
        match (&user.api_key, &user.password) {
            (Some(key), _) => lines.push(format!("export VNTANA_API_KEY={key}")),
            (None, Some(password)) => {
                lines.push(format!("export VNTANA_EMAIL={}", user.email));
                lines.push(format!("export VNTANA_PASSWORD={password}"));
            }
            (None, None) => {}
        }
    }
    lines.push(String::new());
    let lines = lines.join("\n");
    printer.result(&lines);
    printer.status("Press Ctrl-C to stop.");
    crate::commands::signal::shutdown().await;
    running.shutdown().await;
    Ok(ExitStatus::Success)
}
