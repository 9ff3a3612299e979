//! The reference of magnitude pruning, from torch's `prune.l1_unstructured`: the `k` smallest
//! magnitudes are pruned.
//!
//! Shared by `tests/regularize.rs` and `fuzz/fuzz_targets/regularize.rs`.
#![allow(dead_code)]

/// The reference: sort the indices by (|w| in total order, index) and prune the first k.
pub fn reference_mask(w: &[f32], k: usize) -> Vec<f32> {
    let mut idx: Vec<usize> = (0..w.len()).collect();
    idx.sort_by(|&a, &b| w[a].abs().total_cmp(&w[b].abs()).then(a.cmp(&b)));
    let mut mask = vec![1.0; w.len()];
    for &i in &idx[..k] {
        mask[i] = 0.0;
    }
    mask
}
