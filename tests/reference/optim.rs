//! Scalar reference optimizers, written element by element straight from torch's
//! single-tensor `_single_tensor_*` code (and, for Lion, from the paper's pseudo-code), in the
//! same state layout as `descent::optim`: whole planes of `n` floats, then scalars.
//!
//! Shared by the integration tests and the fuzz targets.
#![allow(dead_code)]

use descent::optim::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, Lion, NAdam, Optimizer, RAdam, RmsProp, Rprop, Sgd,
};

/// Any of the crate's optimizers, with its scalar reference.
#[derive(Clone, Copy, Debug)]
pub enum Opt {
    Sgd(Sgd),
    Adagrad(Adagrad),
    RmsProp(RmsProp),
    Adam(Adam),
    AdamW(AdamW),
    Adamax(Adamax),
    NAdam(NAdam),
    RAdam(RAdam),
    Adadelta(Adadelta),
    Lion(Lion),
    Rprop(Rprop),
}

impl Opt {
    /// The optimizer under test.
    pub fn optimizer(&self) -> &dyn Optimizer {
        match self {
            Opt::Sgd(o) => o,
            Opt::Adagrad(o) => o,
            Opt::RmsProp(o) => o,
            Opt::Adam(o) => o,
            Opt::AdamW(o) => o,
            Opt::Adamax(o) => o,
            Opt::NAdam(o) => o,
            Opt::RAdam(o) => o,
            Opt::Adadelta(o) => o,
            Opt::Lion(o) => o,
            Opt::Rprop(o) => o,
        }
    }

    /// The same optimizer with its learning rate set (a schedule's job).
    pub fn with_lr(self, lr: f32) -> Opt {
        match self {
            Opt::Sgd(o) => Opt::Sgd(Sgd { lr, ..o }),
            Opt::Adagrad(o) => Opt::Adagrad(Adagrad { lr, ..o }),
            Opt::RmsProp(o) => Opt::RmsProp(RmsProp { lr, ..o }),
            Opt::Adam(o) => Opt::Adam(Adam { lr, ..o }),
            Opt::AdamW(o) => Opt::AdamW(AdamW { lr, ..o }),
            Opt::Adamax(o) => Opt::Adamax(Adamax { lr, ..o }),
            Opt::NAdam(o) => Opt::NAdam(NAdam { lr, ..o }),
            Opt::RAdam(o) => Opt::RAdam(RAdam { lr, ..o }),
            Opt::Adadelta(o) => Opt::Adadelta(Adadelta { lr, ..o }),
            Opt::Lion(o) => Opt::Lion(Lion { lr, ..o }),
            Opt::Rprop(o) => Opt::Rprop(Rprop { lr, ..o }),
        }
    }

    /// Whether the optimizer ascends (`maximize`).
    pub fn maximize(&self) -> bool {
        match self {
            Opt::Sgd(o) => o.maximize,
            Opt::Adagrad(o) => o.maximize,
            Opt::RmsProp(o) => o.maximize,
            Opt::Adam(o) => o.maximize,
            Opt::AdamW(o) => o.maximize,
            Opt::Adamax(o) => o.maximize,
            Opt::NAdam(o) => o.maximize,
            Opt::RAdam(o) => o.maximize,
            Opt::Adadelta(o) => o.maximize,
            Opt::Lion(o) => o.maximize,
            Opt::Rprop(o) => o.maximize,
        }
    }

    /// The same optimizer with `maximize` set.
    pub fn with_maximize(self, maximize: bool) -> Opt {
        match self {
            Opt::Sgd(o) => Opt::Sgd(Sgd { maximize, ..o }),
            Opt::Adagrad(o) => Opt::Adagrad(Adagrad { maximize, ..o }),
            Opt::RmsProp(o) => Opt::RmsProp(RmsProp { maximize, ..o }),
            Opt::Adam(o) => Opt::Adam(Adam { maximize, ..o }),
            Opt::AdamW(o) => Opt::AdamW(AdamW { maximize, ..o }),
            Opt::Adamax(o) => Opt::Adamax(Adamax { maximize, ..o }),
            Opt::NAdam(o) => Opt::NAdam(NAdam { maximize, ..o }),
            Opt::RAdam(o) => Opt::RAdam(RAdam { maximize, ..o }),
            Opt::Adadelta(o) => Opt::Adadelta(Adadelta { maximize, ..o }),
            Opt::Lion(o) => Opt::Lion(Lion { maximize, ..o }),
            Opt::Rprop(o) => Opt::Rprop(Rprop { maximize, ..o }),
        }
    }

    /// One reference step `t` over `p`, `g` and the state, element by element.
    pub fn reference_step(&self, t: u64, p: &mut [f32], g: &[f32], state: &mut [f32]) {
        let n = p.len();
        match self {
            Opt::Sgd(o) => sgd(o, t, p, g, state),
            Opt::Adagrad(o) => adagrad(o, t, p, g, state),
            Opt::RmsProp(o) => rmsprop(o, t, p, g, state, n),
            Opt::Adam(o) => adam(o, t, p, g, state, n),
            Opt::AdamW(o) => adamw(o, t, p, g, state, n),
            Opt::Adamax(o) => adamax(o, t, p, g, state, n),
            Opt::NAdam(o) => nadam(o, t, p, g, state, n),
            Opt::RAdam(o) => radam(o, t, p, g, state, n),
            Opt::Adadelta(o) => adadelta(o, t, p, g, state, n),
            Opt::Lion(o) => lion(o, t, p, g, state),
            Opt::Rprop(o) => rprop(o, t, p, g, state, n),
        }
    }
}

fn grad_of(maximize: bool, weight_decay: f32, coupled: bool, g: f32, p: f32) -> f32 {
    let g = if maximize { -g } else { g };
    if coupled && weight_decay != 0.0 {
        g + weight_decay * p
    } else {
        g
    }
}

fn sgd(o: &Sgd, t: u64, p: &mut [f32], g: &[f32], buf: &mut [f32]) {
    for i in 0..p.len() {
        let mut d = grad_of(o.maximize, o.weight_decay, true, g[i], p[i]);
        if o.momentum != 0.0 {
            if t == 1 {
                buf[i] = d;
            } else {
                buf[i] = buf[i] * o.momentum + (1.0 - o.dampening as f64) as f32 * d;
            }
            d = if o.nesterov {
                d + o.momentum * buf[i]
            } else {
                buf[i]
            };
        }
        p[i] -= o.lr * d;
    }
}

fn adagrad(o: &Adagrad, t: u64, p: &mut [f32], g: &[f32], sum: &mut [f32]) {
    let clr = (o.lr as f64 / (1.0 + (t - 1) as f64 * o.lr_decay as f64)) as f32;
    for i in 0..p.len() {
        if t == 1 {
            sum[i] = o.initial_accumulator_value;
        }
        let d = grad_of(o.maximize, o.weight_decay, true, g[i], p[i]);
        sum[i] += d * d;
        p[i] -= clr * (d / (sum[i].sqrt() + o.eps));
    }
}

fn rmsprop(o: &RmsProp, t: u64, p: &mut [f32], g: &[f32], s: &mut [f32], n: usize) {
    if t == 1 {
        s.fill(0.0);
    }
    let with_momentum = o.momentum > 0.0;
    let (v, rest) = s.split_at_mut(n);
    let (buf, rest) = rest.split_at_mut(if with_momentum { n } else { 0 });
    let gavg = rest;
    let c = (1.0 - o.alpha as f64) as f32;
    for i in 0..n {
        let d = grad_of(o.maximize, o.weight_decay, true, g[i], p[i]);
        v[i] = v[i] * o.alpha + c * d * d;
        let avg = if o.centered {
            gavg[i] += c * (d - gavg[i]);
            // A variance that rounding took below zero counts as zero (NaN stays NaN).
            let var = v[i] - gavg[i] * gavg[i];
            (if var < 0.0 { 0.0 } else { var }).sqrt() + o.eps
        } else {
            v[i].sqrt() + o.eps
        };
        if with_momentum {
            buf[i] = buf[i] * o.momentum + d / avg;
            p[i] -= o.lr * buf[i];
        } else {
            p[i] -= o.lr * (d / avg);
        }
    }
}

fn adam(o: &Adam, t: u64, p: &mut [f32], g: &[f32], s: &mut [f32], n: usize) {
    if t == 1 {
        s.fill(0.0);
    }
    let (b1, b2) = (o.betas.0 as f64, o.betas.1 as f64);
    let bc1 = 1.0 - b1.powi(t as i32);
    let bc2 = 1.0 - b2.powi(t as i32);
    let step_size = (o.lr as f64 / bc1) as f32;
    let bc2_sqrt = bc2.sqrt() as f32;
    let (m, rest) = s.split_at_mut(n);
    let (v, vmax) = rest.split_at_mut(n);
    for i in 0..n {
        if o.decoupled_weight_decay {
            p[i] *= (1.0 - o.lr as f64 * o.weight_decay as f64) as f32;
        }
        let d = grad_of(
            o.maximize,
            o.weight_decay,
            !o.decoupled_weight_decay,
            g[i],
            p[i],
        );
        m[i] += (1.0 - b1) as f32 * (d - m[i]);
        v[i] = v[i] * o.betas.1 + (1.0 - b2) as f32 * d * d;
        let second = if o.amsgrad {
            vmax[i] = if vmax[i].is_nan() || v[i].is_nan() {
                f32::NAN
            } else {
                vmax[i].max(v[i])
            };
            vmax[i]
        } else {
            v[i]
        };
        let denom = second.sqrt() / bc2_sqrt + o.eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

/// AdamW as torch's `_single_tensor_adamw` (torch ≥ 2.6: `_single_tensor_adam` with
/// `decoupled_weight_decay=True`) writes it, independently of [`adam`] and of the crate's
/// `AdamW::as_adam`:
/// `g ← −g if maximize; θ ← θ·(1 − lr·λ); m ← lerp(m, g, 1 − β₁); v ← β₂·v + (1 − β₂)·g²;
///  v̂ ← max(v̂, v) if amsgrad; θ ← θ − (lr/(1 − β₁ᵗ))·m / (√v̂/√(1 − β₂ᵗ) + ε)`.
/// The scalars `1 − lr·λ`, `lr/(1 − β₁ᵗ)` and `√(1 − β₂ᵗ)` are Python floats, rounded to
/// `f32` once where they meet the tensors.
fn adamw(o: &AdamW, t: u64, p: &mut [f32], g: &[f32], s: &mut [f32], n: usize) {
    if t == 1 {
        s.fill(0.0);
    }
    let (lr, wd) = (o.lr as f64, o.weight_decay as f64);
    let (beta1, beta2) = (o.betas.0 as f64, o.betas.1 as f64);
    let decay = (1.0 - lr * wd) as f32;
    let step_size = (lr / (1.0 - beta1.powi(t as i32))) as f32;
    let bias_correction2_sqrt = (1.0 - beta2.powi(t as i32)).sqrt() as f32;
    let (exp_avg, rest) = s.split_at_mut(n);
    let (exp_avg_sq, max_exp_avg_sq) = rest.split_at_mut(n);
    for i in 0..n {
        let grad = if o.maximize { -g[i] } else { g[i] };
        p[i] *= decay;
        // `exp_avg.lerp_(grad, 1 − β₁)`: `m + w·(g − m)` for a weight below ½.
        exp_avg[i] += (1.0 - beta1) as f32 * (grad - exp_avg[i]);
        exp_avg_sq[i] = exp_avg_sq[i] * o.betas.1 + (1.0 - beta2) as f32 * grad * grad;
        let second = if o.amsgrad {
            // `torch.maximum` propagates NaN.
            let m = max_exp_avg_sq[i];
            let v = exp_avg_sq[i];
            max_exp_avg_sq[i] = if m.is_nan() || v.is_nan() {
                f32::NAN
            } else {
                m.max(v)
            };
            max_exp_avg_sq[i]
        } else {
            exp_avg_sq[i]
        };
        let denom = second.sqrt() / bias_correction2_sqrt + o.eps;
        p[i] += -step_size * (exp_avg[i] / denom);
    }
}

fn adamax(o: &Adamax, t: u64, p: &mut [f32], g: &[f32], s: &mut [f32], n: usize) {
    if t == 1 {
        s.fill(0.0);
    }
    let b1 = o.betas.0 as f64;
    let clr = (o.lr as f64 / (1.0 - b1.powi(t as i32))) as f32;
    let (m, u) = s.split_at_mut(n);
    for i in 0..n {
        let d = grad_of(o.maximize, o.weight_decay, true, g[i], p[i]);
        m[i] += (1.0 - b1) as f32 * (d - m[i]);
        let a = u[i] * o.betas.1;
        let b = d.abs() + o.eps;
        u[i] = if a.is_nan() || b.is_nan() {
            f32::NAN
        } else {
            a.max(b)
        };
        p[i] -= clr * (m[i] / u[i]);
    }
}

fn nadam(o: &NAdam, t: u64, p: &mut [f32], g: &[f32], s: &mut [f32], n: usize) {
    if t == 1 {
        s[..2 * n].fill(0.0);
        s[2 * n] = 1.0;
    }
    let (b1, b2) = (o.betas.0 as f64, o.betas.1 as f64);
    let mu = b1 * (1.0 - 0.5 * 0.96f64.powf(t as f64 * o.momentum_decay as f64));
    let mu_next = b1 * (1.0 - 0.5 * 0.96f64.powf((t + 1) as f64 * o.momentum_decay as f64));
    s[2 * n] *= mu as f32;
    let prod = s[2 * n] as f64;
    let prod_next = prod * mu_next;
    let bc2 = 1.0 - b2.powi(t as i32);
    let c_grad = (o.lr as f64 * (1.0 - mu) / (1.0 - prod)) as f32;
    let c_mom = (o.lr as f64 * mu_next / (1.0 - prod_next)) as f32;
    let (m, rest) = s.split_at_mut(n);
    let v = &mut rest[..n];
    for i in 0..n {
        if o.decoupled_weight_decay {
            p[i] *= (1.0 - o.lr as f64 * o.weight_decay as f64) as f32;
        }
        let d = grad_of(
            o.maximize,
            o.weight_decay,
            !o.decoupled_weight_decay,
            g[i],
            p[i],
        );
        m[i] += (1.0 - b1) as f32 * (d - m[i]);
        v[i] = v[i] * o.betas.1 + (1.0 - b2) as f32 * d * d;
        let denom = (v[i] / bc2 as f32).sqrt() + o.eps;
        p[i] -= c_grad * (d / denom);
        p[i] -= c_mom * (m[i] / denom);
    }
}

fn radam(o: &RAdam, t: u64, p: &mut [f32], g: &[f32], s: &mut [f32], n: usize) {
    if t == 1 {
        s.fill(0.0);
    }
    let (b1, b2) = (o.betas.0 as f64, o.betas.1 as f64);
    let bc1 = 1.0 - b1.powi(t as i32);
    let bc2 = 1.0 - b2.powi(t as i32);
    let rho_inf = 2.0 / (1.0 - b2) - 1.0;
    let rho_t = rho_inf - 2.0 * t as f64 * b2.powi(t as i32) / bc2;
    let (m, v) = s.split_at_mut(n);
    for i in 0..n {
        if o.decoupled_weight_decay {
            p[i] *= (1.0 - o.lr as f64 * o.weight_decay as f64) as f32;
        }
        let d = grad_of(
            o.maximize,
            o.weight_decay,
            !o.decoupled_weight_decay,
            g[i],
            p[i],
        );
        m[i] += (1.0 - b1) as f32 * (d - m[i]);
        v[i] = v[i] * o.betas.1 + (1.0 - b2) as f32 * d * d;
        let corrected = m[i] / bc1 as f32;
        if rho_t > 5.0 {
            let rect = ((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                .sqrt() as f32;
            let adaptive = bc2.sqrt() as f32 / (v[i].sqrt() + o.eps);
            p[i] -= corrected * o.lr * adaptive * rect;
        } else {
            p[i] -= corrected * o.lr;
        }
    }
}

fn adadelta(o: &Adadelta, t: u64, p: &mut [f32], g: &[f32], s: &mut [f32], n: usize) {
    if t == 1 {
        s.fill(0.0);
    }
    let c = (1.0 - o.rho as f64) as f32;
    let (v, acc) = s.split_at_mut(n);
    for i in 0..n {
        let d = grad_of(o.maximize, o.weight_decay, true, g[i], p[i]);
        v[i] = v[i] * o.rho + c * d * d;
        let std = (v[i] + o.eps).sqrt();
        let delta = (acc[i] + o.eps).sqrt() / std * d;
        acc[i] = acc[i] * o.rho + c * delta * delta;
        p[i] -= o.lr * delta;
    }
}

/// Lion as the paper's Program 1 writes it:
/// `update = interp(g, m, β₁); update = sign(update) + λ·θ; θ −= lr·update;
///  m = interp(g, m, β₂)`, with `interp(g, m, β) = β·m + (1−β)·g`.
fn lion(o: &Lion, t: u64, p: &mut [f32], g: &[f32], m: &mut [f32]) {
    if t == 1 {
        m.fill(0.0);
    }
    let sign = |x: f32| {
        if x > 0.0 {
            1.0
        } else if x < 0.0 {
            -1.0
        } else {
            x * 0.0
        }
    };
    let (b1, b2) = o.betas;
    for i in 0..p.len() {
        let gi = if o.maximize { -g[i] } else { g[i] };
        let update = b1 * m[i] + (1.0 - b1 as f64) as f32 * gi;
        let update = sign(update) + o.weight_decay * p[i];
        p[i] -= o.lr * update;
        m[i] = b2 * m[i] + (1.0 - b2 as f64) as f32 * gi;
    }
}

/// torch's `_single_tensor_rprop`, element by element.
fn rprop(o: &Rprop, t: u64, p: &mut [f32], g: &[f32], s: &mut [f32], n: usize) {
    let (prev, step_size) = s.split_at_mut(n);
    if t == 1 {
        prev.fill(0.0);
        step_size.fill(o.lr);
    }
    let (etaminus, etaplus) = o.etas;
    let (step_size_min, step_size_max) = o.step_sizes;
    for i in 0..n {
        let grad = if o.maximize { -g[i] } else { g[i] };
        // sign = grad.mul(prev).sign(); then etaplus, etaminus and 1 replace +1, −1 and 0.
        let product = grad * prev[i];
        let sign = if product > 0.0 {
            etaplus
        } else if product < 0.0 {
            etaminus
        } else if product == 0.0 {
            1.0
        } else {
            f32::NAN
        };
        // step_size.mul_(sign).clamp_(step_size_min, step_size_max): NaN stays NaN.
        let mut size = step_size[i] * sign;
        if size < step_size_min {
            size = step_size_min;
        }
        if size > step_size_max {
            size = step_size_max;
        }
        step_size[i] = size;
        // grad[sign.eq(etaminus)] = 0
        let grad = if sign == etaminus { 0.0 } else { grad };
        // param.addcmul_(grad.sign(), step_size, value=-1)
        let grad_sign = if grad > 0.0 {
            1.0
        } else if grad < 0.0 {
            -1.0
        } else {
            grad * 0.0
        };
        p[i] += -grad_sign * size;
        prev[i] = grad;
    }
}
