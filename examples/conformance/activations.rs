//! The `activations` family.

use crate::case::Case;

/// Runs one case of the family.
pub fn run(case: &Case) -> Result<(), String> {
    Err(format!("`{}` is not implemented yet", case.name))
}
