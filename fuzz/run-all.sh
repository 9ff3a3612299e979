#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 20) and prints, per target, the executions
# and the share of them that reached a value comparison against the reference (each target
# counts them and prints `descent-fuzz: compared V of N executions` at exit).
#   fuzz/run-all.sh 600
# Needs nightly and cargo-fuzz (`cargo install cargo-fuzz --locked`). Exits non-zero on the
# first crash (the reproducer is in fuzz/artifacts/<target>/), and when a target compared
# values in fewer than half of its executions: a generator that mostly misses the range where
# values can be compared checks only the error contract.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
SECONDS_EACH="${1:-20}"
cargo +nightly fuzz build
low=()
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
  tally="$(grep -E '^descent-fuzz: compared [0-9]+ of [0-9]+ executions' "$log" | tail -1 || true)"
  rm -f "$log"
  if [ -z "$tally" ]; then
    echo "fuzz target $target printed no tally of compared executions"
    exit 1
  fi
  compared="$(echo "$tally" | sed -E 's/.*compared ([0-9]+) of.*/\1/')"
  total="$(echo "$tally" | sed -E 's/.* of ([0-9]+) executions.*/\1/')"
  share=$((total > 0 ? 100 * compared / total : 0))
  echo "fuzz $target: $runs executions in ${SECONDS_EACH}s, no crash; $compared of $total ($share %) compared values"
  if [ $((2 * compared)) -lt "$total" ] || [ "$total" -eq 0 ]; then
    low+=("$target")
  fi
done
if [ ${#low[@]} -gt 0 ]; then
  echo "fuzz targets that compared values in fewer than half of their executions: ${low[*]}"
  exit 1
fi
