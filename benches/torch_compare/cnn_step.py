"""The PyTorch side of `examples/cnn_step.rs`: one training step (zero_grad, forward,
cross-entropy, backward, Adam) of the same three convolutional networks at batch 1 and 32, one
thread, float32; prints `cnn_step net=N batch=B median_us=T`. Not part of CI.

    python cnn_step.py [--seconds S]
"""

import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def nets():
    return {
        "digits": ((1, 8, 8), nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 10))),
        "motions": ((6, 100), nn.Sequential(
            nn.Conv1d(6, 16, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(16, 32, 5, padding=2), nn.ReLU(),
            nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(32, 4))),
        "lenet5": ((1, 28, 28), nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=1.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    for name, (shape, model) in nets().items():
        classes = model[-1].out_features
        for batch in (1, 32):
            torch.manual_seed(2024)
            x = torch.rand(batch, *shape)
            labels = torch.randint(0, classes, (batch,))
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)

            def step():
                opt.zero_grad(set_to_none=False)
                loss = F.cross_entropy(model(x), labels)
                loss.backward()
                opt.step()
                return loss

            for _ in range(20):
                step()
            times = []
            start = time.perf_counter()
            while time.perf_counter() - start < args.seconds or len(times) < 10:
                t0 = time.perf_counter()
                step()
                times.append((time.perf_counter() - t0) * 1e6)
            print(f"cnn_step net={name} batch={batch} median_us={statistics.median(times):.1f}")


if __name__ == "__main__":
    main()
