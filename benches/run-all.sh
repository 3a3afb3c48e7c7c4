#!/usr/bin/env bash
# Every benchmark of BENCHMARKS.md, in its order, after the machine they ran on: the planner,
# apply throughput, watch latency, the no-op plan against its baseline, start-up. Each is also
# runnable alone by the command printed in its heading. About six minutes. The numbers go to
# stdout, cargo's and criterion's progress to stderr.
#   benches/run-all.sh | tee bench.txt
set -euo pipefail
cd "$(dirname "$0")/.."

# Criterion's comparison with its previous run and its outlier notes are not numbers
# BENCHMARKS.md reports.
criterion_numbers() {
  grep -Ev '^ *(change:|Found [0-9]+ outliers|[0-9]+ \([0-9.]+%\) (low|high) (mild|severe))|Performance has|No change in|Change within' || true
}

echo "== machine"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit:  $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src benches Cargo.toml Cargo.lock || echo ' (with uncommitted changes)')"
echo "cpu:     $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "cores:   $(nproc) (as this process sees them)"
echo "memory:  $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "kernel:  $(uname -sr)"
echo "rustc:   $(rustc -V)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min, before the build)"

echo "== build: cargo build --release; cargo bench --no-run"
cargo build --release --quiet
cargo bench --no-run --quiet

echo "== planner: cargo bench --bench planner"
cargo bench --quiet --bench planner | criterion_numbers

echo "== apply throughput: cargo bench --bench apply"
cargo bench --quiet --bench apply | criterion_numbers

echo "== watch latency: benches/watch_latency.sh"
benches/watch_latency.sh

echo "== no-op plan: cargo bench --bench noop_plan"
cargo bench --quiet --bench noop_plan

echo "== start-up: benches/startup.sh"
benches/startup.sh
