//! Flask's tagged JSON (`flask/json/tag.py`, `TaggedJSONSerializer`): JSON
//! with a few extra Python types kept lossless by wrapping them in one-key
//! objects whose key is a *tag*:
//!
//! | tag    | Python type                      | JSON form                      |
//! |--------|----------------------------------|--------------------------------|
//! | `" t"` | `tuple`                          | list of items                  |
//! | `" b"` | `bytes`                          | standard base64, padded        |
//! | `" m"` | `Markup` (anything with `__html__`) | the HTML string             |
//! | `" u"` | `uuid.UUID`                      | 32 lowercase hex digits        |
//! | `" d"` | `datetime`                       | `http_date(value)`             |
//! | `" di"`| a 1-key dict whose key is a tag  | `{key + "__": value}`          |
//!
//! Flask tries its tags in this order: `TagDict`, `PassDict`, `TagTuple`,
//! `PassList`, `TagBytes`, `TagMarkup`, `TagUUID`, `TagDateTime`. With
//! distinct Rust variants the order only matters for dicts: a dict with
//! exactly one key that is itself a tag is escaped with `" di"`.
//!
//! Output is what Flask writes inside an app context: compact, keys sorted,
//! non-ASCII escaped (`crate::json`'s writer), so a session cookie's payload
//! is byte-identical to Flask's.
//!
//! Integers beyond `i64` (possible from a Python app sharing the secret key)
//! are rejected with [`TagError::IntegerOutOfRange`], which makes the
//! session layer treat the cookie as invalid (empty session): turning them
//! into floats would silently change their value and type on the next write.

mod parse;

use std::collections::BTreeMap;

use base64::Engine as _;

use crate::json::{float_repr, write_str};

/// A value Flask can keep in a session: JSON plus the tagged Python types.
#[derive(Debug, Clone, PartialEq)]
pub enum Tagged {
    /// `None` / `null`.
    Null,
    /// `bool`.
    Bool(bool),
    /// `int` (within `i64`).
    Int(i64),
    /// `float`, including NaN and infinities (written as Python writes them).
    Float(f64),
    /// `str`.
    Str(String),
    /// `list`.
    List(Vec<Tagged>),
    /// `tuple`, tagged `" t"`.
    Tuple(Vec<Tagged>),
    /// `dict` with string keys (JSON objects only have string keys).
    Dict(BTreeMap<String, Tagged>),
    /// `bytes`, tagged `" b"`.
    Bytes(Vec<u8>),
    /// `markupsafe.Markup`, tagged `" m"`: HTML that is already safe.
    Markup(String),
    /// `uuid.UUID`, tagged `" u"`, held as Flask writes it: 32 lowercase hex
    /// digits (`UUID.hex`). Build it with [`Tagged::uuid`] to normalise.
    Uuid(String),
    /// `datetime`, tagged `" d"`, held as Flask writes it: an HTTP date such
    /// as `Wed, 21 Oct 2015 07:28:00 GMT`. Kept verbatim when read back, so a
    /// value written by Flask round-trips byte for byte.
    DateTime(String),
}

/// Why a tagged JSON document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagError {
    /// Not JSON as Python's `json.loads` reads it (or nested too deep, or a
    /// lone surrogate escape that a Rust string cannot hold).
    Json(String),
    /// An integer literal outside `i64`; see the module docs.
    IntegerOutOfRange(String),
    /// A tag whose value has the wrong shape (Flask would raise while
    /// untagging, for example on invalid base64 under `" b"`).
    BadTag(&'static str),
}

impl std::fmt::Display for TagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TagError::Json(m) => write!(f, "invalid JSON: {m}"),
            TagError::IntegerOutOfRange(n) => write!(f, "integer out of range: {n}"),
            TagError::BadTag(t) => write!(f, "malformed value for tag {t:?}"),
        }
    }
}

impl std::error::Error for TagError {}

/// The keys Flask registers as tags; a 1-key dict using one of them as its
/// key must be escaped with `" di"`.
const TAGS: [&str; 6] = [" di", " t", " b", " m", " u", " d"];

/// Serializes `value` as Flask's session serializer does inside an app
/// context: tagged, compact, keys sorted, ASCII only.
pub fn dumps(value: &Tagged) -> String {
    let mut out = String::new();
    write_tagged(value, &mut out);
    out
}

/// Parses a tagged JSON document and turns tags back into values, as
/// `TaggedJSONSerializer.loads` does.
pub fn loads(text: &str) -> Result<Tagged, TagError> {
    untag_scan(parse::parse(text)?)
}

fn write_tagged(value: &Tagged, out: &mut String) {
    match value {
        Tagged::Null => out.push_str("null"),
        Tagged::Bool(true) => out.push_str("true"),
        Tagged::Bool(false) => out.push_str("false"),
        Tagged::Int(i) => out.push_str(&i.to_string()),
        Tagged::Float(f) => out.push_str(&float_repr(*f)),
        Tagged::Str(s) => write_str(s, out),
        Tagged::List(items) => write_list(items, out),
        Tagged::Tuple(items) => {
            out.push_str("{\" t\":");
            write_list(items, out);
            out.push('}');
        }
        Tagged::Dict(map) => {
            let mut only = map.iter();
            match (only.next(), only.next()) {
                (Some((k, v)), None) if TAGS.contains(&k.as_str()) => {
                    out.push_str("{\" di\":{");
                    write_str(&format!("{k}__"), out);
                    out.push(':');
                    write_tagged(v, out);
                    out.push_str("}}");
                }
                _ => {
                    // BTreeMap iterates in code-point order, which is how
                    // Python's sort_keys orders str keys.
                    out.push('{');
                    for (i, (k, v)) in map.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        write_str(k, out);
                        out.push(':');
                        write_tagged(v, out);
                    }
                    out.push('}');
                }
            }
        }
        Tagged::Bytes(b) => write_tag(
            " b",
            &base64::engine::general_purpose::STANDARD.encode(b),
            out,
        ),
        Tagged::Markup(s) => write_tag(" m", s, out),
        Tagged::Uuid(s) => write_tag(" u", s, out),
        Tagged::DateTime(s) => write_tag(" d", s, out),
    }
}

fn write_list(items: &[Tagged], out: &mut String) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_tagged(item, out);
    }
    out.push(']');
}

fn write_tag(tag: &str, s: &str, out: &mut String) {
    out.push('{');
    write_str(tag, out);
    out.push(':');
    write_str(s, out);
    out.push('}');
}

/// `_untag_scan`: children first, then the dict itself.
fn untag_scan(value: Tagged) -> Result<Tagged, TagError> {
    match value {
        Tagged::Dict(map) => {
            let map = map
                .into_iter()
                .map(|(k, v)| Ok((k, untag_scan(v)?)))
                .collect::<Result<BTreeMap<_, _>, TagError>>()?;
            untag(map)
        }
        Tagged::List(items) => Ok(Tagged::List(
            items
                .into_iter()
                .map(untag_scan)
                .collect::<Result<_, _>>()?,
        )),
        other => Ok(other),
    }
}

/// `TaggedJSONSerializer.untag`: only a dict with exactly one key that is a
/// registered tag is converted.
fn untag(mut map: BTreeMap<String, Tagged>) -> Result<Tagged, TagError> {
    if map.len() != 1 {
        return Ok(Tagged::Dict(map));
    }
    let Some(key) = map.keys().next().cloned() else {
        return Ok(Tagged::Dict(map));
    };
    let Some(tag) = TAGS.iter().find(|t| **t == key) else {
        return Ok(Tagged::Dict(map));
    };
    let Some(value) = map.remove(&key) else {
        return Ok(Tagged::Dict(map));
    };
    match (*tag, value) {
        (" di", Tagged::Dict(inner)) if inner.len() == 1 => {
            // TagDict.to_python: strip the two characters the writer added.
            let (k, v) = inner.into_iter().next().ok_or(TagError::BadTag(" di"))?;
            let cut = k.char_indices().rev().nth(1).map_or(0, |(i, _)| i);
            Ok(Tagged::Dict(BTreeMap::from([(k[..cut].to_owned(), v)])))
        }
        (" t", Tagged::List(items)) => Ok(Tagged::Tuple(items)),
        (" b", Tagged::Str(s)) => b64_standard_lenient(&s)
            .map(Tagged::Bytes)
            .ok_or(TagError::BadTag(" b")),
        (" m", Tagged::Str(s)) => Ok(Tagged::Markup(s)),
        (" u", Tagged::Str(s)) => Tagged::uuid(&s).ok_or(TagError::BadTag(" u")),
        (" d", Tagged::Str(s)) => Ok(Tagged::DateTime(s)),
        (t, _) => Err(TagError::BadTag(t)),
    }
}

/// `base64.b64decode` as Flask calls it (not `validate`): characters outside
/// the standard alphabet are skipped, padding is required, stray trailing
/// bits are accepted. (Python also reads past a padded quantum in the
/// middle; Flask never writes one, so that is rejected here.)
fn b64_standard_lenient(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
            .with_decode_allow_trailing_bits(true),
    );
    let kept: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
        .collect();
    ENGINE.decode(kept).ok()
}

impl Tagged {
    /// A [`Tagged::Uuid`] from any form Python's `uuid.UUID(str)` accepts
    /// (hyphens anywhere, braces, `urn:uuid:` prefix, any case), normalised
    /// to the 32 lowercase hex digits Flask writes; `None` if not a UUID.
    pub fn uuid(s: &str) -> Option<Tagged> {
        let s = s.replace("urn:", "").replace("uuid:", "");
        let hex: String = s
            .trim_matches(|c| c == '{' || c == '}')
            .chars()
            .filter(|c| *c != '-')
            .collect();
        (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Tagged::Uuid(hex.to_ascii_lowercase()))
    }

    /// Python truthiness (`bool(value)`): empty containers, `0`, `0.0`,
    /// `""`, `None` and `False` are false.
    pub fn truthy(&self) -> bool {
        match self {
            Tagged::Null => false,
            Tagged::Bool(b) => *b,
            Tagged::Int(i) => *i != 0,
            Tagged::Float(f) => *f != 0.0,
            Tagged::Str(s) | Tagged::Markup(s) => !s.is_empty(),
            Tagged::List(v) | Tagged::Tuple(v) => !v.is_empty(),
            Tagged::Dict(m) => !m.is_empty(),
            Tagged::Bytes(b) => !b.is_empty(),
            Tagged::Uuid(_) | Tagged::DateTime(_) => true,
        }
    }

    /// The text of a `Str` or `Markup` value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Tagged::Str(s) | Tagged::Markup(s) => Some(s),
            _ => None,
        }
    }

    /// A plain JSON view for templates and scripts: tuples become arrays,
    /// markup and datetimes their text, UUIDs their hyphenated form (Python's
    /// `str(uuid)`), bytes their text decoded leniently; NaN and infinities
    /// (which JSON values cannot hold) become `null`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Tagged::Null => Value::Null,
            Tagged::Bool(b) => Value::Bool(*b),
            Tagged::Int(i) => Value::from(*i),
            Tagged::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Tagged::Str(s) | Tagged::Markup(s) | Tagged::DateTime(s) => Value::String(s.clone()),
            Tagged::List(v) | Tagged::Tuple(v) => {
                Value::Array(v.iter().map(Tagged::to_json).collect())
            }
            Tagged::Dict(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
            Tagged::Bytes(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
            Tagged::Uuid(h) if h.len() == 32 && h.is_ascii() => Value::String(format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            )),
            Tagged::Uuid(h) => Value::String(h.clone()),
        }
    }

    /// A plain JSON value as session data (no tags are interpreted: a JSON
    /// object is always a dict). Integers beyond `i64` become floats.
    pub fn from_json(value: &serde_json::Value) -> Tagged {
        use serde_json::Value;
        match value {
            Value::Null => Tagged::Null,
            Value::Bool(b) => Tagged::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Tagged::Int(i),
                None => Tagged::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Tagged::Str(s.clone()),
            Value::Array(v) => Tagged::List(v.iter().map(Tagged::from_json).collect()),
            Value::Object(m) => Tagged::Dict(
                m.iter()
                    .map(|(k, v)| (k.clone(), Tagged::from_json(v)))
                    .collect(),
            ),
        }
    }
}

impl From<&str> for Tagged {
    fn from(s: &str) -> Self {
        Tagged::Str(s.to_owned())
    }
}

impl From<String> for Tagged {
    fn from(s: String) -> Self {
        Tagged::Str(s)
    }
}

impl From<i64> for Tagged {
    fn from(i: i64) -> Self {
        Tagged::Int(i)
    }
}

impl From<bool> for Tagged {
    fn from(b: bool) -> Self {
        Tagged::Bool(b)
    }
}

impl From<f64> for Tagged {
    fn from(f: f64) -> Self {
        Tagged::Float(f)
    }
}

#[cfg(test)]
mod tests;
