//! The session's `Set-Cookie` and `Vary` headers, as Werkzeug 3.1's
//! `Response.set_cookie` / `delete_cookie` / `vary.add` write them.
//!
//! The shared `dump_cookie` writes the attributes in Werkzeug's order; what
//! it leaves to its callers is done here: `Path` quoting, `Domain`
//! normalisation, `SameSite` validation, `Partitioned` (which Werkzeug
//! writes last and which forces `Secure`) and the size warning.

use crate::http::cookies::{dump_cookie, CookieOptions};
use crate::http::Headers;

use super::{SaveError, SessionConfig, MAX_COOKIE_SIZE};

/// When the cookie ends.
pub(super) enum Expiry {
    /// With the browser session (no `Expires`).
    Browser,
    /// At this many seconds since the epoch (`Expires=<http date>`).
    At(u64),
    /// Now: `delete_cookie`'s `Expires` at the epoch and `Max-Age=0`.
    Delete,
}

/// A `Set-Cookie` value and Werkzeug's warning if it is too large.
pub(super) struct CookieLine {
    pub(super) line: String,
    pub(super) warning: Option<String>,
}

/// The last second `httpdate` (and Python's `datetime`) can write:
/// 9999-12-31 23:59:59 UTC. Later expiry times are clamped to it instead of
/// panicking on an absurd `PERMANENT_SESSION_LIFETIME`.
const LAST_HTTP_DATE: u64 = 253_402_300_799;

fn http_date(secs: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.min(LAST_HTTP_DATE));
    httpdate::fmt_http_date(t)
}

/// `dump_cookie(name, value, ...)` with the session config's attributes.
pub(super) fn session_cookie(
    cfg: &SessionConfig,
    value: &str,
    expiry: Expiry,
) -> Result<CookieLine, SaveError> {
    let samesite = match &cfg.samesite {
        None => None,
        Some(s) => Some(samesite_title(s).ok_or_else(|| SaveError::InvalidSameSite(s.clone()))?),
    };
    let (expires, max_age) = match expiry {
        Expiry::Browser => (None, None),
        Expiry::At(secs) => (Some(http_date(secs)), None),
        Expiry::Delete => (Some(http_date(0)), Some(0)),
    };
    let opts = CookieOptions {
        max_age,
        expires,
        path: Some(quote_path(&cfg.path)),
        // Werkzeug only touches a truthy domain.
        domain: cfg
            .domain
            .as_deref()
            .filter(|d| !d.is_empty())
            .map(normalize_domain),
        secure: cfg.secure || cfg.partitioned,
        httponly: cfg.httponly,
        samesite: samesite.map(str::to_owned),
    };
    let mut line = dump_cookie(&cfg.cookie_name, value, &opts);
    if cfg.partitioned {
        line.push_str("; Partitioned");
    }
    let warning = size_warning(&cfg.cookie_name, value, &line);
    Ok(CookieLine { line, warning })
}

/// `samesite.title()`, accepted only if it is `Strict`, `Lax` or `None`.
fn samesite_title(s: &str) -> Option<&'static str> {
    ["Strict", "Lax", "None"]
        .into_iter()
        .find(|t| t.eq_ignore_ascii_case(s))
}

/// `urllib.parse.quote(path, safe="%!$&'()*+,/:=@")`: UTF-8 bytes outside
/// the safe set become `%XX` (upper-case hex); `;` is quoted since it would
/// end the attribute.
fn quote_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~%!$&'()*+,/:=@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `domain.partition(":")[0].lstrip(".").encode("idna")`: the port and
/// leading dots go; a non-ASCII name is punycoded (Python's codec leaves
/// ASCII labels as they are, so ASCII names keep their case).
fn normalize_domain(domain: &str) -> String {
    let host = domain
        .split(':')
        .next()
        .unwrap_or("")
        .trim_start_matches('.');
    if host.is_ascii() {
        return host.to_owned();
    }
    match url::Host::parse(host) {
        Ok(url::Host::Domain(d)) => d,
        _ => host.to_owned(),
    }
}

/// Werkzeug's `dump_cookie` warning for a header value over the limit,
/// word for word.
fn size_warning(name: &str, value: &str, line: &str) -> Option<String> {
    // Werkzeug measures the quoted value; session values never need quoting
    // (base64url and '.'), so the raw value has the same length.
    let value_size = value.len();
    let cookie_size = line.len();
    (cookie_size > MAX_COOKIE_SIZE).then(|| {
        format!(
            "The '{name}' cookie is too large: the value was {value_size} bytes but the header required {} extra bytes. The final size was {cookie_size} bytes but the limit is {MAX_COOKIE_SIZE} bytes. Browsers may silently ignore cookies larger than this.",
            cookie_size - value_size
        )
    })
}

/// `response.vary.add("Cookie")`: appends `Cookie` to `Vary` unless it is
/// already listed (case-insensitively), rewriting the header as Werkzeug's
/// `HeaderSet` does (`, `-joined, in place of the first `Vary`).
pub(super) fn add_vary_cookie(headers: &mut Headers) {
    let mut items = headers.get("Vary").map(parse_list).unwrap_or_default();
    if items.iter().any(|i| i.eq_ignore_ascii_case("cookie")) {
        return;
    }
    items.push("Cookie".to_owned());
    let value = items
        .iter()
        .map(|i| quote_header_value(i))
        .collect::<Vec<_>>()
        .join(", ");
    headers.set("Vary", value);
}

/// `parse_list_header`: comma-separated items, commas inside quoted strings
/// kept, whitespace trimmed, empty items dropped, quotes removed.
fn parse_list(value: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut escaped) = (false, false);
    for c in value.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
            cur.push(c);
        } else if c == '"' {
            quoted = !quoted;
            cur.push(c);
        } else if c == ',' && !quoted {
            items.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    items.push(cur);
    items
        .into_iter()
        .map(|i| i.trim().to_owned())
        .filter(|i| !i.is_empty())
        .map(
            |i| match i.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                Some(inner) => inner.replace("\\\\", "\\").replace("\\\"", "\""),
                None => i,
            },
        )
        .collect()
}

/// `quote_header_value`: tokens as they are, anything else quoted.
fn quote_header_value(v: &str) -> String {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if !v.is_empty() && v.chars().all(token) {
        v.to_owned()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vary_is_merged_like_werkzeug() {
        let mut h = Headers::new();
        add_vary_cookie(&mut h);
        assert_eq!(h.get("Vary"), Some("Cookie"));
        add_vary_cookie(&mut h);
        assert_eq!(h.get_all("Vary").count(), 1);

        let mut h: Headers = [("Vary", "Accept-Encoding"), ("X", "y"), ("vary", "Origin")]
            .into_iter()
            .collect();
        add_vary_cookie(&mut h);
        // Werkzeug reads the first Vary only, then replaces them all.
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("Vary", "Accept-Encoding, Cookie"), ("X", "y")]
        );

        let mut h: Headers = [("Vary", "cookie")].into_iter().collect();
        add_vary_cookie(&mut h);
        assert_eq!(h.get("Vary"), Some("cookie"));

        let mut h: Headers = [("Vary", r#" a ,, "b c" "#)].into_iter().collect();
        add_vary_cookie(&mut h);
        assert_eq!(h.get("Vary"), Some(r#"a, "b c", Cookie"#));
    }

    #[test]
    fn path_and_domain_are_normalised() {
        assert_eq!(quote_path("/app x;y/é%20"), "/app%20x%3By/%C3%A9%20");
        assert_eq!(quote_path("/a-b_c.d~!$&'()*+,:=@"), "/a-b_c.d~!$&'()*+,:=@");
        assert_eq!(normalize_domain(".Example.com:8080"), "Example.com");
        assert_eq!(normalize_domain("bücher.example"), "xn--bcher-kva.example");
    }

    #[test]
    fn samesite_and_expiry() {
        assert_eq!(samesite_title("lAx"), Some("Lax"));
        assert_eq!(samesite_title("none"), Some("None"));
        assert_eq!(samesite_title("lax "), None);
        let cfg = SessionConfig {
            samesite: Some("sometimes".into()),
            ..SessionConfig::default()
        };
        assert!(matches!(
            session_cookie(&cfg, "v", Expiry::Browser),
            Err(SaveError::InvalidSameSite(s)) if s == "sometimes"
        ));
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(u64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
    }
}
