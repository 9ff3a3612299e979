//! Checks of the core kernels on the target itself (Cortex-M4F on `mps2-an386`, Cortex-M0 on
//! `microbit`), against plain scalar references computed in `f64`:
//!
//! * dense forward and backward (`y`, `dweight`, `dbias`, `dx`),
//! * ReLU (exact) and tanh forward and backward,
//! * cross-entropy (loss and gradient),
//! * three Adam steps,
//! * a network's forward (dense → tanh → dense),
//! * `lr_at` of `CosineAnnealingLR` and `StepLR`.
//!
//! Each comparison has an explicit tolerance, derived from the kernel's rounding (`u = 2⁻²⁴`,
//! the unit roundoff of `f32`) and the size of the terms; the worst `error / tolerance` of
//! each check is printed. Any mismatch, panic or HardFault ends QEMU with a failure status.
//! Buffers are small stack arrays: the M0 board has 16 KiB of RAM.
//!
//! `cargo test --release` (M4F) and `cargo test --release --target thumbv6m-none-eabi` (M0).
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;

use descent::activation::{relu, relu_backward, tanh, tanh_backward, Activation};
use descent::dense::Dense;
use descent::layer::{Grads, Layer as _, Mode, Params, Shape, Tape};
use descent::loss::{cross_entropy, Reduction};
use descent::network::{Layer, Sequential};
use descent::optim::{Adam, Optimizer};
use descent::schedule::{CosineAnnealingLR, Schedule, StepLR};

/// Unit roundoff of f32.
const U: f64 = 1.0 / (1u64 << 24) as f64;

/// A deterministic generator of values in `[-1, 1)` (xorshift32).
struct Gen(u32);

impl Gen {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        (self.0 >> 8) as f32 / (1u32 << 23) as f32 - 1.0
    }

    fn fill(&mut self, xs: &mut [f32]) {
        for x in xs {
            *x = self.next();
        }
    }
}

/// Counts checks and failures; prints each check's worst error relative to its tolerance.
struct Report {
    checks: u32,
    failures: u32,
}

impl Report {
    /// Compares `got[i]` with `want[i]` under `tol[i]`-style tolerances given per element.
    fn check(&mut self, name: &str, got: &[f32], want: &[f64], tol: impl Fn(usize) -> f64) {
        self.checks += 1;
        let mut worst = 0.0f64;
        let mut bad = None;
        if got.len() != want.len() {
            bad = Some(usize::MAX);
        }
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            let err = (f64::from(g) - w).abs();
            let t = tol(i);
            // A NaN error (NaN output) fails too.
            if (err.is_nan() || err > t) && bad.is_none() {
                bad = Some(i);
            }
            if t > 0.0 {
                worst = worst.max(err / t);
            } else if err > 0.0 {
                worst = f64::INFINITY;
            }
        }
        match bad {
            None => hprintln!(
                "ok   {} ({} values, worst error/tolerance {})",
                name,
                got.len(),
                Ratio(worst)
            ),
            Some(i) => {
                self.failures += 1;
                let (g, w) = (
                    got.get(i).copied().unwrap_or(f32::NAN),
                    want.get(i).copied().unwrap_or(f64::NAN),
                );
                hprintln!(
                    "FAIL {}: element {}: got {:e}, want {:e}, tolerance {:e}",
                    name,
                    i,
                    g,
                    w,
                    tol(i)
                );
            }
        }
    }
}

/// Prints a ratio with three decimals without float formatting of huge values.
struct Ratio(f64);

impl core::fmt::Display for Ratio {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.0.is_finite() {
            let milli = (self.0 * 1000.0) as u64;
            write!(f, "{}.{:03}", milli / 1000, milli % 1000)
        } else {
            f.write_str("inf")
        }
    }
}

const B: usize = 3;
const IN: usize = 13;
const OUT: usize = 6;

fn dense(r: &mut Report, g: &mut Gen) {
    let (mut x, mut w, mut bias) = ([0.0f32; B * IN], [0.0f32; OUT * IN], [0.0f32; OUT]);
    g.fill(&mut x);
    g.fill(&mut w);
    g.fill(&mut bias);
    let layer = Dense::new(IN, OUT); // on a batch of B
    let input = Shape::Features(IN);
    let params = Params::new(&w, &bias);
    let mut y = [0.0f32; B * OUT];
    if layer
        .forward(input, Mode::EVAL, params, &x, &mut y)
        .is_err()
    {
        r.failures += 1;
        hprintln!("FAIL dense forward returned Err");
        return;
    }
    // y[b,o] = Σ_i x[b,i]·w[o,i] + bias[o]: f32 summation of IN+1 terms errs by at most
    // (IN+1)·u·Σ|terms| (plus the products' own rounding, inside the same bound).
    let (mut want, mut mag) = ([0.0f64; B * OUT], [0.0f64; B * OUT]);
    for b in 0..B {
        for o in 0..OUT {
            let (mut s, mut m) = (f64::from(bias[o]), f64::from(bias[o]).abs());
            for i in 0..IN {
                let t = f64::from(x[b * IN + i]) * f64::from(w[o * IN + i]);
                s += t;
                m += t.abs();
            }
            want[b * OUT + o] = s;
            mag[b * OUT + o] = m;
        }
    }
    r.check("dense forward y", &y, &want, |k| {
        (IN + 2) as f64 * U * mag[k]
    });

    let mut dy = [0.0f32; B * OUT];
    g.fill(&mut dy);
    let (mut dw, mut db, mut dx) = ([0.0f32; OUT * IN], [0.0f32; OUT], [0.0f32; B * IN]);
    let (tape, grads) = (Tape::train(&x, &y, &[]), Grads::new(&mut dw, &mut db));
    if layer
        .backward(input, params, tape, &dy, Some(&mut dx), grads)
        .is_err()
    {
        r.failures += 1;
        hprintln!("FAIL dense backward returned Err");
        return;
    }
    let (mut want_dw, mut mag_dw) = ([0.0f64; OUT * IN], [0.0f64; OUT * IN]);
    let (mut want_db, mut mag_db) = ([0.0f64; OUT], [0.0f64; OUT]);
    let (mut want_dx, mut mag_dx) = ([0.0f64; B * IN], [0.0f64; B * IN]);
    for b in 0..B {
        for o in 0..OUT {
            let d = f64::from(dy[b * OUT + o]);
            want_db[o] += d;
            mag_db[o] += d.abs();
            for i in 0..IN {
                let t = d * f64::from(x[b * IN + i]);
                want_dw[o * IN + i] += t;
                mag_dw[o * IN + i] += t.abs();
                let s = d * f64::from(w[o * IN + i]);
                want_dx[b * IN + i] += s;
                mag_dx[b * IN + i] += s.abs();
            }
        }
    }
    // Accumulated into zeros: one more addition than the batch has terms.
    r.check("dense backward dweight", &dw, &want_dw, |k| {
        (B + 2) as f64 * U * mag_dw[k]
    });
    r.check("dense backward dbias", &db, &want_db, |k| {
        (B + 2) as f64 * U * mag_db[k]
    });
    r.check("dense backward dx", &dx, &want_dx, |k| {
        (OUT + 2) as f64 * U * mag_dx[k]
    });
}

const N_ACT: usize = 37;

fn activations(r: &mut Report, g: &mut Gen) {
    let (mut x, mut dy) = ([0.0f32; N_ACT], [0.0f32; N_ACT]);
    g.fill(&mut x);
    g.fill(&mut dy);
    for v in x.iter_mut() {
        *v *= 4.0; // [-4, 4): tanh's curved part and its approach to saturation
    }
    let (mut y, mut dx) = ([0.0f32; N_ACT], [0.0f32; N_ACT]);
    let ok = relu(&x, &mut y).is_ok() && relu_backward(&x, &dy, &mut dx).is_ok();
    let want: [f64; N_ACT] = core::array::from_fn(|i| f64::from(x[i]).max(0.0));
    let want_dx: [f64; N_ACT] =
        core::array::from_fn(|i| if x[i] > 0.0 { f64::from(dy[i]) } else { 0.0 });
    if !ok {
        r.failures += 1;
        hprintln!("FAIL relu returned Err");
    }
    r.check("relu forward (exact)", &y, &want, |_| 0.0);
    r.check("relu backward (exact)", &dx, &want_dx, |_| 0.0);

    let ok = tanh(&x, &mut y).is_ok() && tanh_backward(&y, &dy, &mut dx).is_ok();
    if !ok {
        r.failures += 1;
        hprintln!("FAIL tanh returned Err");
    }
    let want: [f64; N_ACT] = core::array::from_fn(|i| libm::tanh(f64::from(x[i])));
    // Documented: within 4 ulp; an ulp of y is at most 2u·|y|.
    r.check("tanh forward", &y, &want, |i| 8.0 * U * want[i].abs());
    // dx = dy·(1 − y²) from the kernel's own y: three roundings.
    let want_dx: [f64; N_ACT] = core::array::from_fn(|i| {
        let yi = f64::from(y[i]);
        f64::from(dy[i]) * (1.0 - yi * yi)
    });
    r.check("tanh backward", &dx, &want_dx, |i| {
        let yi = f64::from(y[i]);
        4.0 * U * f64::from(dy[i]).abs() * (1.0 + yi * yi)
    });
    // The activation enum dispatches to the same kernel.
    let mut y2 = [0.0f32; N_ACT];
    let ok = Activation::Tanh
        .forward(
            Shape::Features(N_ACT),
            Mode::EVAL,
            Params::NONE,
            &x,
            &mut y2,
        )
        .is_ok();
    let want2: [f64; N_ACT] = core::array::from_fn(|i| f64::from(y[i]));
    if !ok {
        r.failures += 1;
    }
    r.check("Activation::Tanh = tanh (exact)", &y2, &want2, |_| 0.0);
}

const CB: usize = 4;
const C: usize = 10;

fn loss(r: &mut Report, g: &mut Gen) {
    let mut logits = [0.0f32; CB * C];
    g.fill(&mut logits);
    for v in logits.iter_mut() {
        *v *= 5.0;
    }
    let target = [3usize, 0, 9, 7];
    let mut grad = [0.0f32; CB * C];
    let Ok(l) = cross_entropy(&logits, &target, C, 0.0, Some(&mut grad), Reduction::Mean) else {
        r.failures += 1;
        hprintln!("FAIL cross_entropy returned Err");
        return;
    };
    // Reference: log-sum-exp in f64.
    let (mut want_l, mut mag_l) = (0.0f64, 0.0f64);
    let mut want_g = [0.0f64; CB * C];
    let mut mag_g = [0.0f64; CB * C];
    for b in 0..CB {
        let row = &logits[b * C..(b + 1) * C];
        let m = row
            .iter()
            .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let s: f64 = row.iter().map(|&v| libm::exp(f64::from(v) - m)).sum();
        let ln_s = libm::log(s);
        let z_y = f64::from(row[target[b]]) - m;
        want_l += (ln_s - z_y) / CB as f64;
        mag_l += (ln_s + z_y.abs()) / CB as f64;
        for c in 0..C {
            let p = libm::exp(f64::from(row[c]) - m) / s;
            let q = if c == target[b] { 1.0 } else { 0.0 };
            want_g[b * C + c] = (p - q) / CB as f64;
            mag_g[b * C + c] = (p + q) / CB as f64;
        }
    }
    // The loss: C exponentials (a few ulp each) summed, a logarithm, a subtraction, a mean:
    // 32·u of the magnitudes involved. The gradient: p within a few ulp, minus q, times 1/B.
    r.check("cross_entropy loss", &[l], &[want_l], |_| 32.0 * U * mag_l);
    r.check("cross_entropy grad", &grad, &want_g, |k| {
        16.0 * U * mag_g[k]
    });
}

const NP: usize = 21;

fn adam(r: &mut Report, g: &mut Gen) {
    let opt = Adam {
        lr: 1e-2,
        ..Adam::DEFAULT
    };
    let mut p = [0.0f32; NP];
    g.fill(&mut p);
    let mut state = [0.0f32; Adam::DEFAULT.state_len(NP)];
    let mut step = 0u64;
    let mut want: [f64; NP] = core::array::from_fn(|i| f64::from(p[i]));
    let (mut m, mut v) = ([0.0f64; NP], [0.0f64; NP]);
    let mut tol = [0.0f64; NP];
    let (b1, b2) = (f64::from(opt.betas.0), f64::from(opt.betas.1));
    let (lr, eps) = (f64::from(opt.lr), f64::from(opt.eps));
    for t in 1..=3 {
        let mut grads = [0.0f32; NP];
        g.fill(&mut grads);
        if opt.step(&mut step, &mut p, &grads, &mut state).is_err() {
            r.failures += 1;
            hprintln!("FAIL adam step returned Err");
            return;
        }
        // torch's `_single_tensor_adam`, in f64.
        let (bc1, bc2) = (1.0 - libm::pow(b1, t as f64), 1.0 - libm::pow(b2, t as f64));
        for i in 0..NP {
            let gi = f64::from(grads[i]);
            m[i] = b1 * m[i] + (1.0 - b1) * gi;
            v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
            let denom = libm::sqrt(v[i]) / libm::sqrt(bc2) + eps;
            let update = lr / bc1 * m[i] / denom;
            want[i] -= update;
            // Rounding p after the update (u·|p|), and the update's own error: about ten f32
            // roundings on m, v, √v, the bias corrections and the division, 16·u·|update|.
            tol[i] += U * want[i].abs() + 16.0 * U * update.abs();
        }
    }
    if step != 3 {
        r.failures += 1;
        hprintln!("FAIL adam step counter {} after 3 steps", step);
    }
    r.check("adam 3 steps: params", &p, &want, |i| tol[i]);
}

const NET_IN: usize = 5;
const NET_HID: usize = 7;
const NET_OUT: usize = 3;
const NB: usize = 2;
const LAYERS: [Layer; 3] = [
    Layer::dense(NET_IN, NET_HID),
    Layer::activation(Activation::Tanh),
    Layer::dense(NET_HID, NET_OUT),
];
const NET: Sequential = Sequential::new(NET_IN, &LAYERS);

fn network(r: &mut Report, g: &mut Gen) {
    let mut params = [0.0f32; NET.trainable_len()];
    g.fill(&mut params);
    let mut x = [0.0f32; NB * NET_IN];
    g.fill(&mut x);
    let mut y = [0.0f32; NB * NET_OUT];
    let mut scratch = [0.0f32; NET.scratch_len(NB)];
    if NET.forward(&params, &[], &x, &mut y, &mut scratch).is_err() {
        r.failures += 1;
        hprintln!("FAIL network forward returned Err");
        return;
    }
    let (w1, rest) = params.split_at(NET_HID * NET_IN);
    let (b1, rest) = rest.split_at(NET_HID);
    let (w2, b2) = rest.split_at(NET_OUT * NET_HID);
    let (mut want, mut tol) = ([0.0f64; NB * NET_OUT], [0.0f64; NB * NET_OUT]);
    for b in 0..NB {
        let mut h = [0.0f64; NET_HID];
        let mut h_err = [0.0f64; NET_HID];
        for j in 0..NET_HID {
            let (mut s, mut m) = (f64::from(b1[j]), f64::from(b1[j]).abs());
            for i in 0..NET_IN {
                let t = f64::from(x[b * NET_IN + i]) * f64::from(w1[j * NET_IN + i]);
                s += t;
                m += t.abs();
            }
            h[j] = libm::tanh(s);
            // dense error (NET_IN+2)·u·m, carried through tanh (|tanh'| ≤ 1), plus tanh's 4 ulp
            h_err[j] = (NET_IN + 2) as f64 * U * m + 8.0 * U * h[j].abs();
        }
        for o in 0..NET_OUT {
            let (mut s, mut m, mut e) = (f64::from(b2[o]), f64::from(b2[o]).abs(), 0.0);
            for j in 0..NET_HID {
                let wj = f64::from(w2[o * NET_HID + j]);
                s += wj * h[j];
                m += (wj * h[j]).abs();
                e += wj.abs() * h_err[j];
            }
            want[b * NET_OUT + o] = s;
            tol[b * NET_OUT + o] = (NET_HID + 2) as f64 * U * m + e;
        }
    }
    r.check("network forward (dense-tanh-dense)", &y, &want, |k| tol[k]);
}

fn schedules(r: &mut Report) {
    const STEPS: usize = 25;
    let cosine = CosineAnnealingLR {
        eta_min: 1e-4,
        ..CosineAnnealingLR::new(0.1, 10)
    };
    let step_lr = StepLR {
        gamma: 0.5,
        ..StepLR::new(0.1, 3)
    };
    let got_c: [f32; STEPS] = core::array::from_fn(|t| cosine.lr_at(t as u64));
    let got_s: [f32; STEPS] = core::array::from_fn(|t| step_lr.lr_at(t as u64));
    // Closed forms, torch's documented formulas, in f64.
    let want_c: [f64; STEPS] = core::array::from_fn(|t| {
        let cur = (t % 20) as f64; // period 2·T_max
        1e-4 + (0.1 - 1e-4) * (1.0 + libm::cos(core::f64::consts::PI * cur / 10.0)) / 2.0
    });
    let want_s: [f64; STEPS] = core::array::from_fn(|t| 0.1 * libm::pow(0.5, (t / 3) as f64));
    // lr_at rounds the f64 value to f32 once: half an ulp, plus the f64 computation's error.
    r.check("CosineAnnealingLR lr_at", &got_c, &want_c, |t| {
        U * want_c[t].abs() + 1e-12
    });
    r.check("StepLR lr_at", &got_s, &want_s, |t| {
        U * want_s[t].abs() + 1e-12
    });
}

#[entry]
fn main() -> ! {
    let mut r = Report {
        checks: 0,
        failures: 0,
    };
    let mut g = Gen(0x9E37_79B9);
    dense(&mut r, &mut g);
    activations(&mut r, &mut g);
    loss(&mut r, &mut g);
    adam(&mut r, &mut g);
    network(&mut r, &mut g);
    schedules(&mut r);
    hprintln!("{} checks, {} failed", r.checks, r.failures);
    debug::exit(if r.failures == 0 {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    hprintln!("HardFault at pc {:#010x}", frame.pc());
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
