//! Properties of the planner over random desired and live states: applying a plan to the live
//! model and planning again leaves nothing to do (convergence), and the same inputs give the
//! same bytes (determinism). The "apply" here is a model of what the executor does to the
//! platform: create, update (PUT of the whole target), rotate (the marker's revision) and
//! delete.

use std::collections::BTreeMap;

use proptest::prelude::*;
use vntana_webhooks::live::{LiveOrganization, LiveSnapshot, LiveWebhook};
use vntana_webhooks::model::{
    Desired, DesiredOrganization, DesiredWebhook, Located, Origin, Prune, Text,
};
use vntana_webhooks::plan::marker::{self, Marker};
use vntana_webhooks::plan::{self, ActionKind, Options, Plan, render};

const NAMES: &[&str] = &["alpha", "beta", "gamma", "delta"];
const EVENTS: &[&str] = &["product.added", "product.completed", "product.failed"];
const FOLDERS: &[&str] = &["bags", "shoes"];
const URLS: &[&str] = &["https://a.example/hook", "https://b.example/hook"];
const OWNERS: &[&str] = &["team", "other"];

fn located(value: &str) -> Located<Text> {
    Located {
        value: Text::literal(value),
        origin: Origin::default(),
    }
}

fn subset(items: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(items, 0..=items.len())
        .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

fn desired_webhook() -> impl Strategy<Value = (String, DesiredWebhook)> {
    (
        proptest::sample::select(NAMES),
        proptest::sample::select(URLS),
        proptest::sample::subsequence(EVENTS, 1..=EVENTS.len()),
        subset(FOLDERS),
        any::<bool>(),
        proptest::option::of(proptest::sample::select(
            &["x@acme.example", "y@acme.example"][..],
        )),
        0u64..3,
        proptest::option::of(proptest::sample::select(NAMES)),
        proptest::sample::select(&["", "Some text"][..]),
    )
        .prop_map(
            |(name, url, events, folders, enabled, email, rotation, renamed, description)| {
                let renamed_from = renamed
                    .filter(|old| *old != name)
                    .map(|old| vec![located(old)])
                    .unwrap_or_default();
                (
                    name.to_owned(),
                    DesiredWebhook {
                        name: name.to_owned(),
                        url: Text::literal(url),
                        description: Text::literal(description),
                        events: events.into_iter().map(located).collect(),
                        folders: folders.iter().map(|f| located(f)).collect(),
                        enabled,
                        user_email: email.map(Text::literal),
                        secret_rotation: rotation,
                        renamed_from,
                        origin: Origin::default(),
                    },
                )
            },
        )
}

fn live_webhook() -> impl Strategy<Value = LiveWebhook> {
    (
        proptest::sample::select(NAMES),
        proptest::sample::select(URLS),
        subset(EVENTS),
        subset(FOLDERS),
        any::<bool>(),
        // None: unmarked; Some(None): marked without owner; Some(Some(o)): marked for o.
        proptest::option::of(proptest::option::of(proptest::sample::select(OWNERS))),
        0u64..3,
        0u32..4,
        proptest::sample::select(&["", "Some text"][..]),
    )
        .prop_map(
            |(name, url, events, folders, disable, mark, rev, created, text)| {
                let description = match mark {
                    None => text.to_owned(),
                    Some(owner) => marker::format(
                        text,
                        &Marker {
                            owner: owner.map(str::to_owned),
                            secret_rev: rev,
                        },
                    ),
                };
                LiveWebhook {
                    uuid: String::new(),
                    name: name.to_owned(),
                    description,
                    url: url.to_owned(),
                    disable,
                    user_email: "x@acme.example".to_owned(),
                    clients: folders,
                    events,
                    created: format!("2026-01-0{}T00:00:00.000000", created + 1),
                    updated: String::new(),
                }
            },
        )
}

fn world() -> impl Strategy<Value = (Desired, LiveSnapshot)> {
    (
        proptest::option::of(proptest::sample::select(OWNERS)),
        proptest::collection::vec(desired_webhook(), 0..5),
        proptest::sample::select(&[Prune::Off, Prune::Marked, Prune::All][..]),
        proptest::collection::vec(live_webhook(), 0..7),
    )
        .prop_map(|(owner, desired_hooks, prune, mut live_hooks)| {
            // Renames never name a webhook of the config (the loader refuses that).
            let mut webhooks: BTreeMap<String, DesiredWebhook> =
                desired_hooks.into_iter().collect();
            let names: Vec<String> = webhooks.keys().cloned().collect();
            let mut claimed = Vec::new();
            for webhook in webhooks.values_mut() {
                webhook.renamed_from.retain(|old| {
                    !names.contains(&old.value.value) && !claimed.contains(&old.value.value)
                });
                claimed.extend(webhook.renamed_from.iter().map(|o| o.value.value.clone()));
            }
            for (i, webhook) in live_hooks.iter_mut().enumerate() {
                webhook.uuid = format!("00000000-0000-4000-8000-{i:012}");
            }
            let desired = Desired {
                owner: owner.map(Text::literal),
                organizations: [(
                    "acme".to_owned(),
                    DesiredOrganization {
                        slug: "acme".into(),
                        prune,
                        webhooks,
                        origin: Origin::default(),
                    },
                )]
                .into_iter()
                .collect(),
            };
            let live = LiveSnapshot {
                format_version: 1,
                email: "owner@acme.example".into(),
                catalogue: Vec::new(),
                organizations: vec![LiveOrganization {
                    slug: "acme".into(),
                    uuid: "org".into(),
                    role: "ORGANIZATION_OWNER".into(),
                    folders: None,
                    webhooks: live_hooks,
                    error: None,
                }],
            };
            (desired, live)
        })
}

/// What the executor does to the platform, on the model.
fn apply(plan: &Plan, live: &mut LiveSnapshot, next_uuid: &mut usize) {
    for org_plan in &plan.organizations {
        let org = live
            .organizations
            .iter_mut()
            .find(|o| o.slug == org_plan.slug)
            .unwrap();
        for action in &org_plan.actions {
            let write = |webhook: &mut LiveWebhook, target: &plan::model::TargetState| {
                webhook.name.clone_from(&target.name);
                webhook.url.clone_from(&target.url.value);
                webhook.description = marker::format(&target.description.value, &target.marker);
                webhook.events.clone_from(&target.events);
                webhook.clients.clone_from(&target.folders);
                webhook.disable = !target.enabled;
                webhook.user_email.clone_from(&target.user_email.value);
            };
            match action.action {
                ActionKind::Create => {
                    *next_uuid += 1;
                    let mut webhook = LiveWebhook {
                        uuid: format!("ffffffff-0000-4000-8000-{next_uuid:012}"),
                        name: String::new(),
                        description: String::new(),
                        url: String::new(),
                        disable: false,
                        user_email: String::new(),
                        clients: Vec::new(),
                        events: Vec::new(),
                        created: "2099-01-01T00:00:00.000000".into(),
                        updated: String::new(),
                    };
                    write(&mut webhook, action.target.as_ref().unwrap());
                    org.webhooks.push(webhook);
                }
                ActionKind::Update | ActionKind::Rotate => {
                    if let Some(target) = &action.target {
                        let uuid = action.uuid.as_ref().unwrap();
                        let webhook = org.webhooks.iter_mut().find(|w| &w.uuid == uuid).unwrap();
                        write(webhook, target);
                    }
                }
                ActionKind::Delete => {
                    let uuid = action.uuid.as_ref().unwrap();
                    org.webhooks.retain(|w| &w.uuid != uuid);
                }
            }
        }
        for webhook in &mut org.webhooks {
            webhook.events.sort();
            webhook.clients.sort();
        }
        org.webhooks
            .sort_by(|a, b| (&a.name, &a.created, &a.uuid).cmp(&(&b.name, &b.created, &b.uuid)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn applying_a_plan_then_planning_again_leaves_nothing_to_do((desired, mut live) in world()) {
        let options = Options { force: true, ..Options::default() };
        let first = plan::plan(&desired, &live, &options);
        let mut next_uuid = 0;
        apply(&first, &mut live, &mut next_uuid);
        let second = plan::plan(&desired, &live, &options);
        prop_assert!(
            !second.has_actions(),
            "first:\n{}\nsecond:\n{}",
            render::text(&first, &render::plain),
            render::text(&second, &render::plain)
        );
    }

    #[test]
    fn the_same_inputs_give_the_same_bytes((desired, live) in world()) {
        let options = Options::default();
        let a = plan::plan(&desired, &live, &options);
        let b = plan::plan(&desired.clone(), &live.clone(), &options);
        prop_assert_eq!(render::json(&a), render::json(&b));
        prop_assert_eq!(render::text(&a, &render::plain), render::text(&b, &render::plain));
        prop_assert_eq!(render::markdown(&a), render::markdown(&b));
    }
}
