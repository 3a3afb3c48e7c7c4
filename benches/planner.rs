//! The planner at scale: 100,000 live webhooks over 20 organizations, with a config that
//! keeps most, changes some, creates and prunes others. `cargo bench --bench planner`.

use std::collections::BTreeMap;

use criterion::{Criterion, criterion_group, criterion_main};
use vntana_webhooks::live::{LiveOrganization, LiveSnapshot, LiveWebhook};
use vntana_webhooks::model::{
    Desired, DesiredOrganization, DesiredWebhook, Located, Origin, Prune, Text,
};
use vntana_webhooks::plan::marker::{self, Marker};
use vntana_webhooks::plan::{self, Options};

const ORGANIZATIONS: usize = 20;
const PER_ORGANIZATION: usize = 5_000;

fn located(value: &str) -> Located<Text> {
    Located {
        value: Text::literal(value),
        origin: Origin::default(),
    }
}

fn world() -> (Desired, LiveSnapshot) {
    let mut organizations = BTreeMap::new();
    let mut live = Vec::new();
    for o in 0..ORGANIZATIONS {
        let slug = format!("org-{o:02}");
        let mut webhooks = BTreeMap::new();
        let mut live_hooks = Vec::new();
        for i in 0..PER_ORGANIZATION {
            let name = format!("hook-{i:05}");
            let url = format!("https://receiver.example/{slug}/{i}");
            // 90% unchanged, 5% drifted, 5% pruned; and 5% more created.
            if i % 20 != 19 {
                webhooks.insert(
                    name.clone(),
                    DesiredWebhook {
                        name: name.clone(),
                        url: Text::literal(&url),
                        description: Text::literal("generated"),
                        events: vec![located("product.added"), located("product.completed")],
                        folders: Vec::new(),
                        enabled: true,
                        user_email: Some(Text::literal("ops@acme.example")),
                        secret_rotation: 0,
                        renamed_from: Vec::new(),
                        origin: Origin::default(),
                    },
                );
            }
            let drifted = i % 20 == 7;
            live_hooks.push(LiveWebhook {
                uuid: format!("{o:08}-0000-4000-8000-{i:012}"),
                name: name.clone(),
                description: marker::format(
                    "generated",
                    &Marker {
                        owner: Some("bench".into()),
                        secret_rev: 0,
                    },
                ),
                url: if drifted { format!("{url}/old") } else { url },
                disable: false,
                user_email: "ops@acme.example".into(),
                clients: Vec::new(),
                events: vec!["product.added".into(), "product.completed".into()],
                created: "2026-01-01T00:00:00.000000".into(),
                updated: String::new(),
            });
            if i % 20 == 3 {
                let name = format!("new-{i:05}");
                let mut webhook = webhooks[&format!("hook-{i:05}")].clone();
                webhook.name.clone_from(&name);
                webhooks.insert(name, webhook);
            }
        }
        organizations.insert(
            slug.clone(),
            DesiredOrganization {
                slug: slug.clone(),
                prune: Prune::Marked,
                webhooks,
                origin: Origin::default(),
            },
        );
        live.push(LiveOrganization {
            slug,
            uuid: format!("org-{o}"),
            role: "ORGANIZATION_OWNER".into(),
            folders: None,
            webhooks: live_hooks,
            error: None,
        });
    }
    let desired = Desired {
        owner: Some(Text::literal("bench")),
        organizations,
    };
    let snapshot = LiveSnapshot {
        format_version: 1,
        email: "ops@acme.example".into(),
        catalogue: Vec::new(),
        organizations: live,
    };
    (desired, snapshot)
}

fn planner(c: &mut Criterion) {
    let (desired, live) = world();
    let options = Options {
        force: true,
        ..Options::default()
    };
    let plan = plan::plan(&desired, &live, &options);
    assert_eq!(plan.summary.delete, ORGANIZATIONS * PER_ORGANIZATION / 20);
    let mut group = c.benchmark_group("planner");
    group.sample_size(10);
    group.bench_function("plan 100,000 webhooks", |b| {
        b.iter(|| plan::plan(&desired, &live, &options));
    });
    group.bench_function("render json of 100,000 webhooks", |b| {
        b.iter(|| plan::render::json(&plan));
    });
    group.finish();
}

criterion_group!(benches, planner);
criterion_main!(benches);
