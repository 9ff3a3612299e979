//! Matrix multiply: the three products of a dense layer, with run-time instruction-set dispatch.
//!
//! All matrices are row-major `f32` slices. With `W` a weight `[out, in]`, `x` an input batch
//! `[batch, in]` and `dy` the gradient of the output `[batch, out]`, a dense layer needs:
//!
//! | product | formula | shapes | here |
//! |---|---|---|---|
//! | forward | `y = x·Wᵀ` | `C[m,n] = A[m,k]·B[n,k]ᵀ` | [`matmul_nt`] (written) |
//! | weight gradient | `dW += dyᵀ·x` | `C[m,n] += A[k,m]ᵀ·B[k,n]` | [`matmul_tn_acc`] (accumulated) |
//! | input gradient | `dx = dy·W` | `C[m,n] = A[m,k]·B[k,n]` | [`matmul_nn`] (written) |
//!
//! Each product takes an [`Isa`] token first: [`Isa::detect`] once, then pass the token to
//! every call. A token the CPU does not support runs the portable kernels instead, so no
//! token can make a product execute instructions the CPU lacks.
//!
//! Nothing allocates. The portable kernels work on the operands in place; the AVX2 kernels
//! pack panels of `B` into a fixed 16 KiB tile on the stack ([`STACK_SCRATCH_BYTES`]).
//!
//! Results are deterministic: the same `Isa`, shapes and inputs give bit-identical outputs.
//! Different `Isa`s (and different shapes holding the same row) sum in different orders, so
//! they agree to rounding: `|ĉ − c| ≲ 2u·√k·max|c|` for random data (u = 2⁻²⁴).
//!
//! NaN and infinities propagate as in a plain sum of products; a written output never reads
//! its previous contents.

mod portable;
mod scalar;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86;

use crate::error::{check_len, checked_len};
use crate::Isa;
use crate::Result;

/// The most stack memory one product uses for packing, in bytes: 16 KiB with
/// [`Isa::Avx2Fma`] and [`Isa::Avx512F`] (one panel of `B`, 256 steps × 16 columns), none
/// with [`Isa::Portable`] (which is all a target without AVX2, such as Cortex-M, compiles).
#[cfg(target_arch = "x86_64")]
pub const STACK_SCRATCH_BYTES: usize = x86::SCRATCH_BYTES;

/// The most stack memory one product uses for packing, in bytes: none on this target, whose
/// only kernels are the portable ones.
#[cfg(not(target_arch = "x86_64"))]
pub const STACK_SCRATCH_BYTES: usize = 0;

/// `C = A·Bᵀ`: `c[i·n + j] = Σ_p a[i·k + p] · b[j·k + p]` for `A` `[m, k]`, `B` `[n, k]`,
/// `C` `[m, n]`, all row-major. `c` is overwritten (never read).
///
/// This is a dense layer's forward `y = x·Wᵀ` (`torch.nn.functional.linear` without bias)
/// with `m = batch`, `n = out`, `k = in`.
///
/// Zero dimensions are allowed: `k = 0` writes zeros, `m = 0` or `n = 0` does nothing.
///
/// # Errors
/// [`Error::LengthMismatch`](crate::Error::LengthMismatch) naming `"a"`, `"b"` or `"c"` when
/// a length is not `m·k`, `n·k`, `m·n`;
/// [`Error::DimensionOverflow`](crate::Error::DimensionOverflow) when one of these products
/// overflows `usize`. Nothing is written on error.
///
/// ```
/// use descent::gemm::matmul_nt;
/// use descent::Isa;
/// let a = [1.0, 2.0, 3.0, 4.0]; // [2, 2]
/// let b = [1.0, 0.0, 1.0, 1.0, 0.0, 2.0]; // [3, 2]
/// let mut c = [0.0; 6];
/// matmul_nt(Isa::detect(), 2, 3, 2, &a, &b, &mut c)?;
/// assert_eq!(c, [1.0, 3.0, 4.0, 3.0, 7.0, 8.0]);
/// # Ok::<(), descent::Error>(())
/// ```
pub fn matmul_nt(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
) -> Result<()> {
    matmul_nt_bias(isa, (m, n, k), a, b, None, c)
}

/// `C = A·Bᵀ (+ bias on every row)`: [`matmul_nt`] with an optional `bias[n]` added to
/// every row, in the same pass. The dense forward `y = x·Wᵀ + b`.
///
/// Kept out of line on 32-bit ARM: inlined into the layer's forward, the Cortex-M build
/// schedules the portable kernel's loop worse (more instructions per multiply-add); on x86_64
/// the call would cost the smallest products a few nanoseconds.
#[cfg_attr(target_arch = "arm", inline(never))]
pub(crate) fn matmul_nt_bias(
    isa: Isa,
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    b: &[f32],
    bias: Option<&[f32]>,
    c: &mut [f32],
) -> Result<()> {
    let Some(ops) = Operands::new(m, n, k, a, b, bias, c)? else {
        return Ok(());
    };
    if ops.k == 0 {
        fill_rows(ops.c, ops.n, ops.bias);
        return Ok(());
    }
    dispatch(isa, Product::Nt, ops);
    Ok(())
}

/// `C += Aᵀ·B`: `c[i·n + j] += Σ_p a[p·m + i] · b[p·n + j]` for `A` `[k, m]`, `B` `[k, n]`,
/// `C` `[m, n]`, all row-major. `c` is accumulated into, as autograd accumulates `.grad`.
///
/// This is a dense layer's weight gradient `dW += dyᵀ·x` with `m = out`, `n = in`,
/// `k = batch`.
///
/// Zero dimensions are allowed and leave `c` as it is.
///
/// # Errors
/// [`Error::LengthMismatch`](crate::Error::LengthMismatch) naming `"a"`, `"b"` or `"c"` when
/// a length is not `k·m`, `k·n`, `m·n`;
/// [`Error::DimensionOverflow`](crate::Error::DimensionOverflow) when one of these products
/// overflows `usize`. Nothing is written on error.
///
/// ```
/// use descent::gemm::matmul_tn_acc;
/// use descent::Isa;
/// let a = [1.0, 2.0]; // [k = 1, m = 2]
/// let b = [3.0, 4.0, 5.0]; // [k = 1, n = 3]
/// let mut c = [1.0; 6];
/// matmul_tn_acc(Isa::detect(), 2, 3, 1, &a, &b, &mut c)?;
/// assert_eq!(c, [4.0, 5.0, 6.0, 7.0, 9.0, 11.0]);
/// # Ok::<(), descent::Error>(())
/// ```
pub fn matmul_tn_acc(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
) -> Result<()> {
    let Some(ops) = Operands::new(m, n, k, a, b, None, c)? else {
        return Ok(());
    };
    if ops.k == 0 {
        return Ok(());
    }
    dispatch(isa, Product::TnAcc, ops);
    Ok(())
}

/// `C = A·B`: `c[i·n + j] = Σ_p a[i·k + p] · b[p·n + j]` for `A` `[m, k]`, `B` `[k, n]`,
/// `C` `[m, n]`, all row-major. `c` is overwritten (never read).
///
/// This is a dense layer's input gradient `dx = dy·W` with `m = batch`, `n = in`, `k = out`.
///
/// Zero dimensions are allowed: `k = 0` writes zeros, `m = 0` or `n = 0` does nothing.
///
/// # Errors
/// [`Error::LengthMismatch`](crate::Error::LengthMismatch) naming `"a"`, `"b"` or `"c"` when
/// a length is not `m·k`, `k·n`, `m·n`;
/// [`Error::DimensionOverflow`](crate::Error::DimensionOverflow) when one of these products
/// overflows `usize`. Nothing is written on error.
///
/// ```
/// use descent::gemm::matmul_nn;
/// use descent::Isa;
/// let a = [1.0, 2.0]; // [1, 2]
/// let b = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // [2, 3]
/// let mut c = [f32::NAN; 3];
/// matmul_nn(Isa::detect(), 1, 3, 2, &a, &b, &mut c)?;
/// assert_eq!(c, [9.0, 12.0, 15.0]);
/// # Ok::<(), descent::Error>(())
/// ```
pub fn matmul_nn(
    isa: Isa,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
    c: &mut [f32],
) -> Result<()> {
    let Some(ops) = Operands::new(m, n, k, a, b, None, c)? else {
        return Ok(());
    };
    if ops.k == 0 {
        fill_rows(ops.c, ops.n, None);
        return Ok(());
    }
    dispatch(isa, Product::Nn, ops);
    Ok(())
}

/// Which of the three products.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Product {
    /// `C = A·Bᵀ (+ bias)`.
    Nt,
    /// `C += Aᵀ·B`.
    TnAcc,
    /// `C = A·B`.
    Nn,
}

/// The operands of one product, checked.
///
/// Invariants, established by [`Operands::new`] (the only constructor; the fields are private
/// to this module and its children), on which the AVX2 kernels rely for memory safety:
/// `m, n ≥ 1`; `a.len() == m·k`, `b.len() == n·k`, `c.len() == m·n` (so none overflows);
/// `bias`, when present, has length `n`.
struct Operands<'a> {
    m: usize,
    n: usize,
    k: usize,
    a: &'a [f32],
    b: &'a [f32],
    bias: Option<&'a [f32]>,
    c: &'a mut [f32],
}

impl<'a> Operands<'a> {
    /// Checks the lengths (the same for the three layouts: `A` has `m·k` elements, `B` `n·k`,
    /// `C` `m·n`); `Ok(None)` when `C` is empty (`m = 0` or `n = 0`).
    fn new(
        m: usize,
        n: usize,
        k: usize,
        a: &'a [f32],
        b: &'a [f32],
        bias: Option<&'a [f32]>,
        c: &'a mut [f32],
    ) -> Result<Option<Self>> {
        check_len("a", a.len(), checked_len("a", m, k)?)?;
        check_len("b", b.len(), checked_len("b", n, k)?)?;
        check_len("c", c.len(), checked_len("c", m, n)?)?;
        if let Some(bias) = bias {
            check_len("bias", bias.len(), n)?;
        }
        if m == 0 || n == 0 {
            return Ok(None);
        }
        Ok(Some(Operands {
            m,
            n,
            k,
            a,
            b,
            bias,
            c,
        }))
    }
}

/// One zero-sized type per instruction set implements the three products.
///
/// Each method gets checked [`Operands`] with `k ≥ 1` and computes its product in full.
trait Kernel: Copy {
    /// `C = A·Bᵀ (+ bias)`, `A` `[m, k]`, `B` `[n, k]`.
    fn nt(self, ops: Operands<'_>);
    /// `C += Aᵀ·B`, `A` `[k, m]`, `B` `[k, n]` (`ops.bias` is `None`).
    fn tn_acc(self, ops: Operands<'_>);
    /// `C = A·B`, `A` `[m, k]`, `B` `[k, n]` (`ops.bias` is `None`).
    fn nn(self, ops: Operands<'_>);
}

/// Runs `product` with the kernels of `isa`, or the portable ones when `isa` is not available.
fn dispatch(isa: Isa, product: Product, ops: Operands<'_>) {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => match crate::arch::x86_64::Avx2Fma::new() {
            Some(kernel) => run(kernel, product, ops),
            None => run_portable(product, ops),
        },
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512F => match crate::arch::x86_64::Avx512F::new() {
            Some(kernel) => run(kernel, product, ops),
            None => run_portable(product, ops),
        },
        Isa::Scalar => run(scalar::Scalar, product, ops),
        _ => run_portable(product, ops),
    }
}

/// Runs `product` with [`Isa::Portable`]'s kernels: the `f32x8` ones where the target has
/// SIMD registers, the scalar register tiles where an `f32x8` would be eight scalars.
fn run_portable(product: Product, ops: Operands<'_>) {
    if portable::SIMD {
        run(portable::Portable, product, ops);
    } else {
        run(scalar::Scalar, product, ops);
    }
}

/// Runs `product` with `kernel`.
#[inline]
fn run(kernel: impl Kernel, product: Product, ops: Operands<'_>) {
    match product {
        Product::Nt => kernel.nt(ops),
        Product::TnAcc => kernel.tn_acc(ops),
        Product::Nn => kernel.nn(ops),
    }
}

/// Every row of `c` (`n` wide) set to `bias`, or to zero.
fn fill_rows(c: &mut [f32], n: usize, bias: Option<&[f32]>) {
    match bias {
        Some(bias) => {
            for row in crate::rows::by_rows_mut(c, n) {
                for (out, b) in row.iter_mut().zip(bias) {
                    *out = *b;
                }
            }
        }
        None => c.fill(0.0),
    }
}
