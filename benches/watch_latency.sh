#!/usr/bin/env bash
# Watch latency: the time from saving the config to the plan printed, median of 20 saves, with
# the debounce subtracted. Runs the release binary against its emulator on loopback.
#   benches/watch_latency.sh            (builds with cargo build --release first)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN=$PWD/target/release/vntana-webhooks
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"

"$BIN" emulator --listen 127.0.0.1:0 > emulator.out 2>/dev/null &
for _ in $(seq 50); do grep -q '^export VNTANA_API_KEY' emulator.out 2>/dev/null && break; sleep 0.1; done
eval "$(grep '^export' emulator.out)"

DEBOUNCE_MS=50
config() {
  printf 'version: 1\norganizations:\n  globex:\n    webhooks:\n      bench:\n        url: https://bench.example/hook\n        description: "save %s"\n        events: [product.added]\n' "$1"
}
config 0 > webhooks.yaml
"$BIN" watch -f webhooks.yaml --interval 1h --debounce ${DEBOUNCE_MS}ms > watch.out 2>/dev/null &
for _ in $(seq 100); do grep -q '^Plan:\|^No changes' watch.out 2>/dev/null && break; sleep 0.05; done

latencies=()
for i in $(seq 1 20); do
  before=$(grep -c '^Plan:\|^No changes' watch.out || true)
  start=$(date +%s%N)
  config "$i" > webhooks.yaml
  while [ "$(grep -c '^Plan:\|^No changes' watch.out || true)" -le "$before" ]; do sleep 0.002; done
  end=$(date +%s%N)
  latencies+=($(( (end - start) / 1000000 - DEBOUNCE_MS )))
done
mapfile -t sorted < <(printf '%s\n' "${latencies[@]}" | sort -n)
echo "save -> plan printed, debounce (${DEBOUNCE_MS} ms) subtracted, 20 saves:"
echo "  median ${sorted[9]} ms (min ${sorted[0]} ms, max ${sorted[19]} ms)"
