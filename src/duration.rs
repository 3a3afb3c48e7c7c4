//! The one parser of duration flags: `<n>[ms|s|m|h]`, a bare number meaning seconds
//! (product.md, "Applying"). It owns parsing only; callers decide which values make sense.

use std::time::Duration;

/// A duration flag that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration `{input}`: expected a whole number with an optional unit ms, s, m or h (e.g. 300ms, 30s, 5m, 1h)"
)]
pub struct DurationError {
    input: String,
}

/// Parses `<n>[ms|s|m|h]`; a bare number is seconds. Surrounding whitespace is not accepted.
pub fn parse(input: &str) -> Result<Duration, DurationError> {
    let error = || DurationError {
        input: input.to_owned(),
    };
    let split = input
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(input.len());
    let (digits, unit) = input.split_at(split);
    if digits.is_empty() {
        return Err(error());
    }
    let n: u64 = digits.parse().map_err(|_| error())?;
    let millis_per_unit: u64 = match unit {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(error()),
    };
    n.checked_mul(millis_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_and_a_bare_number_parse() {
        assert_eq!(parse("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("5m"), Ok(Duration::from_mins(5)));
        assert_eq!(parse("1h"), Ok(Duration::from_hours(1)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn malformed_durations_are_rejected_with_the_input_named() {
        for bad in [
            "",
            "s",
            "5x",
            "1.5s",
            "-1s",
            " 5s",
            "5 s",
            "5sec",
            "5S",
            "99999999999999999999h",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
    }
}
