//! Instructions retired by the dense kernels and by one training step on the Cortex-M4F,
//! beside a plain scalar loop of the same computation.
//!
//! QEMU does not model the M4F's pipeline, so cycles are not measurable; with `-icount shift=0`
//! it advances its virtual clock by exactly 1 ns per instruction, and SysTick (clocked at the
//! board's 25 MHz) then counts one tick per 40 instructions. The program first calibrates
//! that ratio on a loop of known length, then reports instructions (±40) per call:
//!
//! ```text
//! cargo build --release --bin cycles
//! qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
//!     -semihosting-config enable=on,target=native -icount shift=0 \
//!     -kernel target/thumbv7em-none-eabihf/release/cycles
//! ```
#![no_std]
#![no_main]

use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hprintln};
use panic_semihosting as _;

#[cfg(board = "mps2_an386")]
#[entry]
fn main() -> ! {
    measure::main()
}

#[cfg(not(board = "mps2_an386"))]
/// The measurement needs ~45 KiB of buffers; the M0 board has 16 KiB of RAM. Cargo builds
/// every binary with the integration tests, so this one exists for the M0 too, and says so.
#[entry]
fn main() -> ! {
    hprintln!("the cycles measurement needs the mps2-an386 board");
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[cfg(board = "mps2_an386")]
mod measure {
    use core::hint::black_box;
    use cortex_m::peripheral::syst::SystClkSource;
    use cortex_m::peripheral::SYST;
    use cortex_m_semihosting::{debug, hprintln};
    use descent::dense::Dense;
    use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
    use descent::loss::{self, Reduction};
    use descent::optim::Optimizer;
    use descent_firmware::mlp::{ADAM, BATCH, CLASSES, HIDDEN, NET, PIXELS};
    use rand::rngs::Xoshiro256PlusPlus;
    use rand::SeedableRng;

    /// SysTick's current value (it counts down from its reload value).
    fn now() -> u32 {
        SYST::get_current()
    }

    /// Ticks between two readings (the counter is 24 bits and counts down).
    fn ticks(start: u32, end: u32) -> u32 {
        start.wrapping_sub(end) & 0x00FF_FFFF
    }

    /// Instructions in a loop of `n` iterations of `subs` + `bne` (2 instructions each).
    fn spin(n: u32) {
        // SAFETY: a register-only countdown loop; it reads and writes no memory.
        unsafe {
            core::arch::asm!(
                "1:",
                "subs {n}, {n}, #1",
                "bne 1b",
                n = inout(reg) n => _,
                options(nomem, nostack),
            );
        }
    }

    /// The textbook dense forward: `y[b][o] = Σ_i x[b][i]·w[o][i] + bias[o]`.
    fn scalar_dense(x: &[f32], w: &[f32], bias: &[f32], y: &mut [f32], inp: usize, out: usize) {
        for (xb, yb) in x.chunks_exact(inp).zip(y.chunks_exact_mut(out)) {
            for ((wo, bo), yo) in w.chunks_exact(inp).zip(bias).zip(yb.iter_mut()) {
                let mut s = *bo;
                for (a, b) in xb.iter().zip(wo) {
                    s += a * b;
                }
                *yo = s;
            }
        }
    }

    static mut X: [f32; BATCH * PIXELS] = [0.0; BATCH * PIXELS];
    static mut W: [f32; HIDDEN * PIXELS] = [0.0; HIDDEN * PIXELS];
    static mut B: [f32; HIDDEN] = [0.0; HIDDEN];
    static mut Y: [f32; BATCH * HIDDEN] = [0.0; BATCH * HIDDEN];
    static mut DW: [f32; HIDDEN * PIXELS] = [0.0; HIDDEN * PIXELS];
    static mut DB: [f32; HIDDEN] = [0.0; HIDDEN];
    static mut PARAMS: [f32; NET.trainable_len()] = [0.0; NET.trainable_len()];
    static mut GRADS: [f32; NET.trainable_len()] = [0.0; NET.trainable_len()];
    static mut STATE: [f32; ADAM.state_len(NET.trainable_len())] =
        [0.0; ADAM.state_len(NET.trainable_len())];
    static mut ACTS: [f32; NET.activation_len(BATCH)] = [0.0; NET.activation_len(BATCH)];
    static mut SCRATCH: [f32; NET.scratch_len(BATCH)] = [0.0; NET.scratch_len(BATCH)];
    static mut DY: [f32; BATCH * CLASSES] = [0.0; BATCH * CLASSES];

    fn run(per_tick: u32) -> Result<(), descent::Error> {
        // SAFETY: single-threaded firmware; no interrupt handler touches these statics.
        let (x, w, b, y, dw, db) = unsafe {
            (
                &mut *core::ptr::addr_of_mut!(X),
                &mut *core::ptr::addr_of_mut!(W),
                &mut *core::ptr::addr_of_mut!(B),
                &mut *core::ptr::addr_of_mut!(Y),
                &mut *core::ptr::addr_of_mut!(DW),
                &mut *core::ptr::addr_of_mut!(DB),
            )
        };
        for (i, v) in x.iter_mut().enumerate() {
            *v = (i % 17) as f32 / 16.0;
        }
        for (i, v) in w.iter_mut().enumerate() {
            *v = ((i * 7) % 13) as f32 / 64.0 - 0.1;
        }
        let instructions = |t: u32| t * per_tick;
        let flops = 2 * BATCH * PIXELS * HIDDEN;
        let dense = Dense::new(PIXELS, HIDDEN);
        let input = Shape::Features(PIXELS);

        let t0 = now();
        let params = Params::new(black_box(w), black_box(b));
        dense.forward(input, Mode::EVAL, params, black_box(x), y)?;
        let ours = ticks(t0, now());
        let t0 = now();
        scalar_dense(black_box(x), black_box(w), black_box(b), y, PIXELS, HIDDEN);
        let plain = ticks(t0, now());
        hprintln!(
            "dense forward {}x{}->{} ({} flops): descent {} instructions, scalar loop {}",
            BATCH,
            PIXELS,
            HIDDEN,
            flops,
            instructions(ours),
            instructions(plain)
        );
        let t0 = now();
        let params = Params::new(black_box(w), black_box(b));
        let tape = Tape::train(black_box(x), &[], &[]);
        dense.backward(input, params, tape, black_box(y), None, Grads::new(dw, db))?;
        let back = ticks(t0, now());
        hprintln!(
            "dense backward (dW, db): descent {} instructions",
            instructions(back)
        );

        // SAFETY: as above.
        let (params, grads, state, acts, scratch, dy) = unsafe {
            (
                &mut *core::ptr::addr_of_mut!(PARAMS),
                &mut *core::ptr::addr_of_mut!(GRADS),
                &mut *core::ptr::addr_of_mut!(STATE),
                &mut *core::ptr::addr_of_mut!(ACTS),
                &mut *core::ptr::addr_of_mut!(SCRATCH),
                &mut *core::ptr::addr_of_mut!(DY),
            )
        };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        NET.init(&mut [], params, &mut [], &mut rng)?;
        let labels = [0usize, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5];
        let mut step = 0u64;
        let mut best = u32::MAX;
        for _ in 0..3 {
            let t0 = now();
            NET.zero_grad(grads)?;
            let out = NET.forward_train(&params[..], &mut [], x, acts, &mut rng)?;
            loss::cross_entropy(out, &labels, CLASSES, 0.0, Some(dy), Reduction::Mean)?;
            NET.backward(&params[..], x, acts, dy, grads, scratch)?;
            ADAM.step(&mut step, params, grads, state)?;
            best = best.min(ticks(t0, now()));
        }
        hprintln!(
            "training step (batch {}, 64-32-10, forward + cross-entropy + backward + Adam over {} parameters): {} instructions",
            BATCH,
            NET.trainable_len(),
            instructions(best)
        );
        Ok(())
    }

    /// Calibrates SysTick against instructions, then measures.
    pub fn main() -> ! {
        let Some(mut p) = cortex_m::Peripherals::take() else {
            debug::exit(debug::EXIT_FAILURE);
            loop {
                cortex_m::asm::wfi();
            }
        };
        p.SYST.set_clock_source(SystClkSource::Core);
        p.SYST.set_reload(0x00FF_FFFF);
        p.SYST.clear_current();
        p.SYST.enable_counter();

        // Calibration: instructions per tick from two loops, so the call overhead cancels.
        let measure_spin = |n: u32| {
            let t0 = now();
            spin(black_box(n));
            ticks(t0, now())
        };
        let (short, long) = (measure_spin(10_000), measure_spin(110_000));
        let per_tick = 200_000 / (long - short).max(1);
        hprintln!(
            "calibration: 200000 instructions = {} ticks, {} instructions per tick",
            long - short,
            per_tick
        );
        let ok = run(per_tick);
        debug::exit(if ok.is_ok() {
            debug::EXIT_SUCCESS
        } else {
            debug::EXIT_FAILURE
        });
        loop {
            cortex_m::asm::wfi();
        }
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
