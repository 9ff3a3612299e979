//! Where a run of floats meets a 32-byte boundary: the width of an AVX2 vector, so a
//! full-width access that starts on one never straddles two cache lines.
//!
//! Large allocations usually start 16 bytes past a 64-byte boundary; the kernels that stream
//! through memory (the optimizers; in the products, the few-row tiles and the column walk of
//! the short sums and of the one-row sweep) run the floats before the first boundary as a
//! narrower head, then whole aligned vectors.

/// Bytes from one boundary to the next: one 8-lane `f32` vector.
pub(crate) const BOUNDARY_BYTES: usize = 32;

/// How many `f32`s lie between `p` and the next 32-byte boundary, at most `n`: `0` when `p`
/// is on a boundary, otherwise `(32 − p mod 32) / 4` (a pointer to `f32` is 4-byte aligned).
///
/// Only the address is read, never the memory.
#[inline(always)]
pub(crate) fn floats_before_boundary(p: *const f32, n: usize) -> usize {
    ((p as usize).wrapping_neg() % BOUNDARY_BYTES / core::mem::size_of::<f32>()).min(n)
}

#[cfg(test)]
mod tests {
    use super::floats_before_boundary;

    #[test]
    fn counts_the_floats_up_to_the_next_boundary() {
        #[repr(C, align(32))]
        struct Aligned([f32; 24]);
        let block = Aligned([0.0; 24]);
        for offset in 0..16 {
            let p = block.0[offset..].as_ptr();
            let expected = (8 - offset % 8) % 8;
            assert_eq!(floats_before_boundary(p, 100), expected, "offset {offset}");
            assert_eq!(
                floats_before_boundary(p, 3),
                expected.min(3),
                "offset {offset}"
            );
        }
    }
}
