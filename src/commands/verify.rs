//! `vntana-webhooks verify --secret-env VAR --timestamp T --signature S [BODY]`: checks one
//! delivery's signature (product.md, "Other commands"). The body is the exact bytes given, or
//! stdin's for `-` or none; the secret comes only from the environment. Exit 0 and `valid`
//! when it verifies, 1 and an error when not. Needs no credentials.

use std::env::VarError;
use std::io::Read;

use anyhow::Context;

use crate::cli::VerifyArgs;
use crate::commands::ExitStatus;
use crate::printer::Printer;
use crate::signature;

pub fn run(args: VerifyArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let var = &args.secret_env;
    let secret = match std::env::var(var) {
        Ok(secret) if !secret.is_empty() => secret,
        Ok(_) => anyhow::bail!("the environment variable {var} (--secret-env) is empty"),
        Err(VarError::NotPresent) => anyhow::bail!(
            "the environment variable {var} (--secret-env) is not set; export the webhook's secret in it"
        ),
        Err(VarError::NotUnicode(_)) => {
            anyhow::bail!("the environment variable {var} (--secret-env) is not valid UTF-8")
        }
    };
    let body = match args.body {
        Some(body) if body != "-" => body.into_encoded_bytes(),
        _ => {
            if printer.is_interactive() {
                printer.status("Reading the body from stdin (end it with Ctrl-D).");
            }
            let mut body = Vec::new();
            std::io::stdin()
                .read_to_end(&mut body)
                .context("cannot read the body from stdin")?;
            body
        }
    };
    if signature::verify(&secret, &args.timestamp, &body, &args.signature) {
        printer.result("valid\n");
        return Ok(ExitStatus::Success);
    }
    let is_hex = args.signature.len() == 64
        && args
            .signature
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if is_hex {
        anyhow::bail!(
            "invalid signature: it does not match the {} body bytes, the timestamp and the secret in {var}",
            body.len()
        )
    }
    anyhow::bail!(
        "invalid signature: X-VNTANA-SIGNATURE is 64 lowercase hex characters, without a prefix"
    )
}
