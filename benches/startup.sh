#!/usr/bin/env bash
# Start-up: the wall time of `vntana-webhooks --version` (process start to exit), RUNS times
# (default 500) after 20 unmeasured warm-up runs, as median, p95 and min; `/bin/true` is
# timed the same way beside it, for the cost of starting any process here (nothing is
# subtracted). Timestamps are bash's $EPOCHREALTIME, so no `date` process is timed.
#   benches/startup.sh            (builds with cargo build --release first)
#   RUNS=2000 benches/startup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN=$PWD/target/release/vntana-webhooks
RUNS=${RUNS:-500}

# Prints "median X ms, p95 Y ms, min Z ms" for RUNS runs of the command given.
measure() {
  local i start end
  local -a micros=()
  for ((i = 0; i < 20; i++)); do "$@" > /dev/null; done
  for ((i = 0; i < RUNS; i++)); do
    start=$EPOCHREALTIME
    "$@" > /dev/null
    end=$EPOCHREALTIME
    micros+=($(( ${end/./} - ${start/./} )))
  done
  mapfile -t micros < <(printf '%s\n' "${micros[@]}" | sort -n)
  ms() { printf '%d.%02d ms' $(( $1 / 1000 )) $(( $1 % 1000 / 10 )); }
  echo "median $(ms "${micros[RUNS / 2]}"), p95 $(ms "${micros[RUNS * 95 / 100]}"), min $(ms "${micros[0]}")"
}

echo "start-up, $RUNS runs each:"
echo "  vntana-webhooks --version: $(measure "$BIN" --version)"
echo "  /bin/true (any process):   $(measure /bin/true)"
