//! insta settings shared by the suite: snapshots in the top-level `snapshots/` folder, and
//! filters for what changes from run to run (ports, uuids, secrets, tokens, times).

pub fn settings() -> insta::Settings {
    let mut settings = unfiltered();
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.add_filter(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[UUID]",
    );
    settings.add_filter(r"\b[0-9a-f]{64}\b", "[SECRET]");
    settings.add_filter(r"emu\.[0-9a-f]{48}", "[TOKEN]");
    settings.add_filter(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}", "[TIMESTAMP]");
    settings
}

/// Snapshots in `snapshots/` without filters, for output that never varies (help texts, whose
/// default addresses must not read `127.0.0.1:[PORT]`).
pub fn unfiltered() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}
