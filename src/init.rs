//! Weight initialisation, as `torch.nn.init`: Xavier/Glorot, Kaiming/He and LeCun schemes,
//! uniform, normal and truncated normal fills, constants, and the default initialisation of
//! `torch.nn.Linear`.
//!
//! Every function fills a caller's `f32` slice from any generator implementing the core trait
//! [`rand::Rng`] (a seeded `Xoshiro256PlusPlus`, a hardware TRNG wrapper in firmware, …).
//! Nothing allocates. The schemes that scale with the layer's size take the tensor's `shape`
//! in torch's layout, and compute its fans with [`fans`]: a dense weight is `[out, in]`, a
//! convolution's is `[out_channels, in_channels, k₁, k₂, …]`.
//!
//! # Determinism
//! The same generator state, arguments and slice length give bit-identical values on every
//! target: the random bits become floats by exact integer-to-float conversions, the arithmetic
//! is IEEE `f64` (rounded once to `f32` at the end), and the transcendental functions are the
//! pure-Rust [`libm`] ones, not the platform's. Each function consumes a fixed number of
//! generator words per value, documented with it, so a stream of calls is reproducible too.
//! The values are not torch's: torch's generator (Philox / MT19937) is not reproduced, only
//! its distributions.
//!
//! # Errors
//! Every function checks all of its arguments first and writes nothing (and draws nothing
//! from the generator) when one is wrong: [`Error::LengthMismatch`] when the slice does not
//! hold `shape`'s product of elements (`"tensor"`) or `shape` has fewer than two dimensions
//! (`"shape"`), [`Error::DimensionOverflow`] (`"shape"`) when a product of dimensions
//! overflows `usize`, and [`Error::InvalidHyperParameter`] naming torch's argument for a
//! negative, infinite or NaN hyper-parameter. Hyper-parameters are checked even for an empty
//! tensor, where torch's Kaiming functions return early; an empty tensor is otherwise a no-op.
//!
//! # Example
//! Initialise a 784 → 128 dense layer as `torch.nn.Linear(784, 128)` does, then re-draw its
//! weight with He initialisation for a ReLU network:
//! ```
//! use descent::init::{self, Kaiming, Nonlinearity};
//! use rand::rngs::Xoshiro256PlusPlus;
//! use rand::SeedableRng;
//!
//! let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
//! let (n_in, n_out) = (784, 128);
//! let mut weight = vec![0.0f32; n_out * n_in]; // [out, in], as torch.nn.Linear
//! let mut bias = vec![0.0f32; n_out];
//!
//! init::dense_default(&mut weight, Some(&mut bias), n_in, n_out, &mut rng)?;
//! let bound = (1.0 / (n_in as f64).sqrt()) as f32; // 1/√fan_in
//! assert!(weight.iter().chain(&bias).all(|v| (-bound..bound).contains(v)));
//!
//! let relu = Kaiming { nonlinearity: Nonlinearity::Relu, ..Kaiming::default() };
//! init::kaiming_normal(&mut weight, &[n_out, n_in], relu, &mut rng)?; // std = √2/√784
//! let var = weight.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / weight.len() as f64;
//! assert!((var * 784.0 / 2.0 - 1.0).abs() < 0.02);
//! # Ok::<(), descent::Error>(())
//! ```

use core::f64::consts::{FRAC_1_SQRT_2, SQRT_2, TAU};

use rand::Rng;

use crate::error::{check_finite, check_len, check_non_negative, checked_len};
use crate::{Error, Result};

/// Which fan scales a Kaiming initialisation: torch's `mode` argument.
///
/// [`FanMode::FanIn`] (torch's default, `"fan_in"`) preserves the variance of the
/// activations in the forward pass; [`FanMode::FanOut`] (`"fan_out"`) preserves that of the
/// gradients in the backward pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FanMode {
    /// `"fan_in"`: the number of inputs of each output unit, `shape[1]·receptive`.
    #[default]
    FanIn,
    /// `"fan_out"`: `shape[0]·receptive`.
    FanOut,
}

/// A nonlinearity whose recommended gain [`calculate_gain`] returns: the first argument of
/// torch's `torch.nn.init.calculate_gain(nonlinearity, param=None)`.
///
/// torch's `param` (only used for `"leaky_relu"`) is the field of [`Nonlinearity::LeakyRelu`];
/// torch's default `param=None` means a slope of 0.01, which is
/// [`Nonlinearity::LEAKY_RELU`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nonlinearity {
    /// `"linear"`: gain 1.
    Linear,
    /// `"conv1d"`: gain 1.
    Conv1d,
    /// `"conv2d"`: gain 1.
    Conv2d,
    /// `"conv3d"`: gain 1.
    Conv3d,
    /// `"conv_transpose1d"`: gain 1.
    ConvTranspose1d,
    /// `"conv_transpose2d"`: gain 1.
    ConvTranspose2d,
    /// `"conv_transpose3d"`: gain 1.
    ConvTranspose3d,
    /// `"sigmoid"`: gain 1.
    Sigmoid,
    /// `"tanh"`: gain 5/3.
    Tanh,
    /// `"relu"`: gain √2.
    Relu,
    /// `"leaky_relu"`: gain `√(2 / (1 + negative_slope²))`.
    LeakyRelu {
        /// The slope for negative inputs (torch's `param`; `a` in the Kaiming functions).
        /// Any finite value.
        negative_slope: f32,
    },
    /// `"selu"`: gain 3/4 (torch's choice, which keeps the variance of the inputs of a
    /// SELU network with Kaiming `"fan_in"` initialisation near 1).
    Selu,
}

impl Nonlinearity {
    /// `"leaky_relu"` with torch's default slope for `calculate_gain`, 0.01 (gain ≈ 1.41414).
    ///
    /// The Kaiming functions' default is a slope of **0**, not this: see [`Kaiming`].
    pub const LEAKY_RELU: Nonlinearity = Nonlinearity::LeakyRelu {
        negative_slope: 0.01,
    };
}

/// The options of [`kaiming_uniform`] and [`kaiming_normal`]; `Default` is torch's
/// `a=0, mode="fan_in", nonlinearity="leaky_relu"`.
///
/// torch passes `a` and `nonlinearity` separately and uses `a` only when the nonlinearity is
/// `"leaky_relu"`; here `a` is the slope inside [`Nonlinearity::LeakyRelu`]. torch's
/// `kaiming_uniform_(w, a=√5)` (what `nn.Linear` uses) is therefore
/// `Kaiming { nonlinearity: Nonlinearity::LeakyRelu { negative_slope: 5f32.sqrt() }, ..Default::default() }`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Kaiming {
    /// Which fan to scale by: torch's `mode`, default [`FanMode::FanIn`].
    pub mode: FanMode,
    /// The nonlinearity that follows the layer, giving the gain: default
    /// `LeakyRelu { negative_slope: 0.0 }` (gain √2, the same as [`Nonlinearity::Relu`]).
    pub nonlinearity: Nonlinearity,
}

impl Default for Kaiming {
    fn default() -> Self {
        Kaiming {
            mode: FanMode::FanIn,
            nonlinearity: Nonlinearity::LeakyRelu {
                negative_slope: 0.0,
            },
        }
    }
}

/// The fans of a weight of the given shape: torch's
/// `torch.nn.init._calculate_fan_in_and_fan_out`. Returns `(fan_in, fan_out)`.
///
/// `fan_in = shape[1]·receptive` and `fan_out = shape[0]·receptive`, where
/// `receptive = shape[2]·shape[3]·…` (1 for a two-dimensional shape). A dense weight
/// `[out, in]` has `fan_in = in` and `fan_out = out`; a convolution's
/// `[out_channels, in_channels, kh, kw]` has `fan_in = in_channels·kh·kw`. Dimensions may be
/// zero, as in torch.
///
/// # Errors
/// [`Error::LengthMismatch`] (`"shape"`, expected 2) when `shape` has fewer than two
/// dimensions (torch raises a `ValueError`), [`Error::DimensionOverflow`] (`"shape"`) when a
/// fan overflows `usize`.
///
/// ```
/// use descent::init::fans;
/// assert_eq!(fans(&[128, 784])?, (784, 128));
/// assert_eq!(fans(&[16, 3, 5, 5])?, (75, 400));
/// # Ok::<(), descent::Error>(())
/// ```
pub fn fans(shape: &[usize]) -> Result<(usize, usize)> {
    let [out, inp, receptive_dims @ ..] = shape else {
        return Err(Error::LengthMismatch {
            what: "shape",
            expected: 2,
            actual: shape.len(),
        });
    };
    let receptive = numel(receptive_dims)?;
    let fan_in = checked_len("shape", *inp, receptive)?;
    let fan_out = checked_len("shape", *out, receptive)?;
    Ok((fan_in, fan_out))
}

/// The recommended gain for a nonlinearity: torch's
/// `torch.nn.init.calculate_gain(nonlinearity, param=None)`.
///
/// | nonlinearity | gain |
/// |---|---|
/// | linear, conv{1,2,3}d, conv_transpose{1,2,3}d, sigmoid | 1 |
/// | tanh | 5/3 |
/// | relu | √2 |
/// | leaky_relu | `√(2 / (1 + negative_slope²))` |
/// | selu | 3/4 |
///
/// Computed in `f64` and rounded once to `f32` (torch returns the `f64`).
///
/// # Errors
/// [`Error::InvalidHyperParameter`] (`"param"`) for a NaN or infinite leaky slope (torch
/// accepts any number; an infinite slope would give gain 0).
///
/// ```
/// use descent::init::{calculate_gain, Nonlinearity};
/// assert_eq!(calculate_gain(Nonlinearity::Tanh)?, 5.0 / 3.0);
/// assert_eq!(calculate_gain(Nonlinearity::Relu)?, 2f32.sqrt());
/// # Ok::<(), descent::Error>(())
/// ```
pub fn calculate_gain(nonlinearity: Nonlinearity) -> Result<f32> {
    gain(nonlinearity, "param").map(|g| g as f32)
}

/// Fills `tensor` with `U(a, b)`: torch's `torch.nn.init.uniform_(tensor, a=0.0, b=1.0)`.
///
/// Each value is `a + (b − a)·k·2⁻²⁴` for a uniform 24-bit integer `k` (the top bits of one
/// `next_u32` per value), computed in `f64` and rounded to `f32`; values that round up to `b`
/// are lowered to the largest `f32` below it, so every value is in `[a, b)` (or equals `a`
/// when `a = b`). The mean is `(a + b)/2` and the variance `(b − a)²/12`, up to the 2⁻²⁴
/// grid.
///
/// # Errors
/// [`Error::InvalidHyperParameter`]: `"a"` or `"b"` when it is NaN or infinite, `"b"` when
/// `b < a` (torch: "uniform_ expects to return a [from, to) range").
pub fn uniform<R: Rng + ?Sized>(tensor: &mut [f32], a: f32, b: f32, rng: &mut R) -> Result<()> {
    check_finite("a", a)?;
    check_finite("b", b)?;
    if b < a {
        return Err(Error::InvalidHyperParameter { what: "b" });
    }
    fill_uniform(tensor, a, b, rng);
    Ok(())
}

/// Fills `tensor` with `N(mean, std²)`: torch's
/// `torch.nn.init.normal_(tensor, mean=0.0, std=1.0)`.
///
/// The standard normals come from the Box–Muller transform, which is exact in distribution:
/// from two `next_u64` words, `u₁ ∈ (0, 1]` and `u₂ ∈ [0, 1)` with 53 random bits each,
/// `r = √(−2·ln u₁)` and `(z₀, z₁) = (r·cos 2πu₂, r·sin 2πu₂)`, two independent standard
/// normals for consecutive values (so a pair of values consumes two words; an odd last value
/// uses one normal of its pair). `u₁` is never 0, so there is no `ln 0`: `|z| ≤ √(106·ln 2) ≈
/// 8.57`. Each value is `mean + std·z` in `f64`, rounded to `f32`.
///
/// # Errors
/// [`Error::InvalidHyperParameter`]: `"mean"` when it is NaN or infinite; `"std"` when it is
/// negative (torch: "normal expects std >= 0.0"), NaN, or so large that
/// `|mean| + 8.58·std` exceeds `f32::MAX` (a value could overflow to infinity). `std = 0`
/// fills `mean`.
pub fn normal<R: Rng + ?Sized>(tensor: &mut [f32], mean: f32, std: f32, rng: &mut R) -> Result<()> {
    check_finite("mean", mean)?;
    check_normal_std("std", mean, f64::from(std))?;
    fill_normal(tensor, mean, std, rng);
    Ok(())
}

/// Fills `tensor` with a normal `N(mean, std²)` truncated to `[a, b]`: torch's
/// `torch.nn.init.trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0)`.
///
/// `a` and `b` are absolute bounds, not multiples of `std`, as in torch: with `std = 0.02`
/// torch's default `[-2, 2]` truncates nothing.
///
/// Sampling is by inverse CDF, as torch does, but in `f64` and in the tail that keeps
/// precision: with `α = (a − mean)/std`, `β = (b − mean)/std` and `Φ` the standard normal
/// CDF, each value is `z = Φ⁻¹(Φ(α) + u·(Φ(β) − Φ(α)))` for `u ∈ (0, 1)` from one `next_u64`
/// (53 bits), then `mean + std·z` rounded to `f32` and clamped to `[a, b]`. When the interval
/// lies mostly above the mean (`α + β > 0`) the mirrored interval `[−β, −α]` is sampled and
/// negated, so `Φ` is evaluated only where it has full relative precision
/// (`Φ(x) = ½·erfc(−x/√2)`, [`libm::erfc`]). `Φ⁻¹` is Acklam's rational approximation
/// (relative error below 1.2·10⁻⁹) refined by one Halley step on `libm::erfc`, accurate to a
/// few `f64` ulps. torch instead maps `U(2Φ(α) − 1, 2Φ(β) − 1)` through `erfinv` in `f32`,
/// which loses the tails; the distribution is the same.
///
/// Every value is in `[a, b]`. The mean is `mean + std·(φ(α) − φ(β))/Z` and the variance
/// `std²·[1 + (αφ(α) − βφ(β))/Z − ((φ(α) − φ(β))/Z)²]`, `Z = Φ(β) − Φ(α)`, `φ` the standard
/// normal density. `a = b` fills `a`.
///
/// # Errors
/// [`Error::InvalidHyperParameter`]: `"mean"`, `"a"` or `"b"` when NaN or infinite; `"std"`
/// unless `0 < std < ∞` (torch divides by it); `"b"` when `b < a`; and `"a"` (interval above
/// the mean) or `"b"` (below) when `a < b` and the interval lies more than about 37 standard
/// deviations from the mean, where its probability underflows `f64` (torch fills a bound
/// there).
pub fn trunc_normal<R: Rng + ?Sized>(
    tensor: &mut [f32],
    mean: f32,
    std: f32,
    a: f32,
    b: f32,
    rng: &mut R,
) -> Result<()> {
    let sampler = TruncatedNormal::new(mean, std, a, b)?;
    for x in tensor.iter_mut() {
        *x = sampler.sample(rng.next_u64());
    }
    Ok(())
}

/// Fills `tensor` with `val`: torch's `torch.nn.init.constant_(tensor, val)`.
///
/// # Errors
/// [`Error::InvalidHyperParameter`] (`"val"`) when `val` is NaN or infinite (torch would fill
/// it; as a weight it is always a mistake).
pub fn constant(tensor: &mut [f32], val: f32) -> Result<()> {
    check_finite("val", val)?;
    tensor.fill(val);
    Ok(())
}

/// Fills `tensor` with 0: torch's `torch.nn.init.zeros_(tensor)`.
pub fn zeros(tensor: &mut [f32]) {
    tensor.fill(0.0);
}

/// Fills `tensor` with 1: torch's `torch.nn.init.ones_(tensor)`.
pub fn ones(tensor: &mut [f32]) {
    tensor.fill(1.0);
}

/// Xavier/Glorot uniform initialisation: torch's
/// `torch.nn.init.xavier_uniform_(tensor, gain=1.0)`.
///
/// Fills `tensor` (of the given `shape`, see [`fans`]) with `U(−B, B)`,
/// `B = √3·std`, `std = gain·√(2/(fan_in + fan_out))`, computed in `f64` in torch's order and
/// rounded to `f32`, so that the variance is `gain²·2/(fan_in + fan_out)`. Sampling as [`uniform`] (one `next_u32` per
/// value).
///
/// # Errors
/// See the [module](self#errors); [`Error::InvalidHyperParameter`] (`"gain"`) when `gain`
/// is negative (torch then fails in `uniform_`), NaN or infinite, or so large that `B`
/// overflows `f32`.
pub fn xavier_uniform<R: Rng + ?Sized>(
    tensor: &mut [f32],
    shape: &[usize],
    gain: f32,
    rng: &mut R,
) -> Result<()> {
    let std = xavier_std(tensor, shape, gain)?;
    fill_scaled(tensor, Spread::Uniform, "gain", std, rng)
}

/// Xavier/Glorot normal initialisation: torch's
/// `torch.nn.init.xavier_normal_(tensor, gain=1.0)`.
///
/// Fills `tensor` (of the given `shape`, see [`fans`]) with `N(0, std²)`,
/// `std = gain·√(2/(fan_in + fan_out))` computed in `f64` and rounded to `f32`. Sampling as
/// [`normal`] (two `next_u64` per pair of values).
///
/// # Errors
/// See the [module](self#errors); [`Error::InvalidHyperParameter`] (`"gain"`) when `gain`
/// is negative, NaN or infinite, or so large that a value could overflow `f32` (as
/// [`normal`]'s `std`).
pub fn xavier_normal<R: Rng + ?Sized>(
    tensor: &mut [f32],
    shape: &[usize],
    gain: f32,
    rng: &mut R,
) -> Result<()> {
    let std = xavier_std(tensor, shape, gain)?;
    fill_scaled(tensor, Spread::Normal, "gain", std, rng)
}

/// Kaiming/He uniform initialisation: torch's
/// `torch.nn.init.kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu")`,
/// with torch's defaults in [`Kaiming::default`].
///
/// Fills `tensor` (of the given `shape`, see [`fans`]) with `U(−B, B)`,
/// `B = √3·gain/√fan` computed in `f64` and rounded to `f32`, where `fan` is `fan_in` or
/// `fan_out` ([`Kaiming::mode`]) and `gain` is [`calculate_gain`] of
/// [`Kaiming::nonlinearity`]; the variance is `gain²/fan`. Sampling as [`uniform`] (one
/// `next_u32` per value).
///
/// # Errors
/// See the [module](self#errors); [`Error::InvalidHyperParameter`] (`"a"`, torch's name for
/// the slope) when a leaky slope is NaN or infinite.
pub fn kaiming_uniform<R: Rng + ?Sized>(
    tensor: &mut [f32],
    shape: &[usize],
    kaiming: Kaiming,
    rng: &mut R,
) -> Result<()> {
    let std = kaiming_std(tensor, shape, kaiming)?;
    fill_scaled(tensor, Spread::Uniform, "a", std, rng)
}

/// Kaiming/He normal initialisation: torch's
/// `torch.nn.init.kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu")`,
/// with torch's defaults in [`Kaiming::default`].
///
/// Fills `tensor` (of the given `shape`, see [`fans`]) with `N(0, std²)`,
/// `std = gain/√fan` computed in `f64` and rounded to `f32` (`fan` and `gain` as in
/// [`kaiming_uniform`]). Sampling as [`normal`] (two `next_u64` per pair of values).
///
/// # Errors
/// As [`kaiming_uniform`].
pub fn kaiming_normal<R: Rng + ?Sized>(
    tensor: &mut [f32],
    shape: &[usize],
    kaiming: Kaiming,
    rng: &mut R,
) -> Result<()> {
    let std = kaiming_std(tensor, shape, kaiming)?;
    fill_scaled(tensor, Spread::Normal, "a", std, rng)
}

/// LeCun uniform initialisation (not in torch; Keras' `LecunUniform`).
///
/// Fills `tensor` (of the given `shape`, see [`fans`]) with `U(−B, B)`, `B = √(3/fan_in)`
/// computed in `f64` and rounded to `f32`, so that the variance is `1/fan_in`. The same as
/// torch's `kaiming_uniform_(tensor, mode="fan_in", nonlinearity="linear")`. Sampling as
/// [`uniform`] (one `next_u32` per value).
///
/// # Errors
/// See the [module](self#errors): shape and length only.
pub fn lecun_uniform<R: Rng + ?Sized>(
    tensor: &mut [f32],
    shape: &[usize],
    rng: &mut R,
) -> Result<()> {
    kaiming_uniform(tensor, shape, LECUN, rng)
}

/// LeCun normal initialisation (not in torch).
///
/// Fills `tensor` (of the given `shape`, see [`fans`]) with `N(0, std²)`, `std = 1/√fan_in`
/// computed in `f64` and rounded to `f32`: torch's
/// `kaiming_normal_(tensor, mode="fan_in", nonlinearity="linear")`. Keras' `LecunNormal` and
/// JAX's `lecun_normal` draw a normal truncated at ±2 standard deviations and rescaled to the
/// same variance instead; for that, use [`trunc_normal`]. Sampling as [`normal`] (two
/// `next_u64` per pair of values).
///
/// # Errors
/// See the [module](self#errors): shape and length only.
pub fn lecun_normal<R: Rng + ?Sized>(
    tensor: &mut [f32],
    shape: &[usize],
    rng: &mut R,
) -> Result<()> {
    kaiming_normal(tensor, shape, LECUN, rng)
}

/// The default initialisation of a dense layer, what `torch.nn.Linear.reset_parameters`
/// does: `weight` `[out_features, in_features]` and `bias` `[out_features]` both drawn from
/// `U(−B, B)` with `B = 1/√in_features` (computed in `f64`, rounded to `f32`).
///
/// For the weight torch calls `kaiming_uniform_(weight, a=√5)`, whose bound
/// `√3·√(2/(1 + a²))/√fan_in` is `1/√in_features` (to an `f64` ulp); for the bias it calls
/// `uniform_(bias, −B, B)`. The weight is drawn first, then the bias, one `next_u32` per
/// value, as [`uniform`]. With `in_features = 0` the weight is empty and the bias is filled
/// with 0, as torch does.
///
/// # Errors
/// [`Error::DimensionOverflow`] (`"weight"`) when `out_features·in_features` overflows,
/// [`Error::LengthMismatch`] when `weight` (`"weight"`) or `bias` (`"bias"`) has the wrong
/// length. Nothing is written on error.
pub fn dense_default<R: Rng + ?Sized>(
    weight: &mut [f32],
    bias: Option<&mut [f32]>,
    in_features: usize,
    out_features: usize,
    rng: &mut R,
) -> Result<()> {
    check_len(
        "weight",
        weight.len(),
        checked_len("weight", out_features, in_features)?,
    )?;
    if let Some(bias) = bias.as_deref() {
        check_len("bias", bias.len(), out_features)?;
    }
    let bound = if in_features == 0 {
        0.0
    } else {
        (1.0 / crate::simd::sqrt_f64(in_features as f64)) as f32
    };
    fill_uniform(weight, -bound, bound, rng);
    if let Some(bias) = bias {
        fill_uniform(bias, -bound, bound, rng);
    }
    Ok(())
}

/// LeCun initialisation as a Kaiming one: fan_in, gain 1.
const LECUN: Kaiming = Kaiming {
    mode: FanMode::FanIn,
    nonlinearity: Nonlinearity::Linear,
};

/// 2⁻²⁴: the spacing of the 24-bit uniform grid.
const UNIT_24: f64 = 1.0 / (1u64 << 24) as f64;
/// 2⁻⁵³: the spacing of the 53-bit uniform grid.
const UNIT_53: f64 = 1.0 / (1u64 << 53) as f64;
/// A bound on `|z|` from the Box–Muller transform: `√(−2·ln 2⁻⁵³) ≈ 8.5723`.
const Z_MAX: f64 = 8.58;
/// √(2π).
const SQRT_TAU: f64 = 2.506_628_274_631_000_5;
/// The smallest probability `Φ(β)` of a one-sided truncation interval that is sampled:
/// `β ≈ −37`, where `f64` still holds `Φ` with full relative precision.
const MIN_TAIL_MASS: f64 = 1e-300;

/// The product of `dims`, or `DimensionOverflow` (`"shape"`).
fn numel(dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or(Error::DimensionOverflow { what: "shape" })
}

/// Checks `tensor` against `shape` and returns the fans.
fn check_shape(tensor: &[f32], shape: &[usize]) -> Result<(usize, usize)> {
    let fans = fans(shape)?;
    check_len("tensor", tensor.len(), numel(shape)?)?;
    Ok(fans)
}

/// `Ok` when `0 ≤ std` and no value of `N(mean, std²)` from [`fill_normal`] can overflow
/// `f32` (`mean` finite).
fn check_normal_std(what: &'static str, mean: f32, std: f64) -> Result<()> {
    if std >= 0.0 && f64::from(mean).abs() + Z_MAX * std <= f64::from(f32::MAX) {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter { what })
    }
}

/// A standard deviation for [`fill_normal`] with mean 0, rounded to `f32`.
fn normal_std(what: &'static str, std: f64) -> Result<f32> {
    check_normal_std(what, 0.0, std)?;
    Ok(std as f32)
}

/// A symmetric bound for [`fill_uniform`], rounded to `f32`; it must stay finite.
fn uniform_bound(what: &'static str, bound: f64) -> Result<f32> {
    let bound = bound as f32;
    if bound >= 0.0 && bound.is_finite() {
        Ok(bound)
    } else {
        Err(Error::InvalidHyperParameter { what })
    }
}

/// The gain of `nonlinearity` in `f64`; `what` names the leaky slope.
fn gain(nonlinearity: Nonlinearity, what: &'static str) -> Result<f64> {
    Ok(match nonlinearity {
        Nonlinearity::Linear
        | Nonlinearity::Conv1d
        | Nonlinearity::Conv2d
        | Nonlinearity::Conv3d
        | Nonlinearity::ConvTranspose1d
        | Nonlinearity::ConvTranspose2d
        | Nonlinearity::ConvTranspose3d
        | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => SQRT_2,
        Nonlinearity::LeakyRelu { negative_slope } => {
            check_finite(what, negative_slope)?;
            let slope = f64::from(negative_slope);
            crate::simd::sqrt_f64(2.0 / (1.0 + slope * slope))
        }
        Nonlinearity::Selu => 0.75,
    })
}

/// Checks a Kaiming call and returns `gain/√fan` in `f64`, or `None` for an empty tensor.
fn kaiming_std(tensor: &[f32], shape: &[usize], kaiming: Kaiming) -> Result<Option<f64>> {
    let (fan_in, fan_out) = check_shape(tensor, shape)?;
    let gain = gain(kaiming.nonlinearity, "a")?;
    if tensor.is_empty() {
        return Ok(None);
    }
    // Not zero: the tensor has elements, so every dimension is at least 1.
    let fan = match kaiming.mode {
        FanMode::FanIn => fan_in,
        FanMode::FanOut => fan_out,
    };
    Ok(Some(gain / crate::simd::sqrt_f64(fan as f64)))
}

/// Checks a Xavier call and returns `gain·√(2/(fan_in + fan_out))` in `f64`, or `None` for an
/// empty tensor.
fn xavier_std(tensor: &[f32], shape: &[usize], gain: f32) -> Result<Option<f64>> {
    let (fan_in, fan_out) = check_shape(tensor, shape)?;
    check_non_negative("gain", gain)?;
    if tensor.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        f64::from(gain) * crate::simd::sqrt_f64(2.0 / (fan_in as f64 + fan_out as f64)),
    ))
}

/// The two distributions of the variance-scaling initialisers (Xavier, Kaiming, LeCun).
#[derive(Clone, Copy, Debug)]
enum Spread {
    /// `U(−√3·std, √3·std)`.
    Uniform,
    /// `N(0, std²)`.
    Normal,
}

/// Fills `tensor` from `spread` with the standard deviation `std` (`None`: an empty tensor,
/// nothing to do); `what` names the hyper-parameter that made `std` too large for `f32`.
fn fill_scaled<R: Rng + ?Sized>(
    tensor: &mut [f32],
    spread: Spread,
    what: &'static str,
    std: Option<f64>,
    rng: &mut R,
) -> Result<()> {
    let Some(std) = std else {
        return Ok(());
    };
    match spread {
        Spread::Uniform => {
            let bound = uniform_bound(what, crate::simd::sqrt_f64(3.0) * std)?;
            fill_uniform(tensor, -bound, bound, rng);
        }
        Spread::Normal => fill_normal(tensor, 0.0, normal_std(what, std)?, rng),
    }
    Ok(())
}

/// Fills `tensor` with `U(a, b)`, one `next_u32` per value; `a ≤ b`, both finite.
fn fill_uniform<R: Rng + ?Sized>(tensor: &mut [f32], a: f32, b: f32, rng: &mut R) {
    let (lo, width) = (f64::from(a), f64::from(b) - f64::from(a));
    // Values are ≥ a (a is an f32 and rounding is monotone); keep them below b.
    let top = if a < b { b.next_down() } else { b };
    for x in tensor.iter_mut() {
        let u = f64::from(rng.next_u32() >> 8) * UNIT_24;
        *x = ((lo + width * u) as f32).min(top);
    }
}

/// Fills `tensor` with `N(mean, std²)` by Box–Muller, two `next_u64` per pair of values.
fn fill_normal<R: Rng + ?Sized>(tensor: &mut [f32], mean: f32, std: f32, rng: &mut R) {
    let (mean, std) = (f64::from(mean), f64::from(std));
    for pair in tensor.chunks_mut(2) {
        let (z0, z1) = standard_normal_pair(rng);
        for (x, z) in pair.iter_mut().zip([z0, z1]) {
            *x = (mean + std * z) as f32;
        }
    }
}

/// Two independent standard normals by the Box–Muller transform.
fn standard_normal_pair<R: Rng + ?Sized>(rng: &mut R) -> (f64, f64) {
    // u1 ∈ (0, 1]: ln u1 is finite and ≤ 0.
    let u1 = ((rng.next_u64() >> 11) + 1) as f64 * UNIT_53;
    let u2 = (rng.next_u64() >> 11) as f64 * UNIT_53;
    let r = crate::simd::sqrt_f64(-2.0 * libm::log(u1));
    let (sin, cos) = libm::sincos(TAU * u2);
    (r * cos, r * sin)
}

/// The standard normal CDF, `Φ(x) = ½·erfc(−x/√2)`: full relative precision for `x < 0`.
fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * FRAC_1_SQRT_2)
}

/// Acklam's rational approximation of `Φ⁻¹(p)` for `0 < p < 1`, relative error < 1.2·10⁻⁹.
fn probit_acklam(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.02425;
    // The lower tail; the upper one by symmetry.
    let tail = |p: f64| {
        let q = crate::simd::sqrt_f64(-2.0 * libm::log(p));
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail(p)
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail(1.0 - p)
    }
}

/// `Φ⁻¹(p)`: Acklam's approximation and one Halley step on `Φ`; `−∞` for `p ≤ 0`, `+∞` for
/// `p ≥ 1`, never NaN for a non-NaN `p`.
fn probit(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let x = probit_acklam(p);
    // Halley on f(x) = Φ(x) − p: f' = φ(x), f''/f' = −x.
    let u = (norm_cdf(x) - p) * SQRT_TAU * libm::exp(0.5 * x * x);
    let refined = x - u / (1.0 + 0.5 * x * u);
    // exp overflows only for p below ~1e-309, where the approximation is kept.
    if refined.is_finite() {
        refined
    } else {
        x
    }
}

/// A checked normal distribution truncated to `[a, b]`, ready to sample by inverse CDF.
struct TruncatedNormal {
    mean: f64,
    std: f64,
    a: f32,
    b: f32,
    /// The standardised interval `[alpha, beta]` that is sampled (mirrored when `flip`).
    alpha: f64,
    beta: f64,
    /// `Φ(alpha)` and `Φ(beta) − Φ(alpha)`.
    p_lo: f64,
    p_width: f64,
    /// Whether the sampled interval is the mirror image `[−β, −α]` of the real one.
    flip: bool,
}

impl TruncatedNormal {
    fn new(mean: f32, std: f32, a: f32, b: f32) -> Result<Self> {
        check_finite("mean", mean)?;
        if std <= 0.0 || !std.is_finite() {
            return Err(Error::InvalidHyperParameter { what: "std" });
        }
        check_finite("a", a)?;
        check_finite("b", b)?;
        if b < a {
            return Err(Error::InvalidHyperParameter { what: "b" });
        }
        let (mean64, std64) = (f64::from(mean), f64::from(std));
        let alpha = (f64::from(a) - mean64) / std64;
        let beta = (f64::from(b) - mean64) / std64;
        // Sample the side of the mean where the interval's CDF values are small.
        let flip = alpha + beta > 0.0;
        let (alpha, beta) = if flip { (-beta, -alpha) } else { (alpha, beta) };
        let (p_lo, p_hi) = (norm_cdf(alpha), norm_cdf(beta));
        // p_hi is a number: alpha and beta are finite.
        if a < b && p_hi < MIN_TAIL_MASS {
            return Err(Error::InvalidHyperParameter {
                what: if flip { "a" } else { "b" },
            });
        }
        Ok(TruncatedNormal {
            mean: mean64,
            std: std64,
            a,
            b,
            alpha,
            beta,
            p_lo,
            p_width: p_hi - p_lo,
            flip,
        })
    }

    /// One value from one generator word.
    fn sample(&self, bits: u64) -> f32 {
        if self.a == self.b {
            return self.a;
        }
        // u ∈ (0, 1): p > 0 (p_lo ≥ 0, and p_width > 0 unless the interval is too narrow
        // for f64, where the clamps below take over).
        let u = ((bits >> 11) as f64 + 0.5) * UNIT_53;
        let z = probit(self.p_lo + u * self.p_width)
            .max(self.alpha)
            .min(self.beta);
        let z = if self.flip { -z } else { z };
        ((self.mean + self.std * z) as f32).max(self.a).min(self.b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `probit` inverts `Φ` to a few ulps, and Acklam's approximation is as accurate as
    /// published (which checks its coefficients).
    #[test]
    fn probit_inverts_the_cdf() {
        let eps = f64::EPSILON;
        let mut worst_acklam = 0.0f64;
        // p from 1e-300 to 1 − 1e-16, log-spaced in both tails, and a fine grid in between.
        let mut ps = std::vec::Vec::new();
        for k in 0..3000 {
            let p = libm::pow(10.0, -300.0 + f64::from(k) * 0.1);
            ps.extend([p, 1.0 - p]);
        }
        ps.extend((1..10_000).map(|k| f64::from(k) / 10_000.0));
        for p in ps.into_iter().filter(|&p| p > 0.0 && p < 1.0) {
            let x = probit(p);
            // Half an ulp of x moves Φ by a relative ε/2·|x|·φ(x)/Φ(x) ≲ ε/2·(x² + 1), and Φ
            // (libm's erfc) is good to about an ulp: allow 4ε·(x² + 1) relative. Above the
            // median Φ(x) − p has an absolute error ε/2, which is ε/(2q) relative to q = 1 − p.
            let (q, cdf, allowed) = if x < 0.0 {
                (p, norm_cdf(x), 4.0 * eps * (x * x + 1.0))
            } else {
                (
                    1.0 - p,
                    norm_cdf(-x),
                    4.0 * eps * (x * x + 1.0) + 2.0 * eps / (1.0 - p),
                )
            };
            let err = (cdf - q).abs() / q;
            assert!(err <= allowed, "p = {p:e}: Φ(probit(p)) off by {err:e}");
            if x != 0.0 {
                worst_acklam = worst_acklam.max(((probit_acklam(p) - x) / x).abs());
            }
        }
        assert!(worst_acklam < 1.2e-9, "Acklam's error {worst_acklam:e}");
        assert_eq!(probit(0.5), 0.0);
        // Below ~1e-309 the Halley step overflows and Acklam's value is kept: still finite.
        for p in [1e-310, 5e-317, 5e-324] {
            let x = probit(p);
            assert!(x.is_finite() && x < -37.0, "probit({p:e}) = {x}");
        }
        assert_eq!(probit(0.0), f64::NEG_INFINITY);
        assert_eq!(probit(1.0), f64::INFINITY);
    }
}
