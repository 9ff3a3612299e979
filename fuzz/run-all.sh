#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20) and prints the executions per target.
#   fuzz/run-all.sh 600
# Needs nightly and cargo-fuzz (`cargo install cargo-fuzz --locked`). Exits non-zero on the
# first crash; the reproducer is in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
SECONDS_EACH="${1:-20}"
cargo +nightly fuzz build
for target in $(cargo +nightly fuzz list); do
  mkdir -p "corpus/$target"
  # Checked-in seeds (if any) start the corpus.
  if [ -d "seeds/$target" ]; then cp -n seeds/"$target"/* "corpus/$target/" 2>/dev/null || true; fi
  log="$(mktemp)"
  if ! cargo +nightly fuzz run "$target" -- -max_total_time="$SECONDS_EACH" >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz target $target FAILED"
    exit 1
  fi
  runs="$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -1 | grep -Eo '[0-9]+' || echo '?')"
  echo "fuzz $target: $runs executions in ${SECONDS_EACH}s, no crash"
  rm -f "$log"
done
