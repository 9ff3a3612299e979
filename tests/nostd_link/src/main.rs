//! Links every family of the library's kernels into a bare-metal binary.
//!
//! `_start` initialises a model, runs a forward and backward pass through dense layers,
//! activations and losses, regularises, clips and prunes the gradients, and takes optimizer
//! steps with a scheduled learning rate, all on buffers in RAM; `black_box` keeps the compiler
//! from folding the calls away, so the linker has to resolve everything they use without
//! `std` or an allocator.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;

use descent::activation::{self, Activation};
use descent::dense::Dense;
use descent::init;
use descent::loss::{self, Reduction};
use descent::optim::{Adam, Optimizer, Sgd};
use descent::regularize::{self, Amount, NormType};
use descent::schedule::{CosineAnnealingLR, LinearLR, Schedule, SequentialLR};
use rand::rngs::Xoshiro256PlusPlus;
use rand::SeedableRng;

const B: usize = 4;
const IN: usize = 8;
const HID: usize = 6;
const C: usize = 3;

static mut X: [f32; B * IN] = [0.25; B * IN];
static mut W1: [f32; HID * IN] = [0.1; HID * IN];
static mut B1: [f32; HID] = [0.0; HID];
static mut W2: [f32; C * HID] = [-0.2; C * HID];
static mut B2: [f32; C] = [0.0; C];

fn step() -> Result<f32, descent::Error> {
    // SAFETY: a single-threaded entry point is the only code that touches these statics.
    let (x, w1, b1, w2, b2) = unsafe {
        (
            &*core::ptr::addr_of!(X),
            &*core::ptr::addr_of!(W1),
            &*core::ptr::addr_of!(B1),
            &*core::ptr::addr_of!(W2),
            &*core::ptr::addr_of!(B2),
        )
    };
    let l1 = Dense::new(B, IN, HID);
    let l2 = Dense::new(B, HID, C);
    let mut h = [0.0f32; B * HID];
    let mut logits = [0.0f32; B * C];
    l1.forward(black_box(x), black_box(w1), Some(black_box(b1)), &mut h)?;
    let act = black_box(Activation::Elu(Default::default()));
    act.forward_inplace(&mut h, HID)?;
    activation::gelu_inplace(&mut h);
    l2.forward(&h, black_box(w2), Some(black_box(b2)), &mut logits)?;

    let target = black_box([0usize, 1, 2, 1]);
    let mut dlogits = [0.0f32; B * C];
    let mut value = loss::cross_entropy(
        &logits,
        &target,
        C,
        0.1,
        Some(&mut dlogits),
        Reduction::Mean,
    )?;
    let mut probs = [0.0f32; B * C];
    activation::softmax(&logits, &mut probs, C)?;
    value += loss::mse(&probs, black_box(&[0.3; B * C]), None, Reduction::Sum)?;
    value += loss::binary_cross_entropy_with_logits(&logits, &probs, None, None, Reduction::Mean)?;

    let (mut dw1, mut db1, mut dw2, mut db2) = (
        [0.0f32; HID * IN],
        [0.0f32; HID],
        [0.0f32; C * HID],
        [0.0f32; C],
    );
    let mut dh = [0.0f32; B * HID];
    l2.backward(&h, w2, &dlogits, &mut dw2, Some(&mut db2), Some(&mut dh))?;
    activation::tanh_backward_inplace(&h, &mut dh)?;
    act.backward_inplace(&h, &mut dh, HID)?;
    l1.backward(x, w1, &dh, &mut dw1, Some(&mut db1), None)?;
    value += train(&mut dw1, &mut db1, &mut dw2, &mut db2)?;
    Ok(value + dw1[0] + db1[0] + dw2[0] + db2[0])
}

static WARMUP: LinearLR = LinearLR {
    start_factor: 0.1,
    ..LinearLR::new(1e-2)
};
static COSINE: CosineAnnealingLR = CosineAnnealingLR::new(1e-2, 100);
static SCHEDULE: SequentialLR = SequentialLR {
    schedulers: &[&WARMUP, &COSINE],
    milestones: &[5],
};

const ADAM: Adam = Adam::DEFAULT;
static mut PARAMS: [f32; HID * IN + HID] = [0.0; HID * IN + HID];
static mut ADAM_STATE: [f32; ADAM.state_len(HID * IN + HID)] =
    [0.0; ADAM.state_len(HID * IN + HID)];
static mut MOMENTUM: [f32; C * HID] = [0.0; C * HID];

/// Initialisation, penalties, clipping, pruning and optimizer steps on the gradients.
fn train(
    dw1: &mut [f32],
    db1: &mut [f32],
    dw2: &mut [f32],
    db2: &mut [f32],
) -> Result<f32, descent::Error> {
    // SAFETY: a single-threaded entry point is the only code that touches these statics.
    let (params, adam_state, momentum) = unsafe {
        (
            &mut *core::ptr::addr_of_mut!(PARAMS),
            &mut *core::ptr::addr_of_mut!(ADAM_STATE),
            &mut *core::ptr::addr_of_mut!(MOMENTUM),
        )
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(black_box(7));
    let (w, b) = params.split_at_mut(HID * IN);
    init::dense_default(w, Some(b), IN, HID, &mut rng)?;
    let mut w2 = [0.0f32; C * HID];
    init::kaiming_normal(&mut w2, &[C, HID], Default::default(), &mut rng)?;

    let mut value = regularize::l2(w, black_box(1e-4), true, Some(dw1))?;
    value += regularize::l1(&w2, black_box(1e-5), Some(dw2))?;
    value += regularize::clip_grad_norm(&mut [dw1, db1], black_box(1.0), NormType::L2)?;
    regularize::clip_grad_value(&mut [dw2, db2], black_box(0.5))?;

    let mut mask = [0.0f32; C * HID];
    let mut scratch = [0.0f32; regularize::prune_scratch_len(C * HID)];
    regularize::magnitude_mask(&w2, Amount::Fraction(0.5), &mut mask, &mut scratch)?;
    regularize::apply_mask(&mask, dw2)?;

    let mut grads = [0.0f32; HID * IN + HID];
    grads[..HID * IN].copy_from_slice(dw1);
    grads[HID * IN..].copy_from_slice(db1);
    let mut step = 0;
    for t in 0..black_box(3u64) {
        let adam = Adam {
            lr: SCHEDULE.lr_at(t),
            ..ADAM
        };
        adam.step(&mut step, params, &grads, adam_state)?;
        let sgd = Sgd {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            ..Sgd::DEFAULT
        };
        sgd.update(t + 1, &mut w2, dw2, momentum)?;
        regularize::apply_mask(&mask, &mut w2)?;
    }
    Ok(value + params[0] + w2[0])
}

/// The entry point the linker starts from.
#[no_mangle]
pub extern "C" fn _start() -> ! {
    let _ = black_box(step());
    loop {}
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    loop {}
}
