//! safetensors checkpoints on arbitrary bytes, and on valid files damaged by the fuzzer:
//! `parse` and `load_from_bytes` return `Ok` or `Err` and never panic; on `Err` no destination
//! is written; an `Ok` file re-saves and re-loads bit-exactly; a file `to_bytes` wrote loads
//! bit-exactly; after a truncation it is rejected, after a one-bit flip or a one-byte
//! overwrite it is rejected or loads unchanged (padding turned into other whitespace, the
//! hex case of a `\u00xx` escape).
#![no_main]

#[path = "input.rs"]
mod input;

use descent::train::checkpoint::{self, Checkpoint};
use input::Input;
use libfuzzer_sys::fuzz_target;

const SENTINEL: f32 = 1234.5;

fn same(a: &Checkpoint, b: &Checkpoint) -> bool {
    a.metadata == b.metadata
        && a.tensors.len() == b.tensors.len()
        && a.tensors.iter().zip(&b.tensors).all(|(x, y)| {
            x.name == y.name
                && x.shape == y.shape
                && x.data.len() == y.data.len()
                && x.data
                    .iter()
                    .zip(&y.data)
                    .all(|(p, q)| p.to_bits() == q.to_bits())
        })
}

/// Loads `bytes` into destinations shaped like `ck`'s tensors (or a dummy one) and checks
/// the all-or-nothing rule against `parse`'s verdict.
fn load_agrees(bytes: &[u8], ck: Option<&Checkpoint>) {
    let (names, shapes): (Vec<String>, Vec<Vec<usize>>) = match ck {
        Some(ck) => ck
            .tensors
            .iter()
            .map(|t| (t.name.clone(), t.shape.clone()))
            .unzip(),
        None => (vec!["0.weight".into()], vec![vec![2, 2]]),
    };
    let mut bufs: Vec<Vec<f32>> = shapes
        .iter()
        .map(|s| vec![SENTINEL; s.iter().product()])
        .collect();
    let mut dests: Vec<(&str, &[usize], &mut [f32])> = names
        .iter()
        .zip(&shapes)
        .zip(bufs.iter_mut())
        .map(|((n, s), b)| (n.as_str(), s.as_slice(), b.as_mut_slice()))
        .collect();
    let result = checkpoint::load_from_bytes(bytes, &mut dests, true);
    drop(dests);
    match (ck, result) {
        (Some(ck), Ok(report)) => {
            if ck.tensors.iter().any(|t| !t.data.is_empty()) {
                input::compared();
            }
            assert_eq!(report.metadata, ck.metadata);
            for (t, b) in ck.tensors.iter().zip(&bufs) {
                assert!(t
                    .data
                    .iter()
                    .zip(b)
                    .all(|(p, q)| p.to_bits() == q.to_bits()));
            }
        }
        (Some(_), Err(e)) => panic!("parse accepted what a strict load refused: {e}"),
        (None, Ok(_)) => panic!("a strict load accepted what parse refused"),
        (None, Err(_)) => assert!(bufs.iter().flatten().all(|&x| x == SENTINEL)),
    }
}

/// Arbitrary bytes.
fn raw(bytes: &[u8]) {
    let parsed = checkpoint::parse(bytes);
    if let Err(e) = &parsed {
        assert!(!e.to_string().is_empty());
    }
    load_agrees(bytes, parsed.as_ref().ok());
    if let Ok(ck) = parsed {
        // What loads, saves: and the saved file loads back the same.
        let tensors: Vec<(&str, &[usize], &[f32])> = ck
            .tensors
            .iter()
            .map(|t| (t.name.as_str(), t.shape.as_slice(), t.data.as_slice()))
            .collect();
        let meta: Vec<(&str, &str)> = ck
            .metadata
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let again = checkpoint::to_bytes(&tensors, &meta).expect("re-save");
        let back = checkpoint::parse(&again).expect("re-load");
        if ck.tensors.iter().any(|t| !t.data.is_empty()) {
            input::compared();
        }
        assert!(same(&ck, &back) && back.crc32.is_some());
    }
}

/// A valid file built from the input, then damaged.
fn structured(i: &mut Input) {
    let count = i.len(4);
    let mut owned = Vec::new();
    for t in 0..count {
        // Mostly distinct names, sometimes a repeat or an odd character.
        let name = match i.byte() % 8 {
            0 => "0.weight".to_string(),
            1 => format!("t{}\"\\\u{1}é", t),
            _ => format!("{t}.weight"),
        };
        // Mostly non-empty tensors (whose values the round trip compares), sometimes a zero
        // dimension.
        let shape: Vec<usize> = (0..i.len(3))
            .map(|_| {
                if i.byte() % 8 == 0 {
                    i.len(4)
                } else {
                    1 + i.len(3)
                }
            })
            .collect();
        let n = shape.iter().product();
        owned.push((name, shape, i.values(n, 4.0)));
    }
    let meta_owned: Vec<(String, String)> = (0..i.len(2))
        .map(|k| (format!("k{k}"), char::from(i.byte() % 128).to_string()))
        .collect();
    let tensors: Vec<(&str, &[usize], &[f32])> = owned
        .iter()
        .map(|(n, s, d)| (n.as_str(), s.as_slice(), d.as_slice()))
        .collect();
    let meta: Vec<(&str, &str)> = meta_owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let Ok(bytes) = checkpoint::to_bytes(&tensors, &meta) else {
        return; // a repeated name
    };
    let original = checkpoint::parse(&bytes).expect("a written file loads");
    if owned.iter().any(|(_, _, d)| !d.is_empty()) {
        input::compared();
    }
    for ((n, s, d), t) in owned.iter().zip(&original.tensors) {
        assert!(&t.name == n && &t.shape == s);
        assert!(d
            .iter()
            .zip(&t.data)
            .all(|(p, q)| p.to_bits() == q.to_bits()));
    }
    let pos = (i.u32() as usize) % bytes.len();
    let mut damaged = bytes.clone();
    match i.byte() % 3 {
        0 => {
            damaged.truncate(pos);
            assert!(checkpoint::parse(&damaged).is_err());
        }
        1 => {
            // Rejected, or equal: JSON spells some content two ways that differ in one bit
            // (the hex case in a `\u001a` escape of a control character).
            damaged[pos] ^= 1 << (i.byte() % 8);
            if let Ok(ck) = checkpoint::parse(&damaged) {
                assert!(same(&ck, &original), "bit flip at {pos}, different content");
            }
        }
        _ => {
            damaged[pos] = i.byte();
            if let Ok(ck) = checkpoint::parse(&damaged) {
                assert!(
                    same(&ck, &original),
                    "byte {pos} overwritten, different content"
                );
            }
        }
    }
    load_agrees(&damaged, checkpoint::parse(&damaged).ok().as_ref());
}

fuzz_target!(|data: &[u8]| input::execution(|| execution(data)));

fn execution(data: &[u8]) {
    raw(data);
    structured(&mut Input(data));
}
