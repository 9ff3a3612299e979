"""Python side of the checkpoint interoperability check (see examples/checkpoint_interop.rs).

    python checkpoint_interop.py write PATH   # the fixed model, with safetensors.numpy
    python checkpoint_interop.py check PATH   # exit 0 iff PATH holds exactly it

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


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("write", "check"):
        print("usage: checkpoint_interop.py (write|check) PATH", file=sys.stderr)
        sys.exit(2)
    {"write": write, "check": check}[sys.argv[1]](sys.argv[2])


if __name__ == "__main__":
    main()
