"""Python side of the checkpoint interoperability check (see examples/checkpoint_interop.rs).

    python checkpoint_interop.py write PATH   # the fixed model, with safetensors.numpy
    python checkpoint_interop.py check PATH   # exit 0 iff PATH holds exactly it
    python checkpoint_interop.py cnn MODEL IO # the CNN's logits, from numpy, equal the crate's

Needs `safetensors` and `numpy` only (no torch). The model's values are built here
independently of the Rust example: weights ((37k + 11t + 5) mod 101 - 50) / 64 for element k
of layer t, biases given by their float32 bit patterns.
"""

import re
import struct
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

METADATA = {"format": "pt", "model": "mlp-4-3-2"}


def weight(t, shape):
    n = int(np.prod(shape))
    return np.array(
        [(((37 * k + 11 * t + 5) % 101) - 50) / 64 for k in range(n)], dtype=np.float32
    ).reshape(shape)


def from_bits(bits):
    return np.array(bits, dtype=np.uint32).view(np.float32)


def model():
    return {
        "0.weight": weight(0, (3, 4)),
        "0.bias": from_bits([0x80000000, 0x00000001, 0x7F7FFFFF]),
        "2.weight": weight(2, (2, 3)),
        "2.bias": from_bits([0x3EAAAAAB, 0xC0490FDB]),
    }


def write(path):
    save_file(model(), path, metadata=METADATA)
    print(f"wrote {path}: {len(model())} tensors")


def check(path):
    failures = []
    expected = model()
    got = load_file(path)
    if set(got) != set(expected):
        failures.append(f"names {sorted(got)}, expected {sorted(expected)}")
    for name, e in expected.items():
        g = got.get(name)
        if g is None:
            continue
        if g.dtype != np.float32 or g.shape != e.shape:
            failures.append(f"{name}: {g.dtype} {g.shape}, expected float32 {e.shape}")
        elif not np.array_equal(g.view(np.uint32), e.view(np.uint32)):
            failures.append(f"{name}: {g.ravel().tolist()} != {e.ravel().tolist()} (bits)")
    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata() or {}
    crc = metadata.pop("descent.crc32", None)
    algorithm = metadata.pop("descent.checksum", None)
    if metadata != METADATA:
        failures.append(f"metadata {metadata}, expected {METADATA} (+ descent.* keys)")
    if algorithm != "crc32" or crc is None or not re.fullmatch(r"[0-9a-f]{8}", crc):
        failures.append(f"checksum keys: descent.checksum={algorithm!r}, descent.crc32={crc!r}")
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
    if n % 8 != 0:
        failures.append(f"header length {n} is not a multiple of 8")
    if failures:
        print("checkpoint_interop.py: FAILED", *failures, sep="\n", file=sys.stderr)
        sys.exit(1)
    print(f"{path}: {len(expected)} tensors and metadata match exactly; checksum crc32 {crc}")


def conv2d(x, w, b, stride, padding):
    """torch's F.conv2d (cross-correlation, zero padding) in float64 numpy."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    oh, ow = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    y = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            y[:, :, i, j] = np.einsum("nckl,ockl->no", patch, w)
    return y + (0 if b is None else b[None, :, None, None])


def max_pool2d(x, k):
    n, c, h, w = x.shape
    oh, ow = h // k, w // k
    return x[:, :, :oh * k, :ow * k].reshape(n, c, oh, k, ow, k).max(axis=(3, 5))


def cnn(model_path, io_path):
    """The checkpoint of examples/checkpoint_interop.rs's CNN, run by numpy from torch's
    state_dict names and shapes, gives the logits the crate computed (float64 here)."""
    m = {k: v.astype(np.float64) for k, v in load_file(model_path).items()}
    io = load_file(io_path)
    want = {"0.weight": (4, 1, 3, 3), "0.bias": (4,), "3.weight": (6, 4, 2, 3), "6.weight": (3, 6), "6.bias": (3,)}
    got = {k: v.shape for k, v in m.items()}
    if got != want:
        print(f"checkpoint_interop.py: FAILED\ntensors {got}, expected {want}", file=sys.stderr)
        sys.exit(1)
    h = np.maximum(conv2d(io["x"].astype(np.float64), m["0.weight"], m["0.bias"], (1, 1), (1, 1)), 0)
    h = max_pool2d(h, 2)
    h = np.maximum(conv2d(h, m["3.weight"], None, (2, 2), (0, 0)), 0)
    logits = h.reshape(h.shape[0], -1) @ m["6.weight"].T + m["6.bias"]
    rust = io["logits"].astype(np.float64)
    err = np.abs(logits - rust).max()
    if not err <= 1e-5 * max(1.0, np.abs(logits).max()):
        print(f"checkpoint_interop.py: FAILED\nlogits differ by {err:e}:\n{logits}\n{rust}", file=sys.stderr)
        sys.exit(1)
    print(f"{model_path}: numpy's forward of the CNN gives the crate's logits (max difference {err:.1e})")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "cnn":
        cnn(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        print("usage: checkpoint_interop.py (write|check) PATH | cnn MODEL IO", file=sys.stderr)
        sys.exit(2)
    {"write": write, "check": check}[sys.argv[1]](sys.argv[2])


if __name__ == "__main__":
    main()
