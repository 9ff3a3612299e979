//! Bad input: one table row per (public fallible function, wrong argument), with the exact
//! `Err` the row expects, and the check that the call left every output buffer, state slice,
//! counter and random generator as it found it.
//!
//! How a row checks "nothing was written":
//!
//! * a buffer the call only **writes** (`y`, `dx`, `grad`, masks, …) is filled with the
//!   sentinel `f32::from_bits(0x7fc0_1234)` (a NaN with a payload no kernel produces from
//!   finite inputs) and compared by bits afterwards;
//! * a buffer the call **reads and writes** (in-place kernels, accumulated gradients,
//!   parameters, optimizer state, running statistics) is filled with a finite pattern
//!   ([`pattern`]) and compared by bits with the same pattern afterwards (a NaN sentinel there
//!   could survive an accumulation `NaN + x` with its payload intact);
//! * counters (`step`, `num_batches_tracked`, a group's `step`) are compared by value, and a
//!   [`Counting`] generator must have given no word at all.
//!
//! Lengths are wrong by −1 and +1 each; hyper-parameters take each out-of-range kind the
//! contract names (negative, NaN, ±∞, beyond a bound). Rows are grouped by module; the test
//! prints how many rows each module has (`-- --nocapture`) and fails if a module has fewer
//! than [`MIN_ROWS`] says, so a row cannot silently vanish.
//!
//! The rows of [`layer_hyper_parameters`] were found failing by this table (a network met a
//! bad layer only when its pass reached it, after writing below it); they pass since
//! `Sequential::validate` checks every layer and the passes check the batch first.

use std::convert::Infallible;
use std::panic::{catch_unwind, AssertUnwindSafe};

use descent::activation::{self as act, Activation, Elu, LeakyRelu, Softplus};
use descent::dense::{self, Dense};
use descent::dropout::{dropout, dropout_backward, dropout_backward_inplace, dropout_inplace};
use descent::gemm::{matmul_nn, matmul_nt, matmul_tn_acc};
use descent::init::{self, FanMode, Kaiming, Nonlinearity};
use descent::loss::{self, Reduction};
use descent::network::{Layer, LayerKind, Params, Sequential};
use descent::norm::{BatchNorm, LayerNorm, RunningStats};
use descent::optim::{
    step_groups, Adadelta, Adagrad, Adam, AdamW, Adamax, Lion, NAdam, Optimizer, ParamGroup, RAdam,
    RmsProp, Sgd,
};
use descent::regularize::{self as reg, Amount, NormType};
use descent::schedule::{
    ChainedScheduler, ConstantLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, CyclicLR,
    ExponentialLR, LinearLR, LinearWarmup, MultiStepLR, OneCycleLR, PolynomialLR,
    ReduceLROnPlateau, Schedule, SequentialLR, StepLR,
};
use descent::Error;
use descent::Isa;
use rand::TryRng;

// ---------------------------------------------------------------------------------------------
// The harness

/// The bits of the write-only sentinel.
const SENTINEL: u32 = 0x7fc0_1234;
/// The write-only sentinel of `u32` dropout masks.
const MASK_SENTINEL: u32 = 0xDEAD_BEEF;
/// The rows written for each module: the table must have at least these (raise them when
/// adding rows), so that no row can silently vanish.
const MIN_ROWS: [(&str, usize); 14] = [
    ("activation", 462),
    ("dense", 64),
    ("dropout", 52),
    ("gemm", 30),
    ("simd", 2),
    ("init", 100),
    ("loss", 78),
    ("norm", 172),
    ("network", 166),
    ("network layers", 14),
    ("optim", 748),
    ("regularize", 84),
    ("schedule", 167),
    ("train", 61),
];

/// `n` write-only sentinels.
fn sentinel(n: usize) -> Vec<f32> {
    vec![f32::from_bits(SENTINEL); n]
}

/// Whether `v` still holds only sentinels.
fn is_sentinel(v: &[f32]) -> bool {
    v.iter().all(|x| x.to_bits() == SENTINEL)
}

/// A finite pattern of `n` distinct, non-zero values of both signs (the same on every call),
/// for buffers that are read as well as written.
fn pattern(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let v = 0.25 + 0.375 * i as f32;
            if i % 2 == 0 {
                v
            } else {
                -v
            }
        })
        .collect()
}

/// Whether `v` is still `pattern(v.len())`, bit for bit.
fn is_pattern(v: &[f32]) -> bool {
    v.iter()
        .zip(pattern(v.len()))
        .all(|(a, b)| a.to_bits() == b.to_bits())
}

/// A generator that counts the words it gives (none may be drawn on error).
struct Counting {
    state: u64,
    drawn: usize,
}

impl Counting {
    fn new() -> Self {
        Counting {
            state: 0x9E37_79B9_7F4A_7C15,
            drawn: 0,
        }
    }

    fn word(&mut self) -> u64 {
        self.drawn += 1;
        self.state = self
            .state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.state
    }
}

impl TryRng for Counting {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.word() >> 32) as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.word())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for b in dst.iter_mut() {
            *b = self.word() as u8;
        }
        Ok(())
    }
}

/// What a row expects.
#[derive(Clone, Debug, PartialEq)]
enum Want {
    /// This `descent::Error`, exactly.
    Core(Error),
    /// `TrainError::Kernel` of this error.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Kernel(Error),
    /// `TrainError::Data` with this message.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Data(String),
}

impl From<Error> for Want {
    fn from(e: Error) -> Self {
        Want::Core(e)
    }
}

/// What a call gave.
#[derive(Clone, Debug, PartialEq)]
enum Got {
    Ok,
    Core(Error),
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Kernel(Error),
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Data(String),
    /// Another `TrainError` (its `Debug`).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Other(String),
    Panic(String),
}

/// A call's result and whether every buffer, counter and generator is as it was.
struct Outcome {
    got: Got,
    untouched: bool,
}

/// The outcome of a core call.
fn core<T>(r: descent::Result<T>, untouched: bool) -> Outcome {
    Outcome {
        got: match r {
            Ok(_) => Got::Ok,
            Err(e) => Got::Core(e),
        },
        untouched,
    }
}

/// One row: a call with one wrong argument, and the error it must give.
struct Case {
    module: &'static str,
    name: String,
    want: Want,
    run: Box<dyn Fn() -> Outcome>,
}

/// The rows, grouped by module.
#[derive(Default)]
struct Table {
    module: &'static str,
    cases: Vec<Case>,
}

impl Table {
    /// Starts the rows of `module`.
    fn module(&mut self, module: &'static str) {
        self.module = module;
    }

    /// Adds a row.
    fn row(
        &mut self,
        name: impl Into<String>,
        want: impl Into<Want>,
        run: impl Fn() -> Outcome + 'static,
    ) {
        self.cases.push(Case {
            module: self.module,
            name: name.into(),
            want: want.into(),
            run: Box::new(run),
        });
    }
}

fn len(what: &'static str, expected: usize, actual: usize) -> Error {
    Error::LengthMismatch {
        what,
        expected,
        actual,
    }
}

fn zero(what: &'static str) -> Error {
    Error::ZeroDimension { what }
}

fn overflow(what: &'static str) -> Error {
    Error::DimensionOverflow { what }
}

fn hp(what: &'static str) -> Error {
    Error::InvalidHyperParameter { what }
}

fn class(sample: usize, index: usize, classes: usize) -> Error {
    Error::ClassOutOfRange {
        sample,
        index,
        classes,
    }
}

/// `n − 1` and `n + 1`, the two wrong lengths of every length argument.
fn wrong(n: usize) -> [usize; 2] {
    [n - 1, n + 1]
}

/// Non-finite values: refused wherever a value must be finite.
const NON_FINITE: [f32; 3] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
/// Refused where a value must be finite and `≥ 0`.
const NOT_NON_NEGATIVE: [f32; 4] = [-1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
/// Refused where a value must lie in `[0, 1]`.
const NOT_UNIT: [f32; 5] = [-0.1, 1.1, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
/// Refused where a value must be `≥ 0` but may be `+∞` (NaN included).
const NEGATIVE_OR_NAN: [f32; 3] = [-1.0, f32::NAN, f32::NEG_INFINITY];

/// `f64` versions for the schedules.
const NOT_NON_NEGATIVE_64: [f64; 4] = [-1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
const NOT_UNIT_64: [f64; 5] = [-0.1, 1.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];

/// Runs every row; returns the failures and the number of rows per module.
fn run_all(cases: &[Case]) -> (Vec<String>, Vec<(&'static str, usize)>) {
    let mut failures = Vec::new();
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for case in cases {
        match counts.last_mut() {
            Some((m, n)) if *m == case.module => *n += 1,
            _ => counts.push((case.module, 1)),
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| (case.run)())).unwrap_or_else(|p| {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Outcome {
                got: Got::Panic(msg),
                untouched: false,
            }
        });
        let matches = match (&case.want, &outcome.got) {
            (Want::Core(w), Got::Core(g)) | (Want::Kernel(w), Got::Kernel(g)) => w == g,
            (Want::Data(w), Got::Data(g)) => w == g,
            _ => false,
        };
        if !matches {
            failures.push(format!(
                "{}: {}: expected {:?}, got {:?}",
                case.module, case.name, case.want, outcome.got
            ));
        } else if !outcome.untouched {
            failures.push(format!(
                "{}: {}: returned {:?} but modified an output, state or counter",
                case.module, case.name, outcome.got
            ));
        }
    }
    (failures, counts)
}

#[test]
fn every_wrong_argument_gives_its_error_and_writes_nothing() {
    let mut t = Table::default();
    activation(&mut t);
    dense_layer(&mut t);
    dropout_rows(&mut t);
    gemm(&mut t);
    simd(&mut t);
    init_rows(&mut t);
    losses(&mut t);
    norm(&mut t);
    network(&mut t);
    layer_hyper_parameters(&mut t);
    optim(&mut t);
    step_groups_rows(&mut t);
    regularize(&mut t);
    schedule(&mut t);
    #[cfg(feature = "std")]
    train::rows(&mut t);
    #[cfg(feature = "std")]
    train::bad_layer_rows(&mut t);

    let (failures, counts) = run_all(&t.cases);
    for (module, n) in &counts {
        println!("{module:>12}: {n:>4} rows");
    }
    println!("{:>12}: {:>4} rows", "total", t.cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        t.cases.len(),
        failures.join("\n")
    );
    for (module, min) in MIN_ROWS {
        if module == "train" && cfg!(not(feature = "std")) {
            continue;
        }
        let n = counts.iter().find(|(m, _)| *m == module).map_or(0, |c| c.1);
        assert!(
            n >= min,
            "{module} has {n} rows, fewer than the {min} written: rows went missing"
        );
    }
}

/// The harness itself: a row that writes before its `Err`, one with the wrong variant, one with
/// the wrong field, one that panics and one that succeeds are all reported; a right row is not.
#[test]
fn the_harness_reports_every_kind_of_failure() {
    // Keep the row that panics on purpose quiet; any other panic is reported as usual.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<&str>() != Some(&"on purpose") {
            previous(info);
        }
    }));
    let mut t = Table::default();
    t.module("self-check");
    t.row("writes y, then errs", len("y", 3, 2), || {
        let mut y = sentinel(2);
        y[1] = 0.0;
        core(Err::<(), _>(len("y", 3, 2)), is_sentinel(&y))
    });
    t.row("wrong variant", len("y", 3, 2), || {
        core(Err::<(), _>(zero("y")), true)
    });
    t.row("wrong field", len("y", 3, 2), || {
        core(Err::<(), _>(len("y", 3, 4)), true)
    });
    t.row("panics", hp("p"), || panic!("on purpose"));
    t.row("succeeds", hp("p"), || core(Ok(()), true));
    t.row("right", hp("p"), || {
        let mut x = pattern(4);
        x[0] = pattern(1)[0];
        core(Err::<(), _>(hp("p")), is_pattern(&x))
    });
    let (failures, counts) = run_all(&t.cases);
    assert_eq!(counts, vec![("self-check", 6)]);
    assert_eq!(failures.len(), 5, "{failures:#?}");
    assert!(failures.iter().all(|f| !f.contains(": right:")));
}

// ---------------------------------------------------------------------------------------------
// activation

/// Element-wise length.
const N: usize = 13;

type Unary = fn(&[f32], &mut [f32]) -> descent::Result<()>;
type Backward = fn(&[f32], &[f32], &mut [f32]) -> descent::Result<()>;
type BackwardInplace = fn(&[f32], &mut [f32]) -> descent::Result<()>;

/// `f(x, y)`: `y` wrong by ±1.
fn unary_rows(t: &mut Table, name: &'static str, f: Unary) {
    for actual in wrong(N) {
        t.row(
            format!("{name}: y len {actual}"),
            len("y", N, actual),
            move || {
                let mut y = sentinel(actual);
                core(f(&pattern(N), &mut y), is_sentinel(&y))
            },
        );
    }
}

/// `f(saved, dy, dx)`: `dy` and `dx` wrong by ±1.
fn backward_rows(t: &mut Table, name: &'static str, f: Backward) {
    for actual in wrong(N) {
        t.row(
            format!("{name}: dy len {actual}"),
            len("dy", N, actual),
            move || {
                let mut dx = sentinel(N);
                core(f(&pattern(N), &pattern(actual), &mut dx), is_sentinel(&dx))
            },
        );
        t.row(
            format!("{name}: dx len {actual}"),
            len("dx", N, actual),
            move || {
                let mut dx = sentinel(actual);
                core(f(&pattern(N), &pattern(N), &mut dx), is_sentinel(&dx))
            },
        );
    }
}

/// `f(saved, dy)` in place: `dy` wrong by ±1.
fn backward_inplace_rows(t: &mut Table, name: &'static str, f: BackwardInplace) {
    for actual in wrong(N) {
        t.row(
            format!("{name}: dy len {actual}"),
            len("dy", N, actual),
            move || {
                let mut dy = pattern(actual);
                core(f(&pattern(N), &mut dy), is_pattern(&dy))
            },
        );
    }
}

/// A call with a bad hyper-parameter value, by name.
type HyperCall = (&'static str, fn(f32) -> Outcome);

/// The calls of one hyper-parameter family, each with a bad value `v` and correct lengths:
/// forward, in place, backward, backward in place. Every output must stay untouched.
fn hyper_rows(t: &mut Table, what: &'static str, values: &[f32], calls: [HyperCall; 4]) {
    for &v in values {
        for (name, call) in calls {
            t.row(format!("{name}: {what} = {v}"), hp(what), move || call(v));
        }
    }
}

fn forward_with(f: impl Fn(&[f32], &mut [f32]) -> descent::Result<()>) -> Outcome {
    let mut y = sentinel(N);
    core(f(&pattern(N), &mut y), is_sentinel(&y))
}

fn inplace_with(f: impl Fn(&mut [f32]) -> descent::Result<()>) -> Outcome {
    let mut x = pattern(N);
    core(f(&mut x), is_pattern(&x))
}

fn backward_with(f: impl Fn(&[f32], &[f32], &mut [f32]) -> descent::Result<()>) -> Outcome {
    let mut dx = sentinel(N);
    core(f(&pattern(N), &pattern(N), &mut dx), is_sentinel(&dx))
}

fn backward_inplace_with(f: impl Fn(&[f32], &mut [f32]) -> descent::Result<()>) -> Outcome {
    let mut dy = pattern(N);
    core(f(&pattern(N), &mut dy), is_pattern(&dy))
}

/// Softmax-like calls work on `[ROWS, COLS]`.
const ROWS: usize = 3;
const COLS: usize = 5;
const M: usize = ROWS * COLS;

type RowForward = fn(&[f32], &mut [f32], usize) -> descent::Result<()>;
type RowInplace = fn(&mut [f32], usize) -> descent::Result<()>;
type RowBackward = fn(&[f32], &[f32], &mut [f32], usize) -> descent::Result<()>;
type RowBackwardInplace = fn(&[f32], &mut [f32], usize) -> descent::Result<()>;

/// The `LengthMismatch` of a `[·, COLS]` slice of `actual` elements: the multiple of `COLS`
/// below it is expected.
fn not_whole_rows(what: &'static str, actual: usize) -> Error {
    len(what, actual / COLS * COLS, actual)
}

fn row_forward_rows(t: &mut Table, name: &'static str, f: RowForward, first: &'static str) {
    t.row(format!("{name}: cols = 0"), zero("cols"), move || {
        let mut y = sentinel(M);
        core(f(&pattern(M), &mut y, 0), is_sentinel(&y))
    });
    for actual in wrong(M) {
        t.row(
            format!("{name}: {first} len {actual} (not whole rows)"),
            not_whole_rows(first, actual),
            move || {
                let mut y = sentinel(actual);
                core(f(&pattern(actual), &mut y, COLS), is_sentinel(&y))
            },
        );
        t.row(
            format!("{name}: y len {actual}"),
            len("y", M, actual),
            move || {
                let mut y = sentinel(actual);
                core(f(&pattern(M), &mut y, COLS), is_sentinel(&y))
            },
        );
    }
}

fn row_inplace_rows(t: &mut Table, name: &'static str, f: RowInplace) {
    t.row(format!("{name}: cols = 0"), zero("cols"), move || {
        let mut x = pattern(M);
        core(f(&mut x, 0), is_pattern(&x))
    });
    for actual in wrong(M) {
        t.row(
            format!("{name}: x len {actual} (not whole rows)"),
            not_whole_rows("x", actual),
            move || {
                let mut x = pattern(actual);
                core(f(&mut x, COLS), is_pattern(&x))
            },
        );
    }
}

fn row_backward_rows(t: &mut Table, name: &'static str, f: RowBackward, first: &'static str) {
    t.row(format!("{name}: cols = 0"), zero("cols"), move || {
        let mut dx = sentinel(M);
        core(f(&pattern(M), &pattern(M), &mut dx, 0), is_sentinel(&dx))
    });
    for actual in wrong(M) {
        t.row(
            format!("{name}: {first} len {actual} (not whole rows)"),
            not_whole_rows(first, actual),
            move || {
                let mut dx = sentinel(actual);
                core(
                    f(&pattern(actual), &pattern(actual), &mut dx, COLS),
                    is_sentinel(&dx),
                )
            },
        );
        t.row(
            format!("{name}: dy len {actual}"),
            len("dy", M, actual),
            move || {
                let mut dx = sentinel(M);
                core(
                    f(&pattern(M), &pattern(actual), &mut dx, COLS),
                    is_sentinel(&dx),
                )
            },
        );
        t.row(
            format!("{name}: dx len {actual}"),
            len("dx", M, actual),
            move || {
                let mut dx = sentinel(actual);
                core(f(&pattern(M), &pattern(M), &mut dx, COLS), is_sentinel(&dx))
            },
        );
    }
}

fn row_backward_inplace_rows(
    t: &mut Table,
    name: &'static str,
    f: RowBackwardInplace,
    first: &'static str,
) {
    t.row(format!("{name}: cols = 0"), zero("cols"), move || {
        let mut dy = pattern(M);
        core(f(&pattern(M), &mut dy, 0), is_pattern(&dy))
    });
    for actual in wrong(M) {
        t.row(
            format!("{name}: {first} len {actual} (not whole rows)"),
            not_whole_rows(first, actual),
            move || {
                let mut dy = pattern(actual);
                core(f(&pattern(actual), &mut dy, COLS), is_pattern(&dy))
            },
        );
        t.row(
            format!("{name}: dy len {actual}"),
            len("dy", M, actual),
            move || {
                let mut dy = pattern(actual);
                core(f(&pattern(M), &mut dy, COLS), is_pattern(&dy))
            },
        );
    }
}

/// Every `Activation` with valid hyper-parameters.
const ACTIVATIONS: [Activation; 12] = [
    Activation::Relu,
    Activation::LeakyRelu(LeakyRelu::DEFAULT),
    Activation::LeakyRelu(LeakyRelu {
        negative_slope: -0.5,
    }),
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Gelu,
    Activation::GeluTanh,
    Activation::Silu,
    Activation::Softplus(Softplus::DEFAULT),
    Activation::Elu(Elu::DEFAULT),
    Activation::Softmax,
    Activation::LogSoftmax,
];

/// The `Activation` methods on `[ROWS, COLS]`: zero `cols`, lengths that are not whole rows,
/// and every other slice wrong by ±1.
fn activation_enum_rows(t: &mut Table, a: Activation) {
    let name = format!("Activation::{a:?}");
    t.row(
        format!("{name}.forward: cols = 0"),
        zero("cols"),
        move || {
            let mut y = sentinel(M);
            core(a.forward(&pattern(M), &mut y, 0), is_sentinel(&y))
        },
    );
    t.row(
        format!("{name}.forward_inplace: cols = 0"),
        zero("cols"),
        move || {
            let mut x = pattern(M);
            core(a.forward_inplace(&mut x, 0), is_pattern(&x))
        },
    );
    t.row(
        format!("{name}.backward: cols = 0"),
        zero("cols"),
        move || {
            let mut dx = sentinel(M);
            core(
                a.backward(&pattern(M), &pattern(M), &mut dx, 0),
                is_sentinel(&dx),
            )
        },
    );
    t.row(
        format!("{name}.backward_inplace: cols = 0"),
        zero("cols"),
        move || {
            let mut dy = pattern(M);
            core(a.backward_inplace(&pattern(M), &mut dy, 0), is_pattern(&dy))
        },
    );
    for actual in wrong(M) {
        t.row(
            format!("{name}.forward: x len {actual}"),
            not_whole_rows("x", actual),
            move || {
                let mut y = sentinel(actual);
                core(a.forward(&pattern(actual), &mut y, COLS), is_sentinel(&y))
            },
        );
        t.row(
            format!("{name}.forward: y len {actual}"),
            len("y", M, actual),
            move || {
                let mut y = sentinel(actual);
                core(a.forward(&pattern(M), &mut y, COLS), is_sentinel(&y))
            },
        );
        t.row(
            format!("{name}.forward_inplace: x len {actual}"),
            not_whole_rows("x", actual),
            move || {
                let mut x = pattern(actual);
                core(a.forward_inplace(&mut x, COLS), is_pattern(&x))
            },
        );
        t.row(
            format!("{name}.backward: saved len {actual}"),
            not_whole_rows("saved", actual),
            move || {
                let mut dx = sentinel(actual);
                core(
                    a.backward(&pattern(actual), &pattern(actual), &mut dx, COLS),
                    is_sentinel(&dx),
                )
            },
        );
        t.row(
            format!("{name}.backward: dy len {actual}"),
            len("dy", M, actual),
            move || {
                let mut dx = sentinel(M);
                core(
                    a.backward(&pattern(M), &pattern(actual), &mut dx, COLS),
                    is_sentinel(&dx),
                )
            },
        );
        t.row(
            format!("{name}.backward: dx len {actual}"),
            len("dx", M, actual),
            move || {
                let mut dx = sentinel(actual);
                core(
                    a.backward(&pattern(M), &pattern(M), &mut dx, COLS),
                    is_sentinel(&dx),
                )
            },
        );
        t.row(
            format!("{name}.backward_inplace: saved len {actual}"),
            not_whole_rows("saved", actual),
            move || {
                let mut dy = pattern(actual);
                core(
                    a.backward_inplace(&pattern(actual), &mut dy, COLS),
                    is_pattern(&dy),
                )
            },
        );
        t.row(
            format!("{name}.backward_inplace: dy len {actual}"),
            len("dy", M, actual),
            move || {
                let mut dy = pattern(actual);
                core(
                    a.backward_inplace(&pattern(M), &mut dy, COLS),
                    is_pattern(&dy),
                )
            },
        );
    }
}

/// An `Activation` with a bad hyper-parameter: every method refuses it with correct lengths.
fn activation_enum_hyper_rows(t: &mut Table, a: Activation, what: &'static str) {
    let name = format!("Activation::{a:?}");
    t.row(format!("{name}.forward"), hp(what), move || {
        let mut y = sentinel(M);
        core(a.forward(&pattern(M), &mut y, COLS), is_sentinel(&y))
    });
    t.row(format!("{name}.forward_inplace"), hp(what), move || {
        let mut x = pattern(M);
        core(a.forward_inplace(&mut x, COLS), is_pattern(&x))
    });
    t.row(format!("{name}.backward"), hp(what), move || {
        let mut dx = sentinel(M);
        core(
            a.backward(&pattern(M), &pattern(M), &mut dx, COLS),
            is_sentinel(&dx),
        )
    });
    t.row(format!("{name}.backward_inplace"), hp(what), move || {
        let mut dy = pattern(M);
        core(
            a.backward_inplace(&pattern(M), &mut dy, COLS),
            is_pattern(&dy),
        )
    });
}

fn activation(t: &mut Table) {
    t.module("activation");
    let unary: [(&'static str, Unary); 9] = [
        ("relu", act::relu),
        ("sigmoid", act::sigmoid),
        ("tanh", act::tanh),
        ("gelu", act::gelu),
        ("gelu_tanh", act::gelu_tanh),
        ("silu", act::silu),
        ("leaky_relu", |x, y| act::leaky_relu(x, y, 0.01)),
        ("elu", |x, y| act::elu(x, y, 1.0)),
        ("softplus", |x, y| act::softplus(x, y, 1.0, 20.0)),
    ];
    for (name, f) in unary {
        unary_rows(t, name, f);
    }
    let backward: [(&'static str, Backward); 10] = [
        ("relu_backward", act::relu_backward),
        ("sigmoid_backward", act::sigmoid_backward),
        ("tanh_backward", act::tanh_backward),
        ("gelu_backward", act::gelu_backward),
        ("gelu_tanh_backward", act::gelu_tanh_backward),
        ("silu_backward", act::silu_backward),
        ("leaky_relu_backward", |s, dy, dx| {
            act::leaky_relu_backward(s, dy, dx, 0.01)
        }),
        ("elu_backward", |s, dy, dx| {
            act::elu_backward(s, dy, dx, 1.0)
        }),
        ("elu_backward_input", |s, dy, dx| {
            act::elu_backward_input(s, dy, dx, -1.0)
        }),
        ("softplus_backward", |s, dy, dx| {
            act::softplus_backward(s, dy, dx, 1.0, 20.0)
        }),
    ];
    for (name, f) in backward {
        backward_rows(t, name, f);
    }
    let backward_inplace: [(&'static str, BackwardInplace); 10] = [
        ("relu_backward_inplace", act::relu_backward_inplace),
        ("sigmoid_backward_inplace", act::sigmoid_backward_inplace),
        ("tanh_backward_inplace", act::tanh_backward_inplace),
        ("gelu_backward_inplace", act::gelu_backward_inplace),
        (
            "gelu_tanh_backward_inplace",
            act::gelu_tanh_backward_inplace,
        ),
        ("silu_backward_inplace", act::silu_backward_inplace),
        ("leaky_relu_backward_inplace", |s, dy| {
            act::leaky_relu_backward_inplace(s, dy, 0.01)
        }),
        ("elu_backward_inplace", |s, dy| {
            act::elu_backward_inplace(s, dy, 1.0)
        }),
        ("elu_backward_input_inplace", |s, dy| {
            act::elu_backward_input_inplace(s, dy, -1.0)
        }),
        ("softplus_backward_inplace", |s, dy| {
            act::softplus_backward_inplace(s, dy, 1.0, 20.0)
        }),
    ];
    for (name, f) in backward_inplace {
        backward_inplace_rows(t, name, f);
    }

    // Hyper-parameters, each call with correct lengths.
    hyper_rows(
        t,
        "negative_slope",
        &NON_FINITE,
        [
            ("leaky_relu", |v| {
                forward_with(|x, y| act::leaky_relu(x, y, v))
            }),
            ("leaky_relu_inplace", |v| {
                inplace_with(|x| act::leaky_relu_inplace(x, v))
            }),
            ("leaky_relu_backward", |v| {
                backward_with(|s, dy, dx| act::leaky_relu_backward(s, dy, dx, v))
            }),
            ("leaky_relu_backward_inplace", |v| {
                backward_inplace_with(|s, dy| act::leaky_relu_backward_inplace(s, dy, v))
            }),
        ],
    );
    hyper_rows(
        t,
        "alpha",
        &NON_FINITE,
        [
            ("elu", |v| forward_with(|x, y| act::elu(x, y, v))),
            ("elu_inplace", |v| inplace_with(|x| act::elu_inplace(x, v))),
            ("elu_backward_input", |v| {
                backward_with(|s, dy, dx| act::elu_backward_input(s, dy, dx, v))
            }),
            ("elu_backward_input_inplace", |v| {
                backward_inplace_with(|s, dy| act::elu_backward_input_inplace(s, dy, v))
            }),
        ],
    );
    // From the output, alpha must also be ≥ 0.
    for v in [-1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        t.row(
            format!("elu_backward: alpha = {v}"),
            hp("alpha"),
            move || backward_with(|s, dy, dx| act::elu_backward(s, dy, dx, v)),
        );
        t.row(
            format!("elu_backward_inplace: alpha = {v}"),
            hp("alpha"),
            move || backward_inplace_with(|s, dy| act::elu_backward_inplace(s, dy, v)),
        );
    }
    hyper_rows(
        t,
        "beta",
        &[0.0, -1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY],
        [
            ("softplus", |v| {
                forward_with(|x, y| act::softplus(x, y, v, 20.0))
            }),
            ("softplus_inplace", |v| {
                inplace_with(|x| act::softplus_inplace(x, v, 20.0))
            }),
            ("softplus_backward", |v| {
                backward_with(|s, dy, dx| act::softplus_backward(s, dy, dx, v, 20.0))
            }),
            ("softplus_backward_inplace", |v| {
                backward_inplace_with(|s, dy| act::softplus_backward_inplace(s, dy, v, 20.0))
            }),
        ],
    );
    hyper_rows(
        t,
        "threshold",
        &[f32::NAN],
        [
            ("softplus", |v| {
                forward_with(|x, y| act::softplus(x, y, 1.0, v))
            }),
            ("softplus_inplace", |v| {
                inplace_with(|x| act::softplus_inplace(x, 1.0, v))
            }),
            ("softplus_backward", |v| {
                backward_with(|s, dy, dx| act::softplus_backward(s, dy, dx, 1.0, v))
            }),
            ("softplus_backward_inplace", |v| {
                backward_inplace_with(|s, dy| act::softplus_backward_inplace(s, dy, 1.0, v))
            }),
        ],
    );

    // Softmax and log-softmax over rows.
    row_forward_rows(t, "softmax", act::softmax, "x");
    row_forward_rows(t, "log_softmax", act::log_softmax, "x");
    row_inplace_rows(t, "softmax_inplace", act::softmax_inplace);
    row_inplace_rows(t, "log_softmax_inplace", act::log_softmax_inplace);
    row_backward_rows(t, "softmax_backward", act::softmax_backward, "y");
    row_backward_rows(t, "log_softmax_backward", act::log_softmax_backward, "y");
    row_backward_inplace_rows(
        t,
        "softmax_backward_inplace",
        act::softmax_backward_inplace,
        "y",
    );
    row_backward_inplace_rows(
        t,
        "log_softmax_backward_inplace",
        act::log_softmax_backward_inplace,
        "y",
    );

    // The `Activation` enum.
    for a in ACTIVATIONS {
        activation_enum_rows(t, a);
    }
    for v in NON_FINITE {
        activation_enum_hyper_rows(
            t,
            Activation::LeakyRelu(LeakyRelu { negative_slope: v }),
            "negative_slope",
        );
        activation_enum_hyper_rows(t, Activation::Elu(Elu { alpha: v }), "alpha");
    }
    for v in [0.0, -1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        activation_enum_hyper_rows(
            t,
            Activation::Softplus(Softplus {
                beta: v,
                threshold: 20.0,
            }),
            "beta",
        );
    }
    activation_enum_hyper_rows(
        t,
        Activation::Softplus(Softplus {
            beta: 1.0,
            threshold: f32::NAN,
        }),
        "threshold",
    );
}

// ---------------------------------------------------------------------------------------------
// dense

/// A layer `IN → OUT` over a batch of `B`.
const B: usize = 3;
const IN: usize = 5;
const OUT: usize = 4;

/// The slices of one dense call, each of its right length unless a row changes one.
#[derive(Clone, Copy)]
struct DenseLens {
    x: usize,
    weight: usize,
    bias: usize,
    y: usize,
    dweight: usize,
    dx: usize,
}

const DENSE_LENS: DenseLens = DenseLens {
    x: B * IN,
    weight: OUT * IN,
    bias: OUT,
    y: B * OUT,
    dweight: OUT * IN,
    dx: B * IN,
};

/// `Dense::forward` (or the free `dense::forward` when `free`) with these lengths.
fn dense_forward(layer: Dense, l: DenseLens, free: bool) -> Outcome {
    let mut y = sentinel(l.y);
    let (x, w, b) = (pattern(l.x), pattern(l.weight), pattern(l.bias));
    let r = if free {
        dense::forward(
            &x,
            &w,
            Some(&b),
            &mut y,
            layer.batch,
            layer.in_features,
            layer.out_features,
        )
    } else {
        layer.forward(&x, &w, Some(&b), &mut y)
    };
    core(r, is_sentinel(&y))
}

/// `Dense::backward` (or the free `dense::backward`) with these lengths: `dweight` and `dbias`
/// accumulate (pattern), `dx` is written (sentinel).
fn dense_backward(layer: Dense, l: DenseLens, free: bool) -> Outcome {
    let (x, w, dy) = (pattern(l.x), pattern(l.weight), pattern(l.y));
    let (mut dw, mut db, mut dx) = (pattern(l.dweight), pattern(l.bias), sentinel(l.dx));
    let r = if free {
        dense::backward(
            &x,
            &w,
            &dy,
            &mut dw,
            Some(&mut db),
            Some(&mut dx),
            layer.batch,
            layer.in_features,
            layer.out_features,
        )
    } else {
        layer.backward(&x, &w, &dy, &mut dw, Some(&mut db), Some(&mut dx))
    };
    core(r, is_pattern(&dw) && is_pattern(&db) && is_sentinel(&dx))
}

fn dense_layer(t: &mut Table) {
    t.module("dense");
    let layer = Dense::new(B, IN, OUT);
    type Set = fn(&mut DenseLens, usize);
    let forward_args: [(&'static str, usize, Set); 4] = [
        ("x", B * IN, |l, n| l.x = n),
        ("weight", OUT * IN, |l, n| l.weight = n),
        ("bias", OUT, |l, n| l.bias = n),
        ("y", B * OUT, |l, n| l.y = n),
    ];
    let backward_args: [(&'static str, usize, Set); 6] = [
        ("x", B * IN, |l, n| l.x = n),
        ("weight", OUT * IN, |l, n| l.weight = n),
        ("dy", B * OUT, |l, n| l.y = n),
        ("dweight", OUT * IN, |l, n| l.dweight = n),
        ("dbias", OUT, |l, n| l.bias = n),
        ("dx", B * IN, |l, n| l.dx = n),
    ];
    // Zero and overflowing dimensions (slices of the healthy layer's lengths, or what the
    // checks before the failing one need).
    let dims: [(&'static str, Dense, DenseLens, Error); 6] = [
        (
            "batch = 0",
            Dense::new(0, IN, OUT),
            DENSE_LENS,
            zero("batch"),
        ),
        (
            "in_features = 0",
            Dense::new(B, 0, OUT),
            DENSE_LENS,
            zero("in_features"),
        ),
        (
            "out_features = 0",
            Dense::new(B, IN, 0),
            DENSE_LENS,
            zero("out_features"),
        ),
        (
            "batch = usize::MAX",
            Dense::new(usize::MAX, 2, 1),
            DENSE_LENS,
            overflow("x"),
        ),
        (
            "out_features = usize::MAX (weight)",
            Dense::new(1, 2, usize::MAX),
            DenseLens { x: 2, ..DENSE_LENS },
            overflow("weight"),
        ),
        (
            "out_features = usize::MAX (y)",
            Dense::new(2, 1, usize::MAX),
            DenseLens { x: 2, ..DENSE_LENS },
            overflow("y"),
        ),
    ];
    for free in [false, true] {
        let f = if free { "dense::" } else { "Dense::" };
        for (arg, n, set) in forward_args {
            for actual in wrong(n) {
                t.row(
                    format!("{f}forward: {arg} len {actual}"),
                    len(arg, n, actual),
                    move || {
                        let mut l = DENSE_LENS;
                        set(&mut l, actual);
                        dense_forward(layer, l, free)
                    },
                );
            }
        }
        for (arg, n, set) in backward_args {
            for actual in wrong(n) {
                t.row(
                    format!("{f}backward: {arg} len {actual}"),
                    len(arg, n, actual),
                    move || {
                        let mut l = DENSE_LENS;
                        set(&mut l, actual);
                        dense_backward(layer, l, free)
                    },
                );
            }
        }
        for (what, bad, lens, e) in dims {
            t.row(format!("{f}forward: {what}"), e, move || {
                dense_forward(bad, lens, free)
            });
            t.row(format!("{f}backward: {what}"), e, move || {
                dense_backward(bad, lens, free)
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// dropout

/// Dropout length: two mask words.
const D: usize = 40;
const D_MASK: usize = 2;

/// `dropout` with these lengths and `p`: `y` and the mask are write-only, nothing may be drawn.
fn run_dropout(x: usize, y: usize, mask: usize, p: f32, training: bool) -> Outcome {
    let mut rng = Counting::new();
    let mut out = sentinel(y);
    let mut m = vec![MASK_SENTINEL; mask];
    let r = dropout(&pattern(x), &mut out, &mut m, p, training, &mut rng);
    let untouched = is_sentinel(&out) && m.iter().all(|&w| w == MASK_SENTINEL) && rng.drawn == 0;
    core(r, untouched)
}

fn run_dropout_inplace(x: usize, mask: usize, p: f32, training: bool) -> Outcome {
    let mut rng = Counting::new();
    let mut v = pattern(x);
    let mut m = vec![MASK_SENTINEL; mask];
    let r = dropout_inplace(&mut v, &mut m, p, training, &mut rng);
    let untouched = is_pattern(&v) && m.iter().all(|&w| w == MASK_SENTINEL) && rng.drawn == 0;
    core(r, untouched)
}

fn run_dropout_backward(dy: usize, dx: usize, mask: usize, p: f32) -> Outcome {
    let mut out = sentinel(dx);
    let r = dropout_backward(&pattern(dy), &mut out, &vec![u32::MAX; mask], p);
    core(r, is_sentinel(&out))
}

fn run_dropout_backward_inplace(d: usize, mask: usize, p: f32) -> Outcome {
    let mut v = pattern(d);
    let r = dropout_backward_inplace(&mut v, &vec![u32::MAX; mask], p);
    core(r, is_pattern(&v))
}

fn dropout_rows(t: &mut Table) {
    t.module("dropout");
    for p in NOT_UNIT {
        for training in [true, false] {
            t.row(
                format!("dropout: p = {p} (training = {training})"),
                hp("p"),
                move || run_dropout(D, D, D_MASK, p, training),
            );
            t.row(
                format!("dropout_inplace: p = {p} (training = {training})"),
                hp("p"),
                move || run_dropout_inplace(D, D_MASK, p, training),
            );
        }
        t.row(format!("dropout_backward: p = {p}"), hp("p"), move || {
            run_dropout_backward(D, D, D_MASK, p)
        });
        t.row(
            format!("dropout_backward_inplace: p = {p}"),
            hp("p"),
            move || run_dropout_backward_inplace(D, D_MASK, p),
        );
    }
    for actual in wrong(D) {
        for training in [true, false] {
            t.row(
                format!("dropout: y len {actual} (training = {training})"),
                len("y", D, actual),
                move || run_dropout(D, actual, D_MASK, 0.5, training),
            );
        }
        t.row(
            format!("dropout_backward: dx len {actual}"),
            len("dx", D, actual),
            move || run_dropout_backward(D, actual, D_MASK, 0.5),
        );
    }
    for actual in wrong(D_MASK) {
        for p in [0.0, 0.5, 1.0] {
            t.row(
                format!("dropout: mask len {actual} (p = {p})"),
                len("mask", D_MASK, actual),
                move || run_dropout(D, D, actual, p, true),
            );
            t.row(
                format!("dropout_inplace: mask len {actual} (p = {p})"),
                len("mask", D_MASK, actual),
                move || run_dropout_inplace(D, actual, p, true),
            );
        }
        t.row(
            format!("dropout_backward: mask len {actual}"),
            len("mask", D_MASK, actual),
            move || run_dropout_backward(D, D, actual, 0.5),
        );
        t.row(
            format!("dropout_backward_inplace: mask len {actual}"),
            len("mask", D_MASK, actual),
            move || run_dropout_backward_inplace(D, actual, 0.5),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// gemm

type Product = fn(Isa, usize, usize, usize, &[f32], &[f32], &mut [f32]) -> descent::Result<()>;

/// A product with these dimensions and lengths; `accumulates` says whether `c` is read.
fn run_product(
    f: Product,
    accumulates: bool,
    (m, n, k): (usize, usize, usize),
    (a, b, c): (usize, usize, usize),
) -> Outcome {
    let mut out = if accumulates { pattern(c) } else { sentinel(c) };
    let r = f(Isa::detect(), m, n, k, &pattern(a), &pattern(b), &mut out);
    let untouched = if accumulates {
        is_pattern(&out)
    } else {
        is_sentinel(&out)
    };
    core(r, untouched)
}

fn gemm(t: &mut Table) {
    t.module("gemm");
    let products: [(&'static str, Product, bool); 3] = [
        ("matmul_nt", matmul_nt, false),
        ("matmul_tn_acc", matmul_tn_acc, true),
        ("matmul_nn", matmul_nn, false),
    ];
    let (m, n, k) = (3, 4, 5);
    let (a, b, c) = (m * k, n * k, m * n);
    for (name, f, acc) in products {
        for actual in wrong(a) {
            t.row(
                format!("{name}: a len {actual}"),
                len("a", a, actual),
                move || run_product(f, acc, (m, n, k), (actual, b, c)),
            );
        }
        for actual in wrong(b) {
            t.row(
                format!("{name}: b len {actual}"),
                len("b", b, actual),
                move || run_product(f, acc, (m, n, k), (a, actual, c)),
            );
        }
        for actual in wrong(c) {
            t.row(
                format!("{name}: c len {actual}"),
                len("c", c, actual),
                move || run_product(f, acc, (m, n, k), (a, b, actual)),
            );
        }
        // Zero dimensions are allowed here (an empty product); only the lengths must agree.
        t.row(
            format!("{name}: m = 0 with a non-empty a"),
            len("a", 0, a),
            move || run_product(f, acc, (0, n, k), (a, b, 0)),
        );
        t.row(
            format!("{name}: m = usize::MAX (a overflows)"),
            overflow("a"),
            move || run_product(f, acc, (usize::MAX, 1, 2), (0, 2, 0)),
        );
        t.row(
            format!("{name}: n = usize::MAX (b overflows)"),
            overflow("b"),
            move || run_product(f, acc, (1, usize::MAX, 2), (2, 0, 0)),
        );
        t.row(
            format!("{name}: m = usize::MAX, k = 0 (c overflows)"),
            overflow("c"),
            move || run_product(f, acc, (usize::MAX, 2, 0), (0, 0, 0)),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// simd

fn simd(t: &mut Table) {
    t.module("simd");
    for actual in wrong(N) {
        t.row(
            format!("axpy: y len {actual}"),
            len("y", N, actual),
            move || {
                let mut y = pattern(actual);
                core(
                    descent::simd::axpy(0.5, &pattern(N), &mut y),
                    is_pattern(&y),
                )
            },
        );
    }
}

// ---------------------------------------------------------------------------------------------
// init

/// A weight `[4, 3]`.
const SHAPE: [usize; 2] = [4, 3];
const NUMEL: usize = 12;

/// A fill into a `pattern` tensor of `n` elements with a counting generator: the tensor must
/// keep its pattern and the generator must not be drawn from.
fn run_fill(n: usize, f: impl Fn(&mut [f32], &mut Counting) -> descent::Result<()>) -> Outcome {
    let mut tensor = pattern(n);
    let mut rng = Counting::new();
    let r = f(&mut tensor, &mut rng);
    core(r, is_pattern(&tensor) && rng.drawn == 0)
}

type ShapedInit = fn(&mut [f32], &[usize], &mut Counting) -> descent::Result<()>;

fn init_rows(t: &mut Table) {
    t.module("init");
    // fans: at least two dimensions, no overflow.
    for (shape, e) in [
        (vec![], len("shape", 2, 0)),
        (vec![5], len("shape", 2, 1)),
        (vec![usize::MAX, 2, 2], overflow("shape")),
        (vec![2, usize::MAX, 2], overflow("shape")),
        (vec![2, 2, usize::MAX, 2], overflow("shape")),
    ] {
        t.row(format!("fans: shape {shape:?}"), e, move || {
            core(init::fans(&shape), true)
        });
    }
    for v in NON_FINITE {
        t.row(
            format!("calculate_gain: leaky_relu param = {v}"),
            hp("param"),
            move || {
                core(
                    init::calculate_gain(Nonlinearity::LeakyRelu { negative_slope: v }),
                    true,
                )
            },
        );
    }

    // The plain fills: no length argument, only their parameters.
    for v in NON_FINITE {
        t.row(format!("uniform: a = {v}"), hp("a"), move || {
            run_fill(N, |x, r| init::uniform(x, v, 1.0, r))
        });
        t.row(format!("uniform: b = {v}"), hp("b"), move || {
            run_fill(N, |x, r| init::uniform(x, 0.0, v, r))
        });
        t.row(format!("normal: mean = {v}"), hp("mean"), move || {
            run_fill(N, |x, r| init::normal(x, v, 1.0, r))
        });
        t.row(format!("trunc_normal: mean = {v}"), hp("mean"), move || {
            run_fill(N, |x, r| init::trunc_normal(x, v, 1.0, -2.0, 2.0, r))
        });
        t.row(format!("trunc_normal: a = {v}"), hp("a"), move || {
            run_fill(N, |x, r| init::trunc_normal(x, 0.0, 1.0, v, 2.0, r))
        });
        t.row(format!("trunc_normal: b = {v}"), hp("b"), move || {
            run_fill(N, |x, r| init::trunc_normal(x, 0.0, 1.0, -2.0, v, r))
        });
        t.row(format!("constant: val = {v}"), hp("val"), move || {
            run_fill(N, |x, _| init::constant(x, v))
        });
    }
    t.row("uniform: b < a", hp("b"), move || {
        run_fill(N, |x, r| init::uniform(x, 1.0, 0.5, r))
    });
    // A std whose values could overflow f32 is refused with the negative and NaN ones.
    for v in [-1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e38] {
        t.row(format!("normal: std = {v}"), hp("std"), move || {
            run_fill(N, |x, r| init::normal(x, 0.0, v, r))
        });
    }
    for v in [0.0, -1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        t.row(format!("trunc_normal: std = {v}"), hp("std"), move || {
            run_fill(N, |x, r| init::trunc_normal(x, 0.0, v, -2.0, 2.0, r))
        });
    }
    t.row("trunc_normal: b < a", hp("b"), move || {
        run_fill(N, |x, r| init::trunc_normal(x, 0.0, 1.0, 2.0, -2.0, r))
    });
    t.row(
        "trunc_normal: interval 40 std above the mean",
        hp("a"),
        move || run_fill(N, |x, r| init::trunc_normal(x, 0.0, 1.0, 40.0, 41.0, r)),
    );
    t.row(
        "trunc_normal: interval 40 std below the mean",
        hp("b"),
        move || run_fill(N, |x, r| init::trunc_normal(x, 0.0, 1.0, -41.0, -40.0, r)),
    );

    // The shaped initialisations: tensor length, shape, and their own parameter.
    let shaped: [(&'static str, ShapedInit); 6] = [
        ("xavier_uniform", |x, s, r| {
            init::xavier_uniform(x, s, 1.0, r)
        }),
        ("xavier_normal", |x, s, r| init::xavier_normal(x, s, 1.0, r)),
        ("kaiming_uniform", |x, s, r| {
            init::kaiming_uniform(x, s, Kaiming::default(), r)
        }),
        ("kaiming_normal", |x, s, r| {
            init::kaiming_normal(x, s, Kaiming::default(), r)
        }),
        ("lecun_uniform", init::lecun_uniform),
        ("lecun_normal", init::lecun_normal),
    ];
    for (name, f) in shaped {
        for actual in wrong(NUMEL) {
            t.row(
                format!("{name}: tensor len {actual}"),
                len("tensor", NUMEL, actual),
                move || run_fill(actual, |x, r| f(x, &SHAPE, r)),
            );
        }
        t.row(
            format!("{name}: shape [12]"),
            len("shape", 2, 1),
            move || run_fill(NUMEL, |x, r| f(x, &[NUMEL], r)),
        );
        t.row(format!("{name}: shape []"), len("shape", 2, 0), move || {
            run_fill(NUMEL, |x, r| f(x, &[], r))
        });
        t.row(
            format!("{name}: shape [usize::MAX, 2, 2]"),
            overflow("shape"),
            move || run_fill(NUMEL, |x, r| f(x, &[usize::MAX, 2, 2], r)),
        );
        t.row(
            format!("{name}: shape [usize::MAX, 2] (numel overflows)"),
            overflow("shape"),
            move || run_fill(NUMEL, |x, r| f(x, &[usize::MAX, 2], r)),
        );
    }
    // gain ≥ 0 and finite, and small enough that the bound or std stays finite.
    for v in [-1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        t.row(
            format!("xavier_uniform: gain = {v}"),
            hp("gain"),
            move || run_fill(NUMEL, |x, r| init::xavier_uniform(x, &SHAPE, v, r)),
        );
        t.row(
            format!("xavier_normal: gain = {v}"),
            hp("gain"),
            move || run_fill(NUMEL, |x, r| init::xavier_normal(x, &SHAPE, v, r)),
        );
    }
    // A finite gain whose bound (√(6/3)·gain) or std (with the 8.58σ tail) overflows f32.
    t.row(
        "xavier_uniform: gain = f32::MAX, shape [1, 2]",
        hp("gain"),
        move || run_fill(2, |x, r| init::xavier_uniform(x, &[1, 2], f32::MAX, r)),
    );
    t.row(
        "xavier_normal: gain = f32::MAX, shape [1, 2]",
        hp("gain"),
        move || run_fill(2, |x, r| init::xavier_normal(x, &[1, 2], f32::MAX, r)),
    );
    for v in NON_FINITE {
        let kaiming = Kaiming {
            mode: FanMode::FanOut,
            nonlinearity: Nonlinearity::LeakyRelu { negative_slope: v },
        };
        t.row(
            format!("kaiming_uniform: a (leaky slope) = {v}"),
            hp("a"),
            move || run_fill(NUMEL, |x, r| init::kaiming_uniform(x, &SHAPE, kaiming, r)),
        );
        t.row(
            format!("kaiming_normal: a (leaky slope) = {v}"),
            hp("a"),
            move || run_fill(NUMEL, |x, r| init::kaiming_normal(x, &SHAPE, kaiming, r)),
        );
    }

    // dense_default: weight [OUT, IN] and bias [OUT].
    let run_dense = |w: usize, b: usize, inp: usize, out: usize| {
        let (mut weight, mut bias) = (pattern(w), pattern(b));
        let mut rng = Counting::new();
        let r = init::dense_default(&mut weight, Some(&mut bias), inp, out, &mut rng);
        core(
            r,
            is_pattern(&weight) && is_pattern(&bias) && rng.drawn == 0,
        )
    };
    for actual in wrong(OUT * IN) {
        t.row(
            format!("dense_default: weight len {actual}"),
            len("weight", OUT * IN, actual),
            move || run_dense(actual, OUT, IN, OUT),
        );
    }
    for actual in wrong(OUT) {
        t.row(
            format!("dense_default: bias len {actual}"),
            len("bias", OUT, actual),
            move || run_dense(OUT * IN, actual, IN, OUT),
        );
    }
    t.row(
        "dense_default: out_features = usize::MAX",
        overflow("weight"),
        move || run_dense(OUT * IN, OUT, 2, usize::MAX),
    );
}

// ---------------------------------------------------------------------------------------------
// loss

type Elementwise = fn(&[f32], &[f32], Option<&mut [f32]>) -> descent::Result<f32>;

/// An element-wise loss with these lengths; `grad` is write-only.
fn run_elementwise(f: Elementwise, input: usize, target: usize, grad: usize) -> Outcome {
    let mut g = sentinel(grad);
    let r = f(&pattern(input), &pattern(target), Some(&mut g));
    core(r, is_sentinel(&g))
}

/// A class-index loss (`cross_entropy` with `label_smoothing`, or `nll` when `None`) of
/// `classes` classes over these targets; `grad` is write-only.
fn run_class_loss(
    smoothing: Option<f32>,
    logits: usize,
    target: &[usize],
    classes: usize,
    grad: usize,
) -> Outcome {
    let mut g = sentinel(grad);
    let x = pattern(logits);
    let r = match smoothing {
        Some(s) => loss::cross_entropy(&x, target, classes, s, Some(&mut g), Reduction::Mean),
        None => loss::nll(&x, target, classes, Some(&mut g), Reduction::Sum),
    };
    core(r, is_sentinel(&g))
}

fn run_probs(smoothing: f32, logits: usize, target: usize, classes: usize, grad: usize) -> Outcome {
    let mut g = sentinel(grad);
    let r = loss::cross_entropy_probs(
        &pattern(logits),
        &pattern(target),
        classes,
        smoothing,
        Some(&mut g),
        Reduction::Mean,
    );
    core(r, is_sentinel(&g))
}

fn run_bce(input: usize, target: usize, pos_weight: Option<usize>, grad: usize) -> Outcome {
    let mut g = sentinel(grad);
    let pw = pos_weight.map(pattern);
    let r = loss::binary_cross_entropy_with_logits(
        &pattern(input),
        &pattern(target),
        pw.as_deref(),
        Some(&mut g),
        Reduction::Mean,
    );
    core(r, is_sentinel(&g))
}

fn losses(t: &mut Table) {
    t.module("loss");
    let elementwise: [(&'static str, Elementwise); 5] = [
        ("mse", |x, y, g| loss::mse(x, y, g, Reduction::Mean)),
        ("l1", |x, y, g| loss::l1(x, y, g, Reduction::Sum)),
        ("huber", |x, y, g| {
            loss::huber(x, y, 1.0, g, Reduction::Mean)
        }),
        ("smooth_l1", |x, y, g| {
            loss::smooth_l1(x, y, 1.0, g, Reduction::Mean)
        }),
        ("binary_cross_entropy_with_logits", |x, y, g| {
            loss::binary_cross_entropy_with_logits(x, y, None, g, Reduction::Mean)
        }),
    ];
    for (name, f) in elementwise {
        t.row(format!("{name}: empty input"), zero("input"), move || {
            run_elementwise(f, 0, 0, 0)
        });
        for actual in wrong(N) {
            t.row(
                format!("{name}: target len {actual}"),
                len("target", N, actual),
                move || run_elementwise(f, N, actual, N),
            );
            t.row(
                format!("{name}: grad len {actual}"),
                len("grad", N, actual),
                move || run_elementwise(f, N, N, actual),
            );
        }
    }
    // huber needs delta > 0; smooth_l1 beta ≥ 0 (+∞ is a valid limit of both).
    for v in [0.0, -1.0, f32::NAN, f32::NEG_INFINITY] {
        t.row(format!("huber: delta = {v}"), hp("delta"), move || {
            let mut g = sentinel(N);
            let r = loss::huber(&pattern(N), &pattern(N), v, Some(&mut g), Reduction::Mean);
            core(r, is_sentinel(&g))
        });
    }
    for v in NEGATIVE_OR_NAN {
        t.row(format!("smooth_l1: beta = {v}"), hp("beta"), move || {
            let mut g = sentinel(N);
            let r = loss::smooth_l1(&pattern(N), &pattern(N), v, Some(&mut g), Reduction::Sum);
            core(r, is_sentinel(&g))
        });
    }
    // pos_weight: one weight per class, dividing the input's length.
    t.row(
        "binary_cross_entropy_with_logits: empty pos_weight",
        zero("pos_weight"),
        move || run_bce(12, 12, Some(0), 12),
    );
    for pw in [5, 7, 13] {
        t.row(
            format!("binary_cross_entropy_with_logits: pos_weight len {pw} (does not divide 12)"),
            len("pos_weight", 12, pw),
            move || run_bce(12, 12, Some(pw), 12),
        );
    }

    // Class targets: B = 3 samples of C = 4 classes.
    const C: usize = 4;
    const TARGET: [usize; 3] = [0, 3, 1];
    const BC: usize = 3 * C;
    for (name, smoothing, what) in [
        ("cross_entropy", Some(0.1), "logits"),
        ("nll", None, "log_probs"),
    ] {
        t.row(format!("{name}: classes = 0"), zero("classes"), move || {
            run_class_loss(smoothing, BC, &TARGET, 0, BC)
        });
        t.row(format!("{name}: empty target"), zero("batch"), move || {
            run_class_loss(smoothing, BC, &[], C, BC)
        });
        for actual in wrong(BC) {
            t.row(
                format!("{name}: {what} len {actual}"),
                len(what, BC, actual),
                move || run_class_loss(smoothing, actual, &TARGET, C, BC),
            );
            t.row(
                format!("{name}: grad len {actual}"),
                len("grad", BC, actual),
                move || run_class_loss(smoothing, BC, &TARGET, C, actual),
            );
        }
        t.row(
            format!("{name}: classes = usize::MAX"),
            overflow(what),
            move || run_class_loss(smoothing, BC, &TARGET, usize::MAX, BC),
        );
        // The first target out of range is named, with its sample.
        for (target, e) in [
            ([0, 4, 1], class(1, 4, C)),
            ([0, 1, 5], class(2, 5, C)),
            ([9, 4, 1], class(0, 9, C)),
            // torch's ignore_index = -100 and a -1 label, as a usize would carry them.
            ([0, -100i64 as usize, 1], class(1, -100i64 as usize, C)),
            ([-1i64 as usize, 0, 1], class(0, usize::MAX, C)),
        ] {
            t.row(format!("{name}: target {target:?}"), e, move || {
                run_class_loss(smoothing, BC, &target, C, BC)
            });
        }
    }
    for v in NOT_UNIT {
        t.row(
            format!("cross_entropy: label_smoothing = {v}"),
            hp("label_smoothing"),
            move || run_class_loss(Some(v), BC, &TARGET, C, BC),
        );
        t.row(
            format!("cross_entropy_probs: label_smoothing = {v}"),
            hp("label_smoothing"),
            move || run_probs(v, BC, BC, C, BC),
        );
    }
    t.row(
        "cross_entropy_probs: classes = 0",
        zero("classes"),
        move || run_probs(0.0, BC, BC, 0, BC),
    );
    t.row(
        "cross_entropy_probs: empty logits",
        zero("batch"),
        move || run_probs(0.0, 0, 0, C, 0),
    );
    // A length that is not whole rows expects the multiple of `classes` below it.
    for actual in wrong(BC) {
        t.row(
            format!("cross_entropy_probs: logits len {actual}"),
            len("logits", actual - actual % C, actual),
            move || run_probs(0.0, actual, actual, C, actual),
        );
        t.row(
            format!("cross_entropy_probs: target len {actual}"),
            len("target", BC, actual),
            move || run_probs(0.0, BC, actual, C, BC),
        );
        t.row(
            format!("cross_entropy_probs: grad len {actual}"),
            len("grad", BC, actual),
            move || run_probs(0.0, BC, BC, C, actual),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// norm: [ROWS, COLS] slices, COLS features

/// Every slice of a normalisation call (`None`: the optional slice is absent).
#[derive(Clone, Copy)]
struct NormLens {
    x: usize,
    weight: Option<usize>,
    bias: Option<usize>,
    running_mean: Option<usize>,
    running_var: Option<usize>,
    y: usize,
    stats: usize,
    dy: usize,
    dx: usize,
    dweight: Option<usize>,
    dbias: Option<usize>,
}

const LN_LENS: NormLens = NormLens {
    x: M,
    weight: Some(COLS),
    bias: Some(COLS),
    running_mean: None,
    running_var: None,
    y: M,
    stats: 2 * ROWS,
    dy: M,
    dx: M,
    dweight: Some(COLS),
    dbias: Some(COLS),
};

const BN_LENS: NormLens = NormLens {
    running_mean: Some(COLS),
    running_var: Some(COLS),
    stats: 2 * COLS,
    ..LN_LENS
};

/// The method of a layer a row calls.
#[derive(Clone, Copy, Debug)]
enum NormCall {
    Forward,
    ForwardTrain,
    Backward,
    ForwardEval,
    BackwardEval,
}

/// A layer norm call; `y` and `stats` (forward) and `dx` are write-only, `dweight`, `dbias`
/// accumulate.
fn run_layer_norm(ln: LayerNorm, call: NormCall, l: NormLens) -> Outcome {
    let x = pattern(l.x);
    let (w, b) = (l.weight.map(pattern), l.bias.map(pattern));
    let mut y = sentinel(l.y);
    let mut stats = sentinel(l.stats);
    let (mut dx, mut dw, mut db) = (sentinel(l.dx), l.dweight.map(pattern), l.dbias.map(pattern));
    let r = match call {
        NormCall::Forward => ln.forward(&x, w.as_deref(), b.as_deref(), &mut y),
        NormCall::ForwardTrain => {
            ln.forward_train(&x, w.as_deref(), b.as_deref(), &mut y, &mut stats)
        }
        NormCall::Backward => {
            let stats = pattern(l.stats);
            ln.backward(
                &x,
                w.as_deref(),
                &stats,
                &pattern(l.dy),
                &mut dx,
                dw.as_deref_mut(),
                db.as_deref_mut(),
            )
        }
        _ => unreachable!("not a layer norm method"),
    };
    let untouched = is_sentinel(&y)
        && is_sentinel(&stats)
        && is_sentinel(&dx)
        && dw.as_deref().is_none_or(is_pattern)
        && db.as_deref().is_none_or(is_pattern);
    core(r, untouched)
}

/// A batch norm call; the running statistics (pattern) and their counter must not change.
fn run_batch_norm(bn: BatchNorm, call: NormCall, l: NormLens) -> Outcome {
    let x = pattern(l.x);
    let (w, b) = (l.weight.map(pattern), l.bias.map(pattern));
    let (mut rm, mut rv) = (l.running_mean.map(pattern), l.running_var.map(pattern));
    let mut tracked = 7u64;
    let mut y = sentinel(l.y);
    let mut stats = sentinel(l.stats);
    let (mut dx, mut dw, mut db) = (sentinel(l.dx), l.dweight.map(pattern), l.dbias.map(pattern));
    let r = match call {
        NormCall::ForwardTrain => {
            let running = match (rm.as_deref_mut(), rv.as_deref_mut()) {
                (Some(mean), Some(var)) => Some(RunningStats {
                    mean,
                    var,
                    num_batches_tracked: &mut tracked,
                }),
                (None, None) => None,
                // One of them absent: pass it as an empty slice (length 0).
                (mean, var) => Some(RunningStats {
                    mean: mean.unwrap_or(&mut []),
                    var: var.unwrap_or(&mut []),
                    num_batches_tracked: &mut tracked,
                }),
            };
            bn.forward_train(&x, w.as_deref(), b.as_deref(), running, &mut y, &mut stats)
        }
        NormCall::ForwardEval => bn.forward_eval(
            &x,
            w.as_deref(),
            b.as_deref(),
            rm.as_deref(),
            rv.as_deref(),
            &mut y,
        ),
        NormCall::Backward => {
            let stats = pattern(l.stats);
            bn.backward_train(
                &x,
                w.as_deref(),
                &stats,
                &pattern(l.dy),
                &mut dx,
                dw.as_deref_mut(),
                db.as_deref_mut(),
            )
        }
        NormCall::BackwardEval => bn.backward_eval(
            &x,
            w.as_deref(),
            rm.as_deref().unwrap_or(&[]),
            rv.as_deref().unwrap_or(&[]),
            &pattern(l.dy),
            &mut dx,
            dw.as_deref_mut(),
            db.as_deref_mut(),
        ),
        NormCall::Forward => unreachable!("not a batch norm method"),
    };
    let untouched = is_sentinel(&y)
        && is_sentinel(&stats)
        && is_sentinel(&dx)
        && dw.as_deref().is_none_or(is_pattern)
        && db.as_deref().is_none_or(is_pattern)
        && rm.as_deref().is_none_or(is_pattern)
        && rv.as_deref().is_none_or(is_pattern)
        && tracked == 7;
    core(r, untouched)
}

/// A field of [`NormLens`] a row sets: its name in the error, its right length, the setter.
type NormArg = (&'static str, usize, fn(&mut NormLens, Option<usize>));

const X_ARG: fn(&mut NormLens, Option<usize>) = |l, n| l.x = n.unwrap_or(0);

fn norm_arg(name: &'static str) -> NormArg {
    match name {
        "weight" => ("weight", COLS, |l, n| l.weight = n),
        "bias" => ("bias", COLS, |l, n| l.bias = n),
        "running_mean" => ("running_mean", COLS, |l, n| l.running_mean = n),
        "running_var" => ("running_var", COLS, |l, n| l.running_var = n),
        "y" => ("y", M, |l, n| l.y = n.unwrap_or(0)),
        "dy" => ("dy", M, |l, n| l.dy = n.unwrap_or(0)),
        "dx" => ("dx", M, |l, n| l.dx = n.unwrap_or(0)),
        "dweight" => ("dweight", COLS, |l, n| l.dweight = n),
        "dbias" => ("dbias", COLS, |l, n| l.dbias = n),
        _ => unreachable!("{name}"),
    }
}

/// The rows every normalisation call shares: `eps`, zero features, `x` not whole rows, and
/// each listed slice wrong by ±1 (an optional one also absent when it is required).
#[allow(clippy::too_many_arguments)]
fn norm_call_rows(
    t: &mut Table,
    name: String,
    run: fn(NormCall, usize, f32, NormLens) -> Outcome,
    call: NormCall,
    base: NormLens,
    features_dim: &'static str,
    args: &[&'static str],
    stats: Option<usize>,
) {
    for eps in NEGATIVE_OR_NAN {
        t.row(format!("{name}: eps = {eps}"), hp("eps"), move || {
            run(call, COLS, eps, base)
        });
    }
    t.row(
        format!("{name}: features = 0"),
        zero(features_dim),
        move || run(call, 0, 1e-5, base),
    );
    for actual in wrong(M) {
        t.row(
            format!("{name}: x len {actual} (not whole rows)"),
            not_whole_rows("x", actual),
            move || {
                let mut l = base;
                X_ARG(&mut l, Some(actual));
                run(call, COLS, 1e-5, l)
            },
        );
    }
    for &arg in args {
        let (what, n, set) = norm_arg(arg);
        for actual in wrong(n) {
            t.row(
                format!("{name}: {what} len {actual}"),
                len(what, n, actual),
                move || {
                    let mut l = base;
                    set(&mut l, Some(actual));
                    run(call, COLS, 1e-5, l)
                },
            );
        }
        // A required optional slice that is absent counts as length 0.
        if matches!(arg, "weight" | "bias" | "running_mean" | "running_var") {
            t.row(
                format!("{name}: {what} absent"),
                len(what, n, 0),
                move || {
                    let mut l = base;
                    set(&mut l, None);
                    run(call, COLS, 1e-5, l)
                },
            );
        }
    }
    if let Some(n) = stats {
        for actual in wrong(n) {
            t.row(
                format!("{name}: stats len {actual}"),
                len("stats", n, actual),
                move || {
                    let mut l = base;
                    l.stats = actual;
                    run(call, COLS, 1e-5, l)
                },
            );
        }
    }
}

fn norm(t: &mut Table) {
    t.module("norm");
    let ln: fn(NormCall, usize, f32, NormLens) -> Outcome = |call, features, eps, l| {
        run_layer_norm(
            LayerNorm {
                eps,
                ..LayerNorm::new(features)
            },
            call,
            l,
        )
    };
    let bn: fn(NormCall, usize, f32, NormLens) -> Outcome = |call, features, eps, l| {
        run_batch_norm(
            BatchNorm {
                eps,
                ..BatchNorm::new(features)
            },
            call,
            l,
        )
    };
    let dim = "normalized_shape";
    norm_call_rows(
        t,
        "LayerNorm::forward".into(),
        ln,
        NormCall::Forward,
        LN_LENS,
        dim,
        &["weight", "bias", "y"],
        None,
    );
    norm_call_rows(
        t,
        "LayerNorm::forward_train".into(),
        ln,
        NormCall::ForwardTrain,
        LN_LENS,
        dim,
        &["weight", "bias", "y"],
        Some(2 * ROWS),
    );
    norm_call_rows(
        t,
        "LayerNorm::backward".into(),
        ln,
        NormCall::Backward,
        LN_LENS,
        dim,
        &["weight", "dy", "dx", "dweight", "dbias"],
        Some(2 * ROWS),
    );
    // Without affine parameters a given weight or bias must be empty.
    for (call, name) in [
        (NormCall::Forward, "forward"),
        (NormCall::ForwardTrain, "forward_train"),
        (NormCall::Backward, "backward"),
    ] {
        let plain = LayerNorm {
            elementwise_affine: false,
            ..LayerNorm::new(COLS)
        };
        t.row(
            format!("LayerNorm::{name}: weight given without elementwise_affine"),
            len("weight", 0, COLS),
            move || run_layer_norm(plain, call, LN_LENS),
        );
        let no_bias = LayerNorm {
            bias: false,
            ..LayerNorm::new(COLS)
        };
        if !matches!(call, NormCall::Backward) {
            t.row(
                format!("LayerNorm::{name}: bias given with bias = false"),
                len("bias", 0, COLS),
                move || run_layer_norm(no_bias, call, LN_LENS),
            );
        } else {
            t.row(
                format!("LayerNorm::{name}: dbias given with bias = false"),
                len("dbias", 0, COLS),
                move || run_layer_norm(no_bias, call, LN_LENS),
            );
        }
    }

    let dim = "num_features";
    norm_call_rows(
        t,
        "BatchNorm::forward_train".into(),
        bn,
        NormCall::ForwardTrain,
        BN_LENS,
        dim,
        &["weight", "bias", "running_mean", "running_var", "y"],
        Some(2 * COLS),
    );
    norm_call_rows(
        t,
        "BatchNorm::forward_eval".into(),
        bn,
        NormCall::ForwardEval,
        BN_LENS,
        dim,
        &["weight", "bias", "running_mean", "running_var", "y"],
        None,
    );
    norm_call_rows(
        t,
        "BatchNorm::backward_train".into(),
        bn,
        NormCall::Backward,
        BN_LENS,
        dim,
        &["weight", "dy", "dx", "dweight", "dbias"],
        Some(2 * COLS),
    );
    norm_call_rows(
        t,
        "BatchNorm::backward_eval".into(),
        bn,
        NormCall::BackwardEval,
        BN_LENS,
        dim,
        &[
            "weight",
            "running_mean",
            "running_var",
            "dy",
            "dx",
            "dweight",
            "dbias",
        ],
        None,
    );
    // momentum ∈ [0, 1] (None is torch's cumulative average).
    for m in NOT_UNIT {
        for call in [
            NormCall::ForwardTrain,
            NormCall::ForwardEval,
            NormCall::Backward,
            NormCall::BackwardEval,
        ] {
            let layer = BatchNorm {
                momentum: Some(m),
                ..BatchNorm::new(COLS)
            };
            t.row(
                format!("BatchNorm::{call:?}: momentum = {m}"),
                hp("momentum"),
                move || run_batch_norm(layer, call, BN_LENS),
            );
        }
    }
    // Training statistics need two rows.
    let one_row = NormLens {
        x: COLS,
        y: COLS,
        dy: COLS,
        dx: COLS,
        ..BN_LENS
    };
    let no_row = NormLens {
        x: 0,
        y: 0,
        dy: 0,
        dx: 0,
        ..BN_LENS
    };
    let untracked = BatchNorm {
        track_running_stats: false,
        ..BatchNorm::new(COLS)
    };
    let no_running = NormLens {
        running_mean: None,
        running_var: None,
        ..BN_LENS
    };
    for (call, layer, lens, e) in [
        (
            NormCall::ForwardTrain,
            BatchNorm::new(COLS),
            one_row,
            zero("batch - 1"),
        ),
        (
            NormCall::ForwardTrain,
            BatchNorm::new(COLS),
            no_row,
            zero("batch"),
        ),
        (
            NormCall::Backward,
            BatchNorm::new(COLS),
            one_row,
            zero("batch - 1"),
        ),
        (
            NormCall::Backward,
            BatchNorm::new(COLS),
            no_row,
            zero("batch"),
        ),
        (
            NormCall::ForwardEval,
            untracked,
            one_row_untracked(),
            zero("batch - 1"),
        ),
        (
            NormCall::ForwardEval,
            untracked,
            NormLens {
                x: 0,
                y: 0,
                ..no_running
            },
            zero("batch"),
        ),
    ] {
        t.row(
            format!("BatchNorm::{call:?}: {} rows", lens.x / COLS),
            e,
            move || run_batch_norm(layer, call, lens),
        );
    }
    // Without track_running_stats: no running statistics may be given, and backward_eval (which
    // needs them) is refused.
    for call in [NormCall::ForwardTrain, NormCall::ForwardEval] {
        t.row(
            format!("BatchNorm::{call:?}: running_mean given without track_running_stats"),
            len("running_mean", 0, COLS),
            move || run_batch_norm(untracked, call, BN_LENS),
        );
    }
    t.row(
        "BatchNorm::backward_eval: track_running_stats = false",
        hp("track_running_stats"),
        move || run_batch_norm(untracked, NormCall::BackwardEval, BN_LENS),
    );
    // Without affine parameters weight and bias must be empty.
    let plain = BatchNorm {
        affine: false,
        ..BatchNorm::new(COLS)
    };
    for call in [
        NormCall::ForwardTrain,
        NormCall::ForwardEval,
        NormCall::Backward,
        NormCall::BackwardEval,
    ] {
        t.row(
            format!("BatchNorm::{call:?}: weight given without affine"),
            len("weight", 0, COLS),
            move || run_batch_norm(plain, call, BN_LENS),
        );
    }
}

/// One row of `[1, COLS]` for a batch norm without running statistics.
fn one_row_untracked() -> NormLens {
    NormLens {
        x: COLS,
        y: COLS,
        dy: COLS,
        dx: COLS,
        running_mean: None,
        running_var: None,
        ..BN_LENS
    }
}

// ---------------------------------------------------------------------------------------------
// network

/// A model for the rows: `'static` so that rows can own it.
fn net(input: usize, layers: Vec<Layer>) -> Sequential<'static> {
    Sequential::new(input, Vec::leak(layers))
}

/// 4 → dense 6 → batch norm → relu → dropout → layer norm → dense 3: parameters, buffers,
/// saved statistics and a mask, with the first layer frozen when `frozen`.
fn full_net(frozen: bool) -> Sequential<'static> {
    let first = Layer::dense(4, 6);
    net(
        4,
        vec![
            if frozen { first.frozen() } else { first },
            Layer::batch_norm(6),
            Layer::activation(Activation::Relu),
            Layer::dropout(0.5),
            Layer::layer_norm(6),
            Layer::dense(6, 3),
        ],
    )
}

/// The batch of the network rows.
const NB: usize = 2;

/// Every slice of a network call.
#[derive(Clone, Copy)]
struct NetLens {
    batch: usize,
    frozen: usize,
    params: usize,
    buffers: usize,
    x: usize,
    y: usize,
    acts: usize,
    dy: usize,
    grads: usize,
    scratch: usize,
}

/// Empty slices, for models that do not validate.
const NO_LENS: NetLens = NetLens {
    batch: NB,
    frozen: 0,
    params: 0,
    buffers: 0,
    x: 0,
    y: 0,
    acts: 0,
    dy: 0,
    grads: 0,
    scratch: 0,
};

/// The right lengths for `n` and `batch`.
fn net_lens(n: &Sequential<'_>, batch: usize) -> NetLens {
    NetLens {
        batch,
        frozen: n.frozen_len(),
        params: n.trainable_len(),
        buffers: n.buffer_len(),
        x: batch * n.input_features,
        y: batch * n.output_features(),
        acts: n.activation_len(batch),
        dy: batch * n.output_features(),
        grads: n.trainable_len(),
        scratch: n.scratch_len(batch),
    }
}

#[derive(Clone, Copy, Debug)]
enum NetCall {
    Validate,
    Forward,
    ForwardTrain,
    Backward,
    Init,
    ZeroGrad,
}

/// A network call: parameters and buffers hold a pattern and must keep it (buffers are
/// written by `forward_train` and `init`, parameters by `init`), `y` and `acts` and `scratch`
/// are write-only, `grads` accumulate; no word may be drawn.
fn run_net(n: Sequential<'static>, call: NetCall, l: NetLens) -> Outcome {
    let (mut frozen, mut params, mut buffers) =
        (pattern(l.frozen), pattern(l.params), pattern(l.buffers));
    let (mut y, mut acts, mut scratch) = (sentinel(l.y), sentinel(l.acts), sentinel(l.scratch));
    let mut grads = pattern(l.grads);
    let mut rng = Counting::new();
    let x = pattern(l.x);
    let p = Params {
        frozen: &frozen,
        trainable: &params,
    };
    let r = match call {
        NetCall::Validate => n.validate(),
        NetCall::Forward => n.forward(l.batch, p, &buffers, &x, &mut y, &mut scratch),
        NetCall::ForwardTrain => n
            .forward_train(l.batch, p, &mut buffers, &x, &mut acts, &mut rng)
            .map(drop),
        NetCall::Backward => {
            let saved = pattern(l.acts);
            let dy = pattern(l.dy);
            n.backward(l.batch, p, &x, &saved, &dy, &mut grads, &mut scratch)
        }
        NetCall::Init => n.init(&mut frozen, &mut params, &mut buffers, &mut rng),
        NetCall::ZeroGrad => n.zero_grad(&mut grads),
    };
    let untouched = is_pattern(&frozen)
        && is_pattern(&params)
        && is_pattern(&buffers)
        && is_sentinel(&y)
        && is_sentinel(&acts)
        && is_sentinel(&scratch)
        && is_pattern(&grads)
        && rng.drawn == 0;
    core(r, untouched)
}

/// The slices each call takes, by the names its errors use.
fn net_args(call: NetCall) -> &'static [&'static str] {
    match call {
        NetCall::Validate => &[],
        NetCall::Forward => &["frozen", "params", "buffers", "x", "y", "scratch"],
        NetCall::ForwardTrain => &["frozen", "params", "buffers", "x", "acts"],
        NetCall::Backward => &["frozen", "params", "x", "acts", "dy", "grads", "scratch"],
        NetCall::Init => &["frozen", "params", "buffers"],
        NetCall::ZeroGrad => &["grads"],
    }
}

/// The length field named `what`.
fn net_len<'a>(l: &'a mut NetLens, what: &str) -> &'a mut usize {
    match what {
        "frozen" => &mut l.frozen,
        "params" => &mut l.params,
        "buffers" => &mut l.buffers,
        "x" => &mut l.x,
        "y" => &mut l.y,
        "acts" => &mut l.acts,
        "dy" => &mut l.dy,
        "grads" => &mut l.grads,
        "scratch" => &mut l.scratch,
        _ => unreachable!("{what}"),
    }
}

fn network(t: &mut Table) {
    t.module("network");
    // Models that do not validate, through every call that validates.
    let mut bad: Vec<(&'static str, Sequential<'static>, Error)> = vec![
        ("no layer", net(4, vec![]), zero("layers")),
        (
            "input_features = 0",
            net(0, vec![Layer::dense(0, 3)]),
            zero("input_features"),
        ),
        (
            "dense in_features = 0",
            net(4, vec![Layer::dense(0, 3)]),
            zero("in_features"),
        ),
        (
            "dense out_features = 0",
            net(4, vec![Layer::dense(4, 0)]),
            zero("out_features"),
        ),
        (
            "dense in_features 5 after width 4",
            net(4, vec![Layer::dense(5, 3)]),
            len("in_features", 4, 5),
        ),
        (
            "second dense in_features 4 after width 3",
            net(4, vec![Layer::dense(4, 3), Layer::dense(4, 2)]),
            len("in_features", 3, 4),
        ),
        (
            "dense usize::MAX → 2",
            net(usize::MAX, vec![Layer::dense(usize::MAX, 2)]),
            overflow("weight"),
        ),
        (
            "layer_norm(4) after width 3",
            net(4, vec![Layer::dense(4, 3), Layer::layer_norm(4)]),
            len("normalized_shape", 3, 4),
        ),
        (
            "batch_norm(2) after width 3",
            net(4, vec![Layer::dense(4, 3), Layer::batch_norm(2)]),
            len("normalized_shape", 3, 2),
        ),
    ];
    for p in NOT_UNIT {
        bad.push((
            Box::leak(format!("dropout p = {p}").into_boxed_str()),
            net(4, vec![Layer::dense(4, 3), Layer::dropout(p)]),
            hp("p"),
        ));
    }
    for (what, n, e) in bad {
        for call in [
            NetCall::Validate,
            NetCall::Forward,
            NetCall::ForwardTrain,
            NetCall::Backward,
            NetCall::Init,
        ] {
            // Validation comes first: the slices do not matter (all empty).
            t.row(format!("Sequential::{call:?}: {what}"), e, move || {
                run_net(n, call, NO_LENS)
            });
        }
    }

    // Every slice wrong by ±1, on a model with and without a frozen layer.
    for frozen in [false, true] {
        let n = full_net(frozen);
        let right = net_lens(&n, NB);
        for call in [
            NetCall::Forward,
            NetCall::ForwardTrain,
            NetCall::Backward,
            NetCall::Init,
            NetCall::ZeroGrad,
        ] {
            for &what in net_args(call) {
                if what == "frozen" && !frozen {
                    // No frozen layer: only a non-empty slice is wrong.
                    t.row(
                        format!("Sequential::{call:?}: frozen len 1 (no frozen layer)"),
                        len("frozen", 0, 1),
                        move || {
                            let mut l = right;
                            l.frozen = 1;
                            run_net(n, call, l)
                        },
                    );
                    continue;
                }
                let mut l = right;
                let n_right = *net_len(&mut l, what);
                for actual in wrong(n_right) {
                    t.row(
                        format!("Sequential::{call:?} (frozen = {frozen}): {what} len {actual}"),
                        len(what, n_right, actual),
                        move || {
                            let mut l = right;
                            *net_len(&mut l, what) = actual;
                            run_net(n, call, l)
                        },
                    );
                }
            }
        }
        for call in [NetCall::Forward, NetCall::ForwardTrain, NetCall::Backward] {
            t.row(
                format!("Sequential::{call:?} (frozen = {frozen}): batch = 0"),
                zero("batch"),
                move || run_net(n, call, net_lens(&n, 0)),
            );
            t.row(
                format!("Sequential::{call:?} (frozen = {frozen}): batch = usize::MAX"),
                overflow("x"),
                move || {
                    let l = NetLens {
                        batch: usize::MAX,
                        ..net_lens(&n, NB)
                    };
                    run_net(n, call, l)
                },
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// optim

/// Parameters per optimizer row.
const P: usize = 11;
/// The step counter every row starts from.
const STEP: u64 = 5;

/// How a row calls the optimizer.
#[derive(Clone, Copy, Debug)]
enum Via {
    /// `update(t, …)`.
    Update(u64),
    /// `step(&mut counter, …)`: the counter must not change on error.
    Step(u64),
}

/// One optimizer call with `n` parameters and these lengths: parameters and state hold a
/// pattern that must survive.
fn run_optimizer<O: Optimizer>(opt: O, via: Via, n: usize, grads: usize, state: usize) -> Outcome {
    let (mut params, mut st) = (pattern(n), pattern(state));
    let g = pattern(grads);
    let (r, counter_kept) = match via {
        Via::Update(t) => (opt.update(t, &mut params, &g, &mut st), true),
        Via::Step(start) => {
            let mut counter = start;
            let r = opt.step(&mut counter, &mut params, &g, &mut st);
            (r, counter == start)
        }
    };
    core(r, is_pattern(&params) && is_pattern(&st) && counter_kept)
}

/// A hyper-parameter of `O`: torch's name, how to set it, the values refused.
type Hyper<O> = (&'static str, fn(&mut O, f32), &'static [f32]);

/// `betas` values refused by the Adam family (`0 ≤ β < 1`).
const BAD_BETA: [f32; 5] = [-0.1, 1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];

/// The rows of one optimizer: `t = 0`, a counter at its end, empty parameters, `grads` and
/// `state` wrong by ±1, and every refused hyper-parameter value (through `step` and `update`).
fn optimizer_rows<O: Optimizer + Copy + core::fmt::Debug + 'static>(
    t: &mut Table,
    name: &'static str,
    base: O,
    hypers: &[Hyper<O>],
) {
    let sl = base.state_len(P);
    assert!(sl > 0, "{name}: the base configuration should have state");
    t.row(format!("{name}::update: t = 0"), hp("step"), move || {
        run_optimizer(base, Via::Update(0), P, P, sl)
    });
    t.row(
        format!("{name}::step: counter = u64::MAX"),
        hp("step"),
        move || run_optimizer(base, Via::Step(u64::MAX), P, P, sl),
    );
    for via in [Via::Update(1), Via::Step(STEP)] {
        let how = match via {
            Via::Update(_) => "update",
            Via::Step(_) => "step",
        };
        t.row(
            format!("{name}::{how}: empty params"),
            zero("params"),
            move || run_optimizer(base, via, 0, 0, base.state_len(0)),
        );
        for actual in wrong(P) {
            t.row(
                format!("{name}::{how}: grads len {actual}"),
                len("grads", P, actual),
                move || run_optimizer(base, via, P, actual, sl),
            );
        }
        for actual in wrong(sl) {
            t.row(
                format!("{name}::{how}: state len {actual}"),
                len("state", sl, actual),
                move || run_optimizer(base, via, P, P, actual),
            );
        }
        for &(what, set, values) in hypers {
            for &v in values {
                let mut opt = base;
                set(&mut opt, v);
                // The state length follows the hyper-parameters (e.g. momentum adds a plane).
                let sl = opt.state_len(P);
                t.row(
                    format!("{name}::{how}: {what} = {v}"),
                    hp(what),
                    move || run_optimizer(opt, via, P, P, sl),
                );
                if matches!(via, Via::Update(_)) {
                    t.row(
                        format!("{name}::validate: {what} = {v}"),
                        hp(what),
                        move || core(opt.validate(), true),
                    );
                }
            }
        }
    }
}

fn optim(t: &mut Table) {
    t.module("optim");
    optimizer_rows(
        t,
        "Sgd",
        Sgd {
            momentum: 0.9,
            ..Sgd::DEFAULT
        },
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("momentum", |o, v| o.momentum = v, &NOT_NON_NEGATIVE),
            ("dampening", |o, v| o.dampening = v, &NON_FINITE),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
        ],
    );
    // Nesterov needs momentum > 0 and no dampening (torch's check).
    for (what, opt) in [
        (
            "nesterov without momentum",
            Sgd {
                nesterov: true,
                ..Sgd::DEFAULT
            },
        ),
        (
            "nesterov with dampening 0.1",
            Sgd {
                nesterov: true,
                momentum: 0.9,
                dampening: 0.1,
                ..Sgd::DEFAULT
            },
        ),
    ] {
        t.row(format!("Sgd::step: {what}"), hp("nesterov"), move || {
            run_optimizer(opt, Via::Step(STEP), P, P, opt.state_len(P))
        });
    }
    optimizer_rows(
        t,
        "Adagrad",
        Adagrad::DEFAULT,
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("lr_decay", |o, v| o.lr_decay = v, &NOT_NON_NEGATIVE),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
            (
                "initial_accumulator_value",
                |o, v| o.initial_accumulator_value = v,
                &NOT_NON_NEGATIVE,
            ),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
        ],
    );
    optimizer_rows(
        t,
        "RmsProp",
        RmsProp {
            momentum: 0.9,
            centered: true,
            ..RmsProp::DEFAULT
        },
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("alpha", |o, v| o.alpha = v, &NOT_NON_NEGATIVE),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
            ("momentum", |o, v| o.momentum = v, &NOT_NON_NEGATIVE),
        ],
    );
    optimizer_rows(
        t,
        "Adam",
        Adam {
            amsgrad: true,
            ..Adam::DEFAULT
        },
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
            ("betas", |o, v| o.betas.0 = v, &BAD_BETA),
            ("betas", |o, v| o.betas.1 = v, &BAD_BETA),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
        ],
    );
    optimizer_rows(
        t,
        "AdamW",
        AdamW::DEFAULT,
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
            ("betas", |o, v| o.betas.0 = v, &BAD_BETA),
            ("betas", |o, v| o.betas.1 = v, &BAD_BETA),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
        ],
    );
    optimizer_rows(
        t,
        "Adamax",
        Adamax::DEFAULT,
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
            ("betas", |o, v| o.betas.0 = v, &BAD_BETA),
            ("betas", |o, v| o.betas.1 = v, &BAD_BETA),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
        ],
    );
    optimizer_rows(
        t,
        "NAdam",
        NAdam::DEFAULT,
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
            ("betas", |o, v| o.betas.0 = v, &BAD_BETA),
            ("betas", |o, v| o.betas.1 = v, &BAD_BETA),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
            (
                "momentum_decay",
                |o, v| o.momentum_decay = v,
                &NOT_NON_NEGATIVE,
            ),
        ],
    );
    optimizer_rows(
        t,
        "RAdam",
        RAdam::DEFAULT,
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
            ("betas", |o, v| o.betas.0 = v, &BAD_BETA),
            ("betas", |o, v| o.betas.1 = v, &BAD_BETA),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
        ],
    );
    optimizer_rows(
        t,
        "Adadelta",
        Adadelta::DEFAULT,
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("rho", |o, v| o.rho = v, &NOT_UNIT),
            ("eps", |o, v| o.eps = v, &NOT_NON_NEGATIVE),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
        ],
    );
    optimizer_rows(
        t,
        "Lion",
        Lion::DEFAULT,
        &[
            ("lr", |o, v| o.lr = v, &NOT_NON_NEGATIVE),
            ("betas", |o, v| o.betas.0 = v, &NOT_UNIT),
            ("betas", |o, v| o.betas.1 = v, &NOT_UNIT),
            ("weight_decay", |o, v| o.weight_decay = v, &NOT_NON_NEGATIVE),
        ],
    );
}

/// `step_groups` over `groups` with these lengths: parameters and state hold a pattern, and
/// every group's counter must keep its value.
fn run_groups(groups: Vec<ParamGroup<Adam>>, params: usize, grads: usize, state: usize) -> Outcome {
    let mut groups = groups;
    let steps: Vec<u64> = groups.iter().map(|g| g.step).collect();
    let (mut p, mut s) = (pattern(params), pattern(state));
    let r = step_groups(&mut groups, &mut p, &pattern(grads), &mut s);
    let kept = groups.iter().zip(&steps).all(|(g, s)| g.step == *s);
    core(r, is_pattern(&p) && is_pattern(&s) && kept)
}

/// Two Adam groups of 5 and 6 parameters that have stepped 3 and 4 times.
fn two_groups() -> Vec<ParamGroup<Adam>> {
    let mut a = ParamGroup::new(Adam::DEFAULT, 5);
    let mut b = ParamGroup::new(
        Adam {
            weight_decay: 0.1,
            ..Adam::DEFAULT
        },
        6,
    );
    a.step = 3;
    b.step = 4;
    vec![a, b]
}

fn step_groups_rows(t: &mut Table) {
    t.module("optim");
    let total = 11;
    let sl = descent::optim::groups_state_len(&two_groups());
    t.row("step_groups: no group", zero("group"), move || {
        run_groups(vec![], 0, 0, 0)
    });
    t.row("step_groups: an empty group", zero("group"), move || {
        let mut g = two_groups();
        g[1].len = 0;
        run_groups(g, 5, 5, Adam::DEFAULT.state_len(5))
    });
    for (what, set) in [
        (
            "lr",
            (|g: &mut ParamGroup<Adam>| g.optimizer.lr = f32::NAN) as fn(&mut _),
        ),
        ("eps", |g| g.optimizer.eps = -1.0),
        ("betas", |g| g.optimizer.betas.1 = 1.0),
        ("weight_decay", |g| g.optimizer.weight_decay = f32::INFINITY),
    ] {
        t.row(
            format!("step_groups: the second group's {what} is bad"),
            hp(what),
            move || {
                let mut g = two_groups();
                set(&mut g[1]);
                run_groups(g, total, total, sl)
            },
        );
    }
    t.row(
        "step_groups: the second group's counter is at u64::MAX",
        hp("step"),
        move || {
            let mut g = two_groups();
            g[1].step = u64::MAX;
            run_groups(g, total, total, sl)
        },
    );
    for actual in wrong(total) {
        t.row(
            format!("step_groups: params len {actual}"),
            len("params", total, actual),
            move || run_groups(two_groups(), actual, total, sl),
        );
        t.row(
            format!("step_groups: grads len {actual}"),
            len("grads", total, actual),
            move || run_groups(two_groups(), total, actual, sl),
        );
    }
    for actual in wrong(sl) {
        t.row(
            format!("step_groups: state len {actual}"),
            len("state", sl, actual),
            move || run_groups(two_groups(), total, total, actual),
        );
    }
    // Group lengths whose sum overflows usize.
    t.row(
        "step_groups: group lengths usize::MAX + 6",
        overflow("params"),
        move || {
            let mut g = two_groups();
            g[0].len = usize::MAX;
            run_groups(g, total, total, sl)
        },
    );
}

// ---------------------------------------------------------------------------------------------
// regularize

/// `l1`, `l2` or `elastic_net` with the other parameters fixed.
type Penalty = fn(&[f32], f32, Option<&mut [f32]>) -> descent::Result<f32>;

/// A penalty with these lengths; `grad` accumulates.
fn run_penalty(f: Penalty, lambda: f32, w: usize, grad: usize) -> Outcome {
    let mut g = pattern(grad);
    let r = f(&pattern(w), lambda, Some(&mut g));
    core(r, is_pattern(&g))
}

/// Two gradient slices of 13 and 7 holding patterns that must survive.
fn run_clip(f: impl Fn(&mut [&mut [f32]]) -> descent::Result<()>) -> Outcome {
    let (mut a, mut b) = (pattern(13), pattern(7));
    let r = f(&mut [&mut a, &mut b]);
    core(r, is_pattern(&a) && is_pattern(&b))
}

/// `magnitude_mask` with these lengths; `mask` is write-only, `scratch` must not be written
/// either.
fn run_mask(amount: Amount, w: usize, mask: usize, scratch: usize) -> Outcome {
    let (mut m, mut s) = (sentinel(mask), sentinel(scratch));
    let r = reg::magnitude_mask(&pattern(w), amount, &mut m, &mut s);
    core(r, is_sentinel(&m) && is_sentinel(&s))
}

/// `global_magnitude_mask` over weights of 5 and 8 with masks of these lengths.
fn run_global(amount: Amount, masks: &[usize], scratch: usize) -> Outcome {
    let (w1, w2) = (pattern(5), pattern(8));
    let mut ms: Vec<Vec<f32>> = masks.iter().map(|&n| sentinel(n)).collect();
    let mut s = sentinel(scratch);
    let mut views: Vec<&mut [f32]> = ms.iter_mut().map(|m| m.as_mut_slice()).collect();
    let r = reg::global_magnitude_mask(&[&w1, &w2], amount, &mut views, &mut s);
    core(r, ms.iter().all(|m| is_sentinel(m)) && is_sentinel(&s))
}

fn regularize(t: &mut Table) {
    t.module("regularize");
    let penalties: [(&'static str, Penalty); 3] = [
        ("l1", reg::l1),
        ("l2", |w, l, g| reg::l2(w, l, true, g)),
        ("elastic_net", |w, l, g| reg::elastic_net(w, l, 0.5, g)),
    ];
    for (name, f) in penalties {
        for v in NOT_NON_NEGATIVE {
            t.row(format!("{name}: lambda = {v}"), hp("lambda"), move || {
                run_penalty(f, v, N, N)
            });
        }
        for actual in wrong(N) {
            t.row(
                format!("{name}: grad len {actual}"),
                len("grad", N, actual),
                move || run_penalty(f, 0.1, N, actual),
            );
        }
    }
    for v in NOT_UNIT {
        t.row(
            format!("elastic_net: l1_ratio = {v}"),
            hp("l1_ratio"),
            move || {
                let mut g = pattern(N);
                core(
                    reg::elastic_net(&pattern(N), 0.1, v, Some(&mut g)),
                    is_pattern(&g),
                )
            },
        );
    }

    // Constraints.
    t.row("clamp: min = NaN", hp("min"), move || {
        let mut w = pattern(N);
        core(reg::clamp(&mut w, f32::NAN, 1.0), is_pattern(&w))
    });
    t.row("clamp: max = NaN", hp("max"), move || {
        let mut w = pattern(N);
        core(reg::clamp(&mut w, -1.0, f32::NAN), is_pattern(&w))
    });
    let run_max_norm = |w: usize, rows: usize, cols: usize, max_norm: f32| {
        let mut v = pattern(w);
        core(
            reg::max_norm_rows(&mut v, rows, cols, max_norm),
            is_pattern(&v),
        )
    };
    for v in NEGATIVE_OR_NAN {
        t.row(
            format!("max_norm_rows: maxnorm = {v}"),
            hp("maxnorm"),
            move || run_max_norm(M, ROWS, COLS, v),
        );
    }
    for actual in wrong(M) {
        t.row(
            format!("max_norm_rows: w len {actual}"),
            len("w", M, actual),
            move || run_max_norm(actual, ROWS, COLS, 1.0),
        );
    }
    t.row(
        "max_norm_rows: rows = usize::MAX",
        overflow("w"),
        move || run_max_norm(M, usize::MAX, COLS, 1.0),
    );

    // Clipping: the norm's order p > 0, max_norm ≥ 0 and clip_value ≥ 0 (NaN refused).
    let bad_p = [0.0, -1.0, f32::NAN, f32::NEG_INFINITY];
    for p in bad_p {
        t.row(
            format!("grad_norm: norm_type P({p})"),
            hp("norm_type"),
            move || {
                core(
                    reg::grad_norm(&[&pattern(13), &pattern(7)], NormType::P(p)),
                    true,
                )
            },
        );
        t.row(
            format!("clip_grad_norm: norm_type P({p})"),
            hp("norm_type"),
            move || run_clip(|g| reg::clip_grad_norm(g, 1.0, NormType::P(p)).map(drop)),
        );
        t.row(
            format!("clip_grad_norm_flat: norm_type P({p})"),
            hp("norm_type"),
            move || {
                let mut g = pattern(N);
                let r = reg::clip_grad_norm_flat(&mut g, 1.0, NormType::P(p));
                core(r, is_pattern(&g))
            },
        );
    }
    for v in NEGATIVE_OR_NAN {
        t.row(
            format!("clip_grad_norm: max_norm = {v}"),
            hp("max_norm"),
            move || run_clip(|g| reg::clip_grad_norm(g, v, NormType::L2).map(drop)),
        );
        t.row(
            format!("clip_grad_norm_flat: max_norm = {v}"),
            hp("max_norm"),
            move || {
                let mut g = pattern(N);
                core(
                    reg::clip_grad_norm_flat(&mut g, v, NormType::Inf),
                    is_pattern(&g),
                )
            },
        );
        t.row(
            format!("clip_grads_with_norm: max_norm = {v}"),
            hp("max_norm"),
            move || run_clip(|g| reg::clip_grads_with_norm(g, v, 100.0)),
        );
        t.row(
            format!("clip_grad_value: clip_value = {v}"),
            hp("clip_value"),
            move || run_clip(|g| reg::clip_grad_value(g, v)),
        );
        t.row(
            format!("clip_grad_value_flat: clip_value = {v}"),
            hp("clip_value"),
            move || {
                let mut g = pattern(N);
                core(reg::clip_grad_value_flat(&mut g, v), is_pattern(&g))
            },
        );
    }

    // Pruning.
    let bad_amounts = [
        Amount::Fraction(-0.1),
        Amount::Fraction(1.1),
        Amount::Fraction(f64::NAN),
        Amount::Fraction(f64::INFINITY),
        Amount::Fraction(f64::NEG_INFINITY),
        Amount::Count(N + 1),
    ];
    for amount in bad_amounts {
        t.row(
            format!("Amount::count: {amount:?} of {N}"),
            hp("amount"),
            move || core(amount.count(N), true),
        );
        t.row(
            format!("magnitude_mask: {amount:?}"),
            hp("amount"),
            move || run_mask(amount, N, N, N),
        );
    }
    t.row(
        "global_magnitude_mask: Count(14) of 13",
        hp("amount"),
        move || run_global(Amount::Count(14), &[5, 8], 13),
    );
    t.row(
        "global_magnitude_mask: Fraction(NaN)",
        hp("amount"),
        move || run_global(Amount::Fraction(f64::NAN), &[5, 8], 13),
    );
    for actual in wrong(N) {
        t.row(
            format!("magnitude_mask: mask len {actual}"),
            len("mask", N, actual),
            move || run_mask(Amount::Count(3), N, actual, N),
        );
    }
    // scratch may be longer, not shorter.
    t.row(
        "magnitude_mask: scratch len 12",
        len("scratch", N, N - 1),
        move || run_mask(Amount::Count(3), N, N, N - 1),
    );
    t.row(
        "global_magnitude_mask: scratch len 12",
        len("scratch", 13, 12),
        move || run_global(Amount::Count(3), &[5, 8], 12),
    );
    for masks in [vec![5], vec![5, 8, 1]] {
        t.row(
            format!("global_magnitude_mask: {} masks for 2 weights", masks.len()),
            len("masks", 2, masks.len()),
            move || run_global(Amount::Count(3), &masks, 13),
        );
    }
    for (masks, e) in [
        ([4, 8], len("masks", 5, 4)),
        ([6, 8], len("masks", 5, 6)),
        ([5, 7], len("masks", 8, 7)),
        ([5, 9], len("masks", 8, 9)),
    ] {
        t.row(
            format!("global_magnitude_mask: mask lengths {masks:?} for weights [5, 8]"),
            e,
            move || run_global(Amount::Count(3), &masks, 13),
        );
    }
    for actual in wrong(N) {
        t.row(
            format!("apply_mask: x len {actual}"),
            len("x", N, actual),
            move || {
                let mut x = pattern(actual);
                core(reg::apply_mask(&pattern(N), &mut x), is_pattern(&x))
            },
        );
    }
}

// ---------------------------------------------------------------------------------------------
// schedule: `validate` of every schedule (plain data: nothing to modify)

/// A row for a schedule `s` that must be refused naming `what`.
fn schedule_row(t: &mut Table, name: String, what: &'static str, s: impl Schedule + 'static) {
    t.row(name, hp(what), move || core(s.validate(), true));
}

/// Rows setting one `f64` field of a schedule to each value in `values`.
fn schedule_field_rows<S: Schedule + Copy + 'static>(
    t: &mut Table,
    ty: &'static str,
    base: S,
    what: &'static str,
    set: fn(&mut S, f64),
    values: &[f64],
) {
    for &v in values {
        let mut s = base;
        set(&mut s, v);
        schedule_row(t, format!("{ty}::validate: {what} = {v}"), what, s);
    }
}

/// A valid step-free schedule and an invalid one, for the composites.
static GOOD: StepLR = StepLR::new(0.1, 10);
static BAD: StepLR = StepLR {
    gamma: -1.0,
    ..StepLR::new(0.1, 10)
};

fn schedule(t: &mut Table) {
    t.module("schedule");
    let base_lr = "base_lr";
    macro_rules! base_lr_rows {
        ($ty:literal, $base:expr) => {
            schedule_field_rows(
                t,
                $ty,
                $base,
                base_lr,
                |s, v| s.base_lr = v,
                &NOT_NON_NEGATIVE_64,
            );
        };
    }
    base_lr_rows!("StepLR", StepLR::new(0.1, 10));
    schedule_row(
        t,
        "StepLR::validate: step_size = 0".into(),
        "step_size",
        StepLR::new(0.1, 0),
    );
    schedule_field_rows(
        t,
        "StepLR",
        StepLR::new(0.1, 10),
        "gamma",
        |s, v| s.gamma = v,
        &NOT_NON_NEGATIVE_64,
    );

    base_lr_rows!("MultiStepLR", MultiStepLR::new(0.1, &[3, 5]));
    schedule_field_rows(
        t,
        "MultiStepLR",
        MultiStepLR::new(0.1, &[3, 5]),
        "gamma",
        |s, v| s.gamma = v,
        &NOT_NON_NEGATIVE_64,
    );
    base_lr_rows!("ExponentialLR", ExponentialLR::new(0.1, 0.9));
    schedule_field_rows(
        t,
        "ExponentialLR",
        ExponentialLR::new(0.1, 0.9),
        "gamma",
        |s, v| s.gamma = v,
        &NOT_NON_NEGATIVE_64,
    );
    base_lr_rows!("PolynomialLR", PolynomialLR::new(0.1));
    schedule_field_rows(
        t,
        "PolynomialLR",
        PolynomialLR::new(0.1),
        "power",
        |s, v| s.power = v,
        &NOT_NON_NEGATIVE_64,
    );

    base_lr_rows!("LinearLR", LinearLR::new(0.1));
    schedule_field_rows(
        t,
        "LinearLR",
        LinearLR::new(0.1),
        "start_factor",
        |s, v| s.start_factor = v,
        &[0.0, -0.1, 1.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY],
    );
    schedule_field_rows(
        t,
        "LinearLR",
        LinearLR::new(0.1),
        "end_factor",
        |s, v| s.end_factor = v,
        &NOT_UNIT_64,
    );
    base_lr_rows!("ConstantLR", ConstantLR::new(0.1));
    schedule_field_rows(
        t,
        "ConstantLR",
        ConstantLR::new(0.1),
        "factor",
        |s, v| s.factor = v,
        &NOT_UNIT_64,
    );
    schedule_row(
        t,
        "ConstantLR::validate: factor = 0 with total_iters > 0".into(),
        "factor",
        ConstantLR {
            factor: 0.0,
            ..ConstantLR::new(0.1)
        },
    );

    base_lr_rows!("CosineAnnealingLR", CosineAnnealingLR::new(0.1, 10));
    schedule_row(
        t,
        "CosineAnnealingLR::validate: T_max = 0".into(),
        "T_max",
        CosineAnnealingLR::new(0.1, 0),
    );
    schedule_field_rows(
        t,
        "CosineAnnealingLR",
        CosineAnnealingLR::new(0.1, 10),
        "eta_min",
        |s, v| s.eta_min = v,
        &NOT_NON_NEGATIVE_64,
    );
    base_lr_rows!(
        "CosineAnnealingWarmRestarts",
        CosineAnnealingWarmRestarts::new(0.1, 10)
    );
    schedule_row(
        t,
        "CosineAnnealingWarmRestarts::validate: T_0 = 0".into(),
        "T_0",
        CosineAnnealingWarmRestarts::new(0.1, 0),
    );
    schedule_row(
        t,
        "CosineAnnealingWarmRestarts::validate: T_mult = 0".into(),
        "T_mult",
        CosineAnnealingWarmRestarts {
            t_mult: 0,
            ..CosineAnnealingWarmRestarts::new(0.1, 10)
        },
    );
    schedule_field_rows(
        t,
        "CosineAnnealingWarmRestarts",
        CosineAnnealingWarmRestarts::new(0.1, 10),
        "eta_min",
        |s, v| s.eta_min = v,
        &NOT_NON_NEGATIVE_64,
    );

    let cyclic = CyclicLR::new(0.01, 0.1);
    base_lr_rows!("CyclicLR", cyclic);
    for (what, set) in [
        (
            "max_lr",
            (|s: &mut CyclicLR, v| s.max_lr = v) as fn(&mut CyclicLR, f64),
        ),
        ("gamma", |s, v| s.gamma = v),
        ("base_momentum", |s, v| s.base_momentum = v),
        ("max_momentum", |s, v| s.max_momentum = v),
    ] {
        schedule_field_rows(t, "CyclicLR", cyclic, what, set, &NOT_NON_NEGATIVE_64);
    }
    schedule_row(
        t,
        "CyclicLR::validate: step_size_up = 0".into(),
        "step_size_up",
        CyclicLR {
            step_size_up: 0,
            ..cyclic
        },
    );

    let one_cycle = OneCycleLR::new(0.1, 100);
    schedule_row(
        t,
        "OneCycleLR::validate: total_steps = 0".into(),
        "total_steps",
        OneCycleLR::new(0.1, 0),
    );
    schedule_field_rows(
        t,
        "OneCycleLR",
        one_cycle,
        "pct_start",
        |s, v| s.pct_start = v,
        &NOT_UNIT_64,
    );
    schedule_row(
        t,
        "OneCycleLR::validate: pct_start·total_steps = 1".into(),
        "pct_start",
        OneCycleLR {
            pct_start: 0.01,
            ..one_cycle
        },
    );
    for (what, set, values) in [
        (
            "max_lr",
            (|s: &mut OneCycleLR, v| s.max_lr = v) as fn(&mut OneCycleLR, f64),
            &NOT_NON_NEGATIVE_64[..],
        ),
        (
            "div_factor",
            |s, v| s.div_factor = v,
            &[0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY][..],
        ),
        (
            "final_div_factor",
            |s, v| s.final_div_factor = v,
            &[0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY][..],
        ),
        (
            "base_momentum",
            |s, v| s.base_momentum = v,
            &NOT_NON_NEGATIVE_64[..],
        ),
        (
            "max_momentum",
            |s, v| s.max_momentum = v,
            &NOT_NON_NEGATIVE_64[..],
        ),
    ] {
        schedule_field_rows(t, "OneCycleLR", one_cycle, what, set, values);
    }
    for (epochs, steps, what) in [
        (0, 10, "epochs"),
        (10, 0, "steps_per_epoch"),
        (u64::MAX, 2, "steps_per_epoch"),
    ] {
        t.row(
            format!("OneCycleLR::from_epochs: epochs = {epochs}, steps_per_epoch = {steps}"),
            hp(what),
            move || core(OneCycleLR::from_epochs(0.1, epochs, steps), true),
        );
    }

    // ReduceLROnPlateau is stateful; validate is its inherent method.
    let plateau = ReduceLROnPlateau::new(0.1);
    for (what, set, values) in [
        (
            "lr",
            (|s: &mut ReduceLROnPlateau, v| s.lr = v) as fn(&mut ReduceLROnPlateau, f64),
            &NOT_NON_NEGATIVE_64[..],
        ),
        (
            "factor",
            |s, v| s.factor = v,
            &[1.0, 1.5, -0.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY][..],
        ),
        (
            "threshold",
            |s, v| s.threshold = v,
            &NOT_NON_NEGATIVE_64[..],
        ),
        ("min_lr", |s, v| s.min_lr = v, &NOT_NON_NEGATIVE_64[..]),
        ("eps", |s, v| s.eps = v, &NOT_NON_NEGATIVE_64[..]),
    ] {
        for &v in values {
            let mut s = plateau;
            set(&mut s, v);
            t.row(
                format!("ReduceLROnPlateau::validate: {what} = {v}"),
                hp(what),
                move || core(s.validate(), true),
            );
        }
    }

    // Composites.
    static ONE: [&dyn Schedule; 1] = [&GOOD];
    static TWO: [&dyn Schedule; 2] = [&GOOD, &GOOD];
    static THREE: [&dyn Schedule; 3] = [&GOOD, &GOOD, &GOOD];
    static WITH_BAD: [&dyn Schedule; 2] = [&GOOD, &BAD];
    for (name, s, what) in [
        (
            "no scheduler",
            SequentialLR {
                schedulers: &[],
                milestones: &[],
            },
            "schedulers",
        ),
        (
            "2 schedulers, 0 milestones",
            SequentialLR {
                schedulers: &TWO,
                milestones: &[],
            },
            "milestones",
        ),
        (
            "2 schedulers, 2 milestones",
            SequentialLR {
                schedulers: &TWO,
                milestones: &[3, 5],
            },
            "milestones",
        ),
        (
            "1 scheduler, 1 milestone",
            SequentialLR {
                schedulers: &ONE,
                milestones: &[3],
            },
            "milestones",
        ),
        (
            "milestones not sorted",
            SequentialLR {
                schedulers: &THREE,
                milestones: &[5, 3],
            },
            "milestones",
        ),
        (
            "a child's gamma < 0",
            SequentialLR {
                schedulers: &WITH_BAD,
                milestones: &[3],
            },
            "gamma",
        ),
    ] {
        schedule_row(t, format!("SequentialLR::validate: {name}"), what, s);
    }
    schedule_row(
        t,
        "ChainedScheduler::validate: no scheduler".into(),
        "schedulers",
        ChainedScheduler { schedulers: &[] },
    );
    schedule_row(
        t,
        "ChainedScheduler::validate: a child's gamma < 0".into(),
        "gamma",
        ChainedScheduler {
            schedulers: &WITH_BAD,
        },
    );
    for v in [0.0, -0.1, 1.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        schedule_row(
            t,
            format!("LinearWarmup::validate: start_factor = {v}"),
            "start_factor",
            LinearWarmup {
                warmup_steps: 5,
                start_factor: v,
                schedule: GOOD,
            },
        );
    }
    schedule_row(
        t,
        "LinearWarmup::validate: the schedule's gamma < 0".into(),
        "gamma",
        LinearWarmup {
            warmup_steps: 5,
            start_factor: 0.5,
            schedule: BAD,
        },
    );
}

// ---------------------------------------------------------------------------------------------
// train (std): data-set constructors, the model, the trainer and `fit`'s checks

#[cfg(feature = "std")]
mod train {
    use super::*;
    use descent::train::{
        Dataset, FitOptions, Loss, LrSchedule, Model, Progress, Targets, TrainError, Trainer,
        Validation,
    };

    /// The outcome of a training-loop call.
    fn out<T>(r: Result<T, TrainError>, untouched: bool) -> Outcome {
        Outcome {
            got: match r {
                Ok(_) => Got::Ok,
                Err(TrainError::Kernel(e)) => Got::Kernel(e),
                Err(TrainError::Data(s)) => Got::Data(s),
                Err(e) => Got::Other(format!("{e:?}")),
            },
            untouched,
        }
    }

    /// A data-set constructor and what it must give.
    type DatasetRow = (&'static str, fn() -> Result<Dataset, TrainError>, Want);
    /// A data set that does not fit [`classifier`].
    type SetRow = (&'static str, fn() -> Dataset, Want);
    /// A loss, the targets it meets, and what it must give.
    type LossRow = (&'static str, Loss, fn() -> Targets, Want);
    /// A `fit` option only a step would reach: the loss, `clip_grad_norm`, a change to the
    /// trainer, and what it must give.
    type LateRow = (&'static str, Loss, Option<f32>, fn(&mut Trainer<Sgd>), Want);

    fn data(msg: impl Into<String>) -> Want {
        Want::Data(msg.into())
    }

    /// 3 features → dense 4 → batch norm → tanh → dense 2 (the batch norm has buffers that a
    /// forward pass in training mode would change).
    fn classifier() -> Sequential<'static> {
        net(
            3,
            vec![
                Layer::dense(3, 4),
                Layer::batch_norm(4),
                Layer::activation(Activation::Tanh),
                Layer::dense(4, 2),
            ],
        )
    }

    /// 8 samples of 3 features in 2 classes.
    fn classes() -> Dataset {
        Dataset::classification(pattern(24), 3, vec![0, 1, 1, 0, 1, 0, 0, 1], 2).unwrap()
    }

    /// The same samples with 2 real targets each.
    fn values() -> Dataset {
        Dataset::regression(pattern(24), 3, pattern(16), 2).unwrap()
    }

    /// A trainer for [`classifier`] with Sgd and momentum (so it has state).
    fn trainer() -> Trainer<'static, Sgd> {
        let model = Model::new(classifier(), 7).unwrap();
        Trainer::new(
            model,
            Sgd {
                lr: 0.1,
                momentum: 0.9,
                ..Sgd::DEFAULT
            },
        )
        .unwrap()
    }

    fn options() -> FitOptions<'static> {
        FitOptions {
            progress: Progress::Off,
            ..FitOptions::new(2, 4)
        }
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// `fit` on a fresh trainer: parameters, buffers, optimizer state and the step counter
    /// must be as before.
    fn run_fit(train: &Dataset, options: &FitOptions<'_>, tweak: fn(&mut Trainer<Sgd>)) -> Outcome {
        let mut tr = trainer();
        tweak(&mut tr);
        let before = (
            bits(&tr.model.params),
            bits(&tr.model.buffers),
            bits(&tr.state),
            tr.step,
        );
        let r = tr.fit(train, options, |_| descent::train::Control::Continue);
        let after = (
            bits(&tr.model.params),
            bits(&tr.model.buffers),
            bits(&tr.state),
            tr.step,
        );
        out(r, before == after)
    }

    /// The training loop's rows that fail today because of the network bugs above.
    pub(super) fn bad_layer_rows(t: &mut Table) {
        let slope_nan = || {
            net(
                3,
                vec![
                    Layer::dense(3, 4),
                    Layer::batch_norm(4),
                    Layer::activation(Activation::LeakyRelu(LeakyRelu {
                        negative_slope: f32::NAN,
                    })),
                    Layer::dense(4, 2),
                ],
            )
        };
        // `Model::new` refuses a layer that cannot run (through `Sequential::validate`).
        t.row(
            "Model::new: a leaky_relu slope NaN",
            Want::Kernel(hp("negative_slope")),
            move || out(Model::new(slope_nan(), 1), true),
        );
        // `fit` refuses it before the batch norm below it updates the running statistics.
        t.row(
            "Trainer::fit: a leaky_relu slope NaN",
            Want::Kernel(hp("negative_slope")),
            move || {
                let n = slope_nan();
                let model = Model {
                    frozen: vec![],
                    params: pattern(n.trainable_len()),
                    buffers: pattern(n.buffer_len()),
                    net: n,
                };
                let mut tr = Trainer::new(model, Sgd::DEFAULT).unwrap();
                let before = (bits(&tr.model.params), bits(&tr.model.buffers));
                let r = tr.fit(&classes(), &options(), |_| {
                    descent::train::Control::Continue
                });
                let after = (bits(&tr.model.params), bits(&tr.model.buffers));
                out(r, before == after && tr.step == 0)
            },
        );
    }

    static BAD_GAMMA: StepLR = StepLR {
        gamma: f64::NAN,
        ..StepLR::new(0.1, 1)
    };

    pub(super) fn rows(t: &mut Table) {
        t.module("train");
        // Data sets.
        let ds_rows: [DatasetRow; 9] = [
            (
                "classification: classes = 0",
                || Dataset::classification(pattern(6), 3, vec![0, 0], 0),
                data("classes is zero"),
            ),
            (
                "classification: label 2 of 2 classes",
                || Dataset::classification(pattern(6), 3, vec![0, 2], 2),
                data("label 2 of sample 1 is not below 2 classes"),
            ),
            (
                "classification: label usize::MAX (-1)",
                || Dataset::classification(pattern(6), 3, vec![usize::MAX, 0], 2),
                data(format!(
                    "label {} of sample 0 is not below 2 classes",
                    usize::MAX
                )),
            ),
            (
                "classification: features = 0",
                || Dataset::classification(vec![], 0, vec![], 2),
                data("features is zero"),
            ),
            (
                "classification: 7 values of 3 features",
                || Dataset::classification(pattern(7), 3, vec![0, 1], 2),
                data("7 feature values are not a whole number of samples of 3"),
            ),
            (
                "classification: 3 labels for 2 samples",
                || Dataset::classification(pattern(6), 3, vec![0, 1, 0], 2),
                data("2 samples but 3 targets"),
            ),
            (
                "regression: outputs = 0",
                || Dataset::regression(pattern(6), 3, vec![], 0),
                data("outputs is zero"),
            ),
            (
                "regression: 5 values of 2 outputs",
                || Dataset::regression(pattern(6), 3, pattern(5), 2),
                data("5 target values are not a whole number of rows of 2"),
            ),
            (
                "regression: 3 rows of targets for 2 samples",
                || Dataset::regression(pattern(6), 3, pattern(6), 2),
                data("2 samples but 3 targets"),
            ),
        ];
        for (name, f, want) in ds_rows {
            t.row(format!("Dataset::{name}"), want, move || out(f(), true));
        }
        // A hand-built set (the fields are public) is checked by `check` the same way.
        t.row(
            "Dataset::check: a label out of range",
            data("label 5 of sample 1 is not below 2 classes"),
            move || {
                let mut set = classes();
                if let Targets::Classes { labels, .. } = &mut set.targets {
                    labels[1] = 5;
                }
                out(set.check(), true)
            },
        );
        t.row(
            "Dataset::check: classes = 0",
            data("classes is zero"),
            move || {
                let mut set = classes();
                if let Targets::Classes { classes, .. } = &mut set.targets {
                    *classes = 0;
                }
                out(set.check(), true)
            },
        );
        for f in NOT_UNIT {
            t.row(
                format!("Dataset::split: fraction = {f}"),
                data(format!("split fraction {f} is not in [0, 1]")),
                move || out(classes().split(f, 1), true),
            );
        }

        // The model.
        for (name, n, e) in [
            ("no layer", net(3, vec![]), zero("layers")),
            (
                "dense in_features 4 after width 3",
                net(3, vec![Layer::dense(4, 2)]),
                len("in_features", 3, 4),
            ),
            ("dropout p = 2", net(3, vec![Layer::dropout(2.0)]), hp("p")),
        ] {
            t.row(format!("Model::new: {name}"), Want::Kernel(e), move || {
                out(Model::new(n, 1), true)
            });
        }
        t.row(
            "Model::predict: 7 values of 3 features",
            data("7 values are not whole samples of 3 features"),
            move || {
                out(
                    Model::new(classifier(), 1).unwrap().predict(&pattern(7)),
                    true,
                )
            },
        );
        let wrong_sets: [SetRow; 3] = [
            (
                "4 features for a model of 3",
                || Dataset::classification(pattern(8), 4, vec![0, 1], 2).unwrap(),
                data("the data has 4 features, the model takes 3"),
            ),
            (
                "3 classes for a model of 2 outputs",
                || Dataset::classification(pattern(6), 3, vec![0, 2], 3).unwrap(),
                data("the targets need 3 outputs, the model gives 2"),
            ),
            (
                "3 real outputs for a model of 2",
                || Dataset::regression(pattern(6), 3, pattern(6), 3).unwrap(),
                data("the targets need 3 outputs, the model gives 2"),
            ),
        ];
        for (name, set, want) in wrong_sets.clone() {
            t.row(format!("Model::evaluate: {name}"), want, move || {
                let m = Model::new(classifier(), 1).unwrap();
                out(
                    m.evaluate(
                        &set(),
                        Loss::CrossEntropy {
                            label_smoothing: 0.0,
                        },
                    ),
                    true,
                )
            });
        }
        t.row(
            "Model::evaluate: Mse on class targets",
            data("loss Mse does not fit the data set's targets"),
            move || {
                let m = Model::new(classifier(), 1).unwrap();
                out(m.evaluate(&classes(), Loss::Mse), true)
            },
        );

        // Loss::value writes no gradient on error.
        let loss_rows: [LossRow; 6] = [
            (
                "CrossEntropy on value targets",
                Loss::CrossEntropy {
                    label_smoothing: 0.0,
                },
                || values().targets,
                data("loss CrossEntropy { label_smoothing: 0.0 } does not fit the data set's targets"),
            ),
            (
                "L1 on class targets",
                Loss::L1,
                || classes().targets,
                data("loss L1 does not fit the data set's targets"),
            ),
            (
                "CrossEntropy label_smoothing = NaN",
                Loss::CrossEntropy {
                    label_smoothing: f32::NAN,
                },
                || classes().targets,
                Want::Kernel(hp("label_smoothing")),
            ),
            (
                "Huber delta = 0",
                Loss::Huber { delta: 0.0 },
                || values().targets,
                Want::Kernel(hp("delta")),
            ),
            (
                "SmoothL1 beta = -1",
                Loss::SmoothL1 { beta: -1.0 },
                || values().targets,
                Want::Kernel(hp("beta")),
            ),
            (
                "Mse with 15 outputs for 16 targets",
                Loss::Mse,
                || values().targets,
                Want::Kernel(len("target", 15, 16)),
            ),
        ];
        for (name, loss, targets, want) in loss_rows {
            let n = if name.contains("15 outputs") { 15 } else { 16 };
            t.row(format!("Loss::value: {name}"), want, move || {
                let mut g = sentinel(n);
                out(
                    loss.value(&pattern(n), &targets(), Some(&mut g)),
                    is_sentinel(&g),
                )
            });
        }

        // The trainer.
        t.row("Trainer::new: lr = -1", Want::Kernel(hp("lr")), move || {
            let model = Model::new(classifier(), 1).unwrap();
            out(
                Trainer::new(
                    model,
                    Sgd {
                        lr: -1.0,
                        ..Sgd::DEFAULT
                    },
                ),
                true,
            )
        });
        let none: fn(&mut Trainer<Sgd>) = |_| {};
        for (name, set, want) in wrong_sets {
            t.row(format!("Trainer::fit: {name}"), want.clone(), move || {
                run_fit(&set(), &options(), none)
            });
            t.row(
                format!("Trainer::fit: validation set with {name}"),
                want,
                move || {
                    let v = set();
                    let o = FitOptions {
                        validation: Validation::Set(&v),
                        ..options()
                    };
                    run_fit(&classes(), &o, none)
                },
            );
        }
        t.row(
            "Trainer::fit: batch_size = 0",
            data("batch_size is zero"),
            move || {
                let o = FitOptions {
                    batch_size: 0,
                    ..options()
                };
                run_fit(&classes(), &o, none)
            },
        );
        for f in NOT_UNIT {
            t.row(
                format!("Trainer::fit: validation split {f}"),
                data(format!("split fraction {f} is not in [0, 1]")),
                move || {
                    let o = FitOptions {
                        validation: Validation::Split(f),
                        ..options()
                    };
                    run_fit(&classes(), &o, none)
                },
            );
        }
        t.row(
            "Trainer::fit: empty training set",
            data("the training set is empty"),
            move || {
                let empty = Dataset::classification(vec![], 3, vec![], 2).unwrap();
                run_fit(&empty, &options(), none)
            },
        );
        t.row(
            "Trainer::fit: validation split 1 leaves no training sample",
            data("the training set is empty"),
            move || {
                let o = FitOptions {
                    validation: Validation::Split(1.0),
                    ..options()
                };
                run_fit(&classes(), &o, none)
            },
        );
        for (name, schedule) in [
            ("PerStep", LrSchedule::PerStep(&BAD_GAMMA)),
            ("PerEpoch", LrSchedule::PerEpoch(&BAD_GAMMA)),
        ] {
            t.row(
                format!("Trainer::fit: {name} schedule with gamma = NaN"),
                Want::Kernel(hp("gamma")),
                move || {
                    let o = FitOptions {
                        schedule,
                        ..options()
                    };
                    run_fit(&classes(), &o, none)
                },
            );
        }
        t.row(
            "Trainer::fit: ReduceLROnPlateau factor = 1",
            Want::Kernel(hp("factor")),
            move || {
                let o = FitOptions {
                    schedule: LrSchedule::Plateau(ReduceLROnPlateau {
                        factor: 1.0,
                        ..ReduceLROnPlateau::new(0.1)
                    }),
                    ..options()
                };
                run_fit(&classes(), &o, none)
            },
        );
        // Checks that only a training step would reach: the loss against the targets, its
        // hyper-parameters, clipping, the optimizer (its fields are public).
        let late: [LateRow; 8] = [
            (
                "Mse on class targets",
                Loss::Mse,
                None,
                none,
                data("loss Mse does not fit the data set's targets"),
            ),
            (
                "label_smoothing = 1.5",
                Loss::CrossEntropy {
                    label_smoothing: 1.5,
                },
                None,
                none,
                Want::Kernel(hp("label_smoothing")),
            ),
            (
                "clip_grad_norm = -1",
                Loss::CrossEntropy {
                    label_smoothing: 0.0,
                },
                Some(-1.0),
                none,
                Want::Kernel(hp("max_norm")),
            ),
            (
                "clip_grad_norm = NaN",
                Loss::CrossEntropy {
                    label_smoothing: 0.0,
                },
                Some(f32::NAN),
                none,
                Want::Kernel(hp("max_norm")),
            ),
            (
                "the optimizer's lr set to NaN after Trainer::new",
                Loss::CrossEntropy {
                    label_smoothing: 0.0,
                },
                None,
                |tr| tr.optimizer.lr = f32::NAN,
                Want::Kernel(hp("lr")),
            ),
            (
                "the optimizer's momentum set to -1 after Trainer::new",
                Loss::CrossEntropy {
                    label_smoothing: 0.0,
                },
                None,
                |tr| tr.optimizer.momentum = -1.0,
                Want::Kernel(hp("momentum")),
            ),
            (
                "a label out of range in a hand-built set",
                Loss::CrossEntropy {
                    label_smoothing: 0.0,
                },
                None,
                none,
                data("label 5 of sample 1 is not below 2 classes"),
            ),
            (
                "optimizer state of the wrong length",
                Loss::CrossEntropy {
                    label_smoothing: 0.0,
                },
                None,
                |tr| tr.state.push(0.0),
                Want::Kernel(len("state", 34, 35)),
            ),
        ];
        for (name, loss, clip, tweak, want) in late {
            t.row(format!("Trainer::fit: {name}"), want, move || {
                let o = FitOptions {
                    loss,
                    clip_grad_norm: clip,
                    ..options()
                };
                let mut set = classes();
                if name.contains("label out of range") {
                    if let Targets::Classes { labels, .. } = &mut set.targets {
                        labels[1] = 5;
                    }
                }
                run_fit(&set, &o, tweak)
            });
        }
        let regression_late: [(&'static str, Loss, Want); 3] = [
            (
                "CrossEntropy on value targets",
                Loss::CrossEntropy {
                    label_smoothing: 0.0,
                },
                data("loss CrossEntropy { label_smoothing: 0.0 } does not fit the data set's targets"),
            ),
            (
                "Huber delta = NaN",
                Loss::Huber { delta: f32::NAN },
                Want::Kernel(hp("delta")),
            ),
            (
                "SmoothL1 beta = -inf",
                Loss::SmoothL1 {
                    beta: f32::NEG_INFINITY,
                },
                Want::Kernel(hp("beta")),
            ),
        ];
        for (name, loss, want) in regression_late {
            t.row(
                format!("Trainer::fit (regression): {name}"),
                want,
                move || {
                    let o = FitOptions { loss, ..options() };
                    run_fit(&values(), &o, none)
                },
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A network's layers: their own hyper-parameters and a batch of one through a batch norm are
// reported before a pass writes anything.

/// Bad layers inside a network: `validate` names them, and no pass writes before it fails.
fn layer_hyper_parameters(t: &mut Table) {
    t.module("network layers");
    let slope_nan = Layer::activation(Activation::LeakyRelu(LeakyRelu {
        negative_slope: f32::NAN,
    }));
    let ln_bad_eps = Layer::new(LayerKind::LayerNorm(LayerNorm {
        eps: -1.0,
        ..LayerNorm::new(6)
    }));
    let bn_bad_momentum = Layer::new(LayerKind::BatchNorm(BatchNorm {
        momentum: Some(2.0),
        ..BatchNorm::new(6)
    }));
    let softplus_zero = Layer::activation(Activation::Softplus(Softplus {
        beta: 0.0,
        threshold: 20.0,
    }));

    // `Sequential::validate` checks the layers' own hyper-parameters (an activation's slope,
    // alpha or beta; a norm's eps or momentum), so `Model::new` refuses a model that cannot run.
    for (name, layer, e) in [
        ("leaky_relu slope NaN", slope_nan, hp("negative_slope")),
        ("layer_norm eps = -1", ln_bad_eps, hp("eps")),
        ("batch_norm momentum = 2", bn_bad_momentum, hp("momentum")),
        ("softplus beta = 0", softplus_zero, hp("beta")),
    ] {
        let n = net(4, vec![Layer::dense(4, 6), layer, Layer::dense(6, 3)]);
        t.row(format!("Sequential::validate: {name}"), e, move || {
            run_net(n, NetCall::Validate, NO_LENS)
        });
        // The same layer above others: found before the layers below write `acts`, a batch
        // norm below updates its running statistics or a dropout below draws.
        let n = net(
            4,
            vec![
                Layer::dense(4, 6),
                Layer::batch_norm(6),
                Layer::dropout(0.5),
                layer,
                Layer::dense(6, 3),
            ],
        );
        t.row(format!("Sequential::ForwardTrain: {name}"), e, move || {
            run_net(n, NetCall::ForwardTrain, net_lens(&n, NB))
        });
        // Backward: found before the dense layer above accumulates into `grads`.
        t.row(format!("Sequential::Backward: {name}"), e, move || {
            run_net(n, NetCall::Backward, net_lens(&n, NB))
        });
    }
    // A batch of one through a training batch norm: refused before the layers below write
    // `acts` (forward) or the layers above accumulate `grads` (backward).
    let n = net(
        4,
        vec![Layer::dense(4, 6), Layer::batch_norm(6), Layer::dense(6, 3)],
    );
    for call in [NetCall::ForwardTrain, NetCall::Backward] {
        t.row(
            format!("Sequential::{call:?}: batch 1 through a batch norm"),
            zero("batch - 1"),
            move || run_net(n, call, net_lens(&n, 1)),
        );
    }
}
