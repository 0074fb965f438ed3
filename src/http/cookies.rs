//! Cookie headers as Werkzeug writes and reads them (`dump_cookie`,
//! `parse_cookie`): same attribute order and the same quoting, so a
//! `Set-Cookie` line is byte-identical to Flask's.

use super::MultiDict;

/// Attributes of a `Set-Cookie` line; `None` leaves an attribute out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CookieOptions {
    /// `Max-Age` in seconds; also sets `Expires` when `expires` is not given.
    pub max_age: Option<i64>,
    /// `Expires`, already formatted as an HTTP date.
    pub expires: Option<String>,
    /// `Path` (Werkzeug's default is `/`).
    pub path: Option<String>,
    /// `Domain`.
    pub domain: Option<String>,
    /// `Secure`.
    pub secure: bool,
    /// `HttpOnly`.
    pub httponly: bool,
    /// `SameSite` (`Strict`, `Lax` or `None`).
    pub samesite: Option<String>,
}

/// Formats `Set-Cookie`'s value, in Werkzeug's attribute order:
/// Domain, Expires, Max-Age, Secure, HttpOnly, Path, SameSite.
pub fn dump_cookie(name: &str, value: &str, opts: &CookieOptions) -> String {
    let mut out = format!("{name}={}", quote(value));
    let expires = match (&opts.expires, opts.max_age) {
        (Some(e), _) => Some(e.clone()),
        (None, Some(age)) => Some(http_date_in(age)),
        (None, None) => None,
    };
    if let Some(d) = &opts.domain {
        out.push_str("; Domain=");
        out.push_str(d);
    }
    if let Some(e) = expires {
        out.push_str("; Expires=");
        out.push_str(&e);
    }
    if let Some(age) = opts.max_age {
        out.push_str(&format!("; Max-Age={age}"));
    }
    if opts.secure {
        out.push_str("; Secure");
    }
    if opts.httponly {
        out.push_str("; HttpOnly");
    }
    if let Some(p) = &opts.path {
        out.push_str("; Path=");
        out.push_str(p);
    }
    if let Some(s) = &opts.samesite {
        out.push_str("; SameSite=");
        out.push_str(s);
    }
    out
}

/// The `Set-Cookie` value that deletes a cookie, as `delete_cookie` writes it.
pub fn delete_cookie_header(name: &str, path: Option<&str>, domain: Option<&str>) -> String {
    dump_cookie(
        name,
        "",
        &CookieOptions {
            max_age: Some(0),
            expires: Some("Thu, 01 Jan 1970 00:00:00 GMT".to_owned()),
            path: Some(path.unwrap_or("/").to_owned()),
            domain: domain.map(str::to_owned),
            ..CookieOptions::default()
        },
    )
}

/// An HTTP date `seconds` from now.
fn http_date_in(seconds: i64) -> String {
    let now = std::time::SystemTime::now();
    let t = if seconds >= 0 {
        now + std::time::Duration::from_secs(seconds.unsigned_abs())
    } else {
        now.checked_sub(std::time::Duration::from_secs(seconds.unsigned_abs()))
            .unwrap_or(std::time::UNIX_EPOCH)
    };
    httpdate::fmt_http_date(t)
}

/// Werkzeug's `_cookie_quote`: plain when every character is safe, otherwise
/// double-quoted with `"` and `\` backslashed and controls, `,`, `;` and
/// non-ASCII bytes written as octal escapes.
fn quote(value: &str) -> String {
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"_!#$%&'()*+-./:<=>?@[]^`{|}~".contains(&b);
    if value.bytes().all(safe) {
        return value.to_owned();
    }
    let mut out = String::from("\"");
    for b in value.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b',' | b';' | 0..=0x1f | 0x7f..=0xff => out.push_str(&format!("\\{b:03o}")),
            _ => out.push(b as char),
        }
    }
    out.push('"');
    out
}

/// Parses a `Cookie` request header into a multi-dict, undoing Werkzeug's
/// quoting; pieces without `=` become keys with empty values, as Werkzeug does.
pub fn parse_cookie(header: &str) -> MultiDict {
    let mut out = MultiDict::new();
    for piece in header.split(';') {
        let piece = piece.trim();
        if piece.is_empty() {
            continue;
        }
        let (k, v) = match piece.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (piece, ""),
        };
        out.append(k, unquote(v));
    }
    out
}

fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return v.to_owned();
    };
    let bytes = inner.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let oct = &bytes[i + 1..bytes.len().min(i + 4)];
            if oct.len() == 3 && oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let n = u32::from(oct[0] - b'0') * 64
                    + u32::from(oct[1] - b'0') * 8
                    + u32::from(oct[2] - b'0');
                out.push((n & 0xff) as u8);
                i += 4;
            } else {
                out.push(bytes[i + 1]);
                i += 2;
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dump_matches_werkzeug() {
        let opts = CookieOptions {
            max_age: Some(10),
            expires: Some("Thu, 01 Jan 1970 00:00:00 GMT".into()),
            path: Some("/".into()),
            domain: Some("example.com".into()),
            secure: true,
            httponly: true,
            samesite: Some("Lax".into()),
        };
        assert_eq!(
            dump_cookie("a", "b c;\"é", &opts),
            r#"a="b c\073\"\303\251"; Domain=example.com; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=10; Secure; HttpOnly; Path=/; SameSite=Lax"#
        );
        assert_eq!(
            delete_cookie_header("a", None, None),
            "a=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"
        );
    }

    #[test]
    fn parse_unquotes() {
        let c = parse_cookie(r#"a="b\054c"; d=e; f"#);
        assert_eq!(c.get("a").unwrap(), "b,c");
        assert_eq!(c.get("d").unwrap(), "e");
        assert_eq!(c.get("f").unwrap(), "");
        let round = parse_cookie(&format!("a={}", quote("b c;\"é")));
        assert_eq!(round.get("a").unwrap(), "b c;\"é");
    }
}
