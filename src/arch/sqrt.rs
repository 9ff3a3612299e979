//! The square root of eight lanes: the fastest correctly rounded one each target has.

use wide::f32x8;

/// `√v` in every lane, with the fastest correctly rounded square root the target has.
///
/// `wide` uses the SIMD instruction where it has a SIMD path (SSE, NEON on aarch64, wasm
/// `simd128`); elsewhere, without its `std` feature, it falls back to a bit-by-bit software
/// routine in f64. On hard-float ARM (Cortex-M4F, M7, M33 with FPU: every `eabihf` target has
/// VFP, whose `vsqrt.f32` is IEEE-exact) each lane uses that instruction instead; on targets
/// with neither (Cortex-M0, RISC-V without F) each lane uses `libm::sqrtf`. All three are
/// correctly rounded, so results do not depend on the path.
#[inline(always)]
pub(crate) fn sqrt(v: f32x8) -> f32x8 {
    #[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
    {
        let mut lanes = v.to_array();
        for x in lanes.iter_mut() {
            *x = super::arm::sqrt(*x);
        }
        f32x8::new(lanes)
    }
    #[cfg(all(
        not(all(target_arch = "arm", target_abi = "eabihf")),
        any(
            target_feature = "sse",
            target_feature = "simd128",
            all(target_arch = "aarch64", target_feature = "neon")
        )
    ))]
    {
        v.sqrt()
    }
    #[cfg(not(any(
        all(target_arch = "arm", target_abi = "eabihf"),
        target_feature = "sse",
        target_feature = "simd128",
        all(target_arch = "aarch64", target_feature = "neon")
    )))]
    {
        let mut lanes = v.to_array();
        for x in lanes.iter_mut() {
            *x = libm::sqrtf(*x);
        }
        f32x8::new(lanes)
    }
}
