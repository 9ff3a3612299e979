#!/usr/bin/env bash
# The library's tests on the SIMD targets the CI machine cannot run natively:
#   * aarch64 NEON: `cargo test --release --target aarch64-unknown-linux-gnu` under qemu-user
#     (Debian's cross linker and qemu-user-static), the whole suite;
#   * wasm simd128: `wasm32-wasip1` with `+simd128` under Node's WASI, the kernel tests.
# Runs on a fresh Debian-bookworm machine with rustup, apt (as root) and Node >= 20.
#   bash .ci/cross.sh            # SKIP_APT=1 to never touch apt
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR=never DEBIAN_FRONTEND=noninteractive
T0=$SECONDS
step() { echo; echo "::: [$((SECONDS - T0))s] $*"; }

step "rustup targets; apt: aarch64 cross linker and qemu-user"
rustup target add aarch64-unknown-linux-gnu wasm32-wasip1
if [[ "${SKIP_APT:-0}" != 1 ]] && { ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64-static >/dev/null; }; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static >/dev/null
fi
node --version

step "aarch64 NEON: the whole test suite under qemu-aarch64 (release)"
# Runners through variables, not .cargo/config.toml (a config runner would also capture Miri).
# Tests that start a child process run it through the same runner (DESCENT_TEST_RUNNER); the
# math sweep is 256 times sparser under the emulator (DESCENT_SWEEP_SPARSER, see simd_math.rs).
QEMU_AARCH64="qemu-aarch64-static -L /usr/aarch64-linux-gnu"
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$QEMU_AARCH64" \
DESCENT_TEST_RUNNER="$QEMU_AARCH64" DESCENT_SWEEP_SPARSER=256 \
  cargo test --release --target aarch64-unknown-linux-gnu --tests

step "wasm32-wasip1 +simd128: the kernel tests under Node's WASI (release)"
# Left out on wasm: tests that start processes (gemm's DESCENT_ISA child) or catch panics
# (panic = abort there), the files and processes of checkpoint/train/conformance (and the
# torch vectors that tests/norm.rs reads from tests/data/conformance), and init
# (its statistics pass, then Node 20 crashes at exit with SIGSEGV).
CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C target-feature=+simd128" \
CARGO_TARGET_WASM32_WASIP1_RUNNER="node --no-warnings $PWD/.ci/wasi-run.mjs" \
DESCENT_SWEEP_SPARSER=4 \
  cargo test --release --target wasm32-wasip1 --lib \
    --test activation --test bad_input --test dense --test dropout --test gemm --test loss \
    --test miri --test network --test norm --test optim --test regularize --test schedule \
    --test simd_math \
    -- --skip the_harness_reports_every_kind_of_failure --skip descent_isa_environment_variable \
    --skip batch_norm2d_torch_vectors

step "done in $((SECONDS - T0)) s"
