//! Hyper-parameters and inputs read through a record of what was read, so that a case with
//! one its family does not know fails instead of passing silently.

use crate::case::{Case, Tensor};
use std::cell::RefCell;

/// Reads hyper-parameters and inputs and remembers which ones were read, so that a case with
/// one this runner does not know fails instead of passing silently.
pub struct Used<'a> {
    pub case: &'a Case,
    hparams: RefCell<Vec<&'static str>>,
    inputs: RefCell<Vec<&'static str>>,
}

impl<'a> Used<'a> {
    /// Nothing read yet.
    pub fn new(case: &'a Case) -> Self {
        Used {
            case,
            hparams: RefCell::new(Vec::new()),
            inputs: RefCell::new(Vec::new()),
        }
    }

    pub fn f32(&self, name: &'static str) -> Result<f32, String> {
        self.hparams.borrow_mut().push(name);
        Ok(self.case.hp_f64(name)? as f32)
    }

    pub fn opt_f32(&self, name: &'static str) -> Result<Option<f32>, String> {
        self.hparams.borrow_mut().push(name);
        Ok(self.case.hp_opt_f64(name)?.map(|v| v as f32))
    }

    pub fn usize(&self, name: &'static str) -> Result<usize, String> {
        self.hparams.borrow_mut().push(name);
        self.case.hp_usize(name)
    }

    /// A list of non-negative integers (torch's `kernel_size=[3, 3]`).
    pub fn usizes(&self, name: &'static str) -> Result<Vec<usize>, String> {
        self.hparams.borrow_mut().push(name);
        let v = self
            .case
            .hparams
            .get(name)
            .ok_or_else(|| format!("missing hparam `{name}`"))?;
        v.as_array()
            .and_then(|a| a.iter().map(|x| x.as_u64().map(|u| u as usize)).collect())
            .ok_or_else(|| format!("hparam `{name}` is not a list of non-negative integers"))
    }

    pub fn flag(&self, name: &'static str) -> Result<bool, String> {
        self.hparams.borrow_mut().push(name);
        self.case.hp_bool(name)
    }

    /// A boolean hyper-parameter the vectors may leave out; `default` then.
    pub fn flag_or(&self, name: &'static str, default: bool) -> Result<bool, String> {
        if self.case.hparams.contains_key(name) {
            self.flag(name)
        } else {
            Ok(default)
        }
    }

    pub fn input(&self, name: &'static str) -> Result<&Tensor, String> {
        self.inputs.borrow_mut().push(name);
        self.case.input(name)
    }

    pub fn input_opt(&self, name: &'static str) -> Result<Option<Vec<f32>>, String> {
        self.inputs.borrow_mut().push(name);
        Ok(self.case.input_opt(name)?.map(Tensor::f32s))
    }

    pub fn all_used(&self) -> Result<(), String> {
        let hp = self.hparams.borrow();
        if let Some(extra) = self.case.hparams.keys().find(|k| !hp.contains(&k.as_str())) {
            return Err(format!("unsupported hparam `{extra}`"));
        }
        let inputs = self.inputs.borrow();
        if let Some(extra) = self
            .case
            .inputs
            .keys()
            .find(|k| !inputs.contains(&k.as_str()))
        {
            return Err(format!("unsupported input `{extra}`"));
        }
        Ok(())
    }
}
