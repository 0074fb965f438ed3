//! One request/response exchange: tiny_http's request in, the handler run
//! with panics caught, the response checked and written, the access line
//! logged, and tiny_http's request disposed of safely.

use std::io::{self, Cursor, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::http::{Body, HttpError, Request, RequestBody, Response};

use super::access_log;
use super::limits::{check_head, Disposal, Framing, ServerLimits};
use super::Handler;

/// What every worker shares.
pub(crate) struct Context {
    pub handler: Handler,
    pub limits: ServerLimits,
    /// `host:port` as bound, for [`Request::server_name`].
    pub server_name: String,
    pub log_requests: bool,
    /// Requests leaked because dropping them would abort the process.
    pub leaked: AtomicUsize,
}

/// The `Server` header written when the app sets none.
const SERVER_HEADER: &str = concat!("flaskrs/", env!("CARGO_PKG_VERSION"));

/// tiny_http's request, kept reachable by the handler's body reader and the
/// worker that answers it.
type Slot = Arc<Mutex<Option<tiny_http::Request>>>;

fn lock(slot: &Slot) -> MutexGuard<'_, Option<tiny_http::Request>> {
    // A handler that panicked while reading leaves the lock poisoned; the
    // request inside is still fine to answer.
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serves one request from tiny_http. Never panics on client input: every
/// path either answers the request or deliberately leaks it (see
/// [`Disposal::Leak`]).
pub(crate) fn serve(rq: tiny_http::Request, ctx: &Context) {
    let method = rq.method().as_str().to_owned();
    let target = rq.url().to_owned();
    let version = format!("HTTP/{}.{}", rq.http_version().0, rq.http_version().1);
    let remote = rq
        .remote_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = rq
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_owned(),
                h.value.as_str().to_owned(),
            )
        })
        .collect();
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let check = check_head(&method, &target, &pairs, &ctx.limits);

    if check.disposal == Disposal::Leak {
        // Dropping this request (or reading its body to the end) makes
        // tiny_http allocate the declared remainder and abort the process.
        // Leaking it costs one blocked tiny_http thread and its socket.
        let n = ctx.leaked.fetch_add(1, Ordering::Relaxed) + 1;
        let reason = check.outcome.err().map(|r| r.reason).unwrap_or_default();
        log::warn!(
            target: "flaskrs::server",
            "{remote}: refused {method} {target:?} ({reason}) without an answer: tiny_http 0.12 cannot drop it safely ({n} connections leaked so far)"
        );
        std::mem::forget(rq);
        return;
    }

    let framing = match check.outcome {
        Ok(framing) => framing,
        Err(reject) => {
            log::debug!(target: "flaskrs::server", "{remote}: refused {method} {target:?}: {}", reject.reason);
            let response = HttpError::new(reject.status).to_response();
            finish(rq, response, &method, &target, &version, &remote, ctx);
            return;
        }
    };

    let slot: Slot = Arc::new(Mutex::new(Some(rq)));
    // Request::new upper-cases the method, as Werkzeug's `Request.method`.
    let mut request = Request::new(&method, &origin_form(&target));
    request.headers = headers.into_iter().collect();
    request.remote_addr = remote.clone();
    request.scheme = "http".to_owned();
    request.server_name = ctx.server_name.clone();
    request.body = match framing {
        Framing::Length(0) => RequestBody::empty(),
        framing => RequestBody::from_reader(Box::new(BodyReader {
            slot: slot.clone(),
            framing,
            cap: ctx.limits.effective_max_body(),
            idle: ctx.limits.body_timeout,
            read: 0,
            error: None,
        })),
    };

    let handler = ctx.handler.clone();
    let response = match catch_unwind(AssertUnwindSafe(move || handler(request))) {
        Ok(response) => response,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-string panic".to_owned());
            log::error!(target: "flaskrs::server", "Exception on {method} {target:?}: the handler panicked: {what}");
            HttpError::new(500).to_response()
        }
    };

    let taken = lock(&slot).take();
    if let Some(rq) = taken {
        finish(rq, response, &method, &target, &version, &remote, ctx);
    }
}

/// A target in absolute form (`http://host/p?q`, RFC 9112 §3.2.2) reduced to
/// its path and query, as Werkzeug does; other targets pass unchanged.
fn origin_form(target: &str) -> String {
    for scheme in ["http://", "https://"] {
        if target.len() > scheme.len() && target[..scheme.len()].eq_ignore_ascii_case(scheme) {
            let rest = &target[scheme.len()..];
            return match rest.find(['/', '?']) {
                Some(i) if rest.as_bytes()[i] == b'/' => rest[i..].to_owned(),
                Some(i) => format!("/{}", &rest[i..]),
                None => "/".to_owned(),
            };
        }
    }
    target.to_owned()
}

/// Writes `response` to tiny_http's request and logs the exchange.
fn finish(
    rq: tiny_http::Request,
    response: Response,
    method: &str,
    target: &str,
    version: &str,
    remote: &str,
    ctx: &Context,
) {
    let is_head = method == "HEAD";
    let (status, tiny) = match to_tiny(response, is_head) {
        Ok(t) => (t.status_code().0, t),
        Err(problem) => {
            log::error!(target: "flaskrs::server", "Exception on {method} {target:?}: {problem}; answered 500 instead");
            let fallback = to_tiny(HttpError::new(500).to_response(), is_head);
            match fallback {
                Ok(t) => (500, t),
                Err(_) => (500, tiny_http::Response::empty(500).boxed()),
            }
        }
    };
    if let Err(e) = rq.respond(tiny) {
        log::debug!(target: "flaskrs::server", "{remote}: writing the response to {method} {target:?} failed: {e}");
    }
    if ctx.log_requests {
        access_log::log_request(remote, method, target, version, status);
    }
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

/// Builds tiny_http's response, or says which header makes it unwritable.
pub(crate) fn to_tiny(response: Response, is_head: bool) -> Result<tiny_http::ResponseBox, String> {
    let mut headers = Vec::with_capacity(response.headers.len() + 1);
    let mut declared_length = None;
    for (name, value) in response.headers.iter() {
        if let Some(problem) = header_problem(name, value) {
            return Err(format!("response header {name:?} {problem}"));
        }
        if name.eq_ignore_ascii_case("Content-Length") {
            // tiny_http writes Content-Length itself from the length given
            // below; for HEAD that is the app's GET length.
            declared_length = value.trim().parse::<u64>().ok();
            continue;
        }
        let header = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
            .map_err(|_| format!("response header {name:?} is not writable"))?;
        headers.push(header);
    }
    if !response.headers.contains("Server") {
        if let Ok(h) = tiny_http::Header::from_bytes(&b"Server"[..], SERVER_HEADER.as_bytes()) {
            headers.push(h);
        }
    }
    let body_len = response.body.len();
    let length = match (is_head, declared_length) {
        (true, Some(n)) => n,
        _ => body_len,
    };
    let length =
        usize::try_from(length).map_err(|_| format!("body of {length} bytes is too large"))?;
    let reader: Box<dyn Read + Send> = match response.body {
        Body::Bytes(b) => Box::new(Cursor::new(b)),
        Body::Stream { reader, len } => Box::new(ExactReader {
            inner: reader,
            left: len,
        }),
    };
    // A threshold above any length keeps tiny_http from switching to chunked
    // encoding for large bodies: the length is always known, and a HEAD
    // answer must carry its Content-Length.
    Ok(tiny_http::Response::new(
        tiny_http::StatusCode(response.status),
        headers,
        reader,
        Some(length),
        None,
    )
    .with_chunked_threshold(usize::MAX))
}

/// Yields exactly `left` bytes of a streamed body, and fails if the stream
/// ends early, so a short file never leaves the client waiting for bytes
/// promised by Content-Length.
struct ExactReader {
    inner: Box<dyn Read + Send>,
    left: u64,
}

impl Read for ExactReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let max = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("response body ended {} bytes early", self.left),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The handler's view of the request body: reads tiny_http's body reader
/// lazily, never past the declared length or the size cap, waits up to the
/// body idle timeout, and reports a body that ends early as an error.
struct BodyReader {
    slot: Slot,
    framing: Framing,
    cap: u64,
    idle: Duration,
    read: u64,
    error: Option<(io::ErrorKind, String)>,
}

impl BodyReader {
    fn fail(&mut self, kind: io::ErrorKind, msg: String) -> io::Error {
        self.error = Some((kind, msg.clone()));
        io::Error::new(kind, msg)
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some((kind, msg)) = &self.error {
            return Err(io::Error::new(*kind, msg.clone()));
        }
        let want = match self.framing {
            Framing::Length(n) => n - self.read,
            // One byte past the cap lets a caller tell "too large" apart.
            Framing::Chunked => (self.cap + 1).saturating_sub(self.read),
        };
        if buf.is_empty() {
            return Ok(0);
        }
        if want == 0 {
            if let Framing::Chunked = self.framing {
                return Err(self.fail(
                    io::ErrorKind::InvalidData,
                    format!("request body exceeds {} bytes", self.cap),
                ));
            }
            return Ok(0);
        }
        let max = usize::try_from(want).unwrap_or(usize::MAX).min(buf.len());
        let slot = self.slot.clone();
        let mut guard = lock(&slot);
        let Some(rq) = guard.as_mut() else {
            return Ok(0);
        };
        let started = Instant::now();
        loop {
            match rq.as_reader().read(&mut buf[..max]) {
                Ok(0) => {
                    return match self.framing {
                        Framing::Length(n) => Err(self.fail(
                            io::ErrorKind::UnexpectedEof,
                            format!("request body ended after {} of {n} bytes", self.read),
                        )),
                        Framing::Chunked => Ok(0),
                    };
                }
                Ok(k) => {
                    self.read += k as u64;
                    return Ok(k);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The socket's own timeout is the shorter keep-alive one;
                // a Content-Length body may wait longer. tiny_http's
                // fixed-length reader keeps its place across a timed-out
                // read; its chunked decoder does not, so that one fails.
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) && matches!(self.framing, Framing::Length(_))
                        && started.elapsed() < self.idle =>
                {
                    continue
                }
                Err(e) => {
                    let kind = match e.kind() {
                        io::ErrorKind::WouldBlock => io::ErrorKind::TimedOut,
                        k => k,
                    };
                    return Err(self.fail(kind, format!("reading the request body failed: {e}")));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_targets_become_paths() {
        assert_eq!(origin_form("http://example.com/a?b"), "/a?b");
        assert_eq!(origin_form("HTTPS://example.com"), "/");
        assert_eq!(origin_form("http://example.com?x"), "/?x");
        assert_eq!(origin_form("/http://x"), "/http://x");
        assert_eq!(origin_form("*"), "*");
    }

    #[test]
    fn unwritable_headers_are_named() {
        let r = Response::text("x").with_header("X-Evil", "a\r\nSet-Cookie: b");
        let err = to_tiny(r, false).err().unwrap();
        assert!(
            err.contains("\"X-Evil\"") && err.contains("CR, LF or NUL"),
            "{err}"
        );
        let r = Response::text("x").with_header("X-Nul", "a\0b");
        assert!(to_tiny(r, false).err().unwrap().contains("X-Nul"));
        let r = Response::text("x").with_header("Bad Name", "v");
        assert!(to_tiny(r, false)
            .err()
            .unwrap()
            .contains("valid header name"));
        let r = Response::text("x").with_header("X-Utf8", "café");
        assert!(to_tiny(r, false).err().unwrap().contains("non-ASCII"));
    }

    #[test]
    fn length_comes_from_the_body_except_for_head() {
        let r = Response::text("hello").with_header("Content-Length", "99");
        assert_eq!(to_tiny(r, false).unwrap().data_length(), Some(5));
        let r = Response::text("").with_header("Content-Length", "99");
        assert_eq!(to_tiny(r, true).unwrap().data_length(), Some(99));
    }

    #[test]
    fn short_streams_fail_instead_of_hanging_the_client() {
        let mut r = ExactReader {
            inner: Box::new(&b"abc"[..]),
            left: 5,
        };
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let mut r = ExactReader {
            inner: Box::new(&b"abcdef"[..]),
            left: 4,
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcd");
    }
}
