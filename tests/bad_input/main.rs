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
//! contract names (negative, NaN, ±∞, beyond a bound). The rows of each module are in the file of
//! its name, with a test of its own here; the harness is `harness.rs`. A test prints how many
//! rows its module has (`-- --nocapture`) and fails if it has fewer than [`MIN_ROWS`] says, so
//! a row cannot silently vanish.
//!
//! The rows of `network::layer_hyper_parameters` were found failing by this table (a network met a
//! bad layer only when its pass reached it, after writing below it); they pass since
//! `Sequential::validate` checks every layer and the passes check the batch first.

mod activation;
mod conv;
mod dense;
mod dropout;
mod gemm;
mod harness;
mod init;
mod loss;
mod network;
mod norm;
mod optim;
mod pool;
mod regularize;
mod schedule;
mod simd;
#[cfg(feature = "std")]
mod train;

use harness::*;

/// The rows written for each module: the table must have at least these (raise them when
/// adding rows), so that no row can silently vanish.
const MIN_ROWS: [(&str, usize); 16] = [
    ("activation", 462),
    ("conv", 493),
    ("dense", 130),
    ("dropout", 58),
    ("gemm", 30),
    ("simd", 2),
    ("init", 100),
    ("loss", 78),
    ("norm", 309),
    ("network", 166),
    ("network layers", 14),
    ("optim", 748),
    ("pool", 450),
    ("regularize", 84),
    ("schedule", 167),
    ("train", 61),
];

/// Runs the rows that `add` writes: every row gives its error and writes nothing, and each
/// of `modules` has at least the rows [`MIN_ROWS`] says.
fn check(modules: &[&str], add: &[fn(&mut Table)]) {
    let mut t = Table::default();
    for f in add {
        f(&mut t);
    }
    let (failures, counts) = run_all(&t.cases);
    for (module, n) in &counts {
        println!("{module:>14}: {n:>4} rows");
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        t.cases.len(),
        failures.join("\n")
    );
    for module in modules {
        let min = MIN_ROWS
            .iter()
            .find(|(m, _)| m == module)
            .map_or_else(|| panic!("{module} is not in MIN_ROWS"), |m| m.1);
        let n = counts
            .iter()
            .filter(|(m, _)| m == module)
            .map(|c| c.1)
            .sum::<usize>();
        assert!(
            n >= min,
            "{module} has {n} rows, fewer than the {min} written: rows went missing"
        );
    }
    assert!(
        counts.iter().all(|(m, _)| modules.contains(m)),
        "{counts:?}: a module outside {modules:?}"
    );
}

#[test]
fn activation() {
    check(&["activation"], &[activation::rows]);
}

#[test]
fn conv() {
    check(&["conv"], &[conv::rows]);
}

#[test]
fn dense() {
    check(&["dense"], &[dense::rows]);
}

#[test]
fn dropout() {
    check(&["dropout"], &[dropout::rows]);
}

#[test]
fn gemm() {
    check(&["gemm"], &[gemm::rows]);
}

#[test]
fn simd() {
    check(&["simd"], &[simd::rows]);
}

#[test]
fn init() {
    check(&["init"], &[init::rows]);
}

#[test]
fn loss() {
    check(&["loss"], &[loss::rows]);
}

#[test]
fn norm() {
    check(&["norm"], &[norm::rows]);
}

#[test]
fn network() {
    check(
        &["network", "network layers"],
        &[network::rows, network::layer_hyper_parameters],
    );
}

#[test]
fn optim() {
    check(&["optim"], &[optim::rows, optim::step_groups_rows]);
}

#[test]
fn pool() {
    check(&["pool"], &[pool::rows]);
}

#[test]
fn regularize() {
    check(&["regularize"], &[regularize::rows]);
}

#[test]
fn schedule() {
    check(&["schedule"], &[schedule::rows]);
}

#[cfg(feature = "std")]
#[test]
fn train() {
    check(&["train"], &[train::rows, train::bad_layer_rows]);
}

/// Every module of [`MIN_ROWS`] has its test above (`train` only with `std`).
#[test]
fn every_module_has_rows() {
    let tested = [
        "activation",
        "conv",
        "dense",
        "dropout",
        "gemm",
        "simd",
        "init",
        "loss",
        "norm",
        "network",
        "network layers",
        "optim",
        "pool",
        "regularize",
        "schedule",
        "train",
    ];
    assert_eq!(MIN_ROWS.map(|m| m.0), tested);
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
