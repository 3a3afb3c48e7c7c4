//! The watch loop (product.md, "Watch"): a pass at start, then one per config change (a burst
//! of file events becomes one pass after `debounce` of quiet) and one when `interval` has
//! passed since the end of the last pass (the interval restarts after every pass, so a change
//! is never followed at once by an interval pass); an outage is retried with exponential
//! backoff until a pass succeeds, then the interval resumes (one pass on recovery, never a
//! burst). Shutdown ends the loop after the pass in flight. Triggers arrive on a channel (file
//! events, signals), as in kube-rs's controller, so tests drive the loop without touching the
//! file system; time is tokio's, paused in tests. What a pass does (load, plan, apply,
//! print) is the `Pass` implementation's business.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

/// Something that should make the loop act.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A config file changed (or was replaced).
    ConfigChanged,
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
    /// Time from the end of a pass to the next drift check.
    pub interval: Duration,
    /// The first retry after an outage; doubled each time.
    pub retry_base: Duration,
    /// The longest wait between retries.
    pub retry_cap: Duration,
}

/// The wait before retry number `failures` (1-based) after an outage.
pub fn retry_delay(timing: &Timing, failures: u32) -> Duration {
    // No jitter: one process, and the platform's own retries are jittered per request.
    crate::api::retry::exponential(timing.retry_base, timing.retry_cap, failures)
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
        // Measured from the end of the pass: the interval restarts after every pass.
        let (wake, woken) = if outcome == Outcome::Outage {
            (retry_delay(timing, failures), Why::Retry)
        } else {
            (timing.interval, Why::Interval)
        };
        let wake_at = Instant::now() + wake;
        let why = tokio::select! {
            trigger = triggers.recv() => match trigger {
                None | Some(Trigger::Shutdown) => return passes,
                Some(Trigger::ConfigChanged) => {
                    if !debounce(triggers, timing.debounce).await {
                        return passes;
                    }
                    Why::ConfigChanged
                }
            },
            () = tokio::time::sleep_until(wake_at) => woken,
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

/// Waits until no file event arrived for `quiet`. False if a shutdown came first.
async fn debounce(triggers: &mut mpsc::Receiver<Trigger>, quiet: Duration) -> bool {
    loop {
        tokio::select! {
            trigger = triggers.recv() => match trigger {
                None | Some(Trigger::Shutdown) => return false,
                Some(Trigger::ConfigChanged) => {}
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
        interval: Duration::from_mins(5),
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
    async fn the_interval_restarts_after_every_pass_so_a_change_is_not_followed_by_a_check() {
        let (sender, mut receiver) = mpsc::channel(16);
        // A change at 4 min: its pass ends the wait; the next interval pass is 5 min later.
        script(
            sender,
            vec![
                (240_000, Trigger::ConfigChanged),
                (900_000, Trigger::Shutdown),
            ],
        );
        let mut pass = Scripted::new(&[]);
        run(&mut pass, &mut receiver, &TIMING).await;
        assert_eq!(
            whys(&pass),
            [Why::Start, Why::ConfigChanged, Why::Interval, Why::Interval]
        );
        let at: Vec<u128> = pass.runs.iter().map(|(_, at)| at.as_millis()).collect();
        assert_eq!(at, [0, 240_300, 540_300, 840_300]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_changes_during_a_long_wait_makes_one_pass() {
        let (sender, mut receiver) = mpsc::channel(64);
        let mut burst: Vec<(u64, Trigger)> = (0..20)
            .map(|i| (10_000 + i * 50, Trigger::ConfigChanged))
            .collect();
        burst.push((60_000, Trigger::Shutdown));
        script(sender, burst);
        let mut pass = Scripted::new(&[]);
        assert_eq!(run(&mut pass, &mut receiver, &TIMING).await, 2);
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
            "1 s, then 2 s, then 4 s; after recovery, the interval (5 min) again"
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
