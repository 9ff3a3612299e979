//! Accuracy and special values of the vectorised transcendental functions in
//! `descent::simd::math`.
//!
//! Reference: `libm`'s `f64` function on the widened input, rounded to `f32` (the correctly
//! rounded result, up to the rare double-rounding case where the `f64` value sits within
//! `2⁻²⁹` ulp of an `f32` tie). Error: `|y − ref| / ulp(ref)`, both exact in `f64`, where
//! `ulp(ref)` is the spacing of `f32` at `ref` (`2⁻¹⁴⁹` for subnormal and zero references).
//!
//! Sweep per function: every `STEP`-th `f32` bit pattern of all 2³² (67 million inputs, each
//! binade of both signs sampled 131 072 times), plus every bit pattern in windows of
//! `±WINDOW` patterns around the points where the method or the result changes (0, tiny
//! thresholds, range-reduction boundaries, saturation, overflow and underflow). The measured
//! maxima are printed (`cargo test --test simd_math -- --nocapture`) and must not exceed the
//! documented bounds in `src/simd/math.rs`.
//!
//! Under an emulator (CI runs the aarch64 build under qemu-user, where the full sweep takes
//! twelve minutes), `DESCENT_SWEEP_SPARSER=k` takes every `64·k`-th pattern and windows of
//! `±2¹⁸/k`: the same functions, special points and bounds, on fewer inputs.

mod common;

use common::element_wise_isas;
use descent::simd::math;
use descent::simd::{dispatch_on, f32x8, Float8, Lanes, WithLanes};
use descent::Isa;

/// Every `STEP`-th bit pattern: `2³²/64 = 67 108 864` inputs per function.
const STEP: u32 = 64;
/// Half-width, in bit patterns, of the exhaustive windows around special points.
const WINDOW: u32 = 1 << 18;

/// The documented maximum error of each function, in ulp (the table in `src/simd/math.rs`).
const BOUND_ULP: f64 = 2.0;

type VecFn = fn(f32x8) -> f32x8;
type RefFn = fn(f64) -> f64;

/// The functions under test.
#[derive(Clone, Copy)]
enum Func {
    Exp,
    Expm1,
    Ln,
    Ln1p,
    Tanh,
    Erf,
}

/// One function on eight inputs, for `dispatch_on`: the `*_lanes` form on the dispatched
/// instruction set's lanes, inlined into its dispatching function.
struct Apply(Func, [f32; 8]);

impl WithLanes for Apply {
    type Output = [f32; 8];

    #[inline(always)]
    fn run<L: Lanes>(self, l: L) -> [f32; 8] {
        let x = l.load(&self.1);
        match self.0 {
            Func::Exp => math::exp_lanes(l, x),
            Func::Expm1 => math::expm1_lanes(l, x),
            Func::Ln => math::ln_lanes(l, x),
            Func::Ln1p => math::ln_1p_lanes(l, x),
            Func::Tanh => math::tanh_lanes(l, x),
            Func::Erf => math::erf_lanes(l, x),
        }
        .to_array()
    }
}

/// `f` on the AVX2+FMA lanes (listed only where the CPU has them).
fn avx2(f: Func, x: f32x8) -> f32x8 {
    f32x8::new(dispatch_on(Isa::Avx2Fma, Apply(f, x.to_array())))
}

/// The function called `name` on every element-wise instruction set this CPU has: the
/// portable `descent::simd::math` function, and its `*_lanes` form on AVX2+FMA.
fn variants(name: &str) -> Vec<(Isa, VecFn)> {
    let (portable, fused): (VecFn, VecFn) = match name {
        "exp" => (math::exp, |x| avx2(Func::Exp, x)),
        "expm1" => (math::expm1, |x| avx2(Func::Expm1, x)),
        "ln" => (math::ln, |x| avx2(Func::Ln, x)),
        "ln_1p" => (math::ln_1p, |x| avx2(Func::Ln1p, x)),
        "tanh" => (math::tanh, |x| avx2(Func::Tanh, x)),
        "erf" => (math::erf, |x| avx2(Func::Erf, x)),
        _ => panic!("no function {name}"),
    };
    element_wise_isas()
        .into_iter()
        .map(|isa| (isa, if isa == Isa::Avx2Fma { fused } else { portable }))
        .collect()
}

/// The spacing of `f32` values at `r` (`r` finite).
fn ulp_of(r: f32) -> f64 {
    let a = r.abs();
    if a < f32::MIN_POSITIVE {
        return (2.0f64).powi(-149);
    }
    let e = (a.to_bits() >> 23) as i32 - 127;
    (2.0f64).powi(e - 23)
}

/// Error of `y` against the rounded reference `r`, in ulp of `r`; infinite when NaN-ness,
/// infinities or the sign of a zero disagree.
fn err_ulps(y: f32, r: f32) -> f64 {
    if r.is_nan() || y.is_nan() {
        return if r.is_nan() && y.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if r.is_infinite() || y.is_infinite() {
        return if y == r { 0.0 } else { f64::INFINITY };
    }
    if r == 0.0 && y == 0.0 && r.is_sign_negative() != y.is_sign_negative() {
        return f64::INFINITY;
    }
    (y as f64 - r as f64).abs() / ulp_of(r)
}

/// The maximum error seen, and where.
#[derive(Default)]
struct Stats {
    max: f64,
    at: f32,
    got: f32,
    want: f32,
    count: u64,
    /// The maximum error against the unrounded `f64` reference, in ulp of the rounded one
    /// (at most `max + 0.5`; informational).
    max_exact: f64,
}

impl Stats {
    fn record(&mut self, x: f32, y: f32, r64: f64) {
        let r = r64 as f32;
        let e = err_ulps(y, r);
        if r.is_finite() && y.is_finite() {
            self.max_exact = self.max_exact.max((y as f64 - r64).abs() / ulp_of(r));
        }
        self.count += 1;
        if e > self.max || (e.is_nan() && !self.max.is_nan()) {
            self.max = e;
            self.at = x;
            self.got = y;
            self.want = r;
        }
    }
}

/// Runs `f` on `xs` eight at a time and records each lane against `reference`.
struct Sweeper {
    f: VecFn,
    reference: RefFn,
    buf: [f32; 8],
    len: usize,
    stats: Stats,
}

impl Sweeper {
    fn new(f: VecFn, reference: RefFn) -> Self {
        Sweeper {
            f,
            reference,
            buf: [0.0; 8],
            len: 0,
            stats: Stats::default(),
        }
    }

    fn push(&mut self, x: f32) {
        self.buf[self.len] = x;
        self.len += 1;
        if self.len == 8 {
            self.flush();
        }
    }

    fn flush(&mut self) {
        let y = (self.f)(f32x8::new(self.buf)).to_array();
        for (&x, &y) in self.buf[..self.len].iter().zip(&y) {
            self.stats.record(x, y, (self.reference)(x as f64));
        }
        self.len = 0;
    }
}

/// Sweeps the whole domain and the windows around `centres` (and their negatives), prints
/// and returns the maximum error.
/// `(STEP, WINDOW)`, or `(STEP·k, WINDOW/k)` with `DESCENT_SWEEP_SPARSER=k` (k ≥ 1).
fn sweep_density() -> (u32, u32) {
    let k = std::env::var("DESCENT_SWEEP_SPARSER")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|k| (1..=1 << 16).contains(k))
        .unwrap_or(1);
    (STEP * k, (WINDOW / k).max(1))
}

fn sweep(name: &str, f: VecFn, reference: RefFn, centres: &[f32]) -> f64 {
    let mut s = Sweeper::new(f, reference);
    // A different phase per function so that the union covers more patterns.
    let (step, window) = sweep_density();
    let phase = name.len() as u32 * 7 % step;
    let mut b = phase;
    loop {
        s.push(f32::from_bits(b));
        match b.checked_add(step) {
            Some(n) => b = n,
            None => break,
        }
    }
    let full = s.stats.count;
    for &c in centres {
        for c in [c, -c] {
            let cb = c.to_bits() as i64;
            let sign = cb & 0x8000_0000;
            let mag = cb & 0x7FFF_FFFF;
            // Windows do not cross zero: below the centre they stop at ±0.
            let lo = (mag - window as i64).max(0);
            let hi = (mag + window as i64).min(0x7F80_0000);
            for m in lo..=hi {
                s.push(f32::from_bits((m | sign) as u32));
            }
        }
    }
    s.flush();
    let st = &s.stats;
    eprintln!(
        "{name:>6}: max error {:.3} ulp at x = {:e} ({:#010x}): got {:e}, want {:e}; \
         {:.3} ulp against the unrounded reference [{} inputs: {} strided + {} in windows]",
        st.max,
        st.at,
        st.at.to_bits(),
        st.got,
        st.want,
        st.max_exact,
        st.count,
        full,
        st.count - full,
    );
    st.max
}

/// Sweeps `name` on every instruction set (`_f`, the portable function, names which).
fn check(name: &str, _f: VecFn, reference: RefFn, centres: &[f32]) {
    for (isa, f) in variants(name) {
        eprint!("[{isa}] ");
        let m = sweep(name, f, reference, centres);
        assert!(
            m <= BOUND_ULP,
            "{name} on {isa}: max error {m} ulp above the bound {BOUND_ULP}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Accuracy sweeps.

#[test]
fn exp_accuracy() {
    check(
        "exp",
        math::exp,
        libm::exp,
        &[
            0.0,
            0.346_573_6, // ln2/2: n changes from 0 to ±1
            1.0,
            87.336_55,  // e^x crosses f32::MIN_POSITIVE
            88.722_84,  // overflow
            103.972_08, // underflow to zero (as −x)
            5.960_464_5e-8,
        ],
    );
}

#[test]
fn expm1_accuracy() {
    check(
        "expm1",
        math::expm1,
        libm::expm1,
        &[
            0.0,
            1.0e-30,
            5.960_464_5e-8, // 2⁻²⁴: the tiny-input shortcut
            1.0e-7,
            0.346_573_6,
            1.0,
            17.328_68, // −1 from here (as −x)
            30.0,      // the lower clamp (as −x)
            88.722_84,
        ],
    );
}

#[test]
fn ln_accuracy() {
    check(
        "ln",
        math::ln,
        libm::log,
        &[
            0.0, // all of the subnormals near 0 (the negatives give NaN)
            f32::MIN_POSITIVE,
            core::f32::consts::FRAC_1_SQRT_2,
            1.0,
            core::f32::consts::SQRT_2,
            2.0,
            f32::MAX,
        ],
    );
}

#[test]
fn ln_1p_accuracy() {
    check(
        "ln_1p",
        math::ln_1p,
        libm::log1p,
        &[
            0.0,
            1.0e-30,
            5.960_464_5e-8,
            1.0e-7,
            0.292_893_2,  // 1 − √½ (as −x): u crosses √½
            0.414_213_57, // √2 − 1
            0.5,
            1.0, // the exact-error formula changes here (and −1 as −x)
            16_777_216.0,
            f32::MAX,
        ],
    );
}

#[test]
fn tanh_accuracy() {
    check(
        "tanh",
        math::tanh,
        libm::tanh,
        &[
            0.0,
            1.0e-30,
            1.0e-7,
            0.173_286_8, // 2x = ln2/2
            0.55,
            1.0,
            math::TANH_SATURATION,
        ],
    );
}

#[test]
fn erf_accuracy() {
    check(
        "erf",
        math::erf,
        libm::erf,
        &[
            0.0,
            1.0e-30,
            1.0e-7,
            0.5,
            0.875, // the split between the two approximations
            1.0,
            2.375,
            math::ERF_SATURATION,
        ],
    );
}

/// Every one of the 2³² bit patterns, for every function, on all cores: the check behind the
/// "measured" column of the table in `src/simd/math.rs`. Minutes in release mode, so ignored
/// by default: `cargo test --release --test simd_math -- --ignored --nocapture`.
#[test]
#[ignore]
fn exhaustive_all_f32() {
    let fs: [(&str, VecFn, RefFn); 6] = [
        ("exp", math::exp, libm::exp),
        ("expm1", math::expm1, libm::expm1),
        ("ln", math::ln, libm::log),
        ("ln_1p", math::ln_1p, libm::log1p),
        ("tanh", math::tanh, libm::tanh),
        ("erf", math::erf, libm::erf),
    ];
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let fs: Vec<(&str, VecFn, RefFn)> = fs
        .into_iter()
        .flat_map(|(name, _, reference)| {
            variants(name)
                .into_iter()
                .map(move |(_, f)| (name, f, reference))
        })
        .collect();
    for (name, f, reference) in fs {
        let chunk = (1u64 << 32) / threads;
        let parts: Vec<Stats> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        let mut s = Sweeper::new(f, reference);
                        let end = if t + 1 == threads {
                            1 << 32
                        } else {
                            (t + 1) * chunk
                        };
                        for b in t * chunk..end {
                            s.push(f32::from_bits(b as u32));
                        }
                        s.flush();
                        s.stats
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut st = Stats::default();
        for p in parts {
            st.count += p.count;
            st.max_exact = st.max_exact.max(p.max_exact);
            if p.max > st.max {
                (st.max, st.at, st.got, st.want) = (p.max, p.at, p.got, p.want);
            }
        }
        eprintln!(
            "{name:>6}: max error {:.3} ulp at x = {:e} ({:#010x}): got {:e}, want {:e}; \
             {:.3} ulp against the unrounded reference [all {} bit patterns]",
            st.max,
            st.at,
            st.at.to_bits(),
            st.got,
            st.want,
            st.max_exact,
            st.count,
        );
        assert!(st.max <= BOUND_ULP, "{name}: {} ulp", st.max);
    }
}

// ---------------------------------------------------------------------------------------------
// Special values, thresholds, lanes.

fn bits_eq(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Asserts `f(x)` is `want` bit for bit (any NaN for a NaN), in every lane, on every
/// instruction set (`_f`, the portable function, names which).
fn assert_value(name: &str, _f: VecFn, x: f32, want: f32) {
    for (isa, f) in variants(name) {
        let y = f(f32x8::splat(x)).to_array();
        for (lane, &y) in y.iter().enumerate() {
            assert!(
                bits_eq(y, want),
                "{name}({x:e}) on {isa} = {y:e} ({:#010x}) in lane {lane}, want {want:e} ({:#010x})",
                y.to_bits(),
                want.to_bits()
            );
        }
    }
}

const NAN: f32 = f32::NAN;
const INF: f32 = f32::INFINITY;

#[test]
fn nan_in_nan_out() {
    let fs: [(&str, VecFn); 6] = [
        ("exp", math::exp),
        ("expm1", math::expm1),
        ("ln", math::ln),
        ("ln_1p", math::ln_1p),
        ("tanh", math::tanh),
        ("erf", math::erf),
    ];
    let nans = [
        NAN,
        -NAN,
        f32::from_bits(0x7F80_0001), // signalling
        f32::from_bits(0xFFFF_FFFF),
        f32::from_bits(0x7FC1_2345),
    ];
    for (name, _) in fs {
        for (isa, f) in variants(name) {
            for x in nans {
                let y = f(f32x8::splat(x)).to_array();
                assert!(y.iter().all(|y| y.is_nan()), "{name}({x}) on {isa} = {y:?}");
            }
        }
    }
}

#[test]
fn exp_special_values() {
    let f = math::exp;
    assert_value("exp", f, 0.0, 1.0);
    assert_value("exp", f, -0.0, 1.0);
    assert_value("exp", f, INF, INF);
    assert_value("exp", f, -INF, 0.0);
    assert_value("exp", f, f32::MAX, INF);
    assert_value("exp", f, f32::MIN, 0.0);
    assert_value("exp", f, 1000.0, INF);
    assert_value("exp", f, -1000.0, 0.0);
    // Overflow threshold: the first f32 whose e^x rounds past f32::MAX.
    let over = 88.722_84_f32;
    assert_eq!(over.to_bits(), 0x42B1_7218);
    assert_eq!(libm::exp(over as f64) as f32, INF);
    assert!((libm::exp(over.next_down() as f64) as f32).is_finite());
    assert_value("exp", f, over, INF);
    assert!(math::exp_scalar(over.next_down()).is_finite());
    assert!(math::exp_scalar(over.next_down()) > 3.4e38);
    // Underflow: −103.97208404541016 is the first f32 whose e^x rounds to 0; the next one up
    // gives the smallest subnormal.
    let under = -103.972_084_f32;
    assert_eq!(under.to_bits(), 0xC2CF_F1B5);
    assert_eq!(libm::exp(under as f64) as f32, 0.0);
    assert_value("exp", f, under, 0.0);
    assert_value("exp", f, under.next_up(), f32::from_bits(1));
    // Results pass through the subnormals (no flush to zero).
    let y = math::exp_scalar(-100.0);
    assert!(y > 0.0 && y < f32::MIN_POSITIVE, "exp(-100) = {y:e}");
    assert_eq!(y, libm::exp(-100.0) as f32);
}

#[test]
fn expm1_special_values() {
    let f = math::expm1;
    assert_value("expm1", f, 0.0, 0.0);
    assert_value("expm1", f, -0.0, -0.0);
    assert_value("expm1", f, INF, INF);
    assert_value("expm1", f, -INF, -1.0);
    assert_value("expm1", f, f32::MAX, INF);
    assert_value("expm1", f, f32::MIN, -1.0);
    assert_value("expm1", f, 88.722_84, INF);
    assert!(math::expm1_scalar(88.722_84_f32.next_down()).is_finite());
    assert_value("expm1", f, -17.328_68, -1.0);
    let minus_one_from = -17.328_68_f32;
    assert_eq!(libm::expm1(minus_one_from as f64) as f32, -1.0);
    assert!((libm::expm1(minus_one_from.next_up() as f64) as f32) > -1.0);
    assert!(math::expm1_scalar(minus_one_from.next_up()) > -1.0);
    assert_value("expm1", f, -50.0, -1.0);
    assert_value("expm1", f, -100.0, -1.0);
    // Tiny and subnormal inputs are returned as they are.
    for x in [
        1e-30f32,
        -1e-30,
        1e-38,
        f32::from_bits(1),
        -f32::from_bits(1),
        1e-45,
    ] {
        assert_value("expm1", f, x, x);
    }
    let y = math::expm1_scalar(1e-7);
    assert!(((y as f64 - libm::expm1(1e-7f32 as f64)) / 1e-7).abs() < 2e-7);
}

#[test]
fn ln_special_values() {
    let f = math::ln;
    assert_value("ln", f, 0.0, -INF);
    assert_value("ln", f, -0.0, -INF);
    assert_value("ln", f, INF, INF);
    assert_value("ln", f, -INF, NAN);
    assert_value("ln", f, -1.0, NAN);
    assert_value("ln", f, -f32::from_bits(1), NAN);
    assert_value("ln", f, f32::MIN, NAN);
    assert_value("ln", f, 1.0, 0.0);
    // Subnormals: ln(2⁻¹⁴⁹) = −149·ln 2.
    assert_value(
        "ln",
        f,
        f32::from_bits(1),
        (-149.0 * core::f64::consts::LN_2) as f32,
    );
    assert_value(
        "ln",
        f,
        f32::from_bits(0x0040_0000),
        (-127.0 * core::f64::consts::LN_2) as f32,
    );
    for k in -149..128 {
        let x = (2.0f64).powi(k) as f32;
        let want = (k as f64 * core::f64::consts::LN_2) as f32;
        let y = math::ln_scalar(x);
        assert!(
            err_ulps(y, want) <= BOUND_ULP,
            "ln(2^{k}) = {y}, want {want}"
        );
    }
    let y = math::ln_scalar(f32::MAX);
    assert!((y - 88.722_84).abs() < 1e-5, "ln(MAX) = {y}");
}

#[test]
fn ln_1p_special_values() {
    let f = math::ln_1p;
    assert_value("ln_1p", f, 0.0, 0.0);
    assert_value("ln_1p", f, -0.0, -0.0);
    assert_value("ln_1p", f, -1.0, -INF);
    assert_value("ln_1p", f, (-1.0f32).next_down(), NAN);
    assert_value("ln_1p", f, -2.0, NAN);
    assert_value("ln_1p", f, -INF, NAN);
    assert_value("ln_1p", f, f32::MIN, NAN);
    assert_value("ln_1p", f, INF, INF);
    for x in [
        1e-30f32,
        -1e-30,
        1e-38,
        f32::from_bits(1),
        -f32::from_bits(1),
    ] {
        assert_value("ln_1p", f, x, x);
    }
    // Just above −1: 1 + x is exact and tiny.
    let x = (-1.0f32).next_up();
    let y = math::ln_1p_scalar(x);
    assert!(
        err_ulps(y, libm::log1p(x as f64) as f32) <= BOUND_ULP,
        "{y}"
    );
    let y = math::ln_1p_scalar(f32::MAX);
    assert!((y - 88.722_84).abs() < 1e-5, "ln_1p(MAX) = {y}");
}

#[test]
fn tanh_special_values_and_saturation() {
    let f = math::tanh;
    assert_value("tanh", f, 0.0, 0.0);
    assert_value("tanh", f, -0.0, -0.0);
    assert_value("tanh", f, INF, 1.0);
    assert_value("tanh", f, -INF, -1.0);
    assert_value("tanh", f, f32::MAX, 1.0);
    assert_value("tanh", f, f32::MIN, -1.0);
    for x in [1e-30f32, 1e-38, f32::from_bits(1)] {
        assert_value("tanh", f, x, x);
        assert_value("tanh", f, -x, -x);
    }
    // The documented threshold is the first f32 whose correctly rounded tanh is 1.
    let t = math::TANH_SATURATION;
    assert_eq!(t.to_bits(), 0x4110_2CB4);
    assert_eq!(libm::tanh(t as f64) as f32, 1.0);
    assert!((libm::tanh(t.next_down() as f64) as f32) < 1.0);
    assert!(math::tanh_scalar(t.next_down()) < 1.0);
    assert!(math::tanh_scalar(-t.next_down()) > -1.0);
    // Exactly ±1 from the threshold on: every f32 up to 64, then every 4096th pattern.
    let mut b = t.to_bits();
    while b < 0x7F80_0000 {
        let x = f32::from_bits(b);
        assert_eq!(math::tanh_scalar(x), 1.0, "tanh({x})");
        assert_eq!(math::tanh_scalar(-x), -1.0, "tanh(-{x})");
        b += if x < 64.0 { 1 } else { 4096 };
    }
}

#[test]
fn erf_special_values_and_saturation() {
    let f = math::erf;
    assert_value("erf", f, 0.0, 0.0);
    assert_value("erf", f, -0.0, -0.0);
    assert_value("erf", f, INF, 1.0);
    assert_value("erf", f, -INF, -1.0);
    assert_value("erf", f, f32::MAX, 1.0);
    assert_value("erf", f, f32::MIN, -1.0);
    // Relative accuracy near 0: erf(x) = 2x/√π.
    for x in [1e-7f32, 1e-20, 1e-30, 1e-38, 1e-40, f32::from_bits(1)] {
        let want = (x as f64 * core::f64::consts::FRAC_2_SQRT_PI) as f32;
        let y = math::erf_scalar(x);
        assert!(
            err_ulps(y, want) <= BOUND_ULP,
            "erf({x:e}) = {y:e}, want {want:e}"
        );
        assert_eq!(math::erf_scalar(-x), -y);
    }
    let t = math::ERF_SATURATION;
    assert_eq!(t.to_bits(), 0x407A_D445);
    assert_eq!(libm::erf(t as f64) as f32, 1.0);
    assert!((libm::erf(t.next_down() as f64) as f32) < 1.0);
    assert!(math::erf_scalar(t.next_down()) < 1.0);
    assert!(math::erf_scalar(-t.next_down()) > -1.0);
    let mut b = t.to_bits();
    while b < 0x7F80_0000 {
        let x = f32::from_bits(b);
        assert_eq!(math::erf_scalar(x), 1.0, "erf({x})");
        assert_eq!(math::erf_scalar(-x), -1.0, "erf(-{x})");
        b += if x < 64.0 { 1 } else { 4096 };
    }
}

/// Inputs that exercise every branch of every function.
fn probe_inputs() -> Vec<f32> {
    let mut v = vec![
        0.0,
        -0.0,
        INF,
        -INF,
        NAN,
        f32::MAX,
        f32::MIN,
        f32::MIN_POSITIVE,
        f32::from_bits(1),
        1e-30,
        1e-7,
        0.3,
        0.875,
        1.0,
        -1.0,
        2.0,
        9.0,
        3.9,
        17.0,
        -17.5,
        88.7,
        -87.5,
        -103.0,
        -104.5,
    ];
    let mut b = 0x0012_3457u32;
    for _ in 0..4000 {
        v.push(f32::from_bits(b));
        b = b.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    }
    v
}

/// A scalar convenience of `simd::math`.
type ScalarFn = fn(f32) -> f32;

#[test]
fn result_does_not_depend_on_the_lane() {
    let fs: [(&str, VecFn, ScalarFn); 6] = [
        ("exp", math::exp, math::exp_scalar),
        ("expm1", math::expm1, math::expm1_scalar),
        ("ln", math::ln, math::ln_scalar),
        ("ln_1p", math::ln_1p, math::ln_1p_scalar),
        ("tanh", math::tanh, math::tanh_scalar),
        ("erf", math::erf, math::erf_scalar),
    ];
    let inputs = probe_inputs();
    for (name, _, scalar) in fs {
        for (isa, f) in variants(name) {
            lanes_agree(name, isa, f, scalar, &inputs);
        }
    }
}

/// `f` gives every input the result a splat gives, in every lane; the portable splat is the
/// scalar convenience.
fn lanes_agree(name: &str, isa: Isa, f: VecFn, scalar: ScalarFn, inputs: &[f32]) {
    {
        for (i, &x) in inputs.iter().enumerate() {
            let want = f(f32x8::splat(x)).to_array()[0];
            if isa == Isa::Portable {
                assert!(bits_eq(scalar(x), want), "{name}({x:e}): scalar vs splat");
            }
            for lane in 0..8 {
                // Neighbours from elsewhere in the probe list: specials, NaN, huge, tiny.
                let mut a = [0.0f32; 8];
                for (j, v) in a.iter_mut().enumerate() {
                    *v = inputs[(i * 7 + j * 13 + 1) % inputs.len()];
                }
                a[lane] = x;
                let y = f(f32x8::new(a)).to_array()[lane];
                assert!(
                    bits_eq(y, want),
                    "{name}({x:e}) on {isa}: lane {lane} gives {y:e}, a splat gives {want:e}"
                );
            }
        }
    }
}

#[test]
fn odd_functions_are_odd() {
    for x in probe_inputs() {
        for (name, f) in [
            ("tanh", math::tanh_scalar as fn(f32) -> f32),
            ("erf", math::erf_scalar),
        ] {
            let (p, n) = (f(x), f(-x));
            assert!(bits_eq(n, -p), "{name}: f({x:e}) = {p:e}, f(-x) = {n:e}");
        }
    }
}
