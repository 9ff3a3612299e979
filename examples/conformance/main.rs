//! Runs golden vectors computed with PyTorch against this crate.
//!
//! ```text
//! cargo run --release --example conformance -- [FILE_OR_FOLDER ...]
//! ```
//!
//! With no argument it runs `tests/data/conformance`. It prints one line per failing case and
//! ends with `N passed, N failed`; the exit code is 0 when all passed, 1 when any failed, and 2
//! when a file could not be read. A family this crate does not implement yet counts as failed.

mod activations;
mod case;
mod clipping;
mod conv;
mod dense;
mod losses;
mod norms;
mod optimizers;
mod regularization;
mod run;
mod schedules;
mod used;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if args.is_empty() {
        args.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/conformance"));
    }
    let files = match run::collect(&args) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let mut summary = run::Summary::default();
    let mut unreadable = false;
    for file in &files {
        if let Err(e) = run::run_file(file, &mut summary) {
            eprintln!("error: {e}");
            unreadable = true;
        }
    }
    for line in &summary.failures {
        println!("FAIL {line}");
    }
    println!("{} passed, {} failed", summary.passed, summary.failed);
    if unreadable {
        ExitCode::from(2)
    } else if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
