//! Reading and judging one request head, before anything is forwarded.
//!
//! [`Scanner`] finds the end of a head incrementally (each byte is looked at
//! once, however slowly it arrives) and enforces the size limits while the
//! head is still incomplete, so an oversize line is refused as soon as it
//! crosses its limit instead of after it was buffered. [`parse`] then judges
//! a complete head by RFC 9112 and returns the [`Head`] to forward, or the
//! status to refuse it with. Everything ambiguous is refused: this is where
//! request smuggling is stopped.

use crate::server::answer::Persist;
use crate::server::limits::ServerLimits;

/// The name of the header that carries the client's address to the app.
/// Any copy a client sends is dropped before forwarding.
pub(crate) const PEER_HEADER: &str = "X-Flaskrs-Peer";

/// The name of the header that tells a worker which client connection to
/// write the answer to itself. Any copy a client sends is dropped.
pub(crate) const CONN_HEADER: &str = "X-Flaskrs-Conn";

/// How the answer to a forwarded request goes back to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// The worker writes it to the client socket itself; `last` when the
    /// client connection ends after it.
    Direct {
        /// The connection's last request.
        last: bool,
    },
    /// tiny_http writes it on the private connection and a relay copies it.
    Relayed,
}

/// Reads the value of [`CONN_HEADER`], `<id>[; <how>]`: the client
/// connection's id, and `Some` with what a direct answer must say about the
/// connection (`<id>`: nothing; `<id>; close`: it is the last answer;
/// `<id>; keep-alive`: an HTTP/1.0 client asked to keep the connection and
/// must be told it is kept), or `None` for `<id>; relayed` (the answer goes
/// back through tiny_http).
pub(crate) fn parse_conn_header(value: &str) -> Option<(u64, Option<Persist>)> {
    let (id, how) = value.split_once(';').unwrap_or((value, ""));
    let how = match how.trim() {
        "" => Some(Persist::Default),
        "close" => Some(Persist::Close),
        "keep-alive" => Some(Persist::KeepAlive),
        "relayed" => None,
        _ => return None,
    };
    Some((id.trim().parse().ok()?, how))
}

/// A request refused by the front door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reject {
    /// The status to answer with (the connection is closed after it).
    pub status: u16,
    /// Why, for the log.
    pub reason: String,
}

pub(crate) fn reject<T>(status: u16, reason: impl Into<String>) -> Result<T, Reject> {
    Err(Reject {
        status,
        reason: reason.into(),
    })
}

/// Where the scan of a head stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scan {
    /// More bytes are needed.
    More,
    /// The head ends at this offset (just past its empty line).
    Complete(usize),
}

/// Finds the end of a request head and enforces its size limits on the way.
#[derive(Debug, Default)]
pub(crate) struct Scanner {
    /// Next byte to look at.
    pos: usize,
    /// Start of the line being read.
    line_start: usize,
    /// Whether the request line was seen (empty lines before it are skipped).
    started: bool,
    /// Header lines seen.
    headers: usize,
    /// Bytes of header lines seen, CRLF included.
    header_bytes: usize,
}

impl Scanner {
    /// Whether any byte of a head was seen (the connection is not idle).
    pub(crate) fn has_bytes(&self) -> bool {
        self.pos > 0
    }

    /// Looks at the bytes of `buf` not yet seen. `buf` must start where the
    /// head starts and only ever grow between calls.
    pub(crate) fn feed(&mut self, buf: &[u8], limits: &ServerLimits) -> Result<Scan, Reject> {
        while self.pos < buf.len() {
            let Some(offset) = buf[self.pos..].iter().position(|&b| b == b'\n') else {
                self.pos = buf.len();
                break;
            };
            let lf = self.pos + offset;
            self.pos = lf + 1;
            if lf == self.line_start || buf[lf - 1] != b'\r' {
                return reject(400, "a line ending in a bare LF");
            }
            let len = lf - 1 - self.line_start;
            self.check_line(len, true, limits)?;
            self.line_start = self.pos;
            if len == 0 {
                if self.started {
                    return Ok(Scan::Complete(self.pos));
                }
                // RFC 9112 §2.2: empty lines before the request line are
                // ignored; they still count against the head's size.
                self.header_bytes += 2;
                if self.header_bytes > limits.max_header_bytes {
                    return reject(431, "too many empty lines before the request");
                }
                continue;
            }
            if !self.started {
                self.started = true;
            } else {
                self.headers += 1;
                self.header_bytes += len + 2;
            }
        }
        // The line still open must not already be over its limit.
        let open = buf.len() - self.line_start;
        self.check_line(open.saturating_sub(1), false, limits)?;
        Ok(Scan::More)
    }

    fn check_line(&self, len: usize, complete: bool, limits: &ServerLimits) -> Result<(), Reject> {
        if !self.started {
            if len > limits.max_request_line {
                return reject(
                    414,
                    format!("a request line over {} bytes", limits.max_request_line),
                );
            }
            return Ok(());
        }
        if len > limits.max_header_line {
            return reject(
                431,
                format!("a header line over {} bytes", limits.max_header_line),
            );
        }
        if complete && len > 0 && self.headers >= limits.max_headers {
            return reject(
                431,
                format!("more than {} header lines", limits.max_headers),
            );
        }
        if self.header_bytes + len > limits.max_header_bytes {
            return reject(
                431,
                format!("more than {} bytes of headers", limits.max_header_bytes),
            );
        }
        Ok(())
    }
}

/// The HTTP version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// HTTP/1.0.
    Http10,
    /// HTTP/1.1 (and any higher 1.x, read as 1.1 per RFC 9110 §2.5).
    Http11,
}

/// How a request body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body and no `Content-Length`.
    None,
    /// A `Content-Length` body of this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A request head that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    /// The method, as sent.
    pub method: String,
    /// The target as sent (for the log).
    pub target: String,
    /// The target forwarded: origin-form, or `*`.
    pub forward_target: String,
    /// The version.
    pub version: Version,
    /// The headers forwarded, in order: hop-by-hop and framing headers
    /// removed, `Host` replaced by the authority of an absolute-form target.
    pub headers: Vec<(String, String)>,
    /// The body framing.
    pub framing: Framing,
    /// Whether the client wants the connection kept open after this request.
    pub keep_alive: bool,
    /// Whether the client waits for `100 Continue` before sending the body.
    pub expect_continue: bool,
}

/// What is known of a refused head, for the access log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RequestLine {
    /// Method, target and version, when the request line could be split.
    pub parts: Option<(String, String, String)>,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// Field values: visible ASCII, space and tab. `obs-text` is refused too,
/// because tiny_http only takes ASCII heads.
fn is_field_value(s: &[u8]) -> bool {
    s.iter()
        .all(|&b| b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b))
}

fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| b != b' ' && b != b'\t');
    let Some(start) = start else { return &[] };
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .unwrap_or(start);
    &s[start..=end]
}

fn text(s: &[u8]) -> String {
    String::from_utf8_lossy(s).into_owned()
}

/// Splits a request line into its three parts, for the log, when it can be.
pub(crate) fn request_line_parts(head: &[u8]) -> RequestLine {
    let start = head
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(0);
    let line = &head[start..];
    let end = line
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(line.len());
    let mut parts = line[..end].splitn(3, |&b| b == b' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(t), Some(v)) => RequestLine {
            parts: Some((text(m), text(t), text(v))),
        },
        _ => RequestLine::default(),
    }
}

/// Checks a `Host` value: `uri-host [ ":" port ]`, or empty.
fn valid_host(h: &[u8]) -> bool {
    if h.is_empty() {
        return true;
    }
    let (host, port) = if h[0] == b'[' {
        let Some(close) = h.iter().position(|&b| b == b']') else {
            return false;
        };
        let inner = &h[1..close];
        if inner.is_empty()
            || !inner
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return false;
        }
        match &h[close + 1..] {
            [] => (&h[..0], None),
            [b':', port @ ..] => (&h[..0], Some(port)),
            _ => return false,
        }
    } else {
        match h.iter().rposition(|&b| b == b':') {
            Some(i) => (&h[..i], Some(&h[i + 1..])),
            None => (h, None),
        }
    };
    let host_ok = host
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b));
    let port_ok = port.is_none_or(|p| p.len() <= 5 && p.iter().all(u8::is_ascii_digit));
    host_ok && port_ok
}

/// Headers that describe this hop only, or that the front door rewrites.
fn dropped(name: &str) -> bool {
    [
        "Connection",
        "Keep-Alive",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Upgrade",
        "Transfer-Encoding",
        "Content-Length",
        "Expect",
        PEER_HEADER,
        CONN_HEADER,
    ]
    .iter()
    .any(|d| d.eq_ignore_ascii_case(name))
}

/// Judges a complete head (`raw` ends with its empty line).
pub(crate) fn parse(raw: &[u8], limits: &ServerLimits) -> Result<Head, Reject> {
    let mut lines = raw
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .skip_while(|l| l.is_empty());
    let Some(request_line) = lines.next() else {
        return reject(400, "an empty request");
    };
    let (method, target, version) = parse_request_line(request_line)?;

    let mut fields: Vec<(String, String)> = Vec::new();
    for line in lines.take_while(|l| !l.is_empty()) {
        if line[0] == b' ' || line[0] == b'\t' {
            return reject(400, "an obsolete folded header line");
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return reject(
                400,
                format!("a header line without a colon: {:?}", text(line)),
            );
        };
        let (name, value) = (&line[..colon], trim_ows(&line[colon + 1..]));
        if !is_token(name) {
            return reject(400, format!("an invalid header name {:?}", text(name)));
        }
        if !is_field_value(value) {
            return reject(
                400,
                format!("control or non-ASCII bytes in header {:?}", text(name)),
            );
        }
        fields.push((text(name), text(value)));
    }
    judge(method, target, version, fields, limits)
}

fn parse_request_line(line: &[u8]) -> Result<(String, String, Version), Reject> {
    let parts: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let [method, target, version] = parts.as_slice() else {
        return reject(400, format!("a malformed request line {:?}", text(line)));
    };
    if !is_token(method) {
        return reject(400, format!("an invalid method {:?}", text(method)));
    }
    if target.is_empty() || !target.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
        return reject(400, format!("an invalid request target {:?}", text(target)));
    }
    let version = match *version {
        [b'H', b'T', b'T', b'P', b'/', major, b'.', minor]
            if major.is_ascii_digit() && minor.is_ascii_digit() =>
        {
            match (major, minor) {
                (b'1', b'0') => Version::Http10,
                (b'1', _) => Version::Http11,
                _ => return reject(505, format!("HTTP version {:?}", text(version))),
            }
        }
        _ => return reject(400, format!("an invalid HTTP version {:?}", text(version))),
    };
    Ok((text(method), text(target), version))
}

/// The forwarded target and, for absolute-form, the authority that
/// replaces `Host` (as Werkzeug's request handler does).
fn target_form(method: &str, target: &str) -> Result<(String, Option<String>), Reject> {
    if target.contains('#') {
        return reject(400, "a fragment in the request target");
    }
    if target.starts_with('/') {
        return Ok((target.to_owned(), None));
    }
    if target == "*" {
        if method == "OPTIONS" {
            return Ok((target.to_owned(), None));
        }
        return reject(400, format!("the target * with {method}"));
    }
    for scheme in ["http://", "https://"] {
        let Some(prefix) = target.get(..scheme.len()) else {
            continue;
        };
        if !prefix.eq_ignore_ascii_case(scheme) {
            continue;
        }
        let rest = &target[scheme.len()..];
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..end];
        if authority.is_empty() || authority.contains('@') || !valid_host(authority.as_bytes()) {
            return reject(400, format!("an invalid authority in {target:?}"));
        }
        let path = match &rest[end..] {
            "" => "/".to_owned(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_owned(),
        };
        return Ok((path, Some(authority.to_owned())));
    }
    reject(400, format!("an unsupported request target {target:?}"))
}

fn judge(
    method: String,
    target: String,
    version: Version,
    fields: Vec<(String, String)>,
    limits: &ServerLimits,
) -> Result<Head, Reject> {
    let (forward_target, authority) = target_form(&method, &target)?;
    let all = |n: &str| -> Vec<&str> {
        fields
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
            .collect()
    };

    let hosts = all("Host");
    match (hosts.as_slice(), version) {
        ([], Version::Http11) => return reject(400, "no Host header"),
        ([_, _, ..], _) => return reject(400, "more than one Host header"),
        ([h], _) if !valid_host(h.as_bytes()) => {
            return reject(400, format!("an invalid Host {h:?}"))
        }
        _ => {}
    }

    let lengths = all("Content-Length");
    let encodings = all("Transfer-Encoding");
    let framing = if !encodings.is_empty() {
        // RFC 9112 §6.1 and §6.3: these are the ambiguities smuggling uses.
        if !lengths.is_empty() {
            return reject(400, "both Content-Length and Transfer-Encoding");
        }
        if version == Version::Http10 {
            return reject(400, "Transfer-Encoding in an HTTP/1.0 request");
        }
        if encodings.len() > 1 {
            return reject(400, "more than one Transfer-Encoding header");
        }
        if !encodings[0].eq_ignore_ascii_case("chunked") {
            return reject(501, format!("Transfer-Encoding {:?}", encodings[0]));
        }
        Framing::Chunked
    } else {
        match lengths.as_slice() {
            [] => Framing::None,
            [v] if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) => {
                return reject(400, format!("Content-Length {v:?}"))
            }
            [v] => match v.parse::<u64>() {
                Ok(n) if n <= limits.effective_max_body() => Framing::Length(n),
                // Digits only, so a parse failure is an overflow: huge.
                _ => return reject(413, format!("Content-Length {v}")),
            },
            _ => return reject(400, "more than one Content-Length header"),
        }
    };

    let expect = all("Expect");
    let expect_continue = match expect.as_slice() {
        [] => false,
        [v] if v.eq_ignore_ascii_case("100-continue") => true,
        _ => return reject(417, format!("Expect {:?}", expect.join(", "))),
    };

    let tokens: Vec<String> = all("Connection")
        .iter()
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    let keep_alive = if tokens.iter().any(|t| t == "close") {
        false
    } else {
        version == Version::Http11 || tokens.iter().any(|t| t == "keep-alive")
    };

    let headers = fields
        .into_iter()
        .filter(|(k, _)| !dropped(k))
        .map(|(k, v)| match &authority {
            Some(a) if k.eq_ignore_ascii_case("Host") => (k, a.clone()),
            _ => (k, v),
        })
        .collect();
    Ok(Head {
        method,
        target,
        forward_target,
        version,
        headers,
        framing,
        keep_alive,
        expect_continue,
    })
}

impl Head {
    /// The head sent to tiny_http: canonical framing, the peer address, and
    /// `Connection: close` when tiny_http must end the private connection
    /// after this request (`close_upstream`).
    #[cfg(test)]
    pub(crate) fn forward(&self, peer: &str, close_upstream: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.forward_into(&mut out, peer, close_upstream, None);
        out
    }

    /// [`Head::forward`] for a request whose answer tiny_http writes back on
    /// the private connection (a relay copies it), naming the client
    /// connection `id` only so the worker can say it took the request.
    pub(crate) fn forward_relayed(&self, peer: &str, id: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        self.forward_into(&mut out, peer, true, Some((id, Via::Relayed)));
        out
    }

    /// [`Head::forward`], appended to `out` (a buffer reused across
    /// requests), naming the client connection `conn` came from (see
    /// [`parse_conn_header`]). A [`Via::Direct`] head also drops `Expect`:
    /// the whole body is forwarded with it, so there is nothing to wait for.
    pub(crate) fn forward_into(
        &self,
        out: &mut Vec<u8>,
        peer: &str,
        close_upstream: bool,
        conn: Option<(u64, Via)>,
    ) {
        let version = match (self.version, close_upstream) {
            // tiny_http closes HTTP/1.0 connections without keep-alive.
            (Version::Http10, false) => "HTTP/1.0\r\nConnection: keep-alive",
            (Version::Http10, true) => "HTTP/1.0",
            (Version::Http11, false) => "HTTP/1.1",
            (Version::Http11, true) => "HTTP/1.1\r\nConnection: close",
        };
        for part in [
            &self.method,
            " ",
            &self.forward_target,
            " ",
            version,
            "\r\n",
        ] {
            out.extend_from_slice(part.as_bytes());
        }
        for (k, v) in &self.headers {
            for part in [k.as_str(), ": ", v.as_str(), "\r\n"] {
                out.extend_from_slice(part.as_bytes());
            }
        }
        for part in [PEER_HEADER, ": ", peer, "\r\n"] {
            out.extend_from_slice(part.as_bytes());
        }
        let direct = matches!(conn, Some((_, Via::Direct { .. })));
        if let Some((id, via)) = conn {
            use std::io::Write as _;
            let persist = match (via, self.version) {
                (Via::Relayed, _) => "; relayed",
                (Via::Direct { last: true }, _) => "; close",
                (Via::Direct { last: false }, Version::Http10) => "; keep-alive",
                (Via::Direct { last: false }, Version::Http11) => "",
            };
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{CONN_HEADER}: {id}{persist}\r\n");
        }
        match self.framing {
            Framing::None => {}
            Framing::Length(n) => {
                use std::io::Write as _;
                // Writing to a Vec cannot fail.
                let _ = write!(out, "Content-Length: {n}\r\n");
            }
            Framing::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        }
        if self.expect_continue
            && !direct
            && !matches!(self.framing, Framing::None | Framing::Length(0))
        {
            out.extend_from_slice(b"Expect: 100-continue\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;
