//! Dropout, as torch's `F.dropout(input, p, training=True)` and `nn.Dropout(p)` (the
//! [`Dropout`] layer), with the mask kept as one bit per element for backward.
//!
//! In training each element is zeroed with probability `p` and the survivors are scaled by
//! `1/(1 − p)`, so the expectation is unchanged: `y = x·mᵢ/(1 − p)` with `mᵢ ~ Bernoulli(1 − p)`.
//! In evaluation dropout is the identity. Backward applies the same mask and scale:
//! `dx = dy·mᵢ/(1 − p)`.
//!
//! The mask lives in a caller's `&mut [u32]` of [`mask_len`]`(n) = ⌈n/32⌉` words: bit `i % 32`
//! of word `i / 32` is 1 when element `i` is kept (unused bits of the last word are 0). That
//! is 1/32 of the activations' memory, which matters in a microcontroller's RAM.
//!
//! # Randomness
//! The mask is drawn from the caller's generator (any [`rand::Rng`]): in training with
//! `0 < p < 1`, exactly `⌈n/2⌉` calls to `next_u64`; word `k` decides elements `2k` (its low
//! 32 bits) and `2k + 1` (its high 32 bits). Element `i` is kept when its 32 bits `u` satisfy
//! `u ≥ round(p·2³²)`, a keep probability within `2⁻³³` of `1 − p`. The same generator state
//! gives the same mask on every target. With `p = 0` (everything kept), `p = 1` (everything
//! dropped), in evaluation, or on error, nothing is drawn. The masks are not torch's (its
//! generator is not reproduced), only their distribution.
//!
//! # Edge values
//! As torch, `p = 1` gives `x·0` (zeros for finite `x`, NaN for NaN and ±∞), and `p = 0` gives
//! `x` unchanged. Dropped elements are `x·0`, so a dropped NaN stays NaN, as in torch.
//!
//! ```
//! use descent::dropout::{dropout, dropout_backward, mask_len};
//! use rand::rngs::Xoshiro256PlusPlus;
//! use rand::SeedableRng;
//!
//! let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
//! let x = [1.0f32; 40];
//! let mut y = [0.0; 40];
//! let mut mask = [0u32; mask_len(40)]; // 2 words
//! dropout(&x, &mut y, &mut mask, 0.5, &mut rng)?;
//! assert!(y.iter().all(|&v| v == 0.0 || v == 2.0)); // survivors scaled by 1/(1 − 0.5)
//!
//! let dy = [1.0f32; 40];
//! let mut dx = [0.0; 40];
//! dropout_backward(&dy, &mut dx, &mask, 0.5)?;
//! assert_eq!(dx, y); // the same mask and scale
//! # Ok::<(), descent::Error>(())
//! ```

use rand::Rng;

use crate::error::{check_len, Error};
use crate::layer::{Grads, Layer, Mode, Params, Pass, Shape, Tape};
use crate::Result;

/// The number of `u32` words of the mask of `n` elements: `⌈n/32⌉`.
pub const fn mask_len(n: usize) -> usize {
    n.div_ceil(32)
}

/// `0 ≤ p ≤ 1`, NaN rejected; the survivors' scale `1/(1 − p)` (0 for `p = 1`, unused).
fn check_p(p: f32) -> Result<f32> {
    if (0.0..=1.0).contains(&p) {
        Ok(if p < 1.0 {
            (1.0 / (1.0 - f64::from(p))) as f32
        } else {
            0.0
        })
    } else {
        Err(Error::InvalidHyperParameter { what: "p" })
    }
}

/// torch's `nn.Dropout(p)` as a [`Layer`]: in training it draws a mask from the mode's
/// generator into its saved slice (one bit per element, [`mask_len`]`(n)` words as
/// [`saved_len`](Layer::saved_len) floats) and zeroes and scales as [`dropout`] does; in
/// evaluation it is the identity. Any sample shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    /// The probability of zeroing an element, in `[0, 1]` (torch's default 0.5).
    pub p: f32,
}

impl Dropout {
    /// `nn.Dropout(p)`.
    pub const fn new(p: f32) -> Self {
        Dropout { p }
    }
}

/// The mask words held in a layer's saved floats (of the same size and alignment, so the
/// cast cannot fail; the error only keeps a panic path out of the code).
fn as_words(saved: &[f32]) -> Result<&[u32]> {
    bytemuck::try_cast_slice(saved).map_err(|_| saved_error(saved.len()))
}

/// [`as_words`] for a training forward.
fn as_words_mut(saved: &mut [f32]) -> Result<&mut [u32]> {
    let len = saved.len();
    bytemuck::try_cast_slice_mut(saved).map_err(|_| saved_error(len))
}

/// The error of a saved slice that does not hold words.
fn saved_error(len: usize) -> Error {
    Error::LengthMismatch {
        what: "saved",
        expected: len,
        actual: len,
    }
}

impl Layer for Dropout {
    fn output_shape(&self, input: Shape) -> Result<Shape> {
        Ok(input)
    }

    /// [`mask_len`] of the batch's elements: one bit each.
    fn saved_len(&self, input: Shape, batch: usize) -> usize {
        mask_len(batch.saturating_mul(input.len()))
    }

    /// Training: [`dropout`] with the mode's generator and a mask in its saved slice.
    /// Evaluation: `y = x`.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] (`"p"`, `"rng"` for training without a generator),
    /// [`Error::LengthMismatch`] naming `"y"` or `"saved"`.
    fn forward(
        &self,
        _input: Shape,
        mode: Mode<'_>,
        _params: Params<'_>,
        x: &[f32],
        y: &mut [f32],
    ) -> Result<()> {
        check_p(self.p)?;
        check_len("y", y.len(), x.len())?;
        match mode {
            Mode::Eval { .. } => {
                y.copy_from_slice(x);
                Ok(())
            }
            Mode::Train { saved, rng, .. } => {
                check_len("saved", saved.len(), mask_len(x.len()))?;
                let rng = rng.ok_or(Error::InvalidHyperParameter { what: "rng" })?;
                dropout(x, y, as_words_mut(saved)?, self.p, rng)
            }
        }
    }

    /// `dx = dy·mᵢ/(1 − p)` with the training forward's mask; `dx = dy` after an evaluation
    /// forward.
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] (`"p"`), [`Error::LengthMismatch`] naming `"dx"` or
    /// `"saved"`.
    fn backward(
        &self,
        _input: Shape,
        _params: Params<'_>,
        tape: Tape<'_>,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _grads: Grads<'_>,
    ) -> Result<()> {
        let scale = check_p(self.p)?;
        let Some(dx) = dx else {
            return Ok(());
        };
        check_len("dx", dx.len(), dy.len())?;
        match tape.pass {
            Pass::Eval { .. } => dx.copy_from_slice(dy),
            Pass::Train { saved } => {
                check_len("saved", saved.len(), mask_len(dy.len()))?;
                apply(dy, dx, as_words(saved)?, scale);
            }
        }
        Ok(())
    }
}

/// Training-mode dropout of `x` into `y`, torch's `F.dropout(x, p, training=True)`: draws a
/// new mask into `mask` ([`mask_len`]`(x.len())` words) and writes `y = x·mᵢ/(1 − p)`
/// (evaluation-mode dropout is the identity: see [`Dropout`]). torch's default `p` is 0.5.
///
/// # Errors
/// [`Error::InvalidHyperParameter`] (`"p"`) unless `0 ≤ p ≤ 1` (NaN included);
/// [`Error::LengthMismatch`] naming `"y"` (not as long as `x`) or `"mask"`. Nothing is written
/// and nothing is drawn on error.
pub fn dropout<R: Rng + ?Sized>(
    x: &[f32],
    y: &mut [f32],
    mask: &mut [u32],
    p: f32,
    rng: &mut R,
) -> Result<()> {
    let scale = check_p(p)?;
    check_len("y", y.len(), x.len())?;
    check_len("mask", mask.len(), mask_len(x.len()))?;
    draw_mask(mask, x.len(), p, rng);
    apply(x, y, mask, scale);
    Ok(())
}

/// [`dropout`] in place: `x = x·mᵢ/(1 − p)`.
///
/// # Errors
/// As [`dropout`], `"mask"` naming a mask of the wrong length.
pub fn dropout_inplace<R: Rng + ?Sized>(
    x: &mut [f32],
    mask: &mut [u32],
    p: f32,
    rng: &mut R,
) -> Result<()> {
    let scale = check_p(p)?;
    check_len("mask", mask.len(), mask_len(x.len()))?;
    draw_mask(mask, x.len(), p, rng);
    apply_inplace(x, mask, scale);
    Ok(())
}

/// Backward of [`dropout`] with the mask it drew and the same `p`: `dx = dy·mᵢ/(1 − p)`
/// (written).
///
/// # Errors
/// [`Error::InvalidHyperParameter`] (`"p"`) unless `0 ≤ p ≤ 1`; [`Error::LengthMismatch`]
/// naming `"dx"` (not as long as `dy`) or `"mask"` (not [`mask_len`]`(dy.len())` words).
/// Nothing is written on error.
pub fn dropout_backward(dy: &[f32], dx: &mut [f32], mask: &[u32], p: f32) -> Result<()> {
    let scale = check_p(p)?;
    check_len("dx", dx.len(), dy.len())?;
    check_len("mask", mask.len(), mask_len(dy.len()))?;
    apply(dy, dx, mask, scale);
    Ok(())
}

/// [`dropout_backward`] in place: `d = d·mᵢ/(1 − p)`.
///
/// # Errors
/// As [`dropout_backward`].
pub fn dropout_backward_inplace(d: &mut [f32], mask: &[u32], p: f32) -> Result<()> {
    let scale = check_p(p)?;
    check_len("mask", mask.len(), mask_len(d.len()))?;
    apply_inplace(d, mask, scale);
    Ok(())
}

/// Draws the keep bits of `n` elements into `mask` (`⌈n/32⌉` words): `⌈n/2⌉` `next_u64`
/// calls for `0 < p < 1`, none for `p = 0` (all kept) or `p = 1` (all dropped).
fn draw_mask<R: Rng + ?Sized>(mask: &mut [u32], n: usize, p: f32, rng: &mut R) {
    let mut left = n;
    if p == 0.0 || p == 1.0 {
        for word in mask.iter_mut() {
            let m = left.min(32);
            left -= m;
            *word = if p == 0.0 { low_bits(m) } else { 0 };
        }
        return;
    }
    // Keep when the 32 random bits are ≥ t: probability 1 − t/2³² ≈ 1 − p.
    let t = libm::round(f64::from(p) * 4_294_967_296.0) as u64;
    for word in mask.iter_mut() {
        let m = left.min(32);
        left -= m;
        let mut bits = 0u32;
        let mut k = 0;
        while k < m {
            let r = rng.next_u64();
            if r & 0xFFFF_FFFF >= t {
                bits |= 1 << k;
            }
            if k + 1 < m && r >> 32 >= t {
                bits |= 1 << (k + 1);
            }
            k += 2;
        }
        *word = bits;
    }
}

/// A word with its `m` (≤ 32) low bits set.
fn low_bits(m: usize) -> u32 {
    if m >= 32 {
        u32::MAX
    } else {
        (1u32 << m) - 1
    }
}

/// The eight multipliers (`scale` or 0) of the mask byte `byte`.
#[inline(always)]
fn factors(byte: u32, scale: f32) -> [f32; 8] {
    core::array::from_fn(|k| if byte >> k & 1 == 1 { scale } else { 0.0 })
}

/// `out = v·mᵢ·scale` over 32 elements per mask word, eight at a time.
fn apply(v: &[f32], out: &mut [f32], mask: &[u32], scale: f32) {
    for ((vb, ob), &word) in v.chunks(32).zip(out.chunks_mut(32)).zip(mask) {
        for (k, (v8, o8)) in vb.chunks(8).zip(ob.chunks_mut(8)).enumerate() {
            let f = factors(word >> (8 * k), scale);
            for ((o, x), m) in o8.iter_mut().zip(v8).zip(f) {
                *o = x * m;
            }
        }
    }
}

/// `v = v·mᵢ·scale` in place.
fn apply_inplace(v: &mut [f32], mask: &[u32], scale: f32) {
    for (vb, &word) in v.chunks_mut(32).zip(mask) {
        for (k, v8) in vb.chunks_mut(8).enumerate() {
            let f = factors(word >> (8 * k), scale);
            for (x, m) in v8.iter_mut().zip(f) {
                *x *= m;
            }
        }
    }
}
