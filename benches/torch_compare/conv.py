"""The PyTorch side of `benches/conv.rs`: the same convolution shapes, one thread, float32.

    python conv.py [--seconds S]

For each case prints `conv forward name=N median_us=T` and `conv backward name=N median_us=T`:
forward is `F.conv1d`/`F.conv2d` with bias; backward is `torch.ops.aten.convolution_backward`
with all three gradients (dx, dweight, dbias), the kernel autograd calls. Each is timed in
rounds of 20 calls until --seconds (default 1) have passed; the median per call is printed.
Not part of CI (it needs torch: `benches/torch_compare/run.sh` installs it).
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

# (name, batch, in, out, [h, w], [kh, kw], stride, padding); h = 0: a 1-D convolution.
CASES = [
    ("digits_conv1", 32, 1, 8, [8, 8], [3, 3], 1, 1),
    ("digits_conv2", 32, 8, 16, [4, 4], [3, 3], 1, 1),
    ("imu_conv1", 32, 6, 16, [0, 100], [0, 5], 1, 2),
    ("imu_conv2", 32, 16, 32, [0, 50], [0, 5], 1, 2),
    ("image_16to32", 16, 16, 32, [14, 14], [3, 3], 1, 1),
]


def median_us(fn, seconds):
    for _ in range(20):
        fn()
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        for _ in range(20):
            fn()
        times.append((time.perf_counter() - t0) / 20)
    return statistics.median(times) * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=1.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    for name, n, ci, co, (h, w), (kh, kw), s, p in CASES:
        if h == 0:
            x = torch.randn(n, ci, w)
            wt = torch.randn(co, ci, kw)
            conv = lambda: F.conv1d(x, wt, b, stride=s, padding=p)
            stride, padding, dilation = [s], [p], [1]
        else:
            x = torch.randn(n, ci, h, w)
            wt = torch.randn(co, ci, kh, kw)
            conv = lambda: F.conv2d(x, wt, b, stride=s, padding=p)
            stride, padding, dilation = [s, s], [p, p], [1, 1]
        b = torch.randn(co)
        dy = torch.randn_like(conv())
        with torch.no_grad():
            fwd = median_us(conv, args.seconds)
            bwd = median_us(
                lambda: torch.ops.aten.convolution_backward(
                    dy, x, wt, [co], stride, padding, dilation, False, [0], 1, [True, True, True]
                ),
                args.seconds,
            )
        print(f"conv forward name={name} median_us={fwd:.2f}")
        print(f"conv backward name={name} median_us={bwd:.2f}")


if __name__ == "__main__":
    main()
