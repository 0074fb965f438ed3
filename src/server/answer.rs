//! Writing a response head as it goes to the client.
//!
//! Answers written straight to the client socket (see `exchange`) are
//! framed here rather than by tiny_http's `Response::raw_print`, which
//! cannot say `Connection: close` (it drops that header from every response)
//! nor `Connection: keep-alive` to an HTTP/1.0 client, and which allocates
//! every header anew. The framing rules are the same: the length always
//! comes from the body (for HEAD, from the app's `Content-Length`), and the
//! hop-by-hop headers an app might set are dropped.
//!
//! The status line carries Werkzeug's reason phrase as `Response.status`
//! spells it (`404 NOT FOUND`, `599 UNKNOWN`), so the bytes on the wire are
//! the ones a Flask app sends.

use super::PerSecond;
use crate::http::{status_has_no_body, Response};
use std::cell::RefCell;

/// What the answer says about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Persist {
    /// Nothing: HTTP/1.1's default, the connection stays open.
    Default,
    /// `Connection: keep-alive`: an HTTP/1.0 client asked to keep it open.
    KeepAlive,
    /// `Connection: close`: this is the last answer on the connection.
    Close,
}

/// Headers an app cannot set on the wire: they describe the connection or
/// the framing, which the server owns.
fn is_hop_by_hop(name: &str) -> bool {
    [
        "Connection",
        "Transfer-Encoding",
        "Trailer",
        "Upgrade",
        "Keep-Alive",
    ]
    .iter()
    .any(|h| name.eq_ignore_ascii_case(h))
}

/// Why a header cannot be written, or `None`.
fn header_problem(name: &str, value: &str) -> Option<&'static str> {
    let bad_name = name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
    if bad_name {
        return Some("is not a valid header name");
    }
    if value.bytes().any(|b| matches!(b, b'\r' | b'\n' | b'\0')) {
        return Some("has a value containing CR, LF or NUL");
    }
    if !value.is_ascii() {
        return Some("has a non-ASCII value (tiny_http writes ASCII only)");
    }
    None
}

/// Says which header of `response` cannot be written, if one cannot.
pub(crate) fn check_headers(response: &Response) -> Result<(), String> {
    for (name, value) in response.headers.iter() {
        if let Some(problem) = header_problem(name, value) {
            return Err(format!("response header {name:?} {problem}"));
        }
    }
    Ok(())
}

/// How many body bytes go on the wire after the head.
pub(crate) fn body_bytes_sent(response: &Response, is_head: bool) -> u64 {
    if is_head || status_has_no_body(response.status) {
        0
    } else {
        response.body.len()
    }
}

/// Appends the head of `response` (status line, headers, empty line) to
/// `out`. The headers must have passed [`check_headers`].
///
/// `Content-Length` is the body's length; for HEAD it is the app's own
/// `Content-Length` (the GET body's length), or the body's when the app set
/// none; 1xx and 204 answers get none (RFC 9110 forbids it), a 304 only
/// the app's. `Date` and `Server` are added unless the app set them.
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    version: (u8, u8),
    response: &Response,
    is_head: bool,
    persist: Persist,
    server: &str,
) {
    let status = response.status;
    push_status_line(out, version, status);
    // Werkzeug's server writes these two first (http.server's
    // `send_response`), then the app's headers.
    if !response.headers.contains("Server") {
        push_header(out, "Server", server);
    }
    if !response.headers.contains("Date") {
        out.extend_from_slice(b"Date: ");
        with_http_date(|d| out.extend_from_slice(d.as_bytes()));
        out.extend_from_slice(b"\r\n");
    }
    let mut declared = None;
    for (name, value) in response.headers.iter() {
        if name.eq_ignore_ascii_case("Content-Length") {
            declared = Some(value.trim());
        } else if !is_hop_by_hop(name) {
            push_header(out, name, value);
        }
    }
    let length = if matches!(status, 100..=199 | 204) {
        None
    } else if status == 304 || is_head {
        match declared.and_then(|v| v.parse::<u64>().ok()) {
            Some(n) => Some(n),
            None if status == 304 => None,
            None => Some(response.body.len()),
        }
    } else {
        Some(response.body.len())
    };
    if let Some(n) = length {
        out.extend_from_slice(b"Content-Length: ");
        push_u64(out, n);
        out.extend_from_slice(b"\r\n");
    }
    match persist {
        Persist::Default => {}
        Persist::KeepAlive => out.extend_from_slice(b"Connection: keep-alive\r\n"),
        Persist::Close => out.extend_from_slice(b"Connection: close\r\n"),
    }
    out.extend_from_slice(b"\r\n");
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn push_u64(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// `HTTP/1.1 404 NOT FOUND`: Werkzeug upper-cases the phrase in
/// `Response.status`, and a code it does not know is `UNKNOWN`.
fn push_status_line(out: &mut Vec<u8>, version: (u8, u8), status: u16) {
    out.extend_from_slice(b"HTTP/");
    push_u64(out, u64::from(version.0));
    out.push(b'.');
    push_u64(out, u64::from(version.1));
    out.push(b' ');
    push_u64(out, u64::from(status));
    out.push(b' ');
    let reason = crate::http::status_reason(status);
    if reason == "Unknown Error" {
        out.extend_from_slice(b"UNKNOWN");
    } else {
        out.extend(reason.bytes().map(|b| b.to_ascii_uppercase()));
    }
    out.extend_from_slice(b"\r\n");
}

/// Calls `f` with the current `Date` value (RFC 9110's IMF-fixdate),
/// formatted at most once a second per thread.
pub(crate) fn with_http_date<R>(f: impl FnOnce(&str) -> R) -> R {
    thread_local! {
        static DATE: RefCell<PerSecond> = const { RefCell::new(PerSecond::new()) };
    }
    DATE.with_borrow_mut(|date| f(date.get(httpdate::fmt_http_date)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Body;
    use std::time::SystemTime;

    fn head(response: &Response, is_head: bool, persist: Persist) -> String {
        let mut out = Vec::new();
        write_head(&mut out, (1, 1), response, is_head, persist, "flaskrs/test");
        String::from_utf8(out).unwrap()
    }

    /// The head without its `Date` line, which changes every second.
    fn undated(text: &str) -> String {
        text.split("\r\n")
            .filter(|l| !l.starts_with("Date: "))
            .collect::<Vec<_>>()
            .join("\r\n")
    }

    #[test]
    fn a_plain_answer_is_framed_by_its_body() {
        let r = Response::text("hello").with_header("Content-Length", "99");
        let text = head(&r, false, Persist::Default);
        assert!(
            text.starts_with("HTTP/1.1 200 OK\r\nServer: flaskrs/test\r\nDate: "),
            "{text}"
        );
        assert_eq!(
            undated(&text),
            "HTTP/1.1 200 OK\r\nServer: flaskrs/test\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 5\r\n\r\n"
        );
    }

    #[test]
    fn the_connection_is_announced_when_it_matters() {
        let r = Response::text("x");
        assert!(head(&r, false, Persist::Close).ends_with("Connection: close\r\n\r\n"));
        assert!(head(&r, false, Persist::KeepAlive).ends_with("Connection: keep-alive\r\n\r\n"));
        assert!(!head(&r, false, Persist::Default).contains("Connection"));
        // An app cannot speak for the connection or the framing.
        let r = Response::text("x")
            .with_header("Connection", "upgrade")
            .with_header("Transfer-Encoding", "chunked")
            .with_header("Keep-Alive", "timeout=99");
        let text = head(&r, false, Persist::Close);
        assert!(!text.contains("upgrade") && !text.contains("chunked") && !text.contains("99"));
        assert!(text.contains("Connection: close\r\n"));
    }

    #[test]
    fn reason_phrases_are_werkzeugs_upper_cased() {
        for (status, line) in [
            (404, "HTTP/1.1 404 NOT FOUND\r\n"),
            (418, "HTTP/1.1 418 I'M A TEAPOT\r\n"),
            (599, "HTTP/1.1 599 UNKNOWN\r\n"),
        ] {
            let mut out = Vec::new();
            push_status_line(&mut out, (1, 1), status);
            assert_eq!(String::from_utf8(out).unwrap(), line);
        }
        let mut out = Vec::new();
        push_status_line(&mut out, (1, 0), 200);
        assert_eq!(out, b"HTTP/1.0 200 OK\r\n");
    }

    #[test]
    fn lengths_follow_rfc_9110() {
        // HEAD: the GET body's length, as the app declared it.
        let r = Response::text("").with_header("Content-Length", "1234");
        assert!(head(&r, true, Persist::Default).contains("\r\nContent-Length: 1234\r\n"));
        let r = Response::text("abc");
        assert!(head(&r, true, Persist::Default).contains("\r\nContent-Length: 3\r\n"));
        // 1xx and 204: never.
        let r = Response::new(204).with_header("Content-Length", "0");
        assert!(!head(&r, false, Persist::Default).contains("Content-Length"));
        // 304: only what the app said.
        let r = Response::new(304);
        assert!(!head(&r, false, Persist::Default).contains("Content-Length"));
        let r = Response::new(304).with_header("Content-Length", "77");
        assert!(head(&r, false, Persist::Default).contains("Content-Length: 77\r\n"));
        assert_eq!(body_bytes_sent(&Response::text("abc"), true), 0);
        assert_eq!(body_bytes_sent(&Response::text("abc"), false), 3);
        let mut r = Response::new(304);
        r.body = Body::Bytes(b"stale".to_vec());
        assert_eq!(body_bytes_sent(&r, false), 0);
    }

    #[test]
    fn apps_date_and_server_win() {
        let r = Response::text("x")
            .with_header("Date", "Thu, 01 Jan 1970 00:00:00 GMT")
            .with_header("Server", "mine");
        let text = head(&r, false, Persist::Default);
        assert_eq!(text.matches("Date: ").count(), 1);
        assert!(text.contains("Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n"));
        assert!(text.contains("Server: mine\r\n") && !text.contains("flaskrs/test"));
    }

    #[test]
    fn the_date_is_an_imf_fixdate_of_now() {
        let d = with_http_date(|d| d.to_owned());
        let parsed = httpdate::parse_http_date(&d).unwrap();
        let age = SystemTime::now().duration_since(parsed).unwrap_or_default();
        assert!(age.as_secs() <= 2, "{d}");
        assert!(d.ends_with(" GMT"), "{d}");
    }

    #[test]
    fn unwritable_headers_are_named() {
        let r = Response::text("x").with_header("X-Evil", "a\r\nSet-Cookie: b");
        let err = check_headers(&r).unwrap_err();
        assert!(
            err.contains("\"X-Evil\"") && err.contains("CR, LF or NUL"),
            "{err}"
        );
        assert!(
            check_headers(&Response::text("x").with_header("X-Nul", "a\0b"))
                .unwrap_err()
                .contains("X-Nul")
        );
        assert!(
            check_headers(&Response::text("x").with_header("Bad Name", "v"))
                .unwrap_err()
                .contains("valid header name")
        );
        assert!(
            check_headers(&Response::text("x").with_header("X-Utf8", "café"))
                .unwrap_err()
                .contains("non-ASCII")
        );
        assert!(check_headers(&Response::text("x")).is_ok());
    }
}
