//! The watch loop (product.md, "Watch"): a pass at start, then one per config change (a burst
//! of file events becomes one pass after `debounce` of quiet) and one per interval tick; an
//! outage is retried with exponential backoff until a pass succeeds; Shutdown ends the loop
//! after the pass in flight. Triggers arrive on a channel (file events, ticks, signals), as in
//! kube-rs's controller, so tests drive the loop without touching the file system or sleeping.
//! What a pass does (load, plan, apply, print) is the `Pass` implementation's business.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

/// Something that should make the loop act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A config file changed (or was replaced).
    ConfigChanged,
    /// The interval elapsed: look for drift on the platform.
    Tick,
    /// Ctrl-C or SIGTERM.
    Shutdown,
}

/// Why a pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    Start,
    ConfigChanged,
    Interval,
    /// After an outage.
    Retry,
}

/// How a pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Planned (and applied, if asked), whatever the plan said.
    Done,
    /// The config has errors: nothing was planned from it.
    InvalidConfig,
    /// The platform could not be reached or answered with errors: retry with backoff.
    Outage,
}

/// One pass of the watch.
pub trait Pass {
    fn run(&mut self, why: Why) -> impl Future<Output = Outcome>;
}

/// The loop's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Quiet time after the last file event before a pass.
    pub debounce: Duration,
    /// The first retry after an outage; doubled each time.
    pub retry_base: Duration,
    /// The longest wait between retries.
    pub retry_cap: Duration,
}

/// The wait before retry number `failures` (1-based) after an outage.
pub fn retry_delay(timing: &Timing, failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    timing
        .retry_base
        .saturating_mul(1 << exponent)
        .min(timing.retry_cap)
}

/// Runs passes until `Shutdown` (or the channel closes). Returns how many passes ran.
pub async fn run<P: Pass>(
    pass: &mut P,
    triggers: &mut mpsc::Receiver<Trigger>,
    timing: &Timing,
) -> usize {
    let mut passes = 1;
    let mut outcome = pass.run(Why::Start).await;
    let mut failures: u32 = u32::from(outcome == Outcome::Outage);
    loop {
        let retry_at =
            (outcome == Outcome::Outage).then(|| Instant::now() + retry_delay(timing, failures));
        let why = tokio::select! {
            trigger = triggers.recv() => match trigger {
                None | Some(Trigger::Shutdown) => return passes,
                Some(Trigger::Tick) => Why::Interval,
                Some(Trigger::ConfigChanged) => {
                    if !debounce(triggers, timing.debounce).await {
                        return passes;
                    }
                    Why::ConfigChanged
                }
            },
            () = sleep_until(retry_at) => Why::Retry,
        };
        outcome = pass.run(why).await;
        passes += 1;
        failures = if outcome == Outcome::Outage {
            failures + 1
        } else {
            0
        };
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Waits until no file event arrived for `quiet`; ticks meanwhile are folded into the pass
/// that follows. False if a shutdown came first.
async fn debounce(triggers: &mut mpsc::Receiver<Trigger>, quiet: Duration) -> bool {
    loop {
        tokio::select! {
            trigger = triggers.recv() => match trigger {
                None | Some(Trigger::Shutdown) => return false,
                Some(Trigger::ConfigChanged | Trigger::Tick) => {}
            },
            () = tokio::time::sleep(quiet) => return true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pass that records why it ran and ends as scripted (`Done` once the script runs out).
    struct Scripted {
        outcomes: Vec<Outcome>,
        runs: Vec<(Why, Duration)>,
        started: Instant,
    }

    impl Scripted {
        fn new(outcomes: &[Outcome]) -> Self {
            Scripted {
                outcomes: outcomes.iter().rev().copied().collect(),
                runs: Vec::new(),
                started: Instant::now(),
            }
        }
    }

    impl Pass for Scripted {
        async fn run(&mut self, why: Why) -> Outcome {
            self.runs.push((why, self.started.elapsed()));
            self.outcomes.pop().unwrap_or(Outcome::Done)
        }
    }

    const TIMING: Timing = Timing {
        debounce: Duration::from_millis(300),
        retry_base: Duration::from_secs(1),
        retry_cap: Duration::from_secs(30),
    };

    /// Sends `triggers` at their times (from the start), then shuts down.
    fn script(sender: mpsc::Sender<Trigger>, triggers: Vec<(u64, Trigger)>) {
        tokio::spawn(async move {
            let start = Instant::now();
            for (at_ms, trigger) in triggers {
                tokio::time::sleep_until(start + Duration::from_millis(at_ms)).await;
                let _ = sender.send(trigger).await;
            }
        });
    }

    fn whys(pass: &Scripted) -> Vec<Why> {
        pass.runs.iter().map(|(why, _)| *why).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn an_edit_makes_one_pass_after_the_debounce() {
        let (sender, mut receiver) = mpsc::channel(16);
        script(
            sender,
            vec![(1_000, Trigger::ConfigChanged), (5_000, Trigger::Shutdown)],
        );
        let mut pass = Scripted::new(&[]);
        assert_eq!(run(&mut pass, &mut receiver, &TIMING).await, 2);
        assert_eq!(whys(&pass), [Why::Start, Why::ConfigChanged]);
        assert_eq!(pass.runs[1].1, Duration::from_millis(1_300));
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_edits_makes_one_pass() {
        let (sender, mut receiver) = mpsc::channel(16);
        let mut burst: Vec<(u64, Trigger)> = (0..10)
            .map(|i| (1_000 + i * 100, Trigger::ConfigChanged))
            .collect();
        burst.push((5_000, Trigger::Shutdown));
        script(sender, burst);
        let mut pass = Scripted::new(&[]);
        run(&mut pass, &mut receiver, &TIMING).await;
        assert_eq!(whys(&pass), [Why::Start, Why::ConfigChanged]);
        assert_eq!(
            pass.runs[1].1,
            Duration::from_millis(1_900 + 300),
            "after the last event's quiet time"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn ticks_make_passes_and_a_tick_during_a_debounce_is_folded_in() {
        let (sender, mut receiver) = mpsc::channel(16);
        script(
            sender,
            vec![
                (1_000, Trigger::Tick),
                (2_000, Trigger::ConfigChanged),
                (2_100, Trigger::Tick),
                (9_000, Trigger::Shutdown),
            ],
        );
        let mut pass = Scripted::new(&[]);
        run(&mut pass, &mut receiver, &TIMING).await;
        assert_eq!(whys(&pass), [Why::Start, Why::Interval, Why::ConfigChanged]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_is_retried_with_backoff_until_it_recovers() {
        let (sender, mut receiver) = mpsc::channel(16);
        script(sender, vec![(60_000, Trigger::Shutdown)]);
        let mut pass = Scripted::new(&[
            Outcome::Outage,
            Outcome::Outage,
            Outcome::Outage,
            Outcome::Done,
        ]);
        run(&mut pass, &mut receiver, &TIMING).await;
        assert_eq!(
            whys(&pass),
            [Why::Start, Why::Retry, Why::Retry, Why::Retry]
        );
        let at: Vec<u128> = pass.runs.iter().map(|(_, at)| at.as_millis()).collect();
        assert_eq!(
            at,
            [0, 1_000, 3_000, 7_000],
            "1 s, then 2 s, then 4 s; none after recovery"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_invalid_config_waits_for_the_next_change_without_retrying() {
        let (sender, mut receiver) = mpsc::channel(16);
        script(
            sender,
            vec![
                (10_000, Trigger::ConfigChanged),
                (20_000, Trigger::Shutdown),
            ],
        );
        let mut pass = Scripted::new(&[Outcome::InvalidConfig, Outcome::Done]);
        run(&mut pass, &mut receiver, &TIMING).await;
        assert_eq!(whys(&pass), [Why::Start, Why::ConfigChanged]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_shutdown_ends_the_loop_even_during_a_debounce() {
        let (sender, mut receiver) = mpsc::channel(16);
        script(
            sender,
            vec![(1_000, Trigger::ConfigChanged), (1_100, Trigger::Shutdown)],
        );
        let mut pass = Scripted::new(&[]);
        assert_eq!(run(&mut pass, &mut receiver, &TIMING).await, 1);
    }

    #[test]
    fn retry_delays_double_and_are_capped() {
        let delays: Vec<u64> = (1..=7).map(|n| retry_delay(&TIMING, n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
    }
}
