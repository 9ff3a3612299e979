//! x86_64: one proof token per instruction set beyond the portable lanes, and the AVX2 lanes.
//!
//! A token is a zero-sized value whose only constructor checks the CPU
//! ([`Isa::is_available`]: `is_x86_feature_detected!` under `std`, the compile-time target
//! features without it), so holding one proves that its instructions can run. The element-wise
//! kernels run on [`Avx2Fma`]'s lanes ([`avx2`]); the matrix products (`crate::gemm`'s
//! `x86` kernels) take either token and run their intrinsics behind it.

mod avx2;

pub use avx2::{Avx2F32, Avx2I32};

use crate::arch::{Isa, WithLanes};

/// Proof that this CPU has AVX2 and FMA, and the token of their lanes: the only constructor,
/// [`Avx2Fma::new`], checks.
#[derive(Clone, Copy, Debug)]
pub struct Avx2Fma {
    _detected: (),
}

impl Avx2Fma {
    /// The token, when the CPU has AVX2 and FMA ([`Isa::is_available`]).
    #[inline]
    pub fn new() -> Option<Self> {
        Isa::Avx2Fma
            .is_available()
            .then_some(Avx2Fma { _detected: () })
    }

    /// Runs `w` with these lanes, inside a function compiled for AVX2 and FMA so that the
    /// whole kernel inlines into AVX2 code.
    #[inline]
    pub fn run<W: WithLanes>(self, w: W) -> W::Output {
        // SAFETY: the token exists, so the CPU has AVX2 and FMA (its only constructor checks).
        unsafe { run_avx2_fma(self, w) }
    }
}

/// `w.run(lanes)` compiled with AVX2 and FMA enabled.
#[target_feature(enable = "avx2,fma")]
fn run_avx2_fma<W: WithLanes>(lanes: Avx2Fma, w: W) -> W::Output {
    w.run(lanes)
}

/// Proof that this CPU has AVX-512F, AVX2 and FMA: the only constructor, [`Avx512F::new`],
/// checks. It implies [`Avx2Fma`] ([`Avx512F::avx2`]).
#[derive(Clone, Copy, Debug)]
pub struct Avx512F {
    _detected: (),
}

impl Avx512F {
    /// The token, when the CPU has AVX-512F, AVX2 and FMA ([`Isa::is_available`]).
    #[inline]
    pub fn new() -> Option<Self> {
        Isa::Avx512F
            .is_available()
            .then_some(Avx512F { _detected: () })
    }

    /// The AVX2 token, which this one implies.
    #[inline]
    pub fn avx2(self) -> Avx2Fma {
        Avx2Fma { _detected: () }
    }
}
