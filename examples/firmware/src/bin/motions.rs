//! Trains a one-dimensional convolutional network on BasicMotions (6 channels × 100 steps of a
//! smart watch's accelerometer and gyroscope, 4 activities) from scratch on the Cortex-M4F,
//! then reports its accuracy on the archive's test split, the stack's high-water mark and the
//! RAM of each training buffer. The network, the loop and the data are `src/motions.rs`; the
//! 40 + 40 standardised series are `f32` statics in flash, and a batch of one is read from
//! flash directly.
//!
//! As the `train` binary: its panic handler calls a function that exists nowhere (the firmware
//! links only if no panic is reachable from the training path, convolutions and pooling
//! included), and it prints without `core::fmt`.
//!
//! Exits 0 when the test accuracy reaches `MIN_ACCURACY_BP` (90 %) and the statics and the
//! stack's high-water mark together fit `RAM_GOAL_BYTES` (64 KiB).
//!
//! `cd examples/firmware && cargo run --release --bin motions`
#![no_std]
#![no_main]

use cortex_m_rt::entry;
#[cfg(board = "mps2_an386")]
use descent_firmware::out::decimal;
use descent_firmware::out::{exit, say};

#[cfg(board = "mps2_an386")]
#[entry]
fn main() -> ! {
    use descent_firmware::motions::{self, data, ACTS_LEN, N, SCRATCH_LEN, STATE_LEN};
    const F32: usize = core::mem::size_of::<f32>();
    let ok = match train::run() {
        Ok(right) => {
            let bp = descent_firmware::basis_points(right, data::TEST.len());
            let (stack, _) = descent_firmware::stack::high_water();
            let statics = train::static_ram();
            say(&[
                b"motions: test accuracy ",
                &decimal(right),
                b"/",
                &decimal(data::TEST.len()),
                b" = ",
                &decimal(bp),
                b" bp (basis points; threshold ",
                &decimal(motions::MIN_ACCURACY_BP),
                b")\n",
            ]);
            say(&[
                b"motions: ",
                &decimal(N),
                b" parameters, ",
                &decimal(motions::EPOCHS),
                b" epochs of ",
                &decimal(data::TRAIN.len()),
                b" series, batch ",
                &decimal(motions::BATCH),
                b"\n",
            ]);
            say(&[
                b"motions: RAM (bytes): params ",
                &decimal(N * F32),
                b", grads ",
                &decimal(N * F32),
                b", Adam state ",
                &decimal(STATE_LEN * F32),
                b", activations ",
                &decimal(ACTS_LEN * F32),
                b", scratch ",
                &decimal(SCRATCH_LEN * F32),
                b", order ",
                &decimal(data::TRAIN.len() * core::mem::size_of::<u16>()),
                b"\n",
            ]);
            say(&[
                b"motions: static RAM ",
                &decimal(statics),
                b" B + stack high-water mark ",
                &decimal(stack),
                b" B = ",
                &decimal(statics + stack),
                b" B (goal ",
                &decimal(motions::RAM_GOAL_BYTES),
                b")\n",
            ]);
            bp >= motions::MIN_ACCURACY_BP && statics + stack <= motions::RAM_GOAL_BYTES
        }
        Err(_) => {
            say(&[b"motions: the library returned an error\n"]);
            false
        }
    };
    exit(ok)
}

/// Cargo builds every binary when it builds the integration tests, so this one exists for the
/// M0 too, and says so.
#[cfg(not(board = "mps2_an386"))]
#[entry]
fn main() -> ! {
    say(&[b"motions needs the mps2-an386 board\n"]);
    exit(false)
}

/// Any panic: a call to a function that no object defines, so a reachable panic fails the link
/// (`undefined symbol: descent_training_path_panics`) instead of costing flash.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    extern "Rust" {
        fn descent_training_path_panics() -> !;
    }
    // SAFETY: never executed: the firmware links only when this call is unreachable.
    unsafe { descent_training_path_panics() }
}

#[cfg(board = "mps2_an386")]
mod train {
    use core::ptr::addr_of_mut;
    use descent_firmware::motions::{
        self, data, Trainer, ACTS_LEN, EPOCHS, N, NET, SCRATCH_LEN, SEED, STATE_LEN,
    };
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::SeedableRng;

    const TRAIN_LEN: usize = data::TRAIN_LABELS.len();

    static mut PARAMS: [f32; N] = [0.0; N];
    static mut GRADS: [f32; N] = [0.0; N];
    static mut ADAM_STATE: [f32; STATE_LEN] = [0.0; STATE_LEN];
    static mut ACTS: [f32; ACTS_LEN] = [0.0; ACTS_LEN];
    static mut SCRATCH: [f32; SCRATCH_LEN] = [0.0; SCRATCH_LEN];
    static mut ORDER: [u16; TRAIN_LEN] = [0; TRAIN_LEN];

    /// Trains from scratch; the number of test series classified right.
    pub fn run() -> descent::Result<usize> {
        // SAFETY: `run` is called once, from `main`, with interrupts never enabled: these are
        // the only references to the statics for the rest of the program.
        let (params, grads, state, acts, scratch, order) = unsafe {
            (
                &mut *addr_of_mut!(PARAMS),
                &mut *addr_of_mut!(GRADS),
                &mut *addr_of_mut!(ADAM_STATE),
                &mut *addr_of_mut!(ACTS),
                &mut *addr_of_mut!(SCRATCH),
                &mut *addr_of_mut!(ORDER),
            )
        };
        motions::identity(order)?;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED);
        NET.init(&mut [], &mut params[..], &mut [], &mut rng)?;
        let mut tr = Trainer {
            params: &mut *params,
            grads,
            state,
            acts,
            scratch: &mut *scratch,
            order,
            step: 0,
        };
        for _ in 0..EPOCHS {
            tr.epoch(&data::TRAIN, &mut rng)?;
        }
        motions::correct(&params[..], &data::TEST, scratch)
    }

    /// Bytes of RAM the statics take (`.data`, `.bss`, `.uninit`): from the start of RAM to
    /// where `cortex-m-rt` starts the stack's painted region.
    pub fn static_ram() -> usize {
        extern "C" {
            static _ram_start: u32;
            static _stack_end: u32;
        }
        let start = core::ptr::addr_of!(_ram_start) as usize;
        let end = core::ptr::addr_of!(_stack_end) as usize;
        end.saturating_sub(start)
    }
}
