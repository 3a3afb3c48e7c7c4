//! The one parser of duration flags, `humantime`'s (`300ms`, `30s`, `5m`, `1h30m`), a bare
//! number meaning seconds (product.md, "Applying"), and the ranges each flag accepts, so a
//! value that makes no sense (`--interval 0`) is a usage error before anything runs.

use std::time::Duration;

/// A duration flag that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration `{input}`: expected a number of seconds, or a number with a unit such as ms, s, m or h (e.g. 300ms, 30s, 5m, 1h30m)"
)]
pub struct DurationError {
    input: String,
}

/// Parses a duration as `humantime` reads one (`300ms`, `30s`, `5m`, `1h30m`); a bare number
/// is seconds (product.md). Surrounding whitespace is not accepted.
pub fn parse(input: &str) -> Result<Duration, DurationError> {
    let error = || DurationError {
        input: input.to_owned(),
    };
    if input.is_empty() || input.trim() != input {
        return Err(error());
    }
    if input.bytes().all(|b| b.is_ascii_digit()) {
        return input.parse().map(Duration::from_secs).map_err(|_| error());
    }
    humantime::parse_duration(input).map_err(|_| error())
}

/// A duration out of the range a flag accepts, with the range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundedError {
    #[error(transparent)]
    Invalid(#[from] DurationError),
    #[error("`{input}` is out of range: {expected}")]
    OutOfRange {
        input: String,
        expected: &'static str,
    },
}

fn bounded(
    input: &str,
    min: Duration,
    max: Duration,
    expected: &'static str,
) -> Result<Duration, BoundedError> {
    let value = parse(input)?;
    if value < min || value > max {
        return Err(BoundedError::OutOfRange {
            input: input.to_owned(),
            expected,
        });
    }
    Ok(value)
}

/// `watch --interval`: how often to look for drift. Zero would spin; more than a week is no
/// drift check at all.
pub fn interval(input: &str) -> Result<Duration, BoundedError> {
    bounded(
        input,
        Duration::from_secs(1),
        Duration::from_hours(24 * 7),
        "an interval is at least 1s and at most 168h (a week)",
    )
}

/// `watch --debounce`: how long a burst of saves may last.
pub fn debounce(input: &str) -> Result<Duration, BoundedError> {
    bounded(
        input,
        Duration::ZERO,
        Duration::from_mins(1),
        "a debounce is at most 1m",
    )
}

/// `--timeout`: one request's time limit.
pub fn timeout(input: &str) -> Result<Duration, BoundedError> {
    bounded(
        input,
        Duration::from_millis(1),
        Duration::from_hours(1),
        "a timeout is more than 0 and at most 1h",
    )
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
        // humantime's other forms.
        assert_eq!(parse("1h30m"), Ok(Duration::from_mins(90)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1_500)));
        assert_eq!(parse("2min"), Ok(Duration::from_mins(2)));
    }

    #[test]
    fn malformed_durations_are_rejected_with_the_input_named() {
        for bad in [
            "",
            "s",
            "5x",
            "-1s",
            " 5s",
            "5s ",
            "5S",
            "99999999999999999999h",
            "99999999999999999999",
        ] {
            let err = parse(bad).expect_err(bad);
            assert!(err.to_string().contains(&format!("`{bad}`")), "{err}");
        }
    }

    #[test]
    fn each_flag_refuses_values_that_make_no_sense() {
        assert!(interval("0").is_err());
        assert!(interval("500ms").is_err());
        assert!(interval("169h").is_err());
        assert_eq!(interval("5m"), Ok(Duration::from_mins(5)));
        assert_eq!(
            interval("0").unwrap_err().to_string(),
            "`0` is out of range: an interval is at least 1s and at most 168h (a week)"
        );
        assert_eq!(debounce("0"), Ok(Duration::ZERO));
        assert!(debounce("2m").is_err());
        assert!(timeout("0").is_err());
        assert!(interval("99999999999999999h").is_err());
    }
}
