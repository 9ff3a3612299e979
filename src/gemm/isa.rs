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
}

impl Isa {
    /// Every variant, in order of preference from slowest to fastest.
    pub const ALL: [Isa; 3] = [Isa::Scalar, Isa::Portable, Isa::Avx2Fma];

    /// The fastest instruction set this CPU has.
    ///
    /// * With the cargo feature `portable`, always [`Isa::Portable`].
    /// * Under `std`, the environment variable `DESCENT_ISA` overrides the choice:
    ///   `DESCENT_ISA=portable` forces [`Isa::Portable`]; the [`Isa::name`] of another
    ///   variant selects it when it is available. Other values are ignored.
    /// * Otherwise, on x86_64 with `std`: [`Isa::Avx2Fma`] when
    ///   `is_x86_feature_detected!("avx2")` and `("fma")`; without `std`, when the build
    ///   enables both target features (`-C target-feature=+avx2,+fma`).
    ///
    /// Under `std` this reads the environment on each call: call it once and keep the token.
    pub fn detect() -> Isa {
        if cfg!(feature = "portable") {
            return Isa::Portable;
        }
        #[cfg(feature = "std")]
        if let Some(isa) = Self::from_env() {
            return isa;
        }
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
        }
    }

    /// The available instruction sets, slowest ([`Isa::Scalar`]) first: the ones a test
    /// should run.
    pub fn available() -> impl Iterator<Item = Isa> {
        Self::ALL.into_iter().filter(|isa| isa.is_available())
    }

    /// A short lowercase name: `"scalar"`, `"portable"`, `"avx2-fma"` (the values
    /// `DESCENT_ISA` takes).
    pub const fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Portable => "portable",
            Isa::Avx2Fma => "avx2-fma",
        }
    }
}

impl core::fmt::Display for Isa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
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
