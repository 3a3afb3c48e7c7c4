//! The container image (`Dockerfile`), read as text, since no container engine runs here: both
//! images run the binary as a numeric non-root user, their bases are pinned by a tag (never
//! `latest`, and a digest only in full), they carry the OCI labels, and the stage that takes
//! the release workflow's binaries reads them where the workflow puts them.

use std::collections::BTreeMap;

const DOCKERFILE: &str = include_str!("../../Dockerfile");
const DOCKERIGNORE: &str = include_str!("../../.dockerignore");
const RELEASE: &str = include_str!("../../.github/workflows/release.yml");
const CARGO_TOML: &str = include_str!("../../Cargo.toml");

/// Where the images put the binary.
const BINARY: &str = "/usr/local/bin/vntana-webhooks";

/// One instruction: its keyword (upper case) and the rest of its (joined) lines.
#[derive(Debug, Clone)]
struct Instruction {
    keyword: String,
    rest: String,
}

/// One build stage: its `FROM` image (or earlier stage), its name, its instructions.
#[derive(Debug)]
struct Stage {
    from: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

impl Stage {
    fn all(&self, keyword: &str) -> impl Iterator<Item = &str> {
        self.instructions
            .iter()
            .filter(move |i| i.keyword == keyword)
            .map(|i| i.rest.as_str())
    }

    fn last(&self, keyword: &str) -> Option<&str> {
        self.all(keyword).last()
    }
}

/// The instructions of a Dockerfile: comments dropped, `\`-continued lines joined.
fn instructions(text: &str) -> Vec<Instruction> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            joined.push(std::mem::take(&mut current));
        }
    }
    assert!(current.is_empty(), "a continued line at the end");
    joined
        .into_iter()
        .map(|line| {
            let (keyword, rest) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
            Instruction {
                keyword: keyword.to_ascii_uppercase(),
                rest: rest.trim().to_owned(),
            }
        })
        .collect()
}

/// The global `ARG`s (before the first `FROM`) and the stages.
fn parse() -> (BTreeMap<String, String>, Vec<Stage>) {
    let mut globals = BTreeMap::new();
    let mut stages: Vec<Stage> = Vec::new();
    for instruction in instructions(DOCKERFILE) {
        if instruction.keyword == "FROM" {
            let words: Vec<&str> = instruction
                .rest
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let name = match words.as_slice() {
                [_] => None,
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some((*name).to_owned()),
                _ => panic!("an odd FROM: {}", instruction.rest),
            };
            stages.push(Stage {
                from: words[0].to_owned(),
                name,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(instruction);
        } else {
            assert_eq!(instruction.keyword, "ARG", "before the first FROM");
            let (name, default) = instruction
                .rest
                .split_once('=')
                .unwrap_or((&instruction.rest, ""));
            globals.insert(name.to_owned(), default.to_owned());
        }
    }
    (globals, stages)
}

/// The stages that make an image users run: those with an entrypoint.
fn images(stages: &[Stage]) -> Vec<&Stage> {
    let images: Vec<&Stage> = stages
        .iter()
        .filter(|s| s.last("ENTRYPOINT").is_some())
        .collect();
    assert_eq!(images.len(), 2, "the default image and --target alpine");
    images
}

/// `KEY=VALUE` pairs of a `LABEL` or `ENV` line, double quotes removed.
fn pairs(rest: &str) -> BTreeMap<String, String> {
    let mut pairs = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let key: String = std::iter::from_fn(|| chars.next_if(|&c| c != '=')).collect();
        if key.is_empty() {
            break;
        }
        assert_eq!(chars.next(), Some('='), "{rest}");
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            for c in chars.by_ref() {
                if c == '"' {
                    break;
                }
                value.push(c);
            }
        } else {
            value.extend(std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())));
        }
        pairs.insert(key, value);
    }
    pairs
}

#[test]
fn the_dockerfile_parses_into_the_stages_it_describes() {
    let (globals, stages) = parse();
    let names: Vec<Option<&str>> = stages.iter().map(|s| s.name.as_deref()).collect();
    assert_eq!(
        names,
        [
            Some("source"),
            Some("prebuilt"),
            Some("binary"),
            Some("alpine"),
            None
        ]
    );
    // The default builds from source, so `docker build .` works in a plain clone.
    assert_eq!(globals.get("BINARY").map(String::as_str), Some("source"));
    assert_eq!(stages[2].from, "${BINARY}");
}

#[test]
fn both_images_run_the_binary_as_a_numeric_non_root_user_in_repo() {
    let (_, stages) = parse();
    let images = images(&stages);
    // The default image is the last stage, what `docker build` makes without --target.
    assert!(stages.last().unwrap().last("ENTRYPOINT").is_some());
    for stage in images {
        let at = stage.name.as_deref().unwrap_or("the last stage");
        let user = stage
            .last("USER")
            .unwrap_or_else(|| panic!("{at}: no USER"));
        let ids: Vec<u32> = user
            .split(':')
            .map(|id| {
                id.parse()
                    .unwrap_or_else(|_| panic!("{at}: USER {user} is not numeric"))
            })
            .collect();
        assert!(
            !ids.is_empty() && ids.iter().all(|&id| id != 0),
            "{at}: {user}"
        );
        assert_eq!(ids[0], 65532, "{at}: the uid deploy/kubernetes runs as");

        let entrypoint: Vec<String> = serde_json::from_str(stage.last("ENTRYPOINT").unwrap())
            .unwrap_or_else(|e| panic!("{at}: ENTRYPOINT is not in exec form: {e}"));
        assert_eq!(entrypoint, [BINARY], "{at}");
        let copied = stage.all("COPY").any(|copy| {
            copy.starts_with("--from=binary ") && copy.ends_with(&format!(" {BINARY}"))
        });
        assert!(copied, "{at}: the binary is not copied to {BINARY}");

        assert_eq!(stage.last("WORKDIR"), Some("/repo"), "{at}");
        // The user comes last but for the entrypoint: nothing runs as root after it.
        let after_user = stage
            .instructions
            .iter()
            .rev()
            .take_while(|i| i.keyword != "USER")
            .map(|i| i.keyword.as_str())
            .collect::<Vec<_>>();
        assert!(
            after_user
                .iter()
                .all(|k| ["WORKDIR", "ENTRYPOINT", "CMD"].contains(k)),
            "{at}: {after_user:?} after USER"
        );
    }
}

#[test]
fn base_images_are_pinned_by_a_tag_never_latest() {
    let (_, stages) = parse();
    let mut earlier: Vec<&str> = Vec::new();
    let mut bases = 0;
    for stage in &stages {
        let from = stage.from.as_str();
        if from == "scratch" || from.starts_with('$') || earlier.contains(&from) {
            // No base at all, the build argument naming a stage, or an earlier stage.
        } else {
            bases += 1;
            let (image, digest) = from.split_once('@').unwrap_or((from, ""));
            let name = image.rsplit('/').next().unwrap();
            let Some((_, tag)) = name.split_once(':') else {
                panic!("{from}: no tag")
            };
            assert!(!tag.is_empty() && tag != "latest", "{from}: tag {tag}");
            assert!(
                tag.chars().any(|c| c.is_ascii_digit()) || tag == "nonroot",
                "{from}: a versioned tag"
            );
            // A digest is never required (none could be verified when the file was written),
            // but one that is written must be whole.
            if !digest.is_empty() {
                let hex = digest
                    .strip_prefix("sha256:")
                    .unwrap_or_else(|| panic!("{from}"));
                assert!(
                    hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()),
                    "{from}"
                );
            }
        }
        if let Some(name) = &stage.name {
            earlier.push(name);
        }
    }
    assert_eq!(bases, 3, "rust, alpine and distroless");
    assert!(
        stages
            .last()
            .unwrap()
            .from
            .starts_with("gcr.io/distroless/static-debian12:nonroot"),
        "the default image is distroless static, non-root"
    );
}

#[test]
fn both_images_carry_the_oci_labels() {
    let (_, stages) = parse();
    let license = CARGO_TOML
        .lines()
        .find_map(|l| l.strip_prefix("license = "))
        .unwrap()
        .trim_matches('"');
    for stage in images(&stages) {
        let at = stage.name.as_deref().unwrap_or("the last stage");
        let labels: BTreeMap<String, String> = stage.all("LABEL").flat_map(pairs).collect();
        let label = |key: &str| {
            labels
                .get(&format!("org.opencontainers.image.{key}"))
                .unwrap_or_else(|| panic!("{at}: no {key} label in {labels:?}"))
                .as_str()
        };
        assert_eq!(label("title"), "vntana-webhooks");
        assert_eq!(label("licenses"), license, "{at}");
        assert!(label("description").starts_with("GitOps controller for VNTANA webhooks"));
        // The version and the repository come from build arguments the release workflow sets.
        assert_eq!(label("version"), "${VERSION}", "{at}");
        assert_eq!(label("source"), "${SOURCE}", "{at}");
        let args: Vec<&str> = stage.all("ARG").collect();
        for arg in ["VERSION", "SOURCE"] {
            assert!(
                args.iter().any(|a| a.split('=').next() == Some(arg)),
                "{at}: ARG {arg} is not declared in the stage"
            );
            assert!(
                RELEASE.contains(&format!("{arg}=${{{{")),
                "the release workflow does not set {arg}"
            );
        }
    }
}

#[test]
fn the_prebuilt_stage_reads_the_binaries_where_the_release_workflow_puts_them() {
    let (_, stages) = parse();
    let prebuilt = stages
        .iter()
        .find(|s| s.name.as_deref() == Some("prebuilt"))
        .unwrap();
    assert!(
        prebuilt
            .all("COPY")
            .any(|c| c.contains(" dist/${TARGETARCH}/vntana-webhooks ")),
        "{prebuilt:?}"
    );
    assert!(RELEASE.contains("BINARY=prebuilt"));
    assert!(RELEASE.contains("platforms: linux/amd64,linux/arm64"));
    for (arch, target) in [
        ("amd64", "x86_64-unknown-linux-musl"),
        ("arm64", "aarch64-unknown-linux-musl"),
    ] {
        let (rust_arch, _) = target.split_once('-').unwrap();
        assert!(
            RELEASE.contains(&format!("{arch}:{rust_arch}")),
            "the workflow unpacks {target} into dist/{arch}"
        );
    }
    assert!(
        RELEASE.contains(r#"mv "archives/$name/vntana-webhooks" "dist/$arch/vntana-webhooks""#)
    );
}

#[test]
fn the_build_context_leaves_out_build_output_history_and_secrets() {
    let ignored: Vec<&str> = DOCKERIGNORE
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for must in [
        "target",
        ".git",
        ".ci/.venv",
        ".vntana-emulator",
        "secrets.json",
    ] {
        assert!(ignored.contains(&must), "{must} is in the build context");
    }
    // What the builds need stays in.
    for needed in [
        "src",
        "Cargo.toml",
        "Cargo.lock",
        "dist",
        "tests",
        "benches",
        "*",
        "**",
    ] {
        assert!(!ignored.contains(&needed), "{needed} is left out");
    }
}
