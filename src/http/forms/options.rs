//! Werkzeug's `parse_options_header`: `value; key=value; key*=utf-8''…`
//! headers such as `Content-Type` and a multipart part's
//! `Content-Disposition`, with RFC 2231 charsets and continuations.

use indexmap::IndexMap;

/// Splits a header like `form-data; name="a"; filename="b.txt"` into its
/// value and its parameters, exactly as Werkzeug 3.1's
/// `http.parse_options_header`:
///
/// - parameter names are lower-cased; invalid parts are skipped;
/// - quoted values lose their quotes, and `\\`, `\"` and `%22` inside them
///   are unescaped;
/// - `key*=charset'lang'value` is percent-decoded when the charset is ASCII,
///   UTF-8 or ISO-8859-1 (invalid bytes replaced), and replaces `key`;
/// - `key*0=…; key*1=…` continuations are joined.
///
/// A later parameter of the same name replaces an earlier one, keeping the
/// earlier one's position.
pub fn parse_options_header(header: &str) -> (String, IndexMap<String, String>) {
    let (main, rest) = match header.split_once(';') {
        Some((v, r)) => (py_strip(v), py_strip(r)),
        None => (py_strip(header), ""),
    };
    let mut options = IndexMap::new();
    if main.is_empty() || rest.is_empty() {
        return (main.to_owned(), options);
    }

    // Collect every valid `key=value` part, values still raw.
    let mut parts: Vec<(String, &str)> = Vec::new();
    let mut rest = rest;
    loop {
        let key_len = rest.bytes().take_while(|&b| is_key_byte(b)).count();
        if key_len > 0 && rest.as_bytes().get(key_len) == Some(&b'=') {
            let key = rest[..key_len].to_ascii_lowercase();
            rest = &rest[key_len + 1..];
            let token_len = rest.bytes().take_while(|&b| is_key_byte(b)).count();
            if token_len > 0 {
                parts.push((key, &rest[..token_len]));
            } else if rest.starts_with('"') {
                if let Some(end) = closing_quote(rest) {
                    parts.push((key, &rest[..=end]));
                    rest = &rest[end + 1..];
                }
            }
        }
        match rest.find(';') {
            Some(end) => rest = py_lstrip(&rest[end + 1..]),
            None => break,
        }
    }

    // Werkzeug keeps `encoding` across parts on purpose (a continuation may
    // omit the charset marker), so these live outside the loop.
    let mut encoding: Option<String> = None;
    let mut continued_encoding: Option<String> = None;
    for (mut key, raw) in parts {
        let mut value = raw.to_owned();
        if key.ends_with('*') {
            key.pop();
            if let Some((charset, encoded)) = split_charset_marker(raw) {
                encoding = Some(charset.to_ascii_lowercase());
                value = encoded.to_owned();
            }
            if encoding.as_deref().unwrap_or("").is_empty() {
                encoding = continued_encoding.clone();
            }
            if let Some(enc) = encoding.as_deref().filter(|e| is_safe_charset(e)) {
                continued_encoding = Some(enc.to_owned());
                let bytes: Vec<u8> = percent_encoding::percent_decode_str(&value).collect();
                value = decode_charset(&bytes, enc);
            }
        }
        if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            value = value[1..value.len() - 1]
                .replace("\\\\", "\\")
                .replace("\\\"", "\"")
                .replace("%22", "\"");
        } else if value == "\"" {
            // Python's `'"'[1:-1]` is empty; only reachable via `key*=%22`.
            value.clear();
        }
        match continuation_index(&key) {
            Some(start) => {
                key.truncate(start);
                options
                    .entry(key)
                    .or_insert_with(String::new)
                    .push_str(&value);
            }
            None => {
                options.insert(key, value);
            }
        }
    }
    (main.to_owned(), options)
}

/// Decodes `bytes` with one of the charsets Werkzeug accepts (see
/// [`is_safe_charset`]), replacing invalid bytes with U+FFFD as Python's
/// `errors="replace"` does; anything else is read as UTF-8.
pub(crate) fn decode_charset(bytes: &[u8], charset: &str) -> String {
    match charset {
        "ascii" | "us-ascii" => bytes
            .iter()
            .map(|&b| if b.is_ascii() { b as char } else { '\u{FFFD}' })
            .collect(),
        "iso-8859-1" => bytes.iter().map(|&b| b as char).collect(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// The charsets Werkzeug decodes (lower-case); it leaves any other alone.
pub(crate) fn is_safe_charset(charset: &str) -> bool {
    matches!(charset, "ascii" | "us-ascii" | "utf-8" | "iso-8859-1")
}

/// RFC 9110 token characters, as Werkzeug's `[\w!#$%&'*+\-.^`|~]` (ASCII).
fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_!#$%&'*+-.^`|~".contains(&b)
}

/// The index of the quote closing the quoted string `s` starts with; `\\`
/// and `\"` are skipped as escapes.
fn closing_quote(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut pos = 1;
    while pos < b.len() {
        if b[pos] == b'\\' && matches!(b.get(pos + 1), Some(b'\\' | b'"')) {
            pos += 2;
        } else if b[pos] == b'"' {
            return Some(pos);
        } else {
            pos += 1;
        }
    }
    None
}

/// Werkzeug's `_charset_value_re` (a prefix match): `charset'lang'value`,
/// giving the charset and the token run of the value; what follows the run
/// is dropped, as there.
fn split_charset_marker(raw: &str) -> Option<(&str, &str)> {
    let charset_len = raw.bytes().take_while(|&b| is_marker_byte(b)).count();
    let after = raw[charset_len..].strip_prefix('\'')?;
    let lang_len = after.bytes().take_while(|&b| is_marker_byte(b)).count();
    let value = after[lang_len..].strip_prefix('\'')?;
    let value_len = value.bytes().take_while(|&b| is_key_byte(b)).count();
    (value_len > 0).then(|| (&raw[..charset_len], &value[..value_len]))
}

/// Token characters without `'`, which separates charset and language.
fn is_marker_byte(b: u8) -> bool {
    b != b'\'' && is_key_byte(b)
}

/// Where `*N` (a continuation index) starts at the end of `key`, if it does.
fn continuation_index(key: &str) -> Option<usize> {
    let digits = key.bytes().rev().take_while(u8::is_ascii_digit).count();
    let star = key.len().checked_sub(digits + 1)?;
    (digits > 0 && key.as_bytes()[star] == b'*').then_some(star)
}

/// Python's `str.isspace` differs from Rust's `char::is_whitespace` in
/// counting the four ASCII separators U+001C..U+001F.
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

fn py_lstrip(s: &str) -> &str {
    s.trim_start_matches(is_py_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(h: &str) -> Vec<(String, String)> {
        parse_options_header(h).1.into_iter().collect()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn value_and_plain_parameters() {
        let (v, o) = parse_options_header(" text/html ; Charset=UTF-8 ");
        assert_eq!(v, "text/html");
        assert_eq!(o.get("charset").map(String::as_str), Some("UTF-8"));
        assert_eq!(parse_options_header("").0, "");
        assert!(parse_options_header("text/plain").1.is_empty());
        assert!(parse_options_header("text/plain;").1.is_empty());
    }

    // Expected values below come from Werkzeug 3.1's parse_options_header.
    #[test]
    fn quoted_values_and_escapes() {
        assert_eq!(
            opts(r#"form-data; name="a;b"; filename="x\"y%22z\\w.txt""#),
            pairs(&[("name", "a;b"), ("filename", r#"x"y"z\w.txt"#)])
        );
        // An unterminated quote is skipped, the rest still parsed.
        assert_eq!(
            opts(r#"form-data; name="abc; filename=f"#),
            pairs(&[("filename", "f")])
        );
        // Keys without values and quoted keys are invalid.
        assert_eq!(
            opts(r#"form-data; flag; "q"=1; name=n"#),
            pairs(&[("name", "n")])
        );
    }

    #[test]
    fn rfc2231_charsets_and_continuations() {
        assert_eq!(
            opts("attachment; filename*=UTF-8''%E2%82%AC%20rates.txt"),
            pairs(&[("filename", "€ rates.txt")])
        );
        assert_eq!(
            opts("attachment; filename=\"a.txt\"; filename*=utf-8''%E2%82%AC.txt"),
            pairs(&[("filename", "€.txt")])
        );
        assert_eq!(
            opts("a; f*=iso-8859-1'en'%E9; g*=us-ascii''%E9x"),
            pairs(&[("f", "é"), ("g", "\u{FFFD}x")])
        );
        // Unknown charset: the marker goes, the value stays percent-encoded.
        assert_eq!(opts("a; f*=koi8-r''%E9"), pairs(&[("f", "%E9")]));
        // The last charset carries over to a value without a marker.
        assert_eq!(
            opts("a; g*=utf-8''x; f*=%22"),
            pairs(&[("g", "x"), ("f", "")])
        );
        // A repeated key replaces the value and keeps its first position.
        assert_eq!(
            opts("a; F=\"1\"; g=3; f=2"),
            pairs(&[("f", "2"), ("g", "3")])
        );
        assert_eq!(
            opts("a; f*0*=UTF-8''%E2%82; f*1*=%AC; f*2=\".txt\""),
            pairs(&[("f", "\u{FFFD}\u{FFFD}.txt")])
        );
        assert_eq!(opts("a; f*0=ab; f*1=cd"), pairs(&[("f", "abcd")]));
    }

    #[test]
    fn charset_decoding_matches_python_replace() {
        assert_eq!(decode_charset(b"\xe9\xffA", "ascii"), "\u{FFFD}\u{FFFD}A");
        assert_eq!(decode_charset(b"\xe9", "iso-8859-1"), "é");
        // b'a\xf0\x9f\x98b\xed\xa0\x80c\xc0\xafd'.decode('utf-8', 'replace')
        assert_eq!(
            decode_charset(b"a\xf0\x9f\x98b\xed\xa0\x80c\xc0\xafd", "utf-8"),
            "a\u{FFFD}b\u{FFFD}\u{FFFD}\u{FFFD}c\u{FFFD}\u{FFFD}d"
        );
    }

    #[test]
    fn python_whitespace() {
        assert!(is_py_space('\u{1f}'));
        assert!(!'\u{1f}'.is_whitespace());
        assert_eq!(py_strip("\u{1c} x \u{85}"), "x");
    }
}
