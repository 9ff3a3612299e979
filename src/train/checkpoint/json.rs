//! The little JSON a safetensors header needs: a reader for objects, strings, unsigned
//! integers and `null` (other values are skipped), and a string writer with serde_json's
//! escapes. Every malformed input is an error naming the byte position; nesting is bounded so
//! hostile input cannot exhaust the stack.

use std::format;
use std::string::String;
use std::vec::Vec;

use super::CheckpointError;

/// How deep skipped values (unknown fields) may nest before the header is refused.
const MAX_DEPTH: usize = 64;

/// A cursor over a header's bytes (already checked to be UTF-8).
pub(crate) struct Reader<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Reader {
            s: s.as_bytes(),
            pos: 0,
        }
    }

    /// A malformed-header error at the current position.
    pub(crate) fn error(&self, what: &str) -> CheckpointError {
        CheckpointError::malformed(format!("{what} at byte {} of the header", self.pos))
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    /// Skips JSON whitespace (space, tab, line feed, carriage return).
    pub(crate) fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Whether only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.ws();
        self.pos >= self.s.len()
    }

    /// Consumes `b` after optional whitespace.
    pub(crate) fn expect(&mut self, b: u8, what: &str) -> Result<(), CheckpointError> {
        self.ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected {what}")))
        }
    }

    /// Consumes `b` after optional whitespace if it is next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        self.ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes the literal `null` if it is next.
    pub(crate) fn eat_null(&mut self) -> bool {
        self.ws();
        if self
            .s
            .get(self.pos..)
            .is_some_and(|r| r.starts_with(b"null"))
        {
            self.pos += 4;
            true
        } else {
            false
        }
    }

    /// After `{` or `[` was consumed: whether the container is empty (consumes the closer).
    /// Otherwise the caller reads elements separated by `,` until [`Reader::end_or_comma`]
    /// says the closer was seen.
    pub(crate) fn end_or_comma(&mut self, close: u8) -> Result<bool, CheckpointError> {
        self.ws();
        match self.bump() {
            Some(b',') => Ok(false),
            Some(c) if c == close => Ok(true),
            _ => {
                self.pos = self.pos.saturating_sub(1);
                Err(self.error(&format!("expected ',' or '{}'", char::from(close))))
            }
        }
    }

    /// A JSON string.
    pub(crate) fn string(&mut self) -> Result<String, CheckpointError> {
        self.expect(b'"', "a string")?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(b) = self.bump() else {
                return Err(self.error("unterminated string"));
            };
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.bump() else {
                        return Err(self.error("unterminated escape"));
                    };
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.error("invalid escape")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => return Err(self.error("control character in string")),
                _ => out.push(b),
            }
        }
        // Only whole UTF-8 sequences were copied (the input is UTF-8 and we split at ASCII).
        String::from_utf8(out).map_err(|_| self.error("invalid UTF-8 in string"))
    }

    /// Four hex digits after `\u`.
    fn hex4(&mut self) -> Result<u32, CheckpointError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.bump() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.error("invalid \\u escape")),
            };
            v = (v << 4) | u32::from(d);
        }
        Ok(v)
    }

    /// The character of a `\uXXXX` escape (a surrogate pair takes two escapes).
    fn unicode_escape(&mut self) -> Result<char, CheckpointError> {
        let hi = self.hex4()?;
        let code = match hi {
            0xD800..=0xDBFF => {
                if self.bump() != Some(b'\\') || self.bump() != Some(b'u') {
                    return Err(self.error("lone surrogate in \\u escape"));
                }
                let lo = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return Err(self.error("invalid low surrogate in \\u escape"));
                }
                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone surrogate in \\u escape")),
            c => c,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))
    }

    /// A non-negative integer without sign, fraction or exponent that fits in `u64`.
    pub(crate) fn uint(&mut self) -> Result<u64, CheckpointError> {
        self.ws();
        let start = self.pos;
        let mut v: u64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(c - b'0')))
                .ok_or_else(|| self.error("integer overflows u64"))?;
            self.pos += 1;
        }
        let digits = self.pos - start;
        if digits == 0
            || (digits > 1 && self.s.get(start) == Some(&b'0'))
            || matches!(self.peek(), Some(b'.' | b'e' | b'E'))
        {
            self.pos = start;
            return Err(self.error("expected an unsigned integer"));
        }
        Ok(v)
    }

    /// A `[…]` of unsigned integers.
    pub(crate) fn uint_array(&mut self) -> Result<Vec<u64>, CheckpointError> {
        self.expect(b'[', "'['")?;
        let mut out = Vec::new();
        if self.eat(b']') {
            return Ok(out);
        }
        loop {
            out.push(self.uint()?);
            if self.end_or_comma(b']')? {
                return Ok(out);
            }
        }
    }

    /// Skips any JSON value.
    pub(crate) fn skip_value(&mut self, depth: usize) -> Result<(), CheckpointError> {
        if depth > MAX_DEPTH {
            return Err(self.error("values nested too deeply"));
        }
        self.ws();
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => {
                self.pos += 1;
                if self.eat(b'}') {
                    return Ok(());
                }
                loop {
                    self.string()?;
                    self.expect(b':', "':'")?;
                    self.skip_value(depth + 1)?;
                    if self.end_or_comma(b'}')? {
                        return Ok(());
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                if self.eat(b']') {
                    return Ok(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    if self.end_or_comma(b']')? {
                        return Ok(());
                    }
                }
            }
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.error("expected a JSON value")),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), CheckpointError> {
        if self.s.get(self.pos..).is_some_and(|r| r.starts_with(word)) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("invalid literal"))
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Any JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Result<(), CheckpointError> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let first = self.peek();
        let n = self.digits();
        if n == 0 || (n > 1 && first == Some(b'0')) {
            return Err(self.error("invalid number"));
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        Ok(())
    }
}

/// Appends `s` as a JSON string literal, escaped as serde_json does (and so as Python's
/// safetensors writes): `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other control characters
/// as `\u00xx`; everything else verbatim UTF-8.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_through_escapes() {
        for s in ["", "a.b", "q\"\\/\u{1}\n\t", "é€😀", "\u{7f}"] {
            let mut j = String::new();
            write_string(&mut j, s);
            assert_eq!(Reader::new(&j).string().unwrap(), s);
        }
        assert_eq!(Reader::new("\"\\ud83d\\ude00\"").string().unwrap(), "😀");
        assert!(Reader::new("\"\\ud83d\"").string().is_err());
        assert!(Reader::new("\"\\ude00\"").string().is_err());
        assert!(Reader::new("\"a").string().is_err());
        assert!(Reader::new("\"\u{1}\"").string().is_err());
    }

    #[test]
    fn unsigned_integers() {
        assert_eq!(Reader::new(" 0").uint().unwrap(), 0);
        assert_eq!(
            Reader::new("18446744073709551615").uint().unwrap(),
            u64::MAX
        );
        for bad in ["18446744073709551616", "01", "-1", "1.0", "1e3", "", "x"] {
            assert!(Reader::new(bad).uint().is_err(), "{bad}");
        }
    }

    #[test]
    fn skips_values_with_bounded_depth() {
        let ok = r#"{"a":[1,-2.5e+3,true,false,null,{"b":"c"}],"d":{}}"#;
        let mut r = Reader::new(ok);
        r.skip_value(0).unwrap();
        assert!(r.at_end());
        let deep = "[".repeat(100) + &"]".repeat(100);
        assert!(Reader::new(&deep).skip_value(0).is_err());
        for bad in ["[1,]", "{\"a\"}", "01", "-", "1.", "1e", "tru", "[1 2]"] {
            let mut r = Reader::new(bad);
            assert!(r.skip_value(0).is_err() || !r.at_end(), "{bad}");
        }
    }
}
