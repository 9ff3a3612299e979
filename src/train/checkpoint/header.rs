//! The safetensors header: parsing its JSON, checking it against the data section, and
//! writing it in the canonical form the checksum covers.

use std::borrow::ToOwned;
use std::collections::{BTreeMap, BTreeSet};
use std::format;
use std::string::String;
use std::vec::Vec;

use super::json::{write_string, Reader};
use super::{CheckpointError, Dtype, Metadata, CHECKSUM_KEY};

/// One tensor's entry as the header states it, before it is checked against the data.
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) dtype: String,
    pub(crate) shape: Vec<u64>,
    pub(crate) offsets: [u64; 2],
}

/// A parsed header: the tensors in the order the JSON lists them, and the metadata.
pub(crate) struct Header {
    pub(crate) entries: Vec<Entry>,
    pub(crate) metadata: Metadata,
}

/// Parses the header's JSON (already checked to be UTF-8, trailing padding included).
pub(crate) fn parse(json: &str) -> Result<Header, CheckpointError> {
    let mut r = Reader::new(json);
    r.expect(b'{', "'{' at the start of the header")?;
    let mut entries = Vec::new();
    let mut names = BTreeSet::new();
    let mut metadata = None;
    if !r.eat(b'}') {
        loop {
            let key = r.string()?;
            r.expect(b':', "':'")?;
            if key == "__metadata__" {
                if metadata.is_some() {
                    return Err(r.error("`__metadata__` given twice"));
                }
                metadata = Some(parse_metadata(&mut r)?);
            } else {
                if names.contains(&key) {
                    return Err(CheckpointError::DuplicateTensor { name: key });
                }
                let entry = parse_entry(&mut r, &key)?;
                names.insert(key);
                entries.push(entry);
            }
            if r.end_or_comma(b'}')? {
                break;
            }
        }
    }
    if !r.at_end() {
        return Err(r.error("trailing characters after the header object"));
    }
    Ok(Header {
        entries,
        metadata: metadata.unwrap_or_default(),
    })
}

/// `null` or an object of strings.
fn parse_metadata(r: &mut Reader<'_>) -> Result<Metadata, CheckpointError> {
    let mut map = Metadata::new();
    if r.eat_null() {
        return Ok(map);
    }
    r.expect(b'{', "an object or null for `__metadata__`")?;
    if r.eat(b'}') {
        return Ok(map);
    }
    loop {
        let key = r.string()?;
        r.expect(b':', "':'")?;
        let value = r.string()?;
        if map.contains_key(&key) {
            return Err(CheckpointError::malformed(format!(
                "metadata key `{key}` given twice"
            )));
        }
        map.insert(key, value);
        if r.end_or_comma(b'}')? {
            return Ok(map);
        }
    }
}

/// `{"dtype": …, "shape": […], "data_offsets": [begin, end]}`; other fields are skipped,
/// as Python's safetensors does.
fn parse_entry(r: &mut Reader<'_>, name: &str) -> Result<Entry, CheckpointError> {
    r.expect(b'{', "an object for a tensor")?;
    let (mut dtype, mut shape, mut offsets) = (None, None, None);
    if !r.eat(b'}') {
        loop {
            let field = r.string()?;
            r.expect(b':', "':'")?;
            let fresh = match field.as_str() {
                "dtype" => dtype.replace(r.string()?).is_none(),
                "shape" => shape.replace(r.uint_array()?).is_none(),
                "data_offsets" => {
                    let o = r.uint_array()?;
                    let &[begin, end] = o.as_slice() else {
                        return Err(CheckpointError::malformed(format!(
                            "tensor `{name}`: data_offsets must be [begin, end]"
                        )));
                    };
                    offsets.replace([begin, end]).is_none()
                }
                _ => {
                    r.skip_value(0)?;
                    true
                }
            };
            if !fresh {
                return Err(CheckpointError::malformed(format!(
                    "tensor `{name}`: field `{field}` given twice"
                )));
            }
            if r.end_or_comma(b'}')? {
                break;
            }
        }
    }
    let missing =
        |field: &str| CheckpointError::malformed(format!("tensor `{name}` has no `{field}`"));
    Ok(Entry {
        name: name.to_owned(),
        dtype: dtype.ok_or_else(|| missing("dtype"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
        offsets: offsets.ok_or_else(|| missing("data_offsets"))?,
    })
}

/// A tensor checked against the data section: its element type, its shape, and where its
/// bytes are.
pub(crate) struct Checked {
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    pub(crate) numel: usize,
    pub(crate) begin: usize,
    pub(crate) end: usize,
}

/// Checks every entry (dtype known, offsets consistent with dtype size × shape product) and
/// that the tensors tile the data section of `data_len` bytes exactly, as Python's
/// safetensors requires. `prefix` is 8 + the header length, for the truncation message.
pub(crate) fn check(
    header: &Header,
    prefix: u64,
    data_len: usize,
) -> Result<Vec<Checked>, CheckpointError> {
    let mut checked = Vec::with_capacity(header.entries.len());
    for e in &header.entries {
        let dtype =
            Dtype::from_name(&e.dtype).ok_or_else(|| CheckpointError::UnsupportedDtype {
                tensor: e.name.clone(),
                dtype: e.dtype.clone(),
            })?;
        let overflow = || CheckpointError::SizeOverflow {
            tensor: e.name.clone(),
        };
        let mut shape = Vec::with_capacity(e.shape.len());
        let mut numel: usize = 1;
        for &d in &e.shape {
            let d = usize::try_from(d).map_err(|_| overflow())?;
            numel = numel.checked_mul(d).ok_or_else(overflow)?;
            shape.push(d);
        }
        let nbytes = numel.checked_mul(dtype.size()).ok_or_else(overflow)?;
        let [begin, end] = e.offsets;
        if end.checked_sub(begin) != u64::try_from(nbytes).ok() {
            return Err(CheckpointError::malformed(format!(
                "tensor `{}`: data_offsets [{begin}, {end}] do not span the {nbytes} bytes of \
                 dtype {} and shape {shape:?}",
                e.name, e.dtype
            )));
        }
        // Both fit in usize if they fit in the data; otherwise the tiling check below fails.
        let begin = usize::try_from(begin).unwrap_or(usize::MAX);
        let end = usize::try_from(end).unwrap_or(usize::MAX);
        checked.push(Checked {
            dtype,
            shape,
            numel,
            begin,
            end,
        });
    }
    let mut order: Vec<usize> = (0..checked.len()).collect();
    order.sort_by_key(|&i| checked.get(i).map(|c| (c.begin, c.end)));
    let mut cursor = 0usize;
    for &i in &order {
        let (Some(c), Some(e)) = (checked.get(i), header.entries.get(i)) else {
            continue;
        };
        if c.begin != cursor {
            return Err(CheckpointError::malformed(format!(
                "tensor `{}` starts at byte {} of the data, expected {cursor}: tensors must \
                 tile the data section without gaps or overlaps",
                e.name, c.begin
            )));
        }
        cursor = c.end;
    }
    if cursor > data_len {
        let total = |n: usize| prefix.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        return Err(CheckpointError::Truncated {
            expected: total(cursor),
            actual: total(data_len),
        });
    }
    if cursor < data_len {
        return Err(CheckpointError::malformed(format!(
            "{} bytes at the end of the data section belong to no tensor",
            data_len - cursor
        )));
    }
    Ok(checked)
}

/// The canonical header JSON: `__metadata__` first with its keys sorted (left out when
/// empty), then each tensor as `{"dtype":…,"shape":[…],"data_offsets":[b,e]}` in the given
/// order, no whitespace, no padding. Python's safetensors writes the same layout.
pub(crate) fn serialize<'a>(
    tensors: impl Iterator<Item = (&'a str, &'a str, &'a [usize], [u64; 2])>,
    metadata: &BTreeMap<&str, &str>,
) -> String {
    let mut out = String::from("{");
    if !metadata.is_empty() {
        out.push_str("\"__metadata__\":{");
        for (i, (k, v)) in metadata.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_string(&mut out, k);
            out.push(':');
            write_string(&mut out, v);
        }
        out.push('}');
    }
    for (name, dtype, shape, [begin, end]) in tensors {
        if out.len() > 1 {
            out.push(',');
        }
        write_string(&mut out, name);
        out.push_str(":{\"dtype\":");
        write_string(&mut out, dtype);
        out.push_str(",\"shape\":[");
        for (i, d) in shape.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&format!("{d}"));
        }
        out.push_str(&format!("],\"data_offsets\":[{begin},{end}]}}"));
    }
    out.push('}');
    out
}

/// The metadata without the checksum key, as the checksum covers it.
pub(crate) fn without_checksum(metadata: &Metadata) -> BTreeMap<&str, &str> {
    metadata
        .iter()
        .filter(|(k, _)| k.as_str() != CHECKSUM_KEY)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}
