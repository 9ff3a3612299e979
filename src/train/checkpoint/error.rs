//! [`CheckpointError`]: everything that can go wrong while saving or loading a checkpoint.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::string::String;
use std::vec::Vec;

/// Why a checkpoint could not be saved, parsed or loaded.
///
/// Every malformed, truncated or corrupted input gives one of these; nothing in this module
/// panics on any input. Variants that concern one tensor name it.
#[derive(Debug)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Reading, writing, syncing or renaming a file failed.
    Io {
        /// The file or directory the operation was on.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file ends before the header or the data it announces: a partial copy or an
    /// interrupted write by another tool.
    Truncated {
        /// The length the header (or the 8-byte length prefix) implies, in bytes.
        expected: u64,
        /// The actual length, in bytes.
        actual: u64,
    },
    /// The header is not a valid safetensors header: not UTF-8, not JSON of the expected
    /// form, a field missing or of the wrong type, offsets inconsistent with the shape, gaps,
    /// overlaps or bytes not covered by any tensor.
    MalformedHeader {
        /// What is wrong, and where.
        reason: String,
    },
    /// A tensor's dtype is not one this module reads (`F32`, and `F64`, `F16`, `BF16`
    /// converted to `f32`).
    UnsupportedDtype {
        /// The tensor's name.
        tensor: String,
        /// The dtype as the header spells it.
        dtype: String,
    },
    /// A strict load asked for tensors that the file does not hold.
    MissingTensors {
        /// The missing names, in the order the caller listed them.
        names: Vec<String>,
    },
    /// A strict load found tensors in the file that the caller did not ask for.
    UnexpectedTensors {
        /// The unexpected names, in the order of the file's header.
        names: Vec<String>,
    },
    /// The same tensor name appears twice (in a file's header or in the caller's list).
    DuplicateTensor {
        /// The repeated name.
        name: String,
    },
    /// The file's tensor has another shape than the destination.
    ShapeMismatch {
        /// The tensor's name.
        tensor: String,
        /// The shape the caller expects.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A caller's buffer does not hold the number of elements its shape implies.
    LengthMismatch {
        /// The tensor's name.
        tensor: String,
        /// The product of the shape.
        expected: usize,
        /// The buffer's length.
        actual: usize,
    },
    /// A shape's product, or the total size of the data, overflows.
    SizeOverflow {
        /// The tensor's name.
        tensor: String,
    },
    /// A name that cannot be used: the tensor name `__metadata__`, the reserved metadata keys
    /// `descent.crc32` and `descent.checksum`, or a metadata key given twice.
    InvalidName {
        /// The name.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The checksum stored in the header does not match the header and data: the file was
    /// corrupted after it was written.
    ChecksumMismatch {
        /// The CRC-32 stored in the file's metadata.
        stored: u32,
        /// The CRC-32 of the file's canonical header and data as read.
        computed: u32,
    },
}

impl CheckpointError {
    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        CheckpointError::MalformedHeader {
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        CheckpointError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Writes `names` as `` `a`, `b` ``.
fn list(f: &mut fmt::Formatter<'_>, names: &[String]) -> fmt::Result {
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "`{n}`")?;
    }
    Ok(())
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Io { path, source } => {
                write!(f, "I/O error on {}: {source}", path.display())
            }
            CheckpointError::Truncated { expected, actual } => write!(
                f,
                "truncated checkpoint: {actual} bytes, the header requires {expected}"
            ),
            CheckpointError::MalformedHeader { reason } => {
                write!(f, "malformed safetensors header: {reason}")
            }
            CheckpointError::UnsupportedDtype { tensor, dtype } => write!(
                f,
                "tensor `{tensor}` has dtype {dtype}; supported: F32, F64, F16, BF16"
            ),
            CheckpointError::MissingTensors { names } => {
                f.write_str("missing tensors in checkpoint: ")?;
                list(f, names)
            }
            CheckpointError::UnexpectedTensors { names } => {
                f.write_str("unexpected tensors in checkpoint: ")?;
                list(f, names)
            }
            CheckpointError::DuplicateTensor { name } => {
                write!(f, "tensor `{name}` appears twice")
            }
            CheckpointError::ShapeMismatch {
                tensor,
                expected,
                found,
            } => write!(
                f,
                "tensor `{tensor}` has shape {found:?} in the checkpoint, expected {expected:?}"
            ),
            CheckpointError::LengthMismatch {
                tensor,
                expected,
                actual,
            } => write!(
                f,
                "buffer of tensor `{tensor}` has {actual} elements, its shape implies {expected}"
            ),
            CheckpointError::SizeOverflow { tensor } => {
                write!(f, "the size of tensor `{tensor}` overflows")
            }
            CheckpointError::InvalidName { name, reason } => {
                write!(f, "invalid name `{name}`: {reason}")
            }
            CheckpointError::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch: the file says crc32 {stored:08x}, its contents give \
                 {computed:08x} (corrupted file)"
            ),
        }
    }
}

impl std::error::Error for CheckpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckpointError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
