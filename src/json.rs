//! JSON written exactly as Flask's default provider writes it: Python's
//! `json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=True)`.
//! Sessions (tagged JSON) and `jsonify` share this writer, so cookies and API
//! bodies are byte-identical to Flask's.

use std::fmt::Write as _;

use serde_json::Value;

/// Serializes `value` compactly, keys sorted, non-ASCII escaped, floats as
/// Python's `repr` writes them (`1e+16`, `1e-07`, `1.0`).
pub fn dumps(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                write_int(i, out);
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else if let Some(f) = n.as_f64() {
                out.push_str(&float_repr(f));
            }
        }
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // serde_json's map is a BTreeMap here (no `preserve_order`), so
            // iteration is already in code-point order, as Python sorts str keys.
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(k, out);
                out.push(':');
                write_value(v, out);
            }
            out.push('}');
        }
    }
}

/// Writes an integer as Python does (no allocation).
pub fn write_int(i: i64, out: &mut String) {
    let _ = write!(out, "{i}");
}

/// Writes a JSON string literal with Python's `ensure_ascii` escaping.
pub fn write_str(s: &str, out: &mut String) {
    out.push('"');
    // Runs of printable ASCII, the common case, are copied whole.
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            ' '..='~' if c != '"' && c != '\\' => continue,
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            _ => "",
        };
        out.push_str(&s[plain..i]);
        plain = i + c.len_utf8();
        if escape.is_empty() {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

/// Python's `float.__repr__`: the shortest round-trip digits, in positional
/// notation for exponents from -4 to 15 and scientific notation otherwise.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            let (a, b) = digits.split_at(point as usize);
            format!("{a}.{b}")
        };
        format!("{sign}{body}")
    } else {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{esign}{:02}", exp.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_python_json_dumps() {
        // Expected output produced by Python 3.11's json.dumps with Flask's settings.
        let v = serde_json::json!({
            "b": 1e16,
            "a": [1.0, 0.1, -0.0, 1e-7, 123456789012345680.0],
            "é": "é\u{2028}\u{1F600}</"
        });
        assert_eq!(
            dumps(&v),
            r#"{"a":[1.0,0.1,-0.0,1e-07,1.2345678901234568e+17],"b":1e+16,"\u00e9":"\u00e9\u2028\ud83d\ude00</"}"#
        );
    }

    #[test]
    fn float_repr_edges() {
        for (f, s) in [
            (1.5, "1.5"),
            (100.0, "100.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e15, "1000000000000000.0"),
            (-2.5e-10, "-2.5e-10"),
        ] {
            assert_eq!(float_repr(f), s);
        }
    }
}
