//! Rows of a row-major matrix, as iterators that cannot panic.
//!
//! `slice.chunks_exact(width)` panics when `width` is zero, and zipping two of them computes
//! `len / width` in `Zip::new` (the standard library's random-access specialisation), a
//! division whose zero check stays in the binary whenever the zip is not inlined into code
//! that knows `width > 0`. [`by_rows`] and [`by_rows_mut`] split with `split_at_checked` instead:
//! no division, no panic, and a zero `width` yields no rows. Their rows are exactly `width`
//! long (the compiler knows it, so indexing a row below `width` needs no bounds check); a
//! shorter remainder at the end is never yielded.

/// The consecutive `width`-long rows of `v` (none when `width` is 0); a remainder shorter
/// than `width` is left out.
#[inline]
pub(crate) fn by_rows<T>(v: &[T], width: usize) -> Rows<'_, T> {
    Rows { rest: v, width }
}

/// The consecutive `width`-long rows of `v`, mutable (none when `width` is 0); a remainder
/// shorter than `width` is left out.
#[inline]
pub(crate) fn by_rows_mut<T>(v: &mut [T], width: usize) -> RowsMut<'_, T> {
    RowsMut { rest: v, width }
}

/// Iterator of [`by_rows`].
#[derive(Clone, Debug)]
pub(crate) struct Rows<'a, T> {
    rest: &'a [T],
    width: usize,
}

impl<'a, T> Iterator for Rows<'a, T> {
    type Item = &'a [T];

    #[inline]
    fn next(&mut self) -> Option<&'a [T]> {
        if self.width == 0 {
            return None;
        }
        let (row, rest) = self.rest.split_at_checked(self.width)?;
        self.rest = rest;
        Some(row)
    }
}

/// Iterator of [`by_rows_mut`].
#[derive(Debug)]
pub(crate) struct RowsMut<'a, T> {
    rest: &'a mut [T],
    width: usize,
}

impl<'a, T> Iterator for RowsMut<'a, T> {
    type Item = &'a mut [T];

    #[inline]
    fn next(&mut self) -> Option<&'a mut [T]> {
        if self.width == 0 {
            return None;
        }
        // A failed split leaves `rest` empty: there is no further row either way.
        let (row, rest) = core::mem::take(&mut self.rest).split_at_mut_checked(self.width)?;
        self.rest = rest;
        Some(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_exact_and_zero_width_yields_none() {
        let v = [1, 2, 3, 4, 5, 6, 7];
        let got: [&[i32]; 2] = [&[1, 2, 3], &[4, 5, 6]];
        assert!(by_rows(&v, 3).eq(got));
        assert_eq!(by_rows(&v, 0).count(), 0);
        assert_eq!(by_rows(&v, 8).count(), 0);
        assert_eq!(by_rows(&v[..0], 1).count(), 0);
        let mut w = v;
        for row in by_rows_mut(&mut w, 2) {
            row.swap(0, 1);
        }
        assert_eq!(w, [2, 1, 4, 3, 6, 5, 7]);
        assert_eq!(by_rows_mut(&mut w, 0).count(), 0);
    }
}
