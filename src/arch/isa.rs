//! The instruction-set token: which kernels a product runs, chosen once at run time.

/// An instruction set the matrix products can run on.
///
/// Every variant exists on every target, so code that names one compiles everywhere; whether
/// this CPU can run it is [`Isa::is_available`]. [`Isa::detect`] picks the fastest available
/// one. Passing a token that is not available to a product is safe: the product runs the
/// [`Isa::Portable`] kernels instead (it never executes instructions the CPU lacks).
///
/// The result of a product depends on the `Isa` (each sums in its own order), and is
/// bit-identical from run to run for the same `Isa`, shapes and inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Isa {
    /// Plain scalar code in register tiles of 4 × 4 (no SIMD), summing every element in the
    /// naive loop's order, so its results are bit-identical to `Σ_p a·b` computed one product
    /// at a time. Available everywhere; on targets without SIMD it is what
    /// [`Isa::Portable`] runs.
    Scalar,
    /// Safe code over [`wide::f32x8`]: SSE2 on a default x86_64 build, NEON on aarch64,
    /// `simd128` on wasm; on targets without SIMD (Cortex-M, RISC-V), the [`Isa::Scalar`]
    /// kernels. Available everywhere.
    Portable,
    /// x86_64 AVX2 with FMA (Haswell, Zen and later): register-blocked micro-kernels in
    /// `core::arch` intrinsics, compiled for these features even in a default build.
    Avx2Fma,
    /// x86_64 AVX-512F (with AVX2 and FMA: Skylake-SP, Ice Lake, Zen 4 and later): the
    /// broadcast tiles in 512-bit registers, 12 rows × 16 columns (one tile of up to 16 rows
    /// for a product of 9 to 16 rows); products of up to 8 and of 17 to 23 rows, the other
    /// strategies and the element-wise kernels run the [`Isa::Avx2Fma`] code.
    Avx512F,
}

impl Isa {
    /// Every variant, in order of preference from slowest to fastest.
    pub const ALL: [Isa; 4] = [Isa::Scalar, Isa::Portable, Isa::Avx2Fma, Isa::Avx512F];

    /// The fastest instruction set this CPU has.
    ///
    /// * With the cargo feature `portable`, always [`Isa::Portable`].
    /// * Under `std`, the environment variable `DESCENT_ISA` overrides the choice:
    ///   `DESCENT_ISA=portable` forces [`Isa::Portable`]; the [`Isa::name`] of another
    ///   variant selects it when it is available. Other values are ignored.
    /// * Otherwise, on x86_64 with `std`: [`Isa::Avx512F`] when
    ///   `is_x86_feature_detected!` finds `avx512f`, `avx2` and `fma`, else [`Isa::Avx2Fma`]
    ///   when it finds `avx2` and `fma`; without `std`, when the build enables those target
    ///   features (`-C target-feature=+avx2,+fma[,+avx512f]`).
    ///
    /// Under `std` the choice is made on the first call and kept for the process (an atomic
    /// load afterwards), so changing `DESCENT_ISA` later has no effect.
    pub fn detect() -> Isa {
        if cfg!(feature = "portable") {
            return Isa::Portable;
        }
        #[cfg(feature = "std")]
        return detected_once();
        #[cfg(not(feature = "std"))]
        Self::best_available()
    }

    /// The value of `DESCENT_ISA`, when it names an available instruction set.
    #[cfg(feature = "std")]
    fn from_env() -> Option<Isa> {
        let value = std::env::var_os("DESCENT_ISA")?;
        let value = value.to_str()?.trim();
        Self::ALL
            .into_iter()
            .find(|isa| value.eq_ignore_ascii_case(isa.name()) && isa.is_available())
    }

    /// The last available variant of [`Isa::ALL`].
    fn best_available() -> Isa {
        Self::ALL
            .into_iter()
            .rev()
            .find(|isa| isa.is_available())
            .unwrap_or(Isa::Portable)
    }

    /// Whether this CPU can run the kernels of `self`: at run time under `std`
    /// (`is_x86_feature_detected!`), from the compile-time target features without it.
    /// [`Isa::Portable`] is always available; the cargo feature `portable` does not change
    /// this answer, only [`Isa::detect`]'s.
    pub fn is_available(self) -> bool {
        match self {
            Isa::Scalar | Isa::Portable => true,
            Isa::Avx2Fma => avx2_fma_available(),
            Isa::Avx512F => avx2_fma_available() && avx512f_available(),
        }
    }

    /// The available instruction sets, slowest ([`Isa::Scalar`]) first: the ones a test
    /// should run.
    pub fn available() -> impl Iterator<Item = Isa> {
        Self::ALL.into_iter().filter(|isa| isa.is_available())
    }

    /// A short lowercase name: `"scalar"`, `"portable"`, `"avx2-fma"`, `"avx512f"` (the
    /// values `DESCENT_ISA` takes).
    pub const fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Portable => "portable",
            Isa::Avx2Fma => "avx2-fma",
            Isa::Avx512F => "avx512f",
        }
    }
}

impl core::fmt::Display for Isa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// [`Isa::detect`]'s choice under `std`: 0 until the first call, then 1 + its index in
/// [`Isa::ALL`].
#[cfg(feature = "std")]
static DETECTED: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(0);

/// `DESCENT_ISA` or the best available instruction set, worked out on the first call and
/// cached in [`DETECTED`] (threads that race on the first call all store the same value).
#[cfg(feature = "std")]
fn detected_once() -> Isa {
    use core::sync::atomic::Ordering::Relaxed;
    if let Some(isa) = Isa::ALL.get(usize::from(DETECTED.load(Relaxed)).wrapping_sub(1)) {
        return *isa;
    }
    let isa = Isa::from_env().unwrap_or_else(Isa::best_available);
    let index = Isa::ALL.iter().position(|i| *i == isa).unwrap_or(0);
    DETECTED.store(u8::try_from(index + 1).unwrap_or(0), Relaxed);
    isa
}

/// AVX2 and FMA: detected at run time under `std`, from the target features otherwise.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn avx2_fma_available() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
}

/// AVX2 and FMA: detected at run time under `std`, from the target features otherwise.
#[cfg(all(target_arch = "x86_64", not(feature = "std")))]
fn avx2_fma_available() -> bool {
    cfg!(all(target_feature = "avx2", target_feature = "fma"))
}

/// AVX2 and FMA exist only on x86_64.
#[cfg(not(target_arch = "x86_64"))]
fn avx2_fma_available() -> bool {
    false
}

/// AVX-512F: detected at run time under `std`, from the target features otherwise.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
fn avx512f_available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
}

/// AVX-512F: detected at run time under `std`, from the target features otherwise.
#[cfg(all(target_arch = "x86_64", not(feature = "std")))]
fn avx512f_available() -> bool {
    cfg!(target_feature = "avx512f")
}

/// AVX-512F exists only on x86_64.
#[cfg(not(target_arch = "x86_64"))]
fn avx512f_available() -> bool {
    false
}
