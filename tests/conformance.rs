//! Every golden case of the implemented families passes (the same runner as
//! `cargo run --example conformance`).

#[path = "../examples/conformance/activations.rs"]
mod activations;
#[path = "../examples/conformance/case.rs"]
mod case;
#[path = "../examples/conformance/clipping.rs"]
mod clipping;
#[path = "../examples/conformance/dense.rs"]
mod dense;
#[path = "../examples/conformance/losses.rs"]
mod losses;
#[path = "../examples/conformance/norms.rs"]
mod norms;
#[path = "../examples/conformance/optimizers.rs"]
mod optimizers;
#[path = "../examples/conformance/regularization.rs"]
mod regularization;
#[path = "../examples/conformance/run.rs"]
mod run;
#[path = "../examples/conformance/schedules.rs"]
mod schedules;

use std::path::PathBuf;

fn assert_family(file: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/conformance")
        .join(file);
    let mut summary = run::Summary::default();
    run::run_file(&path, &mut summary).unwrap();
    for line in &summary.failures {
        eprintln!("FAIL {line}");
    }
    assert!(summary.passed > 0, "{file}: no case ran");
    assert_eq!(summary.failed, 0, "{file}: {} cases failed", summary.failed);
}

#[test]
fn dense() {
    assert_family("dense.json");
}

#[test]
fn activations() {
    assert_family("activations.json");
}

#[test]
fn losses() {
    assert_family("losses.json");
}

#[test]
fn optimizers() {
    assert_family("optimizers.json");
}

#[test]
fn schedules() {
    assert_family("schedules.json");
}

#[test]
fn clipping() {
    assert_family("clipping.json");
}

#[test]
fn regularization() {
    assert_family("regularization.json");
}

/// The runner over the whole folder: the implemented families pass, and every case of a family
/// it does not implement yet is reported as failed (never skipped).
#[test]
fn unknown_families_are_reported_failed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance");
    let files = run::collect(&[dir]).unwrap();
    assert!(files.len() >= 8, "{files:?}");
    let mut summary = run::Summary::default();
    let mut pending = 0;
    for file in &files {
        let cases = case::load_file(file).unwrap();
        pending += cases
            .iter()
            .filter(|c| {
                ![
                    "dense",
                    "activations",
                    "losses",
                    "optimizers",
                    "schedules",
                    "clipping",
                    "regularization",
                ]
                .contains(&c.family.as_str())
            })
            .count();
        run::run_file(file, &mut summary).unwrap();
    }
    assert!(pending > 0);
    assert_eq!(summary.failed, pending);
    assert!(summary
        .failures
        .iter()
        .all(|line| line.contains("is not implemented")));
}
