//! `${VAR}` and `${VAR:-default}` in string values (product.md, "Desired state"): substituted
//! after parsing, whatever the quoting, never in keys; `$${` writes a literal `${`. A value
//! that took anything from the environment is sensitive: output shows `(from $VAR)`, never the
//! value. A default that was used is not sensitive. A substituted value is never read again
//! (a `${` inside it stays as it is), and it may not grow past `MAX_VALUE_CHARS`. Pure: the
//! environment is a function.

use super::parse::MAX_VALUE_CHARS;
use crate::model::Text;

/// What is wrong with a value's interpolation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationError {
    Unset(String),
    Unterminated,
    BadName(String),
    /// A default that holds a reference: `${A:-${B}}`, which would otherwise read as the
    /// default `${B` followed by a `}`.
    NestedDefault(String),
    /// Substituting these variables made the value longer than `MAX_VALUE_CHARS`.
    TooLong(Vec<String>),
    /// `${VNTANA_*}`: the tool's own credentials and settings (product.md), which a config
    /// could otherwise send to any url.
    Refused(String),
}

impl InterpolationError {
    /// The diagnostic code of the problem.
    pub fn code(&self) -> crate::diagnostic::Code {
        use crate::diagnostic::Code;
        match self {
            InterpolationError::Unset(_) => Code::EnvUnset,
            InterpolationError::Refused(_) => Code::EnvRefused,
            InterpolationError::TooLong(_)
            | InterpolationError::Unterminated
            | InterpolationError::BadName(_)
            | InterpolationError::NestedDefault(_) => Code::InvalidValue,
        }
    }
}

impl std::fmt::Display for InterpolationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InterpolationError::Unset(var) => {
                let var = crate::config::yaml::abbreviate(var);
                write!(
                    f,
                    "the environment variable `{var}` is not set; set it, or give a default with `${{{var}:-default}}`"
                )
            }
            InterpolationError::Refused(var) => write!(
                f,
                "`${{{}}}` is refused: `VNTANA_*` variables hold the tool's own credentials and settings, which a config must never send anywhere; use a variable of another name",
                crate::config::yaml::abbreviate(var)
            ),
            InterpolationError::NestedDefault(var) => write!(
                f,
                "the default of `${{{}:-...}}` holds `${{`: a default is plain text and references cannot be nested; write the default out",
                crate::config::yaml::abbreviate(var)
            ),
            InterpolationError::TooLong(vars) => {
                let vars: Vec<String> = vars.iter().map(|v| format!("${v}")).collect();
                write!(
                    f,
                    "with {} substituted, the value has more than {MAX_VALUE_CHARS} characters; at most {MAX_VALUE_CHARS} are allowed: check the variable",
                    vars.join(", ")
                )
            }
            InterpolationError::Unterminated => {
                write!(
                    f,
                    "`${{` without a closing `}}`; write `$${{` for a literal `${{`"
                )
            }
            InterpolationError::BadName(inner) => match default_typo(inner) {
                Some(name) => write!(
                    f,
                    "`${{{}}}` is not a variable reference: a default is written `${{{name}:-default}}`",
                    crate::config::yaml::abbreviate(inner)
                ),
                None => write!(
                    f,
                    "`${{{}}}` is not a variable reference: names are letters, digits and `_`, not starting with a digit; write `$${{` for a literal `${{`",
                    crate::config::yaml::abbreviate(inner)
                ),
            },
        }
    }
}

/// The variable name of a reference whose default is written the shell's other ways
/// (`${VAR:default}`, `${VAR-default}`), which this format does not read.
fn default_typo(inner: &str) -> Option<&str> {
    let (name, _) = inner.split_once([':', '-'])?;
    valid_name(name).then_some(name)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Substitutes the references in `raw`. `lookup` reads a variable.
pub fn interpolate(
    raw: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Text, InterpolationError> {
    let mut value = String::with_capacity(raw.len());
    let mut from_env: Vec<String> = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.find('$') {
        value.push_str(&rest[..start]);
        let after = &rest[start..];
        if let Some(escaped) = after.strip_prefix("$${") {
            value.push_str("${");
            rest = escaped;
            continue;
        }
        if !after.starts_with("${") {
            value.push('$');
            rest = &after[1..];
            continue;
        }
        let end = after.find('}').ok_or(InterpolationError::Unterminated)?;
        let inner = &after[2..end];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        if !valid_name(name) {
            return Err(InterpolationError::BadName(inner.to_owned()));
        }
        if name.to_ascii_uppercase().starts_with("VNTANA_") {
            return Err(InterpolationError::Refused(name.to_owned()));
        }
        if default.is_some_and(|d| d.contains("${")) {
            return Err(InterpolationError::NestedDefault(name.to_owned()));
        }
        match (lookup(name), default) {
            (Some(found), Some(default)) if found.is_empty() => value.push_str(default),
            (Some(found), _) => {
                value.push_str(&found);
                if !from_env.iter().any(|v| v == name) {
                    from_env.push(name.to_owned());
                }
            }
            (None, Some(default)) => value.push_str(default),
            (None, None) => return Err(InterpolationError::Unset(name.to_owned())),
        }
        // Bytes bound characters from above: stop as soon as the value is surely too long,
        // before a large variable referenced many times fills the memory.
        if value.len() > 4 * MAX_VALUE_CHARS {
            return Err(InterpolationError::TooLong(from_env));
        }
        rest = &after[end + 1..];
    }
    value.push_str(rest);
    if !from_env.is_empty() && value.chars().count() > MAX_VALUE_CHARS {
        return Err(InterpolationError::TooLong(from_env));
    }
    // A sensitive value keeps its template, so a saved plan can hold `${VAR}` instead of it.
    let template = (!from_env.is_empty()).then(|| raw.to_owned());
    Ok(Text {
        value,
        from_env,
        template,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("relay.example".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn run(raw: &str) -> Result<Text, InterpolationError> {
        interpolate(raw, &env)
    }

    #[test]
    fn references_are_substituted_and_make_the_value_sensitive() {
        let text = run("https://${HOST}/hooks").unwrap();
        assert_eq!(text.value, "https://relay.example/hooks");
        assert_eq!(text.shown(), "(from $HOST)");
        assert!(!run("plain").unwrap().is_sensitive());
    }

    #[test]
    fn defaults_apply_when_unset_or_empty_and_are_not_sensitive() {
        let unset = run("${MISSING:-https://fallback.example}").unwrap();
        assert_eq!(
            (unset.value.as_str(), unset.is_sensitive()),
            ("https://fallback.example", false)
        );
        assert_eq!(run("${EMPTY:-d}").unwrap().value, "d");
        assert_eq!(
            run("[${EMPTY}]").unwrap().value,
            "[]",
            "set but empty is empty"
        );
    }

    #[test]
    fn dollar_dollar_brace_escapes_and_lone_dollars_stay() {
        assert_eq!(
            run("$${HOST} costs $5").unwrap(),
            Text::literal("${HOST} costs $5")
        );
    }

    #[test]
    fn unset_variables_and_malformed_references_are_errors() {
        assert_eq!(
            run("${NOPE}"),
            Err(InterpolationError::Unset("NOPE".into()))
        );
        assert_eq!(run("${HOST"), Err(InterpolationError::Unterminated));
        assert_eq!(run("${1X}"), Err(InterpolationError::BadName("1X".into())));
        assert_eq!(run("${}"), Err(InterpolationError::BadName(String::new())));
    }

    #[test]
    fn a_substituted_value_is_not_read_again_and_cannot_grow_without_bound() {
        let env = |name: &str| match name {
            "INNER" => Some("${HOST}".to_owned()),
            "BIG" => Some("x".repeat(4_000)),
            _ => None,
        };
        let text = interpolate("a/${INNER}", &env).unwrap();
        assert_eq!(text.value, "a/${HOST}");
        assert_eq!(
            interpolate(&"${BIG}".repeat(3), &env),
            Err(InterpolationError::TooLong(vec!["BIG".into()]))
        );
        assert_eq!(
            interpolate(&"${BIG}".repeat(1000), &env),
            Err(InterpolationError::TooLong(vec!["BIG".into()]))
        );
        assert_eq!(
            interpolate(&"${BIG}".repeat(2), &env).unwrap().value.len(),
            8_000
        );
    }

    #[test]
    fn a_reference_in_a_default_is_refused_not_half_read() {
        assert_eq!(
            run("${MISSING:-${HOST}}"),
            Err(InterpolationError::NestedDefault("MISSING".into()))
        );
        assert_eq!(
            run("${MISSING:-$${HOST}}"),
            Err(InterpolationError::NestedDefault("MISSING".into())),
            "an escape inside a default is not read either"
        );
    }

    #[test]
    fn a_default_written_without_the_dash_says_how_to_write_it() {
        let err = run("${URL:https://x.example}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`${URL:https://x.example}` is not a variable reference: a default is written `${URL:-default}`"
        );
        assert!(
            run("${URL-x}")
                .unwrap_err()
                .to_string()
                .ends_with("a default is written `${URL:-default}`")
        );
        assert!(
            run("${1X}")
                .unwrap_err()
                .to_string()
                .contains("not starting with a digit")
        );
    }

    #[test]
    fn the_tool_s_own_variables_are_refused_even_with_a_default() {
        let env = |_: &str| Some("secret-key".to_owned());
        for raw in [
            "https://x.example/?k=${VNTANA_API_KEY}",
            "${VNTANA_PASSWORD:-x}",
            "${vntana_api_url}",
        ] {
            let err = interpolate(raw, &env).unwrap_err();
            assert!(matches!(err, InterpolationError::Refused(_)), "{raw}");
            assert_eq!(err.code(), crate::diagnostic::Code::EnvRefused);
            assert!(!err.to_string().contains("secret-key"));
        }
        assert!(interpolate("${VNTANAX}", &env).is_ok());
    }
}
