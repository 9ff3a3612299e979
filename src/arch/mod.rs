//! The bottom layer: the instruction sets, their detection, one proof token per instruction
//! set, the lanes the element-wise kernels are written on, and the run-time dispatch.
//!
//! Every other module builds on this one and none of it builds on them (`ARCHITECTURE.md`
//! draws the layers; `tests/layers.rs` enforces them). Code that names an architecture
//! (`cfg(target_arch)`, `core::arch`, inline assembly) lives here, one file or folder per
//! architecture, and in the matrix products' own kernels (`gemm/x86/`):
//!
//! * [`Isa`]: the instruction sets, [`Isa::detect`] (once per process under `std`).
//! * [`Lanes`], [`Float8`], [`Int8`], [`WithLanes`]: the lane abstraction; [`Portable`] lanes
//!   over [`wide::f32x8`] everywhere, the AVX2 + FMA lanes on x86_64 (`x86_64/`).
//! * [`dispatch`](fn@dispatch) and [`dispatch_on`]: run a kernel on the lanes of the detected
//!   or a given instruction set, once per call.
//! * `sqrt`: the correctly rounded square root of eight lanes (VFP on hard-float ARM, `arm.rs`).

#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
#[allow(unsafe_code)]
mod arm;
mod dispatch;
mod isa;
mod lanes;
mod sqrt;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub(crate) mod x86_64;

#[cfg(feature = "std")]
pub use dispatch::with_isa;
pub use dispatch::{dispatch, dispatch_on, fuses_multiply_add, isa};
pub use isa::Isa;
pub use lanes::{Float8, Int8, Lanes, Portable, WithLanes, LANES};
pub(crate) use sqrt::sqrt;

/// Whether the portable lanes ([`wide::f32x8`]) live in vector registers on this target: SSE2
/// on x86_64, NEON on aarch64, `simd128` on wasm. Elsewhere (Cortex-M, RISC-V) they are eight
/// scalars, and kernels that pay off only in vector registers choose scalar code instead.
pub(crate) const VECTOR_LANES: bool = cfg!(any(
    target_feature = "sse2",
    target_feature = "neon",
    target_feature = "simd128"
));

/// Whether streaming kernels start their full vectors on a 32-byte boundary (after a shorter
/// head): on x86_64 a full-width access that straddles two cache lines costs time; the
/// microcontrollers have no cache lines to straddle, and no head code in their flash.
pub(crate) const ALIGN_STREAMS: bool = cfg!(target_arch = "x86_64");
