//! Generated worlds for the reliability suites (chaos, crash): an emulator seed and a config
//! over many organizations, where each desired webhook starts in a chosen live state, plus
//! webhooks outside the config's scope that no apply may touch. Also the invariants those
//! suites check on the emulator's state: no duplicate names, the out-of-scope webhooks as they
//! were, and every desired webhook present under the uuid it started with.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};

/// The generated seed's only user: the owner of every organization.
pub const KEY: &str = "generated-world-owner-key";
pub const EMAIL: &str = "ops@world.example";
pub const OWNER: &str = "platform";
/// An organization the config never names; its webhooks are out of scope.
pub const OUTSIDE: &str = "org-outside";

/// What a desired webhook is, live, before the first apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Absent: a create.
    Missing,
    /// Live as desired but without the marker: an adoption.
    Unmarked,
    /// Ours, with another url: an update (counted by the safety guard).
    Drifted,
    /// Ours, at secret revision 0; the config asks for 1: a rotation.
    Rotating,
    /// Ours and as desired.
    Current,
    /// Ours under an earlier name the config lists in `renamedFrom`: a rename in place.
    Renamed,
    /// Two marked copies: the older is kept, the newer deleted as a duplicate.
    Duplicated,
    /// Ours, disabled by the platform: an update that re-enables it.
    Disabled,
}

/// Organizations of `per_org` desired webhooks each, whose `i`-th in organization `o` starts
/// as `starts[o * per_org + i]`. With `extras`, each organization also has a marked webhook
/// absent from the config (pruned: every organization has `prune: true`), an unmarked one and
/// one marked for another owner (both out of scope), and the seed has an organization the
/// config never names.
pub struct World {
    pub orgs: usize,
    pub per_org: usize,
    pub starts: Vec<Start>,
    pub extras: bool,
}

pub fn slug(o: usize) -> String {
    format!("org-{o}")
}

pub fn name(i: usize) -> String {
    format!("hook-{i:02}")
}

fn old_name(i: usize) -> String {
    format!("old-hook-{i:02}")
}

fn url(slug: &str, i: usize) -> String {
    format!("https://hooks.example/{slug}/{}", name(i))
}

fn description(slug: &str, i: usize) -> String {
    format!("Hook {i} of {slug}")
}

fn events(i: usize) -> &'static str {
    if i.is_multiple_of(2) {
        "[product.completed, product.failed]"
    } else {
        "[product.published]"
    }
}

fn folders(i: usize) -> &'static str {
    match i % 3 {
        0 => "[f-a]",
        1 => "[f-a, f-b]",
        _ => "[]",
    }
}

fn marked(description: &str) -> String {
    format!("{description} [managed-by:vntana-webhooks owner:{OWNER}]")
}

/// One webhook of a seed (YAML strings as JSON strings, which YAML reads alike).
struct SeedHook<'a> {
    name: &'a str,
    url: &'a str,
    description: &'a str,
    i: usize,
    disable: bool,
    created: Option<&'a str>,
}

impl SeedHook<'_> {
    fn write(&self, out: &mut String) {
        let _ = write!(
            out,
            "      - name: {}\n        url: {}\n        description: {}\n        events: {}\n        clients: {}\n        userEmail: {EMAIL}\n        disable: {}\n",
            self.name,
            self.url,
            json!(self.description),
            events(self.i),
            folders(self.i),
            self.disable,
        );
        if let Some(created) = self.created {
            let _ = writeln!(out, "        created: {created}");
        }
    }
}

impl World {
    /// A world whose webhooks start in states drawn from `rng`, weighted towards the common
    /// ones: a third current, a fifth missing, the rest spread over the other kinds.
    pub fn random(orgs: usize, per_org: usize, rng: &mut impl Rng) -> World {
        const WEIGHTED: [Start; 15] = [
            Start::Current,
            Start::Current,
            Start::Current,
            Start::Current,
            Start::Current,
            Start::Missing,
            Start::Missing,
            Start::Missing,
            Start::Unmarked,
            Start::Unmarked,
            Start::Drifted,
            Start::Rotating,
            Start::Renamed,
            Start::Duplicated,
            Start::Disabled,
        ];
        World {
            orgs,
            per_org,
            starts: (0..orgs * per_org)
                .map(|_| *WEIGHTED.choose(rng).expect("non-empty"))
                .collect(),
            extras: true,
        }
    }

    pub fn start(&self, o: usize, i: usize) -> Start {
        self.starts[o * self.per_org + i]
    }

    /// How many desired webhooks start as `start`.
    pub fn count(&self, start: Start) -> usize {
        self.starts.iter().filter(|s| **s == start).count()
    }

    /// The plan's summary for this world as it starts.
    pub fn expected_summary(&self) -> Value {
        let of = |kinds: &[Start]| kinds.iter().map(|k| self.count(*k)).sum::<usize>();
        let retired = if self.extras { self.orgs } else { 0 };
        json!({
            "create": of(&[Start::Missing]),
            "update": of(&[Start::Unmarked, Start::Drifted, Start::Renamed, Start::Disabled]),
            "rotate": of(&[Start::Rotating]),
            "delete": of(&[Start::Duplicated]) + retired,
            "unchanged": of(&[Start::Current, Start::Duplicated]),
        })
    }

    /// The emulator seed (format: src/emulator/default-seed.yaml).
    pub fn seed(&self) -> String {
        let mut out = format!("users:\n  - email: {EMAIL}\n    apiKey: {KEY}\n    roles:\n");
        let mut slugs: Vec<String> = (0..self.orgs).map(slug).collect();
        if self.extras {
            slugs.push(OUTSIDE.to_owned());
        }
        for slug in &slugs {
            let _ = write!(
                out,
                "      - organization: {slug}\n        role: ORGANIZATION_OWNER\n"
            );
        }
        out.push_str("organizations:\n");
        for (o, slug) in slugs.iter().enumerate() {
            let _ = write!(
                out,
                "  - slug: {slug}\n    folders:\n      - {{ slug: f-a }}\n      - {{ slug: f-b }}\n      - {{ slug: f-c }}\n    webhooks:\n"
            );
            let before = out.len();
            if o < self.orgs {
                self.seed_desired(&mut out, o);
            }
            if self.extras {
                seed_extras(&mut out, slug, slug == OUTSIDE);
            }
            if out.len() == before {
                out.push_str("      []\n");
            }
        }
        out
    }

    fn seed_desired(&self, out: &mut String, o: usize) {
        let slug = slug(o);
        for i in 0..self.per_org {
            let (name, url, description) = (name(i), url(&slug, i), description(&slug, i));
            let mut hook = SeedHook {
                name: &name,
                url: &url,
                description: &description,
                i,
                disable: false,
                created: None,
            };
            let (marked, drifted, old) = (
                marked(&description),
                url.replace("hooks", "old"),
                old_name(i),
            );
            match self.start(o, i) {
                Start::Missing => continue,
                Start::Unmarked => {}
                Start::Drifted => {
                    hook.description = &marked;
                    hook.url = &drifted;
                }
                Start::Rotating | Start::Current => hook.description = &marked,
                Start::Renamed => {
                    hook.description = &marked;
                    hook.name = &old;
                }
                Start::Disabled => {
                    hook.description = &marked;
                    hook.disable = true;
                }
                Start::Duplicated => {
                    hook.description = &marked;
                    hook.created = Some("2026-01-01T00:00:00");
                    hook.write(out);
                    hook.created = Some("2026-02-01T00:00:00");
                }
            }
            hook.write(out);
        }
    }

    /// The config: every organization with `prune: true` and all its desired webhooks.
    pub fn config(&self) -> String {
        let mut out = format!(
            "version: 1\nowner: {OWNER}\ndefaults:\n  userEmail: {EMAIL}\norganizations:\n"
        );
        for o in 0..self.orgs {
            let slug = slug(o);
            let _ = write!(out, "  {slug}:\n    prune: true\n    webhooks:\n");
            for i in 0..self.per_org {
                let _ = write!(
                    out,
                    "      {}:\n        url: {}\n        description: {}\n        events: {}\n        folders: {}\n",
                    name(i),
                    url(&slug, i),
                    json!(description(&slug, i)),
                    events(i),
                    folders(i),
                );
                match self.start(o, i) {
                    Start::Rotating => out.push_str("        secretRotation: 1\n"),
                    Start::Renamed => {
                        let _ = writeln!(out, "        renamedFrom: [{}]", old_name(i));
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// Writes `seed.yaml` and `config.yaml` into `dir`.
    pub fn write(&self, dir: &Path) {
        std::fs::write(dir.join("seed.yaml"), self.seed()).unwrap();
        std::fs::write(dir.join("config.yaml"), self.config()).unwrap();
    }

    /// Asserts that `after` is this world converged from `before`: each organization holds
    /// exactly its desired webhooks (one each) and its out-of-scope ones; a desired webhook
    /// that was live kept its uuid (renames in place, the oldest duplicate kept); secrets
    /// changed only by rotations; every out-of-scope webhook is exactly as it was.
    #[track_caller]
    pub fn assert_converged(&self, before: &Value, after: &Value, when: &str) {
        assert_no_duplicate_names(after, when);
        let (before_by_org, after_by_org) = (by_org(before), by_org(after));
        let untouched = |state: &BTreeMap<(String, String), Value>| -> Vec<Value> {
            state
                .iter()
                .filter(|((slug, name), _)| out_of_scope(slug, name))
                .map(|(_, w)| w.clone())
                .collect()
        };
        assert_eq!(
            untouched(&before_by_org),
            untouched(&after_by_org),
            "{when}: a webhook outside the config's scope changed"
        );
        let expected = self.orgs * self.per_org + if self.extras { 2 * self.orgs + 2 } else { 0 };
        assert_eq!(
            after["webhooks"].as_array().unwrap().len(),
            expected,
            "{when}: webhooks were lost or left over"
        );
        for o in 0..self.orgs {
            let slug = slug(o);
            for i in 0..self.per_org {
                let start = self.start(o, i);
                let now = after_by_org
                    .get(&(slug.clone(), name(i)))
                    .unwrap_or_else(|| panic!("{when}: {slug}/{} is missing", name(i)));
                let was_named = if start == Start::Renamed {
                    old_name(i)
                } else {
                    name(i)
                };
                let Some(was) = before_by_org.get(&(slug.clone(), was_named)) else {
                    continue;
                };
                assert_eq!(
                    now["uuid"],
                    was["uuid"],
                    "{when}: {slug}/{} ({start:?}) was re-created, not kept",
                    name(i)
                );
                assert_eq!(
                    now["secret"] != was["secret"],
                    start == Start::Rotating,
                    "{when}: {slug}/{} ({start:?}): a secret changed, or a rotation did not",
                    name(i)
                );
            }
        }
    }
}

/// The retired (pruned), hand-made and other-owner webhooks of a configured organization, or
/// the webhooks of the organization the config never names.
fn seed_extras(out: &mut String, slug: &str, outside: bool) {
    let gone = format!("https://gone.example/{slug}");
    let manual = format!("https://manual.example/{slug}");
    let theirs = format!("https://theirs.example/{slug}");
    let hooks = [
        (
            if outside { "hook-00" } else { "retired" },
            &gone,
            marked("Retired"),
        ),
        ("made-by-hand", &manual, "Not ours".to_owned()),
        (
            "other-team",
            &theirs,
            "Theirs [managed-by:vntana-webhooks owner:other-team]".to_owned(),
        ),
    ];
    for (i, (name, url, description)) in hooks.iter().enumerate() {
        if outside && i == 2 {
            break;
        }
        SeedHook {
            name,
            url,
            description,
            i,
            disable: false,
            created: None,
        }
        .write(out);
    }
}

/// Whether a webhook of organization `slug` named `name` is outside every config's scope.
fn out_of_scope(slug: &str, name: &str) -> bool {
    slug == OUTSIDE || name == "made-by-hand" || name == "other-team"
}

/// The uuids of the webhooks of `state` outside the config's scope, and of the organization
/// the config never names: no request's path may hold one.
pub fn out_of_scope_uuids(state: &Value) -> BTreeSet<String> {
    let outside = state["organizations"]
        .as_array()
        .expect("organizations")
        .iter()
        .find(|o| o["slug"] == OUTSIDE)
        .map(|o| o["uuid"].as_str().unwrap().to_owned())
        .expect("the outside organization");
    by_org(state)
        .into_iter()
        .filter(|((slug, name), _)| out_of_scope(slug, name))
        .map(|(_, w)| w["uuid"].as_str().unwrap().to_owned())
        .chain([outside])
        .collect()
}

/// The webhooks of `state` by (organization slug, name); of namesakes, the oldest (the one a
/// plan keeps).
fn by_org(state: &Value) -> BTreeMap<(String, String), Value> {
    let slugs: BTreeMap<&str, &str> = state["organizations"]
        .as_array()
        .expect("organizations")
        .iter()
        .map(|o| (o["uuid"].as_str().unwrap(), o["slug"].as_str().unwrap()))
        .collect();
    let mut webhooks: Vec<&Value> = state["webhooks"]
        .as_array()
        .expect("webhooks")
        .iter()
        .collect();
    // Newest first, so the oldest namesake is the one collected last and kept.
    webhooks.sort_by_key(|w| std::cmp::Reverse(w["created"].as_str().expect("created")));
    webhooks
        .into_iter()
        .map(|w| {
            let slug = slugs[w["organizationUuid"].as_str().unwrap()];
            (
                (slug.to_owned(), w["name"].as_str().unwrap().to_owned()),
                w.clone(),
            )
        })
        .collect()
}

/// How many webhooks of each (organization uuid, name) `state` has.
pub fn name_counts(state: &Value) -> BTreeMap<(String, String), usize> {
    let mut names = BTreeMap::new();
    for webhook in state["webhooks"].as_array().expect("webhooks") {
        let key = (
            webhook["organizationUuid"].as_str().unwrap().to_owned(),
            webhook["name"].as_str().unwrap().to_owned(),
        );
        *names.entry(key).or_default() += 1;
    }
    names
}

/// Asserts that no organization of `state` has more webhooks of one name than `baseline` (the
/// state before any apply) had, or two where it had at most one: an apply never makes a
/// duplicate.
#[track_caller]
pub fn assert_no_new_duplicates(
    state: &Value,
    baseline: &BTreeMap<(String, String), usize>,
    when: &str,
) {
    let duplicates: Vec<_> = name_counts(state)
        .into_iter()
        .filter(|(key, n)| *n > baseline.get(key).copied().unwrap_or(0).max(1))
        .collect();
    assert!(
        duplicates.is_empty(),
        "{when}: duplicate names (organization uuid, name, count): {duplicates:?}"
    );
}

/// Asserts that no organization of `state` has two webhooks of one name.
#[track_caller]
pub fn assert_no_duplicate_names(state: &Value, when: &str) {
    assert_no_new_duplicates(state, &BTreeMap::new(), when);
}
