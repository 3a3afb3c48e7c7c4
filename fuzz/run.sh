#!/usr/bin/env bash
# Fuzz the config loader: seed the corpus from tests/fixtures/config/** (each file, and each
# `dir-*` fixture as its files joined by the target's separator), then run libFuzzer.
#
#   fuzz/run.sh [SECONDS]        default 600; needs `cargo install cargo-fuzz --locked` and a
#                                nightly toolchain. Crashes land in fuzz/artifacts/config_loader/.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-600}"
corpus=corpus/config_loader
mkdir -p "$corpus"

seed() { cp "$1" "$corpus/seed-$(sha1sum < "$1" | cut -c1-16)"; }
shopt -s nullglob
for file in ../tests/fixtures/config/*/*.yaml ../tests/fixtures/config/*/*.yml; do
  seed "$file"
done
for dir in ../tests/fixtures/config/*/dir-*/; do
  joined=$(mktemp)
  first=1
  for file in "$dir"*.yaml "$dir"*.yml; do
    [ -f "$file" ] || continue
    if [ "$first" = 0 ]; then printf '\n#--- next file ---\n' >> "$joined"; fi
    cat "$file" >> "$joined"
    first=0
  done
  seed "$joined"
  rm -f "$joined"
done

# -timeout: an input that takes 10 s is a hang to report; -rss_limit_mb: so is one that
# needs 2 GB. The dictionary holds YAML and config tokens the mutator would rarely guess.
exec cargo +nightly fuzz run config_loader "$corpus" -- \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=32768 \
  -dict=config_loader.dict -print_final_stats=1
