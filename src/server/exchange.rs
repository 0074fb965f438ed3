//! One request/response exchange: tiny_http's request in (already checked
//! and canonically framed by the front door), the handler run with panics
//! caught, the response checked and written, the access line logged.

use std::cell::RefCell;
use std::io::{self, Cursor, IoSlice, Read, Write};
use std::net::Shutdown;
use std::net::TcpStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::http::{Body, HttpError, Request, RequestBody, Response};

use super::access_log;
use super::answer::{self, Persist};
use super::front::head::{parse_conn_header, CONN_HEADER, PEER_HEADER};
use super::front::{Conns, Slot as ClientSlot};
use super::limits::ServerLimits;
use super::{Handler, SERVER_HEADER};

/// What every worker shares.
pub(crate) struct Context {
    pub handler: Handler,
    pub limits: ServerLimits,
    /// `host:port` as bound, for [`Request::server_name`].
    pub server_name: String,
    pub log_requests: bool,
    /// The front door's client connections, for answers written direct.
    pub conns: Arc<Conns>,
}

/// The client connection a request came from, when the front door asked
/// for the answer to be written to it directly. If the answer is never
/// written (a panic on the way), the connection is ended: the client must
/// not wait for it, nor get later answers in its place.
struct Direct {
    client: Arc<ClientSlot>,
    /// What the answer says about the connection.
    persist: Persist,
    written: bool,
}

impl Drop for Direct {
    fn drop(&mut self) {
        if !self.written {
            let _ = self.client.stream.shutdown(Shutdown::Both);
            self.client.track.answer_written();
        }
    }
}

/// Bytes buffered per write to the client.
const DIRECT_BUFFER: usize = 16 * 1024;

/// How the body of a forwarded request is framed. The front door sends at
/// most one framing header, in canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// No body, or a `Content-Length` body of this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked` (re-chunked by the front door).
    Chunked,
}

fn framing(headers: &[(String, String)]) -> Framing {
    let mut framing = Framing::Length(0);
    for (k, v) in headers {
        if k.eq_ignore_ascii_case("Transfer-Encoding") {
            return Framing::Chunked;
        }
        if k.eq_ignore_ascii_case("Content-Length") {
            framing = Framing::Length(v.parse().unwrap_or(0));
        }
    }
    framing
}

/// tiny_http's request, kept reachable by the handler's body reader and the
/// worker that answers it.
type Slot = Arc<Mutex<Option<tiny_http::Request>>>;

fn lock(slot: &Slot) -> MutexGuard<'_, Option<tiny_http::Request>> {
    // A handler that panicked while reading leaves the lock poisoned; the
    // request inside is still fine to answer.
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serves one request from tiny_http. Never panics on client input.
pub(crate) fn serve(rq: tiny_http::Request, ctx: &Context) {
    let method = rq.method().as_str().to_owned();
    let target = rq.url().to_owned();
    let version = format!("HTTP/{}.{}", rq.http_version().0, rq.http_version().1);
    let mut remote = String::new();
    let mut direct = None;
    let mut headers: Vec<(String, String)> = Vec::with_capacity(rq.headers().len());
    for h in rq.headers() {
        let (k, v) = (h.field.as_str().as_str(), h.value.as_str());
        if k.eq_ignore_ascii_case(PEER_HEADER) {
            // Set by the front door only: clients' copies are dropped there.
            remote = v.to_owned();
        } else if k.eq_ignore_ascii_case(CONN_HEADER) {
            // Likewise.
            direct = parse_conn_header(v);
        } else {
            headers.push((k.to_owned(), v.to_owned()));
        }
    }
    let framing = framing(&headers);
    if let Framing::Length(n) = framing {
        if n > ctx.limits.effective_max_body() {
            // The front door refuses these; never let tiny_http drop one.
            log::error!(target: "flaskrs::server", "{remote}: a body of {n} bytes reached the app server");
            std::mem::forget(rq);
            return;
        }
    }

    // From here on, every way out answers the client or ends its
    // connection. (A connection gone already gets no answer.)
    let direct = match direct {
        Some((id, Some(persist))) => Some(ctx.conns.get(id).map(|client| {
            client.track.taken();
            Direct {
                client,
                persist,
                written: false,
            }
        })),
        Some((id, None)) => {
            // Relayed: tiny_http writes the answer; the front door only
            // learns the request was taken.
            if let Some(client) = ctx.conns.get(id) {
                client.track.taken();
            }
            None
        }
        None => None,
    };
    let slot: Slot = Arc::new(Mutex::new(Some(rq)));
    // Request::new upper-cases the method, as Werkzeug's `Request.method`.
    let mut request = Request::new(&method, &target);
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
        finish(
            rq, direct, response, &method, &target, &version, &remote, ctx,
        );
    }
}

/// Writes `response` to tiny_http's request (or `direct` to the client)
/// and logs the exchange.
#[allow(clippy::too_many_arguments)]
fn finish(
    rq: tiny_http::Request,
    direct: Option<Option<Direct>>,
    response: Response,
    method: &str,
    target: &str,
    version: &str,
    remote: &str,
    ctx: &Context,
) {
    let is_head = method == "HEAD";
    let response = match answer::check_headers(&response) {
        Ok(()) => response,
        Err(problem) => {
            log::error!(target: "flaskrs::server", "Exception on {method} {target:?}: {problem}; answered 500 instead");
            HttpError::new(500).to_response()
        }
    };
    let status = response.status;
    let written = match direct {
        Some(Some(direct)) => respond_direct(rq, response, is_head, direct),
        Some(None) => {
            drop(rq.into_writer());
            Ok(())
        }
        None => match to_tiny(response, is_head) {
            Ok(tiny) => rq.respond(tiny),
            Err(problem) => {
                log::error!(target: "flaskrs::server", "Exception on {method} {target:?}: {problem}");
                rq.respond(tiny_http::Response::empty(500))
            }
        },
    };
    if let Err(e) = written {
        log::debug!(target: "flaskrs::server", "{remote}: writing the response to {method} {target:?} failed: {e}");
    }
    if ctx.log_requests {
        access_log::log_request(remote, method, target, version, status);
    }
}

/// Writes the answer to the client socket, in its turn among the answers
/// on the same private connection.
fn respond_direct(
    rq: tiny_http::Request,
    response: Response,
    is_head: bool,
    mut direct: Direct,
) -> io::Result<()> {
    let version = rq.http_version();
    let version = (version.0, version.1);
    // tiny_http's writer for this request (nothing is written to it) lets
    // it write only once the answers to the requests before it on the
    // private connection were written: an empty write waits for that turn.
    // Dropping it lets the next one go.
    let mut turn = rq.into_writer();
    let written = turn.write(&[]).and_then(|_| {
        write_answer(
            &direct.client.stream,
            version,
            response,
            is_head,
            direct.persist,
        )
    });
    if written.is_err() {
        // Part of an answer may have gone out: the connection is unusable.
        let _ = direct.client.stream.shutdown(Shutdown::Both);
    }
    direct.written = true;
    direct.client.track.answer_written();
    drop(turn);
    written
}

/// Writes head and body with as few writes as the body allows: one for a
/// body up to [`DIRECT_BUFFER`] minus the head (in memory or a file), two
/// (one gathered write, usually) for a larger body in memory.
fn write_answer(
    mut client: &TcpStream,
    version: (u8, u8),
    response: Response,
    is_head: bool,
    persist: Persist,
) -> io::Result<()> {
    thread_local! {
        static OUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    OUT.with_borrow_mut(|out| {
        out.clear();
        answer::write_head(out, version, &response, is_head, persist, SERVER_HEADER);
        let send = answer::body_bytes_sent(&response, is_head);
        let result = match response.body {
            Body::Bytes(body) => {
                let body = &body[..usize::try_from(send).unwrap_or(body.len()).min(body.len())];
                if out.len() + body.len() <= DIRECT_BUFFER {
                    out.extend_from_slice(body);
                    client.write_all(out)
                } else {
                    write_all_two(client, out, body)
                }
            }
            Body::Stream { reader, len } => {
                let mut reader = ExactReader {
                    inner: reader,
                    left: len,
                };
                copy_after(out, &mut reader, send, client)
            }
        };
        if out.capacity() > 4 * DIRECT_BUFFER {
            // A big answer must not pin its buffer for good.
            *out = Vec::new();
        }
        result
    })
}

/// Writes `out` (a head) followed by `left` bytes of `body`, filling `out`
/// up to [`DIRECT_BUFFER`] per write, so a small file goes out with its
/// head in one write.
fn copy_after(
    out: &mut Vec<u8>,
    body: &mut dyn Read,
    mut left: u64,
    mut client: &TcpStream,
) -> io::Result<()> {
    loop {
        while left > 0 && out.len() < DIRECT_BUFFER {
            let start = out.len();
            let room = usize::try_from(left)
                .unwrap_or(usize::MAX)
                .min(DIRECT_BUFFER - start);
            out.resize(start + room, 0);
            match body.read(&mut out[start..]) {
                Ok(n) => {
                    out.truncate(start + n);
                    left -= n as u64;
                    if n == 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "response body ended early",
                        ));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => out.truncate(start),
                Err(e) => return Err(e),
            }
        }
        client.write_all(out)?;
        out.clear();
        if left == 0 {
            return Ok(());
        }
    }
}

/// `write_all` of `a` then `b`, gathered into one `writev` when the socket
/// takes it.
fn write_all_two(mut client: &TcpStream, a: &[u8], b: &[u8]) -> io::Result<()> {
    let (mut a, mut b) = (a, b);
    while !a.is_empty() {
        match client.write_vectored(&[IoSlice::new(a), IoSlice::new(b)]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) if n < a.len() => a = &a[n..],
            Ok(n) => {
                b = &b[n - a.len()..];
                a = &[];
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    client.write_all(b)
}

/// Builds tiny_http's response from one whose headers passed
/// [`answer::check_headers`], or says which header tiny_http refuses.
pub(crate) fn to_tiny(response: Response, is_head: bool) -> Result<tiny_http::ResponseBox, String> {
    let mut headers = Vec::with_capacity(response.headers.len() + 1);
    let mut declared_length = None;
    for (name, value) in response.headers.iter() {
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
/// lazily, never past the declared length or the size cap, and reports a
/// body that ends early as an error. (The front door applies the body idle
/// timeout: when it passes, it ends the private connection, which ends the
/// body here.)
struct BodyReader {
    slot: Slot,
    framing: Framing,
    cap: u64,
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
                Err(e) => {
                    let kind = e.kind();
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
    fn framing_comes_from_the_canonical_headers() {
        let h = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert_eq!(framing(&[]), Framing::Length(0));
        assert_eq!(framing(&h("content-length", "12")), Framing::Length(12));
        assert_eq!(
            framing(&h("Transfer-Encoding", "chunked")),
            Framing::Chunked
        );
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
