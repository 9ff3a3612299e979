//! Links every family of the library's kernels into a bare-metal binary.
//!
//! `_start` runs a forward and backward pass through dense layers, activations and losses on
//! buffers in RAM; `black_box` keeps the optimiser from folding the calls away, so the linker
//! has to resolve everything they use without `std` or an allocator.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::panic::PanicInfo;

use descent::activation::{self, Activation};
use descent::dense::Dense;
use descent::loss::{self, Reduction};

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
    Ok(value + dw1[0] + db1[0] + dw2[0] + db2[0])
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
