//! The `norms` family.

use crate::case::Case;

/// Runs one case of the family.
pub fn run(case: &Case) -> Result<(), String> {
    Err(format!("family `{}` is not implemented", case.family))
}
