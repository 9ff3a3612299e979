//! The time series of `examples/data/` (`basicmotions.csv`, `japanesevowels.csv.gz`), shared by
//! the examples that train on them (`#[path]`-included; not an example of its own).
//!
//! Each file's header is `split,label,c0_t0,c0_t1,…`; a row is one series, channel by channel,
//! so it is already torch's `[channels, length]` layout of one `conv1d` sample.

use descent::train::Dataset;
use std::error::Error;
use std::io::Read;

/// One file's series, split as the archive splits them.
pub struct Series {
    pub train: Dataset,
    pub test: Dataset,
    pub channels: usize,
    pub length: usize,
    /// The class names, in the order of the class indices.
    pub classes: Vec<String>,
}

/// Reads `examples/data/{name}` (gunzipped when it ends in `.gz`). Each channel is scaled by
/// the mean and standard deviation of its values in the training split.
pub fn load_series(name: &str) -> Result<Series, Box<dyn Error>> {
    let path = format!("{}/examples/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
    let text = if name.ends_with(".gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..]).read_to_string(&mut s)?;
        s
    } else {
        String::from_utf8(bytes)?
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty file")?.split(',').collect();
    let values = header.len() - 2;
    let channels = 1 + header
        .iter()
        .filter_map(|h| {
            h.strip_prefix('c')?
                .split('_')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .max()
        .ok_or("no c{channel}_t{time} columns")?;
    let length = values / channels;
    let mut rows: Vec<(bool, String, Vec<f32>)> = Vec::new();
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != header.len() {
            return Err(format!(
                "line {}: {} fields, expected {}",
                i + 2,
                f.len(),
                header.len()
            )
            .into());
        }
        let x = f[2..]
            .iter()
            .map(|v| v.parse::<f32>())
            .collect::<Result<Vec<_>, _>>()?;
        rows.push((f[0] == "train", f[1].to_string(), x));
    }
    let mut classes: Vec<String> = rows.iter().map(|r| r.1.clone()).collect();
    classes.sort();
    classes.dedup();
    // Per-channel standardisation from the training split only.
    let mut stats = vec![(0.0f64, 0.0f64, 0usize); channels];
    for (_, _, x) in rows.iter().filter(|r| r.0) {
        for (c, s) in x.chunks(length).zip(&mut stats) {
            for v in c {
                s.0 += *v as f64;
                s.1 += (*v as f64) * (*v as f64);
                s.2 += 1;
            }
        }
    }
    let scale: Vec<(f32, f32)> = stats
        .iter()
        .map(|&(sum, sq, n)| {
            let mean = sum / n as f64;
            let std = (sq / n as f64 - mean * mean).max(1e-12).sqrt();
            (mean as f32, std as f32)
        })
        .collect();
    let set = |train: bool| -> Result<Dataset, Box<dyn Error>> {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for (_, label, v) in rows.iter().filter(|r| r.0 == train) {
            for (c, &(mean, std)) in v.chunks(length).zip(&scale) {
                x.extend(c.iter().map(|v| (v - mean) / std));
            }
            y.push(classes.iter().position(|c| c == label).unwrap_or(0));
        }
        Ok(Dataset::classification(
            x,
            channels * length,
            y,
            classes.len(),
        )?)
    };
    Ok(Series {
        train: set(true)?,
        test: set(false)?,
        channels,
        length,
        classes,
    })
}
