//! Helpers shared by the integration tests of the matrix products and the dense layer.
#![allow(dead_code)] // each test binary uses its own subset

use descent::Isa;

/// Unit roundoff of f32.
pub const U: f64 = 1.0 / (1u64 << 24) as f64;

/// A small deterministic generator (64-bit LCG, high bits), so failures reproduce.
pub struct Rng(u64);

impl Rng {
    /// A generator whose sequence depends on `seed` only.
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1))
    }

    /// Uniform in [-1, 1).
    pub fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// `len` draws.
    pub fn vec(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.next()).collect()
    }
}

/// Every instruction set to test: the available ones, and always the portable one.
pub fn isas() -> Vec<Isa> {
    let isas: Vec<Isa> = Isa::available().collect();
    assert!(isas.contains(&Isa::Portable));
    isas
}

/// A command that runs this test binary again (for tests that check a child process). Under a
/// cross runner (CI runs the aarch64 build under qemu-user), the environment variable
/// `DESCENT_TEST_RUNNER` names it, and the child goes through it too.
pub fn this_test_binary() -> std::process::Command {
    let exe = std::env::current_exe().unwrap();
    let runner = std::env::var("DESCENT_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(program) => {
            let mut cmd = std::process::Command::new(program);
            cmd.args(words).arg(exe);
            cmd
        }
        None => std::process::Command::new(exe),
    }
}

/// The element-wise kernels' instruction sets to test: the portable lanes and, where this CPU
/// has them, the AVX2+FMA lanes ([`Isa::Scalar`] has no element-wise kernels of its own).
pub fn element_wise_isas() -> Vec<Isa> {
    isas().into_iter().filter(|i| *i != Isa::Scalar).collect()
}

/// Runs `f` once per element-wise instruction set, with the kernels dispatched to it
/// (`descent::simd::with_isa`). Without `std` there is no override: `f` runs once, on the
/// instruction set the build dispatches to.
pub fn for_each_isa(mut f: impl FnMut(Isa)) {
    #[cfg(feature = "std")]
    for isa in element_wise_isas() {
        descent::simd::with_isa(isa, || f(isa));
    }
    #[cfg(not(feature = "std"))]
    f(descent::simd::isa());
}
