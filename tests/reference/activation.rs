//! `f64` references of the activations' special functions, from their definitions (torch's
//! `sigmoid`, `gelu` exact and tanh-approximated, `softmax`, `log_softmax`).
//!
//! Shared by `tests/activation.rs` and `fuzz/fuzz_targets/activation.rs`.
#![allow(dead_code)]

/// `√(2/π)`, the tanh-approximated GELU's factor.
pub const K: f64 = 0.797_884_560_802_865_4;
/// The tanh-approximated GELU's cubic coefficient.
pub const KAPPA: f64 = 0.044715;

/// `σ(x) = 1/(1 + e^−x)`, as `eˣ/(1 + eˣ)` for `x < 0`, which keeps its subnormal values.
pub fn sigma(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `Φ(x)`, the standard normal distribution function (exact GELU is `x·Φ(x)`).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// `φ(x)`, the standard normal density (`Φ′`).
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// `w(x) = 2·√(2/π)·(x + κx³)`: tanh-GELU is `x·σ(w)`.
pub fn gelu_tanh_w(x: f64) -> f64 {
    2.0 * K * (x + KAPPA * x * x * x)
}

/// `f64` softmax of one row of finite entries, max-subtracted.
pub fn softmax64(row: &[f64]) -> Vec<f64> {
    let m = row.iter().fold(f64::NEG_INFINITY, |a, v| a.max(*v));
    let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
    row.iter().map(|v| (v - m).exp() / s).collect()
}

/// `f64` log-softmax with `ln Σ = ln_1p(Σ_{k ≠ argmax})` (see `tests/activation.rs`).
pub fn log_softmax64(row: &[f64]) -> Vec<f64> {
    let top = (0..row.len()).fold(0, |b, k| if row[k] > row[b] { k } else { b });
    let m = row[top];
    let rest: f64 = (0..row.len())
        .filter(|k| *k != top)
        .map(|k| (row[k] - m).exp())
        .sum();
    let lse = libm::log1p(rest);
    row.iter().map(|v| v - m - lse).collect()
}
