//! Matrix multiply (in progress).
