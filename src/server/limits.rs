//! Server configuration, request limits, and the check every request head
//! passes before anything touches its body.
//!
//! tiny_http 0.12 has parsed the request line and headers by the time a
//! request reaches us, and it has already chosen a body reader from them. The
//! check here decides two things from those parsed headers: whether the request
//! is acceptable (and with which framing), and whether tiny_http's body reader
//! may safely be dropped at all (see [`Disposal`]).

use std::str::FromStr;
use std::time::Duration;

/// One GiB: the largest unread body remainder the host lets tiny_http drain.
///
/// tiny_http's body reader allocates the whole unread remainder in one buffer
/// when it is dropped (`EqualReader::drop`: `vec![0; remaining]`). A lazily
/// zeroed gigabyte is harmless on any host we target; a remainder the
/// allocator refuses aborts the process, and one above `isize::MAX` panics.
/// Bodies above this size are never accepted, whatever
/// [`ServerLimits::max_content_length`] says.
pub const HARD_BODY_CAP: u64 = 1 << 30;

/// Limits that protect the server from its clients. Each field says how it
/// is enforced on tiny_http 0.12; `SECURITY-notes.md` lists what cannot be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Largest request body accepted (a bigger `Content-Length` is answered
    /// 413 before the body is read; a chunked body is cut off there). `None`
    /// still stops at [`HARD_BODY_CAP`]. Default 16 MiB.
    pub max_content_length: Option<u64>,
    /// Longest request line (method, target, version) accepted; longer ones
    /// are answered 414. Default 8 KiB. Checked after tiny_http has read the
    /// line: this caps what reaches the app, not what is buffered.
    pub max_request_line: usize,
    /// Longest single header line (`Name: value`); longer is 431. Default 8 KiB.
    pub max_header_line: usize,
    /// Most header lines accepted; more is 431. Default 100.
    pub max_headers: usize,
    /// Most header bytes in total; more is 431. Default 64 KiB.
    pub max_header_bytes: usize,
    /// How long a connection may stay silent while sending its request head.
    /// Enforced as an idle timeout on every socket read tiny_http makes
    /// (together with `keep_alive_timeout`, the smaller of the two applies);
    /// a total deadline for the head cannot be enforced. Default 10 s.
    pub header_timeout: Duration,
    /// How long a body read may wait for the next byte before the body counts
    /// as broken (400). Default 30 s idle.
    pub body_timeout: Duration,
    /// How long an idle keep-alive connection is kept open. Default 5 s.
    pub keep_alive_timeout: Duration,
    /// How long a write to a client may block before the response is given
    /// up (a client that does not read). Default 30 s.
    pub send_timeout: Duration,
    /// The most simultaneous connections wanted. tiny_http 0.12 accepts
    /// connections itself, so this is not enforced yet (see
    /// `SECURITY-notes.md`); the host instead recovers when accepting fails
    /// for lack of file descriptors. Default 1024.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_content_length: Some(16 * 1024 * 1024),
            max_request_line: 8 * 1024,
            max_header_line: 8 * 1024,
            max_headers: 100,
            max_header_bytes: 64 * 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            keep_alive_timeout: Duration::from_secs(5),
            send_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

impl ServerLimits {
    /// The body size actually enforced: `max_content_length`, never above
    /// [`HARD_BODY_CAP`].
    pub fn effective_max_body(&self) -> u64 {
        self.max_content_length
            .unwrap_or(HARD_BODY_CAP)
            .min(HARD_BODY_CAP)
    }

    /// The idle timeout set on every accepted socket: the smaller of
    /// `header_timeout` and `keep_alive_timeout` (`None` when both are zero).
    pub(crate) fn socket_read_timeout(&self) -> Option<Duration> {
        [self.header_timeout, self.keep_alive_timeout]
            .into_iter()
            .filter(|d| !d.is_zero())
            .min()
    }
}

/// Where and how to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Host name or IP to bind (`127.0.0.1`, `0.0.0.0`, `::1`, `localhost`).
    pub host: String,
    /// TCP port; 0 picks a free one (see [`super::ServerHandle::addr`]).
    pub port: u16,
    /// Worker threads that run the handler. Default: twice the available
    /// cores, at least 8, because workers also wait on slow clients while
    /// they read bodies and write responses.
    pub threads: usize,
    /// Request limits and timeouts.
    pub limits: ServerLimits,
    /// Whether to write Werkzeug's access-log line for each request.
    pub log_requests: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        ServerConfig {
            host: "127.0.0.1".to_owned(),
            port: 5000,
            threads: (2 * cores).max(8),
            limits: ServerLimits::default(),
            log_requests: true,
        }
    }
}

/// How the body of an accepted request is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body, or a `Content-Length` body of this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// What may be done with tiny_http's request once it has been answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disposal {
    /// Answer and drop it: any drain it does on drop is bounded.
    Respond,
    /// Never drop it: tiny_http's reader would allocate a remainder larger
    /// than [`HARD_BODY_CAP`] on drop and abort or panic. The request is
    /// leaked unanswered (one blocked tiny_http thread and its socket).
    Leak,
}

/// A request refused before its body was touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reject {
    /// The status to answer with.
    pub status: u16,
    /// Why, for the log.
    pub reason: String,
}

/// The verdict on a request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeadCheck {
    /// The body framing, or why the request is refused.
    pub outcome: Result<Framing, Reject>,
    /// Whether dropping tiny_http's request is safe.
    pub disposal: Disposal,
}

fn reject(status: u16, reason: impl Into<String>) -> Result<Framing, Reject> {
    Err(Reject {
        status,
        reason: reason.into(),
    })
}

/// Checks a parsed request head against `limits`, before its body is read.
///
/// `headers` are `(name, value)` as tiny_http parsed them (values trimmed).
pub(crate) fn check_head(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    limits: &ServerLimits,
) -> HeadCheck {
    HeadCheck {
        outcome: framing(method, target, headers, limits),
        disposal: disposal(headers),
    }
}

fn framing(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    limits: &ServerLimits,
) -> Result<Framing, Reject> {
    // "METHOD SP target SP HTTP/x.y"
    let line = method.len() + target.len() + 10;
    if line > limits.max_request_line {
        return reject(414, format!("request line of {line} bytes"));
    }
    if headers.len() > limits.max_headers {
        return reject(431, format!("{} header lines", headers.len()));
    }
    let mut total = 0usize;
    for (name, value) in headers {
        let len = name.len() + value.len() + 2;
        if len > limits.max_header_line {
            return reject(431, format!("header {name:?} of {len} bytes"));
        }
        total += len + 2;
    }
    if total > limits.max_header_bytes {
        return reject(431, format!("{total} bytes of headers"));
    }

    let named = |n: &'static str| {
        headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(n))
    };
    let lengths: Vec<&str> = named("Content-Length").map(|(_, v)| *v).collect();
    let encodings: Vec<&str> = named("Transfer-Encoding").map(|(_, v)| *v).collect();

    // Ambiguous framing is how requests are smuggled past a proxy: refuse it
    // rather than pick one reading (RFC 9112 §6.1, §6.3).
    if !encodings.is_empty() {
        if !lengths.is_empty() {
            return reject(400, "both Content-Length and Transfer-Encoding");
        }
        if encodings.len() > 1 || !encodings[0].trim().eq_ignore_ascii_case("chunked") {
            return reject(501, format!("Transfer-Encoding {:?}", encodings.join(", ")));
        }
        // With `Connection: upgrade` tiny_http hands over the raw stream and
        // would pass the chunk framing to the app as body bytes.
        if named("Connection").any(|(_, v)| v.to_ascii_lowercase().contains("upgrade")) {
            return reject(501, "chunked body on an upgrade request");
        }
        return Ok(Framing::Chunked);
    }
    match lengths.as_slice() {
        [] => Ok(Framing::Length(0)),
        [value] => {
            let value = value.trim();
            // Digits only: tiny_http would also read `+5` as 5.
            let parsed = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
                value.parse::<u64>().ok()
            } else {
                None
            };
            match parsed {
                // 20 digits that overflow u64 are still a number, just a huge one.
                None if value.len() > 19 && value.bytes().all(|b| b.is_ascii_digit()) => {
                    reject(413, format!("Content-Length {value}"))
                }
                None => reject(400, format!("Content-Length {value:?}")),
                Some(n) if n > limits.effective_max_body() => {
                    reject(413, format!("Content-Length {n}"))
                }
                Some(n) => Ok(Framing::Length(n)),
            }
        }
        _ => reject(400, format!("{} Content-Length headers", lengths.len())),
    }
}

/// Mirrors how tiny_http 0.12 (`request::new_request`) frames the body, to
/// tell whether dropping its reader is safe: with no `Transfer-Encoding` and
/// no `Connection: upgrade`, the first `Content-Length` read as `usize` (so
/// `+5` counts) above 1024 bytes gets an `EqualReader` that drains the unread
/// remainder on drop.
fn disposal(headers: &[(&str, &str)]) -> Disposal {
    let first = |n: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| *v)
    };
    if first("Transfer-Encoding").is_some() {
        return Disposal::Respond;
    }
    if first("Connection").is_some_and(|v| v.to_ascii_lowercase().contains("upgrade")) {
        return Disposal::Respond;
    }
    match first("Content-Length").and_then(|v| usize::from_str(v).ok()) {
        Some(n) if n as u64 > HARD_BODY_CAP => Disposal::Leak,
        _ => Disposal::Respond,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(headers: &[(&str, &str)]) -> HeadCheck {
        check_head("POST", "/", headers, &ServerLimits::default())
    }

    fn status(headers: &[(&str, &str)]) -> Option<u16> {
        check(headers).outcome.err().map(|r| r.status)
    }

    #[test]
    fn plain_lengths_are_accepted() {
        assert_eq!(check(&[]).outcome, Ok(Framing::Length(0)));
        assert_eq!(
            check(&[("content-length", "12")]).outcome,
            Ok(Framing::Length(12))
        );
        assert_eq!(
            check(&[("Transfer-Encoding", "Chunked")]).outcome,
            Ok(Framing::Chunked)
        );
    }

    #[test]
    fn ambiguous_framing_is_refused() {
        assert_eq!(status(&[("Content-Length", "+5")]), Some(400));
        assert_eq!(status(&[("Content-Length", "5x")]), Some(400));
        assert_eq!(status(&[("Content-Length", "")]), Some(400));
        assert_eq!(status(&[("Content-Length", "-1")]), Some(400));
        assert_eq!(
            status(&[("Content-Length", "5"), ("Content-Length", "5")]),
            Some(400)
        );
        assert_eq!(
            status(&[("Content-Length", "5"), ("Transfer-Encoding", "chunked")]),
            Some(400)
        );
        assert_eq!(status(&[("Transfer-Encoding", "gzip, chunked")]), Some(501));
        assert_eq!(
            status(&[("Transfer-Encoding", "chunked"), ("Connection", "Upgrade")]),
            Some(501)
        );
        assert_eq!(
            status(&[
                ("Transfer-Encoding", "chunked"),
                ("Transfer-Encoding", "chunked")
            ]),
            Some(501)
        );
    }

    #[test]
    fn oversize_bodies_are_413_and_huge_ones_are_never_dropped() {
        assert_eq!(status(&[("Content-Length", "16777217")]), Some(413));
        assert_eq!(
            check(&[("Content-Length", "16777217")]).disposal,
            Disposal::Respond
        );
        let huge = check(&[("Content-Length", "9223372036854775000")]);
        assert_eq!(huge.outcome.unwrap_err().status, 413);
        assert_eq!(huge.disposal, Disposal::Leak);
        let max = check(&[("Content-Length", "18446744073709551615")]);
        assert_eq!(max.outcome.unwrap_err().status, 413);
        assert_eq!(max.disposal, Disposal::Leak);
        assert_eq!(
            status(&[("Content-Length", "99999999999999999999")]),
            Some(413)
        );
        // tiny_http reads `+N` as N: refused, and still must not be dropped.
        let plus = check(&[("Content-Length", "+9223372036854775000")]);
        assert_eq!(plus.outcome.unwrap_err().status, 400);
        assert_eq!(plus.disposal, Disposal::Leak);
        // With Transfer-Encoding tiny_http ignores Content-Length entirely.
        let te = check(&[
            ("Transfer-Encoding", "x"),
            ("Content-Length", "9223372036854775000"),
        ]);
        assert_eq!(te.disposal, Disposal::Respond);
        // Only the first Content-Length counts for tiny_http.
        let dup = check(&[
            ("Content-Length", "1"),
            ("Content-Length", "9223372036854775000"),
        ]);
        assert_eq!(dup.disposal, Disposal::Respond);
    }

    #[test]
    fn no_limit_still_stops_at_the_hard_cap() {
        let limits = ServerLimits {
            max_content_length: None,
            ..ServerLimits::default()
        };
        assert_eq!(limits.effective_max_body(), HARD_BODY_CAP);
        let over = (HARD_BODY_CAP + 1).to_string();
        let c = check_head("POST", "/", &[("Content-Length", &over)], &limits);
        assert_eq!(c.outcome.unwrap_err().status, 413);
    }

    #[test]
    fn head_size_limits() {
        let limits = ServerLimits::default();
        let long = format!("/{}", "a".repeat(8200));
        assert_eq!(
            check_head("GET", &long, &[], &limits)
                .outcome
                .unwrap_err()
                .status,
            414
        );
        let many: Vec<(&str, &str)> = (0..101).map(|_| ("X-A", "b")).collect();
        assert_eq!(
            check_head("GET", "/", &many, &limits)
                .outcome
                .unwrap_err()
                .status,
            431
        );
        let big = "v".repeat(8200);
        assert_eq!(
            check_head("GET", "/", &[("X-Big", &big)], &limits)
                .outcome
                .unwrap_err()
                .status,
            431
        );
        let eight = "v".repeat(8000);
        let lots: Vec<(&str, &str)> = (0..9).map(|_| ("X-Big", eight.as_str())).collect();
        assert_eq!(
            check_head("GET", "/", &lots, &limits)
                .outcome
                .unwrap_err()
                .status,
            431
        );
    }

    #[test]
    fn socket_timeout_is_the_smaller_idle_timeout() {
        let limits = ServerLimits::default();
        assert_eq!(limits.socket_read_timeout(), Some(Duration::from_secs(5)));
        let none = ServerLimits {
            header_timeout: Duration::ZERO,
            keep_alive_timeout: Duration::ZERO,
            ..limits
        };
        assert_eq!(none.socket_read_timeout(), None);
    }
}
