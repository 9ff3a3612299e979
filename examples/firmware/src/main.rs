//! Trains a digit classifier on a Cortex-M4F (QEMU `mps2-an386`) and reports through
//! semihosting:
//!
//! 1. an MLP 64 → 32 → ReLU → 10 from scratch, Adam (lr 1e-2), mini-batches of 16, on 1438
//!    digits in flash, then its accuracy on the 359 held-out digits;
//! 2. fine-tuning: the same shape with the first layer frozen, its weights `&'static` in flash
//!    (pre-trained on digits 0-4 by the build script), only the head training in RAM; the
//!    accuracy before and after.
//!
//! Every buffer is a `static` sized by the library's `const fn`s. Nothing is formatted while
//! training: the losses are kept and printed afterwards. The exit status is 0 only when both
//! accuracies reach their thresholds (see the crate's `lib.rs`).
//!
//! `cd examples/firmware && cargo run --release`
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;

#[cfg(board = "mps2_an386")]
#[entry]
fn main() -> ! {
    let ok = demo::run();
    let (used, total) = descent_firmware::stack::high_water();
    hprintln!(
        "stack: {} of {} bytes used (high-water mark of the painted stack)",
        used,
        total
    );
    debug::exit(if ok {
        debug::EXIT_SUCCESS
    } else {
        debug::EXIT_FAILURE
    });
    loop {
        cortex_m::asm::wfi();
    }
}

/// The demo trains with ~40 KiB of buffers; the M0 board has 16 KiB of RAM. Cargo builds every
/// binary when it builds the integration tests, so this one exists for the M0 too, and says so.
#[cfg(not(board = "mps2_an386"))]
#[entry]
fn main() -> ! {
    hprintln!(
        "the digits demo needs the mps2-an386 board (4 MiB RAM); run the on_target tests here"
    );
    debug::exit(debug::EXIT_FAILURE);
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

#[cfg(board = "mps2_an386")]
mod demo {
    use core::ptr::addr_of_mut;
    use cortex_m_semihosting::hprintln;
    use descent::network::Params;
    use descent_firmware::mlp::{self, Trainer, ADAM, BATCH, CLASSES, FT_NET, NET, PIXELS};
    use descent_firmware::{
        basis_points, data, EPOCHS, FT_EPOCHS, MIN_ACCURACY_BP, MIN_FT_ACCURACY_BP, SEED,
    };
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::SeedableRng;

    const N: usize = NET.trainable_len();
    const TRAIN_LEN: usize = data::TRAIN_LABELS.len();

    /// The demo's working memory, every buffer of both phases, zeroed at reset (`.bss`). The
    /// fine-tuning phase reuses prefixes of these: its model has the same activations and
    /// fewer trainable parameters.
    struct Memory {
        params: [f32; N],
        grads: [f32; N],
        state: [f32; ADAM.state_len(N)],
        acts: [f32; NET.activation_len(BATCH)],
        scratch: [f32; NET.scratch_len(BATCH)],
        x: [f32; BATCH * PIXELS],
        dy: [f32; BATCH * CLASSES],
        logits: [f32; BATCH * CLASSES],
        target: [usize; BATCH],
        order: [u16; TRAIN_LEN],
        head: [f32; FT_NET.trainable_len()],
    }

    // SAFETY: all-zero bits are a valid value of every field (arrays of floats and integers).
    static mut MEMORY: Memory = unsafe { core::mem::zeroed() };

    const F32: usize = core::mem::size_of::<f32>();

    /// The whole demo; `true` when both accuracies reach their thresholds.
    pub fn run() -> bool {
        // SAFETY: `run` is called once, from `main`, with interrupts never enabled: this is the
        // only reference to the static for the rest of the program.
        let Memory {
            params,
            grads,
            state,
            acts,
            scratch,
            x,
            dy,
            logits,
            target,
            order,
            head,
        } = unsafe { &mut *addr_of_mut!(MEMORY) };
        let (train, test) = (data::TRAIN, data::TEST);
        hprintln!(
            "digits: MLP 64-32-10 (ReLU), Adam lr {} x 1e-3, batch {}, {} epochs; {} training, {} held-out samples",
            (ADAM.lr * 1000.0) as u32,
            BATCH,
            EPOCHS,
            train.len(),
            test.len()
        );
        hprintln!(
            "RAM (bytes, from the const fns): params {}, grads {}, Adam state {}, activations {}, scratch {}, batch x {} + dy {} + logits {}, order {}",
            N * F32,
            N * F32,
            ADAM.state_len(N) * F32,
            NET.activation_len(BATCH) * F32,
            NET.scratch_len(BATCH) * F32,
            BATCH * PIXELS * F32,
            BATCH * CLASSES * F32,
            BATCH * CLASSES * F32,
            TRAIN_LEN * 2
        );

        // 1. From scratch.
        for (i, o) in order.iter_mut().enumerate() {
            *o = i as u16;
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED);
        let mut losses = [0.0f32; EPOCHS];
        let trained = NET.init(&mut [], params, &mut [], &mut rng).and_then(|()| {
            let mut tr = Trainer {
                net: NET,
                frozen: &[],
                params: &mut *params,
                grads: &mut *grads,
                state: &mut *state,
                acts: &mut *acts,
                scratch: &mut *scratch,
                x: &mut *x,
                dy: &mut *dy,
                target: &mut *target,
                order: &mut *order,
                adam: ADAM,
                step: 0,
            };
            for loss in losses.iter_mut() {
                *loss = tr.epoch(&train, &mut rng)?;
            }
            mlp::correct(&NET, (&*params).into(), &test, x, logits, scratch)
        });
        let right = match trained {
            Ok(right) => right,
            Err(e) => {
                hprintln!("training failed: {}", e);
                return false;
            }
        };
        for (epoch, loss) in losses.iter().enumerate() {
            hprintln!("epoch {}: mean loss {}e-4", epoch + 1, (loss * 1e4) as u32);
        }
        let bp = basis_points(right, test.len());
        hprintln!(
            "from scratch: held-out accuracy {}/{} = {}.{:02} % (threshold {}.{:02} %)",
            right,
            test.len(),
            bp / 100,
            bp % 100,
            MIN_ACCURACY_BP / 100,
            MIN_ACCURACY_BP % 100
        );

        // 2. Fine-tuning the head over frozen features in flash.
        let frozen: &'static [f32] = &data::PRETRAINED_FEATURES;
        let m = FT_NET.trainable_len();
        head.copy_from_slice(&data::PRETRAINED_HEAD);
        hprintln!(
            "fine-tuning: frozen layer {} bytes in flash at {:#010x}, head {} bytes in RAM; grads {}, Adam state {}",
            frozen.len() * F32,
            frozen.as_ptr() as usize,
            m * F32,
            m * F32,
            ADAM.state_len(m) * F32
        );
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED + 1);
        let tuned = mlp::correct(
            &FT_NET,
            Params {
                frozen,
                trainable: head,
            },
            &test,
            x,
            logits,
            scratch,
        )
        .and_then(|before| {
            let mut tr = Trainer {
                net: FT_NET,
                frozen,
                params: &mut *head,
                grads: &mut grads[..m],
                state: &mut state[..ADAM.state_len(m)],
                acts: &mut *acts,
                scratch: &mut *scratch,
                x: &mut *x,
                dy: &mut *dy,
                target: &mut *target,
                order: &mut *order,
                adam: ADAM,
                step: 0,
            };
            for _ in 0..FT_EPOCHS {
                tr.epoch(&train, &mut rng)?;
            }
            let params = Params {
                frozen,
                trainable: head,
            };
            let after = mlp::correct(&FT_NET, params, &test, x, logits, scratch)?;
            Ok((before, after))
        });
        let (before, after) = match tuned {
            Ok(pair) => pair,
            Err(e) => {
                hprintln!("fine-tuning failed: {}", e);
                return false;
            }
        };
        let (bp0, bp1) = (
            basis_points(before, test.len()),
            basis_points(after, test.len()),
        );
        hprintln!(
            "fine-tuning: held-out accuracy {}.{:02} % before (head pre-trained on digits 0-4), {}.{:02} % after {} epochs (threshold {}.{:02} %)",
            bp0 / 100,
            bp0 % 100,
            bp1 / 100,
            bp1 % 100,
            FT_EPOCHS,
            MIN_FT_ACCURACY_BP / 100,
            MIN_FT_ACCURACY_BP % 100
        );
        let ok = bp >= MIN_ACCURACY_BP && bp1 >= MIN_FT_ACCURACY_BP && after > before;
        hprintln!("{}", if ok { "PASS" } else { "FAIL" });
        ok
    }
}
