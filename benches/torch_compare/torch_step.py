"""The PyTorch side of `benches/torch_compare/run.sh`: the same computation as
`examples/train_step.rs`, timed the same way, printing the same lines. Not part of CI.

    python torch_step.py [--breakdown] [--seconds S] [--warm-up N] [--only step|digits]
                         [--adam default|foreach|fused]

* step: an MLP 784 -> Linear 256 -> ReLU -> Linear 128 -> ReLU -> Linear 10 (nn.Linear's
  default init), fixed random data (pixels uniform in [0, 1), labels uniform in 0..10),
  F.cross_entropy (mean) and torch.optim.Adam(lr=1e-3). One step is
  zero_grad(set_to_none=False) -> forward -> loss -> backward -> Adam step, at batch sizes
  1, 2, 4, ..., 256. --adam picks torch's implementation of the Adam step: its default on
  CPU (a per-tensor loop), foreach=True or fused=True (torch's fastest on CPU, closest to
  descent's one fused pass; it applies to the digits epoch's AdamW too). Prints
  `step batch=B median_us=T p10_us=T samples=N` (the median and the 10th percentile) and,
  with --breakdown,
  `breakdown batch=B zero_grad_us=... forward_us=... loss_us=... backward_us=... optimizer_us=...`.
* digits: one epoch of examples/digits.rs's training (80/20 split, then 10 % of the training
  part for validation; Linear 64-128-64-10 with GELU, AdamW(lr=1e-3, weight_decay=1e-4),
  OneCycleLR(max_lr=4e-3) stepped per batch, mini-batches of 32 reshuffled every epoch, the
  batch accuracy and loss read every step, the validation set evaluated after the epoch).
  Prints `digits_epoch median_ms=T p10_ms=T epochs=N val_accuracy=A`: the median (and the 10th
  percentile) of the epoch times over whole
  40-epoch runs (the first one discarded as warm-up), repeated until --seconds have passed.

descent's training loop does not cycle Adam's beta1 with the one-cycle schedule (it sets only
the learning rate), so OneCycleLR runs here with cycle_momentum=False: the same computation.

float32, torch.set_num_threads(1), torch.set_num_interop_threads(1). Steps are timed in
episodes, as examples/train_step.rs times them (its docs say why): a fresh, seeded model and
optimizer (untimed), --warm-up steps (default 20), then the next 100 timed one by one; repeated
until --seconds (default 0.5) of timed steps have been taken; the median is reported.
"""

import argparse
import math
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

torch.set_num_threads(1)
torch.set_num_interop_threads(1)
torch.set_default_dtype(torch.float32)

SEED = 2024
CLASSES = 10
BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256]
TIMED_STEPS = 100  # per episode
PHASES = ["zero_grad", "forward", "loss", "backward", "optimizer"]
DIGITS_EPOCHS = 40
DIGITS_BATCH = 32
DIGITS_CSV = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "data", "digits.csv"
)


def median_p10(samples):
    """The median and the 10th percentile (as examples/train_step.rs picks it)."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[(len(ordered) - 1) // 10]


def mlp():
    return nn.Sequential(
        nn.Linear(784, 256),
        nn.ReLU(),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Linear(128, CLASSES),
    )


def adam_kwargs(kind):
    return {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}[kind]


def time_steps(b, x, y, args):
    """The median and the 10th percentile of single steps at batch b, their number, and with
    --breakdown the median of each phase."""
    x, y = x[:b].contiguous(), y[:b].contiguous()
    clock = time.perf_counter

    def episode(marked, totals, phases):
        torch.manual_seed(SEED)
        model = mlp()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, **adam_kwargs(args.adam))

        def step():
            opt.zero_grad(set_to_none=False)
            out = model(x)
            loss = F.cross_entropy(out, y)
            loss.backward()
            opt.step()
            return loss

        # The first steps also allocate the gradients and Adam's state.
        for _ in range(args.warm_up):
            step()
        timed = 0.0
        for _ in range(TIMED_STEPS):
            if not marked:
                t0 = clock()
                loss = step()
                t5 = clock()
            else:
                t0 = clock()
                opt.zero_grad(set_to_none=False)
                t1 = clock()
                out = model(x)
                t2 = clock()
                loss = F.cross_entropy(out, y)
                t3 = clock()
                loss.backward()
                t4 = clock()
                opt.step()
                t5 = clock()
                marks = [t0, t1, t2, t3, t4, t5]
                for samples, a, z in zip(phases, marks, marks[1:]):
                    samples.append((z - a) * 1e6)
            timed += t5 - t0
            totals.append((t5 - t0) * 1e6)
        if not math.isfinite(loss.item()):
            raise SystemExit(f"loss {loss.item()} at batch {b}")
        return timed

    totals, phases, timed = [], [[] for _ in PHASES], 0.0
    while timed < args.seconds:
        timed += episode(False, totals, phases)
    medians = None
    if args.breakdown:
        unused, timed = [], 0.0
        while timed < args.seconds:
            timed += episode(True, unused, phases)
        medians = [statistics.median(s) for s in phases]
    median, p10 = median_p10(totals)
    return median, p10, len(totals), medians


def load_digits():
    data = np.loadtxt(DIGITS_CSV, delimiter=",", dtype=np.float32)
    x = torch.from_numpy(data[:, :64] / 16.0).contiguous()
    y = torch.from_numpy(data[:, 64].astype(np.int64))
    return x, y


def split(n, fraction, generator):
    """(rest, held_out) index tensors with round(fraction * n) held out, as descent's split."""
    order = torch.randperm(n, generator=generator)
    held = round(n * fraction)
    return order[held:], order[:held]


def digits_run(xt, yt, xv, yv, generator, adam):
    """One 40-epoch run; the wall time of each epoch (ms) and the last validation accuracy."""
    steps_per_epoch = math.ceil(len(yt) / DIGITS_BATCH)
    model = nn.Sequential(
        nn.Linear(64, 128),
        nn.GELU(),
        nn.Linear(128, 64),
        nn.GELU(),
        nn.Linear(64, 10),
    )
    opt = torch.optim.AdamW(
        model.parameters(), lr=1e-3, weight_decay=1e-4, **adam_kwargs(adam)
    )
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=4e-3, total_steps=DIGITS_EPOCHS * steps_per_epoch, cycle_momentum=False
    )
    times, accuracy = [], float("nan")
    for _ in range(DIGITS_EPOCHS):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(len(yt), generator=generator)
        loss_sum, correct = 0.0, 0
        for idx in order.split(DIGITS_BATCH):
            xb, yb = xt[idx], yt[idx]
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            value = loss.item()
            if not math.isfinite(value):
                raise SystemExit("the digits loss is not finite")
            correct += (out.argmax(1) == yb).sum().item()
            loss_sum += value * len(idx)
            opt.zero_grad(set_to_none=False)
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            out = model(xv)
            F.cross_entropy(out, yv).item()  # the validation loss, as descent computes it
            accuracy = (out.argmax(1) == yv).float().mean().item()
        times.append((time.perf_counter() - t0) * 1e3)
    return times, accuracy


def time_digits(seconds, adam):
    x, y = load_digits()
    generator = torch.Generator().manual_seed(SEED)
    torch.manual_seed(SEED)
    train, _test = split(len(y), 0.2, generator)
    x, y = x[train], y[train]
    rest, val = split(len(y), 0.1, generator)
    xt, yt = x[rest].contiguous(), y[rest].contiguous()
    xv, yv = x[val].contiguous(), y[val].contiguous()
    epochs, runs, accuracy = [], 0, float("nan")
    start = time.perf_counter()
    while runs < 2 or time.perf_counter() - start < seconds:
        times, accuracy = digits_run(xt, yt, xv, yv, generator, adam)
        if runs > 0:
            epochs.extend(times)
        runs += 1
    return epochs, accuracy


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--breakdown", action="store_true")
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--warm-up", type=int, default=20)
    parser.add_argument("--only", choices=["step", "digits"])
    parser.add_argument("--adam", choices=["default", "foreach", "fused"], default="default")
    args = parser.parse_args()
    if not args.seconds > 0:
        raise SystemExit("--seconds must be positive")

    print(
        f"# torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"interop threads {torch.get_num_interop_threads()}, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, Adam {args.adam}",
        flush=True,
    )
    if args.only != "digits":
        g = torch.Generator().manual_seed(SEED + 1)
        x = torch.rand(max(BATCHES), 784, generator=g)
        y = torch.randint(0, CLASSES, (max(BATCHES),), generator=g)
        for b in BATCHES:
            median_us, p10_us, n, phases = time_steps(b, x, y, args)
            print(
                f"step batch={b} median_us={median_us:.2f} p10_us={p10_us:.2f} samples={n}",
                flush=True,
            )
            if phases is not None:
                fields = " ".join(f"{p}_us={t:.2f}" for p, t in zip(PHASES, phases))
                print(f"breakdown batch={b} {fields}", flush=True)
    if args.only != "step":
        epochs, accuracy = time_digits(args.seconds, args.adam)
        median_ms, p10_ms = median_p10(epochs)
        print(
            f"digits_epoch median_ms={median_ms:.3f} p10_ms={p10_ms:.3f} epochs={len(epochs)} "
            f"val_accuracy={accuracy:.4f}"
        )


if __name__ == "__main__":
    main()
