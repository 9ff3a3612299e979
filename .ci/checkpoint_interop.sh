#!/usr/bin/env bash
# Checkpoint interoperability with Python's safetensors (numpy only, no torch), both ways:
#   Rust writes -> Python checks, Python writes -> Rust checks.
# Run (not sourced) from .ci/run on a fresh machine that has Rust and apt; installs python3 and
# python3-venv if missing, and safetensors + numpy into a throw-away venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# `python3 -m venv --help` works on Debian without python3-venv, but creating a venv then
# fails at ensurepip: try, and install the package on failure.
if ! command -v python3 >/dev/null 2>&1 || ! python3 -m venv "$tmp/venv" >/dev/null 2>&1; then
  echo "installing python3 and python3-venv"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
  rm -rf "$tmp/venv"
  python3 -m venv "$tmp/venv"
fi
"$tmp/venv/bin/python" -m pip install --quiet --disable-pip-version-check safetensors numpy
"$tmp/venv/bin/python" -c 'import numpy, safetensors; print("python", __import__("sys").version.split()[0], "safetensors", safetensors.__version__, "numpy", numpy.__version__)'

cargo build --quiet --example checkpoint_interop
rust="target/debug/examples/checkpoint_interop"
py=("$tmp/venv/bin/python" tests/python/checkpoint_interop.py)

echo "rust write -> python check"
"$rust" write "$tmp/from_rust.safetensors"
"${py[@]}" check "$tmp/from_rust.safetensors"

echo "python write -> rust check"
"${py[@]}" write "$tmp/from_python.safetensors"
"$rust" check "$tmp/from_python.safetensors"

echo "a CNN: rust writes the model, python's numpy forward gives the same logits"
"$rust" cnn "$tmp/cnn.safetensors" "$tmp/cnn_io.safetensors"
"${py[@]}" cnn "$tmp/cnn.safetensors" "$tmp/cnn_io.safetensors"

echo "checkpoint interop: OK"
