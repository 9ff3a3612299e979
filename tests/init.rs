//! Weight initialisation (`descent::init`): the distributions (moments, bounds,
//! Kolmogorov–Smirnov), torch's fans and gains, the documented sampling formulas, determinism,
//! and every error path.
//!
//! Statistical checks use ≥ 100 000 values and fixed seeds, so they are deterministic. A
//! sample mean must lie within 5 standard errors `σ/√n` of the exact mean, and a sample
//! variance `s²` within 5 standard errors `√((μ₄ − σ⁴·(n−3)/(n−1))/n)` of the exact
//! variance, with `μ₄` the exact fourth central moment. For a correct sampler each check fails
//! with probability 5.7·10⁻⁷ (two-sided normal tail at 5σ), so the few hundred checks here
//! would all pass for any seed with probability above 0.999. A standard deviation off by 2 %
//! moves the variance by 4 %, about 9 standard errors at n = 100 000 (the relative standard
//! error of `s²` is √(2/n) = 0.45 % for a normal, less for a uniform).
//!
//! The Kolmogorov–Smirnov checks compare the whole empirical CDF with the exact one at
//! significance 0.001.

use core::convert::Infallible;
use std::f64::consts::{FRAC_1_SQRT_2, PI, SQRT_2, TAU};

use descent::init::{self, FanMode, Kaiming, Nonlinearity};
use descent::Error;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng, TryRng};

/// The least number of values behind each statistical check.
const N_MIN: usize = 100_000;
/// Standard errors allowed for a sample mean or variance (see the header).
const K_SE: f64 = 5.0;
/// The Kolmogorov–Smirnov critical value `√n·D` at significance 0.001 (asymptotic:
/// `√(−ln(0.001/2)/2)`).
const KS_CRIT: f64 = 1.9495;

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// A generator that counts the words drawn from it.
struct Counting {
    inner: Xoshiro256PlusPlus,
    u32s: usize,
    u64s: usize,
}

impl Counting {
    fn new(seed: u64) -> Self {
        Counting {
            inner: rng(seed),
            u32s: 0,
            u64s: 0,
        }
    }
}

impl TryRng for Counting {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.u32s += 1;
        Ok(self.inner.next_u32())
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.u64s += 1;
        Ok(self.inner.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        panic!("fill_bytes drew {} bytes: init uses words only", dst.len());
    }
}

/// A generator that always returns the same word: the extremes of every sampler's input.
struct Constant(u64);

impl TryRng for Constant {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.0 as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        dst.fill(self.0 as u8);
        Ok(())
    }
}

// ----------------------------------------------------------------------------------------
// Reference distributions

/// Standard normal density.
fn pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (TAU).sqrt()
}

/// Standard normal CDF, accurate in the lower tail.
fn cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * FRAC_1_SQRT_2)
}

/// Standard normal survival function `1 − Φ(x)`, accurate in the upper tail.
fn sf(x: f64) -> f64 {
    0.5 * libm::erfc(x * FRAC_1_SQRT_2)
}

/// The exact mean, variance and fourth central moment of a distribution, and its CDF.
struct Dist {
    mean: f64,
    var: f64,
    mu4: f64,
    cdf: Box<dyn Fn(f64) -> f64>,
}

fn uniform_dist(a: f64, b: f64) -> Dist {
    let w = b - a;
    Dist {
        mean: 0.5 * (a + b),
        var: w * w / 12.0,
        mu4: w.powi(4) / 80.0,
        cdf: Box::new(move |x| ((x - a) / w).clamp(0.0, 1.0)),
    }
}

fn normal_dist(mean: f64, std: f64) -> Dist {
    Dist {
        mean,
        var: std * std,
        mu4: 3.0 * std.powi(4),
        cdf: Box::new(move |x| cdf((x - mean) / std)),
    }
}

/// Simpson's rule with `n` (even) panels.
fn simpson(lo: f64, hi: f64, n: usize, f: impl Fn(f64) -> f64) -> f64 {
    let h = (hi - lo) / n as f64;
    let inner: f64 = (1..n)
        .map(|i| f(lo + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
        .sum();
    (f(lo) + f(hi) + inner) * h / 3.0
}

/// `N(mean, std²)` truncated to `[a, b]`, on the standardised interval `[α, β]`.
///
/// The mean is the closed form `mean + std·(φ(α) − φ(β))/Z`, `Z = Φ(β) − Φ(α)` taken from
/// the tail where it is accurate. The central moments come from Simpson's rule about that
/// mean (20 000 panels over `[α, β]` clipped to ±40, where the density is below 10⁻³⁴⁷),
/// because the raw-moment recursion `m_k = (k−1)·m_{k−2} + (α^{k−1}φ(α) − β^{k−1}φ(β))/Z`
/// cancels catastrophically on narrow intervals; the closed-form variance
/// `1 + (αφ(α) − βφ(β))/Z − m₁²` must agree with it wherever it is well conditioned.
fn trunc_normal_dist(mean: f64, std: f64, a: f64, b: f64) -> Dist {
    let (alpha, beta) = ((a - mean) / std, (b - mean) / std);
    let upper = alpha + beta > 0.0;
    let z = if upper {
        sf(alpha) - sf(beta)
    } else {
        cdf(beta) - cdf(alpha)
    };
    // x^k·φ(x), 0 where φ underflows (x = ±100 would give 0·huge otherwise).
    let edge = |x: f64, k: i32| {
        let d = pdf(x);
        if d == 0.0 {
            0.0
        } else {
            x.powi(k) * d
        }
    };
    let m1 = (edge(alpha, 0) - edge(beta, 0)) / z;
    let m2 = 1.0 + (edge(alpha, 1) - edge(beta, 1)) / z;

    let (lo, hi) = (alpha.max(-40.0), beta.min(40.0));
    let moment = |k: i32| simpson(lo, hi, 20_000, |x| (x - m1).powi(k) * pdf(x));
    let m0 = moment(0);
    let var = moment(2) / m0;
    let mu4 = moment(4) / m0;
    let closed_var = m2 - m1 * m1;
    assert!(
        (closed_var - var).abs() <= 1e-6 * var + 1e-12 * m2,
        "[{alpha}, {beta}]: variance {var} by quadrature, {closed_var} closed form"
    );
    Dist {
        mean: mean + std * m1,
        var: var * std * std,
        mu4: mu4 * std.powi(4),
        cdf: Box::new(move |x| {
            let s = ((x - mean) / std).clamp(alpha, beta);
            if upper {
                (sf(alpha) - sf(s)) / z
            } else {
                (cdf(s) - cdf(alpha)) / z
            }
        }),
    }
}

// ----------------------------------------------------------------------------------------
// Checks

/// Calls `fill` on fresh `len`-long tensors (continuing one generator) until at least
/// `N_MIN` values are drawn.
fn draw(
    seed: u64,
    len: usize,
    mut fill: impl FnMut(&mut [f32], &mut Xoshiro256PlusPlus),
) -> Vec<f32> {
    let mut r = rng(seed);
    let mut all = Vec::with_capacity(N_MIN + len);
    let mut t = vec![f32::NAN; len];
    while all.len() < N_MIN {
        fill(&mut t, &mut r);
        all.extend_from_slice(&t);
    }
    all
}

/// Sample mean and variance (divisor n − 1) against the exact ones.
fn check_moments(xs: &[f32], d: &Dist, label: &str) {
    let n = xs.len() as f64;
    assert!(
        xs.iter().all(|x| x.is_finite()),
        "{label}: non-finite value"
    );
    let mean = xs.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = xs
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    let se_mean = (d.var / n).sqrt();
    let se_var = ((d.mu4 - d.var * d.var * (n - 3.0) / (n - 1.0)) / n).sqrt();
    assert!(
        (mean - d.mean).abs() <= K_SE * se_mean,
        "{label}: mean {mean} vs {} (se {se_mean:e})",
        d.mean
    );
    assert!(
        (var - d.var).abs() <= K_SE * se_var,
        "{label}: variance {var} vs {} (se {se_var:e}, {:.2} se off)",
        d.var,
        (var - d.var) / se_var
    );
}

/// The Kolmogorov–Smirnov statistic `√n·sup|F_n − F|` is below the 0.001 critical value.
fn check_ks(xs: &[f32], d: &Dist, label: &str) {
    let mut xs = xs.to_vec();
    xs.sort_by(f32::total_cmp);
    let n = xs.len() as f64;
    let mut sup = 0.0f64;
    for (i, &x) in xs.iter().enumerate() {
        let f = (d.cdf)(f64::from(x));
        sup = sup.max(f - i as f64 / n).max((i + 1) as f64 / n - f);
    }
    let stat = n.sqrt() * sup;
    assert!(stat < KS_CRIT, "{label}: KS √n·D = {stat}");
}

/// Every value is in `[lo, hi)` (`[lo, hi]` when `closed`), and both ends are approached to
/// 0.1 % of the width: a sampler that shrinks the range fails (for U(lo, hi), the chance
/// that no value of 100 000 falls in the last 0.1 % at one end is (1 − 0.001)^100000 ≈ e⁻¹⁰⁰).
fn check_range(xs: &[f32], lo: f32, hi: f32, closed: bool, label: &str) {
    for &x in xs {
        assert!(
            x >= lo && (x < hi || (closed && x == hi)),
            "{label}: {x} outside [{lo}, {hi})"
        );
    }
    let slack = 1e-3 * (f64::from(hi) - f64::from(lo));
    let min = xs.iter().copied().fold(f32::INFINITY, f32::min);
    let max = xs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    assert!(
        f64::from(min) - f64::from(lo) < slack,
        "{label}: min {min} far from {lo}"
    );
    assert!(
        f64::from(hi) - f64::from(max) < slack,
        "{label}: max {max} far from {hi}"
    );
}

/// Shapes with their fans computed by hand: a dense weight `[out, in]`, a small dense one,
/// a 3×3 convolution `[16, 3, 3, 3]`, and a 1-d convolution `[8, 4, 5]`.
const SHAPES: [(&[usize], usize, usize); 4] = [
    (&[128, 784], 784, 128),
    (&[10, 32], 32, 10),
    (&[16, 3, 3, 3], 27, 144),
    (&[8, 4, 5], 20, 40),
];

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

// ----------------------------------------------------------------------------------------
// torch's fans and gains

#[test]
fn fans_match_torch() {
    for (shape, fan_in, fan_out) in SHAPES {
        assert_eq!(init::fans(shape), Ok((fan_in, fan_out)), "{shape:?}");
    }
    // torch.nn.init._calculate_fan_in_and_fan_out on these shapes.
    assert_eq!(init::fans(&[3, 5]), Ok((5, 3)));
    assert_eq!(init::fans(&[64, 32, 3, 3, 3]), Ok((864, 1728)));
    assert_eq!(init::fans(&[1, 1, 1]), Ok((1, 1)));
    assert_eq!(init::fans(&[0, 5]), Ok((5, 0)));
    assert_eq!(init::fans(&[4, 0, 3]), Ok((0, 12)));
    assert_eq!(init::fans(&[4, 2, 0]), Ok((0, 0)));
    for shape in [&[][..], &[7]] {
        assert_eq!(
            init::fans(shape),
            Err(Error::LengthMismatch {
                what: "shape",
                expected: 2,
                actual: shape.len()
            })
        );
    }
    let overflow = Err(Error::DimensionOverflow { what: "shape" });
    assert_eq!(init::fans(&[2, 3, usize::MAX, 2]), overflow);
    assert_eq!(init::fans(&[usize::MAX, 1, 2]), overflow);
    assert_eq!(init::fans(&[1, usize::MAX, 2]), overflow);
    assert_eq!(
        init::fans(&[usize::MAX, usize::MAX]),
        Ok((usize::MAX, usize::MAX))
    );
}

#[test]
fn gains_match_torch() {
    // torch.nn.init.calculate_gain(name[, param]) in float64, rounded to f32 (torch's
    // relu gain, math.sqrt(2.0) = 1.4142135623730951, is SQRT_2).
    let table: [(Nonlinearity, f64); 16] = [
        (Nonlinearity::Linear, 1.0),
        (Nonlinearity::Conv1d, 1.0),
        (Nonlinearity::Conv2d, 1.0),
        (Nonlinearity::Conv3d, 1.0),
        (Nonlinearity::ConvTranspose1d, 1.0),
        (Nonlinearity::ConvTranspose2d, 1.0),
        (Nonlinearity::ConvTranspose3d, 1.0),
        (Nonlinearity::Sigmoid, 1.0),
        (Nonlinearity::Tanh, 1.6666666666666667),
        (Nonlinearity::Relu, SQRT_2),
        (Nonlinearity::LEAKY_RELU, 1.4141428569978354),
        (
            Nonlinearity::LeakyRelu {
                negative_slope: 0.0,
            },
            SQRT_2,
        ),
        (
            Nonlinearity::LeakyRelu {
                negative_slope: 0.2,
            },
            1.3867504905630728,
        ),
        (
            Nonlinearity::LeakyRelu {
                negative_slope: -0.5,
            },
            1.2649110640673518,
        ),
        (
            Nonlinearity::LeakyRelu {
                negative_slope: 1.0,
            },
            1.0,
        ),
        (Nonlinearity::Selu, 0.75),
    ];
    for (nl, want) in table {
        assert_eq!(init::calculate_gain(nl), Ok(want as f32), "{nl:?}");
    }
    // a = √5, as nn.Linear: √(2/6) = 1/√3.
    let linear = Nonlinearity::LeakyRelu {
        negative_slope: 5f32.sqrt(),
    };
    let g = init::calculate_gain(linear).unwrap();
    assert!((f64::from(g) - 1.0 / 3f64.sqrt()).abs() <= f64::from(f32::EPSILON) * 0.5);
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert_eq!(
            init::calculate_gain(Nonlinearity::LeakyRelu {
                negative_slope: bad
            }),
            Err(Error::InvalidHyperParameter { what: "param" })
        );
    }
    assert_eq!(
        Nonlinearity::LEAKY_RELU,
        Nonlinearity::LeakyRelu {
            negative_slope: 0.01
        }
    );
    assert_eq!(
        Kaiming::default(),
        Kaiming {
            mode: FanMode::FanIn,
            nonlinearity: Nonlinearity::LeakyRelu {
                negative_slope: 0.0
            }
        }
    );
}

// ----------------------------------------------------------------------------------------
// Plain distributions

#[test]
fn uniform_distribution() {
    for (seed, (a, b)) in [(0.0f32, 1.0f32), (-3.0, 5.0), (-1e-3, 1e-3), (100.0, 101.0)]
        .into_iter()
        .enumerate()
    {
        let label = format!("uniform({a}, {b})");
        let xs = draw(seed as u64, 1000, |t, r| init::uniform(t, a, b, r).unwrap());
        let d = uniform_dist(f64::from(a), f64::from(b));
        check_range(&xs, a, b, false, &label);
        check_moments(&xs, &d, &label);
        check_ks(&xs, &d, &label);
    }
}

#[test]
fn uniform_stays_below_b_at_the_extremes() {
    // The largest word maps to 1 − 2⁻²⁴, which rounds up to b on a one-ulp interval.
    let a = 1.0f32;
    let b = a.next_up();
    let mut t = [0.0f32; 5];
    init::uniform(&mut t, a, b, &mut Constant(u64::MAX)).unwrap();
    assert_eq!(t, [a; 5]);
    for (a, b) in [(-f32::MAX, f32::MAX), (-1.0, 1.0), (0.0, 1e-30)] {
        for word in [0, u64::MAX, 1 << 63] {
            init::uniform(&mut t, a, b, &mut Constant(word)).unwrap();
            assert!(
                t.iter().all(|&x| x >= a && x < b),
                "[{a}, {b}) word {word:x}: {t:?}"
            );
        }
    }
    init::uniform(&mut t, 2.5, 2.5, &mut rng(1)).unwrap();
    assert_eq!(t, [2.5; 5]);
}

#[test]
fn normal_distribution() {
    for (seed, (mean, std)) in [(0.0f32, 1.0f32), (3.0, 0.5), (-2.0, 1e-3), (0.0, 40.0)]
        .into_iter()
        .enumerate()
    {
        let label = format!("normal({mean}, {std})");
        // Odd length: each call ends with half a Box–Muller pair.
        let xs = draw(10 + seed as u64, 999, |t, r| {
            init::normal(t, mean, std, r).unwrap()
        });
        let d = normal_dist(f64::from(mean), f64::from(std));
        check_moments(&xs, &d, &label);
        check_ks(&xs, &d, &label);
    }
}

/// The standard normal sampler in detail: tail frequencies, and no correlation between the
/// two halves of a Box–Muller pair or between consecutive pairs.
#[test]
fn normal_tails_and_independence() {
    let mut r = rng(99);
    let mut z = vec![0.0f32; 400_000];
    init::normal(&mut z, 0.0, 1.0, &mut r).unwrap();
    let n = z.len() as f64;
    for k in [1.0f64, 2.0, 3.0, 4.0] {
        // P(|Z| > k) = erfc(k/√2); the count is binomial.
        let p = libm::erfc(k * FRAC_1_SQRT_2);
        let count = z.iter().filter(|&&x| f64::from(x).abs() > k).count() as f64;
        let se = (n * p * (1.0 - p)).sqrt();
        assert!(
            (count - n * p).abs() <= K_SE * se,
            "P(|Z| > {k}): {count} vs {} (se {se})",
            n * p
        );
    }
    // Sample correlations of independent pairs have standard error 1/√m.
    for lag in [1usize, 2, 3] {
        let pairs: Vec<(f64, f64)> = z
            .iter()
            .zip(&z[lag..])
            .map(|(&x, &y)| (f64::from(x), f64::from(y)))
            .collect();
        let m = pairs.len() as f64;
        let corr = pairs.iter().map(|(x, y)| x * y).sum::<f64>() / m;
        assert!(
            corr.abs() <= K_SE / m.sqrt(),
            "lag-{lag} correlation {corr}"
        );
    }
    // r² = −2 ln u₁ is exponential with mean 2: the radius of each pair.
    let r2: Vec<f64> = z
        .chunks_exact(2)
        .map(|p| f64::from(p[0]).powi(2) + f64::from(p[1]).powi(2))
        .collect();
    let m = r2.len() as f64;
    let mean = r2.iter().sum::<f64>() / m;
    assert!((mean - 2.0).abs() <= K_SE * 2.0 / m.sqrt(), "E r² = {mean}");
}

#[test]
fn normal_is_finite_at_the_extremes() {
    let mut t = [0.0f32; 6];
    // Word 0 gives u₁ = 2⁻⁵³, the largest radius √(106·ln 2) ≈ 8.5723.
    init::normal(&mut t, 0.0, 1.0, &mut Constant(0)).unwrap();
    let r_max = (-2.0 * (2f64).powi(-53).ln()).sqrt();
    assert!(
        (f64::from(t[0]) - r_max).abs() < 1e-6 && t[1] == 0.0,
        "{t:?}"
    );
    // The largest word gives u₁ = 1: radius 0.
    init::normal(&mut t, 1.5, 2.0, &mut Constant(u64::MAX)).unwrap();
    assert_eq!(t, [1.5; 6]);
    init::normal(&mut t, -4.0, 0.0, &mut rng(3)).unwrap();
    assert_eq!(t, [-4.0; 6]);
    // The largest std accepted cannot overflow.
    let std = f32::MAX / 8.6;
    init::normal(&mut t, 0.0, std, &mut Constant(0)).unwrap();
    assert!(t.iter().all(|x| x.is_finite()), "{t:?}");
}

/// The truncated normal against its exact moments and CDF, on intervals that straddle the
/// mean, lie above it (mirrored sampling), below it, far in a tail, are narrow, or barely
/// truncate (timm's `std = 0.02` with torch's default `[−2, 2]`).
#[test]
fn trunc_normal_distribution() {
    let cases: [(f32, f32, f32, f32); 10] = [
        (0.0, 1.0, -2.0, 2.0),
        (0.5, 2.0, -1.0, 3.0),
        (0.0, 1.0, 0.5, 3.0),
        (0.0, 1.0, -4.0, -3.0),
        (0.0, 0.02, -2.0, 2.0),
        (1.0, 1.0, 6.0, 7.0),
        (0.0, 1.0, -30.0, -29.5),
        (0.0, 1.0, 1.0, 1.001),
        (0.0, 1.0, 0.0, 10.0),
        (10.0, 1.0, 8.0, 8.5),
    ];
    for (seed, (mean, std, a, b)) in cases.into_iter().enumerate() {
        let label = format!("trunc_normal({mean}, {std}, {a}, {b})");
        let xs = draw(20 + seed as u64, 1001, |t, r| {
            init::trunc_normal(t, mean, std, a, b, r).unwrap()
        });
        assert!(
            xs.iter().all(|&x| x >= a && x <= b),
            "{label}: outside [a, b]"
        );
        let d = trunc_normal_dist(f64::from(mean), f64::from(std), f64::from(a), f64::from(b));
        check_moments(&xs, &d, &label);
        check_ks(&xs, &d, &label);
    }
}

#[test]
fn trunc_normal_stays_inside_at_the_extremes() {
    let mut t = [0.0f32; 4];
    for (mean, std, a, b) in [
        (0.0f32, 1.0f32, -2.0f32, 2.0f32),
        (0.0, 1.0, 5.0, 30.0),
        (0.0, 1.0, -36.0, -35.0),
        (0.0, 1e-3, -1.0, 1.0),
        (3.0, 1e-30, 3.0, 3.0f32.next_up()),
    ] {
        for word in [0, 1, u64::MAX, 1 << 63] {
            init::trunc_normal(&mut t, mean, std, a, b, &mut Constant(word)).unwrap();
            assert!(
                t.iter().all(|&x| x >= a && x <= b),
                "({mean}, {std}, {a}, {b}) word {word:x}: {t:?}"
            );
        }
    }
    init::trunc_normal(&mut t, 0.0, 1.0, 50.0, 50.0, &mut rng(1)).unwrap();
    assert_eq!(t, [50.0; 4]);
}

#[test]
fn constant_zeros_ones() {
    let mut t = [7.0f32; 9];
    init::constant(&mut t, -0.25).unwrap();
    assert_eq!(t, [-0.25; 9]);
    init::zeros(&mut t);
    assert!(t.iter().all(|x| x.to_bits() == 0));
    init::ones(&mut t);
    assert_eq!(t, [1.0; 9]);
}

// ----------------------------------------------------------------------------------------
// Fan-scaled schemes

/// `U(−B, B)` with `B` as documented, rounded to f32: range, moments and CDF.
fn check_uniform_scheme(xs: &[f32], bound: f64, label: &str) {
    let b = bound as f32;
    check_range(xs, -b, b, false, label);
    let d = uniform_dist(-f64::from(b), f64::from(b));
    check_moments(xs, &d, label);
    check_ks(xs, &d, label);
}

fn check_normal_scheme(xs: &[f32], std: f64, label: &str) {
    let d = normal_dist(0.0, std);
    check_moments(xs, &d, label);
    check_ks(xs, &d, label);
}

#[test]
fn xavier() {
    let mut seed = 30;
    for (shape, fan_in, fan_out) in SHAPES {
        for gain in [1.0f32, 5.0 / 3.0] {
            seed += 2;
            let label = format!("xavier_uniform({shape:?}, gain {gain})");
            let fans = (fan_in + fan_out) as f64;
            let xs = draw(seed, numel(shape), |t, r| {
                init::xavier_uniform(t, shape, gain, r).unwrap()
            });
            check_uniform_scheme(&xs, f64::from(gain) * (6.0 / fans).sqrt(), &label);

            let label = format!("xavier_normal({shape:?}, gain {gain})");
            let xs = draw(seed + 1, numel(shape), |t, r| {
                init::xavier_normal(t, shape, gain, r).unwrap()
            });
            check_normal_scheme(&xs, f64::from(gain) * (2.0 / fans).sqrt(), &label);
        }
    }
}

#[test]
fn kaiming() {
    // (nonlinearity, torch's gain): the default (leaky_relu, a = 0), and others; the leaky
    // gain √(2/(1 + a²)) of the f32 slope.
    let slope = f64::from(0.2f32);
    let nonlinearities = [
        (Kaiming::default().nonlinearity, SQRT_2),
        (Nonlinearity::Relu, SQRT_2),
        (
            Nonlinearity::LeakyRelu {
                negative_slope: 0.2,
            },
            (2.0 / (1.0 + slope * slope)).sqrt(),
        ),
        (Nonlinearity::Tanh, 5.0 / 3.0),
        (Nonlinearity::Selu, 0.75),
        (Nonlinearity::Linear, 1.0),
    ];
    let mut seed = 50;
    for (shape, fan_in, fan_out) in SHAPES {
        for (mode, fan) in [(FanMode::FanIn, fan_in), (FanMode::FanOut, fan_out)] {
            for (nonlinearity, gain) in nonlinearities {
                seed += 1;
                let k = Kaiming { mode, nonlinearity };
                let std = gain / (fan as f64).sqrt();
                let label = format!("kaiming_uniform({shape:?}, {mode:?}, {nonlinearity:?})");
                let xs = draw(seed, numel(shape), |t, r| {
                    init::kaiming_uniform(t, shape, k, r).unwrap()
                });
                // As documented: B = √3·(gain/√fan).
                let bound = 3f64.sqrt() * std;
                check_uniform_scheme(&xs, bound, &label);

                let label = format!("kaiming_normal({shape:?}, {mode:?}, {nonlinearity:?})");
                let xs = draw(seed + 1000, numel(shape), |t, r| {
                    init::kaiming_normal(t, shape, k, r).unwrap()
                });
                check_normal_scheme(&xs, std, &label);
            }
        }
    }
}

#[test]
fn lecun() {
    for (i, (shape, fan_in, _)) in SHAPES.into_iter().enumerate() {
        let std = 1.0 / (fan_in as f64).sqrt();
        let label = format!("lecun_uniform({shape:?})");
        let xs = draw(200 + i as u64, numel(shape), |t, r| {
            init::lecun_uniform(t, shape, r).unwrap()
        });
        check_uniform_scheme(&xs, 3f64.sqrt() * std, &label);

        let label = format!("lecun_normal({shape:?})");
        let xs = draw(210 + i as u64, numel(shape), |t, r| {
            init::lecun_normal(t, shape, r).unwrap()
        });
        check_normal_scheme(&xs, std, &label);
    }
}

#[test]
fn dense_default_is_torch_linear() {
    for (i, (n_in, n_out)) in [(784usize, 128usize), (32, 10), (3, 1)]
        .into_iter()
        .enumerate()
    {
        let bound = 1.0 / (n_in as f64).sqrt();
        let (mut w, mut b) = (vec![0.0f32; n_in * n_out], vec![0.0f32; n_out]);
        let (mut ws, mut bs) = (Vec::new(), Vec::new());
        let mut r = rng(300 + i as u64);
        while ws.len() < N_MIN || bs.len() < N_MIN {
            init::dense_default(&mut w, Some(&mut b), n_in, n_out, &mut r).unwrap();
            ws.extend_from_slice(&w);
            bs.extend_from_slice(&b);
        }
        check_uniform_scheme(&ws, bound, &format!("Linear({n_in}, {n_out}).weight"));
        check_uniform_scheme(&bs, bound, &format!("Linear({n_in}, {n_out}).bias"));
    }
}

/// `dense_default` is `uniform(weight, −B, B)` then `uniform(bias, −B, B)` on one stream, and
/// its weight is torch's `kaiming_uniform_(weight, a=√5)` (bounds equal to an ulp).
#[test]
fn dense_default_stream() {
    let (n_in, n_out) = (20, 7);
    let bound = (1.0 / (n_in as f64).sqrt()) as f32;
    let (mut w, mut b) = ([0.0f32; 140], [0.0f32; 7]);
    init::dense_default(&mut w, Some(&mut b), n_in, n_out, &mut rng(5)).unwrap();
    let (mut w2, mut b2) = ([0.0f32; 140], [0.0f32; 7]);
    let mut r = rng(5);
    init::uniform(&mut w2, -bound, bound, &mut r).unwrap();
    init::uniform(&mut b2, -bound, bound, &mut r).unwrap();
    assert_eq!(w.map(f32::to_bits), w2.map(f32::to_bits));
    assert_eq!(b.map(f32::to_bits), b2.map(f32::to_bits));

    // Without a bias the weight is the same.
    let mut w3 = [0.0f32; 140];
    init::dense_default(&mut w3, None, n_in, n_out, &mut rng(5)).unwrap();
    assert_eq!(w.map(f32::to_bits), w3.map(f32::to_bits));

    let torch = Kaiming {
        nonlinearity: Nonlinearity::LeakyRelu {
            negative_slope: 5f32.sqrt(),
        },
        ..Kaiming::default()
    };
    let mut wk = [0.0f32; 140];
    init::kaiming_uniform(&mut wk, &[n_out, n_in], torch, &mut rng(5)).unwrap();
    let ulp = f64::from(bound.next_up() - bound);
    for (x, y) in w.iter().zip(&wk) {
        assert!(
            (f64::from(*x) - f64::from(*y)).abs() <= 2.0 * ulp,
            "{x} vs {y}"
        );
    }

    // in_features = 0: an empty weight and a zero bias, as torch (bound 0).
    let mut b = [5.0f32; 3];
    init::dense_default(&mut [], Some(&mut b), 0, 3, &mut rng(5)).unwrap();
    assert_eq!(b, [0.0; 3]);
}

// ----------------------------------------------------------------------------------------
// The documented formulas, the stream, determinism

/// `uniform` and `normal` are exactly the documented formulas on the generator's words, at
/// every length 0..=70 (odd lengths end with half a Box–Muller pair).
#[test]
fn documented_formulas() {
    let unit24 = (2f64).powi(-24);
    let unit53 = (2f64).powi(-53);
    for len in 0..=70 {
        let (a, b) = (-0.75f32, 2.5f32);
        let mut t = vec![0.0f32; len];
        init::uniform(&mut t, a, b, &mut rng(len as u64)).unwrap();
        let mut r = rng(len as u64);
        let want: Vec<f32> = (0..len)
            .map(|_| {
                let u = f64::from(r.next_u32() >> 8) * unit24;
                ((f64::from(a) + (f64::from(b) - f64::from(a)) * u) as f32).min(b.next_down())
            })
            .collect();
        assert_eq!(bits(&t), bits(&want), "uniform, len {len}");

        let (mean, std) = (0.5f32, 1.25f32);
        init::normal(&mut t, mean, std, &mut rng(len as u64)).unwrap();
        let mut r = rng(len as u64);
        let mut want = Vec::new();
        while want.len() < len {
            let u1 = ((r.next_u64() >> 11) + 1) as f64 * unit53;
            let u2 = (r.next_u64() >> 11) as f64 * unit53;
            let radius = libm::sqrt(-2.0 * libm::log(u1));
            let theta = 2.0 * PI * u2;
            for z in [radius * libm::cos(theta), radius * libm::sin(theta)] {
                want.push((f64::from(mean) + f64::from(std) * z) as f32);
            }
        }
        want.truncate(len);
        assert_eq!(bits(&t), bits(&want), "normal, len {len}");
    }
}

fn bits(xs: &[f32]) -> Vec<u32> {
    xs.iter().map(|x| x.to_bits()).collect()
}

/// The words each function draws: one `next_u32` per uniform value, two `next_u64` per pair
/// of normal values, one `next_u64` per truncated-normal value; nothing for empty tensors.
#[test]
fn words_drawn() {
    for len in [0usize, 1, 2, 7, 64] {
        let shape = [len, 1];
        let pairs = len.div_ceil(2);
        let mut t = vec![0.0f32; len];
        let count = |f: &mut dyn FnMut(&mut [f32], &mut Counting)| {
            let mut c = Counting::new(1);
            let mut t = vec![0.0f32; len];
            f(&mut t, &mut c);
            (c.u32s, c.u64s)
        };
        assert_eq!(
            count(&mut |t, r| init::uniform(t, 0.0, 1.0, r).unwrap()),
            (len, 0)
        );
        assert_eq!(
            count(&mut |t, r| init::normal(t, 0.0, 1.0, r).unwrap()),
            (0, 2 * pairs)
        );
        assert_eq!(
            count(&mut |t, r| init::trunc_normal(t, 0.0, 1.0, -2.0, 2.0, r).unwrap()),
            (0, len)
        );
        assert_eq!(
            count(&mut |t, r| init::xavier_uniform(t, &shape, 1.0, r).unwrap()),
            (len, 0)
        );
        assert_eq!(
            count(&mut |t, r| init::xavier_normal(t, &shape, 1.0, r).unwrap()),
            (0, 2 * pairs)
        );
        let k = Kaiming::default();
        assert_eq!(
            count(&mut |t, r| init::kaiming_uniform(t, &shape, k, r).unwrap()),
            (len, 0)
        );
        assert_eq!(
            count(&mut |t, r| init::kaiming_normal(t, &shape, k, r).unwrap()),
            (0, 2 * pairs)
        );
        assert_eq!(
            count(&mut |t, r| init::lecun_uniform(t, &shape, r).unwrap()),
            (len, 0)
        );
        assert_eq!(
            count(&mut |t, r| init::lecun_normal(t, &shape, r).unwrap()),
            (0, 2 * pairs)
        );
        let mut c = Counting::new(1);
        let mut b = vec![0.0f32; len];
        init::dense_default(&mut t, Some(&mut b), 1, len, &mut c).unwrap();
        assert_eq!((c.u32s, c.u64s), (2 * len, 0));
    }
}

/// Every sampling function, as one signature, for the determinism checks.
type Fill = fn(&mut [f32], &mut Xoshiro256PlusPlus);

fn all_samplers() -> Vec<(&'static str, Fill)> {
    const SHAPE: &[usize] = &[12, 5, 2, 2];
    vec![
        ("uniform", |t, r| init::uniform(t, -1.0, 2.0, r).unwrap()),
        ("normal", |t, r| init::normal(t, 0.5, 2.0, r).unwrap()),
        ("trunc_normal", |t, r| {
            init::trunc_normal(t, 0.0, 1.0, -2.0, 2.0, r).unwrap()
        }),
        ("xavier_uniform", |t, r| {
            init::xavier_uniform(t, SHAPE, 1.0, r).unwrap()
        }),
        ("xavier_normal", |t, r| {
            init::xavier_normal(t, SHAPE, 1.0, r).unwrap()
        }),
        ("kaiming_uniform", |t, r| {
            init::kaiming_uniform(t, SHAPE, Kaiming::default(), r).unwrap()
        }),
        ("kaiming_normal", |t, r| {
            init::kaiming_normal(t, SHAPE, Kaiming::default(), r).unwrap()
        }),
        ("lecun_uniform", |t, r| {
            init::lecun_uniform(t, SHAPE, r).unwrap()
        }),
        ("lecun_normal", |t, r| {
            init::lecun_normal(t, SHAPE, r).unwrap()
        }),
        ("dense_default", |t, r| {
            init::dense_default(t, None, 20, 12, r).unwrap()
        }),
    ]
}

#[test]
fn same_seed_same_bits_other_seed_other_values() {
    for (name, fill) in all_samplers() {
        let run = |seed| {
            let mut t = vec![0.0f32; 240];
            fill(&mut t, &mut rng(seed));
            bits(&t)
        };
        assert_eq!(run(1), run(1), "{name}");
        let (x, y) = (run(1), run(2));
        let same = x.iter().zip(&y).filter(|(a, b)| a == b).count();
        assert!(
            same <= 2,
            "{name}: seeds 1 and 2 agree on {same} of 240 values"
        );
    }
}

/// The first values for a fixed seed, pinned: the values depend only on the generator's
/// words, IEEE f64 arithmetic and libm, so they are the same on every target. A change here
/// changes every user's seeded initialisation.
#[test]
fn pinned_values() {
    let pinned: [(&str, [u32; 4]); 3] = [
        ("uniform", [0x3f12c36f, 0xbdec19b0, 0xbe89e7c6, 0x3e87a9fc]),
        ("normal", [0xbe07da0d, 0x402bade3, 0xc01d975e, 0x4005ac85]),
        (
            "trunc_normal",
            [0x3d6f90bf, 0xbf0322ed, 0xbf287cc0, 0xbe41147b],
        ),
    ];
    let samplers = all_samplers();
    for (name, want) in pinned {
        let fill = samplers.iter().find(|(n, _)| *n == name).unwrap().1;
        let mut t = [0.0f32; 4];
        fill(&mut t, &mut rng(2024));
        assert_eq!(bits(&t), want, "{name}: {t:?}");
    }
}

// ----------------------------------------------------------------------------------------
// Empty tensors and errors

#[test]
fn empty_tensors_are_no_ops() {
    let k = Kaiming::default();
    for shape in [
        &[0usize, 5][..],
        &[5, 0],
        &[0, 0],
        &[0, 3, 3, 3],
        &[4, 2, 0],
    ] {
        let mut c = Counting::new(1);
        let t: &mut [f32] = &mut [];
        init::xavier_uniform(t, shape, 1.0, &mut c).unwrap();
        init::xavier_normal(t, shape, 1.0, &mut c).unwrap();
        init::kaiming_uniform(t, shape, k, &mut c).unwrap();
        init::kaiming_normal(t, shape, k, &mut c).unwrap();
        init::lecun_uniform(t, shape, &mut c).unwrap();
        init::lecun_normal(t, shape, &mut c).unwrap();
        assert_eq!((c.u32s, c.u64s), (0, 0), "{shape:?}");
    }
    let mut c = Counting::new(1);
    init::uniform(&mut [], 0.0, 1.0, &mut c).unwrap();
    init::normal(&mut [], 0.0, 1.0, &mut c).unwrap();
    init::trunc_normal(&mut [], 0.0, 1.0, -2.0, 2.0, &mut c).unwrap();
    init::constant(&mut [], 1.0).unwrap();
    init::zeros(&mut []);
    init::ones(&mut []);
    init::dense_default(&mut [], Some(&mut []), 5, 0, &mut c).unwrap();
    init::dense_default(&mut [], None, 0, 0, &mut c).unwrap();
    assert_eq!((c.u32s, c.u64s), (0, 0));
}

type Call = Box<dyn Fn(&mut [f32], &mut Counting) -> descent::Result<()>>;

fn call(f: impl Fn(&mut [f32], &mut Counting) -> descent::Result<()> + 'static) -> Call {
    Box::new(f)
}

/// Every error path returns its exact variant, writes nothing and draws nothing.
#[test]
fn errors_write_nothing() {
    let hp = |what| Error::InvalidHyperParameter { what };
    let len = |what, expected, actual| Error::LengthMismatch {
        what,
        expected,
        actual,
    };
    let shape_rank = |actual| len("shape", 2, actual);
    let overflow = |what| Error::DimensionOverflow { what };
    let nan = f32::NAN;
    let inf = f32::INFINITY;
    let leaky = |s| Kaiming {
        nonlinearity: Nonlinearity::LeakyRelu { negative_slope: s },
        ..Kaiming::default()
    };
    // (tensor length, call, error)
    let mut cases: Vec<(usize, Call, Error)> = vec![
        (4, call(move |t, r| init::uniform(t, nan, 1.0, r)), hp("a")),
        (4, call(move |t, r| init::uniform(t, -inf, 1.0, r)), hp("a")),
        (4, call(move |t, r| init::uniform(t, 0.0, nan, r)), hp("b")),
        (4, call(move |t, r| init::uniform(t, 0.0, inf, r)), hp("b")),
        (4, call(move |t, r| init::uniform(t, 1.0, 0.5, r)), hp("b")),
        (
            4,
            call(move |t, r| init::normal(t, nan, 1.0, r)),
            hp("mean"),
        ),
        (
            4,
            call(move |t, r| init::normal(t, inf, 1.0, r)),
            hp("mean"),
        ),
        (
            4,
            call(move |t, r| init::normal(t, 0.0, -1.0, r)),
            hp("std"),
        ),
        (
            4,
            call(move |t, r| init::normal(t, 0.0, -0.0 - 1e-30, r)),
            hp("std"),
        ),
        (4, call(move |t, r| init::normal(t, 0.0, nan, r)), hp("std")),
        (4, call(move |t, r| init::normal(t, 0.0, inf, r)), hp("std")),
        (
            4,
            call(move |t, r| init::normal(t, 0.0, 1e38, r)),
            hp("std"),
        ),
        (
            4,
            call(move |t, r| init::normal(t, 3e38, 1e37, r)),
            hp("std"),
        ),
        (
            4,
            call(move |t, r| init::trunc_normal(t, nan, 1.0, -2.0, 2.0, r)),
            hp("mean"),
        ),
        (
            4,
            call(move |t, r| init::trunc_normal(t, 0.0, 0.0, -2.0, 2.0, r)),
            hp("std"),
        ),
        (
            4,
            call(move |t, r| init::trunc_normal(t, 0.0, -1.0, -2.0, 2.0, r)),
            hp("std"),
        ),
        (
            4,
            call(move |t, r| init::trunc_normal(t, 0.0, nan, -2.0, 2.0, r)),
            hp("std"),
        ),
        (
            4,
            call(move |t, r| init::trunc_normal(t, 0.0, inf, -2.0, 2.0, r)),
            hp("std"),
        ),
        (
            4,
            call(move |t, r| init::trunc_normal(t, 0.0, 1.0, nan, 2.0, r)),
            hp("a"),
        ),
        (
            4,
            call(move |t, r| init::trunc_normal(t, 0.0, 1.0, -inf, 2.0, r)),
            hp("a"),
        ),
        (
            4,
            call(move |t, r| init::trunc_normal(t, 0.0, 1.0, -2.0, nan, r)),
            hp("b"),
        ),
        (
            4,
            call(move |t, r| init::trunc_normal(t, 0.0, 1.0, -2.0, inf, r)),
            hp("b"),
        ),
        (
            4,
            call(move |t, r| init::trunc_normal(t, 0.0, 1.0, 2.0, -2.0, r)),
            hp("b"),
        ),
        (
            4,
            call(move |t, r| init::trunc_normal(t, 0.0, 1.0, 40.0, 41.0, r)),
            hp("a"),
        ),
        (
            4,
            call(move |t, r| init::trunc_normal(t, 0.0, 1.0, -41.0, -40.0, r)),
            hp("b"),
        ),
        (
            4,
            call(move |t, r| init::trunc_normal(t, 5.0, 0.1, 0.0, 1.0, r)),
            hp("b"),
        ),
        (4, call(move |t, _| init::constant(t, nan)), hp("val")),
        (4, call(move |t, _| init::constant(t, -inf)), hp("val")),
        // dense_default
        (
            6,
            call(move |t, r| init::dense_default(t, None, 2, 2, r)),
            len("weight", 4, 6),
        ),
        (
            4,
            call(move |t, r| init::dense_default(t, Some(&mut [0.0; 3]), 2, 2, r)),
            len("bias", 2, 3),
        ),
        (
            4,
            call(move |t, r| init::dense_default(t, None, usize::MAX, 2, r)),
            overflow("weight"),
        ),
    ];
    // The shape-taking schemes share the shape and length errors.
    type Scheme = fn(&mut [f32], &[usize], &mut Counting) -> descent::Result<()>;
    let schemes: [Scheme; 6] = [
        |t, s, r| init::xavier_uniform(t, s, 1.0, r),
        |t, s, r| init::xavier_normal(t, s, 1.0, r),
        |t, s, r| init::kaiming_uniform(t, s, Kaiming::default(), r),
        |t, s, r| init::kaiming_normal(t, s, Kaiming::default(), r),
        |t, s, r| init::lecun_uniform(t, s, r),
        |t, s, r| init::lecun_normal(t, s, r),
    ];
    for scheme in schemes {
        cases.push((4, call(move |t, r| scheme(t, &[], r)), shape_rank(0)));
        cases.push((4, call(move |t, r| scheme(t, &[4], r)), shape_rank(1)));
        cases.push((
            5,
            call(move |t, r| scheme(t, &[2, 2], r)),
            len("tensor", 4, 5),
        ));
        cases.push((
            3,
            call(move |t, r| scheme(t, &[2, 2, 1], r)),
            len("tensor", 4, 3),
        ));
        cases.push((
            3,
            call(move |t, r| scheme(t, &[0, 5], r)),
            len("tensor", 0, 3),
        ));
        cases.push((
            4,
            call(move |t, r| scheme(t, &[usize::MAX, 2, 2], r)),
            overflow("shape"),
        ));
        cases.push((
            4,
            call(move |t, r| scheme(t, &[2, 2, usize::MAX / 2, 3], r)),
            overflow("shape"),
        ));
    }
    for gain in [-1.0, -0.0 - 1e-40, nan, inf, -inf] {
        cases.push((
            4,
            call(move |t, r| init::xavier_uniform(t, &[2, 2], gain, r)),
            hp("gain"),
        ));
        cases.push((
            4,
            call(move |t, r| init::xavier_normal(t, &[2, 2], gain, r)),
            hp("gain"),
        ));
        // Checked for empty tensors too.
        cases.push((
            0,
            call(move |t, r| init::xavier_uniform(t, &[0, 2], gain, r)),
            hp("gain"),
        ));
    }
    // A gain whose bound or std overflows f32.
    cases.push((
        1,
        call(move |t, r| init::xavier_uniform(t, &[1, 1], f32::MAX, r)),
        hp("gain"),
    ));
    cases.push((
        1,
        call(move |t, r| init::xavier_normal(t, &[1, 1], 1e38, r)),
        hp("gain"),
    ));
    for slope in [nan, inf, -inf] {
        cases.push((
            4,
            call(move |t, r| init::kaiming_uniform(t, &[2, 2], leaky(slope), r)),
            hp("a"),
        ));
        cases.push((
            4,
            call(move |t, r| init::kaiming_normal(t, &[2, 2], leaky(slope), r)),
            hp("a"),
        ));
        cases.push((
            0,
            call(move |t, r| init::kaiming_normal(t, &[2, 0], leaky(slope), r)),
            hp("a"),
        ));
    }
    let n_cases = cases.len();
    for (i, (n, call, want)) in cases.into_iter().enumerate() {
        let sentinel = 7.5f32;
        let mut t = vec![sentinel; n];
        let mut c = Counting::new(1);
        assert_eq!(call(&mut t, &mut c), Err(want), "case {i}");
        assert!(t.iter().all(|&x| x == sentinel), "case {i} wrote {t:?}");
        assert_eq!((c.u32s, c.u64s), (0, 0), "case {i} drew words");
    }
    assert!(n_cases > 80);
}
