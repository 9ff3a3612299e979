//! safetensors checkpoints: bit-exact round trips, deterministic bytes, strict and non-strict
//! loads that write nothing on `Err`, rejection of every truncation and every single-bit flip,
//! files in the exact layout Python's safetensors writes, malformed headers, and atomic saves
//! (the previous checkpoint survives a failed save and a crash mid-write).
#![cfg(feature = "std")]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::Rng;
use descent::train::checkpoint::{
    self, Checkpoint, CheckpointError, Dtype, LoadReport, CHECKSUM_ALGORITHM_KEY, CHECKSUM_KEY,
    MAX_HEADER_LEN,
};

/// A fresh empty directory for one test.
fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "descent-checkpoint-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The names of the entries of `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

fn bits(x: &[f32]) -> Vec<u32> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// Equal checkpoints, NaNs compared by their bits.
fn same(a: &Checkpoint, b: &Checkpoint) -> bool {
    a.metadata == b.metadata
        && a.crc32 == b.crc32
        && a.tensors.len() == b.tensors.len()
        && a.tensors.iter().zip(&b.tensors).all(|(x, y)| {
            x.name == y.name
                && x.shape == y.shape
                && x.dtype == y.dtype
                && bits(&x.data) == bits(&y.data)
        })
}

/// An owned model: `(name, shape, data)`.
type Model = Vec<(String, Vec<usize>, Vec<f32>)>;

fn borrowed(m: &Model) -> Vec<(&str, &[usize], &[f32])> {
    m.iter()
        .map(|(n, s, d)| (n.as_str(), s.as_slice(), d.as_slice()))
        .collect()
}

/// Tensors of every awkward kind: matrices, a scalar `[]`, zero-size tensors, special values
/// (NaN payloads, ±0, ±∞, subnormals, extremes).
fn model() -> Model {
    let mut rng = Rng::new(7);
    let special = [
        f32::from_bits(0x7fc0_0001),
        f32::from_bits(0xffa0_0000), // a signalling NaN, negative
        -0.0,
        0.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::from_bits(1),
        f32::MIN_POSITIVE,
        f32::MAX,
        f32::MIN,
    ];
    vec![
        ("0.weight".into(), vec![3, 4], rng.vec(12)),
        ("0.bias".into(), vec![3], rng.vec(3)),
        ("step".into(), vec![], vec![42.0]),
        ("empty".into(), vec![0, 5], vec![]),
        ("special".into(), vec![2, 5], special.to_vec()),
        ("none".into(), vec![0], vec![]),
        ("2.weight".into(), vec![2, 3], rng.vec(6)),
        ("2.bias".into(), vec![1, 1, 2], rng.vec(2)),
    ]
}

const META: &[(&str, &str)] = &[
    ("format", "pt"),
    ("epoch", "3"),
    (
        "note",
        "quotes \" backslash \\ newline \n tab \t ctl \u{1} unicode é😀",
    ),
];

/// A CRC-32/IEEE written independently of the library's (bit by bit).
fn reference_crc32(parts: &[&[u8]]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for part in parts {
        for &b in *part {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
    }
    !c
}

/// The header JSON (padding included) and the data section of a file.
fn split(bytes: &[u8]) -> (&str, &[u8]) {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    (
        std::str::from_utf8(&bytes[8..8 + n]).unwrap(),
        &bytes[8 + n..],
    )
}

/// Builds a file from a header string and data, the way Python lays it out.
fn file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn round_trip_is_bit_exact_through_files_and_bytes() {
    let dir = temp_dir("roundtrip");
    let path = dir.join("model.safetensors");
    let m = model();
    checkpoint::save(&path, &borrowed(&m), META).unwrap();

    // read(): names in order, shapes, dtypes, data bits, metadata without the checksum.
    let ck = checkpoint::read(&path).unwrap();
    assert_eq!(ck.tensors.len(), m.len());
    for (t, (name, shape, data)) in ck.tensors.iter().zip(&m) {
        assert_eq!(&t.name, name);
        assert_eq!(&t.shape, shape);
        assert_eq!(t.dtype, Dtype::F32);
        assert_eq!(bits(&t.data), bits(data), "{name}");
    }
    let expected: Vec<(String, String)> = META
        .iter()
        .map(|&(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(
        ck.metadata.clone().into_iter().collect::<Vec<_>>(),
        expected_sorted
    );
    assert!(ck.crc32.is_some());
    assert_eq!(ck.get("step").unwrap().data, vec![42.0]);
    assert!(ck.get("missing").is_none());

    // load_into(): strict, into sentinel-filled buffers.
    let mut bufs: Vec<Vec<f32>> = m.iter().map(|(_, _, d)| vec![-7.5; d.len()]).collect();
    let mut dests: Vec<(&str, &[usize], &mut [f32])> = m
        .iter()
        .zip(bufs.iter_mut())
        .map(|((n, s, _), b)| (n.as_str(), s.as_slice(), b.as_mut_slice()))
        .collect();
    let meta = checkpoint::load_into(&path, &mut dests).unwrap();
    assert_eq!(meta, ck.metadata);
    assert!(!meta.contains_key(CHECKSUM_KEY) && !meta.contains_key(CHECKSUM_ALGORITHM_KEY));
    for (b, (name, _, data)) in bufs.iter().zip(&m) {
        assert_eq!(bits(b), bits(data), "{name}");
    }

    // The file's bytes are to_bytes(), and parse() of them is read().
    let bytes = fs::read(&path).unwrap();
    assert_eq!(bytes, checkpoint::to_bytes(&borrowed(&m), META).unwrap());
    assert!(same(&checkpoint::parse(&bytes).unwrap(), &ck));
    assert_eq!(listing(&dir), ["model.safetensors"], "no temporary left");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn empty_checkpoint_round_trips() {
    let bytes = checkpoint::to_bytes(&[], &[]).unwrap();
    let ck = checkpoint::parse(&bytes).unwrap();
    assert!(ck.tensors.is_empty() && ck.metadata.is_empty() && ck.crc32.is_some());
    let report = checkpoint::load_from_bytes(&bytes, &mut [], true).unwrap();
    assert_eq!(report, LoadReport::default());
}

#[test]
fn output_is_deterministic_canonical_and_checksummed() {
    let m = model();
    let a = checkpoint::to_bytes(&borrowed(&m), META).unwrap();
    let b = checkpoint::to_bytes(&borrowed(&m), META).unwrap();
    assert_eq!(a, b);
    // Metadata given in another order gives the same bytes (keys are sorted).
    let mut reversed = META.to_vec();
    reversed.reverse();
    assert_eq!(a, checkpoint::to_bytes(&borrowed(&m), &reversed).unwrap());

    // The exact layout of a small file, the checksum recomputed independently.
    let w = [1.0f32, -2.0];
    let bytes =
        checkpoint::to_bytes(&[("w", &[2], &w), ("s", &[], &[0.5])], &[("format", "pt")]).unwrap();
    let (header, data) = split(&bytes);
    assert_eq!(header.len() % 8, 0, "data starts 8-aligned");
    let canonical = r#"{"__metadata__":{"descent.checksum":"crc32","format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"s":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}"#;
    let crc = reference_crc32(&[canonical.as_bytes(), data]);
    let expected = format!(
        r#"{{"__metadata__":{{"descent.checksum":"crc32","descent.crc32":"{crc:08x}","format":"pt"}},"w":{{"dtype":"F32","shape":[2],"data_offsets":[0,8]}},"s":{{"dtype":"F32","shape":[],"data_offsets":[8,12]}}}}"#
    );
    assert_eq!(header.trim_end_matches(' '), expected);
    assert!(header.len() - expected.len() < 8);
    let mut expected_data = Vec::new();
    for x in [1.0f32, -2.0, 0.5] {
        expected_data.extend_from_slice(&x.to_le_bytes());
    }
    assert_eq!(data, expected_data.as_slice());
    assert_eq!(checkpoint::parse(&bytes).unwrap().crc32, Some(crc));
}

/// Destinations for the model's tensors (shapes from the model), all filled with `fill`.
fn buffers(m: &Model, fill: f32) -> Vec<Vec<f32>> {
    m.iter().map(|(_, _, d)| vec![fill; d.len()]).collect()
}

#[test]
fn strict_load_errors_name_the_tensor_and_write_nothing() {
    let m = model();
    let bytes = checkpoint::to_bytes(&borrowed(&m), META).unwrap();
    let sentinel = 123.25f32;

    // Missing: ask for one more tensor than the file has.
    let mut bufs = buffers(&m, sentinel);
    let mut extra = [sentinel; 4];
    let mut dests: Vec<(&str, &[usize], &mut [f32])> = m
        .iter()
        .zip(bufs.iter_mut())
        .map(|((n, s, _), b)| (n.as_str(), s.as_slice(), b.as_mut_slice()))
        .collect();
    dests.push(("4.weight", &[2, 2], &mut extra));
    let err = checkpoint::load_from_bytes(&bytes, &mut dests, true).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::MissingTensors { names } if names == &["4.weight"]),
        "{err:?}"
    );
    assert!(err.to_string().contains("`4.weight`"), "{err}");
    drop(dests);
    assert!(bufs.iter().flatten().chain(&extra).all(|&x| x == sentinel));

    // Unexpected: ask for all but `0.bias` and `step`.
    let mut bufs = buffers(&m, sentinel);
    let mut dests: Vec<(&str, &[usize], &mut [f32])> = m
        .iter()
        .zip(bufs.iter_mut())
        .filter(|((n, _, _), _)| n != "0.bias" && n != "step")
        .map(|((n, s, _), b)| (n.as_str(), s.as_slice(), b.as_mut_slice()))
        .collect();
    let err = checkpoint::load_from_bytes(&bytes, &mut dests, true).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::UnexpectedTensors { names } if names == &["0.bias", "step"]),
        "{err:?}"
    );
    assert!(err.to_string().contains("`0.bias`, `step`"), "{err}");
    drop(dests);
    assert!(bufs.iter().flatten().all(|&x| x == sentinel));

    // Shape mismatch on the last tensor (same element count, other shape): the earlier
    // destinations, which would be valid, stay untouched too.
    let mut bufs = buffers(&m, sentinel);
    let wrong_shape = [2usize];
    let mut dests: Vec<(&str, &[usize], &mut [f32])> = m
        .iter()
        .zip(bufs.iter_mut())
        .map(|((n, s, _), b)| {
            let s: &[usize] = if n == "2.bias" { &wrong_shape } else { s };
            (n.as_str(), s, b.as_mut_slice())
        })
        .collect();
    for strict in [true, false] {
        let err = checkpoint::load_from_bytes(&bytes, &mut dests, strict).unwrap_err();
        match &err {
            CheckpointError::ShapeMismatch {
                tensor,
                expected,
                found,
            } => {
                assert_eq!(tensor, "2.bias");
                assert_eq!(expected, &[2]);
                assert_eq!(found, &[1, 1, 2]);
            }
            e => panic!("{e:?}"),
        }
        assert!(err.to_string().contains("2.bias"));
    }
    drop(dests);
    assert!(bufs.iter().flatten().all(|&x| x == sentinel));

    // A buffer whose length does not match its own shape, and a name given twice.
    let mut a = [sentinel; 12];
    let mut b = [sentinel; 11];
    let err = checkpoint::load_from_bytes(
        &bytes,
        &mut [("0.weight", &[3, 4], &mut a), ("2.weight", &[2, 3], &mut b)],
        false,
    )
    .unwrap_err();
    assert!(
        matches!(&err, CheckpointError::LengthMismatch { tensor, expected: 6, actual: 11 } if tensor == "2.weight"),
        "{err:?}"
    );
    let mut c = [sentinel; 12];
    let err = checkpoint::load_from_bytes(
        &bytes,
        &mut [("0.weight", &[3, 4], &mut a), ("0.weight", &[3, 4], &mut c)],
        false,
    )
    .unwrap_err();
    assert!(matches!(&err, CheckpointError::DuplicateTensor { name } if name == "0.weight"));
    assert!(a.iter().chain(&b).chain(&c).all(|&x| x == sentinel));
}

#[test]
fn non_strict_load_reports_missing_and_unexpected() {
    let dir = temp_dir("nonstrict");
    let path = dir.join("ck.safetensors");
    let m = model();
    checkpoint::save(&path, &borrowed(&m), META).unwrap();
    let mut w = [0.0f32; 12];
    let mut other = [9.0f32; 3];
    let report = checkpoint::load_into_with(
        &path,
        &mut [("0.weight", &[3, 4], &mut w), ("3.bias", &[3], &mut other)],
        false,
    )
    .unwrap();
    assert_eq!(bits(&w), bits(&m[0].2));
    assert_eq!(other, [9.0; 3], "missing destination untouched");
    assert_eq!(report.missing_keys, ["3.bias"]);
    let unexpected: Vec<&str> = m.iter().skip(1).map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(report.unexpected_keys, unexpected);
    assert_eq!(report.metadata["format"], "pt");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_truncation_is_an_error_and_writes_nothing() {
    let m = model();
    let bytes = checkpoint::to_bytes(&borrowed(&m), META).unwrap();
    let mut bufs = buffers(&m, 5.5);
    for len in 0..bytes.len() {
        let cut = &bytes[..len];
        assert!(checkpoint::parse(cut).is_err(), "length {len}");
        let mut dests: Vec<(&str, &[usize], &mut [f32])> = m
            .iter()
            .zip(bufs.iter_mut())
            .map(|((n, s, _), b)| (n.as_str(), s.as_slice(), b.as_mut_slice()))
            .collect();
        let err = checkpoint::load_from_bytes(cut, &mut dests, false).unwrap_err();
        // The length prefix, and then the header length it gives, announce more bytes
        // than a cut file has: every cut is reported as truncation.
        assert!(
            matches!(err, CheckpointError::Truncated { actual, .. } if actual == len as u64),
            "length {len}: {err:?}"
        );
    }
    assert!(bufs.iter().flatten().all(|&x| x == 5.5));
}

#[test]
fn every_single_bit_flip_is_an_error() {
    // Small enough to flip every bit, large enough to have every part: prefix, metadata
    // with the checksum, several tensors (a scalar, a zero-size one), padding and data.
    let bytes = checkpoint::to_bytes(
        &[
            ("0.weight", &[2, 2], &[1.0, -2.0, 0.5, 3.0]),
            ("s", &[], &[7.0]),
            ("z", &[0], &[]),
        ],
        &[("format", "pt")],
    )
    .unwrap();
    let (header, _) = split(&bytes);
    let padding = header.len() - header.trim_end_matches(' ').len();
    assert!(
        padding > 0,
        "pick metadata so the header has padding to flip"
    );
    let original = checkpoint::parse(&bytes).unwrap();
    let mut checksum_errors = 0;
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut flipped = bytes.clone();
            flipped[i] ^= 1 << bit;
            match checkpoint::parse(&flipped) {
                Ok(ck) => {
                    // A flip can leave the content unchanged only where the JSON could
                    // spell it another way one bit apart: the padding, and the hex case of a
                    // `\u00xx` escape (see the next test). This file has no escape, and no
                    // single-bit flip of a space (0x20) is JSON whitespace (0x09, 0x0A,
                    // 0x0D): the flip is a trailing character.
                    panic!(
                        "flip of bit {bit} of byte {i} loaded (equal to the original: {})",
                        same(&ck, &original)
                    );
                }
                Err(CheckpointError::ChecksumMismatch { .. }) => checksum_errors += 1,
                Err(_) => {}
            }
        }
    }
    // Every flip of a data bit is caught by the checksum alone.
    let data_len = 4 * 5;
    assert!(checksum_errors >= 8 * data_len, "{checksum_errors}");
}

#[test]
fn a_flipped_hex_case_in_an_escape_is_the_same_content() {
    // A control character in a name or a value is written `\u001a`; its hex digit's case
    // is one bit, and both spellings are the same JSON string, so the file loads unchanged
    // (the checksum covers the canonical header, which writes lowercase).
    let bytes = checkpoint::to_bytes(&[("w", &[1], &[2.0])], &[("k", "\u{1a}")]).unwrap();
    let original = checkpoint::parse(&bytes).unwrap();
    let at = bytes.windows(6).position(|w| w == b"\\u001a").unwrap() + 5;
    let mut flipped = bytes.clone();
    flipped[at] ^= 0x20; // 'a' -> 'A'
    assert!(same(&checkpoint::parse(&flipped).unwrap(), &original));
    flipped[at] ^= 0x01; // 'A' -> '@': no longer hex
    assert!(checkpoint::parse(&flipped).is_err());
}

/// The exact bytes `safetensors.numpy.save` (safetensors 0.8) writes for
/// `{"0.weight": [[1.5, -2], [0.25, 3]], "0.bias": [-0.0, 1e-45], "step": 7.0 (shape []),
///   "empty": zeros((0, 2))}` with metadata `{"format": "pt"}`: tensors sorted by name,
/// `__metadata__` first, header padded with spaces to a multiple of 8, no checksum.
fn python_file() -> Vec<u8> {
    let header = r#"{"__metadata__":{"format":"pt"},"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"0.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]},"empty":{"dtype":"F32","shape":[0,2],"data_offsets":[24,24]},"step":{"dtype":"F32","shape":[],"data_offsets":[24,28]}} "#;
    assert_eq!(header.len(), 272);
    let data: Vec<u8> = (0..28)
        .map(|i| {
            u8::from_str_radix(
                &"00000080010000000000c03f000000c00000803e000040400000e040"[2 * i..2 * i + 2],
                16,
            )
            .unwrap()
        })
        .collect();
    file(header, &data)
}

#[test]
fn a_file_in_pythons_layout_loads() {
    let bytes = python_file();
    assert_eq!(bytes.len(), 308);
    let ck = checkpoint::parse(&bytes).unwrap();
    assert_eq!(ck.crc32, None);
    assert_eq!(ck.metadata.len(), 1);
    assert_eq!(ck.metadata["format"], "pt");
    let names: Vec<&str> = ck.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["0.bias", "0.weight", "empty", "step"]);

    let (mut w, mut b, mut s, mut e) = ([0.0f32; 4], [9.0f32; 2], [0.0f32], [0.0f32; 0]);
    let dir = temp_dir("python");
    let path = dir.join("py.safetensors");
    fs::write(&path, &bytes).unwrap();
    let meta = checkpoint::load_into(
        &path,
        &mut [
            ("0.weight", &[2, 2], &mut w),
            ("step", &[], &mut s),
            ("0.bias", &[2], &mut b),
            ("empty", &[0, 2], &mut e),
        ],
    )
    .unwrap();
    assert_eq!(meta["format"], "pt");
    assert_eq!(w, [1.5, -2.0, 0.25, 3.0]);
    assert_eq!(bits(&b), [0x8000_0000, 1]);
    assert_eq!(s, [7.0]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn other_float_dtypes_are_converted() {
    let mut data = Vec::new();
    for x in [1.0f64 / 3.0, -1e300, 2.5] {
        data.extend_from_slice(&x.to_le_bytes());
    }
    for h in [0x3c00u16, 0x0001, 0xfc00] {
        data.extend_from_slice(&h.to_le_bytes()); // F16: 1, 2^-24, -inf
    }
    for h in [0x3f80u16, 0xc0a0] {
        data.extend_from_slice(&h.to_le_bytes()); // BF16: 1, -5
    }
    let header = r#"{"d":{"dtype":"F64","shape":[3],"data_offsets":[0,24]},"h":{"dtype":"F16","shape":[3],"data_offsets":[24,30]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[30,34]}}"#;
    let ck = checkpoint::parse(&file(header, &data)).unwrap();
    let d = ck.get("d").unwrap();
    assert_eq!(d.dtype, Dtype::F64);
    assert_eq!(d.data, [(1.0f64 / 3.0) as f32, f32::NEG_INFINITY, 2.5]);
    assert_eq!(
        ck.get("h").unwrap().data,
        [1.0, 2f32.powi(-24), f32::NEG_INFINITY]
    );
    assert_eq!(ck.get("b").unwrap().dtype, Dtype::BF16);
    assert_eq!(ck.get("b").unwrap().data, [1.0, -5.0]);

    let header = r#"{"i":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#;
    let err = checkpoint::parse(&file(header, &[0; 4])).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::UnsupportedDtype { tensor, dtype } if tensor == "i" && dtype == "I32"),
        "{err:?}"
    );
}

/// Headers (over 4 bytes of data unless stated) and whether they must load.
#[test]
fn malformed_headers_are_errors_and_lenient_json_is_accepted() {
    let one = r#""a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#;
    let accepted = [
        format!("{{{one}}}"),
        format!("  {{ {one} }}\t\n\r "),
        format!(r#"{{"__metadata__":null,{one}}}"#),
        format!(r#"{{{one},"__metadata__":{{}}}}"#),
        r#"{"a":{"extra":[1,{"x":null}],"data_offsets":[0,4],"shape":[1],"dtype":"F32"}}"#
            .to_string(),
        r#"{"\u0061":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#.to_string(),
    ];
    for h in &accepted {
        let ck = checkpoint::parse(&file(h, &[0, 0, 128, 63])).unwrap();
        assert_eq!(ck.get("a").unwrap().data, [1.0], "{h}");
    }

    use CheckpointError as E;
    type Check = fn(&E) -> bool;
    let malformed: Check = |e| matches!(e, E::MalformedHeader { .. });
    let cases: Vec<(String, usize, Check)> = vec![
        ("".into(), 0, malformed),
        ("[]".into(), 0, malformed),
        (format!("{{{one}}}x"), 4, malformed),
        (format!("{{{one}}}\0"), 4, malformed),
        (format!("{{{one},}}"), 4, malformed),
        (format!("{{{one}"), 4, malformed),
        (format!("{{{one},{one}}}"), 8, |e| {
            matches!(e, E::DuplicateTensor { name } if name == "a")
        }),
        (
            r#"{"__metadata__":{"k":"1","k":"2"}}"#.into(),
            0,
            malformed,
        ),
        (r#"{"__metadata__":{"k":1}}"#.into(), 0, malformed),
        (r#"{"__metadata__":{},"__metadata__":{}}"#.into(), 0, malformed),
        (r#"{"a":{"dtype":"F32","shape":[1]}}"#.into(), 4, malformed),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"dtype":"F32"}}"#.into(),
            4,
            malformed,
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#.into(),
            4,
            malformed,
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#.into(),
            4,
            malformed,
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#.into(),
            4,
            malformed,
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#.into(),
            4,
            malformed,
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#.into(),
            4,
            malformed,
        ),
        // A gap before the tensor, an overlap, bytes nobody owns.
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#.into(),
            8,
            malformed,
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#.into(),
            8,
            malformed,
        ),
        (format!("{{{one}}}"), 8, malformed),
        // Sizes that overflow.
        (
            r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#
                .into(),
            4,
            |e| matches!(e, E::SizeOverflow { tensor } if tensor == "a"),
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551615,3]}}"#
                .into(),
            4,
            malformed,
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551616,3]}}"#
                .into(),
            4,
            malformed,
        ),
        // More data announced than present.
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.into(),
            4,
            |e| matches!(e, E::Truncated { .. }),
        ),
        // A checksum that is not 8 lowercase hex digits.
        (
            format!(r#"{{"__metadata__":{{"{CHECKSUM_KEY}":"ABCDEF01"}},{one}}}"#),
            4,
            malformed,
        ),
        (
            format!(r#"{{"__metadata__":{{"{CHECKSUM_KEY}":"0"}},{one}}}"#),
            4,
            malformed,
        ),
        // The checksum declared but absent (its key's name damaged), or of an unknown kind.
        (
            format!(r#"{{"__metadata__":{{"{CHECKSUM_ALGORITHM_KEY}":"crc32","descent.crc33":"00000000"}},{one}}}"#),
            4,
            malformed,
        ),
        (
            format!(r#"{{"__metadata__":{{"{CHECKSUM_ALGORITHM_KEY}":"crc64"}},{one}}}"#),
            4,
            malformed,
        ),
        (
            format!(r#"{{"__metadata__":{{"{CHECKSUM_KEY}":"00000000"}},{one}}}"#),
            4,
            |e| matches!(e, E::ChecksumMismatch { stored: 0, .. }),
        ),
    ];
    for (h, data_len, check) in &cases {
        let err = checkpoint::parse(&file(h, &vec![0; *data_len])).unwrap_err();
        assert!(check(&err), "{h}: {err:?}");
        assert!(!err.to_string().is_empty());
    }

    // Not UTF-8; a length over the limit; a length past the end of the file.
    let mut bytes = file("{\"\u{e9}\":1}", &[]);
    bytes[10] = 0xff;
    assert!(matches!(
        checkpoint::parse(&bytes),
        Err(E::MalformedHeader { .. })
    ));
    let mut bytes = (MAX_HEADER_LEN + 1).to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    assert!(matches!(
        checkpoint::parse(&bytes),
        Err(E::MalformedHeader { .. })
    ));
    for n in [3u64, MAX_HEADER_LEN, u64::MAX] {
        let mut bytes = n.to_le_bytes().to_vec();
        bytes.extend_from_slice(b"{}");
        let err = checkpoint::parse(&bytes).unwrap_err();
        assert!(
            matches!(err, E::Truncated { .. } | E::MalformedHeader { .. }),
            "{n}: {err:?}"
        );
    }
}

#[test]
fn invalid_saves_are_refused_before_touching_the_file() {
    let dir = temp_dir("invalid");
    let path = dir.join("ck.safetensors");
    let ok: &[(&str, &[usize], &[f32])] = &[("a", &[2], &[1.0, 2.0])];
    checkpoint::save(&path, ok, &[]).unwrap();
    let before = fs::read(&path).unwrap();

    use CheckpointError as E;
    type Tensors<'a> = Vec<(&'a str, &'a [usize], &'a [f32])>;
    type Case<'a> = (Tensors<'a>, Vec<(&'a str, &'a str)>, fn(&E) -> bool);
    let cases: Vec<Case> = vec![
        (
            vec![("a", &[2, 2], &[1.0; 3])],
            vec![],
            |e| matches!(e, E::LengthMismatch { tensor, expected: 4, actual: 3 } if tensor == "a"),
        ),
        (
            vec![("a", &[1], &[1.0]), ("a", &[1], &[1.0])],
            vec![],
            |e| matches!(e, E::DuplicateTensor { name } if name == "a"),
        ),
        (vec![("__metadata__", &[1], &[1.0])], vec![], |e| {
            matches!(e, E::InvalidName { .. })
        }),
        (
            vec![],
            vec![(CHECKSUM_KEY, "0")],
            |e| matches!(e, E::InvalidName { name, .. } if name == CHECKSUM_KEY),
        ),
        (
            vec![],
            vec![(CHECKSUM_ALGORITHM_KEY, "crc32")],
            |e| matches!(e, E::InvalidName { name, .. } if name == CHECKSUM_ALGORITHM_KEY),
        ),
        (
            vec![],
            vec![("k", "1"), ("k", "2")],
            |e| matches!(e, E::InvalidName { name, .. } if name == "k"),
        ),
        (
            vec![("big", &[usize::MAX, 2], &[])],
            vec![],
            |e| matches!(e, E::SizeOverflow { tensor } if tensor == "big"),
        ),
        (vec![("big", &[usize::MAX / 2], &[])], vec![], |e| {
            matches!(e, E::SizeOverflow { .. } | E::LengthMismatch { .. })
        }),
    ];
    for (tensors, meta, check) in &cases {
        let err = checkpoint::save(&path, tensors, meta).unwrap_err();
        assert!(check(&err), "{err:?}");
    }
    assert_eq!(fs::read(&path).unwrap(), before);
    assert_eq!(listing(&dir), ["ck.safetensors"]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_rename_keeps_the_target_and_removes_the_temporary() {
    // The target is a directory: the temporary is written and synced, the rename fails.
    let dir = temp_dir("rename");
    let target = dir.join("ck.safetensors");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("inside"), b"keep").unwrap();
    let err = checkpoint::save(&target, &[("a", &[1], &[1.0])], &[]).unwrap_err();
    assert!(
        matches!(&err, CheckpointError::Io { path, .. } if path == &target),
        "{err:?}"
    );
    assert!(err.to_string().contains("ck.safetensors"));
    assert_eq!(listing(&dir), ["ck.safetensors"], "temporary removed");
    assert_eq!(fs::read(target.join("inside")).unwrap(), b"keep");

    // A directory that does not exist: nothing is created.
    let err = checkpoint::save(dir.join("no/such/dir/ck"), &[], &[]).unwrap_err();
    assert!(matches!(err, CheckpointError::Io { .. }));
    let err = checkpoint::read(dir.join("absent")).unwrap_err();
    assert!(matches!(&err, CheckpointError::Io { path, .. } if path.ends_with("absent")));
    assert!(std::error::Error::source(&err).is_some());
    fs::remove_dir_all(&dir).unwrap();
}

/// Environment variable that turns [`crash_child`] into the process that crashes.
const CRASH_ENV: &str = "DESCENT_CHECKPOINT_CRASH_TARGET";

/// A large checkpoint (256 KiB of data), different from [`small_old`].
fn large_new() -> Model {
    vec![("0.weight".into(), vec![256, 256], Rng::new(3).vec(65536))]
}

fn small_old() -> Model {
    vec![("0.weight".into(), vec![2, 2], vec![1.0, 2.0, 3.0, 4.0])]
}

/// Run by [`a_crash_mid_write_keeps_the_previous_checkpoint`] in a child process limited to
/// small files (`ulimit -f`): the save of the large checkpoint dies mid-write (SIGXFSZ) or
/// fails with EFBIG. Run alone (without the variable) it saves normally.
#[test]
#[ignore = "run by a_crash_mid_write_keeps_the_previous_checkpoint"]
fn crash_child() {
    let m = large_new();
    match std::env::var_os(CRASH_ENV) {
        Some(target) => {
            let err = checkpoint::save(&target, &borrowed(&m), &[]).unwrap_err();
            println!("CHILD: save failed: {err}");
        }
        None => {
            let dir = temp_dir("child");
            checkpoint::save(dir.join("ck"), &borrowed(&m), &[]).unwrap();
            fs::remove_dir_all(&dir).unwrap();
        }
    }
}

#[cfg(unix)]
#[test]
fn a_crash_mid_write_keeps_the_previous_checkpoint() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Command;

    let dir = temp_dir("crash");
    let target = dir.join("ck.safetensors");
    let old = small_old();
    checkpoint::save(&target, &borrowed(&old), &[("epoch", "1")]).unwrap();
    let before = fs::read(&target).unwrap();

    // The child's files are limited to `limit` blocks (of 512 or 1024 bytes, by shell), so the
    // 256 KiB save is killed (SIGXFSZ) at a different offset each time: in the header, in the
    // tensor data, near the end. Under a cross runner (CI runs the aarch64 build under
    // qemu-user), the child goes through the same runner, named by `DESCENT_TEST_RUNNER`.
    for limit in [1, 2, 3, 5, 8, 13, 16, 21, 34, 55, 89, 144, 233] {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                r#"ulimit -f {limit} && exec ${{DESCENT_TEST_RUNNER:-}} "$0" --exact crash_child --ignored --nocapture"#
            ))
            .arg(std::env::current_exe().unwrap())
            .env(CRASH_ENV, &target)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let killed = out.status.signal() == Some(25); // SIGXFSZ
        let failed = out.status.success() && stdout.contains("CHILD: save failed");
        assert!(
            killed || failed,
            "limit {limit}: {:?}\n{stdout}",
            out.status
        );

        // The target is the previous checkpoint, byte for byte, and loads.
        assert_eq!(fs::read(&target).unwrap(), before, "limit {limit}");
        let mut w = [0.0f32; 4];
        let meta = checkpoint::load_into(&target, &mut [("0.weight", &[2, 2], &mut w)]).unwrap();
        assert_eq!(w, [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(meta["epoch"], "1");

        // A crash leaves at most a partial temporary (an error removes it first: under
        // qemu-user the write fails with EFBIG and the signal arrives after the clean-up);
        // either way it is not the target, and it never loads.
        let leftovers: Vec<String> = listing(&dir)
            .into_iter()
            .filter(|n| n != "ck.safetensors")
            .collect();
        let most = if killed { 1 } else { 0 };
        assert!(leftovers.len() <= most, "limit {limit}: {leftovers:?}");
        for name in &leftovers {
            assert!(name.starts_with(".ck.safetensors.") && name.ends_with(".tmp"));
            let partial = fs::metadata(dir.join(name)).unwrap().len();
            assert!(partial <= limit * 1024, "limit {limit}: {partial}");
            assert!(checkpoint::read(dir.join(name)).is_err(), "limit {limit}");
            fs::remove_file(dir.join(name)).unwrap();
        }
    }
    // The next save succeeds.
    let new = large_new();
    checkpoint::save(&target, &borrowed(&new), &[]).unwrap();
    assert_eq!(checkpoint::read(&target).unwrap().tensors[0].data, new[0].2);
    fs::remove_dir_all(&dir).unwrap();
}
