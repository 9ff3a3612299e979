//! Runs cases by family and reports `N passed, N failed`.

use crate::case::{load_file, Case};
use std::path::{Path, PathBuf};

/// Runs one case through the family that knows it.
pub fn run_case(case: &Case) -> Result<(), String> {
    match case.family.as_str() {
        "dense" => crate::dense::run(case),
        "activations" => crate::activations::run(case),
        "losses" => crate::losses::run(case),
        "optimizers" => crate::optimizers::run(case),
        "schedules" => crate::schedules::run(case),
        "clipping" => crate::clipping::run(case),
        "regularization" => crate::regularization::run(case),
        "norms" => crate::norms::run(case),
        "conv" => crate::conv::run(case),
        other => Err(format!("family `{other}` is not implemented")),
    }
}

/// The tally of a run.
#[derive(Default, Debug)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    /// One line per failing case: `id (name): message`.
    pub failures: Vec<String>,
}

/// Expands folders into the `.json` files inside them (sorted), keeps files as they are.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

/// Runs every case of one file; `Err` when the file cannot be read or parsed.
pub fn run_file(path: &Path, summary: &mut Summary) -> Result<(), String> {
    for case in load_file(path)? {
        match run_case(&case) {
            Ok(()) => summary.passed += 1,
            Err(msg) => {
                summary.failed += 1;
                summary
                    .failures
                    .push(format!("{} ({}): {msg}", case.id, case.name));
            }
        }
    }
    Ok(())
}
