//! Activation functions (in progress).
