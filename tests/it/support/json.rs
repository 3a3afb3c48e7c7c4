//! Golden JSON with placeholders: expected documents are written by hand from vntana-api.md,
//! with `"<uuid>"`, `"<secret>"`, `"<timestamp>"` and `"<any>"` standing for generated values.
//! Objects must have exactly the expected keys.

use serde_json::Value;

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

fn is_secret(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A zone-less ISO date-time like `2022-06-20T14:42:15.488732`.
fn is_timestamp(s: &str) -> bool {
    let bytes = s.as_bytes();
    s.len() == 26
        && bytes[4] == b'-'
        && bytes[10] == b'T'
        && bytes[19] == b'.'
        && time::PrimitiveDateTime::parse(
            s,
            time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]"
            ),
        )
        .is_ok()
}

/// The first difference between `actual` and the pattern `expected`, with its JSON path.
pub fn mismatch(actual: &Value, expected: &Value, path: &str) -> Option<String> {
    match (expected, actual) {
        (Value::String(p), Value::String(a)) if p == "<uuid>" => {
            (!is_uuid(a)).then(|| format!("{path}: `{a}` is not a uuid"))
        }
        (Value::String(p), Value::String(a)) if p == "<secret>" => {
            (!is_secret(a)).then(|| format!("{path}: not a 64-hex secret"))
        }
        (Value::String(p), Value::String(a)) if p == "<timestamp>" => {
            (!is_timestamp(a)).then(|| format!("{path}: `{a}` is not a zone-less timestamp"))
        }
        (Value::String(p), _) if p == "<any>" => None,
        (Value::Object(e), Value::Object(a)) => {
            let mut ek: Vec<_> = e.keys().collect();
            let mut ak: Vec<_> = a.keys().collect();
            ek.sort();
            ak.sort();
            if ek != ak {
                return Some(format!("{path}: keys {ak:?}, expected {ek:?}"));
            }
            e.iter()
                .find_map(|(k, v)| mismatch(&a[k], v, &format!("{path}.{k}")))
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                return Some(format!("{path}: {} items, expected {}", a.len(), e.len()));
            }
            e.iter()
                .zip(a)
                .enumerate()
                .find_map(|(i, (e, a))| mismatch(a, e, &format!("{path}[{i}]")))
        }
        (e, a) => (e != a).then(|| format!("{path}: {a}, expected {e}")),
    }
}

/// Asserts that `actual` matches the pattern `expected`.
#[track_caller]
pub fn assert_matches(actual: &Value, expected: &Value) {
    if let Some(difference) = mismatch(actual, expected, "$") {
        panic!(
            "{difference}\nactual: {}",
            serde_json::to_string_pretty(actual).unwrap()
        );
    }
}
