//! Checkpoints as [safetensors] files: named `f32` tensors (parameters, optimizer state)
//! and string metadata, in the format PyTorch users load with
//! `safetensors.torch.load_file` and pass to `model.load_state_dict`.
//!
//! # Format
//!
//! ```text
//! [8 bytes]  N, little-endian u64: the header's length (at most 100 MB)
//! [N bytes]  UTF-8 JSON, padded with trailing spaces:
//!            {"__metadata__": {"key": "value", …},          (optional, strings only)
//!             "0.weight": {"dtype": "F32", "shape": [3, 4], "data_offsets": [0, 48]},
//!             "0.bias":   {"dtype": "F32", "shape": [3],    "data_offsets": [48, 60]}, …}
//! [rest]     the data section: each tensor's elements, row-major, little-endian;
//!            data_offsets are [begin, end) byte offsets relative to the data section
//! ```
//!
//! A file is valid when the header is such an object (unknown fields inside a tensor's
//! entry are ignored, as Python does), every `end − begin` equals the dtype's size times the
//! product of the shape (a scalar has shape `[]` and one element; a dimension may be 0), and
//! the tensors tile the data section exactly: no gap, no overlap, no byte left over. Names
//! must be unique and `__metadata__` is not a tensor name. Shape products and offsets are
//! computed with checked arithmetic; anything else is an `Err`, never a panic.
//!
//! # What `save` writes
//!
//! Tensors are stored as `F32` in the order given; the header is the canonical JSON
//! (`__metadata__` first with keys sorted, then each tensor as
//! `{"dtype":"F32","shape":[…],"data_offsets":[b,e]}`, no whitespace), padded with spaces so
//! the data starts at a multiple of 8 bytes, as Python's safetensors pads. The same tensors
//! and metadata always give the same bytes.
//!
//! The metadata gets two more keys: [`CHECKSUM_KEY`] (`"descent.crc32"`), the CRC-32/IEEE,
//! as 8 lowercase hex digits, of the canonical header *without that key* followed by the
//! data section; and [`CHECKSUM_ALGORITHM_KEY`] (`"descent.checksum": "crc32"`), which says
//! the file carries a checksum (and is covered by it), so that damage to the name of the
//! checksum key cannot pass for a file without one. Loading checks them, so a truncated
//! checkpoint, or one with a flipped bit that changes its content, is an `Err` instead of
//! silently wrong weights. (The checksum covers the content, not the spelling: a flip that
//! only respells it, such as the hex case of a `\u001a` escape, loads the same tensors and
//! metadata.) Files without these keys (written by Python) load unchecked, but still fully
//! validated. Neither key is
//! returned in the loaded metadata. A tool that rewrites a file must drop both keys (or the
//! load fails with a checksum error).
//!
//! Saving is atomic: the bytes go to a temporary file in the target's directory
//! (`.NAME.PID.N.tmp`), which is flushed (`sync_all`) and renamed over the target, and then
//! the directory is flushed (on Unix). After a crash at any point the target holds either
//! the previous checkpoint or the new one, never a mix. On an `Err` before the rename the
//! temporary file is removed and the target is untouched; an `Err` from flushing the
//! directory comes after the rename (the new file is in place, its durability unconfirmed).
//! The renamed file gets default permissions, and a symbolic link at the target is replaced
//! by the file rather than followed.
//!
//! # Loading
//!
//! [`load_into`] reads and validates the *whole* file (header, checksum, every requested
//! tensor present with the requested shape and a supported dtype) before it writes any
//! destination: on `Err` every destination is untouched. It is strict like torch's
//! `load_state_dict(strict=True)`: a requested tensor missing from the file and a tensor in
//! the file that was not requested are both errors. [`load_into_with`] with
//! `strict = false` is `strict=False`: both are allowed and reported in a [`LoadReport`]
//! (missing destinations are left as they are). A shape mismatch is an error either way,
//! as in torch.
//!
//! Element types: `F32` is read as is; `F64` is rounded to the nearest `f32` (overflow to
//! ±∞); `F16` and `BF16` are widened exactly. Any other dtype is
//! [`CheckpointError::UnsupportedDtype`].
//!
//! # Names
//!
//! The caller chooses tensor names. To interoperate with PyTorch use the names of the
//! model's `state_dict()`: for `nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))`
//! these are `0.weight` `[3, 4]`, `0.bias` `[3]`, `2.weight` `[2, 3]`, `2.bias` `[2]`
//! (our dense weights are `[out, in]` row-major, as `nn.Linear`). Optimizer state has no
//! standard safetensors naming; a prefix such as `optim.0.weight.exp_avg` keeps it apart.
//!
//! # Example
//!
//! ```
//! use descent::train::checkpoint;
//!
//! let path = std::env::temp_dir().join(format!("descent-doc-{}.safetensors", std::process::id()));
//! let weight = [0.5f32, -1.0, 2.0, 0.25, 1.0, 3.0];
//! let bias = [0.1f32, -0.1];
//! checkpoint::save(
//!     &path,
//!     &[("0.weight", &[2, 3], &weight), ("0.bias", &[2], &bias)],
//!     &[("format", "pt")],
//! )?;
//!
//! let (mut w, mut b) = ([0.0f32; 6], [0.0f32; 2]);
//! let metadata = checkpoint::load_into(
//!     &path,
//!     &mut [("0.weight", &[2, 3], &mut w), ("0.bias", &[2], &mut b)],
//! )?;
//! assert_eq!((w, b), (weight, bias)); // bit-exact
//! assert_eq!(metadata["format"], "pt");
//!
//! // A strict load names what does not fit, and writes nothing.
//! let err = checkpoint::load_into(&path, &mut [("0.weight", &[3, 2], &mut w)]).unwrap_err();
//! assert!(err.to_string().contains("0.bias"));
//! std::fs::remove_file(&path).ok();
//! # Ok::<(), checkpoint::CheckpointError>(())
//! ```
//!
//! [safetensors]: https://huggingface.co/docs/safetensors/index

mod atomic;
mod crc;
mod error;
mod header;
mod json;

use std::collections::{BTreeMap, BTreeSet};
use std::format;
use std::fs;
use std::path::Path;
use std::string::String;
use std::vec::Vec;

pub use error::CheckpointError;

use crc::Crc32;

/// A checkpoint's metadata: `__metadata__` of the header, sorted by key.
pub type Metadata = BTreeMap<String, String>;

/// The metadata key that holds the checksum `save` writes (and loads check).
pub const CHECKSUM_KEY: &str = "descent.crc32";

/// The metadata key that declares the checksum, with the value `"crc32"`: when it is
/// present, [`CHECKSUM_KEY`] must be too.
pub const CHECKSUM_ALGORITHM_KEY: &str = "descent.checksum";

/// The value of [`CHECKSUM_ALGORITHM_KEY`].
const CHECKSUM_ALGORITHM: &str = "crc32";

/// The largest header accepted, in bytes: Python's safetensors' limit.
pub const MAX_HEADER_LEN: u64 = 100_000_000;

/// A tensor element type this module reads. Every one is converted to `f32` on load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// IEEE binary32, read as is (the type `save` writes).
    F32,
    /// IEEE binary64, rounded to the nearest `f32`.
    F64,
    /// IEEE binary16, widened exactly.
    F16,
    /// bfloat16 (the top half of an `f32`), widened exactly.
    BF16,
}

impl Dtype {
    /// The name in a safetensors header (`"F32"`, …).
    pub fn name(self) -> &'static str {
        match self {
            Dtype::F32 => "F32",
            Dtype::F64 => "F64",
            Dtype::F16 => "F16",
            Dtype::BF16 => "BF16",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Dtype::F32 => 4,
            Dtype::F64 => 8,
            Dtype::F16 | Dtype::BF16 => 2,
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [Dtype::F32, Dtype::F64, Dtype::F16, Dtype::BF16]
            .into_iter()
            .find(|d| d.name() == name)
    }
}

/// One tensor of a [`Checkpoint`].
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Its name (a key of the header).
    pub name: String,
    /// Its shape; `[]` for a scalar.
    pub shape: Vec<usize>,
    /// The element type in the file (the data below is converted to `f32`).
    pub dtype: Dtype,
    /// The elements, row-major.
    pub data: Vec<f32>,
}

/// The whole content of a checkpoint, owned: for inspection, or to load tensors whose names
/// or shapes are not known in advance.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The tensors, in the order of the header.
    pub tensors: Vec<Tensor>,
    /// The metadata, without [`CHECKSUM_KEY`] and [`CHECKSUM_ALGORITHM_KEY`].
    pub metadata: Metadata,
    /// The checksum the file carried and that was verified; `None` for files without one.
    pub crc32: Option<u32>,
}

impl Checkpoint {
    /// The tensor called `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|t| t.name == name)
    }
}

/// What a load did: the metadata, and (non-strict loads only) what did not match, with
/// torch's names.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LoadReport {
    /// The metadata, without [`CHECKSUM_KEY`] and [`CHECKSUM_ALGORITHM_KEY`].
    pub metadata: Metadata,
    /// Requested tensors absent from the file, in the caller's order; left untouched.
    pub missing_keys: Vec<String>,
    /// Tensors in the file nobody asked for, in the header's order; ignored.
    pub unexpected_keys: Vec<String>,
}

/// The number of elements of `shape` (1 for `[]`), checked.
fn numel(name: &str, shape: &[usize]) -> Result<usize, CheckpointError> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| CheckpointError::SizeOverflow {
            tensor: name.into(),
        })
}

/// Serializes `tensors` (`(name, shape, data)`, stored as `F32` in this order) and
/// `metadata` into the bytes of a safetensors file, as [`save`] writes them.
///
/// Errors: a data length other than the shape's product ([`CheckpointError::LengthMismatch`]),
/// a repeated tensor name, the name `__metadata__`, a repeated metadata key or the reserved
/// keys [`CHECKSUM_KEY`] and [`CHECKSUM_ALGORITHM_KEY`], sizes that overflow.
pub fn to_bytes(
    tensors: &[(&str, &[usize], &[f32])],
    metadata: &[(&str, &str)],
) -> Result<Vec<u8>, CheckpointError> {
    let mut meta = BTreeMap::new();
    for &(k, v) in metadata {
        let reason = if k == CHECKSUM_KEY || k == CHECKSUM_ALGORITHM_KEY {
            "reserved for the checksum"
        } else if meta.insert(k, v).is_some() {
            "metadata key given twice"
        } else {
            continue;
        };
        return Err(CheckpointError::InvalidName {
            name: k.into(),
            reason,
        });
    }
    let mut names = BTreeSet::new();
    let mut offsets = Vec::with_capacity(tensors.len());
    let mut cursor = 0usize;
    for &(name, shape, data) in tensors {
        if name == "__metadata__" {
            return Err(CheckpointError::InvalidName {
                name: name.into(),
                reason: "reserved by the safetensors format",
            });
        }
        if !names.insert(name) {
            return Err(CheckpointError::DuplicateTensor { name: name.into() });
        }
        let n = numel(name, shape)?;
        if data.len() != n {
            return Err(CheckpointError::LengthMismatch {
                tensor: name.into(),
                expected: n,
                actual: data.len(),
            });
        }
        let end = n
            .checked_mul(4)
            .and_then(|b| cursor.checked_add(b))
            .ok_or_else(|| CheckpointError::SizeOverflow {
                tensor: name.into(),
            })?;
        offsets.push([cursor as u64, end as u64]);
        cursor = end;
    }
    let mut body = Vec::with_capacity(cursor);
    for &(_, _, data) in tensors {
        for x in data {
            body.extend_from_slice(&x.to_le_bytes());
        }
    }
    let entries = || {
        tensors
            .iter()
            .zip(&offsets)
            .map(|(&(name, shape, _), &o)| (name, "F32", shape, o))
    };
    meta.insert(CHECKSUM_ALGORITHM_KEY, CHECKSUM_ALGORITHM);
    let mut crc = Crc32::new();
    crc.update(header::serialize(entries(), &meta).as_bytes());
    crc.update(&body);
    let crc_hex = format!("{:08x}", crc.finish());
    meta.insert(CHECKSUM_KEY, &crc_hex);
    let mut head = header::serialize(entries(), &meta).into_bytes();
    head.resize(head.len().next_multiple_of(8), b' ');
    let head_len = u64::try_from(head.len()).unwrap_or(u64::MAX);
    if head_len > MAX_HEADER_LEN {
        return Err(CheckpointError::malformed(format!(
            "the header would take {head_len} bytes, over the {MAX_HEADER_LEN}-byte limit"
        )));
    }
    let mut out = Vec::with_capacity(8 + head.len() + body.len());
    out.extend_from_slice(&head_len.to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(&body);
    Ok(out)
}

/// A file's bytes, validated: header, tiling, checksum.
struct View<'a> {
    header: header::Header,
    tensors: Vec<header::Checked>,
    data: &'a [u8],
    crc32: Option<u32>,
}

impl View<'_> {
    fn new(bytes: &[u8]) -> Result<View<'_>, CheckpointError> {
        let actual = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        let Some((prefix, rest)) = bytes.split_first_chunk::<8>() else {
            return Err(CheckpointError::Truncated {
                expected: 8,
                actual,
            });
        };
        let n = u64::from_le_bytes(*prefix);
        if n > MAX_HEADER_LEN {
            return Err(CheckpointError::malformed(format!(
                "header length {n} exceeds the {MAX_HEADER_LEN}-byte limit"
            )));
        }
        let (head, data) = usize::try_from(n)
            .ok()
            .and_then(|n| rest.split_at_checked(n))
            .ok_or(CheckpointError::Truncated {
                expected: n + 8,
                actual,
            })?;
        let json = core::str::from_utf8(head)
            .map_err(|e| CheckpointError::malformed(format!("header is not UTF-8: {e}")))?;
        let header = header::parse(json)?;
        let tensors = header::check(&header, n + 8, data.len())?;
        let declared = header.metadata.get(CHECKSUM_ALGORITHM_KEY);
        if declared.is_some_and(|a| a != CHECKSUM_ALGORITHM) {
            return Err(CheckpointError::malformed(format!(
                "unknown checksum `{CHECKSUM_ALGORITHM_KEY}`: `{}`",
                declared.map_or("", |a| a.as_str())
            )));
        }
        let crc32 = match header.metadata.get(CHECKSUM_KEY) {
            None if declared.is_some() => {
                return Err(CheckpointError::malformed(format!(
                    "`{CHECKSUM_ALGORITHM_KEY}` is set but `{CHECKSUM_KEY}` is missing"
                )))
            }
            None => None,
            Some(hex) => {
                let stored = parse_hex(hex).ok_or_else(|| {
                    CheckpointError::malformed(format!(
                        "`{CHECKSUM_KEY}` is `{hex}`, not 8 lowercase hex digits"
                    ))
                })?;
                let canonical = header::serialize(
                    header.entries.iter().zip(&tensors).map(|(e, c)| {
                        (
                            e.name.as_str(),
                            c.dtype.name(),
                            c.shape.as_slice(),
                            e.offsets,
                        )
                    }),
                    &header::without_checksum(&header.metadata),
                );
                let mut crc = Crc32::new();
                crc.update(canonical.as_bytes());
                crc.update(data);
                let computed = crc.finish();
                if computed != stored {
                    return Err(CheckpointError::ChecksumMismatch { stored, computed });
                }
                Some(stored)
            }
        };
        Ok(View {
            header,
            tensors,
            data,
            crc32,
        })
    }

    /// The metadata without the checksum key.
    fn metadata(&self) -> Metadata {
        let mut m = self.header.metadata.clone();
        m.remove(CHECKSUM_KEY);
        m.remove(CHECKSUM_ALGORITHM_KEY);
        m
    }

    /// Converts tensor `i`'s bytes into `out` (whose length the caller checked).
    fn decode(&self, i: usize, out: &mut [f32]) {
        let Some(t) = self.tensors.get(i) else { return };
        let Some(bytes) = self.data.get(t.begin..t.end) else {
            return;
        };
        match t.dtype {
            Dtype::F32 => {
                for (o, c) in out.iter_mut().zip(bytes.as_chunks::<4>().0) {
                    *o = f32::from_le_bytes(*c);
                }
            }
            Dtype::F64 => {
                for (o, c) in out.iter_mut().zip(bytes.as_chunks::<8>().0) {
                    *o = f64::from_le_bytes(*c) as f32;
                }
            }
            Dtype::F16 => {
                for (o, c) in out.iter_mut().zip(bytes.as_chunks::<2>().0) {
                    *o = f16_to_f32(u16::from_le_bytes(*c));
                }
            }
            Dtype::BF16 => {
                for (o, c) in out.iter_mut().zip(bytes.as_chunks::<2>().0) {
                    *o = f32::from_bits(u32::from(u16::from_le_bytes(*c)) << 16);
                }
            }
        }
    }
}

/// Exactly 8 lowercase hex digits (the form `save` writes; anything else is refused so that
/// no altered spelling of the checksum passes).
fn parse_hex(s: &str) -> Option<u32> {
    if s.len() != 8 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

/// IEEE binary16 to binary32, exact (NaN payloads kept).
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h & 0x8000) << 16;
    let exp = u32::from((h >> 10) & 0x1f);
    let mant = u32::from(h & 0x3ff);
    match exp {
        0 => {
            // Zero or subnormal: mant · 2⁻²⁴, exact in f32.
            let v = mant as f32 * f32::from_bits(0x3380_0000);
            f32::from_bits(v.to_bits() | sign)
        }
        31 => f32::from_bits(sign | 0x7f80_0000 | (mant << 13)),
        _ => f32::from_bits(sign | ((exp + 112) << 23) | (mant << 13)),
    }
}

/// Parses and fully validates the bytes of a safetensors file (checksum included when the
/// file has one) into an owned [`Checkpoint`]. Never panics: any malformed input is `Err`.
pub fn parse(bytes: &[u8]) -> Result<Checkpoint, CheckpointError> {
    let view = View::new(bytes)?;
    let mut tensors = Vec::with_capacity(view.tensors.len());
    for (i, (e, t)) in view.header.entries.iter().zip(&view.tensors).enumerate() {
        let mut data = std::vec![0.0f32; t.numel];
        view.decode(i, &mut data);
        tensors.push(Tensor {
            name: e.name.clone(),
            shape: t.shape.clone(),
            dtype: t.dtype,
            data,
        });
    }
    Ok(Checkpoint {
        tensors,
        metadata: view.metadata(),
        crc32: view.crc32,
    })
}

/// Loads the tensors of a file's `bytes` into the destinations `(name, shape, buffer)`,
/// all or nothing: every check (the file's validity and checksum, each buffer's length
/// against its shape, unique names, presence, shapes, dtypes) passes before any buffer is
/// written, so on `Err` all are untouched.
///
/// With `strict`, a requested name absent from the file is [`CheckpointError::MissingTensors`]
/// and a file tensor not requested is [`CheckpointError::UnexpectedTensors`] (checked in that
/// order, after the buffers' lengths); without, they are listed in the [`LoadReport`]. A
/// shape mismatch is [`CheckpointError::ShapeMismatch`] in both modes.
pub fn load_from_bytes(
    bytes: &[u8],
    tensors: &mut [(&str, &[usize], &mut [f32])],
    strict: bool,
) -> Result<LoadReport, CheckpointError> {
    let view = View::new(bytes)?;
    let mut requested = BTreeSet::new();
    for (name, shape, buf) in tensors.iter() {
        let n = numel(name, shape)?;
        if buf.len() != n {
            return Err(CheckpointError::LengthMismatch {
                tensor: (*name).into(),
                expected: n,
                actual: buf.len(),
            });
        }
        if !requested.insert(*name) {
            return Err(CheckpointError::DuplicateTensor {
                name: (*name).into(),
            });
        }
    }
    let index: BTreeMap<&str, usize> = view
        .header
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.name.as_str(), i))
        .collect();
    let missing_keys: Vec<String> = tensors
        .iter()
        .filter(|(name, _, _)| !index.contains_key(name))
        .map(|(name, _, _)| (*name).into())
        .collect();
    let unexpected_keys: Vec<String> = view
        .header
        .entries
        .iter()
        .filter(|e| !requested.contains(e.name.as_str()))
        .map(|e| e.name.clone())
        .collect();
    if strict && !missing_keys.is_empty() {
        return Err(CheckpointError::MissingTensors {
            names: missing_keys,
        });
    }
    if strict && !unexpected_keys.is_empty() {
        return Err(CheckpointError::UnexpectedTensors {
            names: unexpected_keys,
        });
    }
    for (name, shape, _) in tensors.iter() {
        if let Some(t) = index.get(name).and_then(|&i| view.tensors.get(i)) {
            if t.shape.as_slice() != *shape {
                return Err(CheckpointError::ShapeMismatch {
                    tensor: (*name).into(),
                    expected: shape.to_vec(),
                    found: t.shape.clone(),
                });
            }
        }
    }
    // Everything is checked: from here on nothing fails.
    for (name, _, buf) in tensors.iter_mut() {
        if let Some(&i) = index.get(name) {
            view.decode(i, buf);
        }
    }
    Ok(LoadReport {
        metadata: view.metadata(),
        missing_keys,
        unexpected_keys,
    })
}

/// Writes `tensors` (`(name, shape, data)`, as `F32`, in this order) and `metadata` to
/// `path` as a safetensors file with a checksum, atomically (see the module docs). The
/// bytes are those of [`to_bytes`], and its errors are checked before any file is touched.
pub fn save(
    path: impl AsRef<Path>,
    tensors: &[(&str, &[usize], &[f32])],
    metadata: &[(&str, &str)],
) -> Result<(), CheckpointError> {
    let bytes = to_bytes(tensors, metadata)?;
    atomic::write(path.as_ref(), &bytes)
}

fn read_file(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    fs::read(path).map_err(|e| CheckpointError::io(path, e))
}

/// Reads and validates the file at `path` into an owned [`Checkpoint`] (see [`parse`]).
pub fn read(path: impl AsRef<Path>) -> Result<Checkpoint, CheckpointError> {
    parse(&read_file(path.as_ref())?)
}

/// Loads the tensors of the file at `path` into `(name, shape, buffer)` destinations,
/// strictly (every name present, nothing else in the file, same shapes), all or nothing;
/// returns the metadata. See [`load_from_bytes`]; [`load_into_with`] is the non-strict form.
pub fn load_into(
    path: impl AsRef<Path>,
    tensors: &mut [(&str, &[usize], &mut [f32])],
) -> Result<Metadata, CheckpointError> {
    load_into_with(path, tensors, true).map(|r| r.metadata)
}

/// [`load_into`] with torch's `strict` switch: with `strict = false`, names missing from
/// the file leave their buffers untouched and extra tensors in the file are ignored; both
/// are listed in the [`LoadReport`].
pub fn load_into_with(
    path: impl AsRef<Path>,
    tensors: &mut [(&str, &[usize], &mut [f32])],
    strict: bool,
) -> Result<LoadReport, CheckpointError> {
    load_from_bytes(&read_file(path.as_ref())?, tensors, strict)
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;

    #[test]
    fn f16_widening_is_exact() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x0400), 2f32.powi(-14));
        assert_eq!(f16_to_f32(0x8000).to_bits(), 0x8000_0000);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
    }
}
