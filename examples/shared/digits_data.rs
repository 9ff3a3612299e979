//! The 8×8 handwritten digits of `examples/data/digits.csv`, shared by the examples that train
//! on them (`#[path]`-included; not an example of its own).

use descent::train::Dataset;
use std::error::Error;

/// All 1797 samples: 64 pixels scaled from 0..16 to 0..1, and the digit as a class of 10.
pub fn load_digits() -> Result<Dataset, Box<dyn Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/digits.csv");
    let text = std::fs::read_to_string(path)?;
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 65 {
            return Err(format!("line {}: {} fields, expected 65", i + 1, fields.len()).into());
        }
        for f in &fields[..64] {
            x.push(f.trim().parse::<f32>()? / 16.0);
        }
        labels.push(fields[64].trim().parse::<usize>()?);
    }
    Ok(Dataset::classification(x, 64, labels, 10)?)
}
