//! Conformance with the platform's own schema: every 200 body the emulator returns to the raw
//! HTTP tests is validated against `vntana-admin-openapi.yaml` (a copy in
//! `tests/fixtures/openapi/`) for its operation, with the exceptions vntana-api.md names:
//! the event catalogue's 200 schema is the one listed under 403, `errors` is always an array,
//! and `created`/`updated` carry no zone (so `format: date-time` is not checked).
//!
//! The check is stricter than the published schema in one way, on purpose: every object must
//! have exactly the properties the schema lists (vntana-api.md shows them all), except the
//! optional `session` of sign-in answers and `shareLinks` of organizations.

use std::sync::LazyLock;

use serde_json::{Value, json};

const OPENAPI: &str = include_str!("../../fixtures/openapi/vntana-admin-openapi.yaml");

/// Properties the platform may leave out.
const OPTIONAL: &[(&str, &str)] = &[
    ("LoginUserResponseModel", "session"),
    ("GetUserOrganizationsResponseModel", "shareLinks"),
];

struct Operation {
    method: String,
    segments: Vec<String>,
    validator: jsonschema::Validator,
}

fn segments(path: &str) -> Vec<String> {
    path.trim_end_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect()
}

fn strict_components(document: &Value) -> Value {
    let mut schemas = document["components"]["schemas"].clone();
    let map = schemas.as_object_mut().expect("components.schemas");
    // vntana-api.md: `errors` is always an array.
    map["LoginUserResultResponseOk"]["properties"]["errors"] =
        json!({"type": "array", "items": {"type": "string"}});
    for (name, schema) in map.iter_mut() {
        let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        for property in properties.values_mut() {
            // Zone-less `created`/`updated`: the format is not checked.
            if let Some(object) = property.as_object_mut() {
                object.remove("format");
            }
        }
        let required: Vec<String> = properties
            .keys()
            .filter(|p| !OPTIONAL.contains(&(name.as_str(), p.as_str())))
            .cloned()
            .collect();
        schema["required"] = json!(required);
        schema["additionalProperties"] = json!(false);
    }
    json!({"schemas": schemas})
}

static OPERATIONS: LazyLock<Vec<Operation>> = LazyLock::new(|| {
    let document: Value = serde_saphyr::from_str(OPENAPI).expect("the OpenAPI file parses");
    let components = strict_components(&document);
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            // The known defect: the catalogue's 200 schema is listed under 403.
            let status = if path == "/v1/webhooks/events/" {
                "403"
            } else {
                "200"
            };
            let reference =
                &operation["responses"][status]["content"]["application/json"]["schema"]["$ref"];
            let Some(reference) = reference.as_str() else {
                continue;
            };
            let schema = json!({"$ref": reference, "components": components});
            operations.push(Operation {
                method: method.to_uppercase(),
                segments: segments(path),
                validator: jsonschema::draft202012::new(&schema).expect("a valid schema"),
            });
        }
    }
    operations
});

fn template_matches(template: &[String], path: &[String]) -> bool {
    template.len() == path.len()
        && template
            .iter()
            .zip(path)
            .all(|(t, p)| t == p || (t.starts_with('{') && t.ends_with('}')))
}

/// Asserts that `body`, a 200 answer to `method path`, conforms to the OpenAPI schema.
/// Static segments win over templates (`/v1/webhooks/events` is not a webhook uuid).
#[track_caller]
pub fn check(method: &str, path: &str, body: &Value) {
    let path = segments(path.split('?').next().unwrap_or(path));
    let mut candidates: Vec<&Operation> = OPERATIONS
        .iter()
        .filter(|op| op.method == method && template_matches(&op.segments, &path))
        .collect();
    candidates.sort_by_key(|op| op.segments.iter().filter(|s| s.starts_with('{')).count());
    let operation = candidates
        .first()
        .unwrap_or_else(|| panic!("no OpenAPI operation for {method} {}", path.join("/")));
    let errors: Vec<String> = operation
        .validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {}: the body does not conform to the OpenAPI schema:\n{}\nbody: {body}",
        path.join("/"),
        errors.join("\n")
    );
}

/// The number of operations the schema file defines with a 200 schema (a guard that the
/// check covers what it claims to).
pub fn operation_count() -> usize {
    OPERATIONS.len()
}
