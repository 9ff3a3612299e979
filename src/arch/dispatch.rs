//! Run-time instruction-set dispatch for the element-wise kernels (optimizers, activations,
//! losses): one choice per call, never per element.
//!
//! * [`dispatch`] runs a [`WithLanes`] kernel on [`isa`]'s lanes.
//! * [`dispatch_on`] runs it on an explicit [`Isa`] (the portable lanes when that one is not
//!   available, so no token can make a kernel execute instructions the CPU lacks).
//! * [`isa`] is [`Isa::detect`], read once and cached under `std` (the cargo feature
//!   `portable` and `DESCENT_ISA=portable` force [`Isa::Portable`]); without `std` it comes
//!   from the compile-time target features. Under `std`, [`with_isa`] overrides it for one
//!   thread, so tests and benches can run every path in one process.
//!
//! [`Isa::Scalar`] has no element-wise kernels of its own: it runs the portable ones.

use super::{Isa, Portable, WithLanes};

/// Runs `w` with the lanes of [`isa`]: AVX2+FMA on an x86_64 CPU that has them (detected at
/// run time under `std`; also where [`isa`] is [`Isa::Avx512F`]), the portable lanes
/// otherwise.
#[inline]
pub fn dispatch<W: WithLanes>(w: W) -> W::Output {
    dispatch_on(isa(), w)
}

/// Runs `w` with the lanes of `isa`, or with the portable lanes when this CPU cannot run
/// `isa` (or `isa` has none of its own).
#[inline]
pub fn dispatch_on<W: WithLanes>(isa: Isa, w: W) -> W::Output {
    // An AVX-512 CPU runs the AVX2 lanes (`Isa::Avx512F` differs only in the matrix products).
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2Fma || (isa == Isa::Avx512F && isa.is_available()) {
        if let Some(lanes) = super::x86_64::Avx2Fma::new() {
            return lanes.run(w);
        }
    }
    let _ = isa;
    w.run(Portable)
}

/// Whether the element-wise kernels that [`dispatch_on`] runs for `isa` fuse multiply-adds,
/// rounding `a·b + c` once instead of twice: the AVX2+FMA lanes, and the portable lanes where
/// `wide` fuses (an x86_64 build with the `fma` target feature, aarch64 NEON; not SSE2 alone
/// nor wasm `simd128`). Where they fuse, a result may differ from a reference that rounds
/// every product (as PyTorch's CPU loops do) by about an ulp per multiply-add.
pub fn fuses_multiply_add(isa: Isa) -> bool {
    let portable_fuses = cfg!(all(target_feature = "sse2", target_feature = "fma"))
        || cfg!(all(target_arch = "aarch64", target_feature = "neon"));
    (matches!(isa, Isa::Avx2Fma | Isa::Avx512F) && isa.is_available()) || portable_fuses
}

/// The instruction set [`dispatch`] uses on this thread: the one [`with_isa`] set, else
/// [`Isa::detect`] (chosen once per process).
#[cfg(feature = "std")]
#[inline]
pub fn isa() -> Isa {
    match OVERRIDE.with(core::cell::Cell::get) {
        Some(isa) => isa,
        None => Isa::detect(),
    }
}

/// The instruction set [`dispatch`] uses: [`Isa::detect`], from the compile-time target
/// features (and the cargo feature `portable`).
#[cfg(not(feature = "std"))]
#[inline]
pub fn isa() -> Isa {
    Isa::detect()
}

/// Runs `f` with every element-wise kernel that this thread calls dispatched to `isa` (the
/// portable lanes when `isa` is not available), then restores the previous choice, also when
/// `f` panics. Nests.
///
/// ```
/// use descent::Isa;
/// use descent::simd::{isa, with_isa};
///
/// let mut y = [0.0f32; 3];
/// for each in Isa::available() {
///     with_isa(each, || {
///         assert_eq!(isa(), each);
///         descent::activation::sigmoid(&[0.0, 1.0, -1.0], &mut y)
///     })?;
///     assert!((y[0] - 0.5).abs() < 1e-7);
/// }
/// # Ok::<(), descent::Error>(())
/// ```
#[cfg(feature = "std")]
pub fn with_isa<R>(isa: Isa, f: impl FnOnce() -> R) -> R {
    /// Puts the previous choice back when dropped.
    struct Restore(Option<Isa>);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(OVERRIDE.with(|o| o.replace(Some(isa))));
    f()
}

#[cfg(feature = "std")]
std::thread_local! {
    /// The instruction set [`with_isa`] set on this thread, if any.
    static OVERRIDE: core::cell::Cell<Option<Isa>> = const { core::cell::Cell::new(None) };
}
