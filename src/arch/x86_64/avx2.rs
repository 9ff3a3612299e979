//! The AVX2 + FMA lanes: one `__m256` register per eight floats, fused multiply-add, compiled
//! for these features in any build (no `RUSTFLAGS`).
//!
//! # Safety argument
//!
//! Every `unsafe` block here calls a `core::arch` intrinsic that needs AVX, AVX2 or FMA.
//! The intrinsics only run when the CPU has these features because:
//!
//! * an [`Avx2Fma`] token is made only by [`Avx2Fma::new`], which checks the CPU
//!   ([`Isa::is_available`](crate::Isa::is_available): `is_x86_feature_detected!` under `std`, the compile-time target
//!   features without it);
//! * an [`Avx2F32`] or [`Avx2I32`] is made only by a token's methods or by operations on
//!   other such values (their fields are private, they have no `Default` and no other
//!   constructor), so holding one proves a token was made.
//!
//! Loads and stores go through `&[f32; 8]` / `&mut [f32; 8]`, so the pointers are valid for
//! the eight floats they touch (unaligned accesses: `loadu`/`storeu`).

use core::arch::x86_64::*;
use core::ops::{Add, AddAssign, BitAnd, BitOr, Div, Mul, Neg, Sub};

use super::Avx2Fma;
use crate::arch::{Float8, Int8, Lanes, LANES};

/// Eight `f32` in an AVX register; made only through an [`Avx2Fma`] token.
#[derive(Clone, Copy, Debug)]
pub struct Avx2F32(__m256);

/// Eight `i32` in an AVX register; made only through an [`Avx2Fma`] token.
#[derive(Clone, Copy, Debug)]
pub struct Avx2I32(__m256i);

impl Lanes for Avx2Fma {
    type F = Avx2F32;
    type I = Avx2I32;

    #[inline(always)]
    fn splat(self, x: f32) -> Avx2F32 {
        // SAFETY: the token proves AVX (module docs).
        Avx2F32(unsafe { _mm256_set1_ps(x) })
    }

    #[inline(always)]
    fn splat_i32(self, x: i32) -> Avx2I32 {
        // SAFETY: the token proves AVX (module docs).
        Avx2I32(unsafe { _mm256_set1_epi32(x) })
    }

    #[inline(always)]
    fn load(self, a: &[f32; LANES]) -> Avx2F32 {
        // SAFETY: the token proves AVX; `a` is eight readable floats (unaligned load).
        Avx2F32(unsafe { _mm256_loadu_ps(a.as_ptr()) })
    }

    #[inline(always)]
    fn f32_to_bits(self, v: Avx2F32) -> Avx2I32 {
        // SAFETY: the token proves AVX (module docs).
        Avx2I32(unsafe { _mm256_castps_si256(v.0) })
    }

    #[inline(always)]
    fn bits_to_f32(self, v: Avx2I32) -> Avx2F32 {
        // SAFETY: the token proves AVX (module docs).
        Avx2F32(unsafe { _mm256_castsi256_ps(v.0) })
    }
}

/// Implements a binary operator on [`Avx2F32`] or [`Avx2I32`] with one intrinsic.
macro_rules! binary_op {
    ($ty:ident, $trait:ident, $method:ident, $intrinsic:ident) => {
        impl $trait for $ty {
            type Output = $ty;

            #[inline(always)]
            fn $method(self, rhs: $ty) -> $ty {
                // SAFETY: a value of this type proves AVX2 and FMA (module docs).
                $ty(unsafe { $intrinsic(self.0, rhs.0) })
            }
        }
    };
}

binary_op!(Avx2F32, Add, add, _mm256_add_ps);
binary_op!(Avx2F32, Sub, sub, _mm256_sub_ps);
binary_op!(Avx2F32, Mul, mul, _mm256_mul_ps);
binary_op!(Avx2F32, Div, div, _mm256_div_ps);
binary_op!(Avx2F32, BitAnd, bitand, _mm256_and_ps);
binary_op!(Avx2F32, BitOr, bitor, _mm256_or_ps);
binary_op!(Avx2I32, Add, add, _mm256_add_epi32);
binary_op!(Avx2I32, Sub, sub, _mm256_sub_epi32);
binary_op!(Avx2I32, BitAnd, bitand, _mm256_and_si256);

impl AddAssign for Avx2F32 {
    #[inline(always)]
    fn add_assign(&mut self, rhs: Avx2F32) {
        *self = *self + rhs;
    }
}

impl Neg for Avx2F32 {
    type Output = Avx2F32;

    #[inline(always)]
    fn neg(self) -> Avx2F32 {
        // SAFETY: a value of this type proves AVX (module docs).
        Avx2F32(unsafe { _mm256_xor_ps(self.0, _mm256_set1_ps(-0.0)) })
    }
}

impl Avx2F32 {
    /// A comparison with predicate `P` (`_CMP_*`), as a mask.
    #[inline(always)]
    fn cmp<const P: i32>(self, other: Avx2F32) -> Avx2F32 {
        // SAFETY: a value of this type proves AVX (module docs).
        Avx2F32(unsafe { _mm256_cmp_ps::<P>(self.0, other.0) })
    }
}

impl Float8 for Avx2F32 {
    #[inline(always)]
    fn mul_add(self, a: Self, b: Self) -> Self {
        // SAFETY: a value of this type proves FMA (module docs).
        Avx2F32(unsafe { _mm256_fmadd_ps(self.0, a.0, b.0) })
    }

    #[inline(always)]
    fn mul_neg_add(self, a: Self, b: Self) -> Self {
        // SAFETY: a value of this type proves FMA (module docs).
        Avx2F32(unsafe { _mm256_fnmadd_ps(self.0, a.0, b.0) })
    }

    #[inline(always)]
    fn sqrt(self) -> Self {
        // SAFETY: a value of this type proves AVX (module docs).
        Avx2F32(unsafe { _mm256_sqrt_ps(self.0) })
    }

    #[inline(always)]
    fn abs(self) -> Self {
        // SAFETY: a value of this type proves AVX (module docs).
        Avx2F32(unsafe { _mm256_andnot_ps(_mm256_set1_ps(-0.0), self.0) })
    }

    #[inline(always)]
    fn fast_max(self, other: Self) -> Self {
        // SAFETY: a value of this type proves AVX (module docs).
        Avx2F32(unsafe { _mm256_max_ps(self.0, other.0) })
    }

    #[inline(always)]
    fn simd_eq(self, other: Self) -> Self {
        self.cmp::<_CMP_EQ_OQ>(other)
    }

    #[inline(always)]
    fn simd_ne(self, other: Self) -> Self {
        self.cmp::<_CMP_NEQ_UQ>(other)
    }

    #[inline(always)]
    fn simd_lt(self, other: Self) -> Self {
        self.cmp::<_CMP_LT_OQ>(other)
    }

    #[inline(always)]
    fn simd_le(self, other: Self) -> Self {
        self.cmp::<_CMP_LE_OQ>(other)
    }

    #[inline(always)]
    fn simd_gt(self, other: Self) -> Self {
        self.cmp::<_CMP_GT_OQ>(other)
    }

    #[inline(always)]
    fn simd_ge(self, other: Self) -> Self {
        self.cmp::<_CMP_GE_OQ>(other)
    }

    #[inline(always)]
    fn is_nan(self) -> Self {
        self.cmp::<_CMP_UNORD_Q>(self)
    }

    #[inline(always)]
    fn is_inf(self) -> Self {
        // SAFETY: a value of this type proves AVX (module docs).
        let inf = Avx2F32(unsafe { _mm256_set1_ps(f32::INFINITY) });
        self.abs().simd_eq(inf)
    }

    #[inline(always)]
    fn select(self, t: Self, f: Self) -> Self {
        // `blendv` reads only the sign bit of each mask lane; masks have every bit equal.
        // SAFETY: a value of this type proves AVX (module docs).
        Avx2F32(unsafe { _mm256_blendv_ps(f.0, t.0, self.0) })
    }

    #[inline(always)]
    fn any(self) -> bool {
        // SAFETY: a value of this type proves AVX (module docs).
        unsafe { _mm256_movemask_ps(self.0) != 0 }
    }

    #[inline(always)]
    fn reduce_add(self) -> f32 {
        // The halves added lane-wise, then pairs, then the last two (as `wide` sums).
        // SAFETY: a value of this type proves AVX (module docs).
        unsafe {
            let quad = _mm_add_ps(
                _mm256_castps256_ps128(self.0),
                _mm256_extractf128_ps::<1>(self.0),
            );
            let dual = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
            let one = _mm_add_ss(dual, _mm_shuffle_ps::<0b01>(dual, dual));
            _mm_cvtss_f32(one)
        }
    }

    #[inline(always)]
    fn store(self, a: &mut [f32; LANES]) {
        // SAFETY: a value of this type proves AVX; `a` is eight writable floats (unaligned
        // store).
        unsafe { _mm256_storeu_ps(a.as_mut_ptr(), self.0) };
    }

    #[inline(always)]
    fn to_array(self) -> [f32; LANES] {
        let mut a = [0.0f32; LANES];
        self.store(&mut a);
        a
    }
}

impl Int8 for Avx2I32 {
    #[inline(always)]
    fn shl<const N: i32>(self) -> Self {
        // SAFETY: a value of this type proves AVX2 (module docs).
        Avx2I32(unsafe { _mm256_slli_epi32::<N>(self.0) })
    }

    #[inline(always)]
    fn shr<const N: i32>(self) -> Self {
        // SAFETY: a value of this type proves AVX2 (module docs).
        Avx2I32(unsafe { _mm256_srai_epi32::<N>(self.0) })
    }
}
