//! Hard-float 32-bit ARM (every `eabihf` target: Cortex-M4F, M7, M33 with FPU): the VFP
//! square root, which stable Rust reaches only through inline assembly.

/// `√x` with the VFP instruction `vsqrt.f32` (IEEE 754 correctly rounded; NaN for
/// negative inputs, `-0` for `-0`).
#[inline(always)]
pub(crate) fn sqrt(x: f32) -> f32 {
    let bits: u32;
    // SAFETY: every `eabihf` ARM target has a VFP unit (the hard-float ABI passes floats in
    // its registers), and VFPv2 and later implement `vsqrt.f32`. Stable Rust does not let
    // `asm!` name VFP registers as operands on these targets (the `vfp2` feature is
    // unstable), so the value goes through a core register and `s0`, which the block saves
    // and restores on the stack itself (hence no `nostack`); it touches no other memory
    // and no register besides its operands. `preserves_flags` is not claimed: `vsqrt`
    // may set FPSCR's cumulative exception bits.
    unsafe {
        core::arch::asm!(
            "vpush {{s0}}",
            "vmov s0, {x}",
            "vsqrt.f32 s0, s0",
            "vmov {y}, s0",
            "vpop {{s0}}",
            x = in(reg) x.to_bits(),
            y = lateout(reg) bits,
        );
    }
    f32::from_bits(bits)
}
