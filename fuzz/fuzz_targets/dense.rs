//! The three `gemm` products and `Dense` forward/backward (its `Layer` calls, in either mode,
//! with or without bias, `dweight` and `dx`), on every available `Isa`, with arbitrary `m`,
//! `n`, `k` (0 included), values, slice lengths, input shapes and sub-slice offsets: every
//! call returns `Ok` exactly when the lengths fit (otherwise the documented
//! `LengthMismatch`/`ZeroDimension`/`RankMismatch`, with nothing written), never writes
//! outside its output, and an `Ok` result agrees with a scalar `f64` triple loop.
//!
//! # Tolerance
//! Every output element is a sum of `t` terms (`k` products, plus the bias or the accumulated
//! previous value). Whatever order and blocking a kernel sums in, with or without FMA, the
//! rounding error of a computed sum of `t` rounded products is at most `γ_t·Σ|terms|`,
//! `γ_t = t·u/(1 − t·u)` (Higham, *Accuracy and Stability*, 3.1): the comparison allows
//! `(t + 1)·u·Σ|terms|` plus `t` half-subnormals for products that underflow.
//!
//! Where the comparison is limited, and why:
//! * when `Σ|terms|` exceeds `f32::MAX / 2` a partial sum may overflow in one order and not in
//!   another: only "no panic, nothing written outside" is checked for that element;
//! * NaN in the `f64` reference (a NaN input, `∞·0`, or `+∞` and `−∞` terms) is NaN in every
//!   order, so the result must be NaN; an infinite reference whose finite terms cannot
//!   overflow must come out as the same infinity.
#![no_main]

#[path = "input.rs"]
mod input;

use descent::dense::Dense;
use descent::gemm::{matmul_nn, matmul_nt, matmul_tn_acc};
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use descent::Error;
use descent::Isa;
use input::{guarded, intact, same_bits, Input, U};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| input::execution(|| execution(data)));

fn execution(data: &[u8]) {
    let mut i = Input(data);
    // Every instruction set this CPU has (AVX2 and AVX-512 where both exist), the portable
    // kernels half the time.
    let available: Vec<Isa> = Isa::available().collect();
    let isa = if i.bool() {
        available[usize::from(i.byte()) % available.len()]
    } else {
        Isa::Portable
    };
    match i.byte() % 4 {
        0 => product(&mut i, isa, Product::Nt),
        1 => product(&mut i, isa, Product::TnAcc),
        2 => product(&mut i, isa, Product::Nn),
        _ => dense(&mut i, isa),
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Product {
    Nt,
    TnAcc,
    Nn,
}

/// `(m, n, k)`: mostly small, sometimes past the AVX2 kernels' blocking (16 columns, 256
/// steps of `k`), sometimes one long row (the sweep of `A·B` from 256 columns on), sometimes
/// the 24 rows and more that the AVX-512 tiles take, sometimes the short sums (`k ≤ 8`) over
/// rows of 64 columns or more and over a `C` of 64 Ki floats that are swept row by row, and
/// sometimes 180 to 540 rows over packed panels (`k > 32`): one to three blocks of rows on
/// either tiles (at most 192 rows each on AVX2, 516 on AVX-512).
fn dims(i: &mut Input) -> (usize, usize, usize) {
    match i.byte() % 32 {
        0..=3 => (i.len(40), i.len(40), i.len(300)),
        4..=7 => (1, 250 + i.len(300), i.len(40)),
        8..=11 => (24 + i.len(40), i.len(40), i.len(80)),
        12..=13 => (4 + i.len(40), 60 + i.len(80), i.len(10)),
        14 => (250 + i.len(20), 250 + i.len(20), i.len(10)),
        15 => (
            180 + 2 * i.len(180) + i.len(1),
            1 + i.len(20),
            33 + i.len(20),
        ),
        _ => (i.len(20), i.len(20), i.len(20)),
    }
}

fn scale(i: &mut Input) -> f32 {
    [1.0, 1e-3, 1e3, 1e-20, 1e18][i.byte() as usize % 5]
}

/// One output element's `f64` reference from its terms, and the check of `got` against it.
struct Sum {
    value: f64,
    abs: f64,
    terms: usize,
    finite_abs: f64,
}

impl Sum {
    fn new() -> Self {
        Sum {
            value: 0.0,
            abs: 0.0,
            terms: 0,
            finite_abs: 0.0,
        }
    }

    fn add(&mut self, v: f64) {
        self.value += v;
        self.abs += v.abs();
        self.terms += 1;
        if v.is_finite() {
            self.finite_abs += v.abs();
        }
    }

    fn product(&mut self, a: f32, b: f32) {
        self.add(a as f64 * b as f64);
    }

    fn check(&self, got: f32, what: &str) {
        let limit = f32::MAX as f64 / 2.0;
        if self.value.is_nan() {
            assert!(got.is_nan(), "{what}: {got}, want NaN");
        } else if self.value.is_infinite() {
            if self.finite_abs <= limit {
                assert_eq!(got as f64, self.value, "{what}");
            }
        } else if self.abs <= limit {
            input::compared();
            let t = self.terms as f64;
            let tol = (t + 1.0) * U * self.abs + t * f32::from_bits(1) as f64;
            assert!(
                (got as f64 - self.value).abs() <= tol,
                "{what}: {got:e}, want {:e} ± {tol:e}",
                self.value
            );
        }
    }
}

fn product(i: &mut Input, isa: Isa, p: Product) {
    let (m, n, k) = dims(i);
    let off = i.len(3);
    let s = scale(i);
    let (al, bl, cl) = (
        i.length(m * k, 16),
        i.length(n * k, 16),
        i.length(m * n, 16),
    );
    let a = guarded(off, &i.values(al, s));
    let b = guarded(off, &i.values(bl, s));
    // A written output starts as NaN: a kernel that reads it shows.
    let c0 = match p {
        Product::TnAcc => i.values(cl, s),
        _ => vec![f32::NAN; cl],
    };
    let mut c = guarded(off, &c0);
    let (a, b) = (&a[off..off + al], &b[off..off + bl]);
    let r = match p {
        Product::Nt => matmul_nt(isa, m, n, k, a, b, &mut c[off..off + cl]),
        Product::TnAcc => matmul_tn_acc(isa, m, n, k, a, b, &mut c[off..off + cl]),
        Product::Nn => matmul_nn(isa, m, n, k, a, b, &mut c[off..off + cl]),
    };
    assert!(intact(&c, off, cl), "{p:?} wrote outside c");
    let mismatch = |what, expected, actual| Error::LengthMismatch {
        what,
        expected,
        actual,
    };
    let expected = if al != m * k {
        Err(mismatch("a", m * k, al))
    } else if bl != n * k {
        Err(mismatch("b", n * k, bl))
    } else if cl != m * n {
        Err(mismatch("c", m * n, cl))
    } else {
        Ok(())
    };
    assert_eq!(r, expected, "{p:?} m={m} n={n} k={k}");
    let c = &c[off..off + cl];
    if r.is_err() {
        assert!(same_bits(c, &c0), "{p:?}: written on error");
        return;
    }
    for row in 0..m {
        for col in 0..n {
            let mut sum = Sum::new();
            if p == Product::TnAcc {
                sum.add(c0[row * n + col] as f64);
            }
            for q in 0..k {
                match p {
                    Product::Nt => sum.product(a[row * k + q], b[col * k + q]),
                    Product::TnAcc => sum.product(a[q * m + row], b[q * n + col]),
                    Product::Nn => sum.product(a[row * k + q], b[q * n + col]),
                }
            }
            sum.check(
                c[row * n + col],
                &format!("{isa} {p:?} m={m} n={n} k={k} c[{row},{col}]"),
            );
        }
    }
}

/// The input shape of a dense call: mostly `[inp]`, sometimes another width or a rank the layer
/// refuses (drawn last, so that an input that ran out gives `[inp]`).
fn input_shape(i: &mut Input, inp: usize) -> Shape {
    match i.byte() % 32 {
        29 => Shape::Features(i.len(inp + 2)),
        30 => Shape::Sequence {
            channels: inp,
            length: i.len(2),
        },
        31 => Shape::Image {
            channels: inp,
            height: i.len(2),
            width: i.len(2),
        },
        _ => Shape::Features(inp),
    }
}

/// `Dense::new(inp, out)` (without bias unless `with_bias`) on `batch` samples: forward and
/// backward through the `Layer` calls. The batch the layer sees is `x`'s length over `inp`, so
/// a wrong `x` length is either not a whole number of samples or another batch, which the
/// output slices then disagree with.
fn dense(i: &mut Input, isa: Isa) {
    let (batch, inp, out) = dims(i);
    let off = i.len(3);
    let s = scale(i);
    let with_bias = i.bool();
    let with_dx = i.bool();
    let (xl, wl, bl, yl) = (
        i.length(batch * inp, 16),
        i.length(out * inp, 16),
        i.length(out, 16),
        i.length(batch * out, 16),
    );
    let (dyl, dwl, dbl, dxl) = (
        i.length(batch * out, 16),
        i.length(out * inp, 16),
        i.length(out, 16),
        i.length(batch * inp, 16),
    );
    let x = guarded(off, &i.values(xl, s));
    let w = guarded(off, &i.values(wl, s));
    let bias = guarded(off, &i.values(bl, s));
    let dy = guarded(off, &i.values(dyl, s));
    let dw0 = i.values(dwl, s);
    let db0 = i.values(dbl, s);
    // Drawn last: an input that ran out gives the plain calls (evaluation, a trained weight,
    // no bias slices for a layer without bias).
    let input = input_shape(i, inp);
    let train = i.bool();
    let with_dw = i.byte() % 8 != 7;
    // A layer without bias given a bias and a dbias anyway (refused unless empty).
    let stray_bias = !with_bias && i.byte() % 8 == 7;
    let layer = Dense::new(inp, out).with_isa(isa);
    let layer = if with_bias {
        layer
    } else {
        layer.without_bias()
    };
    let pass_bias = with_bias || stray_bias;
    let (x, w, bias, dy) = (
        &x[off..off + xl],
        &w[off..off + wl],
        if pass_bias { &bias[off..off + bl] } else { &[] },
        &dy[off..off + dyl],
    );
    let (bias_len, given_bl) = (layer.bias_len(), bias.len());
    let mismatch = |what, expected, actual| -> Result<(), Error> {
        Err(Error::LengthMismatch {
            what,
            expected,
            actual,
        })
    };
    // What every call checks first: the widths, the input shape, the batch from x.
    let dims_ok = if inp == 0 {
        Err(Error::ZeroDimension {
            what: "in_features",
        })
    } else if out == 0 {
        Err(Error::ZeroDimension {
            what: "out_features",
        })
    } else if input.rank() != 1 {
        Err(Error::RankMismatch {
            what: "input",
            expected: 1,
            actual: input.rank(),
        })
    } else if input.len() != inp {
        mismatch("input", inp, input.len()).map(|_| 0)
    } else if xl % inp != 0 {
        mismatch("x", xl - xl % inp, xl).map(|_| 0)
    } else if xl == 0 {
        Err(Error::ZeroDimension { what: "batch" })
    } else {
        Ok(xl / inp)
    };
    // The batch the layer sees (the drawn one unless x's length is another whole batch).
    let bx = *dims_ok.as_ref().unwrap_or(&batch);

    // Forward.
    let mut y = guarded(off, &vec![f32::NAN; yl]);
    let params = Params::new(w, bias);
    let r = if train {
        layer.forward(
            input,
            Mode::train(&mut []),
            params,
            x,
            &mut y[off..off + yl],
        )
    } else {
        layer.forward(input, Mode::EVAL, params, x, &mut y[off..off + yl])
    };
    assert!(intact(&y, off, yl), "forward wrote outside y");
    let expected = dims_ok.and_then(|_| match () {
        _ if wl != out * inp => mismatch("weight", out * inp, wl),
        _ if given_bl != bias_len => mismatch("bias", bias_len, given_bl),
        _ if yl != bx * out => mismatch("y", bx * out, yl),
        _ => Ok(()),
    });
    assert_eq!(r, expected, "forward {bx}×{inp}→{out}");
    let y = &y[off..off + yl];
    if r.is_err() {
        assert!(y.iter().all(|v| v.is_nan()), "forward wrote on error");
    } else {
        for b in 0..bx {
            for o in 0..out {
                let mut sum = Sum::new();
                if with_bias {
                    sum.add(bias[o] as f64);
                }
                for q in 0..inp {
                    sum.product(x[b * inp + q], w[o * inp + q]);
                }
                sum.check(y[b * out + o], &format!("{isa} forward y[{b},{o}]"));
            }
        }
    }

    // Backward.
    let mut dw = guarded(off, &dw0);
    let mut db = guarded(off, &db0);
    let mut dx = guarded(off, &vec![f32::NAN; dxl]);
    let tape = if train {
        Tape::train(x, y, &[])
    } else {
        Tape::eval(x, y, &[])
    };
    let grads = Grads {
        weight: with_dw.then_some(&mut dw[off..off + dwl]),
        bias: pass_bias.then_some(&mut db[off..off + dbl]),
    };
    let r = layer.backward(
        input,
        params,
        tape,
        dy,
        with_dx.then_some(&mut dx[off..off + dxl]),
        grads,
    );
    assert!(intact(&dw, off, dwl) && intact(&db, off, dbl) && intact(&dx, off, dxl));
    let expected = dims_ok.and_then(|_| match () {
        _ if wl != out * inp => mismatch("weight", out * inp, wl),
        _ if given_bl != bias_len => mismatch("bias", bias_len, given_bl),
        _ if dyl != bx * out => mismatch("dy", bx * out, dyl),
        _ if with_dw && dwl != out * inp => mismatch("dweight", out * inp, dwl),
        _ if pass_bias && dbl != bias_len => mismatch("dbias", bias_len, dbl),
        _ if with_dx && dxl != bx * inp => mismatch("dx", bx * inp, dxl),
        _ => Ok(()),
    });
    assert_eq!(r, expected, "backward {bx}×{inp}→{out}");
    let (dw, db, dx) = (
        &dw[off..off + dwl],
        &db[off..off + dbl],
        &dx[off..off + dxl],
    );
    if r.is_err() {
        assert!(same_bits(dw, &dw0) && same_bits(db, &db0));
        assert!(dx.iter().all(|v| v.is_nan()), "backward wrote on error");
        return;
    }
    for o in 0..out {
        if with_dw {
            for q in 0..inp {
                let mut sum = Sum::new();
                sum.add(dw0[o * inp + q] as f64);
                for b in 0..bx {
                    sum.product(dy[b * out + o], x[b * inp + q]);
                }
                sum.check(dw[o * inp + q], &format!("{isa} dweight[{o},{q}]"));
            }
        }
        if with_bias {
            let mut sum = Sum::new();
            sum.add(db0[o] as f64);
            for b in 0..bx {
                sum.add(dy[b * out + o] as f64);
            }
            sum.check(db[o], &format!("{isa} dbias[{o}]"));
        }
    }
    if !with_dw {
        assert!(same_bits(dw, &dw0), "dweight written while frozen");
    }
    if !with_bias {
        assert!(same_bits(db, &db0), "dbias written without bias");
    }
    if with_dx {
        for b in 0..bx {
            for q in 0..inp {
                let mut sum = Sum::new();
                for o in 0..out {
                    sum.product(dy[b * out + o], w[o * inp + q]);
                }
                sum.check(dx[b * inp + q], &format!("{isa} dx[{b},{q}]"));
            }
        }
    } else {
        assert!(dx.iter().all(|v| v.is_nan()));
    }
}
