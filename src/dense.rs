//! Dense layers (in progress).
