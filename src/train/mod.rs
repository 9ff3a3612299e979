//! The `std` side of the crate: what a training run needs around the kernels.
//!
//! - [`checkpoint`]: save and restore named `f32` tensors (parameters, optimizer state) as
//!   safetensors files, atomically on save and all-or-nothing on load.

pub mod checkpoint;
