//! `descent::dropout`: keep rate and scaling (statistically), evaluation identity, `p = 0` and
//! `p = 1`, determinism and the documented draw scheme, backward with the same mask, every
//! length 0..=70 on unaligned sub-slices, and every error path.

mod common;

use common::Rng as Data;
use descent::dropout::{
    dropout, dropout_backward, dropout_backward_inplace, dropout_inplace, mask_len, Dropout,
};
use descent::layer::{Grads, Layer, Mode, Params, Shape, Tape};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};

fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

/// The survivors' scale: `1/(1 − p)` rounded once.
fn scale(p: f32) -> f32 {
    (1.0 / (1.0 - p as f64)) as f32
}

fn bit(mask: &[u32], i: usize) -> bool {
    mask[i / 32] >> (i % 32) & 1 == 1
}

/// The mask the module documents: `⌈n/2⌉` `next_u64` words, low half for element 2k and high
/// half for element 2k + 1, kept when `u ≥ round(p·2³²)`.
fn reference_mask(n: usize, p: f32, g: &mut Xoshiro256PlusPlus) -> Vec<u32> {
    let t = (p as f64 * 4_294_967_296.0).round() as u64;
    let mut mask = vec![0u32; mask_len(n)];
    let mut i = 0;
    while i < n {
        let r = g.next_u64();
        for (k, half) in [r & 0xFFFF_FFFF, r >> 32].into_iter().enumerate() {
            if i + k < n && half >= t {
                mask[(i + k) / 32] |= 1 << ((i + k) % 32);
            }
        }
        i += 2;
    }
    mask
}

/// Whether two generators are in the same state (their next 4 words agree).
fn same_state(a: &Xoshiro256PlusPlus, b: &Xoshiro256PlusPlus) -> bool {
    let (mut a, mut b) = (a.clone(), b.clone());
    (0..4).all(|_| a.next_u64() == b.next_u64())
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn mask_len_is_words_of_32() {
    let want = [(0, 0), (1, 1), (31, 1), (32, 1), (33, 2), (64, 2), (65, 3)];
    for (n, w) in want {
        assert_eq!(mask_len(n), w, "n={n}");
    }
    const WORDS: usize = mask_len(1000);
    assert_eq!(WORDS, 32);
}

#[test]
fn keep_rate_is_binomial_and_survivors_are_scaled() {
    for &p in &[0.1f32, 0.25, 0.5, 0.9, 0.999] {
        let n = 200_003;
        let x = Data::new(1).vec(n);
        let mut y = vec![0.0; n];
        let mut mask = vec![0u32; mask_len(n)];
        dropout(&x, &mut y, &mut mask, p, &mut rng(11)).unwrap();
        let kept = (0..n).filter(|&i| bit(&mask, i)).count();
        let q = 1.0 - p as f64;
        let mean = n as f64 * q;
        let sigma = (n as f64 * q * (1.0 - q)).sqrt();
        assert!(
            (kept as f64 - mean).abs() <= 5.0 * sigma,
            "p={p}: kept {kept}, expected {mean} ± 5·{sigma}"
        );
        let s = scale(p);
        for i in 0..n {
            let want = if bit(&mask, i) { x[i] * s } else { x[i] * 0.0 };
            assert_eq!(y[i].to_bits(), want.to_bits(), "p={p} i={i}");
        }
        // Unused bits of the last word are 0.
        assert_eq!(mask[mask.len() - 1] >> (n % 32), 0);
        // The expectation is kept: mean(y)/mean(x) over x ≡ 1 is (kept/n)/(1 − p) ≈ 1.
        let ones = vec![1.0f32; n];
        dropout(&ones, &mut y, &mut mask, p, &mut rng(12)).unwrap();
        let total: f64 = y.iter().map(|&v| v as f64).sum();
        let kept = (0..n).filter(|&i| bit(&mask, i)).count();
        assert!((total - kept as f64 * s as f64).abs() <= 1e-9 * total.max(1.0));
        assert!((total / n as f64 - 1.0).abs() <= 5.0 * sigma / n as f64 / q);
    }
}

#[test]
fn neighbouring_elements_are_independent() {
    // The two halves of one word decide two elements: their joint keep rate is (1 − p)².
    let (n, p) = (200_000, 0.5f32);
    let x = vec![1.0f32; n];
    let mut y = vec![0.0; n];
    let mut mask = vec![0u32; mask_len(n)];
    dropout(&x, &mut y, &mut mask, p, &mut rng(5)).unwrap();
    let pairs = n / 2;
    let both = (0..pairs)
        .filter(|&k| bit(&mask, 2 * k) && bit(&mask, 2 * k + 1))
        .count();
    let q = 0.25;
    let sigma = (pairs as f64 * q * (1.0 - q)).sqrt();
    assert!(
        (both as f64 - pairs as f64 * q).abs() <= 5.0 * sigma,
        "{both}"
    );
}

#[test]
fn evaluation_is_the_identity_forward_and_backward() {
    let mut x = Data::new(2).vec(37);
    x[3] = f32::NAN;
    x[4] = -0.0;
    x[5] = f32::INFINITY;
    let mut y = vec![9.0; 37];
    let layer = Dropout::new(0.5);
    let shape = Shape::Features(37);
    layer
        .forward(shape, Mode::EVAL, Params::NONE, &x, &mut y)
        .unwrap();
    assert_eq!(bits(&y), bits(&x));
    // Evaluation lends no generator and no saved slice: nothing can be drawn or written.
    // Backward after an evaluation forward is the identity too.
    let dy = Data::new(4).vec(37);
    let mut dx = vec![9.0; 37];
    let tape = Tape::eval(&x, &y, &[]);
    layer
        .backward(shape, Params::NONE, tape, &dy, Some(&mut dx), Grads::NONE)
        .unwrap();
    assert_eq!(bits(&dx), bits(&dy));
}

#[test]
fn p_zero_keeps_everything_and_p_one_drops_everything() {
    for n in [0usize, 1, 31, 32, 33, 70] {
        let mut x = Data::new(n as u64).vec(n);
        if n > 2 {
            x[0] = f32::NAN;
            x[1] = f32::NEG_INFINITY;
            x[2] = -0.0;
        }
        let mut g = rng(4);
        let mut y = vec![7.0; n];
        let mut mask = vec![0u32; mask_len(n)];
        dropout(&x, &mut y, &mut mask, 0.0, &mut g).unwrap();
        assert_eq!(bits(&y), bits(&x), "p=0 n={n}");
        assert!((0..n).all(|i| bit(&mask, i)));
        if n % 32 != 0 {
            assert_eq!(mask[n / 32] >> (n % 32), 0);
        }
        let mut dx = vec![7.0; n];
        dropout_backward(&x, &mut dx, &mask, 0.0).unwrap();
        assert_eq!(bits(&dx), bits(&x));

        dropout(&x, &mut y, &mut mask, 1.0, &mut g).unwrap();
        let zeroed: Vec<f32> = x.iter().map(|v| v * 0.0).collect();
        assert_eq!(bits(&y), bits(&zeroed), "p=1 n={n}");
        assert!(y.iter().skip(3).all(|&v| v == 0.0));
        assert!(mask.iter().all(|&w| w == 0));
        dropout_backward(&x, &mut dx, &mask, 1.0).unwrap();
        assert_eq!(bits(&dx), bits(&zeroed));
        // Neither draws anything.
        assert!(same_state(&g, &rng(4)));
    }
}

#[test]
fn same_seed_same_mask_and_documented_draws() {
    for n in [1usize, 2, 3, 32, 33, 64, 65, 1001] {
        for &p in &[0.2f32, 0.5, 0.75] {
            let x = Data::new(7).vec(n);
            let (mut y1, mut y2) = (vec![0.0; n], vec![0.0; n]);
            let (mut m1, mut m2) = (vec![0u32; mask_len(n)], vec![0u32; mask_len(n)]);
            let (mut g1, mut g2) = (rng(99), rng(99));
            dropout(&x, &mut y1, &mut m1, p, &mut g1).unwrap();
            dropout(&x, &mut y2, &mut m2, p, &mut g2).unwrap();
            assert_eq!((bits(&y1), &m1), (bits(&y2), &m2));
            // Exactly the documented scheme, and exactly ⌈n/2⌉ words drawn.
            let mut g3 = rng(99);
            assert_eq!(m1, reference_mask(n, p, &mut g3), "n={n} p={p}");
            assert!(same_state(&g1, &g3));
            let mut g4 = rng(99);
            for _ in 0..n.div_ceil(2) {
                g4.next_u64();
            }
            assert!(same_state(&g1, &g4));
            // In place: the same mask and values.
            let mut z = x.clone();
            let mut m3 = vec![0u32; mask_len(n)];
            dropout_inplace(&mut z, &mut m3, p, &mut rng(99)).unwrap();
            assert_eq!((bits(&z), &m3), (bits(&y1), &m1));
        }
    }
    // Another seed gives another mask.
    let n = 256;
    let x = vec![1.0f32; n];
    let mut y = vec![0.0; n];
    let (mut m1, mut m2) = (vec![0u32; mask_len(n)], vec![0u32; mask_len(n)]);
    dropout(&x, &mut y, &mut m1, 0.5, &mut rng(1)).unwrap();
    dropout(&x, &mut y, &mut m2, 0.5, &mut rng(2)).unwrap();
    assert_ne!(m1, m2);
}

#[test]
fn backward_uses_the_forward_mask() {
    let (n, p) = (1000, 0.3f32);
    let x = Data::new(8).vec(n);
    let dy = Data::new(9).vec(n);
    let mut y = vec![0.0; n];
    let mut mask = vec![0u32; mask_len(n)];
    dropout(&x, &mut y, &mut mask, p, &mut rng(21)).unwrap();
    let mut dx = vec![f32::NAN; n];
    dropout_backward(&dy, &mut dx, &mask, p).unwrap();
    let s = scale(p);
    for i in 0..n {
        let want = if bit(&mask, i) {
            dy[i] * s
        } else {
            dy[i] * 0.0
        };
        assert_eq!(dx[i].to_bits(), want.to_bits());
        // Where y was kept, dx is too, and vice versa (x, dy have no zeros here).
        assert_eq!(y[i] != 0.0, dx[i] != 0.0);
    }
    let mut d = dy.clone();
    dropout_backward_inplace(&mut d, &mask, p).unwrap();
    assert_eq!(bits(&d), bits(&dx));
}

#[test]
fn every_length_and_offset_matches_the_scalar_reference() {
    const SENTINEL: f32 = -12345.0;
    for n in 0..=70usize {
        for off in 0..3 {
            for &p in &[0.0f32, 0.35, 1.0] {
                let x = Data::new((n * 3 + off) as u64).vec(n);
                let dy = Data::new((n * 5 + off) as u64).vec(n);
                let mut y = vec![SENTINEL; n + off + 3];
                let mut mask = vec![u32::MAX; mask_len(n) + off + 1];
                let mut g = rng(n as u64);
                let r = dropout(
                    &x,
                    &mut y[off..off + n],
                    &mut mask[off..off + mask_len(n)],
                    p,
                    &mut g,
                );
                r.unwrap();
                let m = &mask[off..off + mask_len(n)];
                let want_mask = if p == 0.0 {
                    (0..mask_len(n))
                        .map(|w| {
                            let k = (n - 32 * w).min(32);
                            if k == 32 {
                                u32::MAX
                            } else {
                                (1 << k) - 1
                            }
                        })
                        .collect()
                } else if p == 1.0 {
                    vec![0; mask_len(n)]
                } else {
                    reference_mask(n, p, &mut rng(n as u64))
                };
                assert_eq!(m, want_mask.as_slice(), "n={n} off={off} p={p}");
                let s = if p < 1.0 { scale(p) } else { 0.0 };
                for i in 0..n {
                    let want = x[i] * if bit(m, i) { s } else { 0.0 };
                    assert_eq!(y[off + i].to_bits(), want.to_bits(), "n={n} i={i}");
                }
                assert!(y[..off].iter().chain(&y[off + n..]).all(|&v| v == SENTINEL));
                assert!(mask[..off]
                    .iter()
                    .chain(&mask[off + mask_len(n)..])
                    .all(|&w| w == u32::MAX));

                let mut dx = vec![SENTINEL; n + off + 3];
                dropout_backward(&dy, &mut dx[off..off + n], m, p).unwrap();
                for i in 0..n {
                    let want = dy[i] * if bit(m, i) { s } else { 0.0 };
                    assert_eq!(dx[off + i].to_bits(), want.to_bits());
                }
                assert!(dx[..off]
                    .iter()
                    .chain(&dx[off + n..])
                    .all(|&v| v == SENTINEL));
                let mut d = vec![SENTINEL; n + off + 3];
                d[off..off + n].copy_from_slice(&dy);
                dropout_backward_inplace(&mut d[off..off + n], m, p).unwrap();
                assert_eq!(bits(&d), bits(&dx));
            }
        }
    }
}

#[test]
fn the_layer_trains_as_the_functions_with_its_mask_in_saved() {
    let (n, p) = (45usize, 0.4f32);
    let x = Data::new(31).vec(n);
    let dy = Data::new(32).vec(n);
    let (mut y, mut mask) = (vec![0.0; n], vec![0u32; mask_len(n)]);
    dropout(&x, &mut y, &mut mask, p, &mut rng(8)).unwrap();
    let mut dx = vec![0.0; n];
    dropout_backward(&dy, &mut dx, &mask, p).unwrap();

    let layer = Dropout::new(p);
    let shape = Shape::Features(n);
    let mut saved = vec![0.0f32; layer.saved_len(shape, 1)];
    assert_eq!(saved.len(), mask_len(n));
    let (mut ly, mut ldx) = (vec![0.0; n], vec![0.0; n]);
    let mut g = rng(8);
    let mode = Mode::Train {
        buffers: &mut [],
        saved: &mut saved,
        rng: Some(&mut g),
    };
    layer
        .forward(shape, mode, Params::NONE, &x, &mut ly)
        .unwrap();
    assert_eq!(bits(&ly), bits(&y));
    let words: Vec<u32> = saved.iter().map(|w| w.to_bits()).collect();
    assert_eq!(words, mask);
    let tape = Tape::train(&x, &ly, &saved);
    let r = layer.backward(shape, Params::NONE, tape, &dy, Some(&mut ldx), Grads::NONE);
    r.unwrap();
    assert_eq!(bits(&ldx), bits(&dx));
    // Training without a generator is refused before anything is written.
    let mut z = vec![7.0; n];
    let r = layer.forward(shape, Mode::train(&mut saved), Params::NONE, &x, &mut z);
    assert_eq!(
        r,
        Err(descent::Error::InvalidHyperParameter { what: "rng" })
    );
    assert!(z.iter().all(|&v| v == 7.0));
}
