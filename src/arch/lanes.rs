//! The lane abstraction: kernels written once, generic over an instruction set.
//!
//! A kernel is a [`WithLanes`] value whose [`run`](WithLanes::run) is generic over a [`Lanes`]
//! token; [`dispatch`](fn@super::dispatch) picks the token (once per call, not per element) and,
//! for AVX2, runs the kernel inside a function compiled for those features, so the whole
//! kernel inlines into AVX2 code even in a default build. A token's vectors ([`Lanes::F`],
//! [`Lanes::I`]) can only be made through the token (`splat`, `load`), so holding one proves
//! the CPU can run its instructions.
//!
//! Implementations: [`Portable`] (over [`wide::f32x8`], what every target runs by default,
//! bit-identical to the crate's kernels before the dispatch existed) and, on x86_64,
//! [`Avx2Fma`](crate::simd::Avx2Fma) (one `__m256` register, fused multiply-add).
//!
//! Everything here is `#[inline(always)]`: a method that is not inlined into the dispatching
//! function would be compiled without the instruction set's features.

use core::ops::{Add, AddAssign, BitAnd, BitOr, Div, Mul, Neg, Sub};

use wide::bytemuck::cast;
use wide::{f32x8, i32x8};

/// The number of `f32` lanes of every [`Lanes`] token.
pub const LANES: usize = 8;

/// Eight `f32` lanes of an instruction set, with the operations the kernels use.
///
/// Comparisons return a *mask* of the same type: all bits set in the lanes where the
/// comparison holds, all clear elsewhere (false for NaN operands, except
/// [`simd_ne`](Float8::simd_ne)). [`select`](Float8::select) and the bitwise operators are
/// only ever given such masks.
pub trait Float8:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + BitAnd<Output = Self>
    + BitOr<Output = Self>
    + AddAssign
{
    /// `self·a + b`: fused (one rounding) where the instruction set has FMA, otherwise a
    /// multiply and an add.
    fn mul_add(self, a: Self, b: Self) -> Self;
    /// `b − self·a`, fused like [`mul_add`](Float8::mul_add).
    fn mul_neg_add(self, a: Self, b: Self) -> Self;
    /// The correctly rounded square root.
    fn sqrt(self) -> Self;
    /// `|self|` (the sign bit cleared, NaN included).
    fn abs(self) -> Self;
    /// The larger lane. Where either is NaN the result depends on the instruction set
    /// (`maxps` gives the second operand; other targets may give NaN or either one): callers
    /// that must see NaN track it apart.
    fn fast_max(self, other: Self) -> Self;
    /// Mask of `self == other`.
    fn simd_eq(self, other: Self) -> Self;
    /// Mask of `self != other` (true for NaN).
    fn simd_ne(self, other: Self) -> Self;
    /// Mask of `self < other`.
    fn simd_lt(self, other: Self) -> Self;
    /// Mask of `self <= other`.
    fn simd_le(self, other: Self) -> Self;
    /// Mask of `self > other`.
    fn simd_gt(self, other: Self) -> Self;
    /// Mask of `self >= other`.
    fn simd_ge(self, other: Self) -> Self;
    /// Mask of the NaN lanes.
    fn is_nan(self) -> Self;
    /// Mask of the infinite lanes.
    fn is_inf(self) -> Self;
    /// `self` is a mask: `t` where it is set, `f` elsewhere.
    fn select(self, t: Self, f: Self) -> Self;
    /// `self` is a mask: whether any lane is set.
    fn any(self) -> bool;
    /// The sum of the eight lanes.
    fn reduce_add(self) -> f32;
    /// Stores the eight lanes.
    fn store(self, a: &mut [f32; LANES]);
    /// The lanes as an array.
    fn to_array(self) -> [f32; LANES];
}

/// Eight `i32` lanes of an instruction set: the integer operations the transcendental
/// functions use on exponent bits.
pub trait Int8: Copy + Add<Output = Self> + Sub<Output = Self> + BitAnd<Output = Self> {
    /// Each lane shifted left by `N` bits.
    fn shl<const N: i32>(self) -> Self;
    /// Each lane shifted right by `N` bits, copying the sign bit (arithmetic shift).
    fn shr<const N: i32>(self) -> Self;
}

/// An instruction set's token: the only way to make its vectors.
pub trait Lanes: Copy {
    /// Eight `f32` lanes.
    type F: Float8;
    /// Eight `i32` lanes.
    type I: Int8;
    /// `x` in every lane.
    fn splat(self, x: f32) -> Self::F;
    /// `x` in every integer lane.
    fn splat_i32(self, x: i32) -> Self::I;
    /// Loads eight floats.
    fn load(self, a: &[f32; LANES]) -> Self::F;
    /// The bits of each float lane as an integer lane.
    fn f32_to_bits(self, v: Self::F) -> Self::I;
    /// Each integer lane's bits as a float lane.
    fn bits_to_f32(self, v: Self::I) -> Self::F;
}

/// A kernel generic over the instruction set, run by [`dispatch`](fn@super::dispatch).
pub trait WithLanes {
    /// What the kernel returns.
    type Output;
    /// Runs the kernel with `lanes`. Implementations should be `#[inline(always)]` (as
    /// everything they call), so that they inline into the dispatching function.
    fn run<L: Lanes>(self, lanes: L) -> Self::Output;
}

/// The portable lanes: [`wide::f32x8`] and [`wide::i32x8`], whose instructions the
/// compile-time target features pick (SSE2 on a default x86_64 build, NEON on aarch64,
/// `simd128` on wasm, plain arrays on Cortex-M). Available everywhere.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Portable;

impl Lanes for Portable {
    type F = f32x8;
    type I = i32x8;

    #[inline(always)]
    fn splat(self, x: f32) -> f32x8 {
        f32x8::splat(x)
    }

    #[inline(always)]
    fn splat_i32(self, x: i32) -> i32x8 {
        i32x8::splat(x)
    }

    #[inline(always)]
    fn load(self, a: &[f32; LANES]) -> f32x8 {
        f32x8::new(*a)
    }

    #[inline(always)]
    fn f32_to_bits(self, v: f32x8) -> i32x8 {
        cast(v)
    }

    #[inline(always)]
    fn bits_to_f32(self, v: i32x8) -> f32x8 {
        cast(v)
    }
}

impl Float8 for f32x8 {
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        f32x8::mul_add(self, a, b)
    }

    #[inline(always)]
    fn mul_neg_add(self, a: Self, b: Self) -> Self {
        f32x8::mul_neg_add(self, a, b)
    }

    #[inline(always)]
    fn sqrt(self) -> Self {
        super::sqrt(self)
    }

    #[inline(always)]
    fn abs(self) -> Self {
        f32x8::abs(self)
    }

    #[inline(always)]
    fn fast_max(self, other: Self) -> Self {
        f32x8::fast_max(self, other)
    }

    #[inline(always)]
    fn simd_eq(self, other: Self) -> Self {
        f32x8::simd_eq(self, other)
    }

    #[inline(always)]
    fn simd_ne(self, other: Self) -> Self {
        f32x8::simd_ne(self, other)
    }

    #[inline(always)]
    fn simd_lt(self, other: Self) -> Self {
        f32x8::simd_lt(self, other)
    }

    #[inline(always)]
    fn simd_le(self, other: Self) -> Self {
        f32x8::simd_le(self, other)
    }

    #[inline(always)]
    fn simd_gt(self, other: Self) -> Self {
        f32x8::simd_gt(self, other)
    }

    #[inline(always)]
    fn simd_ge(self, other: Self) -> Self {
        f32x8::simd_ge(self, other)
    }

    #[inline(always)]
    fn is_nan(self) -> Self {
        f32x8::is_nan(self)
    }

    #[inline(always)]
    fn is_inf(self) -> Self {
        f32x8::is_inf(self)
    }

    #[inline(always)]
    fn select(self, t: Self, f: Self) -> Self {
        f32x8::select(self, t, f)
    }

    #[inline(always)]
    fn any(self) -> bool {
        f32x8::any(self)
    }

    #[inline(always)]
    fn reduce_add(self) -> f32 {
        f32x8::reduce_add(self)
    }

    #[inline(always)]
    fn store(self, a: &mut [f32; LANES]) {
        *a = f32x8::to_array(self);
    }

    #[inline(always)]
    fn to_array(self) -> [f32; LANES] {
        f32x8::to_array(self)
    }
}

impl Int8 for i32x8 {
    #[inline(always)]
    fn shl<const N: i32>(self) -> Self {
        self << N
    }

    #[inline(always)]
    fn shr<const N: i32>(self) -> Self {
        self >> N
    }
}
