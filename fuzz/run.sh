#!/usr/bin/env bash
# Builds the fuzz targets and runs each for SECONDS (default 30) from the committed
# seeds, keeping what it finds in fuzz/corpus/ (git-ignored). Needs the nightly
# toolchain; installs cargo-fuzz from crates.io if it is missing.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
cargo +nightly fuzz build -s none
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in $(cargo +nightly fuzz list); do
  mkdir -p "corpus/$target"
  echo "== fuzz $target for ${seconds}s"
  if ! cargo +nightly fuzz run -s none "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz $target failed; the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  grep -E "^stat::(number_of_executed_units|peak_rss_mb)|^#[0-9]+ +DONE" "$log" || true
done
