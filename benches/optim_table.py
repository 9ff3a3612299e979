#!/usr/bin/env python3
"""Prints the optimizer tables of docs/PERFORMANCE.md from criterion's files.

Run `cargo bench --bench optim -- --warm-up-time 1 --measurement-time 3
'(optim|bandwidth)/(100000|10000000)/'` first; this reads the medians of that one run from
target/criterion/optim_{100000,10000000}/ and bandwidth_10000000/ and prints: at n = 100 000,
every optimizer (µs per step) beside its portable lanes and its scalar reference, and Adam's
and SGD-momentum's plain loops in each build; at n = 10 000 000, every optimizer (ms per step)
against the streaming loop with the same reads and writes, timed right after it.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
# (bench name, table name, streaming loop with the same reads and writes)
OPTIMIZERS = [("adam", "Adam", "stream_4r3w"), ("adamw", "AdamW", "stream_4r3w"),
              ("sgd_momentum", "SGD, momentum", "stream_3r2w"), ("sgd", "SGD", "stream_2r1w"),
              ("adagrad", "Adagrad", "stream_3r2w"), ("rmsprop", "RMSprop", "stream_3r2w"),
              ("adamax", "Adamax", "stream_4r3w"), ("nadam", "NAdam", "stream_4r3w"),
              ("radam", "RAdam", "stream_4r3w"), ("adadelta", "Adadelta", "stream_4r3w"),
              ("lion", "Lion", "stream_3r2w"), ("rprop", "Rprop", "stream_4r3w")]
PLAIN = ["scalar_zip", "scalar_zip_avx2", "scalar_zip_avx512"]


def median_ns(*parts):
    path = ROOT.joinpath(*parts, "new", "estimates.json")
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"]


def cell(ns, unit):
    return "" if ns is None else f"{ns / unit:.1f}" if unit == 1e3 else f"{ns / unit:.2f}"


print("n = 100 000, µs per step\n")
print("| optimizer | descent | portable | reference | plain loop | plain loop, AVX2+FMA "
      "| plain loop, AVX-512 | descent vs fastest plain loop |")
print("|---|---|---|---|---|---|---|---|")
for key, name, _ in OPTIMIZERS:
    group = "optim_100000"
    ours = median_ns(group, key, "descent")
    plain = [median_ns(group, key, p) for p in PLAIN]
    known = [p for p in plain if p is not None]
    ratio = f"{min(known) / ours:.2f}×" if known else ""
    print(f"| {name} | {cell(ours, 1e3)} | {cell(median_ns(group, key, 'descent_portable'), 1e3)} "
          f"| {cell(median_ns(group, key, 'scalar'), 1e3)} | "
          + " | ".join(cell(p, 1e3) for p in plain) + f" | {ratio} |")

print("\nn = 10 000 000, ms per step; % = the stream's time over the optimizer's\n")
print("| optimizer | descent | stream | loop | % |")
print("|---|---|---|---|---|")
rows = []
for key, name, stream in OPTIMIZERS:
    ours = median_ns("optim_10000000", key, "descent")
    # The stream timed right after the optimizer, where the run has it.
    ref = median_ns("optim_10000000", key, "stream")
    if ref is None:
        ref = median_ns("bandwidth_10000000", stream)
    rows.append((100 * ref / ours, name, ours, ref, stream))
for pct, name, ours, ref, stream in sorted(rows, reverse=True):
    print(f"| {name} | {cell(ours, 1e6)} | {cell(ref, 1e6)} | {stream} | {pct:.0f} |")
