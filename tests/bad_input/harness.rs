//! The harness of the bad-input table: the sentinels, the counting generator, what a row
//! expects and gets, and the runner.

use descent::Error;
use rand::TryRng;
use std::convert::Infallible;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The bits of the write-only sentinel.
pub(crate) const SENTINEL: u32 = 0x7fc0_1234;
/// The write-only sentinel of `u32` dropout masks.
pub(crate) const MASK_SENTINEL: u32 = 0xDEAD_BEEF;

/// `n` write-only sentinels.
pub(crate) fn sentinel(n: usize) -> Vec<f32> {
    vec![f32::from_bits(SENTINEL); n]
}

/// Whether `v` still holds only sentinels.
pub(crate) fn is_sentinel(v: &[f32]) -> bool {
    v.iter().all(|x| x.to_bits() == SENTINEL)
}

/// A finite pattern of `n` distinct, non-zero values of both signs (the same on every call),
/// for buffers that are read as well as written.
pub(crate) fn pattern(n: usize) -> Vec<f32> {
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
pub(crate) fn is_pattern(v: &[f32]) -> bool {
    v.iter()
        .zip(pattern(v.len()))
        .all(|(a, b)| a.to_bits() == b.to_bits())
}

/// A generator that counts the words it gives (none may be drawn on error).
pub(crate) struct Counting {
    pub(crate) state: u64,
    pub(crate) drawn: usize,
}

impl Counting {
    pub(crate) fn new() -> Self {
        Counting {
            state: 0x9E37_79B9_7F4A_7C15,
            drawn: 0,
        }
    }

    pub(crate) fn word(&mut self) -> u64 {
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
pub(crate) enum Want {
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
pub(crate) enum Got {
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
pub(crate) struct Outcome {
    pub(crate) got: Got,
    pub(crate) untouched: bool,
}

/// The outcome of a core call.
pub(crate) fn core<T>(r: descent::Result<T>, untouched: bool) -> Outcome {
    Outcome {
        got: match r {
            Ok(_) => Got::Ok,
            Err(e) => Got::Core(e),
        },
        untouched,
    }
}

/// One row: a call with one wrong argument, and the error it must give.
pub(crate) struct Case {
    pub(crate) module: &'static str,
    pub(crate) name: String,
    pub(crate) want: Want,
    pub(crate) run: Box<dyn Fn() -> Outcome>,
}

/// The rows, grouped by module.
#[derive(Default)]
pub(crate) struct Table {
    pub(crate) module: &'static str,
    pub(crate) cases: Vec<Case>,
}

impl Table {
    /// Starts the rows of `module`.
    pub(crate) fn module(&mut self, module: &'static str) {
        self.module = module;
    }

    /// Adds a row.
    pub(crate) fn row(
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

pub(crate) fn len(what: &'static str, expected: usize, actual: usize) -> Error {
    Error::LengthMismatch {
        what,
        expected,
        actual,
    }
}

pub(crate) fn zero(what: &'static str) -> Error {
    Error::ZeroDimension { what }
}

pub(crate) fn overflow(what: &'static str) -> Error {
    Error::DimensionOverflow { what }
}

pub(crate) fn hp(what: &'static str) -> Error {
    Error::InvalidHyperParameter { what }
}

pub(crate) fn class(sample: usize, index: usize, classes: usize) -> Error {
    Error::ClassOutOfRange {
        sample,
        index,
        classes,
    }
}

/// `n − 1` and `n + 1`, the two wrong lengths of every length argument.
pub(crate) fn wrong(n: usize) -> [usize; 2] {
    [n - 1, n + 1]
}

/// Non-finite values: refused wherever a value must be finite.
pub(crate) const NON_FINITE: [f32; 3] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
/// Refused where a value must be finite and `≥ 0`.
pub(crate) const NOT_NON_NEGATIVE: [f32; 4] = [-1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
/// Refused where a value must lie in `[0, 1]`.
pub(crate) const NOT_UNIT: [f32; 5] = [-0.1, 1.1, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
/// Refused where a value must be `≥ 0` but may be `+∞` (NaN included).
pub(crate) const NEGATIVE_OR_NAN: [f32; 3] = [-1.0, f32::NAN, f32::NEG_INFINITY];

/// `f64` versions for the schedules.
pub(crate) const NOT_NON_NEGATIVE_64: [f64; 4] = [-1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
pub(crate) const NOT_UNIT_64: [f64; 5] = [-0.1, 1.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];

/// Runs every row; returns the failures and the number of rows per module.
pub(crate) fn run_all(cases: &[Case]) -> (Vec<String>, Vec<(&'static str, usize)>) {
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

// The shapes the modules share.

/// Element-wise length.
pub(crate) const N: usize = 13;

/// Row-wise calls (softmax, norms, constraints) work on `[ROWS, COLS]`.
pub(crate) const ROWS: usize = 3;
pub(crate) const COLS: usize = 5;
pub(crate) const M: usize = ROWS * COLS;

/// The `LengthMismatch` of a `[·, COLS]` slice of `actual` elements: the multiple of `COLS`
/// below it is expected.
pub(crate) fn not_whole_rows(what: &'static str, actual: usize) -> Error {
    len(what, actual / COLS * COLS, actual)
}
