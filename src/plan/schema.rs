//! The JSON Schema of the JSON plan (`vntana-webhooks schema --plan`), generated from the plan's
//! own types, so it cannot drift from what `plan --format json` prints; the tests validate
//! every plan they make against it.

use super::model::Plan;

/// The schema, pretty, with a trailing newline.
pub fn json() -> String {
    let mut schema = schemars::schema_for!(Plan);
    schema.insert("title".to_owned(), "vntana-webhooks plan".into());
    schema.insert(
        "description".to_owned(),
        "The output of `vntana-webhooks plan --format json` (formatVersion 1).".into(),
    );
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serialises");
    text.push('\n');
    text
}
