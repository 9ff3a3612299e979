//! Every golden case of the implemented families passes (the same runner as
//! `cargo run --example conformance`).

#[path = "../examples/conformance/activations.rs"]
mod activations;
#[path = "../examples/conformance/case.rs"]
mod case;
#[path = "../examples/conformance/dense.rs"]
mod dense;
#[path = "../examples/conformance/losses.rs"]
mod losses;
#[path = "../examples/conformance/run.rs"]
mod run;

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
