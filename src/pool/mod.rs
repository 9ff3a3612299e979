//!
//! torch's `nn.MaxPool1d`/`2d`, `nn.AvgPool1d`/`2d`, `nn.AdaptiveAvgPool1d(1)`/`2d((1, 1))`
//! (global average pooling) and `nn.Flatten()`, each a [`Layer`](crate::layer::Layer) on
//! `[N, C, L]` (NCL) or `[N, C, H, W]` (NCHW) batches.
//!
//! A layer value holds torch's hyper-parameters under torch's names and defaults
//! (`MaxPool2d { padding: [1, 1], ..MaxPool2d::new(3) }`); each call takes the shape of one
//! sample ([`Shape::Sequence`](crate::layer::Shape::Sequence) `[C, L]` or
//! [`Shape::Image`](crate::layer::Shape::Image) `[C, H, W]`) and finds the batch from the
//! slice's length. None has parameters or buffers; only a training
//! [`MaxPool1d`](crate::pool::MaxPool1d)/[`MaxPool2d`](crate::pool::MaxPool2d) saves something
//! (the index of each output's maximum).
//!
//! # One kernel per pooling
//! The window poolings run on `[H, W]` planes, one plane per sample and channel: a 1-D pooling
//! is the 2-D one with a window of one row on planes of height 1, so each has one code path.
//! The output lengths and the window ranges come from [`Window`](crate::layer::Window)
//! (torch's formula with `ceil_mode`, and which taps of an output read inside the input). Each
//! output reads its window in torch's order, rows top to bottom and each row left to right,
//! and backward adds into `dx` output after output, as torch's CPU kernels do: max and average
//! pooling give torch's bits. Padding is never read: it never wins a maximum, and adds zero to
//! a mean.
//!
//! # Errors
//! Every call checks everything before it writes anything and returns an
//! [`Error`](crate::Error) naming the argument: a hyper-parameter (`"kernel_size"`,
//! `"stride"`, `"padding"`, `"dilation"`, `"divisor_override"`), the sample shape
//! (`"input"`: its rank, a zero dimension, a window larger than the padded input) or a slice
//! (`"x"`, `"y"`, `"saved"`, `"dy"`, `"dx"`). No call allocates, and none needs scratch.

mod avg;
mod flatten;
mod global;
mod grid;
mod max;

pub use avg::{AvgPool1d, AvgPool2d};
pub use flatten::Flatten;
pub use global::{GlobalAvgPool1d, GlobalAvgPool2d};
pub use max::{MaxPool1d, MaxPool2d, MAX_PLANE};
