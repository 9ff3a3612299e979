//! Magnitude pruning: masks that zero the weights of smallest magnitude (torch's
//! `torch.nn.utils.prune.l1_unstructured` and `global_unstructured`), and applying a mask.

use crate::error::check_len;
use crate::simd::{LaneZip, Lanes};
use crate::{Error, Result};

/// How many weights to prune, torch's `amount` argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Amount {
    /// A fraction in `[0, 1]` of the weights (torch's `float` amount): `k = round(amount·n)`,
    /// computed in `f64` and rounded half to even as Python's `round` does
    /// (`0.5·5 = 2.5 → 2`, `0.5·7 = 3.5 → 4`).
    Fraction(f64),
    /// An absolute number of weights, at most `n` (torch's `int` amount).
    Count(usize),
}

impl Amount {
    /// The number `k` of weights pruned out of `n`.
    ///
    /// ```
    /// use descent::regularize::Amount;
    ///
    /// assert_eq!(Amount::Fraction(0.5).count(5)?, 2); // 2.5 rounds to even
    /// assert_eq!(Amount::Fraction(0.5).count(7)?, 4); // 3.5 rounds to even
    /// assert_eq!(Amount::Count(3).count(10)?, 3);
    /// # Ok::<(), descent::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidHyperParameter`] (`"amount"`) for a fraction outside `[0, 1]` (NaN
    /// included) or a count above `n`, as torch checks.
    pub fn count(self, n: usize) -> Result<usize> {
        match self {
            Amount::Fraction(f) if (0.0..=1.0).contains(&f) => {
                Ok(round_half_even(f * n as f64).min(n))
            }
            Amount::Count(c) if c <= n => Ok(c),
            _ => Err(Error::InvalidHyperParameter { what: "amount" }),
        }
    }
}

/// Python's `round` for a finite `x ≥ 0`: to the nearest integer, halves to even.
fn round_half_even(x: f64) -> usize {
    let floor = x as usize; // truncation is the floor for x ≥ 0 (saturates past usize::MAX)
    let frac = x - floor as f64;
    if frac > 0.5 || (frac == 0.5 && floor % 2 == 1) {
        floor.saturating_add(1)
    } else {
        floor
    }
}

/// The number of `f32` of scratch that [`magnitude_mask`] and [`global_magnitude_mask`] need
/// for `n` weights in all: `n` (one copy of the magnitudes, which the selection reorders).
pub const fn prune_scratch_len(n: usize) -> usize {
    n
}

/// The pruning mask of torch's `torch.nn.utils.prune.l1_unstructured(module, name, amount)`:
/// writes `mask[i] = 0.0` for the `k` weights of smallest `|w[i]|` and `1.0` for the others,
/// with `k` from [`Amount::count`]; returns `k`.
///
/// The `k` smallest are found with `core`'s `select_nth_unstable` (linear time) on a copy of
/// the magnitudes in `scratch` (at least [`prune_scratch_len`]`(w.len())` floats; its content
/// on return is unspecified), then one pass writes the mask. Ordering and ties:
///
/// * magnitudes are ordered as `f32::total_cmp` orders them, so `−0` and `+0` tie, and a NaN
///   weight counts as larger than every number (it is kept unless `k` reaches it, as with
///   torch's `topk`);
/// * among weights of equal magnitude, the **lower index is pruned first**: the result is
///   deterministic. (torch's `topk` leaves the choice among ties unspecified.)
///
/// torch applies a new pruning to the weights its previous masks left; this function looks
/// at every weight (zero weights are pruned first anyway). Apply the mask with [`apply_mask`].
///
/// ```
/// use descent::regularize::{magnitude_mask, prune_scratch_len, Amount};
///
/// let w = [0.5, -0.1, 2.0, 0.0, -0.7];
/// let mut mask = [0.0; 5];
/// let mut scratch = [0.0; prune_scratch_len(5)];
/// let k = magnitude_mask(&w, Amount::Fraction(0.4), &mut mask, &mut scratch)?;
/// assert_eq!(k, 2);
/// assert_eq!(mask, [1.0, 0.0, 1.0, 0.0, 1.0]);
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidHyperParameter`] (`"amount"`) as [`Amount::count`];
/// [`Error::LengthMismatch`]: `"mask"` unless `mask.len() == w.len()`, `"scratch"` when
/// `scratch` is shorter than `w`. Nothing is written on error.
pub fn magnitude_mask(
    w: &[f32],
    amount: Amount,
    mask: &mut [f32],
    scratch: &mut [f32],
) -> Result<usize> {
    check_len("mask", mask.len(), w.len())?;
    let k = amount.count(w.len())?;
    check_scratch(scratch, w.len())?;
    write_masks(&[w], &mut [mask], k, scratch);
    Ok(k)
}

/// Global magnitude pruning over several weight tensors, torch's
/// `prune.global_unstructured(parameters, pruning_method=prune.L1Unstructured, amount)`:
/// the `k` weights of smallest magnitude **among all of them** get mask 0, with `k` from
/// [`Amount::count`] of the total number of weights; returns `k`. `masks[t]` is the mask of
/// `weights[t]`.
///
/// This is [`magnitude_mask`] on the concatenation of the slices (in order), ties broken by
/// the lower position in that concatenation, NaN counted as largest. `scratch` holds at least
/// [`prune_scratch_len`]`(n)` floats, `n` the total number of weights.
///
/// ```
/// use descent::regularize::{global_magnitude_mask, Amount};
///
/// let (w1, w2) = ([0.9, -0.05, 0.3], [0.01, 1.5]);
/// let (mut m1, mut m2) = ([0.0; 3], [0.0; 2]);
/// let mut scratch = [0.0; 5];
/// let k = global_magnitude_mask(&[&w1, &w2], Amount::Count(2), &mut [&mut m1, &mut m2], &mut scratch)?;
/// assert_eq!((k, m1, m2), (2, [1.0, 0.0, 1.0], [0.0, 1.0]));
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// [`Error::LengthMismatch`] (`"masks"`) unless there is one mask per weight slice and each is
/// as long as its slice; [`Error::DimensionOverflow`] (`"weights"`) when the total length
/// overflows `usize` (the same slice listed many times); otherwise as [`magnitude_mask`].
/// Nothing is written on error.
pub fn global_magnitude_mask(
    weights: &[&[f32]],
    amount: Amount,
    masks: &mut [&mut [f32]],
    scratch: &mut [f32],
) -> Result<usize> {
    check_len("masks", masks.len(), weights.len())?;
    let mut n = 0usize;
    for (w, m) in weights.iter().zip(masks.iter()) {
        check_len("masks", m.len(), w.len())?;
        n = n
            .checked_add(w.len())
            .ok_or(Error::DimensionOverflow { what: "weights" })?;
    }
    let k = amount.count(n)?;
    check_scratch(scratch, n)?;
    write_masks(weights, masks, k, scratch);
    Ok(k)
}

/// `x[i] *= mask[i]`: applies a pruning mask to weights (after each optimizer step) or to
/// their gradients (before it); torch's `weight = weight_orig * weight_mask` and the masked
/// gradient its hook produces.
///
/// Pruned weights stay exactly zero during training with this recipe at every step:
///
/// 1. after the backward pass, `apply_mask(mask, grad)`: no gradient (nor weight decay, which
///    the optimizer adds to the gradient of a zero weight as zero) reaches a pruned weight;
/// 2. the optimizer step;
/// 3. `apply_mask(mask, weights)`: clears what optimizer state accumulated *before* pruning
///    (a momentum buffer, Adam's moments) moved into pruned weights.
///
/// Masking the gradient alone is not enough with momentum (the old buffer keeps moving the
/// weight), and masking the weights alone lets the pruned weights' gradients pollute the
/// state. An element `±∞` or NaN of `x` under a 0 of the mask becomes NaN (`∞·0`), as in torch.
///
/// ```
/// use descent::regularize::apply_mask;
/// use descent::simd::axpy;
///
/// let mask = [1.0, 0.0, 1.0];
/// let mut w = [0.5, 0.0, -1.0];
/// let mut grad = [0.1, 0.3, -0.2];
/// apply_mask(&mask, &mut grad)?; // 1. before the step
/// axpy(-0.1, &grad, &mut w)?; //    2. a plain SGD step
/// apply_mask(&mask, &mut w)?; //    3. after it
/// assert_eq!(w[1], 0.0);
/// # Ok::<(), descent::Error>(())
/// ```
///
/// # Errors
/// [`Error::LengthMismatch`] (`"x"`) unless `x.len() == mask.len()`; nothing is written then.
pub fn apply_mask(mask: &[f32], x: &mut [f32]) -> Result<()> {
    check_len("x", x.len(), mask.len())?;
    crate::simd::zip_map_inplace_dispatch(mask, x, Masked);
    Ok(())
}

/// The lanes of [`apply_mask`]: `(m, x) ↦ x·m`.
#[derive(Clone, Copy)]
struct Masked;

impl LaneZip for Masked {
    #[inline(always)]
    fn apply<L: Lanes>(self, _: L, m: L::F, x: L::F) -> L::F {
        x * m
    }
}

fn check_scratch(scratch: &[f32], n: usize) -> Result<()> {
    if scratch.len() >= n {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what: "scratch",
            expected: prune_scratch_len(n),
            actual: scratch.len(),
        })
    }
}

/// The bits of `|x|`: for non-negative floats (NaN included) the integer order of the bits is
/// `f32::total_cmp`'s order.
#[inline(always)]
fn magnitude_key(x: f32) -> u32 {
    x.to_bits() & 0x7fff_ffff
}

/// Writes the masks for `k` pruned weights; the arguments have been checked: one mask per
/// slice, of its length, `k ≤ n = Σ lengths ≤ scratch.len()`.
fn write_masks(weights: &[&[f32]], masks: &mut [&mut [f32]], k: usize, scratch: &mut [f32]) {
    let mut n = 0;
    for (dst, src) in scratch
        .iter_mut()
        .zip(weights.iter().flat_map(|w| w.iter()))
    {
        *dst = f32::from_bits(magnitude_key(*src));
        n += 1;
    }
    let keys = scratch.get(..n).unwrap_or_default();
    // The k-th smallest magnitude key `threshold`, and how many of the weights *at* it are
    // pruned (the first ones in order) after every weight below it.
    let (threshold, ties) = match k.checked_sub(1) {
        Some(kth) if kth < keys.len() => {
            let (t, strictly_below) = select_key(keys, kth);
            (t, k.saturating_sub(strictly_below))
        }
        _ => {
            // k = 0 (or nothing to select): keep everything.
            for m in masks.iter_mut() {
                m.fill(1.0);
            }
            return;
        }
    };
    // Pass 1 prunes everything at or below the threshold and counts the weights at it.
    let mut at_threshold = 0usize;
    for (w, m) in weights.iter().zip(masks.iter_mut()) {
        at_threshold += threshold_mask(w, m, threshold);
    }
    // Pass 2, only when the threshold is tied beyond the k-th: keeps the ones after the first
    // `ties` of them, in order.
    if at_threshold > ties {
        let mut skip = ties;
        for (w, m) in weights.iter().zip(masks.iter_mut()) {
            for (x, out) in w.iter().zip(m.iter_mut()) {
                if magnitude_key(*x) == threshold {
                    if skip > 0 {
                        skip -= 1;
                    } else {
                        *out = 1.0;
                    }
                }
            }
        }
    }
}

/// The `kth` smallest (counting from 0) of the keys `v.to_bits()` over `values`, and how many
/// keys are strictly smaller; `kth < values.len()`.
///
/// Radix selection, most significant byte first: each of four passes counts the keys that
/// share the digits found so far by their next byte, and walks the 256 counts to the byte that
/// holds rank `kth`. Linear time whatever the data, a 256-entry table on the stack, the input
/// untouched, and no panic path (a library sort or select keeps its own index checks).
fn select_key(values: &[f32], kth: usize) -> (u32, usize) {
    let (mut prefix, mut known) = (0u32, 0u32);
    let (mut rank, mut below) = (kth, 0usize);
    for shift in [24u32, 16, 8, 0] {
        let mut counts = [0usize; 256];
        for v in values {
            let key = v.to_bits();
            if key & known == prefix {
                let digit = ((key >> shift) & 0xff) as u8;
                counts[usize::from(digit)] += 1;
            }
        }
        let mut digit = 0u32;
        for (d, &count) in (0u32..).zip(counts.iter()) {
            if rank < count {
                digit = d;
                break;
            }
            rank -= count;
            below += count;
        }
        prefix |= digit << shift;
        known |= 0xff << shift;
    }
    (prefix, below)
}

/// `mask[i] = 1` if `|w[i]|`'s key is above `threshold`, else 0; returns how many keys equal
/// it. Eight at a time with a per-chunk count, which the compiler turns into lane compares
/// (a carried branch or counter per element is four to six times slower).
fn threshold_mask(w: &[f32], mask: &mut [f32], threshold: u32) -> usize {
    let mut equal = 0usize;
    let (wc, wt) = w.as_chunks::<8>();
    let (mc, mt) = mask.as_chunks_mut::<8>();
    for (xs, out) in wc.iter().zip(mc.iter_mut()) {
        let mut e = 0u32;
        for (x, o) in xs.iter().zip(out.iter_mut()) {
            let key = magnitude_key(*x);
            e += u32::from(key == threshold);
            *o = if key > threshold { 1.0 } else { 0.0 };
        }
        equal += e as usize;
    }
    for (x, o) in wt.iter().zip(mt.iter_mut()) {
        let key = magnitude_key(*x);
        equal += usize::from(key == threshold);
        *o = if key > threshold { 1.0 } else { 0.0 };
    }
    equal
}
