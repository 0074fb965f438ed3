//! A JSON reader that accepts what Python's `json.loads` accepts (with
//! `NaN`, `Infinity` and `-Infinity`) and keeps integers and floats apart the
//! way Python does, so a cookie written by Flask reads back to the same
//! values. `serde_json` is not used here because it rejects `NaN`/`Infinity`
//! (which Python writes) and silently turns integers beyond 64 bits into
//! floats, which would change the value's type on the next write.

use std::collections::BTreeMap;

use super::{TagError, Tagged};

/// How deep arrays and objects may nest. Flask's own cookies are shallow;
/// the limit keeps a hostile (but validly signed) payload from exhausting
/// the stack. `serde_json` uses the same limit.
const MAX_DEPTH: usize = 128;

/// Parses one JSON document into untagged values (dicts stay dicts).
pub(super) fn parse(text: &str) -> Result<Tagged, TagError> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    p.skip_ws();
    let v = p.value(0)?;
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(p.err("extra data after the JSON document"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> TagError {
        TagError::Json(format!("{what} at byte {}", self.i))
    }

    fn skip_ws(&mut self) {
        // Python's json accepts exactly these four whitespace characters.
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Tagged, TagError> {
        match self.s.get(self.i) {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Tagged::Str),
            Some(b'n') if self.eat(b"null") => Ok(Tagged::Null),
            Some(b't') if self.eat(b"true") => Ok(Tagged::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(Tagged::Bool(false)),
            Some(b'N') if self.eat(b"NaN") => Ok(Tagged::Float(f64::NAN)),
            Some(b'I') if self.eat(b"Infinity") => Ok(Tagged::Float(f64::INFINITY)),
            Some(b'-') if self.eat(b"-Infinity") => Ok(Tagged::Float(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err("expecting value")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Tagged, TagError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.i += 1;
        let mut map = BTreeMap::new();
        self.skip_ws();
        if self.eat(b"}") {
            return Ok(Tagged::Dict(map));
        }
        loop {
            self.skip_ws();
            if self.s.get(self.i) != Some(&b'"') {
                return Err(self.err("expecting property name enclosed in double quotes"));
            }
            let key = self.string()?;
            self.skip_ws();
            if !self.eat(b":") {
                return Err(self.err("expecting ':' delimiter"));
            }
            self.skip_ws();
            let v = self.value(depth)?;
            // A repeated key keeps the last value, as a Python dict does.
            map.insert(key, v);
            self.skip_ws();
            if self.eat(b",") {
                continue;
            }
            if self.eat(b"}") {
                return Ok(Tagged::Dict(map));
            }
            return Err(self.err("expecting ',' delimiter"));
        }
    }

    fn array(&mut self, depth: usize) -> Result<Tagged, TagError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting too deep"));
        }
        self.i += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.eat(b"]") {
            return Ok(Tagged::List(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth)?);
            self.skip_ws();
            if self.eat(b",") {
                continue;
            }
            if self.eat(b"]") {
                return Ok(Tagged::List(items));
            }
            return Err(self.err("expecting ',' delimiter"));
        }
    }

    /// Python's number grammar: `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`;
    /// without a fraction or exponent it is an `int`.
    fn number(&mut self) -> Result<Tagged, TagError> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let from = p.i;
            while matches!(p.s.get(p.i), Some(b'0'..=b'9')) {
                p.i += 1;
            }
            p.i - from
        };
        self.eat(b"-");
        if self.eat(b"0") {
            // A leading zero stands alone ("01" is two documents to Python).
        } else if digits(self) == 0 {
            return Err(self.err("expecting value"));
        }
        let mut is_float = false;
        if self.s.get(self.i) == Some(&b'.') {
            let save = self.i;
            self.i += 1;
            if digits(self) == 0 {
                // "1." is an int followed by garbage, as Python sees it.
                self.i = save;
            } else {
                is_float = true;
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            let save = self.i;
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                self.i = save;
            } else {
                is_float = true;
            }
        }
        // The slice holds only ASCII digits, signs, '.', 'e': always UTF-8.
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        if is_float {
            // Rust's parser rounds correctly, as Python's float() does, and
            // gives infinity for out-of-range exponents, as Python does.
            text.parse::<f64>()
                .map(Tagged::Float)
                .map_err(|_| self.err("malformed number"))
        } else {
            text.parse::<i64>()
                .map(Tagged::Int)
                .map_err(|_| TagError::IntegerOutOfRange(text.to_owned()))
        }
    }

    fn hex4(&mut self) -> Result<u16, TagError> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u16::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.err("invalid \\uXXXX escape"))?;
        self.i += 4;
        Ok(h)
    }

    fn string(&mut self) -> Result<String, TagError> {
        self.i += 1; // the opening quote
        let mut out = String::new();
        loop {
            // Copy the run of plain characters in one go.
            let from = self.i;
            while let Some(&b) = self.s.get(self.i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            // `from..i` ends before an ASCII byte or at the end of the
            // input, so it never splits a UTF-8 sequence of `&str` input.
            out.push_str(
                std::str::from_utf8(&self.s[from..self.i])
                    .map_err(|_| self.err("invalid UTF-8"))?,
            );
            match self.s.get(self.i) {
                None => return Err(self.err("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let Some(&esc) = self.s.get(self.i) else {
                        return Err(self.err("unterminated string"));
                    };
                    self.i += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return Err(self.err("invalid \\escape")),
                    }
                }
                // Python's strict mode rejects raw control characters.
                Some(_) => return Err(self.err("invalid control character")),
            }
        }
    }

    fn unicode_escape(&mut self) -> Result<char, TagError> {
        let first = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&first) && self.s[self.i..].starts_with(b"\\u") {
            let save = self.i;
            self.i += 2;
            let second = self.hex4()?;
            if (0xdc00..0xe000).contains(&second) {
                0x10000 + ((u32::from(first) - 0xd800) << 10) + (u32::from(second) - 0xdc00)
            } else {
                self.i = save;
                u32::from(first)
            }
        } else {
            u32::from(first)
        };
        // A lone surrogate is valid to Python but cannot live in a Rust
        // string: such a document is rejected.
        char::from_u32(code).ok_or_else(|| self.err("lone surrogate in \\u escape"))
    }
}
