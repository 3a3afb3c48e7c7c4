//! Hostile YAML, generated: the config loader never panics, whatever the bytes, and what it
//! reports prints safely (no raw control or invisible character, no value from the
//! environment). Inputs mix YAML syntax fragments (anchors, aliases, flow and block
//! collections, tags, directives, quotes, `${`), control, bidi and zero-width characters, url
//! passwords, deep nesting and long values. The fast variant runs in CI; raise
//! `PROPTEST_CASES` for a longer run. The cargo-fuzz target in `fuzz/` explores further.

use proptest::prelude::*;
use vntana_webhooks::config;

const FRAGMENTS: &[&str] = &[
    "version: 1\n",
    "organizations:\n",
    "  acme:\n",
    "    webhooks:\n",
    "      w:\n",
    "        url: ",
    "https://x.example",
    "        events: [",
    "product.added",
    "]\n",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    ": ",
    "- ",
    "\n",
    "  ",
    "\t",
    "&a ",
    "*a ",
    "<<: *a\n",
    "!!str ",
    "!!int ",
    "!custom ",
    "'",
    "\"",
    "\\",
    "${",
    "${X}",
    "${BIG}",
    "${X:-${Y}}",
    "$${",
    "}",
    "#",
    "---\n",
    "...\n",
    "? ",
    "|\n",
    ">-\n",
    "%YAML 1.2\n",
    "%YAML 1.1\n",
    "%TAG !! tag:evil.example,2024:\n",
    "!!binary ",
    "!!python/object/apply:os.system ",
    "\"\\e[2J\\u202e\\0\"",
    "https://deploy:pa/ss@pim.example/h",
    "[managed-by:vntana-webhooks]",
    "\r",
    "\u{85}",
    "\u{1b}",
    "\u{202e}",
    "\u{200b}",
    "\u{0}",
    "\u{feff}",
    "\u{7f}",
    "é",
    "🦀",
    "~",
    "null",
    "true",
    "0x1F",
    "1e999",
    "-",
    "prune: all\n",
    "owner: o\n",
];

/// The environment of the generated configs: its values must never be shown.
const SECRET: &str = "prop-s3cr3t";

fn lookup(name: &str) -> Option<String> {
    match name {
        "X" => Some(SECRET.to_owned()),
        "BIG" => Some(SECRET.repeat(1_000)),
        _ => None,
    }
}

fn hostile() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Fragments glued together.
        proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..60)
            .prop_map(|parts| parts.concat().into_bytes()),
        // Arbitrary bytes, often not UTF-8.
        proptest::collection::vec(any::<u8>(), 0..400),
        // Deep nesting of either collection kind.
        (1usize..400, any::<bool>()).prop_map(|(depth, flow)| {
            if flow {
                format!("a: {}1{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
            } else {
                let mut text = String::new();
                for i in 0..depth {
                    text.push_str(&"  ".repeat(i));
                    text.push_str(&format!("k{i}:\n"));
                }
                text.into_bytes()
            }
        }),
        // Long values and many keys.
        (1usize..50_000)
            .prop_map(|n| format!("version: 1\nowner: {}\n", "x".repeat(n)).into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_loader_never_panics_on_hostile_input(bytes in hostile()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hostile.yaml");
        std::fs::write(&path, &bytes).unwrap();
        let loaded = std::panic::catch_unwind(|| config::load(std::slice::from_ref(&path), &lookup));
        prop_assert!(loaded.is_ok(), "the loader panicked on {:?}", String::from_utf8_lossy(&bytes));
        if let Ok(Err(err)) = loaded {
            prop_assert!(!err.problems.is_empty());
            for problem in &err.problems {
                prop_assert!(!problem.message.is_empty());
            }
            let shown = err.to_string();
            prop_assert!(
                shown.chars().all(|c| c == '\n' || !(c.is_control() || config::chars::is_invisible(c))),
                "a raw control or invisible character in {:?}", shown
            );
            prop_assert!(!shown.contains(SECRET), "an env value reached {:?}", shown);
        }
    }
}
