//! Every command of the CLI at `-vvv`, on its success and failure paths (bad credentials,
//! revoked tokens, roles that may not manage webhooks, injected 500s, hangs and
//! commit-then-fail, config errors), against a standalone emulator and the embedded one, with
//! a config whose sensitive values come from `${VAR}`. After each run, stdout, stderr and every
//! file the command wrote are scanned for every secret and token the emulator holds or held
//! (webhook secrets, previous ones included, issued tokens, API keys, passwords, url
//! passwords), the config's environment values, url passwords written in a config, and the
//! credentials given. Only the places product.md ("Where secrets may appear, and nowhere
//! else") lists may show one: the `--secrets-out` file, `secret`'s output (the secret asked
//! for), the emulator's start-up lines (its demo API key) and its state. A leak fails naming
//! the command, the stream or file, and the kind of secret, never its value.
//!
//! Each command is one row of a table; a row names what it runs, the exit code or the lines
//! to wait for, faults to install and what happens meanwhile (a token revoked, an event
//! fired), texts proving it took the path it names, and the places it may show a secret.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::cli::command;
use crate::support::emulator::{DEMO_KEY, OWNER_EMAIL, OWNER_PASSWORD, VIEWER_KEY};
use crate::support::raw;

/// A guard against a hung command, never a measure of speed.
const LIVENESS: Duration = Duration::from_secs(90);

/// The config's sensitive values, each from its own variable (product.md: a value from the
/// environment is never shown).
const CONFIG_ENV: &[(&str, &str)] = &[
    ("HOOK_PASSWORD", "hook-password-4b1d9e"),
    ("HOOK_TOKEN", "hook-query-token-77c2a0"),
    ("HOOK_NOTE", "hook-note-from-env-5e8f13"),
    ("ALERT_EMAIL", "alerts-3f6a91@acme.example"),
    ("RELAY_PASSWORD", "relay-password-c04e11"),
    ("RELAY_KEY", "relay-query-key-9a7d35"),
    ("FOLDER", "footwear-private-7a1e02"),
];
/// Variables whose value is a credential, whatever a row sets them to. (`verify`'s
/// `WEBHOOK_SECRET` holds a webhook secret, known as one already.)
const CREDENTIAL_ENV: &[&str] = &["VNTANA_API_KEY", "VNTANA_PASSWORD"];
/// A url password written in a config file, not taken from the environment.
const LITERAL_PASSWORD: &str = "literal-url-password-2c9e";
/// Credentials only the bad seed and the broken state file hold.
const SEED_KEY: &str = "seed-api-key-0f3b2c77";
const SEED_PASSWORD: &str = "seed-password-8e1d4a55";
const STATE_TOKEN: &str = "emu.5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
/// A secret in a secrets file that does not parse.
const FILE_SECRET: &str = "f11e5ec7f11e5ec7f11e5ec7f11e5ec7f11e5ec7f11e5ec7f11e5ec7f11e5ec7";

/// A delivery to verify (the body of vntana-api.md's known-answer vector).
const TIMESTAMP: &str = "2026-11-28T10:00:00.000Z";
const BODY: &str = r#"{"event":"product.added","organization":{"uuid":"7d1f0c2e-0000-4000-8000-000000000001"},"product":{"uuid":"3b6a1d9e-0000-4000-8000-000000000002","name":"Sneaker","status":"DRAFT"}}"#;
const FORGED: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const WEBHOOKS: &str = "\
version: 1
owner: platform-repo
organizations:
  acme-3d:
    webhooks:
      guarded:
        url: https://deploy:${HOOK_PASSWORD}@hooks.example/in?token=${HOOK_TOKEN}
        description: ${HOOK_NOTE}
        events: [product.added]
        userEmail: ${ALERT_EMAIL}
  globex:
    webhooks:
      relay:
        url: http://relay:${RELAY_PASSWORD}@127.0.0.1:${RELAY_PORT}/hook?key=${RELAY_KEY}
        events: [product.added]
";

/// The files every scenario starts with: configs good and bad, a seed and a state file that
/// do not parse.
fn fixtures() -> Vec<(&'static str, String)> {
    let rotated = WEBHOOKS
        .replace("hooks.example/in?", "hooks.example/in2?")
        .replace(
            "        userEmail: ${ALERT_EMAIL}\n",
            "        userEmail: ${ALERT_EMAIL}\n        secretRotation: 1\n",
        );
    let one = |name: &str, host: &str| {
        format!(
            "version: 1\nowner: platform-repo\norganizations:\n  acme-3d:\n    webhooks:\n      {name}:\n        url: https://deploy:${{HOOK_PASSWORD}}@{host}/in?token=${{HOOK_TOKEN}}\n        events: [product.completed]\n"
        )
    };
    vec![
        ("webhooks.yaml", WEBHOOKS.to_owned()),
        ("rotated.yaml", rotated),
        ("more.yaml", one("spare", "spare.example")),
        ("retry.yaml", one("retried", "retried.example")),
        ("watch.yaml", one("watched", "watched.example")),
        (
            "literal.yaml",
            format!(
                "version: 1\nowner: platform-repo\norganizations:\n  acme-3d:\n    webhooks:\n      literal:\n        url: https://deploy:{LITERAL_PASSWORD}@literal.example/in\n        events: [product.added]\n"
            ),
        ),
        (
            "broken.yaml",
            "version: 1\nowner: platform-repo\norganizations:\n  acme-3d:\n    webhooks:\n      broken:\n        url: ftp://deploy:${HOOK_PASSWORD}@hooks.example/in?token=${HOOK_TOKEN}\n        description: ${UNSET_SECRET_VARIABLE}\n        events: [product.added]\n        userEmail: ${HOOK_NOTE}\n        colour: ${HOOK_TOKEN}\n".to_owned(),
        ),
        (
            "syntax.yaml",
            format!(
                "version: 1\norganizations:\n  acme-3d:\n    webhooks:\n      bad:\n        url: https://deploy:{LITERAL_PASSWORD}@hooks.example/in\n        events: [product.added\n"
            ),
        ),
        (
            "typo.yaml",
            "version: 1\nowner: platform-repo\norganizations:\n  acme-3d:\n    webhooks:\n      typo:\n        url: https://deploy:${HOOK_PASSWORD}@hooks.example/in\n        events: [product.addded]\n        folders:\n          - ${FOLDER}\n".to_owned(),
        ),
        (
            "foreign.yaml",
            "version: 1\nowner: platform-repo\norganizations:\n  initech:\n    webhooks:\n      guarded:\n        url: https://deploy:${HOOK_PASSWORD}@hooks.example/in\n        events: [product.added]\n  umbrella:\n    webhooks: {}\n".to_owned(),
        ),
        (
            "bad-seed.yaml",
            format!(
                "users:\n  - email: a@acme.example\n    password: {SEED_PASSWORD}\n    apiKey: [{SEED_KEY}\n"
            ),
        ),
        (
            "bad-secrets.json",
            format!(r#"{{"acme-3d/guarded": "{FILE_SECRET}"}}"#),
        ),
        (
            "broken-state.json",
            format!(
                r#"{{"formatVersion": 1, "users": [], "organizations": [], "webhooks": [], "tokens": [{{"token": "{STATE_TOKEN}", "user": "u", "scope": {{"kind": "login"}}, "expiresMicros": 1, "revoked": "{STATE_TOKEN}"}}]}}"#
            ),
        ),
    ]
}

/// Where a row may show a secret (product.md, "Where secrets may appear").
#[derive(Debug, Clone, Copy)]
enum Allow {
    /// The `--secrets-out` file: webhook secrets, current and previous.
    SecretsFile(&'static str),
    /// `secret ORG/NAME`: that webhook's current secret, on stdout.
    SecretOf(&'static str),
    /// A saved plan of a config that writes a url password literally. product.md ("Saved
    /// plans") keeps only env-sourced values out of saved plans (as `${VAR}` and a salted
    /// hash); a literal is the config's own text, which the saved plan must reproduce.
    LiteralIn(&'static str),
    /// What writes the live state out (`export`): the platform does not record which values
    /// came from a config's environment, so those may show. Url passwords, secrets, tokens,
    /// keys and passwords may not (product.md: "The password part of any url is always
    /// masked").
    LiveValues,
}

/// What runs alongside a command.
#[derive(Debug, Clone, Copy)]
enum Meanwhile {
    Nothing,
    /// Each time the command mints an organization token for acme-3d, mint another for the
    /// same user (which revokes the command's, vntana-api.md), up to this many times.
    Revoke(u32),
    /// Once the command printed this text, fire an event at an organization.
    Fire {
        after: &'static str,
        organization: &'static str,
        event: &'static str,
    },
}

/// How a row ends.
#[derive(Debug, Clone, Copy)]
enum Ends {
    /// The command exits by itself with this code.
    Exits(i32),
    /// The command runs until it printed every text (stdout or stderr), then gets SIGTERM and
    /// must exit 0 (`watch`, `listen`).
    Until(&'static [&'static str]),
}

/// One command of the table.
#[derive(Debug, Clone, Copy)]
struct Row {
    /// The command as failures name it.
    name: &'static str,
    /// The arguments after `-vvv`; `{api}`, `{api_with_password}`, `{relay_port}`, `{acme}`,
    /// `{secret:ORG/NAME}` and `{signature:ORG/NAME}` are filled in.
    args: &'static [&'static str],
    /// Variables set (or changed) for this row; values are filled in like `args`.
    env: &'static [(&'static str, &'static str)],
    /// Variables of the scenario left out.
    unset: &'static [&'static str],
    /// `POST /_emulator/faults` before the run (cleared after it); filled in like `args`.
    faults: Option<&'static str>,
    meanwhile: Meanwhile,
    ends: Ends,
    /// Texts the run must print: proof it went the way its name says.
    shows: &'static [&'static str],
    /// Texts the run must not print.
    lacks: &'static [&'static str],
    /// Keep stdout in this file of the working directory, for later rows.
    stdout_to: Option<&'static str>,
    allow: &'static [Allow],
}

const fn row(name: &'static str, args: &'static [&'static str]) -> Row {
    Row {
        name,
        args,
        env: &[],
        unset: &[],
        faults: None,
        meanwhile: Meanwhile::Nothing,
        ends: Ends::Exits(0),
        shows: &[],
        lacks: &[],
        stdout_to: None,
        allow: &[],
    }
}

impl Row {
    const fn exits(mut self, code: i32) -> Row {
        self.ends = Ends::Exits(code);
        self
    }

    const fn until(mut self, texts: &'static [&'static str]) -> Row {
        self.ends = Ends::Until(texts);
        self
    }

    const fn env(mut self, env: &'static [(&'static str, &'static str)]) -> Row {
        self.env = env;
        self
    }

    const fn unset(mut self, unset: &'static [&'static str]) -> Row {
        self.unset = unset;
        self
    }

    const fn faults(mut self, faults: &'static str) -> Row {
        self.faults = Some(faults);
        self
    }

    const fn meanwhile(mut self, meanwhile: Meanwhile) -> Row {
        self.meanwhile = meanwhile;
        self
    }

    const fn shows(mut self, shows: &'static [&'static str]) -> Row {
        self.shows = shows;
        self
    }

    const fn lacks(mut self, lacks: &'static [&'static str]) -> Row {
        self.lacks = lacks;
        self
    }

    const fn stdout_to(mut self, file: &'static str) -> Row {
        self.stdout_to = Some(file);
        self
    }

    const fn allow(mut self, allow: &'static [Allow]) -> Row {
        self.allow = allow;
        self
    }
}

const SECRETS_FILE: &[Allow] = &[Allow::SecretsFile("secrets.json")];

/// Every command against a standalone emulator (`VNTANA_API_URL`), in order: later rows
/// build on what earlier ones created.
const STANDALONE: &[Row] = &[
    row("--version", &["--version"]).shows(&["vntana-webhooks "]),
    row("--help", &["--help"]).shows(&["Usage:"]),
    row("apply --help", &["apply", "--help"]).shows(&["--secrets-out"]),
    row("a usage error", &["plan", "--no-such-flag"]).exits(1),
    row("schema", &["schema"]).shows(&["$schema"]),
    row("completions bash", &["completions", "bash"]),
    row("completions zsh", &["completions", "zsh"]),
    row(
        "validate --offline",
        &["validate", "--offline", "-f", "webhooks.yaml"],
    ),
    row(
        "validate --offline of a config with every kind of error",
        &["validate", "--offline", "-f", "broken.yaml"],
    )
    .exits(1)
    .shows(&["UNSET_SECRET_VARIABLE", "colour"]),
    row(
        "plan of a config with a YAML syntax error",
        &["plan", "-f", "syntax.yaml"],
    )
    .exits(1),
    row("validate", &["validate", "-f", "webhooks.yaml"]),
    row(
        "validate of an unknown event and an unknown env-sourced folder",
        &["validate", "-f", "typo.yaml"],
    )
    .exits(1)
    .shows(&["product.added", "$FOLDER"]),
    row("events", &["events"]).shows(&["product.added"]),
    row(
        "events --format json of an organization where the user is a viewer",
        &["events", "--format", "json", "--org", "initech"],
    ),
    row("plan", &["plan", "-f", "webhooks.yaml"]).shows(&["(from $HOOK_PASSWORD, $HOOK_TOKEN)"]),
    row(
        "plan --format json",
        &["plan", "-f", "webhooks.yaml", "--format", "json"],
    ),
    row(
        "plan --format markdown",
        &["plan", "-f", "webhooks.yaml", "--format", "markdown"],
    ),
    row(
        "plan --detailed-exitcode",
        &["plan", "-f", "webhooks.yaml", "--detailed-exitcode"],
    )
    .exits(2),
    row(
        "plan --out",
        &["plan", "-f", "webhooks.yaml", "--out", "plan.json"],
    ),
    row(
        "apply --dry-run",
        &["apply", "-f", "webhooks.yaml", "--dry-run"],
    )
    .shows(&["POST /v1/webhooks"]),
    row(
        "apply without approval or a terminal",
        &["apply", "-f", "webhooks.yaml"],
    )
    .exits(1)
    .shows(&["--auto-approve"]),
    row(
        "apply of a saved plan with --secrets-out",
        &["apply", "plan.json", "--secrets-out", "secrets.json"],
    )
    .shows(&["Applied 2 of 2 actions."])
    .allow(SECRETS_FILE),
    row(
        "apply of a saved plan whose live state changed",
        &["apply", "plan.json"],
    )
    .exits(1),
    row(
        "plan --out of a rotation and an update",
        &["plan", "-f", "rotated.yaml", "--out", "rotation.json"],
    ),
    row(
        "apply of a saved plan whose environment changed",
        &["apply", "rotation.json"],
    )
    .env(&[("HOOK_PASSWORD", "hook-password-changed-6d2f80")])
    .exits(1)
    .shows(&["HOOK_PASSWORD"]),
    row(
        "apply of a saved plan with a rotation",
        &["apply", "rotation.json", "--secrets-out", "secrets.json"],
    )
    .shows(&["rotate"])
    .allow(SECRETS_FILE),
    row(
        "apply --rotate --format json",
        &[
            "apply",
            "-f",
            "rotated.yaml",
            "--auto-approve",
            "--rotate",
            "acme-3d/guarded",
            "--secrets-out",
            "secrets.json",
            "--format",
            "json",
        ],
    )
    .shows(&["imperativeRotation"])
    .allow(SECRETS_FILE),
    row(
        "plan --out of a url password written in the config",
        &["plan", "-f", "literal.yaml", "--out", "literal-plan.json"],
    )
    .allow(&[Allow::LiteralIn("literal-plan.json")]),
    row(
        "apply of a url password written in the config",
        &["apply", "literal-plan.json"],
    ),
    row("secret", &["secret", "acme-3d/guarded"]).allow(&[Allow::SecretOf("acme-3d/guarded")]),
    row(
        "secret of a webhook that does not exist",
        &["secret", "acme-3d/nothing"],
    )
    .exits(1),
    row(
        "secret where the role may not manage webhooks",
        &["secret", "initech/guarded"],
    )
    .exits(1),
    row("export", &["export"])
        .stdout_to("exported.yaml")
        .shows(&["URL_PASSWORD_ACME_3D_GUARDED"])
        .allow(&[Allow::LiveValues]),
    row("export --format live-json", &["export", "--format", "live-json"])
        .stdout_to("live.json")
        .shows(&["****"])
        .allow(&[Allow::LiveValues]),
    row(
        "export where the role may not manage webhooks",
        &["export", "--org", "initech"],
    )
    .exits(1),
    row(
        "plan of the exported config, its url passwords set",
        &["plan", "-f", "exported.yaml"],
    )
    .shows(&["(adopt)"])
    .lacks(&["url:", "warning"])
    .env(&[
        ("URL_PASSWORD_ACME_3D_GUARDED", "hook-password-4b1d9e"),
        ("URL_PASSWORD_ACME_3D_LITERAL", LITERAL_PASSWORD),
        ("URL_PASSWORD_GLOBEX_RELAY", "relay-password-c04e11"),
    ]),
    row(
        "plan --live of the exported snapshot",
        &["plan", "--live", "live.json", "-f", "rotated.yaml"],
    )
    .unset(&["VNTANA_API_KEY", "VNTANA_API_URL"]),
    row(
        "verify of a valid delivery",
        &[
            "verify",
            "--secret-env",
            "WEBHOOK_SECRET",
            "--timestamp",
            TIMESTAMP,
            "--signature",
            "{signature:acme-3d/guarded}",
            BODY,
        ],
    )
    .env(&[("WEBHOOK_SECRET", "{secret:acme-3d/guarded}")])
    .shows(&["valid"]),
    row(
        "verify of a forged delivery",
        &[
            "verify",
            "--secret-env",
            "WEBHOOK_SECRET",
            "--timestamp",
            TIMESTAMP,
            "--signature",
            FORGED,
            BODY,
        ],
    )
    .env(&[("WEBHOOK_SECRET", "{secret:acme-3d/guarded}")])
    .exits(1),
    row("a wrong API key", &["plan", "-f", "webhooks.yaml"])
        .env(&[("VNTANA_API_KEY", "wrong-api-key-3e9b51")])
        .exits(1)
        .shows(&["BAD_CREDENTIALS"]),
    row("email and password", &["plan", "-f", "webhooks.yaml"])
        .env(&[
            ("VNTANA_EMAIL", OWNER_EMAIL),
            ("VNTANA_PASSWORD", OWNER_PASSWORD),
        ])
        .unset(&["VNTANA_API_KEY"]),
    row("a wrong password", &["plan", "-f", "webhooks.yaml"])
        .env(&[
            ("VNTANA_EMAIL", OWNER_EMAIL),
            ("VNTANA_PASSWORD", "wrong-password-77a0c4"),
        ])
        .unset(&["VNTANA_API_KEY"])
        .exits(1)
        .shows(&["BAD_CREDENTIALS"]),
    row(
        "a role that may not manage webhooks",
        &["plan", "-f", "webhooks.yaml"],
    )
    .env(&[("VNTANA_API_KEY", VIEWER_KEY)])
    .exits(1)
    .shows(&["ORGANIZATION_ADMIN"]),
    row(
        "organizations of another role or unknown",
        &["plan", "-f", "foreign.yaml"],
    )
    .exits(1)
    .shows(&["umbrella", "initech"]),
    row(
        "apply whose token is revoked during the run",
        &[
            "apply",
            "-f",
            "webhooks.yaml",
            "-f",
            "more.yaml",
            "--auto-approve",
            "--secrets-out",
            "secrets.json",
        ],
    )
    .faults(r#"{"rules": [{"method": "GET", "path": "/v1/webhooks/organization/{acme}", "kind": "latency", "latencyMs": 1500, "count": 1}]}"#)
    .meanwhile(Meanwhile::Revoke(1))
    .shows(&["was revoked", "A new plan would be empty"])
    .allow(SECRETS_FILE),
    row(
        "plan whose token is revoked twice during the run",
        &["plan", "-f", "webhooks.yaml"],
    )
    .faults(r#"{"rules": [{"method": "GET", "path": "/v1/webhooks/organization/{acme}", "kind": "latency", "latencyMs": 1500, "count": 2}]}"#)
    .meanwhile(Meanwhile::Revoke(2))
    .exits(1)
    .shows(&["was revoked", "another run with the same credentials"]),
    row("plan through 500s on every list", &["plan", "-f", "webhooks.yaml"])
        .faults(r#"{"rules": [{"method": "GET", "path": "/v1/webhooks/organization/*", "kind": "status", "status": 500}]}"#)
        .exits(1)
        .shows(&["INTERNAL_SERVER_ERROR"]),
    row(
        "plan through two 500s and a 429",
        &["plan", "-f", "webhooks.yaml"],
    )
    .faults(r#"{"rules": [{"path": "/v1/webhooks/organization/{acme}", "kind": "status", "status": 500, "count": 2}, {"path": "/v1/organizations", "kind": "status", "status": 429, "retryAfter": 0, "count": 1}]}"#)
    .shows(&["retrying"]),
    row(
        "apply of a create committed, then answered 500",
        &[
            "apply",
            "-f",
            "webhooks.yaml",
            "-f",
            "more.yaml",
            "-f",
            "retry.yaml",
            "--auto-approve",
            "--secrets-out",
            "secrets.json",
        ],
    )
    .faults(r#"{"rules": [{"method": "POST", "path": "/v1/webhooks", "kind": "commit-then-fail", "status": 500, "count": 1}]}"#)
    .shows(&["Applied 1 of 1 actions."])
    .allow(SECRETS_FILE),
    row(
        "apply of a rotation committed, then dropped",
        &[
            "apply",
            "-f",
            "rotated.yaml",
            "--auto-approve",
            "--rotate",
            "acme-3d/guarded",
            "--secrets-out",
            "secrets.json",
        ],
    )
    .faults(r#"{"rules": [{"method": "PATCH", "kind": "commit-then-fail", "count": 1}]}"#)
    .allow(SECRETS_FILE),
    row(
        "apply of an update committed, then answered 502",
        &["apply", "-f", "webhooks.yaml", "--auto-approve"],
    )
    .faults(r#"{"rules": [{"method": "PUT", "kind": "commit-then-fail", "status": 502, "count": 1}]}"#)
    .shows(&["Applied 1 of 1 actions."]),
    row(
        "plan through a list that hangs past --timeout",
        &["plan", "--timeout", "1s", "-f", "webhooks.yaml"],
    )
    .faults(r#"{"rules": [{"path": "/v1/webhooks/organization/{acme}", "kind": "hang", "count": 1}]}"#)
    .shows(&["retrying"]),
    row(
        "plan with a password in VNTANA_API_URL",
        &["plan", "-f", "webhooks.yaml"],
    )
    .env(&[("VNTANA_API_URL", "{api_with_password}")]),
    // A loopback API is never proxied (issue 15), so the proxy stands before a real host.
    row(
        "events through an HTTPS_PROXY with a password that is down",
        &["events"],
    )
    .env(&[
        ("VNTANA_API_URL", "https://api-platform.example.invalid"),
        (
            "HTTPS_PROXY",
            "http://proxyuser:proxy-password-5a1f93@127.0.0.1:1",
        ),
    ])
    .exits(1)
    .shows(&["cannot reach api-platform.example.invalid"]),
    row(
        "watch --apply, its token revoked between passes",
        &[
            "watch",
            "--apply",
            "--interval",
            "1s",
            "--debounce",
            "100ms",
            "-f",
            "webhooks.yaml",
            "-f",
            "watch.yaml",
            "--secrets-out",
            "secrets.json",
        ],
    )
    .meanwhile(Meanwhile::Revoke(1))
    .until(&["Applied ", "was revoked"])
    .allow(SECRETS_FILE),
    row(
        "watch of an invalid config",
        &["watch", "--interval", "1s", "-f", "broken.yaml"],
    )
    .until(&["the config is invalid"]),
    row(
        "watch through an outage",
        &["watch", "--interval", "1s", "-f", "webhooks.yaml"],
    )
    .faults(r#"{"rules": [{"method": "GET", "path": "/v1/webhooks/organization/*", "kind": "status", "status": 500}]}"#)
    .until(&["INTERNAL_SERVER_ERROR"]),
    row(
        "listen, receiving a delivery",
        &[
            "listen",
            "--listen",
            "127.0.0.1:{relay_port}",
            "--secrets",
            "secrets.json",
        ],
    )
    .meanwhile(Meanwhile::Fire {
        after: "receiving deliveries",
        organization: "globex",
        event: "product.added",
    })
    .until(&["globex/relay"]),
    row(
        "listen with a secrets file that does not parse",
        &[
            "listen",
            "--listen",
            "127.0.0.1:0",
            "--secrets",
            "bad-secrets.json",
        ],
    )
    .exits(1)
    .shows(&["line 1"]),
    row(
        "apply --secrets-out to a file that does not parse",
        &[
            "apply",
            "-f",
            "webhooks.yaml",
            "--auto-approve",
            "--rotate",
            "acme-3d/guarded",
            "--secrets-out",
            "bad-secrets.json",
        ],
    )
    .exits(1)
    .shows(&["line 1"]),
    row(
        "emulator with a seed that does not parse",
        &[
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "bad-seed.yaml",
        ],
    )
    .exits(1)
    .shows(&["line 4"]),
    row(
        "emulator with a state file that does not parse",
        &[
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--state",
            "broken-state.json",
        ],
    )
    .exits(1)
    .shows(&["expected a boolean"]),
];

/// Every command that takes `--emulator`, against the embedded emulator (state in
/// `.vntana-emulator/` of the working directory; `VNTANA_*` ignored).
const EMBEDDED: &[Row] = &[
    row(
        "plan --emulator",
        &["plan", "--emulator", "-f", "webhooks.yaml"],
    )
    .shows(&[
        "(from $HOOK_PASSWORD, $HOOK_TOKEN)",
        "Using the embedded emulator",
    ]),
    row(
        "plan --emulator --out",
        &[
            "plan",
            "--emulator",
            "-f",
            "webhooks.yaml",
            "--format",
            "json",
            "--out",
            "plan.json",
        ],
    ),
    row(
        "apply --emulator of a saved plan with --secrets-out",
        &[
            "apply",
            "--emulator",
            "plan.json",
            "--secrets-out",
            "secrets.json",
        ],
    )
    .shows(&["Applied 2 of 2 actions."])
    .allow(SECRETS_FILE),
    row(
        "apply --emulator of a rotation and an update",
        &[
            "apply",
            "--emulator",
            "-f",
            "rotated.yaml",
            "--auto-approve",
            "--rotate",
            "acme-3d/guarded",
            "--secrets-out",
            "secrets.json",
        ],
    )
    .allow(SECRETS_FILE),
    row(
        "apply --emulator --dry-run",
        &["apply", "--emulator", "-f", "webhooks.yaml", "--dry-run"],
    )
    .shows(&["PUT /v1/webhooks/"]),
    row(
        "secret --emulator",
        &["secret", "--emulator", "acme-3d/guarded"],
    )
    .allow(&[Allow::SecretOf("acme-3d/guarded")]),
    row("export --emulator", &["export", "--emulator"]).allow(&[Allow::LiveValues]),
    row(
        "export --emulator --format live-json",
        &["export", "--emulator", "--format", "live-json"],
    )
    .allow(&[Allow::LiveValues]),
    row("events --emulator", &["events", "--emulator"]),
    row(
        "validate --emulator",
        &["validate", "--emulator", "-f", "webhooks.yaml"],
    ),
    row(
        "validate --emulator of unknown names",
        &["validate", "--emulator", "-f", "typo.yaml"],
    )
    .exits(1),
    row(
        "plan --emulator of organizations of another role or unknown",
        &["plan", "--emulator", "-f", "foreign.yaml"],
    )
    .exits(1),
    row(
        "--emulator with --api-url",
        &[
            "plan",
            "--emulator",
            "--api-url",
            "http://127.0.0.1:1",
            "-f",
            "webhooks.yaml",
        ],
    )
    .exits(1),
    row(
        "watch --emulator --apply",
        &[
            "watch",
            "--emulator",
            "--apply",
            "--interval",
            "1s",
            "-f",
            "webhooks.yaml",
            "-f",
            "watch.yaml",
            "--secrets-out",
            "secrets.json",
        ],
    )
    .until(&["Applied "])
    .allow(SECRETS_FILE),
];

/// What a secret is, for failure messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    WebhookSecret,
    Token,
    ApiKey,
    Password,
    /// The password of a webhook's url, as the emulator holds it.
    UrlPassword,
    /// A value of the config's environment.
    EnvValue,
    /// A url password written literally in a config.
    ConfigLiteral,
    /// A credential or secret given in the environment (`VNTANA_API_KEY`...).
    Credential,
}

/// One secret: its kind, whose it is, and its value (never printed).
struct Known {
    kind: Kind,
    of: String,
    value: String,
}

impl Known {
    fn label(&self) -> String {
        let kind = match self.kind {
            Kind::WebhookSecret => "webhook secret",
            Kind::Token => "token",
            Kind::ApiKey => "API key",
            Kind::Password => "password",
            Kind::UrlPassword => "url password",
            Kind::EnvValue => "environment value",
            Kind::ConfigLiteral => "url password written in a config",
            Kind::Credential => "credential",
        };
        format!("{kind} of {}", self.of)
    }
}

/// Where a text was found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    Stdout,
    Stderr,
    File(String),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Stdout => f.write_str("stdout"),
            Place::Stderr => f.write_str("stderr"),
            Place::File(name) => write!(f, "the file {name}"),
        }
    }
}

/// Every secret seen so far: once known, a secret stays forbidden (a rotated-out secret is
/// still one).
#[derive(Default)]
struct Secrets {
    known: Vec<Known>,
    /// Each webhook's current secret, by `org/name`.
    current: BTreeMap<String, String>,
}

impl Secrets {
    fn add(&mut self, kind: Kind, of: impl Into<String>, value: &str) {
        // Short values would match by chance; every secret of these scenarios is longer. A
        // value may be known as several kinds (an env value that is also a url password): a
        // place may show it only if it may show every one of them.
        if value.len() >= 12
            && !self
                .known
                .iter()
                .any(|k| k.kind == kind && k.value == value)
        {
            self.known.push(Known {
                kind,
                of: of.into(),
                value: value.to_owned(),
            });
        }
    }

    /// The secrets of an emulator state (`GET /_emulator/state` or a state file).
    fn learn(&mut self, state: &Value) {
        let list = |name: &str| state[name].as_array().cloned().unwrap_or_default();
        let slugs: BTreeMap<String, String> = list("organizations")
            .iter()
            .map(|o| (text(&o["uuid"]), text(&o["slug"])))
            .collect();
        let emails: BTreeMap<String, String> = list("users")
            .iter()
            .map(|u| (text(&u["uuid"]), text(&u["email"])))
            .collect();
        self.current.clear();
        for webhook in list("webhooks") {
            let slug = slugs
                .get(&text(&webhook["organizationUuid"]))
                .cloned()
                .unwrap_or_default();
            let key = format!("{slug}/{}", text(&webhook["name"]));
            self.add(Kind::WebhookSecret, &key, &text(&webhook["secret"]));
            self.current.insert(key.clone(), text(&webhook["secret"]));
            if let Some(password) = url_password(&text(&webhook["url"])) {
                self.add(Kind::UrlPassword, &key, &password);
            }
        }
        for token in list("tokens") {
            let user = emails
                .get(&text(&token["user"]))
                .cloned()
                .unwrap_or_default();
            let of = format!("{} ({})", user, text(&token["scope"]["kind"]));
            self.add(Kind::Token, of, &text(&token["token"]));
        }
        for user in list("users") {
            let email = text(&user["email"]);
            self.add(Kind::Password, &email, &text(&user["password"]));
            self.add(Kind::ApiKey, &email, &text(&user["apiKey"]));
        }
    }

    /// The secrets of a command's environment.
    fn learn_env(&mut self, env: &[(String, String)]) {
        for (name, value) in env {
            if CONFIG_ENV.iter().any(|(n, _)| n == name) {
                self.add(Kind::EnvValue, format!("${name}"), value);
            }
            if CREDENTIAL_ENV.contains(&name.as_str()) {
                self.add(Kind::Credential, format!("${name}"), value);
            }
            if let Some(password) = url_password(value) {
                self.add(Kind::UrlPassword, format!("${name}"), &password);
            }
        }
    }

    /// `text` with every known secret replaced by its label, for failure messages.
    fn redact(&self, text: &str) -> String {
        self.known.iter().fold(text.to_owned(), |text, known| {
            text.replace(&known.value, &format!("<{}>", known.label()))
        })
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn url_password(url: &str) -> Option<String> {
    url::Url::parse(url).ok()?.password().map(str::to_owned)
}

/// Whether `allow` lets `known` show in `place`.
fn permits(allow: &[Allow], place: &Place, known: &Known, secrets: &Secrets) -> bool {
    allow.iter().any(|allow| match *allow {
        Allow::SecretsFile(file) => {
            *place == Place::File(file.to_owned()) && known.kind == Kind::WebhookSecret
        }
        Allow::SecretOf(webhook) => {
            *place == Place::Stdout
                && known.kind == Kind::WebhookSecret
                && secrets.current.get(webhook) == Some(&known.value)
        }
        Allow::LiteralIn(file) => {
            *place == Place::File(file.to_owned()) && known.kind == Kind::ConfigLiteral
        }
        Allow::LiveValues => known.kind == Kind::EnvValue,
    })
}

/// A child process whose output is collected as it comes.
struct Process {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Process {
    fn spawn(mut command: std::process::Command) -> Process {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run the binary");
        let collect = |mut stream: Box<dyn Read + Send>| {
            let all = Arc::new(Mutex::new(String::new()));
            let sink = all.clone();
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buffer) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buffer[..n]));
                }
            });
            all
        };
        let stdout = collect(Box::new(child.stdout.take().unwrap()));
        let stderr = collect(Box::new(child.stderr.take().unwrap()));
        Process {
            child,
            stdout,
            stderr,
        }
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn printed(&self, text: &str) -> bool {
        self.stdout().contains(text) || self.stderr().contains(text)
    }

    /// SIGTERM, and the exit code (killed after `LIVENESS`: -1).
    async fn terminate(&mut self) -> i32 {
        let pid = self.child.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status();
        self.wait().await.unwrap_or(-1)
    }

    /// The exit code, waiting up to `LIVENESS`; `None` (and the process killed) if it did not
    /// end.
    async fn wait(&mut self) -> Option<i32> {
        let deadline = Instant::now() + LIVENESS;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader threads take the last bytes.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Some(status.code().unwrap_or(-1));
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the commands of a scenario find the platform.
enum Platform {
    /// `vntana-webhooks -vvv emulator` with its address in `VNTANA_API_URL`; its own output
    /// is scanned at the end.
    Standalone {
        emulator: Process,
        url: String,
        /// Its start-up lines.
        startup: String,
        _state_dir: tempfile::TempDir,
    },
    /// `--emulator`: the state is `.vntana-emulator/state.json` of the working directory.
    Embedded,
}

/// The embedded emulator's state file, relative to the working directory.
const EMBEDDED_STATE: &str = ".vntana-emulator/state.json";

struct Scenario {
    dir: tempfile::TempDir,
    platform: Platform,
    env: Vec<(String, String)>,
    relay_port: u16,
    secrets: Secrets,
    failures: Vec<String>,
    http: reqwest::Client,
}

impl Scenario {
    fn new(platform: Platform) -> Scenario {
        let dir = tempfile::tempdir().unwrap();
        for (name, contents) in fixtures() {
            std::fs::write(dir.path().join(name), contents).unwrap();
        }
        // A free port for `listen`, named in the relay webhook's url before listen starts.
        let relay_port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut env: Vec<(String, String)> = CONFIG_ENV
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        env.push(("RELAY_PORT".into(), relay_port.to_string()));
        match &platform {
            Platform::Standalone { url, .. } => {
                env.push(("VNTANA_API_URL".into(), url.clone()));
                env.push(("VNTANA_API_KEY".into(), DEMO_KEY.into()));
            }
            // Ignored with --emulator (product.md); a leak of them would still show.
            Platform::Embedded => {
                env.push(("VNTANA_API_URL".into(), "http://127.0.0.1:1".into()));
                env.push(("VNTANA_API_KEY".into(), "ignored-api-key-41c7d2".into()));
            }
        }
        let mut secrets = Secrets::default();
        secrets.add(Kind::ConfigLiteral, "literal.yaml", LITERAL_PASSWORD);
        secrets.add(Kind::ApiKey, "bad-seed.yaml", SEED_KEY);
        secrets.add(Kind::Password, "bad-seed.yaml", SEED_PASSWORD);
        secrets.add(Kind::Token, "broken-state.json", STATE_TOKEN);
        secrets.add(Kind::WebhookSecret, "bad-secrets.json", FILE_SECRET);
        secrets.learn_env(&env);
        Scenario {
            dir,
            platform,
            env,
            relay_port,
            secrets,
            failures: Vec::new(),
            http: reqwest::Client::new(),
        }
    }

    /// A standalone emulator at `-vvv`, its state in a file of its own directory.
    fn standalone() -> Scenario {
        let state_dir = tempfile::tempdir().unwrap();
        let state = state_dir.path().join("state.json");
        let mut emulator = command(state_dir.path());
        emulator.args([
            "-vvv",
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--state",
            state.to_str().unwrap(),
        ]);
        let emulator = Process::spawn(emulator);
        let deadline = Instant::now() + LIVENESS;
        let startup = loop {
            let printed = emulator.stdout();
            // Up to the end of the key's line, once it is all there.
            if let Some(at) = printed.find("export VNTANA_API_KEY=")
                && let Some(end) = printed[at..].find('\n')
            {
                break printed[..=at + end].to_owned();
            }
            assert!(Instant::now() < deadline, "the emulator printed no address");
            std::thread::sleep(Duration::from_millis(20));
        };
        let url = startup
            .lines()
            .find_map(|l| l.strip_prefix("export VNTANA_API_URL="))
            .expect("the emulator's address")
            .to_owned();
        Scenario::new(Platform::Standalone {
            emulator,
            url,
            startup,
            _state_dir: state_dir,
        })
    }

    fn api(&self) -> &str {
        match &self.platform {
            Platform::Standalone { url, .. } => url,
            Platform::Embedded => "http://127.0.0.1:1",
        }
    }

    /// The emulator's whole state (`Null` before the embedded one first ran).
    async fn state(&self) -> Value {
        match &self.platform {
            Platform::Standalone { url, .. } => self
                .http
                .get(format!("{url}/_emulator/state"))
                .send()
                .await
                .expect("GET /_emulator/state")
                .json()
                .await
                .expect("the state"),
            Platform::Embedded => std::fs::read(self.dir.path().join(EMBEDDED_STATE))
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .unwrap_or(Value::Null),
        }
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) {
        let mut request = self.http.request(method, format!("{}{path}", self.api()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.expect("a control request");
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
    }

    /// The uuid of an organization of the state.
    fn org_uuid(state: &Value, slug: &str) -> String {
        state["organizations"]
            .as_array()
            .and_then(|orgs| orgs.iter().find(|o| o["slug"] == slug))
            .map(|o| text(&o["uuid"]))
            .unwrap_or_default()
    }

    /// `text` with the row placeholders filled in.
    fn fill(&self, text: &str, state: &Value) -> String {
        let mut filled = text
            .replace("{api}", self.api())
            .replace(
                "{api_with_password}",
                &self
                    .api()
                    .replace("http://", "http://apiuser:api-url-password-31d7c8@"),
            )
            .replace("{relay_port}", &self.relay_port.to_string())
            .replace("{acme}", &Scenario::org_uuid(state, "acme-3d"));
        for (prefix, signed) in [("{secret:", false), ("{signature:", true)] {
            while let Some(start) = filled.find(prefix) {
                let end = start + filled[start..].find('}').expect("a closed placeholder");
                let webhook = &filled[start + prefix.len()..end];
                let secret = self
                    .secrets
                    .current
                    .get(webhook)
                    .unwrap_or_else(|| panic!("no webhook {webhook}"))
                    .clone();
                let value = if signed {
                    vntana_webhooks::signature::sign(&secret, TIMESTAMP, BODY.as_bytes())
                } else {
                    secret
                };
                filled.replace_range(start..=end, &value);
            }
        }
        filled
    }

    /// The owner's organization tokens for acme-3d in `state`.
    fn owner_tokens(state: &Value) -> usize {
        let owner = state["users"]
            .as_array()
            .and_then(|users| users.iter().find(|u| u["email"] == OWNER_EMAIL))
            .map(|u| text(&u["uuid"]))
            .unwrap_or_default();
        let acme = Scenario::org_uuid(state, "acme-3d");
        state["tokens"].as_array().map_or(0, |tokens| {
            tokens
                .iter()
                .filter(|t| {
                    text(&t["user"]) == owner
                        && t["scope"]["kind"] == "organization"
                        && text(&t["scope"]["organization"]) == acme
                })
                .count()
        })
    }

    /// Every file under the working directory, with its bytes.
    fn files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, root: &Path, into: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, root, into);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    into.insert(path.strip_prefix(root).unwrap().to_path_buf(), bytes);
                }
            }
        }
        let mut files = BTreeMap::new();
        walk(self.dir.path(), self.dir.path(), &mut files);
        files
    }

    /// Waits for the row's end, doing what it does meanwhile; the exit code (`None`: still
    /// running after `LIVENESS`, and killed).
    async fn drive(&self, row: &Row, process: &mut Process, before: &Value) -> Option<i32> {
        let baseline = Scenario::owner_tokens(before);
        let (mut revoked, mut fired) = (0, false);
        let deadline = Instant::now() + LIVENESS;
        loop {
            match row.meanwhile {
                Meanwhile::Revoke(times) if revoked < times => {
                    // The command's mints: all new ones but the ones made here.
                    let ours = usize::try_from(revoked).unwrap();
                    let by_command =
                        Scenario::owner_tokens(&self.state().await).saturating_sub(baseline + ours);
                    if by_command > ours {
                        let acme = Scenario::org_uuid(before, "acme-3d");
                        raw::org_token(self.api(), DEMO_KEY, &acme).await;
                        revoked += 1;
                    }
                }
                Meanwhile::Fire {
                    after,
                    organization,
                    event,
                } if !fired && process.printed(after) => {
                    let body = json!({"organization": organization, "event": event});
                    self.control(reqwest::Method::POST, "/_emulator/events", Some(body))
                        .await;
                    fired = true;
                }
                _ => {}
            }
            match row.ends {
                Ends::Exits(_) => {
                    if let Some(status) = process.child.try_wait().unwrap() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        break Some(status.code().unwrap_or(-1));
                    }
                }
                Ends::Until(texts) => {
                    if texts.iter().all(|t| process.printed(t)) {
                        break Some(process.terminate().await);
                    }
                    if let Some(status) = process.child.try_wait().unwrap() {
                        break Some(status.code().unwrap_or(-1));
                    }
                }
            }
            if Instant::now() > deadline {
                let _ = process.child.kill();
                let _ = process.child.wait();
                break None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Runs one row and scans what it printed and wrote.
    async fn run(&mut self, row: &Row) {
        let before = self.state().await;
        self.secrets.learn(&before);
        if let Some(faults) = row.faults {
            let faults: Value = serde_json::from_str(&self.fill(faults, &before)).unwrap();
            self.control(reqwest::Method::POST, "/_emulator/faults", Some(faults))
                .await;
        }
        let mut env: Vec<(String, String)> = self
            .env
            .iter()
            .filter(|(name, _)| {
                !row.unset.contains(&name.as_str()) && !row.env.iter().any(|(n, _)| n == name)
            })
            .cloned()
            .collect();
        env.extend(
            row.env
                .iter()
                .map(|(name, value)| ((*name).to_owned(), self.fill(value, &before))),
        );
        self.secrets.learn_env(&env);
        let files_before = self.files();
        let mut command = command(self.dir.path());
        command.arg("-vvv");
        command.args(row.args.iter().map(|a| self.fill(a, &before)));
        command.envs(env.iter().map(|(n, v)| (n, v)));
        let mut process = Process::spawn(command);

        let code = self.drive(row, &mut process, &before).await;
        if row.faults.is_some() {
            self.control(reqwest::Method::DELETE, "/_emulator/faults", None)
                .await;
        }
        let after = self.state().await;
        self.secrets.learn(&after);
        let (stdout, stderr) = (process.stdout(), process.stderr());
        drop(process);

        self.check(row, code, &stdout, &stderr);
        self.scan(row.name, &Place::Stdout, &stdout, row.allow);
        self.scan(row.name, &Place::Stderr, &stderr, row.allow);
        for (path, bytes) in self.files() {
            if files_before.get(&path) == Some(&bytes) || path == Path::new(EMBEDDED_STATE) {
                continue;
            }
            let place = Place::File(path.display().to_string());
            self.scan(
                row.name,
                &place,
                &String::from_utf8_lossy(&bytes),
                row.allow,
            );
        }
        if let Some(file) = row.stdout_to {
            std::fs::write(self.dir.path().join(file), &stdout).unwrap();
        }
    }

    /// Records a wrong exit code, or a proof text the run did not print.
    fn check(&mut self, row: &Row, code: Option<i32>, stdout: &str, stderr: &str) {
        let expected = match row.ends {
            Ends::Exits(code) => code,
            Ends::Until(_) => 0,
        };
        let printed = format!("{stdout}{stderr}");
        let missing: Vec<&str> = match row.ends {
            Ends::Until(texts) => texts.iter().chain(row.shows).copied().collect(),
            Ends::Exits(_) => row.shows.to_vec(),
        }
        .into_iter()
        .filter(|t| !printed.contains(t))
        .collect();
        let unwanted: Vec<&str> = row
            .lacks
            .iter()
            .copied()
            .filter(|t| printed.contains(t))
            .collect();
        if code != Some(expected) || !missing.is_empty() || !unwanted.is_empty() {
            let tail: String = {
                let redacted = self.secrets.redact(stderr);
                let skip = redacted.chars().count().saturating_sub(2000);
                redacted.chars().skip(skip).collect()
            };
            self.failures.push(format!(
                "`{}`: exit {code:?} (expected {expected}), missing {missing:?}, unwanted {unwanted:?}; stdout:\n{}\nstderr (end):\n{tail}",
                row.name,
                self.secrets.redact(stdout)
            ));
        }
    }

    /// Records every known secret `text` shows that `allow` does not let it.
    fn scan(&mut self, name: &str, place: &Place, text: &str, allow: &[Allow]) {
        let mut reported: Vec<&str> = Vec::new();
        for known in &self.secrets.known {
            if text.contains(&known.value)
                && !permits(allow, place, known, &self.secrets)
                && !reported.contains(&known.value.as_str())
            {
                reported.push(&known.value);
                self.failures
                    .push(format!("`{name}`: {place} shows the {}", known.label()));
            }
        }
    }

    /// Stops a standalone emulator and scans everything it printed: its start-up lines may
    /// show its own demo API key, and nothing else may show a secret (its log names requests
    /// and deliveries, not what they carry).
    async fn stop_emulator(&mut self) {
        let Platform::Standalone {
            emulator, startup, ..
        } = &mut self.platform
        else {
            return;
        };
        let code = emulator.terminate().await;
        let (startup, stdout, stderr) = (startup.clone(), emulator.stdout(), emulator.stderr());
        if code != 0 {
            self.failures
                .push(format!("the emulator exited {code} on SIGTERM"));
        }
        let mut startup_shows: Vec<String> = self
            .secrets
            .known
            .iter()
            .filter(|k| startup.contains(&k.value) && k.value != DEMO_KEY)
            .map(|k| format!("`emulator -vvv`: its start-up lines show the {}", k.label()))
            .collect();
        if !startup.contains(DEMO_KEY) {
            startup_shows.push("`emulator -vvv`: its start-up lines lack its demo key".into());
        }
        self.failures.append(&mut startup_shows);
        let rest = stdout.strip_prefix(&startup).unwrap_or(&stdout).to_owned();
        let name = "emulator -vvv (serving every row)";
        self.scan(name, &Place::Stdout, &rest, &[]);
        self.scan(name, &Place::Stderr, &stderr, &[]);
        for proof in [
            "emulator: POST /v1/webhooks -> 200",
            "product.added to http://relay:****@127.0.0.1",
        ] {
            if !stderr.contains(proof) {
                self.failures
                    .push(format!("`{name}`: its log lacks `{proof}`"));
            }
        }
    }

    #[track_caller]
    fn assert_clean(&self, rows: usize) {
        assert!(
            self.failures.is_empty(),
            "{} problem(s) in {rows} commands:\n{}",
            self.failures.len(),
            self.failures.join("\n\n")
        );
        assert!(
            self.secrets
                .known
                .iter()
                .any(|k| k.kind == Kind::WebhookSecret)
                && self.secrets.known.iter().any(|k| k.kind == Kind::Token),
            "the scan knew no webhook secret or token: it proved nothing"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_command_against_a_standalone_emulator_shows_a_secret_where_the_spec_forbids_it() {
    let mut scenario = Scenario::standalone();
    for row in STANDALONE {
        scenario.run(row).await;
    }
    scenario.stop_emulator().await;
    scenario.assert_clean(STANDALONE.len() + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_command_against_the_embedded_emulator_shows_a_secret_where_the_spec_forbids_it() {
    let mut scenario = Scenario::new(Platform::Embedded);
    for row in EMBEDDED {
        scenario.run(row).await;
    }
    scenario.assert_clean(EMBEDDED.len());
}
