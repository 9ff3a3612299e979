#!/usr/bin/env bash
# A whole training step (zero_grad, forward, cross-entropy, backward, Adam) of an MLP
# 784-256-128-10 at batch sizes 1..256, and one epoch of examples/digits.rs, with descent and
# with PyTorch on the same machine, one thread each; prints the times and the ratios.
#
# NOT PART OF CI: it installs PyTorch (several GB from the package registry) into a virtual
# environment and runs for a minute or two. Run it by hand on a quiet machine:
#
#     [ROUNDS=N] bash benches/torch_compare/run.sh [--breakdown] [--seconds S] [--warm-up N]
#
# The arguments go to both programs (examples/train_step.rs and torch_step.py beside this
# file): --breakdown adds the median of each phase of a step, --seconds the time spent timing
# each batch size (default 0.5), --warm-up the untimed steps of each timing episode (default
# 20; examples/train_step.rs says why steps are timed in episodes). The virtual environment
# is target/torch-venv (TORCH_VENV overrides it); torch is installed by package name with pip
# (the default wheel, with CUDA libraries: several GB).
# descent is built as a plain `cargo build --release` (no RUSTFLAGS: run-time dispatch).
# torch is timed twice: with torch.optim.Adam's default CPU implementation (a loop over the
# tensors) and with fused=True (its fastest, one pass as descent's Adam is).
#
# ROUNDS=N (default 1) runs the three N times, one after the other, and keeps for each figure
# (a median or a 10th percentile) the smallest of its N values: on a shared machine,
# contention only ever adds time. One round takes about two minutes.
#
# ratio = torch / descent: above 1, descent is faster.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
venv=${TORCH_VENV:-$target/torch-venv}

if ! "$venv/bin/python" -c 'import torch, numpy' 2>/dev/null; then
    echo "installing PyTorch into $venv (once; several GB)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet torch numpy
fi

env -u RUSTFLAGS -u CARGO_BUILD_RUSTFLAGS \
    cargo build --quiet --release --example train_step
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

rounds=${ROUNDS:-1}
for round in $(seq "$rounds"); do
    echo "== round $round of $rounds: descent" >&2
    "$target/release/examples/train_step" "$@" | tee "$out/descent.$round" >&2
    echo "== round $round of $rounds: torch (Adam default)" >&2
    "$venv/bin/python" benches/torch_compare/torch_step.py "$@" | tee "$out/torch.$round" >&2
    echo "== round $round of $rounds: torch (Adam fused=True)" >&2
    "$venv/bin/python" benches/torch_compare/torch_step.py --adam fused "$@" |
        tee "$out/fused.$round" >&2
done

echo
grep -m1 '^#' "$out/torch.1" || true
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
awk '
    # key=value fields of one line, into v[]
    function fields(line,    n, i, kv, a) {
        delete v
        n = split(line, a, " ")
        for (i = 2; i <= n; i++) { split(a[i], kv, "="); v[kv[1]] = kv[2] }
    }
    # the smallest of the medians of the rounds: contention on a shared machine only adds time
    function keep(a, key, x) { if (!(key in a) || x + 0 < a[key] + 0) a[key] = x }
    FNR == 1 { n = split(FILENAME, path, "/"); split(path[n], name, "."); file = index_of[name[1]] }
    /^step / {
        fields($0)
        keep(step, file SUBSEP v["batch"] SUBSEP "median", v["median_us"])
        keep(step, file SUBSEP v["batch"] SUBSEP "p10", v["p10_us"])
        if (file == 1 && !(v["batch"] in seen)) { seen[v["batch"]] = 1; order[++nb] = v["batch"] }
    }
    /^breakdown / {
        fields($0)
        for (k in v) if (k != "batch") keep(phase, file SUBSEP v["batch"] SUBSEP k, v[k])
    }
    /^digits_epoch / {
        fields($0)
        keep(digits, file SUBSEP "median", v["median_ms"])
        keep(digits, file SUBSEP "p10", v["p10_ms"])
    }
    BEGIN { index_of["descent"] = 1; index_of["torch"] = 2; index_of["fused"] = 3 }
    END {
        split("median p10", stats, " ")
        split("median of single steps|10th percentile of single steps (less disturbed by contention)", titles, "|")
        for (st = 1; st <= 2 && nb > 0; st++) {
            printf "\nwhole training step, MLP 784-256-128-10, one thread: %s\n", titles[st]
            printf "%6s %12s %12s %8s %12s %8s\n", "batch", "descent_us", "torch_us", "ratio", "fused_us", "ratio"
            for (i = 1; i <= nb; i++) {
                b = order[i]; k = stats[st]
                d = step[1, b, k]; t = step[2, b, k]; f = step[3, b, k]
                printf "%6d %12.1f %12.1f %8.2f %12.1f %8.2f\n", b, d, t, t / d, f, f / d
            }
        }
        split("zero_grad forward loss backward optimizer", names, " ")
        if ((1, order[1], "forward_us") in phase) {
            printf "\nbreakdown, median us of each phase: descent / torch (Adam default) / torch (fused)\n"
            printf "%6s", "batch"
            for (p = 1; p <= 5; p++) printf " %24s", names[p]
            printf "\n"
            for (i = 1; i <= nb; i++) {
                b = order[i]; printf "%6d", b
                for (p = 1; p <= 5; p++) {
                    k = names[p] "_us"
                    printf " %24s", sprintf("%.1f/%.1f/%.1f", phase[1, b, k], phase[2, b, k], phase[3, b, k])
                }
                printf "\n"
            }
        }
        if ((1, "median") in digits) {
            printf "\none epoch of examples/digits.rs, ms\n"
            for (st = 1; st <= 2; st++) {
                k = stats[st]; d = digits[1, k]; t = digits[2, k]; f = digits[3, k]
                printf "digits_epoch %-6s descent_ms=%.3f torch_ms=%.3f ratio=%.2f fused_ms=%.3f ratio_fused=%.2f\n", k, d, t, t / d, f, f / d
            }
        }
    }
' "$out"/descent.* "$out"/torch.* "$out"/fused.*
