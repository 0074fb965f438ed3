//! How Jinja2 turns values into text: Python's `str()` and `repr()` for what
//! `{{ value }}` prints, and Flask's `tojson` (Python's `json.dumps` with
//! sorted keys, `ensure_ascii` and Jinja2's HTML-safe replacements).
//!
//! minijinja prints `[1, "a", none]` for a list and `1e16` for a float where
//! Jinja2 prints `[1, 'a', None]` and `1e+16`; pages must be byte-identical to
//! Flask's, so the host formats values itself.

use std::borrow::Cow;
use std::fmt::Write;

use minijinja::value::ValueKind;
use minijinja::{Error, ErrorKind, Value};

/// How deep nested containers are printed before `...` stands in for the
/// rest. Python prints `[...]` only for cycles; this bound keeps a
/// pathological host object from overflowing the stack.
const MAX_DEPTH: usize = 64;

/// Python's `str(value)`, what `{{ value }}` prints before escaping.
pub(crate) fn py_str(value: &Value) -> Cow<'_, str> {
    if let Some(s) = value.as_str() {
        if value.kind() == ValueKind::String {
            return Cow::Borrowed(s);
        }
    }
    match value.kind() {
        ValueKind::Undefined => Cow::Borrowed(""),
        ValueKind::String => Cow::Owned(value.to_string()),
        _ => {
            let mut out = String::new();
            write_repr(value, &mut out, 0);
            Cow::Owned(out)
        }
    }
}

/// Python's `repr(value)` appended to `out`.
fn write_repr(value: &Value, out: &mut String, depth: usize) {
    match value.kind() {
        ValueKind::Undefined => out.push_str("Undefined"),
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::Number => write_number(value, out),
        ValueKind::String => {
            let s = value.to_string();
            write_str_repr(&s, out);
        }
        ValueKind::Bytes => {
            out.push('b');
            let bytes = value.as_bytes().unwrap_or_default();
            write_bytes_repr(bytes, out);
        }
        ValueKind::Seq | ValueKind::Map if depth >= MAX_DEPTH => out.push_str("..."),
        ValueKind::Seq => {
            out.push('[');
            if let Ok(iter) = value.try_iter() {
                for (i, item) in iter.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_repr(&item, out, depth + 1);
                }
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            let pairs = value.as_object().and_then(|o| o.try_iter_pairs());
            for (i, (k, v)) in pairs.into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(&k, out, depth + 1);
                out.push_str(": ");
                write_repr(&v, out, depth + 1);
            }
            out.push('}');
        }
        // Iterables, plain host objects and functions print as they choose.
        _ => {
            let _ = write!(out, "{value}");
        }
    }
}

/// Python's `repr` of an int or a float (`1e+16`, `inf`, `nan`).
fn write_number(value: &Value, out: &mut String) {
    if value.is_integer() {
        let _ = write!(out, "{value}");
        return;
    }
    match f64::try_from(value.clone()) {
        Ok(f) if f.is_nan() => out.push_str("nan"),
        Ok(f) if f.is_infinite() => out.push_str(if f > 0.0 { "inf" } else { "-inf" }),
        Ok(f) => out.push_str(&crate::json::float_repr(f)),
        Err(_) => {
            let _ = write!(out, "{value}");
        }
    }
}

/// Python's `repr(str)`: single quotes unless the text has a single quote and
/// no double quote; control and non-printable characters escaped.
fn write_str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => {
                let n = c as u32;
                let _ = if n < 0x100 {
                    write!(out, "\\x{n:02x}")
                } else if n < 0x10000 {
                    write!(out, "\\u{n:04x}")
                } else {
                    write!(out, "\\U{n:08x}")
                };
            }
        }
    }
    out.push(quote);
}

/// Python's `repr(bytes)` after the `b` prefix.
fn write_bytes_repr(bytes: &[u8], out: &mut String) {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    out.push(quote as char);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b if b == quote => {
                out.push('\\');
                out.push(b as char);
            }
            b' '..=b'~' => out.push(b as char),
            b => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(quote as char);
}

/// An approximation of Python's `str.isprintable` that is exact for ASCII and
/// Latin-1 and covers the common invisible characters beyond.
fn is_printable(c: char) -> bool {
    let n = c as u32;
    !(n < 0x20
        || (0x7f..=0xa0).contains(&n)
        || n == 0xad
        || n == 0x1680
        || (0x2000..=0x200f).contains(&n)
        || (0x2028..=0x202f).contains(&n)
        || (0x205f..=0x2064).contains(&n)
        || n == 0x3000
        || n == 0xfeff
        || (0xe000..=0xf8ff).contains(&n))
}

/// Flask's `tojson` filter: `json.dumps(value, sort_keys=True,
/// ensure_ascii=True, indent=indent)` with `<`, `>`, `&` and `'` written as
/// `\u003c`, `\u003e`, `\u0026`, `\u0027` so the result is safe in HTML
/// `<script>` blocks and single-quoted attributes.
pub(crate) fn tojson(value: &Value, indent: Option<usize>) -> Result<String, Error> {
    let mut out = String::new();
    write_json(value, indent, 0, &mut out)?;
    Ok(out)
}

fn not_serializable(kind: &str) -> Error {
    Error::new(
        ErrorKind::InvalidOperation,
        format!("Object of type {kind} is not JSON serializable"),
    )
}

fn write_json(
    value: &Value,
    indent: Option<usize>,
    depth: usize,
    out: &mut String,
) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "maximum recursion depth exceeded while encoding a JSON object",
        ));
    }
    match value.kind() {
        // Python's encoder has no answer for Jinja2's Undefined or for bytes.
        ValueKind::Undefined => return Err(not_serializable("Undefined")),
        ValueKind::Bytes => return Err(not_serializable("bytes")),
        ValueKind::Invalid => return Err(not_serializable("invalid value")),
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number => {
            if value.is_integer() {
                let _ = write!(out, "{value}");
            } else {
                let f = f64::try_from(value.clone())?;
                out.push_str(&crate::json::float_repr(f));
            }
        }
        ValueKind::String => write_json_str(&value.to_string(), out),
        ValueKind::Map => {
            let mut pairs: Vec<(Value, Value)> = value
                .as_object()
                .and_then(|o| o.try_iter_pairs())
                .map(|it| it.collect())
                .unwrap_or_default();
            // sort_keys=True; keys of one type sort as Python sorts them.
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            write_container(out, '{', '}', pairs.len(), indent, depth, |out, i| {
                let (k, v) = &pairs[i];
                let key = match k.kind() {
                    ValueKind::String => k.to_string(),
                    ValueKind::None => "null".to_owned(),
                    ValueKind::Bool => (if k.is_true() { "true" } else { "false" }).to_owned(),
                    ValueKind::Number => tojson(k, None)?,
                    other => {
                        return Err(Error::new(
                            ErrorKind::InvalidOperation,
                            format!("keys must be str, int, float, bool or None, not {other}"),
                        ))
                    }
                };
                write_json_str(&key, out);
                out.push_str(": ");
                write_json(v, indent, depth + 1, out)
            })?;
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = value.try_iter()?.collect();
            write_container(out, '[', ']', items.len(), indent, depth, |out, i| {
                write_json(&items[i], indent, depth + 1, out)
            })?;
        }
        // Host objects without a map or list shape (and kinds minijinja may
        // add) serialize as their text, as Flask's provider does for Markup.
        _ => write_json_str(&value.to_string(), out),
    }
    Ok(())
}

/// Writes `len` items between `open` and `close` with Python's separators:
/// `", "` inline, or `",\n"` plus indentation when `indent` is set.
fn write_container(
    out: &mut String,
    open: char,
    close: char,
    len: usize,
    indent: Option<usize>,
    depth: usize,
    mut item: impl FnMut(&mut String, usize) -> Result<(), Error>,
) -> Result<(), Error> {
    out.push(open);
    if len == 0 {
        out.push(close);
        return Ok(());
    }
    for i in 0..len {
        match indent {
            Some(n) => {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                push_spaces(out, n * (depth + 1));
            }
            None if i > 0 => out.push_str(", "),
            None => {}
        }
        item(out, i)?;
    }
    if let Some(n) = indent {
        out.push('\n');
        push_spaces(out, n * depth);
    }
    out.push(close);
    Ok(())
}

fn push_spaces(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

/// A JSON string with `ensure_ascii`, then Jinja2's `htmlsafe_json_dumps`
/// replacements.
fn write_json_str(s: &str, out: &mut String) {
    let mut plain = String::with_capacity(s.len() + 2);
    crate::json::write_str(s, &mut plain);
    for c in plain.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\'' => out.push_str("\\u0027"),
            c => out.push(c),
        }
    }
}
