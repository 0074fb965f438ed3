//! Werkzeug's access-log line (`WSGIRequestHandler.log_request`):
//!
//! ```text
//! 127.0.0.1 - - [21/Nov/2026 14:00:00] "GET /path?q HTTP/1.1" 200 -
//! ```
//!
//! The target is shown as an IRI (`uri_to_iri`), control characters are
//! escaped, and the size is always `-` (Werkzeug's `send_response` logs no
//! size). Werkzeug prints local time; the host prints UTC, as std has no time
//! zone database.

use std::time::{SystemTime, UNIX_EPOCH};

/// Writes the access-log line for one answered request (target `werkzeug`,
/// level info, as Werkzeug's `_log("info", …)`).
///
/// Written once per request, so it avoids allocating: the date is
/// formatted once a second per thread, and a plain target (no `%`, no
/// controls, no backslash: what nearly every request has) is written as
/// it came, since `uri_to_iri` and the control escaping leave it unchanged.
pub(crate) fn log_request(remote: &str, method: &str, target: &str, version: &str, status: u16) {
    if !log::log_enabled!(target: "werkzeug", log::Level::Info) {
        return;
    }
    thread_local! {
        static DATE: std::cell::RefCell<super::PerSecond> = const { std::cell::RefCell::new(super::PerSecond::new()) };
    }
    DATE.with_borrow_mut(|date| {
        let date = date.get(log_date);
        let line = Line {
            remote,
            method,
            target,
            version,
            status,
            date,
        };
        log::info!(target: "werkzeug", "{line}");
    });
}

/// One access-log line without the logger's own prefix.
struct Line<'a> {
    remote: &'a str,
    method: &'a str,
    target: &'a str,
    version: &'a str,
    status: u16,
    date: &'a str,
}

/// Whether `s` comes out of `uri_to_iri` and the control escaping as it is.
fn is_plain(s: &str) -> bool {
    s.bytes()
        .all(|b| (0x21..0x7f).contains(&b) && b != b'%' && b != b'\\')
}

impl std::fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Line {
            remote,
            method,
            target,
            version,
            status,
            date,
        } = self;
        if is_plain(method) && is_plain(target) && is_plain(version) {
            return write!(
                f,
                "{remote} - - [{date}] \"{method} {target} {version}\" {status} -"
            );
        }
        let msg = escape_controls(&format!("{method} {} {version}", uri_to_iri(target)));
        write!(f, "{remote} - - [{date}] \"{msg}\" {status} -")
    }
}

#[cfg(test)]
/// The line without the logger's own prefix.
pub(crate) fn format_line(
    remote: &str,
    method: &str,
    target: &str,
    version: &str,
    status: u16,
    now: SystemTime,
) -> String {
    Line {
        remote,
        method,
        target,
        version,
        status,
        date: &log_date(now),
    }
    .to_string()
}

/// `dd/Mon/yyyy hh:mm:ss` (http.server's `log_date_time_string`), in UTC.
pub(crate) fn log_date(now: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = crate::logging::civil_from_days(days as i64);
    format!(
        "{day:02}/{}/{year:04} {:02}:{:02}:{:02}",
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Werkzeug's `uri_to_iri` for a request target: percent-escapes that decode
/// to valid UTF-8 are shown decoded, except the characters that would change
/// the meaning of their part (controls, space, `%`, and per part `/?#` or
/// `&=+#`), which stay as sent; invalid bytes are re-quoted in upper case.
pub(crate) fn uri_to_iri(target: &str) -> String {
    let (rest, fragment) = match target.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (target, None),
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let mut out = unquote_part(path, "/?#");
    if let Some(q) = query {
        out.push('?');
        out.push_str(&unquote_part(q, "&=+#"));
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(&unquote_part(f, ""));
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn unquote_part(part: &str, unsafe_extra: &str) -> String {
    let is_unsafe =
        |b: u8| b <= 0x20 || b == b'%' || b == 0x7f || unsafe_extra.as_bytes().contains(&b);
    let bytes = part.as_bytes();
    let mut out = String::with_capacity(part.len());
    let mut pending: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match bytes.get(i..i + 3) {
            Some([b'%', h, l]) => hex(*h).zip(hex(*l)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match decoded {
            Some(b) if is_unsafe(b) => {
                flush_decoded(&mut pending, &mut out);
                out.push_str(&part[i..i + 3]);
                i += 3;
            }
            Some(b) => {
                pending.push(b);
                i += 3;
            }
            None => {
                pending.push(bytes[i]);
                i += 1;
            }
        }
    }
    flush_decoded(&mut pending, &mut out);
    out
}

/// Appends `pending` as UTF-8, quoting the bytes of invalid sequences
/// (Werkzeug's `werkzeug.url_quote` codec error handler).
fn flush_decoded(pending: &mut Vec<u8>, out: &mut String) {
    for chunk in pending.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    pending.clear();
}

/// Python 3.12's `_control_char_table`: C0 and C1 controls become `\xNN`,
/// a backslash is doubled.
fn escape_controls(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\0'..='\x1f' | '\x7f'..='\u{9f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn targets_render_as_werkzeug_renders_them() {
        // Vectors from Werkzeug 3.1: uri_to_iri(u).translate(_control_char_table).
        let cases = [
            ("/path?q", "/path?q"),
            ("/a%20b/%E2%82%AC?x=%20&y=%e2%82%ac", "/a%20b/€?x=%20&y=€"),
            ("/%2f%2F/%3F?a=%26%3D%2B%23b", "/%2f%2F/%3F?a=%26%3D%2B%23b"),
            ("/%ff%E2%82?%FF", "/%FF%E2%82?%FF"),
            ("/%C2%85x%0a", "/\\x85x%0a"),
            ("/caf%C3%A9%", "/café%"),
            ("/\\x", "/\\\\x"),
            ("/a?b?c=%41", "/a?b?c=A"),
        ];
        for (target, want) in cases {
            assert_eq!(escape_controls(&uri_to_iri(target)), want, "{target}");
        }
    }

    #[test]
    fn plain_targets_take_the_short_way_to_the_same_line() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_269_600);
        assert!(is_plain("/user/bob?x=1&y=2"));
        for target in ["/a%20b", "/x\\y", "/caf\u{e9}", "/a b", "/\x7f"] {
            assert!(!is_plain(target), "{target:?}");
        }
        for target in ["/user/bob?x=1", "/a%20b/%E2%82%AC", "/\\x", "/%C2%85x"] {
            let slow = format!(
                "127.0.0.1 - - [21/Nov/2026 14:00:00] \"{}\" 200 -",
                escape_controls(&format!("GET {} HTTP/1.1", uri_to_iri(target)))
            );
            assert_eq!(
                format_line("127.0.0.1", "GET", target, "HTTP/1.1", 200, t),
                slow
            );
        }
    }

    #[test]
    fn line_format() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_269_600); // 2026-11-21 14:00:00 UTC
        assert_eq!(
            format_line("127.0.0.1", "GET", "/path?q", "HTTP/1.1", 200, t),
            "127.0.0.1 - - [21/Nov/2026 14:00:00] \"GET /path?q HTTP/1.1\" 200 -"
        );
        assert_eq!(log_date(UNIX_EPOCH), "01/Jan/1970 00:00:00");
        assert_eq!(
            log_date(UNIX_EPOCH + Duration::from_secs(951_782_400 + 3661)),
            "29/Feb/2000 01:01:01"
        );
    }
}
