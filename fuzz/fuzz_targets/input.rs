//! Turning the fuzzer's bytes into shapes, hyper-parameters and values that reach every edge:
//! NaN, ±∞, ±0, subnormals, huge and tiny magnitudes, and ordinary numbers.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Once;

/// Executions started, executions that reached at least one value comparison, and whether the
/// current one has.
static RUNS: AtomicU64 = AtomicU64::new(0);
static COMPARED_RUNS: AtomicU64 = AtomicU64::new(0);
static COMPARED_NOW: AtomicBool = AtomicBool::new(false);
static REPORT: Once = Once::new();

extern "C" {
    fn atexit(f: extern "C" fn()) -> i32;
}

/// The line `fuzz/run-all.sh` reads: `descent-fuzz: compared V of N executions`.
extern "C" fn report() {
    let runs = RUNS.load(Ordering::Relaxed);
    let compared = COMPARED_RUNS.load(Ordering::Relaxed);
    eprintln!("descent-fuzz: compared {compared} of {runs} executions");
}

/// Counts one execution: call first thing in a target, with the execution's body as `f`.
/// libFuzzer leaves by `exit`, which runs the handler that prints the tally.
pub fn execution(f: impl FnOnce()) {
    REPORT.call_once(|| {
        // SAFETY: `report` is an `extern "C" fn()` that touches only atomics and stderr.
        unsafe { atexit(report) };
    });
    RUNS.fetch_add(1, Ordering::Relaxed);
    COMPARED_NOW.store(false, Ordering::Relaxed);
    f();
    if COMPARED_NOW.load(Ordering::Relaxed) {
        COMPARED_RUNS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Marks the current execution as one that compared a value against its reference (call
/// where an output element is checked against the reference, not where only the error
/// contract is).
pub fn compared() {
    COMPARED_NOW.store(true, Ordering::Relaxed);
}

/// Reads the fuzzer's bytes front to back; zeros once they run out.
pub struct Input<'a>(pub &'a [u8]);

impl Input<'_> {
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    pub fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    /// A length up to `max`.
    pub fn len(&mut self, max: usize) -> usize {
        self.byte() as usize % (max + 1)
    }

    /// A dimension: mostly `1..=max`, zero one time in 16; an input that ran out gives 1.
    pub fn size(&mut self, max: usize) -> usize {
        if self.byte() % 16 == 15 {
            0
        } else {
            1 + self.len(max.saturating_sub(1))
        }
    }

    /// A value: mostly ordinary (in ±scale), sometimes an edge case, sometimes raw bits.
    pub fn value(&mut self, scale: f32) -> f32 {
        let kind = self.byte();
        match kind {
            0..=199 => {
                let u = self.u32() as f32 / u32::MAX as f32;
                (2.0 * u - 1.0) * scale
            }
            200..=239 => [
                0.0,
                -0.0,
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::MIN_POSITIVE / 4.0,
                1e-30,
                1e-9,
                1e30,
                f32::MAX,
            ][(kind - 200) as usize % 10],
            _ => f32::from_bits(self.u32()),
        }
    }

    /// A hyper-parameter: mostly in `[lo, hi]`, sometimes anything (negative, NaN, ∞, > 1).
    pub fn hparam(&mut self, lo: f32, hi: f32) -> f32 {
        let kind = self.byte();
        if kind < 224 {
            lo + (hi - lo) * (self.u32() as f32 / u32::MAX as f32)
        } else {
            self.value(2.0)
        }
    }

    pub fn values(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.value(scale)).collect()
    }

    /// Values mostly in the range where a result can be compared with its reference: one
    /// buffer in 8 as [`Input::values`] (a fifth of its values edge cases or raw bits), the
    /// others ordinary values in `±scale` with one edge case in 64. The comparisons skip only
    /// the elements (or rows) that an edge case reaches.
    pub fn mostly_tame(&mut self, n: usize, scale: f32) -> Vec<f32> {
        if self.byte() % 8 == 0 {
            return self.values(n, scale);
        }
        (0..n)
            .map(|_| {
                if self.byte() % 64 == 0 {
                    self.value(scale)
                } else {
                    let u = self.u32() as f32 / u32::MAX as f32;
                    (2.0 * u - 1.0) * scale
                }
            })
            .collect()
    }
}

/// `got` agrees with `want` element by element: NaN where it is NaN, the same infinity, or
/// within `rel` of the element's scale (the largest magnitude among the inputs that produced
/// it and the two results).
pub fn agree(got: f32, want: f32, scale: f32, rel: f32) -> bool {
    if want.is_nan() || got.is_nan() {
        return want.is_nan() && got.is_nan();
    }
    if want.is_infinite() || got.is_infinite() {
        return want == got;
    }
    compared();
    let s = scale.abs().max(want.abs()).max(got.abs());
    (got - want).abs() <= rel * s || (got - want).abs() <= f32::MIN_POSITIVE
}

impl Input<'_> {
    /// A slice length: mostly `right`, sometimes anything up to `right + 3` (one in `odds`).
    /// An input that ran out (zeros) gives `right`: libFuzzer's many short inputs then reach
    /// the values, not only the error contract.
    pub fn length(&mut self, right: usize, odds: u8) -> usize {
        let odds = odds.max(1);
        if self.byte() % odds == odds - 1 {
            self.len(right + 3)
        } else {
            right
        }
    }
}

/// Fill for the elements around a sub-slice under test; they must come back untouched.
pub const GUARD: f32 = -5555.5;

/// A buffer of `GUARD` with `values` at `[off, off + values.len())` and 3 guards after.
pub fn guarded(off: usize, values: &[f32]) -> Vec<f32> {
    let mut b = vec![GUARD; off + values.len() + 3];
    b[off..off + values.len()].copy_from_slice(values);
    b
}

/// The guards of a buffer made by [`guarded`] with `len` values at `off` are intact.
pub fn intact(b: &[f32], off: usize, len: usize) -> bool {
    b[..off]
        .iter()
        .chain(&b[off + len..])
        .all(|g| g.to_bits() == GUARD.to_bits())
}

/// Bit-identical slices (NaN payloads included).
pub fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// `u = 2⁻²⁴`, half an ulp of 1 in `f32`.
pub const U: f64 = 1.0 / 16_777_216.0;

/// The same results: identical bits, or NaN in both. (Which NaN payload survives an operation
/// with two NaN operands depends on their order, which the compiler may swap in a commutative
/// product: IEEE 754 leaves payloads unspecified, and no kernel promises them.)
pub fn same_values(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}
