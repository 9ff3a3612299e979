//! The smallest firmware that trains: the MLP 64 → 32 → ReLU → 10 of the demo, from scratch
//! with Adam, then its held-out accuracy, and nothing else. It is the binary whose flash the
//! README reports as "the training code", and the proof that the training path cannot panic:
//!
//! * its panic handler calls a function that exists nowhere, so the firmware links only if no
//!   panic is reachable from `main` (the library's kernels, the network, the loss, Adam, the
//!   random generator and this loop), after the optimiser has removed the paths it can prove
//!   dead;
//! * it prints with `write_all` and its own integer-to-decimal, so `core::fmt` is not linked:
//!   `.ci/firmware.sh` checks the symbol table.
//!
//! Exits 0 when the accuracy reaches the demo's threshold (`MIN_ACCURACY_BP`).
//!
//! `cd examples/firmware && cargo run --release --bin train`
#![no_std]
#![no_main]

use cortex_m_rt::entry;
#[cfg(board = "mps2_an386")]
use descent_firmware::out::decimal;
use descent_firmware::out::{exit, say};

#[cfg(board = "mps2_an386")]
#[entry]
fn main() -> ! {
    let ok = match train::run() {
        Ok(right) => {
            let bp = descent_firmware::basis_points(right, descent_firmware::data::TEST.len());
            let (stack, _) = descent_firmware::stack::high_water();
            say(&[
                b"train: held-out accuracy ",
                &decimal(bp),
                b" bp (basis points)\n",
            ]);
            say(&[
                b"train: stack high-water mark ",
                &decimal(stack),
                b" bytes\n",
            ]);
            bp >= descent_firmware::MIN_ACCURACY_BP
        }
        Err(_) => {
            say(&[b"train: the library returned an error\n"]);
            false
        }
    };
    exit(ok)
}

/// The training needs ~40 KiB of RAM; the M0 board has 16 KiB. Cargo builds every binary when
/// it builds the integration tests, so this one exists for the M0 too, and says so.
#[cfg(not(board = "mps2_an386"))]
#[entry]
fn main() -> ! {
    say(&[b"train needs the mps2-an386 board (4 MiB RAM)\n"]);
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
    use descent_firmware::mlp::{self, Trainer, ADAM, BATCH, CLASSES, NET, PIXELS};
    use descent_firmware::{data, EPOCHS, SEED};
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::SeedableRng;

    const N: usize = NET.trainable_len();
    const TRAIN_LEN: usize = data::TRAIN_LABELS.len();

    static mut PARAMS: [f32; N] = [0.0; N];
    static mut GRADS: [f32; N] = [0.0; N];
    static mut ADAM_STATE: [f32; ADAM.state_len(N)] = [0.0; ADAM.state_len(N)];
    static mut ACTS: [f32; NET.activation_len(BATCH)] = [0.0; NET.activation_len(BATCH)];
    static mut SCRATCH: [f32; NET.scratch_len(BATCH)] = [0.0; NET.scratch_len(BATCH)];
    static mut X: [f32; BATCH * PIXELS] = [0.0; BATCH * PIXELS];
    static mut DY: [f32; BATCH * CLASSES] = [0.0; BATCH * CLASSES];
    static mut LOGITS: [f32; BATCH * CLASSES] = [0.0; BATCH * CLASSES];
    static mut TARGET: [usize; BATCH] = [0; BATCH];
    static mut ORDER: [u16; TRAIN_LEN] = [0; TRAIN_LEN];

    /// Trains from scratch as the demo does; the number of held-out digits classified right.
    pub fn run() -> descent::Result<usize> {
        // SAFETY: `run` is called once, from `main`, with interrupts never enabled: these are
        // the only references to the statics for the rest of the program.
        let (params, grads, state, acts, scratch, x, dy, logits, target, order) = unsafe {
            (
                &mut *addr_of_mut!(PARAMS),
                &mut *addr_of_mut!(GRADS),
                &mut *addr_of_mut!(ADAM_STATE),
                &mut *addr_of_mut!(ACTS),
                &mut *addr_of_mut!(SCRATCH),
                &mut *addr_of_mut!(X),
                &mut *addr_of_mut!(DY),
                &mut *addr_of_mut!(LOGITS),
                &mut *addr_of_mut!(TARGET),
                &mut *addr_of_mut!(ORDER),
            )
        };
        for (i, o) in order.iter_mut().enumerate() {
            *o = i as u16;
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED);
        NET.init(&mut [], params, &mut [], &mut rng)?;
        let mut tr = Trainer {
            net: NET,
            frozen: &[],
            params: &mut *params,
            grads,
            state,
            acts,
            scratch: &mut *scratch,
            x: &mut *x,
            dy,
            target,
            order,
            adam: ADAM,
            step: 0,
        };
        for _ in 0..EPOCHS {
            tr.epoch(&data::TRAIN, &mut rng)?;
        }
        mlp::correct(&NET, (&*params).into(), &data::TEST, x, logits, scratch)
    }
}
