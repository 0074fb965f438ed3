//! Route values and the few Python semantics routing depends on: `str()`
//! of a value, `==` between numbers, `int()`/`float()` of text, `repr()` of
//! a string, and the regex classes `\d` and `\w` of a `str` pattern.

use std::fmt;

/// A value captured from a URL or given to `url_for`.
///
/// `Display` writes Python's `str()` of the value, which is what Werkzeug's
/// converters put into a URL: `Float(1.0)` is `1.0`, `Float(1e20)` is
/// `1e+20`, and `Bool(true)` is `True` (a script passing a boolean gets the
/// same text a Python view passing `True` would).
#[derive(Clone, Debug, PartialEq)]
pub enum RouteValue {
    /// Text (`string`, `path`, `any` and `uuid` converters).
    Str(String),
    /// An integer (`int` converter).
    Int(i64),
    /// A float (`float` converter).
    Float(f64),
    /// A boolean; only ever given by the caller, never captured.
    Bool(bool),
}

impl fmt::Display for RouteValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteValue::Str(s) => f.write_str(s),
            RouteValue::Int(i) => write!(f, "{i}"),
            RouteValue::Float(x) => f.write_str(&py_float_str(*x)),
            RouteValue::Bool(true) => f.write_str("True"),
            RouteValue::Bool(false) => f.write_str("False"),
        }
    }
}

impl From<&str> for RouteValue {
    fn from(s: &str) -> Self {
        RouteValue::Str(s.to_owned())
    }
}

impl From<String> for RouteValue {
    fn from(s: String) -> Self {
        RouteValue::Str(s)
    }
}

impl From<i64> for RouteValue {
    fn from(i: i64) -> Self {
        RouteValue::Int(i)
    }
}

impl From<f64> for RouteValue {
    fn from(x: f64) -> Self {
        RouteValue::Float(x)
    }
}

impl From<bool> for RouteValue {
    fn from(b: bool) -> Self {
        RouteValue::Bool(b)
    }
}

impl RouteValue {
    /// Python's `==`: numbers compare by value across `int`, `float` and
    /// `bool` (`1 == 1.0 == True`), text only equals text. Werkzeug uses it
    /// to check that a value given to `build` agrees with a rule default.
    pub fn py_eq(&self, other: &RouteValue) -> bool {
        match (self.as_number(), other.as_number()) {
            (Some(a), Some(b)) => a.eq(&b),
            _ => match (self, other) {
                (RouteValue::Str(a), RouteValue::Str(b)) => a == b,
                _ => false,
            },
        }
    }

    fn as_number(&self) -> Option<Number> {
        match self {
            RouteValue::Int(i) => Some(Number::Int(i128::from(*i))),
            RouteValue::Bool(b) => Some(Number::Int(i128::from(*b))),
            RouteValue::Float(x) => Some(Number::Float(*x)),
            RouteValue::Str(_) => None,
        }
    }
}

/// A Python number, for comparisons that must not lose precision.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Number {
    Int(i128),
    Float(f64),
}

impl Number {
    /// Python's `==` between numbers.
    pub(crate) fn eq(&self, other: &Number) -> bool {
        self.partial_cmp_num(other) == Some(std::cmp::Ordering::Equal)
    }

    /// Python's ordering between numbers (`None` when a NaN is involved).
    pub(crate) fn partial_cmp_num(&self, other: &Number) -> Option<std::cmp::Ordering> {
        match (*self, *other) {
            (Number::Int(a), Number::Int(b)) => Some(a.cmp(&b)),
            (Number::Float(a), Number::Float(b)) => a.partial_cmp(&b),
            (Number::Int(a), Number::Float(b)) => int_float_cmp(a, b),
            (Number::Float(a), Number::Int(b)) => int_float_cmp(b, a).map(|o| o.reverse()),
        }
    }
}

/// Compares an integer with a float exactly, as Python does.
fn int_float_cmp(i: i128, f: f64) -> Option<std::cmp::Ordering> {
    if f.is_nan() {
        return None;
    }
    if f.is_infinite() {
        return Some(if f > 0.0 {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Greater
        });
    }
    // Every i128 we hold fits an f64 exponent range, and a finite f64 with
    // magnitude below 2^127 converts to i128 exactly after truncation.
    if f.abs() >= 1.7e38 {
        return Some(if f > 0.0 {
            std::cmp::Ordering::Less
        } else {
            std::cmp::Ordering::Greater
        });
    }
    let t = f.trunc() as i128;
    match i.cmp(&t) {
        std::cmp::Ordering::Equal => {
            let frac = f - f.trunc();
            Some(if frac > 0.0 {
                std::cmp::Ordering::Less
            } else if frac < 0.0 {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            })
        }
        o => Some(o),
    }
}

/// Python's `str(float)`: like `repr`, with `nan`, `inf` and `-inf`.
pub(crate) fn py_float_str(x: f64) -> String {
    if x.is_nan() {
        "nan".to_owned()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        crate::json::float_repr(x)
    }
}

/// First code points of the runs of ten Unicode decimal digits (category
/// `Nd`, Unicode 14.0 as in Python 3.11). Python's `\d` and `int()` accept
/// all of them, so `/<int:x>` matches `/١٢٣` as 123.
const ND_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// The value of a decimal digit as Python's `\d` / `int()` see it.
pub(crate) fn decimal_value(c: char) -> Option<u32> {
    if c.is_ascii_digit() {
        return Some(c as u32 - 0x30);
    }
    if c.is_ascii() {
        return None;
    }
    let cp = c as u32;
    let idx = ND_ZEROS.partition_point(|&z| z <= cp);
    let zero = ND_ZEROS[idx.checked_sub(1)?];
    (cp - zero < 10).then_some(cp - zero)
}

/// Python's `\d` in a `str` pattern.
pub(crate) fn is_py_digit(c: char) -> bool {
    decimal_value(c).is_some()
}

/// Python's `\w` in a `str` pattern (close approximation: alphanumerics and
/// `_`).
pub(crate) fn is_py_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Python's `str.strip()` whitespace.
fn strip_py_ws(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// Removes `_` separators that Python's `int()`/`float()` accept (single
/// underscores between digits) and maps Unicode digits to ASCII. Returns
/// `None` for a misplaced underscore.
fn normalize_digits(s: &str) -> Option<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            let prev = i.checked_sub(1).and_then(|p| chars.get(p));
            let next = chars.get(i + 1);
            match (prev, next) {
                (Some(p), Some(n)) if is_py_digit(*p) && is_py_digit(*n) => continue,
                _ => return None,
            }
        }
        match decimal_value(c) {
            Some(d) => out.push(char::from(b'0' + d as u8)),
            None => out.push(c),
        }
    }
    Some(out)
}

/// Python's `int(text)` in base 10, as canonical decimal text (Python ints
/// are unbounded, so the digits are kept as text). The error is Python's.
pub(crate) fn py_int_text(text: &str) -> Result<String, String> {
    let err = || format!("invalid literal for int() with base 10: {}", py_repr(text));
    let s = normalize_digits(strip_py_ws(text)).ok_or_else(err)?;
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, &s[..]),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    let trimmed = digits.trim_start_matches('0');
    Ok(match (trimmed.is_empty(), neg) {
        (true, _) => "0".to_owned(),
        (false, true) => format!("-{trimmed}"),
        (false, false) => trimmed.to_owned(),
    })
}

/// Python's `float(text)`. The error is Python's.
pub(crate) fn py_float_parse(text: &str) -> Result<f64, String> {
    let err = || format!("could not convert string to float: {}", py_repr(text));
    let s = normalize_digits(strip_py_ws(text)).ok_or_else(err)?;
    // Rust accepts the same grammar as Python (including `inf`, `nan`,
    // `infinity` in any case), except that it also takes nothing extra.
    s.parse::<f64>().map_err(|_| err())
}

/// Python's `int(float)`: truncation, as canonical decimal text.
pub(crate) fn py_int_of_float(x: f64) -> Result<String, String> {
    if x.is_nan() {
        return Err("cannot convert float NaN to integer".to_owned());
    }
    if x.is_infinite() {
        return Err("cannot convert float infinity to integer".to_owned());
    }
    let t = x.trunc();
    let s = format!("{t:.0}");
    Ok(if s == "-0" { "0".to_owned() } else { s })
}

/// Python's `repr()` of a `str`: single quotes unless the text holds a `'`
/// and no `"`, backslash escapes for the quote, `\\`, `\t`, `\n`, `\r`, and
/// `\x`/`\u`/`\U` escapes for characters Python deems unprintable (control,
/// format, separator and private-use characters; unassigned code points are
/// not known here and print as themselves).
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !is_py_printable(c) => {
                let cp = c as u32;
                if cp < 0x100 {
                    out.push_str(&format!("\\x{cp:02x}"));
                } else if cp < 0x10000 {
                    out.push_str(&format!("\\u{cp:04x}"));
                } else {
                    out.push_str(&format!("\\U{cp:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable()` for one character, minus the unassigned
/// code points (which need the full Unicode database).
fn is_py_printable(c: char) -> bool {
    let cp = c as u32;
    if c == ' ' {
        return true;
    }
    if c.is_control() {
        return false;
    }
    // Separators (Zs except space, Zl, Zp).
    if matches!(
        cp,
        0xA0 | 0x1680 | 0x2000..=0x200A | 0x2028 | 0x2029 | 0x202F | 0x205F | 0x3000
    ) {
        return false;
    }
    // Format characters (Cf).
    if matches!(
        cp,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x890..=0x891
            | 0x8E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x13438
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    ) {
        return false;
    }
    // Private use (Co) and surrogates cannot appear in a Rust `str`.
    !matches!(cp, 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD)
}

/// Python's `repr()` of a list of strings: `['a', 'b']`.
pub(crate) fn py_list_repr<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let parts: Vec<String> = items.into_iter().map(py_repr).collect();
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_python_str() {
        assert_eq!(RouteValue::Bool(true).to_string(), "True");
        assert_eq!(RouteValue::Bool(false).to_string(), "False");
        assert_eq!(RouteValue::Float(1.0).to_string(), "1.0");
        assert_eq!(RouteValue::Float(1e20).to_string(), "1e+20");
        assert_eq!(RouteValue::Float(f64::NAN).to_string(), "nan");
        assert_eq!(RouteValue::Float(f64::NEG_INFINITY).to_string(), "-inf");
        assert_eq!(RouteValue::Int(-3).to_string(), "-3");
        assert_eq!(RouteValue::from("a b").to_string(), "a b");
    }

    #[test]
    fn python_equality_across_numbers() {
        assert!(RouteValue::Int(1).py_eq(&RouteValue::Float(1.0)));
        assert!(RouteValue::Bool(true).py_eq(&RouteValue::Int(1)));
        assert!(!RouteValue::Int(1).py_eq(&RouteValue::Float(1.5)));
        assert!(!RouteValue::Str("1".into()).py_eq(&RouteValue::Int(1)));
        assert!(!RouteValue::Float(f64::NAN).py_eq(&RouteValue::Float(f64::NAN)));
        assert!(
            Number::Int(2).partial_cmp_num(&Number::Float(1.5))
                == Some(std::cmp::Ordering::Greater)
        );
        assert!(
            Number::Int(-2).partial_cmp_num(&Number::Float(-1.5)) == Some(std::cmp::Ordering::Less)
        );
    }

    #[test]
    fn unicode_digits() {
        assert_eq!(decimal_value('7'), Some(7));
        assert_eq!(decimal_value('\u{663}'), Some(3));
        assert_eq!(decimal_value('\u{1D7CF}'), Some(1));
        assert_eq!(decimal_value('\u{B2}'), None, "superscript two is not Nd");
        assert_eq!(decimal_value('a'), None);
    }

    #[test]
    fn python_int_and_float_parsing() {
        assert_eq!(py_int_text(" 1_0 ").as_deref(), Ok("10"));
        assert_eq!(py_int_text("-007").as_deref(), Ok("-7"));
        assert_eq!(py_int_text("-0").as_deref(), Ok("0"));
        assert_eq!(py_int_text("\u{661}\u{662}").as_deref(), Ok("12"));
        assert_eq!(
            py_int_text("abc").unwrap_err(),
            "invalid literal for int() with base 10: 'abc'"
        );
        assert!(py_int_text("1__0").is_err());
        assert!(py_int_text("_1").is_err());
        assert_eq!(py_float_parse("1e3"), Ok(1000.0));
        assert!(py_float_parse("INF").unwrap().is_infinite());
        assert_eq!(
            py_float_parse("abc").unwrap_err(),
            "could not convert string to float: 'abc'"
        );
        assert_eq!(py_int_of_float(-3.9).as_deref(), Ok("-3"));
        assert_eq!(py_int_of_float(-0.5).as_deref(), Ok("0"));
        assert_eq!(
            py_int_of_float(1e20).as_deref(),
            Ok("100000000000000000000")
        );
        assert!(py_int_of_float(f64::NAN).is_err());
    }

    #[test]
    fn repr_like_python() {
        assert_eq!(py_repr("user"), "'user'");
        assert_eq!(py_repr("it's"), "\"it's\"");
        assert_eq!(py_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(py_repr("a\\b\n\x01\u{a0}é"), "'a\\\\b\\n\\x01\\xa0é'");
        assert_eq!(py_list_repr(["GET", "HEAD"]), "['GET', 'HEAD']");
        assert_eq!(py_list_repr(std::iter::empty()), "[]");
    }
}
