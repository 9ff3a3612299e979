//! Every golden case of the implemented families passes (the same runner as
//! `cargo run --example conformance`).

#[path = "../examples/conformance/activations.rs"]
mod activations;
#[path = "../examples/conformance/case.rs"]
mod case;
#[path = "../examples/conformance/clipping.rs"]
mod clipping;
#[path = "../examples/conformance/conv.rs"]
mod conv;
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
#[path = "../examples/conformance/used.rs"]
mod used;

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

#[test]
fn norms() {
    assert_family("norms.json");
}

#[test]
fn conv() {
    assert_family("conv.json");
}

/// Every family is implemented: the whole folder passes, and a case of a family the runner
/// does not know is reported as failed (never skipped).
#[test]
fn unknown_families_are_reported_failed() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance");
    let files = run::collect(&[dir]).unwrap();
    assert!(files.len() >= 8, "{files:?}");
    let mut summary = run::Summary::default();
    for file in &files {
        run::run_file(file, &mut summary).unwrap();
    }
    for line in &summary.failures {
        eprintln!("FAIL {line}");
    }
    assert!(summary.passed > 0);
    assert_eq!(summary.failed, 0);

    let case = r#"{"format": 1, "generator": "test", "family": "no_such_family", "cases": [
{"family": "no_such_family", "name": "op", "id": "test-no_such_family-000", "hparams": {},
 "inputs": {"x": {"shape": [1], "dtype": "f32", "data": [1.0]}},
 "expected": {"y": {"shape": [1], "dtype": "f32", "data": [1.0]}},
 "rtol": 0.0, "atol": {"y": 0.0}}
]}"#;
    let path = std::env::temp_dir().join(format!(
        "descent-conformance-unknown-{}.json",
        std::process::id()
    ));
    std::fs::write(&path, case).unwrap();
    let mut summary = run::Summary::default();
    let result = run::run_file(&path, &mut summary);
    std::fs::remove_file(&path).unwrap();
    result.unwrap();
    assert_eq!((summary.passed, summary.failed), (0, 1));
    assert!(
        summary.failures[0].contains("is not implemented"),
        "{:?}",
        summary.failures
    );
}

/// A hyper-parameter the runner does not know fails the case with a message naming it, in
/// every family (here the two that once passed such a case silently): each real case of the
/// family, with one made-up key added, is reported failed.
#[test]
fn unknown_hyper_parameters_are_reported_failed() {
    for (file, family) in [
        ("activations.json", "activations"),
        ("losses.json", "losses"),
    ] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/conformance")
            .join(file);
        let mut doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let cases = doc["cases"].as_array_mut().unwrap();
        let total = cases.len();
        assert!(total > 0, "{file}");
        for case in cases.iter_mut() {
            assert_eq!(case["family"], family);
            case["hparams"]
                .as_object_mut()
                .unwrap()
                .insert("no_such_hparam".into(), serde_json::json!(1.0));
        }
        let tmp = std::env::temp_dir().join(format!(
            "descent-conformance-hparam-{family}-{}.json",
            std::process::id()
        ));
        std::fs::write(&tmp, doc.to_string()).unwrap();
        let mut summary = run::Summary::default();
        let result = run::run_file(&tmp, &mut summary);
        std::fs::remove_file(&tmp).unwrap();
        result.unwrap();
        assert_eq!((summary.passed, summary.failed), (0, total), "{file}");
        for line in &summary.failures {
            assert!(
                line.ends_with("unsupported hparam `no_such_hparam`"),
                "{line}"
            );
        }
    }
}
