#!/usr/bin/env python3
"""Prints the dense-layer table of docs/PERFORMANCE.md from criterion's files.

Run `cargo bench --bench dense` first; this reads target/criterion/{forward,backward}_*/ and
fma_peak/, weight_read/ and weight_update/, the medians of that one run, and prints for each
shape and pass: our time (and the AVX2 kernels' where the detected ones are AVX-512), each
peer's, the ratio to the better peer (> 1: we are faster) and GFLOP/s as a share of the FMA
peak measured in the same run.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
SHAPES = [(1, 784, 128), (32, 784, 128), (64, 784, 256), (256, 784, 256), (32, 128, 10),
          (64, 256, 256), (16, 16, 16), (8, 4, 8), (512, 512, 512)]
PEERS = ["matrixmultiply", "gemm"]


def median_ns(group, function):
    path = ROOT / group / function / "new" / "estimates.json"
    return json.loads(path.read_text())["median"]["point_estimate"]


def flops(group, function):
    path = ROOT / group / function / "new" / "benchmark.json"
    return json.loads(path.read_text())["throughput"]["Elements"]


def fmt_time(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


peak = flops("fma_peak", "avx2-fma") / median_ns("fma_peak", "avx2-fma")  # GFLOP/s
print(f"FMA peak (same run): {peak:.1f} GFLOP/s", end="")
if (ROOT / "fma_peak" / "avx512f").exists():
    peak512 = flops("fma_peak", "avx512f") / median_ns("fma_peak", "avx512f")
    print(f" with 8 lanes, {peak512:.1f} GFLOP/s with 16 (the peak below is the larger)", end="")
    peak = max(peak, peak512)
print()
read_ns = median_ns("weight_read", "784x128")
print(f"Reading the 784 × 128 weights once (same run): {fmt_time(read_ns)}, "
      f"{784 * 128 * 4 / read_ns:.1f} GB/s")
update_ns = median_ns("weight_update", "784x128")
print(f"Reading the weights and reading and writing their gradient (`dW += W`, same run): "
      f"{fmt_time(update_ns)}\n")
# Where the detected kernels are AVX-512, the bench also ran the AVX2 ones.
AVX2 = (ROOT / f"forward_{SHAPES[0][0]}x{SHAPES[0][1]}x{SHAPES[0][2]}" / "descent-avx2").exists()
print("| pass | (batch, in, out) | descent | " + ("AVX2 | " if AVX2 else "")
      + "portable | matrixmultiply | gemm | vs better peer | GFLOP/s | % of FMA peak |")
print("|---|---|---|---|---|---|---|---|---|" + ("---|" if AVX2 else ""))
for pass_ in ["forward", "backward"]:
    for (b, i, o) in SHAPES:
        group = f"{pass_}_{b}x{i}x{o}"
        ours = median_ns(group, "descent")
        avx2 = f"{fmt_time(median_ns(group, 'descent-avx2'))} | " if AVX2 else ""
        portable = median_ns(group, "descent-portable")
        peers = [median_ns(group, p) for p in PEERS]
        gflops = flops(group, "descent") / ours
        print(f"| {pass_} | ({b}, {i}, {o}) | {fmt_time(ours)} | {avx2}{fmt_time(portable)} | "
              + " | ".join(fmt_time(p) for p in peers)
              + f" | {min(peers) / ours:.2f}× | {gflops:.1f} | {100 * gflops / peak:.0f} % |")
