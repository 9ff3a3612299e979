//! `descent::pool`: torch's golden vectors; max and average pooling against the `f64`
//! references of `tests/reference/pool.rs` (and against torch's `f32` loops, bit for bit) over
//! random shapes and hyper-parameters, on unaligned sub-slices with sentinels; gradients
//! against finite differences through the `f32` kernels; ties, NaN, `−∞` and windows of
//! padding only; training and evaluation backward; the lengths a caller sizes buffers with;
//! global average pooling on every instruction set at every plane length 0..=70; `Flatten`.
//!
//! Tolerances, with `u = 2⁻²⁴` (each derived where it is used):
//! * max pooling selects an input, so `y` and the saved indices are exact; `dx[i]` is a sum
//!   of the `m` gradients routed to `i`, within `(m − 1)·u·Σ|dy|` of the exact sum;
//! * average pooling sums the `n ≤ kH·kW` positions of a window in `f32` and divides once:
//!   within `n·u·Σ|x|/divisor + u·|y|`; `dx[i]` adds `m` quotients each rounded once:
//!   within `m·u·Σ|dy/divisor|`;
//! * global average pooling: see [`global_tolerance`].

#![allow(clippy::needless_range_loop)] // index arithmetic mirrors the formulas

#[allow(dead_code)]
#[path = "../examples/conformance/case.rs"]
mod case;
mod common;
#[path = "reference/pool.rs"]
mod reference;

use common::{for_each_isa, Rng, U};
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use descent::pool::{
    AvgPool1d, AvgPool2d, Flatten, GlobalAvgPool1d, GlobalAvgPool2d, MaxPool1d, MaxPool2d,
    MAX_PLANE,
};
use descent::{Error, Isa};
use reference::{
    avg_pool, avg_pool_backward, avg_pool_backward_f32, avg_pool_f32, f64s, global_avg,
    global_avg_backward, max_pool, max_pool_backward, max_pool_backward_f32, out_len, Pool,
};

const SENTINEL: f32 = -7777.0;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// A buffer of `len + off + 3` sentinels with `v` (or more sentinels) at `[off, off + len)`.
fn padded_with(v: &[f32], off: usize) -> Vec<f32> {
    let mut p = vec![SENTINEL; v.len() + off + 3];
    p[off..off + v.len()].copy_from_slice(v);
    p
}

/// The slice `[off..off + len]` of a padded buffer, after checking the sentinels around it.
fn inner(p: &[f32], off: usize, len: usize) -> Vec<f32> {
    assert!(
        p[..off]
            .iter()
            .chain(&p[off + len..])
            .all(|&v| v == SENTINEL),
        "a sentinel was overwritten"
    );
    p[off..off + len].to_vec()
}

/// An integer uniform in `[lo, hi]`.
fn pick(rng: &mut Rng, lo: usize, hi: usize) -> usize {
    let u = (rng.next() as f64 + 1.0) / 2.0; // [0, 1)
    lo + ((hi - lo + 1) as f64 * u) as usize
}

/// Everything one layer's calls produce on a batch: the training and evaluation forwards
/// (which must agree bit for bit), what training saved, and `dx` from a training and from an
/// evaluation tape. Every output slice sits at offset `off` in a buffer of sentinels, and `dx`
/// starts as NaN (backward must write every element).
struct Run {
    y: Vec<f32>,
    saved: Vec<f32>,
    dx: Vec<f32>,
    dx_eval: Vec<f32>,
}

fn run(layer: &dyn Layer, input: Shape, x: &[f32], dy: &[f32], off: usize) -> Run {
    let out = layer.output_shape(input).unwrap().len();
    let batch = x.len() / input.len();
    let (n, m) = (x.len(), batch * out);
    assert_eq!(dy.len(), m, "dy of the test");
    let sl = layer.saved_len(input, batch);
    let xp = padded_with(x, off);
    let dyp = padded_with(dy, off);
    let (xs, dys) = (&xp[off..off + n], &dyp[off..off + m]);
    let mut y = padded_with(&vec![SENTINEL; m], off);
    let mut y_eval = padded_with(&vec![SENTINEL; m], off);
    let mut saved = padded_with(&vec![SENTINEL; sl], off);
    let mode = Mode::train(&mut saved[off..off + sl]);
    layer
        .forward(input, mode, Params::NONE, xs, &mut y[off..off + m])
        .unwrap();
    layer
        .forward(
            input,
            Mode::EVAL,
            Params::NONE,
            xs,
            &mut y_eval[off..off + m],
        )
        .unwrap();
    let (yv, saved_v) = (inner(&y, off, m), inner(&saved, off, sl));
    assert_eq!(bits(&inner(&y_eval, off, m)), bits(&yv), "eval y ≠ train y");
    let mut dx = padded_with(&vec![f32::NAN; n], off);
    let tape = Tape::train(xs, &yv, &saved_v);
    let dxs = Some(&mut dx[off..off + n]);
    layer
        .backward(input, Params::NONE, tape, dys, dxs, Grads::NONE)
        .unwrap();
    let mut dx_eval = padded_with(&vec![f32::NAN; n], off);
    let tape = Tape::eval(xs, &yv, &[]);
    let dxs = Some(&mut dx_eval[off..off + n]);
    layer
        .backward(input, Params::NONE, tape, dys, dxs, Grads::NONE)
        .unwrap();
    Run {
        y: yv,
        saved: saved_v,
        dx: inner(&dx, off, n),
        dx_eval: inner(&dx_eval, off, n),
    }
}

// ---------------------------------------------------------------------------------------------
// torch's vectors
// ---------------------------------------------------------------------------------------------

/// torch's golden vectors for pooling: the cases `max_pool1d`, `max_pool2d`, `avg_pool1d`,
/// `avg_pool2d`, `global_avg_pool1d` and `global_avg_pool2d` of
/// `tests/data/conformance/conv.json` (PyTorch 2.15.0, CPU, float32; format in `FORMAT.md`
/// there), which the conformance runner also checks. Here each case passes its own rule `|got − want| ≤ atol + rtol·|want|` for `y` and `dx`,
/// from a training and from an evaluation tape; max and average pooling, which read their
/// windows and add into `dx` in torch's order, also give torch's bits.
///
/// `POOL_TORCH_CASES=other.json` runs another file of such cases instead (held-out ones, say;
/// an `avg_pool2d` case may then carry `divisor_override`).
#[test]
fn torch_vectors() {
    let other = std::env::var_os("POOL_TORCH_CASES");
    let path = match &other {
        Some(p) => std::path::PathBuf::from(p),
        None => std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/conformance/conv.json"),
    };
    let cases = case::load_file(&path).unwrap();
    let mut ran = std::collections::BTreeMap::<String, usize>::new();
    let pooling = |c: &&case::Case| c.name.contains("pool");
    for c in cases.iter().filter(pooling) {
        run_torch_case(c).unwrap_or_else(|e| panic!("{}: {e}", c.id));
        *ran.entry(c.name.clone()).or_default() += 1;
    }
    println!("pooling cases of {}: {ran:?}", path.display());
    if other.is_some() {
        return;
    }
    let want = [
        ("avg_pool1d", 1),
        ("avg_pool2d", 3),
        ("global_avg_pool1d", 1),
        ("global_avg_pool2d", 1),
        ("max_pool1d", 2),
        ("max_pool2d", 2),
    ];
    let ran: Vec<(&str, usize)> = ran.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(ran, want);
}

/// A list hyper-parameter (`kernel_size: [3, 3]`).
fn hp_list(c: &case::Case, name: &str) -> Result<Vec<usize>, String> {
    c.hparams
        .get(name)
        .and_then(|v| v.as_array())
        .and_then(|a| a.iter().map(|v| v.as_u64().map(|v| v as usize)).collect())
        .ok_or_else(|| format!("hparam `{name}` is not a list of integers"))
}

fn run_torch_case(c: &case::Case) -> Result<(), String> {
    let (x, dy) = (c.input("x")?, c.input("dy")?);
    let input = match x.shape[..] {
        [_, channels, length] => Shape::Sequence { channels, length },
        [_, channels, height, width] => Shape::Image {
            channels,
            height,
            width,
        },
        _ => return Err(format!("x has shape {:?}", x.shape)),
    };
    let pair = |name: &str| -> Result<[usize; 2], String> {
        let v = hp_list(c, name)?;
        v.try_into()
            .map_err(|v| format!("`{name}` = {v:?}: two entries"))
    };
    let one = |name: &str| -> Result<usize, String> {
        match hp_list(c, name)?[..] {
            [v] => Ok(v),
            ref v => Err(format!("`{name}` = {v:?}: one entry")),
        }
    };
    let layer: Box<dyn Layer> = match c.name.as_str() {
        "max_pool1d" => Box::new(MaxPool1d {
            kernel_size: one("kernel_size")?,
            stride: one("stride")?,
            padding: one("padding")?,
            dilation: one("dilation")?,
            ceil_mode: c.hp_bool("ceil_mode")?,
        }),
        "max_pool2d" => Box::new(MaxPool2d {
            kernel_size: pair("kernel_size")?,
            stride: pair("stride")?,
            padding: pair("padding")?,
            dilation: pair("dilation")?,
            ceil_mode: c.hp_bool("ceil_mode")?,
        }),
        "avg_pool1d" => Box::new(AvgPool1d {
            kernel_size: one("kernel_size")?,
            stride: one("stride")?,
            padding: one("padding")?,
            ceil_mode: c.hp_bool("ceil_mode")?,
            count_include_pad: c.hp_bool("count_include_pad")?,
        }),
        "avg_pool2d" => Box::new(AvgPool2d {
            kernel_size: pair("kernel_size")?,
            stride: pair("stride")?,
            padding: pair("padding")?,
            ceil_mode: c.hp_bool("ceil_mode")?,
            count_include_pad: c.hp_bool("count_include_pad")?,
            divisor_override: match c.hparams.get("divisor_override") {
                None | Some(serde_json::Value::Null) => None,
                Some(v) => Some(v.as_u64().ok_or("divisor_override")? as usize),
            },
        }),
        "global_avg_pool1d" => {
            assert_eq!(hp_list(c, "output_size")?, [1]);
            Box::new(GlobalAvgPool1d)
        }
        "global_avg_pool2d" => {
            assert_eq!(hp_list(c, "output_size")?, [1, 1]);
            Box::new(GlobalAvgPool2d)
        }
        other => return Err(format!("not a pooling: {other}")),
    };
    let out = layer.output_shape(input).map_err(|e| e.to_string())?;
    let mut y_shape = vec![x.shape[0], out.channels()];
    y_shape.extend(match out {
        Shape::Sequence { length, .. } => vec![length],
        Shape::Image { height, width, .. } => vec![height, width],
        Shape::Features(_) => vec![],
    });
    let r = run(layer.as_ref(), input, &x.f32s(), &dy.f32s(), 0);
    c.check("y", &r.y, &y_shape)?;
    c.check("dx", &r.dx, &x.shape)?;
    c.check("dx", &r.dx_eval, &x.shape)?;
    c.require_only(&["y", "dx"])?;
    if !c.name.starts_with("global") {
        let exact = |key: &str, got: &[f32]| -> Result<(), String> {
            let want = c.expected(key)?.f32s();
            if bits(got) != bits(&want) {
                return Err(format!("`{key}` is not torch's bits"));
            }
            Ok(())
        };
        exact("y", &r.y)?;
        exact("dx", &r.dx)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// max and average pooling against the references
// ---------------------------------------------------------------------------------------------

/// Max or average pooling.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Max,
    Avg {
        count_include_pad: bool,
        divisor_override: Option<usize>,
    },
}

/// One pooling under test: the kind, the rank (1-D or 2-D), torch's hyper-parameters as the
/// reference takes them (a 1-D pooling as `1 × k`), and the batch's shape.
#[derive(Clone, Copy, Debug)]
struct Config {
    kind: Kind,
    one_d: bool,
    pool: Pool,
    channels: usize,
    h: usize,
    w: usize,
    batch: usize,
}

impl Config {
    fn input(&self) -> Shape {
        if self.one_d {
            Shape::Sequence {
                channels: self.channels,
                length: self.w,
            }
        } else {
            Shape::Image {
                channels: self.channels,
                height: self.h,
                width: self.w,
            }
        }
    }

    fn layer(&self) -> Box<dyn Layer> {
        let p = &self.pool;
        match (self.kind, self.one_d) {
            (Kind::Max, true) => Box::new(MaxPool1d {
                kernel_size: p.kernel_size[1],
                stride: p.stride[1],
                padding: p.padding[1],
                dilation: p.dilation[1],
                ceil_mode: p.ceil_mode,
            }),
            (Kind::Max, false) => Box::new(MaxPool2d {
                kernel_size: p.kernel_size,
                stride: p.stride,
                padding: p.padding,
                dilation: p.dilation,
                ceil_mode: p.ceil_mode,
            }),
            (
                Kind::Avg {
                    count_include_pad, ..
                },
                true,
            ) => Box::new(AvgPool1d {
                kernel_size: p.kernel_size[1],
                stride: p.stride[1],
                padding: p.padding[1],
                ceil_mode: p.ceil_mode,
                count_include_pad,
            }),
            (
                Kind::Avg {
                    count_include_pad,
                    divisor_override,
                },
                false,
            ) => Box::new(AvgPool2d {
                kernel_size: p.kernel_size,
                stride: p.stride,
                padding: p.padding,
                ceil_mode: p.ceil_mode,
                count_include_pad,
                divisor_override,
            }),
        }
    }

    fn planes(&self) -> usize {
        self.batch * self.channels
    }

    fn h(&self) -> usize {
        if self.one_d {
            1
        } else {
            self.h
        }
    }
}

/// A random pooling: kernels 1..=5, strides 1..=4, dilations 1..=3 (max only), paddings up to
/// half the kernel and one time in eight beyond it, both `ceil_mode`s, both
/// `count_include_pad`s, a `divisor_override` one 2-D average pooling in four; planes up to
/// 11 × 11, 1..=3 channels, batches 1..=4.
fn random_config(rng: &mut Rng) -> Config {
    let one_d = rng.next() < 0.0;
    let kind = if rng.next() < 0.0 {
        Kind::Max
    } else {
        Kind::Avg {
            count_include_pad: rng.next() < 0.0,
            divisor_override: (!one_d && rng.next() < -0.5).then(|| pick(rng, 1, 20)),
        }
    };
    let mut axis = || {
        let k = pick(rng, 1, 5);
        let s = pick(rng, 1, 4);
        let d = if matches!(kind, Kind::Max) {
            pick(rng, 1, 3)
        } else {
            1
        };
        let half = k / 2;
        let p = if rng.next() < -0.75 {
            half + 1
        } else {
            pick(rng, 0, half)
        };
        (k, s, p, d)
    };
    let (kh, sh, ph, dh) = if one_d { (1, 1, 0, 1) } else { axis() };
    let (kw, sw, pw, dw) = axis();
    Config {
        kind,
        one_d,
        pool: Pool {
            kernel_size: [kh, kw],
            stride: [sh, sw],
            padding: [ph, pw],
            dilation: [dh, dw],
            ceil_mode: rng.next() < 0.0,
        },
        channels: pick(rng, 1, 3),
        h: pick(rng, 1, 11),
        w: pick(rng, 1, 11),
        batch: pick(rng, 1, 4),
    }
}

/// `|got − want| ≤ tol[i]` for every element.
fn assert_within(what: &str, got: &[f32], want: &[f64], tol: impl Fn(usize) -> f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (g as f64 - w).abs();
        let t = tol(i);
        assert!(
            err <= t,
            "{what}[{i}]: got {g:e}, want {w:e}, |err| {err:.3e} > {t:.3e}"
        );
    }
}

/// Checks one configuration on random values against the references; `false` when torch
/// refuses it (and then so must the layer).
fn check_config(cfg: &Config, rng: &mut Rng) -> bool {
    let layer = cfg.layer();
    let input = cfg.input();
    let (h, w, planes) = (cfg.h(), cfg.w, cfg.planes());
    let ctx = format!("{cfg:?}");
    let Some([oh, ow]) = cfg.pool.output(h, w) else {
        assert!(
            layer.output_shape(input).is_err(),
            "{ctx}: torch refuses it"
        );
        let x = vec![0.0; planes * h * w];
        let mut y = vec![SENTINEL; 4];
        let r = layer.forward(input, Mode::EVAL, Params::NONE, &x, &mut y);
        assert!(r.is_err() && y.iter().all(|&v| v == SENTINEL), "{ctx}");
        return false;
    };
    let out = layer.output_shape(input).unwrap();
    let want_out = if cfg.one_d {
        Shape::Sequence {
            channels: cfg.channels,
            length: ow,
        }
    } else {
        Shape::Image {
            channels: cfg.channels,
            height: oh,
            width: ow,
        }
    };
    assert_eq!(out, want_out, "{ctx}");
    let (n, m) = (planes * h * w, planes * oh * ow);
    let x = rng.vec(n);
    let dy = rng.vec(m);
    let r = run(layer.as_ref(), input, &x, &dy, 0);
    let (xd, dyd) = (f64s(&x), f64s(&dy));
    match cfg.kind {
        Kind::Max => {
            let (y, idx) = max_pool(&xd, planes, h, w, &cfg.pool);
            let want_y: Vec<f32> = y.iter().map(|&v| v as f32).collect();
            assert_eq!(bits(&r.y), bits(&want_y), "y {ctx}");
            let want_saved: Vec<f32> = idx
                .iter()
                .map(|i| i.map_or((h * w) as f32, |i| i as f32))
                .collect();
            assert_eq!(bits(&r.saved), bits(&want_saved), "saved {ctx}");
            let g = max_pool_backward(&idx, &dyd, planes, h * w);
            assert_within(&format!("dx {ctx}"), &r.dx, &g.dx, |i| {
                g.terms[i].saturating_sub(1) as f64 * U * g.abs[i]
            });
            let torch = max_pool_backward_f32(&idx, &dy, planes, h * w);
            assert_eq!(bits(&r.dx), bits(&torch), "dx is not torch's {ctx}");
        }
        Kind::Avg {
            count_include_pad,
            divisor_override,
        } => {
            let p = &cfg.pool;
            let (y, scale) = avg_pool(&xd, planes, h, w, p, count_include_pad, divisor_override);
            let k = (p.kernel_size[0] * p.kernel_size[1]) as f64;
            assert_within(&format!("y {ctx}"), &r.y, &y, |i| {
                k * U * scale[i] + U * y[i].abs()
            });
            let torch = avg_pool_f32(&x, planes, h, w, p, count_include_pad, divisor_override);
            assert_eq!(bits(&r.y), bits(&torch), "y is not torch's {ctx}");
            let g = avg_pool_backward(&dyd, planes, h, w, p, count_include_pad, divisor_override);
            assert_within(&format!("dx {ctx}"), &r.dx, &g.dx, |i| {
                g.terms[i] as f64 * U * g.abs[i]
            });
            let torch =
                avg_pool_backward_f32(&dy, planes, h, w, p, count_include_pad, divisor_override);
            assert_eq!(bits(&r.dx), bits(&torch), "dx is not torch's {ctx}");
        }
    }
    assert_eq!(bits(&r.dx_eval), bits(&r.dx), "eval dx ≠ train dx {ctx}");
    // Unaligned sub-slices give the same bits.
    let off = pick(rng, 1, 3);
    let o = run(layer.as_ref(), input, &x, &dy, off);
    assert_eq!(bits(&o.y), bits(&r.y), "{ctx} off={off}");
    assert_eq!(bits(&o.saved), bits(&r.saved), "{ctx} off={off}");
    assert_eq!(bits(&o.dx), bits(&r.dx), "{ctx} off={off}");
    true
}

#[test]
fn max_and_average_pooling_match_the_references_over_random_hyper_parameters() {
    let mut rng = Rng::new(11);
    // Checked configurations: [max 1-D, max 2-D, avg 1-D, avg 2-D], and refused ones.
    let (mut checked, mut refused) = ([0usize; 4], 0usize);
    let mut ceil_only = 0;
    for _ in 0..4000 {
        let cfg = random_config(&mut rng);
        if check_config(&cfg, &mut rng) {
            let k = matches!(cfg.kind, Kind::Avg { .. }) as usize * 2 + (!cfg.one_d) as usize;
            checked[k] += 1;
            // A ceil-mode window that runs past the padded input (torch allows it).
            let p = &cfg.pool;
            let past = |a: usize, len: usize| {
                p.dilation[a] * (p.kernel_size[a] - 1) + 1 > len + 2 * p.padding[a]
            };
            ceil_only += (past(0, cfg.h()) || past(1, cfg.w)) as usize;
        } else {
            refused += 1;
        }
    }
    println!(
        "checked {checked:?}, refused {refused}, ceil-mode windows past the input {ceil_only}"
    );
    assert!(checked.iter().all(|&c| c >= 400), "{checked:?}");
    assert!(refused >= 200 && ceil_only >= 20, "{refused} {ceil_only}");
}

/// Every output length torch computes (`pooling_output_shape` with its checks) is the
/// layers', and every shape torch refuses the layers refuse: lengths 1..=14, kernels 1..=6,
/// strides 1..=5, paddings 0..=4, dilations 1..=3, both `ceil_mode`s.
#[test]
fn output_lengths_are_torchs() {
    let mut agreed = [0usize; 2];
    for l in 1..=14 {
        for k in 1..=6 {
            for s in 1..=5 {
                for p in 0..=4 {
                    for d in 1..=3 {
                        for ceil_mode in [false, true] {
                            let want = out_len(l, k, s, p, d, ceil_mode);
                            let max = MaxPool1d {
                                kernel_size: k,
                                stride: s,
                                padding: p,
                                dilation: d,
                                ceil_mode,
                            };
                            let input = Shape::Sequence {
                                channels: 2,
                                length: l,
                            };
                            let got = max.output_shape(input).ok().map(|s| s.last());
                            assert_eq!(got, want, "{max:?} on {l}");
                            let got = MaxPool2d {
                                kernel_size: [1, k],
                                stride: [1, s],
                                padding: [0, p],
                                dilation: [1, d],
                                ceil_mode,
                            }
                            .output_shape(Shape::Image {
                                channels: 1,
                                height: 1,
                                width: l,
                            })
                            .ok()
                            .map(|s| s.last());
                            assert_eq!(got, want, "{max:?} 2-D on {l}");
                            if d == 1 {
                                let avg = AvgPool1d {
                                    kernel_size: k,
                                    stride: s,
                                    padding: p,
                                    ceil_mode,
                                    count_include_pad: true,
                                };
                                let got = avg.output_shape(input).ok().map(|s| s.last());
                                assert_eq!(got, want, "{avg:?} on {l}");
                            }
                            agreed[want.is_some() as usize] += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(agreed.iter().all(|&a| a > 1000), "{agreed:?}");
}

// ---------------------------------------------------------------------------------------------
// gradients against finite differences
// ---------------------------------------------------------------------------------------------

/// `L(x) = Σ probe·y(x)` in `f64`, with `y` from the layer's `f32` forward (and `y`).
fn functional(layer: &dyn Layer, input: Shape, x: &[f32], probe: &[f32]) -> (f64, Vec<f32>) {
    let mut y = vec![0.0; probe.len()];
    layer
        .forward(input, Mode::EVAL, Params::NONE, x, &mut y)
        .unwrap();
    // A window of padding only is −∞ at every point: its derivative is 0.
    let l = y
        .iter()
        .zip(probe)
        .filter(|(a, _)| a.is_finite())
        .map(|(&a, &b)| a as f64 * b as f64)
        .sum();
    (l, y)
}

/// Average pooling's `dx` against central differences of `L = Σ probe·y` through the `f32`
/// forward, at `x ± h` with `h = 1` (the map is linear, so there is no truncation error; the
/// step actually taken, `(xᵢ + h) − (xᵢ − h)` of the rounded `f32` values, divides).
///
/// Why the tolerance holds: an output whose window does not read `xᵢ` computes the same bits
/// at both points and cancels exactly; each of the others errs by at most
/// `eₒ = n·u·Σ|x|/divisor + u·|yₒ|` at each point, so the difference errs by at most
/// `Σₒ |probeₒ|·(eₒ(x + h) + eₒ(x − h))/(2h)`, plus the `f64` rounding of `L` (below 1e-13
/// here); the kernel's `dxᵢ` errs by at most `m·u·Σ|probe/divisor|`.
#[test]
fn average_pooling_gradients_match_finite_differences() {
    let mut rng = Rng::new(21);
    let mut checked = 0;
    while checked < 60 {
        let mut cfg = random_config(&mut rng);
        if matches!(cfg.kind, Kind::Max) {
            cfg.kind = Kind::Avg {
                count_include_pad: rng.next() < 0.0,
                divisor_override: None,
            };
            cfg.pool.dilation = [1, 1];
        }
        let (h, w, planes) = (cfg.h(), cfg.w, cfg.planes());
        let Some([oh, ow]) = cfg.pool.output(h, w) else {
            continue;
        };
        let Kind::Avg {
            count_include_pad: cip,
            divisor_override: dov,
        } = cfg.kind
        else {
            unreachable!()
        };
        let (layer, input, p) = (cfg.layer(), cfg.input(), cfg.pool);
        let x = rng.vec(planes * h * w);
        let probe = rng.vec(planes * oh * ow);
        let r = run(layer.as_ref(), input, &x, &probe, 0);
        let g = avg_pool_backward(&f64s(&probe), planes, h, w, &p, cip, dov);
        let k = (p.kernel_size[0] * p.kernel_size[1]) as f64;
        for i in 0..x.len() {
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[i] += 1.0;
            xm[i] -= 1.0;
            let step = xp[i] as f64 - xm[i] as f64;
            let (lp, yp) = functional(layer.as_ref(), input, &xp, &probe);
            let (lm, ym) = functional(layer.as_ref(), input, &xm, &probe);
            let fd = (lp - lm) / step;
            let (rp, sp) = avg_pool(&f64s(&xp), planes, h, w, &p, cip, dov);
            let (rm, sm) = avg_pool(&f64s(&xm), planes, h, w, &p, cip, dov);
            let mut bound = 1e-13;
            for o in 0..probe.len() {
                if rp[o] != rm[o] {
                    let e = |s: f64, y: f32| k * U * s + U * (y as f64).abs();
                    bound += (probe[o] as f64).abs() * (e(sp[o], yp[o]) + e(sm[o], ym[o])) / step;
                }
            }
            bound += g.terms[i] as f64 * U * g.abs[i];
            let err = (r.dx[i] as f64 - fd).abs();
            assert!(
                err <= bound,
                "{cfg:?} dx[{i}]: {} vs fd {fd:e}, |err| {err:.3e} > {bound:.3e}",
                r.dx[i]
            );
        }
        checked += 1;
    }
}

/// Max pooling's `dx` against central differences of `L = Σ probe·y` through the `f32`
/// forward, away from ties: the inputs are distinct multiples of `1/8` (up to `±128`), the
/// step `h = 1/32` is less than half their spacing, so no window changes its maximum, every
/// `x ± h` and every `y` is exact in `f32`, and the difference is exactly
/// `Σ_{o: argmax(o) = i} probeₒ` up to the `f64` rounding of `L` (below 1e-12 here). The
/// kernel's `dxᵢ` adds the same `m` terms in `f32`: within `(m − 1)·u·Σ|probe|`. Negative
/// inputs beside padding show that padding never wins.
#[test]
fn max_pooling_gradients_match_finite_differences_away_from_ties() {
    let mut rng = Rng::new(22);
    let mut checked = 0;
    while checked < 80 {
        let mut cfg = random_config(&mut rng);
        cfg.kind = Kind::Max;
        let (h, w, planes) = (cfg.h(), cfg.w, cfg.planes());
        let Some([oh, ow]) = cfg.pool.output(h, w) else {
            continue;
        };
        let (layer, input) = (cfg.layer(), cfg.input());
        let n = planes * h * w;
        // Distinct values k/8, k a shuffle of −n..n, shifted down one time in three.
        let mut ks: Vec<i64> = (-(n as i64)..n as i64).collect();
        for i in (1..ks.len()).rev() {
            ks.swap(i, pick(&mut rng, 0, i));
        }
        let shift = if rng.next() < -0.33 { n as i64 + 1 } else { 0 };
        let x: Vec<f32> = ks[..n].iter().map(|&k| (k - shift) as f32 / 8.0).collect();
        let probe = rng.vec(planes * oh * ow);
        let r = run(layer.as_ref(), input, &x, &probe, 0);
        let (_, idx) = max_pool(&f64s(&x), planes, h, w, &cfg.pool);
        let g = max_pool_backward(&idx, &f64s(&probe), planes, h * w);
        for i in 0..n {
            let (mut xp, mut xm) = (x.clone(), x.clone());
            xp[i] += 1.0 / 32.0;
            xm[i] -= 1.0 / 32.0;
            let (lp, _) = functional(layer.as_ref(), input, &xp, &probe);
            let (lm, _) = functional(layer.as_ref(), input, &xm, &probe);
            let fd = (lp - lm) / (1.0 / 16.0);
            let bound = 1e-12 + g.terms[i].saturating_sub(1) as f64 * U * g.abs[i];
            let err = (r.dx[i] as f64 - fd).abs();
            assert!(
                err <= bound,
                "{cfg:?} dx[{i}]: {} vs fd {fd:e}, |err| {err:.3e} > {bound:.3e}",
                r.dx[i]
            );
        }
        checked += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// ties, NaN, −∞, windows of padding only
// ---------------------------------------------------------------------------------------------

/// `(y, saved, dx)` of a 1-D max pooling over one channel, for `dy` = 1, 2, 3, …
fn max1d(pool: MaxPool1d, x: &[f32]) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let input = Shape::Sequence {
        channels: 1,
        length: x.len(),
    };
    let m = pool.output_shape(input).unwrap().len();
    let dy: Vec<f32> = (1..=m).map(|v| v as f32).collect();
    let r = run(&pool, input, x, &dy, 1);
    assert_eq!(bits(&r.dx_eval), bits(&r.dx), "eval dx ≠ train dx");
    (r.y, r.saved, r.dx)
}

#[test]
fn ties_go_to_the_first_maximum_and_nan_wins_as_in_torch() {
    let nan = f32::NAN;
    let inf = f32::INFINITY;
    let slide = MaxPool1d {
        stride: 1,
        ..MaxPool1d::new(3)
    };
    // Ties: the first of equal maxima wins, in every window.
    let (y, saved, dx) = max1d(slide, &[1.0, 1.0, 1.0, 0.0, 1.0]);
    assert_eq!(y, [1.0, 1.0, 1.0]);
    assert_eq!(saved, [0.0, 1.0, 2.0]);
    assert_eq!(dx, [1.0, 2.0, 3.0, 0.0, 0.0]);
    // −0 and +0 tie: the first wins.
    let (y, saved, _) = max1d(MaxPool1d::new(2), &[-0.0, 0.0, 0.0, -0.0]);
    assert_eq!(bits(&y), bits(&[-0.0, 0.0]));
    assert_eq!(saved, [0.0, 2.0]);
    // NaN wins over any number, +∞ included, and gets the gradient; of several NaNs the last
    // one scanned wins (torch replaces on `isnan(v)`).
    let (y, saved, dx) = max1d(MaxPool1d::new(5), &[1.0, nan, inf, nan, 2.0]);
    assert!(y[0].is_nan());
    assert_eq!(saved, [3.0]);
    assert_eq!(bits(&dx), bits(&[0.0, 0.0, 0.0, 1.0, 0.0]));
    let (y, saved, dx) = max1d(slide, &[5.0, nan, 1.0, 2.0]);
    assert!(y[0].is_nan() && y[1].is_nan());
    assert_eq!(saved, [1.0, 1.0]);
    assert_eq!(bits(&dx), bits(&[0.0, 3.0, 0.0, 0.0]));
    // A window of −∞ points at its first position (torch's starting index).
    let (y, saved, dx) = max1d(MaxPool1d::new(2), &[-inf, -inf, 3.0, -inf]);
    assert_eq!(y, [-inf, 3.0]);
    assert_eq!(saved, [0.0, 2.0]);
    assert_eq!(dx, [1.0, 0.0, 2.0, 0.0]);
    // Padding never wins, even over negative numbers.
    let padded = MaxPool1d {
        stride: 1,
        padding: 1,
        ..MaxPool1d::new(3)
    };
    let (y, saved, dx) = max1d(padded, &[-3.0, -1.0, -2.0]);
    assert_eq!(y, [-1.0, -1.0, -1.0]);
    assert_eq!(saved, [1.0, 1.0, 1.0]);
    assert_eq!(dx, [0.0, 6.0, 0.0]);
    // 2-D: the first maximum in row order.
    let pool = MaxPool2d::new(2);
    let input = Shape::Image {
        channels: 1,
        height: 2,
        width: 2,
    };
    let r = run(&pool, input, &[1.0, 7.0, 7.0, 7.0], &[5.0], 0);
    assert_eq!(
        (r.y, r.saved, r.dx),
        (vec![7.0], vec![1.0], vec![0.0, 5.0, 0.0, 0.0])
    );
}

/// Windows whose taps all fall in the padding (possible with `dilation > 1`), with what torch
/// 2.15 gives on each (checked with torch on CPU): `y = −∞` as torch's; the saved index is
/// `H·W`, past the plane, and no gradient passes. torch saves its scan's start and adds the
/// gradient there: past the plane in the first three cases (`[2]`, `[3]`, `[6, 7, 8]`: a
/// write outside its gradient buffer, which corrupted torch's heap in a longer run), inside
/// it in the last, where only the columns are empty (index 2: `x.grad = [0, 0, 1, 0]`, a
/// position the window never read). This layer passes no gradient in either.
#[test]
fn windows_of_padding_only_give_minus_infinity_and_pass_no_gradient() {
    let inf = f32::NEG_INFINITY;
    // nn.MaxPool1d(2, 1, padding=1, dilation=3) on [4, 5]: taps −1 and 2.
    let pool = MaxPool1d {
        kernel_size: 2,
        stride: 1,
        padding: 1,
        dilation: 3,
        ceil_mode: false,
    };
    let (y, saved, dx) = max1d(pool, &[4.0, 5.0]);
    assert_eq!((y, saved, dx), (vec![inf], vec![2.0], vec![0.0, 0.0]));
    let (ry, ridx) = max_pool(&[4.0, 5.0], 1, 1, 2, &Pool::one_d(2, 1, 1, 3, false));
    assert_eq!((ry, ridx), (vec![f64::NEG_INFINITY], vec![None]));
    // nn.MaxPool1d(2, 1, padding=1, dilation=4, ceil_mode=True) on [4, 5, 6]: taps −1 and 3,
    // a window one position past the padded input (ceil_mode lets it).
    let pool = MaxPool1d {
        dilation: 4,
        ceil_mode: true,
        ..pool
    };
    let (y, saved, dx) = max1d(pool, &[4.0, 5.0, 6.0]);
    assert_eq!((y, saved, dx), (vec![inf], vec![3.0], vec![0.0; 3]));
    // nn.MaxPool2d((2, 1), 1, padding=(1, 0), dilation=(3, 1)) on a 2 × 3 plane: rows −1, 2.
    let pool = MaxPool2d {
        kernel_size: [2, 1],
        stride: [1, 1],
        padding: [1, 0],
        dilation: [3, 1],
        ceil_mode: false,
    };
    let input = Shape::Image {
        channels: 1,
        height: 2,
        width: 3,
    };
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let r = run(&pool, input, &x, &[1.0, 2.0, 3.0], 0);
    assert_eq!(r.y, [inf; 3]);
    assert_eq!(r.saved, [6.0; 3]);
    assert_eq!(r.dx, [0.0; 6]);
    // nn.MaxPool2d((1, 2), 1, padding=(0, 1), dilation=(1, 3)) on a 2 × 2 plane: columns −1
    // and 2, every row.
    let pool = MaxPool2d {
        kernel_size: [1, 2],
        stride: [1, 1],
        padding: [0, 1],
        dilation: [1, 3],
        ceil_mode: false,
    };
    let input = Shape::Image {
        channels: 1,
        height: 2,
        width: 2,
    };
    let r = run(&pool, input, &[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0], 0);
    assert_eq!(r.y, [inf; 2]);
    assert_eq!(r.saved, [4.0; 2]);
    assert_eq!(r.dx, [0.0; 4]);
}

/// Backward from an evaluation tape finds the same indices as a training forward saved, on
/// data full of ties, NaN and infinities.
#[test]
fn training_and_evaluation_backward_agree_on_ties_and_nan() {
    let mut rng = Rng::new(31);
    let values = [
        0.0,
        -0.0,
        1.0,
        1.0,
        -1.0,
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
    ];
    let mut checked = 0;
    while checked < 300 {
        let mut cfg = random_config(&mut rng);
        cfg.kind = Kind::Max;
        let (h, w, planes) = (cfg.h(), cfg.w, cfg.planes());
        let Some([oh, ow]) = cfg.pool.output(h, w) else {
            continue;
        };
        let x: Vec<f32> = (0..planes * h * w)
            .map(|_| values[pick(&mut rng, 0, values.len() - 1)])
            .collect();
        let dy = rng.vec(planes * oh * ow);
        // `run` checks the evaluation dx against the training one, bit for bit.
        let r = run(cfg.layer().as_ref(), cfg.input(), &x, &dy, 0);
        let (y, idx) = max_pool(&f64s(&x), planes, h, w, &cfg.pool);
        for (i, (&got, &want)) in r.y.iter().zip(&y).enumerate() {
            assert!(
                got.to_bits() == (want as f32).to_bits() || (got.is_nan() && want.is_nan()),
                "{cfg:?} y[{i}]: {got} vs {want}"
            );
        }
        let saved: Vec<f32> = idx
            .iter()
            .map(|i| i.map_or((h * w) as f32, |i| i as f32))
            .collect();
        assert_eq!(r.saved, saved, "{cfg:?}");
        let torch = max_pool_backward_f32(&idx, &dy, planes, h * w);
        assert_eq!(bits(&r.dx), bits(&torch), "{cfg:?}");
        checked += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// lengths and shapes
// ---------------------------------------------------------------------------------------------

#[test]
fn output_shapes_and_saved_lengths() {
    let image = |channels, height, width| Shape::Image {
        channels,
        height,
        width,
    };
    let seq = |channels, length| Shape::Sequence { channels, length };
    let stem = MaxPool2d {
        stride: [2, 2],
        padding: [1, 1],
        ..MaxPool2d::new(3)
    };
    assert_eq!(stem.output_shape(image(3, 7, 9)), Ok(image(3, 4, 5)));
    assert_eq!(stem.saved_len(image(3, 7, 9), 2), 2 * 3 * 4 * 5);
    assert_eq!(
        stem.output_shape(image(64, 112, 112)),
        Ok(image(64, 56, 56))
    );
    let ceil = MaxPool2d {
        ceil_mode: true,
        ..MaxPool2d::new(2)
    };
    assert_eq!(ceil.output_shape(image(1, 5, 4)), Ok(image(1, 3, 2)));
    assert_eq!(ceil.saved_len(image(1, 5, 4), 3), 18);
    // A shape the layer refuses saves nothing.
    assert_eq!(stem.saved_len(seq(3, 7), 2), 0);
    assert_eq!(MaxPool1d::new(3).output_shape(seq(2, 10)), Ok(seq(2, 3)));
    assert_eq!(MaxPool1d::new(3).saved_len(seq(2, 10), 4), 24);
    let dilated = MaxPool1d {
        stride: 1,
        dilation: 2,
        ..MaxPool1d::new(3)
    };
    assert_eq!(dilated.output_shape(seq(1, 10)), Ok(seq(1, 6)));
    // Average poolings save nothing.
    let avg = AvgPool2d {
        stride: [2, 1],
        padding: [1, 0],
        ceil_mode: true,
        ..AvgPool2d::new(3)
    };
    assert_eq!(avg.output_shape(image(2, 6, 5)), Ok(image(2, 4, 3)));
    assert_eq!(avg.saved_len(image(2, 6, 5), 2), 0);
    assert_eq!(AvgPool1d::new(4).output_shape(seq(3, 12)), Ok(seq(3, 3)));
    // torch's defaults.
    assert_eq!(
        MaxPool2d::new(3),
        MaxPool2d {
            kernel_size: [3, 3],
            stride: [3, 3],
            padding: [0, 0],
            dilation: [1, 1],
            ceil_mode: false
        }
    );
    assert_eq!(
        AvgPool1d::new(2),
        AvgPool1d {
            kernel_size: 2,
            stride: 2,
            padding: 0,
            ceil_mode: false,
            count_include_pad: true
        }
    );
    assert_eq!(AvgPool2d::new(2).divisor_override, None);
    // Global pooling keeps torch's singleton dimensions; Flatten makes a vector.
    assert_eq!(GlobalAvgPool1d.output_shape(seq(5, 9)), Ok(seq(5, 1)));
    assert_eq!(
        GlobalAvgPool2d.output_shape(image(8, 7, 7)),
        Ok(image(8, 1, 1))
    );
    assert_eq!(GlobalAvgPool2d.saved_len(image(8, 7, 7), 4), 0);
    assert_eq!(
        Flatten.output_shape(image(8, 7, 7)),
        Ok(Shape::Features(392))
    );
    assert_eq!(Flatten.output_shape(seq(3, 4)), Ok(Shape::Features(12)));
    assert_eq!(
        Flatten.output_shape(Shape::Features(5)),
        Ok(Shape::Features(5))
    );
    // Ranks.
    let rank = |expected, actual| {
        Err(Error::RankMismatch {
            what: "input",
            expected,
            actual,
        })
    };
    assert_eq!(MaxPool2d::new(2).output_shape(seq(1, 4)), rank(3, 2));
    assert_eq!(MaxPool1d::new(2).output_shape(image(1, 4, 4)), rank(2, 3));
    assert_eq!(
        AvgPool1d::new(2).output_shape(Shape::Features(4)),
        rank(2, 1)
    );
    assert_eq!(GlobalAvgPool1d.output_shape(image(1, 2, 2)), rank(2, 3));
    assert_eq!(GlobalAvgPool2d.output_shape(seq(1, 2)), rank(3, 2));
}

/// A max pooling refuses planes whose indices `f32` cannot hold exactly: more than `2²⁴`
/// positions (the shape alone decides; no buffer that large is needed).
#[test]
fn max_pooling_refuses_planes_beyond_two_to_the_24() {
    assert_eq!(MAX_PLANE, 1 << 24);
    let pool = MaxPool2d::new(2);
    let at = |height| Shape::Image {
        channels: 1,
        height,
        width: 4096,
    };
    assert!(pool.output_shape(at(4096)).is_ok()); // 2²⁴ positions
    let overflow = Error::DimensionOverflow { what: "input" };
    assert_eq!(pool.output_shape(at(4097)), Err(overflow));
    assert_eq!(pool.saved_len(at(4097), 1), 0);
    let mut y = [SENTINEL; 4];
    let r = pool.forward(at(4097), Mode::EVAL, Params::NONE, &[0.0; 4], &mut y);
    assert_eq!(r, Err(overflow));
    assert_eq!(y, [SENTINEL; 4]);
    let long = Shape::Sequence {
        channels: 1,
        length: MAX_PLANE + 1,
    };
    assert_eq!(MaxPool1d::new(2).output_shape(long), Err(overflow));
    // Average pooling saves no index and takes such planes.
    assert!(AvgPool2d::new(2).output_shape(at(4097)).is_ok());
}

// ---------------------------------------------------------------------------------------------
// global average pooling
// ---------------------------------------------------------------------------------------------

/// The bound of a plane's mean, with `s = Σ|x|/n` (the reference's scale): the kernel sums
/// the `c = ⌊n/8⌋` whole chunks on two accumulators of eight lanes (a lane of the first adds
/// `⌈c/2⌉` terms: `⌈c/2⌉ − 1` roundings), adds the accumulators (1), their lanes in a tree of
/// three rounds (3) and the `n mod 8 ≤ 7` tail terms one by one (7): every term passes at
/// most `⌈c/2⌉ + 10` roundings, each within `u` of the partial sum, so the sum errs by at
/// most `(⌈c/2⌉ + 10)·u·Σ|x|` to first order; the division adds `u·|y|`. The tolerance is
/// `(⌈c/2⌉ + 11)·u·s + 2u·|y|`, the extra `u·s + u·|y|` covering the second-order terms.
fn global_tolerance(n: usize, scale: f64, y: f64) -> f64 {
    ((n / 8).div_ceil(2) as f64 + 11.0) * U * scale + 2.0 * U * y.abs()
}

/// `(y, dx)` of a global pooling at offset `off`, with sentinels checked.
fn run_global(layer: &dyn Layer, input: Shape, x: &[f32], dy: &[f32], off: usize) -> Run {
    run(layer, input, x, dy, off)
}

#[test]
fn global_average_pooling_matches_the_reference_on_every_isa_at_every_plane_length() {
    let mut per_isa: Vec<(Isa, Vec<u32>)> = vec![];
    for_each_isa(|isa| {
        let mut rng = Rng::new(41);
        let mut all = vec![];
        for n in 0..=70usize {
            for (channels, batch) in [(1, 1), (3, 2)] {
                // 1-D over a length of n; 2-D over n×1, 1×n and a squarer factorisation.
                let mut shapes = vec![Shape::Sequence {
                    channels,
                    length: n,
                }];
                let f = (1..=n)
                    .rev()
                    .find(|f| n % f == 0 && f * f <= n)
                    .unwrap_or(1);
                for (h, w) in [(n, 1), (1, n), (f, n / f.max(1))] {
                    shapes.push(Shape::Image {
                        channels,
                        height: h,
                        width: w,
                    });
                }
                for input in shapes {
                    let layer: Box<dyn Layer> = match input {
                        Shape::Sequence { .. } => Box::new(GlobalAvgPool1d),
                        _ => Box::new(GlobalAvgPool2d),
                    };
                    if n == 0 {
                        let mut y = [SENTINEL; 2];
                        let r = layer.forward(input, Mode::EVAL, Params::NONE, &[], &mut y);
                        assert_eq!(r, Err(Error::ZeroDimension { what: "input" }));
                        assert_eq!(y, [SENTINEL; 2]);
                        continue;
                    }
                    let planes = batch * channels;
                    // Mostly positive values with a large mean, so cancellation is mild and
                    // the bound is tight.
                    let x: Vec<f32> = rng.vec(planes * n).iter().map(|v| v + 0.75).collect();
                    let dy = rng.vec(planes);
                    let r = run_global(layer.as_ref(), input, &x, &dy, 0);
                    let (y, scale) = global_avg(&f64s(&x), n);
                    let ctx = format!("{isa:?} {input:?} batch {batch}");
                    assert_within(&format!("y {ctx}"), &r.y, &y, |i| {
                        global_tolerance(n, scale[i], y[i])
                    });
                    // dy/n, rounded once.
                    let dx = global_avg_backward(&f64s(&dy), n);
                    assert_within(&format!("dx {ctx}"), &r.dx, &dx, |i| U * dx[i].abs());
                    assert_eq!(bits(&r.dx_eval), bits(&r.dx));
                    for off in 1..=3 {
                        let o = run_global(layer.as_ref(), input, &x, &dy, off);
                        assert_eq!(bits(&o.y), bits(&r.y), "{ctx} off={off}");
                        assert_eq!(bits(&o.dx), bits(&r.dx), "{ctx} off={off}");
                    }
                    all.extend(bits(&r.y));
                }
            }
        }
        per_isa.push((isa, all));
    });
    // No multiply-add: every instruction set gives the same bits.
    for (isa, all) in &per_isa[1..] {
        assert!(
            all == &per_isa[0].1,
            "{isa:?} differs from {:?}",
            per_isa[0].0
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Flatten
// ---------------------------------------------------------------------------------------------

#[test]
fn flatten_copies_both_ways() {
    let mut rng = Rng::new(51);
    for input in [
        Shape::Features(7),
        Shape::Sequence {
            channels: 3,
            length: 5,
        },
        Shape::Image {
            channels: 2,
            height: 3,
            width: 4,
        },
    ] {
        for batch in 0..=3 {
            let x = rng.vec(batch * input.len());
            let dy = rng.vec(batch * input.len());
            let r = run(&Flatten, input, &x, &dy, 2);
            assert_eq!(bits(&r.y), bits(&x));
            assert_eq!(bits(&r.dx), bits(&dy));
            assert!(r.saved.is_empty());
        }
    }
}
