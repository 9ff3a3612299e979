//! Instructions retired by the dense kernels and by one training step on the Cortex-M4F,
//! beside a plain scalar loop of the same computation; then by the conv1d kernels at the
//! `motions` firmware's shapes (instructions per multiply-add) and by its training step.
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
    use descent::conv::Conv1d;
    use descent::dense::Dense;
    use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
    use descent::loss::{self, Reduction};
    use descent::optim::Optimizer;
    use descent_firmware::mlp::{ADAM, BATCH, CLASSES, HIDDEN, NET, PIXELS};
    use descent_firmware::motions;
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

    /// The convolutions at the `motions` firmware's shapes (one sample): the largest operands.
    static mut CX: [f32; 600] = [0.0; 600];
    static mut CW: [f32; 640] = [0.0; 640];
    static mut CB: [f32; 16] = [0.0; 16];
    static mut CY: [f32; 800] = [0.0; 800];
    static mut CDW: [f32; 640] = [0.0; 640];
    static mut CDB: [f32; 16] = [0.0; 16];
    static mut CDX: [f32; 600] = [0.0; 600];
    static mut M_PARAMS: [f32; motions::N] = [0.0; motions::N];
    static mut M_GRADS: [f32; motions::N] = [0.0; motions::N];
    static mut M_STATE: [f32; motions::STATE_LEN] = [0.0; motions::STATE_LEN];
    static mut M_ACTS: [f32; motions::ACTS_LEN] = [0.0; motions::ACTS_LEN];
    static mut M_SCRATCH: [f32; motions::SCRATCH_LEN] = [0.0; motions::SCRATCH_LEN];

    /// Instructions of `conv`'s forward pass, its backward pass without and with the input
    /// gradient, over one sample of `channels × length`, and the multiply-adds of one pass.
    fn conv_case(
        per_tick: u32,
        conv: Conv1d,
        channels: usize,
        length: usize,
    ) -> Result<(), descent::Error> {
        // SAFETY: single-threaded firmware; no interrupt handler touches these statics.
        let (x, w, b, y, dw, db, dx) = unsafe {
            (
                &mut *core::ptr::addr_of_mut!(CX),
                &mut *core::ptr::addr_of_mut!(CW),
                &mut *core::ptr::addr_of_mut!(CB),
                &mut *core::ptr::addr_of_mut!(CY),
                &mut *core::ptr::addr_of_mut!(CDW),
                &mut *core::ptr::addr_of_mut!(CDB),
                &mut *core::ptr::addr_of_mut!(CDX),
            )
        };
        let input = Shape::Sequence { channels, length };
        let out = conv.output_shape(input)?;
        let (x, w, b, y) = (
            &mut x[..input.len()],
            &mut w[..conv.weight_len()],
            &mut b[..conv.bias_len()],
            &mut y[..out.len()],
        );
        let (dw, db, dx) = (
            &mut dw[..conv.weight_len()],
            &mut db[..conv.bias_len()],
            &mut dx[..input.len()],
        );
        for (i, v) in x.iter_mut().enumerate() {
            *v = (i % 17) as f32 / 16.0 - 0.5;
        }
        for (i, v) in w.iter_mut().enumerate() {
            *v = ((i * 7) % 13) as f32 / 64.0 - 0.1;
        }
        let macs = conv.weight_len() as u32 * (out.len() / conv.bias_len()) as u32;
        let t0 = now();
        conv.forward(
            input,
            Mode::EVAL,
            Params::new(black_box(w), black_box(b)),
            black_box(x),
            y,
        )?;
        let fwd = ticks(t0, now()) * per_tick;
        let t0 = now();
        let tape = Tape::train(black_box(x), y, &[]);
        conv.backward(
            input,
            Params::new(w, b),
            tape,
            black_box(y),
            None,
            Grads::new(dw, db),
        )?;
        let bwd = ticks(t0, now()) * per_tick;
        let t0 = now();
        let tape = Tape::train(black_box(x), y, &[]);
        conv.backward(
            input,
            Params::new(w, b),
            tape,
            black_box(y),
            Some(dx),
            Grads::new(dw, db),
        )?;
        let bwd_dx = ticks(t0, now()) * per_tick;
        // Instructions per multiply-add, to two decimals.
        let per = |n: u32, m: u32| {
            let h = n * 100 / m.max(1);
            (h / 100, h % 100)
        };
        let (f, b1, b2) = (per(fwd, macs), per(bwd, macs), per(bwd_dx, 2 * macs));
        hprintln!(
            "conv1d {}->{} k{} over {} steps, batch 1 ({} multiply-adds a pass): forward {} instructions ({}.{:02} per MAC), backward dW+db {} ({}.{:02} per MAC), backward dW+db+dx {} ({}.{:02} per MAC)",
            channels,
            conv.bias_len(),
            conv.weight_len() / conv.bias_len() / channels,
            length,
            macs,
            fwd,
            f.0,
            f.1,
            bwd,
            b1.0,
            b1.1,
            bwd_dx,
            b2.0,
            b2.1
        );
        Ok(())
    }

    /// The `motions` firmware's training step: one series through the conv net, cross-entropy,
    /// backward and Adam.
    fn motions_step(per_tick: u32) -> Result<(), descent::Error> {
        use motions::NET;
        // SAFETY: single-threaded firmware; no interrupt handler touches these statics.
        let (params, grads, state, acts, scratch) = unsafe {
            (
                &mut *core::ptr::addr_of_mut!(M_PARAMS),
                &mut *core::ptr::addr_of_mut!(M_GRADS),
                &mut *core::ptr::addr_of_mut!(M_STATE),
                &mut *core::ptr::addr_of_mut!(M_ACTS),
                &mut *core::ptr::addr_of_mut!(M_SCRATCH),
            )
        };
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        NET.init(&mut [], &mut params[..], &mut [], &mut rng)?;
        let x = &motions::data::TRAIN_SERIES[0];
        let mut dy = [0.0f32; motions::CLASSES];
        let mut step = 0u64;
        let mut best = u32::MAX;
        for _ in 0..3 {
            let t0 = now();
            NET.zero_grad(grads)?;
            let out = NET.forward_train(&params[..], &mut [], black_box(x), acts, &mut rng)?;
            loss::cross_entropy(
                out,
                &[1],
                motions::CLASSES,
                0.0,
                Some(&mut dy),
                Reduction::Mean,
            )?;
            NET.backward(&params[..], x, acts, &dy, grads, scratch)?;
            motions::ADAM.step(&mut step, params, grads, state)?;
            best = best.min(ticks(t0, now()));
        }
        hprintln!(
            "motions training step (one 6x100 series, conv net of {} parameters: forward + cross-entropy + backward + Adam): {} instructions",
            motions::N,
            best * per_tick
        );
        Ok(())
    }

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

        conv_case(per_tick, Conv1d::new(6, 8, 5).with_padding(2), 6, 100)?;
        conv_case(per_tick, Conv1d::new(8, 16, 5).with_padding(2), 8, 50)?;
        motions_step(per_tick)
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
