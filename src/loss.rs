//! Losses (in progress).
