//! The deploy files users install (`deploy/kubernetes/`, `deploy/systemd/`): they parse, and
//! they have the properties their comments promise and the product relies on: never two
//! processes at once (a new organization token revokes the previous one of the same user),
//! probes on the port of `--health-addr`, a non-root read-only container without capabilities,
//! egress to HTTPS and DNS only, the config mounted where `-f` reads it, the credential from a
//! Secret that is not committed, an example config that validates, and command lines that
//! parse. `.ci/check-deploy` validates the same files against the Kubernetes API schemas and
//! with `systemd-analyze verify`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::cli::{Run, command, run};
use crate::support::emulator::{DEMO_KEY, Emulator};

const KUSTOMIZATION: &str = include_str!("../../deploy/kubernetes/kustomization.yaml");
const NAMESPACE: &str = include_str!("../../deploy/kubernetes/namespace.yaml");
const DEPLOYMENT: &str = include_str!("../../deploy/kubernetes/deployment.yaml");
const SERVICE: &str = include_str!("../../deploy/kubernetes/service.yaml");
const NETWORK_POLICY: &str = include_str!("../../deploy/kubernetes/networkpolicy.yaml");
const SECRET_EXAMPLE: &str = include_str!("../../deploy/kubernetes/secret.example.yaml");
const SERVICE_MONITOR: &str = include_str!("../../deploy/kubernetes/servicemonitor.yaml");
const WATCH_UNIT: &str = include_str!("../../deploy/systemd/vntana-webhooks.service");
const ONCE_UNIT: &str = include_str!("../../deploy/systemd/vntana-webhooks-once.service");
const ONCE_TIMER: &str = include_str!("../../deploy/systemd/vntana-webhooks-once.timer");

fn kubernetes_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes")
}

fn parse(name: &str, text: &str) -> Value {
    let doc: Value = serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(doc.is_object(), "{name} is not a mapping");
    doc
}

fn deployment() -> Value {
    parse("deployment.yaml", DEPLOYMENT)
}

/// The one container of the Deployment's pod.
fn container(deployment: &Value) -> &Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(containers.len(), 1, "one container");
    &containers[0]
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("a list: {value}"))
        .iter()
        .map(|v| {
            v.as_str()
                .unwrap_or_else(|| panic!("a string: {v}"))
                .to_owned()
        })
        .collect()
}

fn args(container: &Value) -> Vec<String> {
    assert!(
        container.get("command").is_none(),
        "the image's entrypoint is the binary"
    );
    strings(&container["args"])
}

/// The value of `flag` in a command line, as `FLAG VALUE` or `FLAG=VALUE`; `None` when absent.
fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter().enumerate().find_map(|(at, arg)| {
        if arg == flag {
            Some(args.get(at + 1).expect("a value").as_str())
        } else {
            arg.strip_prefix(flag)?.strip_prefix('=')
        }
    })
}

fn has_flag(args: &[String], flag: &str) -> bool {
    args.iter().any(|a| a == flag)
}

/// A port of the container, by number or by name.
fn container_port(container: &Value, port: &Value) -> u64 {
    match port {
        Value::Number(n) => n.as_u64().unwrap(),
        Value::String(name) => container["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .find(|p| p["name"] == name.as_str())
            .unwrap_or_else(|| panic!("no container port named {name}"))["containerPort"]
            .as_u64()
            .unwrap(),
        other => panic!("a port: {other}"),
    }
}

fn health_addr(args: &[String]) -> SocketAddr {
    flag_value(args, "--health-addr")
        .expect("--health-addr")
        .parse()
        .expect("an address")
}

fn labels(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .expect("labels")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("a label value").to_owned()))
        .collect()
}

/// Whether `selector` (a label map) selects an object with `labels`.
fn selects(selector: &Value, labels_of: &Value) -> bool {
    let wanted = labels(selector);
    let have = labels(labels_of);
    !wanted.is_empty() && wanted.iter().all(|(k, v)| have.get(k) == Some(v))
}

// ---------------------------------------------------------------------------------------------
// Kubernetes.
// ---------------------------------------------------------------------------------------------

#[test]
fn the_deployment_never_runs_two_pods_at_once() {
    let deployment = deployment();
    let spec = &deployment["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["strategy"]["type"], "Recreate");
    assert!(spec["strategy"].get("rollingUpdate").is_none());
    assert_eq!(
        spec["template"]["spec"]["terminationGracePeriodSeconds"],
        30
    );
    assert!(
        selects(
            &spec["selector"]["matchLabels"],
            &spec["template"]["metadata"]["labels"]
        ),
        "the selector matches the pod"
    );
}

#[test]
fn the_deployment_watches_the_mounted_config_and_applies() {
    let deployment = deployment();
    let pod = &deployment["spec"]["template"]["spec"];
    let container = container(&deployment);
    let args = args(container);
    assert_eq!(args[0], "watch", "{args:?}");
    assert!(has_flag(&args, "--apply"), "{args:?}");
    assert_eq!(flag_value(&args, "--log-format"), Some("json"));

    let kustomization = parse("kustomization.yaml", KUSTOMIZATION);
    let generators = kustomization["configMapGenerator"]
        .as_array()
        .expect("configMapGenerator");
    assert_eq!(generators.len(), 1);
    let config_map = generators[0]["name"].as_str().unwrap();

    let volumes = pod["volumes"].as_array().expect("volumes");
    let volume_of = |mount: &Value| {
        volumes
            .iter()
            .find(|v| v["name"] == mount["name"])
            .unwrap_or_else(|| panic!("no volume for {mount}"))
    };
    let mounts = container["volumeMounts"].as_array().expect("volumeMounts");

    // `-f` reads the folder the ConfigMap is mounted as (not one file through subPath, which
    // the kubelet never updates).
    let config_dir = flag_value(&args, "-f").expect("-f");
    let mount = mounts
        .iter()
        .find(|m| m["mountPath"] == config_dir)
        .unwrap_or_else(|| panic!("nothing is mounted at -f {config_dir}"));
    assert!(mount.get("subPath").is_none());
    assert_eq!(mount["readOnly"], true);
    assert_eq!(volume_of(mount)["configMap"]["name"], config_map);

    // The root file system is read-only: the secrets file goes to a writable volume.
    let secrets_out = Path::new(flag_value(&args, "--secrets-out").expect("--secrets-out"));
    let mount = mounts
        .iter()
        .find(|m| secrets_out.parent() == Some(Path::new(m["mountPath"].as_str().unwrap())))
        .unwrap_or_else(|| panic!("nothing is mounted for --secrets-out {secrets_out:?}"));
    assert_ne!(mount["readOnly"], true);
    assert!(volume_of(mount)["emptyDir"].is_object());
}

#[test]
fn the_probes_and_the_service_use_the_port_of_health_addr() {
    let deployment = deployment();
    let container = container(&deployment);
    let addr = health_addr(&args(container));
    assert!(
        addr.ip().is_unspecified(),
        "the kubelet probes the pod's address, so the health server listens on all: {addr}"
    );
    let port = u64::from(addr.port());
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert_eq!(container_port(container, &get["port"]), port, "{probe}");
    }

    let service = parse("service.yaml", SERVICE);
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert!(selects(&service["spec"]["selector"], pod_labels));
    let service_ports = service["spec"]["ports"].as_array().expect("ports");
    assert_eq!(service_ports.len(), 1);
    assert_eq!(
        container_port(container, &service_ports[0]["targetPort"]),
        port
    );

    // The optional ServiceMonitor scrapes that Service port.
    let monitor = parse("servicemonitor.yaml", SERVICE_MONITOR);
    assert!(selects(
        &monitor["spec"]["selector"]["matchLabels"],
        &service["metadata"]["labels"]
    ));
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], service_ports[0]["name"]);
    assert_eq!(endpoint["path"], "/metrics");
}

#[test]
fn the_container_runs_as_non_root_read_only_without_capabilities() {
    let deployment = deployment();
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let container = container(&deployment);
    let security = &container["securityContext"];
    assert_eq!(security["runAsNonRoot"], true);
    assert_eq!(security["runAsUser"], 65532);
    assert_eq!(security["runAsGroup"], 65532);
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(strings(&security["capabilities"]["drop"]), ["ALL"]);
    assert!(security["capabilities"].get("add").is_none());
    assert_eq!(security["seccompProfile"]["type"], "RuntimeDefault");
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                container["resources"][kind][resource].is_string(),
                "resources.{kind}.{resource}"
            );
        }
    }
    let image = container["image"].as_str().unwrap();
    assert!(
        image.starts_with("ghcr.io/OWNER/vntana-webhooks:"),
        "the placeholder kustomization.yaml's `images:` overrides: {image}"
    );
}

/// (protocol, port) of every port of a NetworkPolicy's rules; a rule without ports allows all.
fn policy_ports(rules: &Value) -> BTreeSet<(String, u64)> {
    let mut ports = BTreeSet::new();
    for rule in rules.as_array().expect("rules") {
        let listed = rule["ports"]
            .as_array()
            .unwrap_or_else(|| panic!("a rule without ports allows every port: {rule}"));
        for port in listed {
            ports.insert((
                port["protocol"].as_str().unwrap_or("TCP").to_owned(),
                port["port"].as_u64().expect("a port number"),
            ));
        }
    }
    ports
}

#[test]
fn the_network_policy_allows_https_and_dns_out_and_the_health_port_in() {
    let deployment = deployment();
    let policy = parse("networkpolicy.yaml", NETWORK_POLICY);
    let spec = &policy["spec"];
    assert!(selects(
        &spec["podSelector"]["matchLabels"],
        &deployment["spec"]["template"]["metadata"]["labels"]
    ));
    assert_eq!(strings(&spec["policyTypes"]), ["Ingress", "Egress"]);
    let tcp = |port| ("TCP".to_owned(), port);
    assert_eq!(
        policy_ports(&spec["egress"]),
        BTreeSet::from([tcp(443), tcp(53), ("UDP".to_owned(), 53)])
    );
    let health = u64::from(health_addr(&args(container(&deployment))).port());
    assert_eq!(
        policy_ports(&spec["ingress"]),
        BTreeSet::from([tcp(health)])
    );
}

#[test]
fn the_credential_comes_from_a_secret_that_is_not_committed() {
    let deployment = deployment();
    let env = container(&deployment)["env"].as_array().expect("env");
    for var in env {
        let name = var["name"].as_str().unwrap();
        if ["VNTANA_API_KEY", "VNTANA_EMAIL", "VNTANA_PASSWORD"].contains(&name) {
            assert!(var.get("value").is_none(), "{name} is written in the file");
        }
    }
    let key = env
        .iter()
        .find(|v| v["name"] == "VNTANA_API_KEY")
        .expect("VNTANA_API_KEY");
    let reference = &key["valueFrom"]["secretKeyRef"];

    let secret = parse("secret.example.yaml", SECRET_EXAMPLE);
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(reference["name"], secret["metadata"]["name"]);
    let key = reference["key"].as_str().unwrap();
    assert!(
        secret["stringData"][key].is_string(),
        "the example has {key}"
    );

    let kustomization = parse("kustomization.yaml", KUSTOMIZATION);
    assert_eq!(secret["metadata"]["namespace"], kustomization["namespace"]);
    let resources = strings(&kustomization["resources"]);
    for optional in ["secret.example.yaml", "servicemonitor.yaml"] {
        assert!(!resources.iter().any(|r| r == optional), "{optional}");
    }
    assert!(kustomization.get("secretGenerator").is_none());
}

#[test]
fn the_kustomization_lists_existing_files_and_every_config_file() {
    let dir = kubernetes_dir();
    let kustomization = parse("kustomization.yaml", KUSTOMIZATION);
    let resources = strings(&kustomization["resources"]);
    for resource in &resources {
        assert!(dir.join(resource).is_file(), "{resource}");
    }
    for needed in [
        "namespace.yaml",
        "deployment.yaml",
        "service.yaml",
        "networkpolicy.yaml",
    ] {
        assert!(resources.iter().any(|r| r == needed), "{needed}");
    }
    let namespace = parse("namespace.yaml", NAMESPACE);
    assert_eq!(namespace["metadata"]["name"], kustomization["namespace"]);

    // kustomize takes no globs: a config file left out of the generator would silently not
    // reach the pod.
    let generator = &kustomization["configMapGenerator"][0];
    let listed: BTreeSet<String> = strings(&generator["files"]).into_iter().collect();
    // The files `-f DIR` reads: `*.yaml` and `*.yml`, as the tool matches them.
    let present: BTreeSet<String> = std::fs::read_dir(dir.join("webhooks"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .map(|path| format!("webhooks/{}", path.file_name().unwrap().to_string_lossy()))
        .collect();
    assert_eq!(listed, present);
    // No hash suffix: the kubelet updates the mounted files in place and `watch` reloads them.
    assert_eq!(generator["options"]["disableNameSuffixHash"], true);
}

#[test]
fn the_example_config_is_valid() {
    let webhooks = kubernetes_dir().join("webhooks");
    let webhooks = webhooks.to_str().unwrap();
    // As the pod reads it: the whole folder.
    let offline = run(&["validate", "--offline", "-f", webhooks]);
    assert_eq!(offline.code, 0, "{}\n{}", offline.stdout, offline.stderr);

    // Its organizations, folders and events exist (the emulator's default seed).
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let online: Run = command(dir.path())
        .args(["validate", "-f", webhooks])
        .env("VNTANA_API_URL", &emulator.url)
        .env("VNTANA_API_KEY", DEMO_KEY)
        .output()
        .unwrap()
        .into();
    assert_eq!(online.code, 0, "{}\n{}", online.stdout, online.stderr);
}

// ---------------------------------------------------------------------------------------------
// systemd.
// ---------------------------------------------------------------------------------------------

/// A unit file's settings by section, each key with every value it is given, in order; a line
/// ending in `\` continues on the next, as systemd reads it.
fn unit(name: &str, text: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut lines = Vec::new();
    let mut pending = String::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(start) = line.strip_suffix('\\') {
            pending.push_str(start);
            pending.push(' ');
        } else {
            lines.push(std::mem::take(&mut pending) + line);
        }
    }
    assert!(pending.is_empty(), "{name}: a continuation at the end");
    let mut sections: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut section = None;
    for line in lines.iter().filter(|l| !l.is_empty()) {
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(header.to_owned());
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("{name}: {line}"));
        let section = section
            .clone()
            .unwrap_or_else(|| panic!("{name}: {line} outside a section"));
        sections
            .entry(section)
            .or_default()
            .entry(key.trim().to_owned())
            .or_default()
            .push(value.trim().to_owned());
    }
    sections
}

/// The last value of a setting (the one systemd uses for single-valued settings).
fn setting<'a>(
    unit: &'a BTreeMap<String, BTreeMap<String, Vec<String>>>,
    section: &str,
    key: &str,
) -> Option<&'a str> {
    unit.get(section)?.get(key)?.last().map(String::as_str)
}

/// ExecStart's words after the binary (no quoting: the test keeps it that way).
fn exec_args(unit: &BTreeMap<String, BTreeMap<String, Vec<String>>>) -> Vec<String> {
    let exec = setting(unit, "Service", "ExecStart").expect("ExecStart");
    assert!(!exec.contains(['"', '\'', '$', '%']), "{exec}");
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/vntana-webhooks"));
    words.map(str::to_owned).collect()
}

/// The hardening both services share.
fn assert_hardened(name: &str, unit: &BTreeMap<String, BTreeMap<String, Vec<String>>>) {
    for (key, value) in [
        ("DynamicUser", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6"),
    ] {
        assert_eq!(setting(unit, "Service", key), Some(value), "{name}: {key}");
    }
    let filters = &unit["Service"]["SystemCallFilter"];
    assert_eq!(filters[0], "@system-service", "{name}");
    assert_eq!(
        setting(unit, "Service", "EnvironmentFile"),
        Some("/etc/vntana-webhooks/credentials.env"),
        "{name}"
    );
    // The one writable place is the state directory, where the secrets file goes.
    let state = setting(unit, "Service", "StateDirectory").expect("StateDirectory");
    let args = exec_args(unit);
    let secrets_out = flag_value(&args, "--secrets-out").expect("--secrets-out");
    assert_eq!(
        Path::new(secrets_out).parent(),
        Some(Path::new("/var/lib").join(state).as_path()),
        "{name}"
    );
    assert_eq!(
        flag_value(&args, "-f"),
        Some("/etc/vntana-webhooks/webhooks"),
        "{name}"
    );
}

#[test]
fn the_systemd_service_runs_watch_apply_hardened() {
    let service = unit("vntana-webhooks.service", WATCH_UNIT);
    let args = exec_args(&service);
    assert_eq!(args[0], "watch", "{args:?}");
    assert!(has_flag(&args, "--apply"), "{args:?}");
    assert!(!has_flag(&args, "--once"), "{args:?}");
    assert!(
        health_addr(&args).ip().is_loopback(),
        "health endpoints on loopback only"
    );
    assert_eq!(setting(&service, "Service", "Restart"), Some("on-failure"));
    assert_eq!(
        setting(&service, "Install", "WantedBy"),
        Some("multi-user.target")
    );
    assert_hardened("vntana-webhooks.service", &service);
}

#[test]
fn the_systemd_timer_runs_one_pass_and_never_beside_the_watcher() {
    let once = unit("vntana-webhooks-once.service", ONCE_UNIT);
    let args = exec_args(&once);
    assert_eq!(args[0], "watch", "{args:?}");
    assert!(
        has_flag(&args, "--once") && has_flag(&args, "--apply"),
        "{args:?}"
    );
    assert_eq!(setting(&once, "Service", "Type"), Some("oneshot"));
    assert_hardened("vntana-webhooks-once.service", &once);

    let timer = unit("vntana-webhooks-once.timer", ONCE_TIMER);
    // The timer starts the service of its own name.
    assert!(setting(&timer, "Timer", "Unit").is_none());
    assert_eq!(
        setting(&timer, "Install", "WantedBy"),
        Some("timers.target")
    );
    // They share the watcher's credential: starting one stops the other, the stop first.
    for (name, file) in [("the once service", &once), ("the timer", &timer)] {
        assert_eq!(
            setting(file, "Unit", "Conflicts"),
            Some("vntana-webhooks.service"),
            "{name}"
        );
    }
    assert!(once["Unit"]["After"].contains(&"vntana-webhooks.service".to_owned()));
}

// ---------------------------------------------------------------------------------------------
// The command lines.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_command_line_of_the_deploy_files_parses() {
    let lines = [
        ("deployment.yaml", args(container(&deployment()))),
        (
            "vntana-webhooks.service",
            exec_args(&unit("vntana-webhooks.service", WATCH_UNIT)),
        ),
        (
            "vntana-webhooks-once.service",
            exec_args(&unit("vntana-webhooks-once.service", ONCE_UNIT)),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, args) in lines {
        // clap refuses an unknown flag or a bad value before it prints the help.
        let run: Run = command(dir.path())
            .args(&args)
            .arg("--help")
            .output()
            .unwrap()
            .into();
        assert_eq!(run.code, 0, "{name}: {args:?}\n{}", run.stderr);
    }
}
