//! The emulator's clock: real time, or (deterministic mode) a test clock that starts at
//! 2026-01-01T00:00:00Z; both move forward with `POST /_emulator/clock`. Token expiry and
//! delivery backoff read this clock, so tests never wait.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::macros::format_description;

/// Microseconds since the Unix epoch of the test clock's start.
const TEST_EPOCH_MICROS: i64 = 1_767_225_600_000_000;

#[derive(Debug)]
pub struct Clock {
    real: bool,
    offset_micros: AtomicI64,
}

impl Clock {
    /// The real clock.
    pub fn real() -> Self {
        Clock {
            real: true,
            offset_micros: AtomicI64::new(0),
        }
    }

    /// A clock that stands still until advanced.
    pub fn test() -> Self {
        Clock {
            real: false,
            offset_micros: AtomicI64::new(0),
        }
    }

    /// Now, in microseconds since the Unix epoch.
    pub fn now_micros(&self) -> i64 {
        let base = if self.real {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        } else {
            TEST_EPOCH_MICROS
        };
        base.saturating_add(self.offset_micros.load(Ordering::SeqCst))
    }

    /// Whether time passes by itself (the real clock); the test clock moves only when
    /// advanced.
    pub fn is_real(&self) -> bool {
        self.real
    }

    /// Moves the clock forward.
    pub fn advance_millis(&self, millis: u64) {
        let micros = i64::try_from(millis)
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        let _ = self
            .offset_micros
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                Some(o.saturating_add(micros))
            });
    }
}

/// The platform's zone-less ISO date-time, e.g. `2022-06-20T14:42:15.488732`.
pub fn format_timestamp(micros: i64) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// A delivery's `X-TIMESTAMP` (vntana-api.md, "Delivery"): UTC ISO-8601 with milliseconds and
/// `Z`, e.g. `2026-11-28T10:00:00.123Z`. The delivery log and the outbox use it too.
pub fn format_delivery_timestamp(micros: i64) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_clock_stands_still_until_advanced() {
        let clock = Clock::test();
        assert_eq!(
            format_timestamp(clock.now_micros()),
            "2026-01-01T00:00:00.000000"
        );
        clock.advance_millis(1_500);
        assert_eq!(
            format_timestamp(clock.now_micros()),
            "2026-01-01T00:00:01.500000"
        );
    }

    #[test]
    fn delivery_timestamps_have_milliseconds_and_z() {
        assert_eq!(
            format_delivery_timestamp(1_655_736_135_488_732),
            "2022-06-20T14:42:15.488Z"
        );
    }

    #[test]
    fn timestamps_have_six_fraction_digits_and_no_zone() {
        assert_eq!(
            format_timestamp(1_655_736_135_488_732),
            "2022-06-20T14:42:15.488732"
        );
    }
}
