//! Reading golden-vector files (`tests/data/conformance/FORMAT.md`) and applying their pass rule.

use serde::Deserialize;
use std::collections::BTreeMap;

/// A tensor as stored: flat row-major data, read as f64 (exact for f32 and i64 of the files).
#[derive(Deserialize, Debug)]
pub struct Tensor {
    pub shape: Vec<usize>,
    #[allow(dead_code)]
    pub dtype: String,
    pub data: Vec<f64>,
}

impl Tensor {
    /// The data rounded to f32 (exact: the files hold f32 values).
    pub fn f32s(&self) -> Vec<f32> {
        self.data.iter().map(|v| *v as f32).collect()
    }

    /// Integer data (class targets, steps) as indices; `Err` for a negative or fractional value.
    pub fn indices(&self) -> Result<Vec<usize>, String> {
        self.data
            .iter()
            .map(|v| {
                if *v >= 0.0 && v.fract() == 0.0 {
                    Ok(*v as usize)
                } else {
                    Err(format!("{v} is not a class index"))
                }
            })
            .collect()
    }
}

/// One entry of `inputs` or `expected`: a tensor, or a list of them (`grads` in clipping).
#[derive(Deserialize, Debug)]
#[serde(untagged)]
pub enum Value {
    One(Tensor),
    Many(Vec<Tensor>),
}

/// One golden case.
#[derive(Deserialize, Debug)]
pub struct Case {
    pub family: String,
    pub name: String,
    pub id: String,
    #[serde(default)]
    pub hparams: serde_json::Map<String, serde_json::Value>,
    pub inputs: BTreeMap<String, Value>,
    pub expected: BTreeMap<String, Value>,
    pub rtol: f64,
    pub atol: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
struct File {
    format: u32,
    cases: Vec<Case>,
}

/// Reads every case of one vector file.
pub fn load_file(path: &std::path::Path) -> Result<Vec<Case>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file: File = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if file.format != 1 {
        return Err(format!(
            "{}: unknown format {}",
            path.display(),
            file.format
        ));
    }
    Ok(file.cases)
}

impl Case {
    /// The input tensor `name`.
    pub fn input(&self, name: &str) -> Result<&Tensor, String> {
        match self.inputs.get(name) {
            Some(Value::One(t)) => Ok(t),
            Some(Value::Many(_)) => Err(format!("input `{name}` is a list, expected a tensor")),
            None => Err(format!("missing input `{name}`")),
        }
    }

    /// The input tensor `name` if the case has it.
    pub fn input_opt(&self, name: &str) -> Result<Option<&Tensor>, String> {
        if self.inputs.contains_key(name) {
            self.input(name).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The input list `name` (`grads` in clipping).
    #[allow(dead_code)]
    pub fn input_list(&self, name: &str) -> Result<&[Tensor], String> {
        match self.inputs.get(name) {
            Some(Value::Many(ts)) => Ok(ts),
            Some(Value::One(_)) => Err(format!("input `{name}` is a tensor, expected a list")),
            None => Err(format!("missing input `{name}`")),
        }
    }

    /// The input tensor `name` as f32 values.
    pub fn f32s(&self, name: &str) -> Result<Vec<f32>, String> {
        Ok(self.input(name)?.f32s())
    }

    fn hp(&self, name: &str) -> Result<&serde_json::Value, String> {
        self.hparams
            .get(name)
            .ok_or_else(|| format!("missing hparam `{name}`"))
    }

    /// A real-valued hyper-parameter.
    pub fn hp_f64(&self, name: &str) -> Result<f64, String> {
        self.hp(name)?
            .as_f64()
            .ok_or_else(|| format!("hparam `{name}` is not a number"))
    }

    /// A real-valued hyper-parameter that may be `null` (torch's `None`).
    #[allow(dead_code)]
    pub fn hp_opt_f64(&self, name: &str) -> Result<Option<f64>, String> {
        match self.hp(name)? {
            serde_json::Value::Null => Ok(None),
            v => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| format!("hparam `{name}` is not a number")),
        }
    }

    /// An integer hyper-parameter.
    pub fn hp_usize(&self, name: &str) -> Result<usize, String> {
        self.hp(name)?
            .as_u64()
            .map(|v| v as usize)
            .ok_or_else(|| format!("hparam `{name}` is not a non-negative integer"))
    }

    /// A boolean hyper-parameter.
    pub fn hp_bool(&self, name: &str) -> Result<bool, String> {
        self.hp(name)?
            .as_bool()
            .ok_or_else(|| format!("hparam `{name}` is not a boolean"))
    }

    /// A string hyper-parameter.
    pub fn hp_str(&self, name: &str) -> Result<&str, String> {
        self.hp(name)?
            .as_str()
            .ok_or_else(|| format!("hparam `{name}` is not a string"))
    }

    /// The expected tensor `key`.
    pub fn expected(&self, key: &str) -> Result<&Tensor, String> {
        match self.expected.get(key) {
            Some(Value::One(t)) => Ok(t),
            Some(Value::Many(_)) => Err(format!("expected `{key}` is a list")),
            None => Err(format!("missing expected `{key}`")),
        }
    }

    /// Applies the pass rule `|got − want| ≤ atol[key] + rtol·|want|` to every element of
    /// `got` against `expected[key]`, and checks the shape.
    pub fn check(&self, key: &str, got: &[f32], shape: &[usize]) -> Result<(), String> {
        let want = self.expected(key)?;
        check_tensor(self, key, want, got, shape)
    }

    /// [`Case::check`] for a scalar result.
    pub fn check_scalar(&self, key: &str, got: f32) -> Result<(), String> {
        self.check(key, &[got], &[])
    }

    /// Checks every expected key was checked: call with the keys the family produced.
    pub fn require_only(&self, produced: &[&str]) -> Result<(), String> {
        for key in self.expected.keys() {
            if !produced.contains(&key.as_str()) {
                return Err(format!("expected `{key}` was not produced"));
            }
        }
        Ok(())
    }
}

/// The pass rule for one tensor, against `want`, with the tolerances of `case[key]`.
pub fn check_tensor(
    case: &Case,
    key: &str,
    want: &Tensor,
    got: &[f32],
    shape: &[usize],
) -> Result<(), String> {
    if want.shape != shape {
        return Err(format!(
            "`{key}`: shape {:?}, expected {:?}",
            shape, want.shape
        ));
    }
    if want.data.len() != got.len() {
        return Err(format!(
            "`{key}`: {} values, expected {}",
            got.len(),
            want.data.len()
        ));
    }
    let atol = *case
        .atol
        .get(key)
        .ok_or_else(|| format!("no atol for `{key}`"))?;
    let mut worst: Option<(usize, f64, f64, f64)> = None;
    for (i, (g, w)) in got.iter().zip(&want.data).enumerate() {
        let g = *g as f64;
        let err = (g - w).abs();
        let tol = atol + case.rtol * w.abs();
        if (err.is_nan() || err > tol) && worst.is_none_or(|(_, _, _, e)| err > e || err.is_nan()) {
            worst = Some((i, g, *w, err));
        }
    }
    if std::env::var_os("DESCENT_CONFORMANCE_MARGIN").is_some() {
        let used = got
            .iter()
            .zip(&want.data)
            .map(|(g, w)| (*g as f64 - w).abs() / (atol + case.rtol * w.abs()))
            .fold(0.0f64, f64::max);
        eprintln!("{} `{key}`: {:.0}% of the tolerance", case.id, 100.0 * used);
    }
    match worst {
        None => Ok(()),
        Some((i, g, w, err)) => Err(format!(
            "`{key}`[{i}]: got {g:e}, want {w:e} (|err| {err:.3e} > atol {atol:.3e} + rtol {:.1e}·|want|)",
            case.rtol
        )),
    }
}
