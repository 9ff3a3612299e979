//! Saving and loading models and trainers as safetensors checkpoints, with torch's
//! `state_dict` names.
//!
//! A model's tensors are named as an `nn.Sequential`'s: `"{layer}.weight"`, `"{layer}.bias"`
//! (frozen and trainable alike). A trainer adds the optimizer's state as
//! `"optim.{layer}.{tensor}.{plane}"` (e.g. `optim.0.weight.exp_avg`), its per-group scalars as
//! `"optim.{name}"` (shape `[]`), and the step counter in the metadata (`"optim.step"`, a
//! decimal string: exact beyond 2²⁴, unlike a float tensor).

use super::checkpoint::{self, CheckpointError, Metadata};
use super::{Model, Trainer};
use crate::network::{Sequential, Store};
use crate::optim::Optimizer;
use std::path::Path;
use std::string::{String, ToString};
use std::vec::Vec;

/// The metadata key of the step counter.
pub const STEP_KEY: &str = "optim.step";

/// Each tensor's name, shape and store, in order.
fn layout(net: &Sequential<'_>) -> Vec<(String, Vec<usize>, Store, usize)> {
    net.tensors()
        .map(|t| {
            (
                std::format!("{}.{}", t.layer, t.name),
                t.dims().to_vec(),
                t.store,
                t.len,
            )
        })
        .collect()
}

/// Cuts `data` into consecutive pieces of `lens`.
fn pieces(mut data: &mut [f32], lens: impl Iterator<Item = usize>) -> Vec<&mut [f32]> {
    let mut out = Vec::new();
    for len in lens {
        let k = len.min(data.len());
        let (here, rest) = core::mem::take(&mut data).split_at_mut(k);
        out.push(here);
        data = rest;
    }
    out
}

impl Model<'_> {
    /// Writes the model's tensors (frozen, trainable and buffers) to `path` atomically, with
    /// torch's names: the file loads in Python with `safetensors.torch.load_file` into an
    /// `nn.Sequential` of the same layers.
    ///
    /// # Errors
    /// [`CheckpointError`] from the writer (I/O).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        self.save_with(path, &[], &[])
    }

    pub(super) fn save_with(
        &self,
        path: impl AsRef<Path>,
        extra: &[(String, Vec<usize>, &[f32])],
        metadata: &[(&str, &str)],
    ) -> Result<(), CheckpointError> {
        let mut tensors: Vec<(&str, &[usize], &[f32])> = Vec::new();
        let names = layout(&self.net);
        let (mut f, mut p, mut b) = (0usize, 0usize, 0usize);
        for (name, shape, store, len) in &names {
            let (src, at) = match store {
                Store::Frozen => (&self.frozen, &mut f),
                Store::Trainable => (&self.params, &mut p),
                Store::Buffer => (&self.buffers, &mut b),
            };
            let data = src.get(*at..*at + len).unwrap_or(&[]);
            *at += len;
            tensors.push((name, shape, data));
        }
        for (name, shape, data) in extra {
            tensors.push((name, shape, data));
        }
        checkpoint::save(path, &tensors, metadata)
    }

    /// Loads the model's tensors from `path` (strict, as torch's `load_state_dict`: every
    /// tensor present with its shape, nothing else in the file). On `Err` the model is
    /// untouched.
    ///
    /// # Errors
    /// [`CheckpointError`]: I/O, a damaged file, a missing or unexpected tensor (named), a
    /// shape mismatch (named).
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<Metadata, CheckpointError> {
        let bytes = std::fs::read(path.as_ref()).map_err(|source| CheckpointError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        })?;
        self.load_bytes(&bytes, &mut [])
    }

    /// Loads from bytes, with extra destinations (the optimizer's state).
    pub(super) fn load_bytes(
        &mut self,
        bytes: &[u8],
        extra: &mut [(String, Vec<usize>, &mut [f32])],
    ) -> Result<Metadata, CheckpointError> {
        let names = layout(&self.net);
        let lens = |s: Store| {
            names
                .iter()
                .filter(move |t| t.2 == s)
                .map(|t| t.3)
                .collect::<Vec<_>>()
        };
        let mut frozen = pieces(&mut self.frozen, lens(Store::Frozen).into_iter()).into_iter();
        let mut params = pieces(&mut self.params, lens(Store::Trainable).into_iter()).into_iter();
        let mut buffers = pieces(&mut self.buffers, lens(Store::Buffer).into_iter()).into_iter();
        let mut dest: Vec<(&str, &[usize], &mut [f32])> = Vec::new();
        for (name, shape, store, _) in &names {
            let slot = match store {
                Store::Frozen => frozen.next(),
                Store::Trainable => params.next(),
                Store::Buffer => buffers.next(),
            };
            if let Some(slot) = slot {
                dest.push((name, shape, slot));
            }
        }
        for (name, shape, slot) in extra.iter_mut() {
            dest.push((name, shape, slot));
        }
        checkpoint::load_from_bytes(bytes, &mut dest, true).map(|r| r.metadata)
    }
}

impl<O: Optimizer> Trainer<'_, O> {
    /// The optimizer state's tensors: `(name, shape, offset, len)` in `self.state`.
    fn state_layout(&self) -> Vec<(String, Vec<usize>, usize, usize)> {
        let net = self.model.net;
        let n = net.trainable_len();
        let mut out = Vec::new();
        for (k, plane) in self.optimizer.state_planes().iter().enumerate() {
            for t in net.tensors().filter(|t| t.store == Store::Trainable) {
                out.push((
                    std::format!("optim.{}.{}.{plane}", t.layer, t.name),
                    t.dims().to_vec(),
                    k * n + t.offset,
                    t.len,
                ));
            }
        }
        let scalars_at = self.optimizer.state_planes().len() * n;
        for (j, name) in self.optimizer.state_scalars().iter().enumerate() {
            out.push((std::format!("optim.{name}"), Vec::new(), scalars_at + j, 1));
        }
        out
    }

    /// Writes the model and the optimizer's state and step counter to `path` atomically.
    ///
    /// # Errors
    /// [`CheckpointError`] from the writer.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), CheckpointError> {
        let extra: Vec<(String, Vec<usize>, &[f32])> = self
            .state_layout()
            .into_iter()
            .map(|(name, shape, at, len)| {
                (name, shape, self.state.get(at..at + len).unwrap_or(&[]))
            })
            .collect();
        let step = self.step.to_string();
        self.model
            .save_with(path, &extra, &[(STEP_KEY, step.as_str())])
    }

    /// Loads the model, the optimizer's state and the step counter from `path`, all or
    /// nothing: on `Err` neither the model nor the optimizer state changed.
    ///
    /// # Errors
    /// [`CheckpointError`] as [`Model::load`], and a malformed header when the step counter is
    /// missing or not a number.
    pub fn load(&mut self, path: impl AsRef<Path>) -> Result<Metadata, CheckpointError> {
        let bytes = std::fs::read(path.as_ref()).map_err(|source| CheckpointError::Io {
            path: path.as_ref().to_path_buf(),
            source,
        })?;
        // The step counter first: a file without one changes nothing.
        let parsed = checkpoint::parse(&bytes)?;
        let step = parsed
            .metadata
            .get(STEP_KEY)
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or(CheckpointError::MalformedHeader {
                reason: std::format!("metadata `{STEP_KEY}` is missing or not a number"),
            })?;
        let layout = self.state_layout();
        let mut state = self.state.clone();
        {
            let mut slots: Vec<(String, Vec<usize>, &mut [f32])> = Vec::new();
            let mut rest: &mut [f32] = &mut state;
            let mut at = 0;
            for (name, shape, offset, len) in layout {
                let skip = offset.saturating_sub(at).min(rest.len());
                let (_, tail) = core::mem::take(&mut rest).split_at_mut(skip);
                let (here, tail) = tail.split_at_mut(len.min(tail.len()));
                slots.push((name, shape, here));
                rest = tail;
                at = offset + len;
            }
            let metadata = self.model.load_bytes(&bytes, &mut slots)?;
            drop(slots);
            self.state = state;
            self.step = step;
            Ok(metadata)
        }
    }
}
