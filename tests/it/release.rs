//! Shipping: the release workflow, `cargo binstall`'s metadata and the action's installer agree
//! on the archives' names and layout and on the platforms; and every workflow this repository
//! ships or recommends pins its actions to commits, grants least privilege and bounds its jobs.

use std::collections::BTreeSet;

use serde_json::Value;

const CARGO_TOML: &str = include_str!("../../Cargo.toml");
const RELEASE: &str = include_str!("../../.github/workflows/release.yml");
const CI: &str = include_str!("../../.github/workflows/ci.yml");
const ACTION: &str = include_str!("../../action.yml");
const INSTALL: &str = include_str!("../../action/install.sh");
const RECIPE: &str = include_str!("../../examples/ci/github-actions.yml");

fn yaml(name: &str, text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `key = "value"` of a section of Cargo.toml (enough for the flat sections read here).
fn toml_value(section: &str, key: &str) -> Option<String> {
    let mut inside = false;
    for line in CARGO_TOML.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == format!("[{section}]");
            continue;
        }
        if inside
            && let Some((k, v)) = line.split_once(" = ")
            && k == key
        {
            return Some(v.trim_matches('"').to_owned());
        }
    }
    None
}

/// The targets of the release workflow's build matrix.
fn release_targets() -> Vec<String> {
    let doc = yaml("release.yml", RELEASE);
    doc["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["target"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_release_builds_every_platform_the_issue_names() {
    let targets: BTreeSet<String> = release_targets().into_iter().collect();
    let expected: BTreeSet<String> = [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(targets, expected);
    assert!(
        RELEASE.contains(&format!("-eq {} ]", expected.len())),
        "SHA256SUMS is checked to list every archive"
    );
    let doc = yaml("release.yml", RELEASE);
    assert_eq!(doc["on"]["push"]["tags"], serde_json::json!(["v*"]));
}

#[test]
fn binstall_the_release_and_the_action_agree_on_the_archives() {
    let version = toml_value("package", "version").unwrap();
    let repository = toml_value("package", "repository").unwrap();
    let meta = "package.metadata.binstall";
    let pkg_url = toml_value(meta, "pkg-url").unwrap();
    let bin_dir = toml_value(meta, "bin-dir").unwrap();
    assert_eq!(toml_value(meta, "pkg-fmt").as_deref(), Some("tgz"));
    let windows = "x86_64-pc-windows-msvc";
    assert_eq!(
        toml_value(&format!("{meta}.overrides.{windows}"), "pkg-fmt").as_deref(),
        Some("zip")
    );

    // The release workflow's names, as its Package step writes them.
    assert!(RELEASE.contains(r#"name="vntana-webhooks-$VERSION-$TARGET""#));
    assert!(RELEASE.contains(r#"tar -czf "$name.tar.gz" "$name""#));
    assert!(RELEASE.contains(r#"7z a -tzip -bd "$name.zip" "$name""#));
    assert!(RELEASE.contains(r#"version="${GITHUB_REF_NAME#v}""#));
    // The action's installer unpacks the same folder.
    assert!(INSTALL.contains(r#"archive="vntana-webhooks-$version-$target.$ext""#));
    assert!(INSTALL.contains(r#""$tmp/unpacked/vntana-webhooks-$version-$target/$exe""#));

    for target in release_targets() {
        let is_windows = target.contains("windows");
        let suffix = if is_windows { ".zip" } else { ".tar.gz" };
        let render = |template: &str| {
            template
                .replace("{ repo }", &repository)
                .replace("{ version }", &version)
                .replace("{ name }", "vntana-webhooks")
                .replace("{ target }", &target)
                .replace("{ archive-suffix }", suffix)
                .replace("{ bin }", "vntana-webhooks")
                .replace("{ binary-ext }", if is_windows { ".exe" } else { "" })
        };
        let archive = format!("vntana-webhooks-{version}-{target}{suffix}");
        assert_eq!(
            render(&pkg_url),
            format!("{repository}/releases/download/v{version}/{archive}")
        );
        let folder = format!("vntana-webhooks-{version}-{target}");
        let exe = if is_windows {
            "vntana-webhooks.exe"
        } else {
            "vntana-webhooks"
        };
        assert_eq!(render(&bin_dir), format!("{folder}/{exe}"));
        assert!(!render(&pkg_url).contains('{'), "{pkg_url}");
    }
}

#[test]
fn the_action_installs_exactly_the_released_platforms() {
    let installs: BTreeSet<String> = INSTALL
        .lines()
        .filter_map(|l| {
            let (_, target) = l.trim().split_once(") echo ")?;
            Some(target.trim_end_matches(" ;;").to_owned())
        })
        .collect();
    let released: BTreeSet<String> = release_targets().into_iter().collect();
    assert_eq!(installs, released);
}

/// Every `uses:` line of a file: the reference, and the comment after it.
fn uses_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim_start().trim_start_matches("- ");
            let rest = rest.strip_prefix("uses:")?.trim();
            let (reference, comment) = rest.split_once(" #").unwrap_or((rest, ""));
            Some((reference.trim().to_owned(), comment.trim().to_owned()))
        })
        .collect()
}

#[test]
fn every_action_is_pinned_to_a_full_commit_with_its_tag_in_a_comment() {
    for (name, text) in [
        ("release.yml", RELEASE),
        ("ci.yml", CI),
        ("action.yml", ACTION),
        ("examples/ci/github-actions.yml", RECIPE),
    ] {
        let uses = uses_lines(text);
        assert!(!uses.is_empty(), "{name}");
        for (reference, comment) in uses {
            let (_, pin) = reference
                .split_once('@')
                .unwrap_or_else(|| panic!("{name}: {reference} has no ref"));
            assert!(
                pin.len() == 40 && pin.chars().all(|c| c.is_ascii_hexdigit()),
                "{name}: {reference} is not pinned to a full commit SHA"
            );
            assert!(
                comment.starts_with('v') && comment[1..].starts_with(|c: char| c.is_ascii_digit()),
                "{name}: {reference} lacks its `# vX.Y.Z` comment"
            );
        }
    }
}

#[test]
fn every_workflow_grants_least_privilege_and_bounds_its_jobs() {
    for (name, text) in [
        ("release.yml", RELEASE),
        ("ci.yml", CI),
        ("examples/ci/github-actions.yml", RECIPE),
    ] {
        let doc = yaml(name, text);
        assert_eq!(
            doc["permissions"],
            serde_json::json!({}),
            "{name}: nothing by default"
        );
        for (job, definition) in doc["jobs"].as_object().unwrap() {
            assert!(
                definition["permissions"].is_object(),
                "{name}: {job} names its permissions"
            );
            assert!(
                definition["timeout-minutes"]
                    .as_u64()
                    .is_some_and(|m| m <= 60),
                "{name}: {job} has no timeout-minutes"
            );
            for step in definition["steps"].as_array().unwrap() {
                if step["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/checkout@"))
                {
                    assert_eq!(
                        step["with"]["persist-credentials"],
                        Value::Bool(false),
                        "{name}: {job} keeps the token in .git/config"
                    );
                }
            }
        }
    }
}
