//! One client connection: read and judge each request head under the
//! timeouts, forward the clean request and exactly its body to tiny_http,
//! and answer or close when anything is wrong.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::chunked::Dechunker;
use super::head::{self, Framing, Head, Reject, Scan, Scanner, Via};
use super::relay::relay;
use super::spool::Spool;
use super::{Gate, Slot};
use crate::server::access_log;

/// The first wait for a worker to take a request from a fresh private
/// connection before tiny_http is nudged; the waits double from there.
const HANDOFF_WAIT: Duration = Duration::from_millis(2);

/// The longest wait between two nudges.
const HANDOFF_WAIT_MAX: Duration = Duration::from_millis(100);

/// Bytes read from the client per `read`.
const READ_SIZE: usize = 16 * 1024;

/// The largest body read whole into memory by the front door before its
/// request is forwarded, in one piece with its head: a worker is only taken
/// by a complete request, so a client that sends its body slowly holds its
/// own connection and never a worker (nginx buffers request bodies for the
/// same reason). Larger bodies go to a temporary file first (see
/// `Conn::spool_body`). The private
/// socket's buffer (over 200 KiB by default on Linux) takes such a request
/// without tiny_http reading, so writing it cannot wait on an app that
/// answers before it reads (see [`Conn::run`]).
const BUFFERED_BODY_MAX: usize = 64 * 1024;

/// How long a closing connection keeps reading what the client still sends,
/// so that closing does not reset the connection before the client has read
/// the last answer (nginx's lingering close).
const LINGER: Duration = Duration::from_secs(2);

/// How long a connection with unanswered requests may go without a byte of
/// answer before it is given up. The app's own `REQUEST_TIMEOUT` is far
/// shorter; this only ends connections whose answer can no longer arrive.
const ANSWER_STALL: Duration = Duration::from_secs(60);

/// Bytes read from the client, not used yet.
struct InBuf {
    data: Vec<u8>,
    start: usize,
    end: usize,
}

impl InBuf {
    fn new() -> Self {
        InBuf {
            data: vec![0; READ_SIZE],
            start: 0,
            end: 0,
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start >= self.end {
            self.start = 0;
            self.end = 0;
            // A buffer grown for a big head goes back to the usual size
            // once it is used up: a keep-alive connection that sent one
            // big head would otherwise hold up to ~80 KiB while it idles.
            if self.data.len() > READ_SIZE {
                self.data.truncate(READ_SIZE);
                self.data.shrink_to_fit();
            }
        }
    }

    /// Reads once from `s`, growing the buffer up to `max` bytes.
    fn fill(&mut self, mut s: &TcpStream, max: usize) -> io::Result<usize> {
        if self.end == self.data.len() {
            if self.start > 0 {
                self.data.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else if self.data.len() < max {
                let len = (self.data.len() * 2).min(max);
                self.data.resize(len, 0);
            } else {
                return Err(io::Error::other("request head too large"));
            }
        }
        let n = s.read(&mut self.data[self.end..])?;
        self.end += n;
        Ok(n)
    }
}

/// How reading a request head ended, when it gave no head.
enum NoHead {
    /// Close without an answer: the client left, or stayed idle too long.
    Quiet,
    /// Answer with this status (the request line, when known, is logged).
    Refuse(Reject),
}

/// How forwarding a body ended, when it did not end well.
enum BodyEnd {
    /// The client closed or failed mid-body.
    Gone,
    /// The client went silent for the body idle timeout.
    Timeout,
    /// The body was malformed or too large.
    Refuse(Reject),
}

/// The private connection to tiny_http.
struct Upstream {
    stream: Arc<UnixStream>,
    /// Forwarding to it failed: bodies are read and dropped.
    broken: bool,
    /// A relay thread reads it (until tiny_http closes it); otherwise the
    /// workers write the answers to the client themselves.
    relayed: bool,
    /// Opened for this client connection, and no worker has taken a
    /// request from it yet (see [`Conn::see_taken`]).
    fresh: bool,
}

/// What the front door read of a body before forwarding its request.
struct Spooled<'a> {
    spool: Spool<'a>,
    /// Checked, re-chunked bytes read past what the spool could hold.
    pending: Vec<u8>,
    /// A chunked body's decoder, where spooling left it.
    dechunker: Option<Dechunker>,
}

pub(crate) struct Conn<'a> {
    gate: &'a Gate,
    slot: &'a Arc<Slot>,
    /// This connection's id among the gate's connections.
    id: u64,
    buf: InBuf,
    up: Option<Upstream>,
    /// The read timeout currently set on the client socket.
    timeout: Option<Duration>,
    peer: String,
    /// The request being forwarded (reused across requests).
    out: Vec<u8>,
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl<'a> Conn<'a> {
    pub(crate) fn new(gate: &'a Gate, slot: &'a Arc<Slot>, id: u64) -> Self {
        Conn {
            gate,
            slot,
            id,
            buf: InBuf::new(),
            up: None,
            // Accepted sockets inherit the listener's timeout.
            timeout: gate.listener_timeout,
            peer: slot.peer.ip().to_string(),
            out: Vec::with_capacity(1024),
        }
    }

    fn client(&self) -> &TcpStream {
        &self.slot.stream
    }

    fn set_timeout(&mut self, t: Duration) {
        let t = Some(t.max(Duration::from_millis(1)));
        if self.timeout != t && self.slot.stream.set_read_timeout(t).is_ok() {
            self.timeout = t;
        }
    }

    /// Serves requests until the connection ends.
    ///
    /// A request whose body is all here already (most are: no body at all)
    /// is forwarded *direct*: in one write, naming this connection, and the
    /// worker that serves it writes the answer to the client socket itself
    /// (in request order: tiny_http's own sequencing of answers decides when
    /// it may, see `exchange`). This thread goes straight back to reading
    /// the client. Per request that is one thread wake-up here on top of
    /// tiny_http's two, where relaying the answer took two.
    ///
    /// A body still to come is streamed by this thread while a relay
    /// thread copies the answer: the app may answer before it reads the
    /// body (an error, `100 Continue`), and the client may wait for that
    /// answer before it sends more, so one thread cannot do both. It waits
    /// until every answer before it was written, and gets a private
    /// connection of its own (a clean spare, or a new one): the relay reads
    /// it until tiny_http closes it after this request (tiny_http also
    /// leaves an unread chunked body in its socket, where it would be
    /// parsed as the next request).
    pub(crate) fn run(mut self) {
        let mut first = true;
        loop {
            let head = match self.read_head(first) {
                Ok(h) => h,
                Err(NoHead::Quiet) => return self.close(None),
                Err(NoHead::Refuse(r)) => return self.close(Some(r.status)),
            };
            first = false;
            let stopping = self.gate.stopping.load(Ordering::SeqCst);
            let last = !head.keep_alive || stopping;
            let buffered = match head.framing {
                Framing::None => Some(0),
                Framing::Length(n) => usize::try_from(n).ok().filter(|&n| n <= BUFFERED_BODY_MAX),
                Framing::Chunked => None,
            };
            if let Some(body) = buffered {
                if let Err(end) = self.buffer_body(&head, body) {
                    let status = self.end_status(&head, end);
                    return self.close(status);
                }
                if let Err(e) = self.forward_direct(&head, body, last) {
                    log::error!(target: "flaskrs::server", "cannot reach the app server: {e}");
                    self.up = None;
                    return self.close(Some(503));
                }
                self.see_taken();
                if last {
                    return self.close(None);
                }
                continue;
            }
            if !self.slot.track.wait_answered(ANSWER_STALL) {
                return self.close(None);
            }
            let spool = match self.spool_body(&head) {
                Ok(spool) => spool,
                Err(end) => {
                    let status = self.end_status(&head, end);
                    return self.close(status);
                }
            };
            if let Err(end) = self.forward(&head, spool) {
                let status = self.end_status(&head, end);
                return self.abort_request(status);
            }
            self.slot.track.wait_relay_end();
            self.up = None;
            if last {
                return self.close(None);
            }
        }
    }

    /// Reads until the buffer holds the whole body of `len` bytes (see
    /// [`BUFFERED_BODY_MAX`]).
    fn buffer_body(&mut self, head: &Head, len: usize) -> Result<(), BodyEnd> {
        if self.buf.bytes().len() >= len {
            return Ok(());
        }
        self.send_continue(head)?;
        self.set_timeout(self.gate.limits.body_timeout);
        while self.buf.bytes().len() < len {
            let left = (len - self.buf.bytes().len()) as u64;
            self.fill_body(Some(left), len.max(READ_SIZE))?;
        }
        Ok(())
    }

    /// Reads a body over [`BUFFERED_BODY_MAX`], or a chunked one, into a
    /// temporary file (see `spool`) before its request is forwarded: as
    /// much of it as the bound on spooled bytes and the disk allow; the rest
    /// then streams. `None` when nothing can be spooled.
    fn spool_body(&mut self, head: &Head) -> Result<Option<Spooled<'a>>, BodyEnd> {
        let len = match head.framing {
            Framing::None | Framing::Length(0) => return Ok(None),
            Framing::Length(n) => Some(n),
            Framing::Chunked => None,
        };
        let cap = self.gate.limits.spool_max;
        if cap == 0 || self.gate.spooled.load(Ordering::Acquire) >= cap {
            return Ok(None);
        }
        let spool = match Spool::new(&self.gate.spooled, cap) {
            Ok(spool) => spool,
            Err(e) => {
                log::warn!(target: "flaskrs::server", "cannot create a temporary file for a request body, streaming it instead: {e}");
                return Ok(None);
            }
        };
        self.send_continue(head)?;
        let mut spooled = Spooled {
            spool,
            pending: Vec::new(),
            dechunker: None,
        };
        match len {
            Some(len) => self.spool_length(&mut spooled.spool, len)?,
            None => self.spool_chunked(&mut spooled)?,
        }
        Ok(Some(spooled))
    }

    fn spool_length(&mut self, spool: &mut Spool<'a>, mut left: u64) -> Result<(), BodyEnd> {
        loop {
            let have = self.buf.bytes();
            let take = usize::try_from(left).unwrap_or(usize::MAX).min(have.len());
            if take > 0 {
                if !spool.push(&have[..take]) {
                    return Ok(());
                }
                self.buf.consume(take);
                left -= take as u64;
            }
            if left == 0 {
                return Ok(());
            }
            self.read_body(Some(left))?;
        }
    }

    /// Spools a chunked body as it will be forwarded (checked and
    /// re-chunked); a malformed or oversize one is refused before any
    /// worker sees it.
    fn spool_chunked(&mut self, spooled: &mut Spooled<'a>) -> Result<(), BodyEnd> {
        let mut dechunker = Dechunker::new(self.gate.limits.effective_max_body());
        let mut piece = Vec::new();
        loop {
            let used = dechunker
                .feed(self.buf.bytes(), &mut piece, &self.gate.limits)
                .map_err(BodyEnd::Refuse)?;
            self.buf.consume(used);
            if !piece.is_empty() && !spooled.spool.push(&piece) {
                spooled.pending = piece;
                break;
            }
            piece.clear();
            if dechunker.is_done() {
                break;
            }
            self.read_body(None)?;
        }
        spooled.dechunker = Some(dechunker);
        Ok(())
    }

    /// Reads more of a body (`left` bytes still to come, or chunked),
    /// growing the buffer up to `max`, under the timeout set.
    fn fill_body(&mut self, left: Option<u64>, max: usize) -> Result<(), BodyEnd> {
        loop {
            match self.buf.fill(&self.slot.stream, max) {
                // Ended early (the client half-closed): as a truncated body
                // reads in the app, a 400.
                Ok(0) => {
                    return Err(BodyEnd::Refuse(Reject {
                        status: 400,
                        reason: match left {
                            Some(left) => format!("the body ended {left} bytes short"),
                            None => "the chunked body ended before its last chunk".to_owned(),
                        },
                    }))
                }
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => return Err(BodyEnd::Timeout),
                Err(_) => return Err(BodyEnd::Gone),
            }
        }
    }

    /// Tells a client that waits for it to send its body (`100
    /// Continue`), once the answers owed before this request are written:
    /// they share the socket.
    fn send_continue(&mut self, head: &Head) -> Result<(), BodyEnd> {
        if !head.expect_continue || head.version != head::Version::Http11 {
            return Ok(());
        }
        if !self.slot.track.wait_answered(ANSWER_STALL)
            || self
                .client()
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .is_err()
        {
            return Err(BodyEnd::Gone);
        }
        Ok(())
    }

    /// The status the front door answers when a body did not end well.
    fn end_status(&self, head: &Head, end: BodyEnd) -> Option<u16> {
        match end {
            BodyEnd::Gone => None,
            BodyEnd::Timeout => Some(408),
            BodyEnd::Refuse(r) => {
                log::debug!(target: "flaskrs::server", "{}: refused the body of {} {:?}: {}", self.peer, head.method, head.target, r.reason);
                Some(r.status)
            }
        }
    }

    /// Forwards a request with its `body` bytes (already buffered), for a
    /// worker to answer directly to the client (saying `Connection: close`
    /// when it is the `last`).
    fn forward_direct(&mut self, head: &Head, body: usize, last: bool) -> io::Result<()> {
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        // tiny_http is never told to close: the private connection outlives
        // this client connection, as a spare for the next one.
        head.forward_into(
            &mut out,
            &self.peer,
            false,
            Some((self.id, Via::Direct { last })),
        );
        out.extend_from_slice(&self.buf.bytes()[..body]);
        self.buf.consume(body);
        // Recorded first: the answer may be written before `write` returns.
        self.slot.track.push(head.method == "HEAD", false);
        let sent = self.send_direct(&out);
        self.out = out;
        if sent.is_err() {
            // An incomplete request is never dispatched by tiny_http.
            self.slot.track.unpush();
        }
        sent
    }

    /// Writes `request` to the private connection, opening one if there is
    /// none.
    fn send_direct(&mut self, request: &[u8]) -> io::Result<()> {
        if let Some(up) = &self.up {
            return (&*up.stream).write_all(request);
        }
        if let Some(spare) = self.gate.take_spare() {
            // A spare that tiny_http let go takes nothing; then a fresh one
            // is used (nothing was dispatched).
            if let Ok(n) = (&*spare).write(request) {
                self.up = Some(Upstream {
                    stream: spare.clone(),
                    broken: false,
                    relayed: false,
                    fresh: false,
                });
                return (&*spare).write_all(&request[n..]);
            }
        }
        let stream = self.connect()?;
        self.up = Some(Upstream {
            stream: stream.clone(),
            broken: false,
            relayed: false,
            fresh: true,
        });
        (&*stream).write_all(request)
    }

    /// Waits, after the first request forwarded on a fresh private
    /// connection, until a worker has taken it, nudging tiny_http meanwhile.
    ///
    /// tiny_http 0.12 hands each new connection to a thread of its task
    /// pool (`util::task_pool`), and a burst of new connections can lose
    /// hand-offs: the pool counts a thread it has just woken as still
    /// waiting, queues the connection for it, and the wake-up goes to
    /// nobody. The connection then waits, unread, until tiny_http accepts
    /// some other connection while no thread is idle: that starts a thread
    /// which, after serving it, takes the queued ones. Measured before this
    /// existed: 16 clients connecting at once to a fresh server, 4 of them
    /// got their first answer after 0.7, 1.7, 2.7 and 3.8 s (the supervisor's
    /// probe once a second was what freed them).
    ///
    /// So while a worker is idle and still none has taken the request, the
    /// front door opens and closes a private connection (a "nudge"), which
    /// frees one queued connection per nudge. With every worker busy, a
    /// request not taken yet is simply queued behind others: no nudge.
    fn see_taken(&mut self) {
        let Some(up) = self.up.as_mut().filter(|up| up.fresh) else {
            return;
        };
        up.fresh = false;
        let track = &self.slot.track;
        let started = Instant::now();
        let mut wait = HANDOFF_WAIT;
        while !track.wait_taken(wait) {
            if started.elapsed() >= ANSWER_STALL || self.gate.stopping.load(Ordering::SeqCst) {
                return;
            }
            if self.gate.conns.idle_workers() > 0 {
                self.gate.nudge();
            }
            wait = (wait * 2).min(HANDOFF_WAIT_MAX);
        }
    }

    /// Reads the next request head. The first one must be complete within
    /// the header timeout of the accept; later ones may be preceded by up
    /// to the keep-alive timeout of silence, then have the header timeout.
    fn read_head(&mut self, first: bool) -> Result<Head, NoHead> {
        let limits = &self.gate.limits;
        let mut scanner = Scanner::default();
        let mut deadline = first.then(|| self.slot.accepted + limits.header_timeout);
        let max = limits.max_request_line + limits.max_header_bytes + 4096;
        loop {
            match scanner.feed(self.buf.bytes(), limits) {
                Ok(Scan::Complete(n)) => {
                    let parsed = head::parse(&self.buf.bytes()[..n], limits);
                    if let Err(r) = &parsed {
                        let line = head::request_line_parts(&self.buf.bytes()[..n]);
                        self.log_refusal(&line, r);
                    }
                    self.buf.consume(n);
                    return parsed.map_err(NoHead::Refuse);
                }
                Ok(Scan::More) => {}
                Err(r) => {
                    let line = head::request_line_parts(self.buf.bytes());
                    self.log_refusal(&line, &r);
                    return Err(NoHead::Refuse(r));
                }
            }
            let idle = !scanner.has_bytes();
            if idle {
                self.slot.set_idle(true);
            }
            let wait = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => limits.keep_alive_timeout,
            };
            if wait.is_zero() {
                return Err(self.head_timeout(idle));
            }
            self.set_timeout(wait);
            let read = self.buf.fill(&self.slot.stream, max);
            if idle {
                self.slot.set_idle(false);
            }
            match read {
                Ok(0) => return Err(NoHead::Quiet),
                Ok(_) => {
                    if deadline.is_none() {
                        deadline = Some(Instant::now() + limits.header_timeout);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => {
                    if idle
                        && !self.slot.track.all_answered()
                        && self.slot.track.since_progress() < ANSWER_STALL
                    {
                        // Still waiting for the app's answer: not idle.
                        continue;
                    }
                    if deadline.is_some_and(|d| Instant::now() < d) {
                        continue;
                    }
                    return Err(self.head_timeout(idle));
                }
                Err(_) => return Err(NoHead::Quiet),
            }
        }
    }

    fn head_timeout(&self, idle: bool) -> NoHead {
        if idle {
            return NoHead::Quiet;
        }
        log::debug!(target: "flaskrs::server", "{}: request head not complete within the header timeout", self.peer);
        NoHead::Refuse(Reject {
            status: 408,
            reason: "header timeout".to_owned(),
        })
    }

    fn log_refusal(&self, line: &head::RequestLine, r: &Reject) {
        log::debug!(target: "flaskrs::server", "{}: refused a request: {}", self.peer, r.reason);
        if !self.gate.log_requests {
            return;
        }
        match &line.parts {
            Some((m, t, v)) => access_log::log_request(&self.peer, m, t, v, r.status),
            None => {
                log::info!(target: "werkzeug", "{} - - [{}] code {}, message {}", self.peer, access_log::log_date(std::time::SystemTime::now()), r.status, r.reason)
            }
        }
    }

    /// A new private connection.
    fn connect(&self) -> io::Result<Arc<UnixStream>> {
        let stream = UnixStream::connect(&self.gate.private_path)?;
        stream.set_write_timeout(Some(self.gate.limits.send_timeout).filter(|d| !d.is_zero()))?;
        Ok(Arc::new(stream))
    }

    /// A fresh private connection, read by a relay thread. (One used for
    /// direct answers may hold bytes tiny_http wrote on its own, such as
    /// the 500 it sends for a request dropped unanswered: nobody reads it.)
    fn relayed_upstream(&mut self) -> io::Result<Arc<UnixStream>> {
        self.up = None;
        // A spare has a tiny_http thread reading it already; a new
        // connection must first be handed to one (see `see_taken`).
        let spare = self.gate.take_spare();
        let fresh = spare.is_none();
        let stream = match spare {
            Some(up) => up,
            None => self.connect()?,
        };
        {
            let mut s = self.slot.track.lock();
            s.pending.clear();
            // Everything before was answered, so taken.
            s.taken_all();
            s.unanswered = false;
            s.relaying = true;
            s.cut = false;
            s.expect_eof = false;
        }
        let (up, client, track) = (
            stream.clone(),
            self.slot.stream.clone(),
            self.slot.track.clone(),
        );
        let spawned = self.gate.pool.spawn(move || relay(up, client, track));
        if let Err(e) = spawned {
            self.slot.track.lock().relaying = false;
            return Err(e);
        }
        self.up = Some(Upstream {
            stream: stream.clone(),
            broken: false,
            relayed: true,
            fresh,
        });
        Ok(stream)
    }

    /// Writes to tiny_http; after a failure, later writes are dropped so the
    /// client's body can still be read to its end.
    fn send_up(&mut self, bytes: &[u8]) {
        if let Some(up) = &mut self.up {
            if !up.broken && (&*up.stream).write_all(bytes).is_err() {
                up.broken = true;
            }
        }
    }

    /// Forwards one request and streams its body (first what was
    /// spooled of it), while a relay thread copies the answer. The private
    /// connection is closed after it.
    fn forward(&mut self, head: &Head, spooled: Option<Spooled<'_>>) -> Result<(), BodyEnd> {
        if let Err(e) = self.relayed_upstream() {
            log::error!(target: "flaskrs::server", "cannot reach the app server: {e}");
            return Err(BodyEnd::Refuse(Reject {
                status: 503,
                reason: "the app server is unreachable".to_owned(),
            }));
        }
        self.slot.track.push(head.method == "HEAD", true);
        let mut out = if spooled.is_some() {
            // The client had its `100 Continue` from the front door already.
            let mut told = head.clone();
            told.expect_continue = false;
            told.forward_relayed(&self.peer, self.id)
        } else {
            head.forward_relayed(&self.peer, self.id)
        };
        // What was spooled goes first, right after the head.
        let mut sent = 0;
        let mut dechunker = None;
        if let Some(mut spooled) = spooled {
            self.send_up(&out);
            out.clear();
            sent = spooled.spool.len();
            if let Err(e) = spooled.spool.send_to(|piece| self.send_up(piece)) {
                log::error!(target: "flaskrs::server", "{}: cannot read back the spooled body of {} {:?}: {e}", self.peer, head.method, head.target);
                return Err(BodyEnd::Refuse(Reject {
                    status: 500,
                    reason: format!("the spooled body could not be read back: {e}"),
                }));
            }
            self.send_up(&spooled.pending);
            dechunker = spooled.dechunker;
        }
        match head.framing {
            Framing::None | Framing::Length(0) => {
                self.send_up(&out);
                self.see_taken();
                Ok(())
            }
            // tiny_http reads a small body whole before it hands the request
            // to a worker, so only a complete request is sure to be taken.
            Framing::Length(n) => self
                .forward_length(out, n - sent)
                .inspect(|_| self.see_taken()),
            Framing::Chunked => {
                let mut dechunker = dechunker
                    .unwrap_or_else(|| Dechunker::new(self.gate.limits.effective_max_body()));
                while !dechunker.is_done() {
                    let used = match dechunker.feed(self.buf.bytes(), &mut out, &self.gate.limits) {
                        Ok(n) => n,
                        Err(r) => {
                            self.send_up(&out);
                            return Err(BodyEnd::Refuse(r));
                        }
                    };
                    self.buf.consume(used);
                    if !out.is_empty() {
                        self.send_up(&out);
                        out.clear();
                    }
                    if !dechunker.is_done() {
                        self.read_body(None)?;
                    }
                }
                self.send_up(&out);
                self.see_taken();
                Ok(())
            }
        }
    }

    fn forward_length(&mut self, mut out: Vec<u8>, mut left: u64) -> Result<(), BodyEnd> {
        loop {
            let have = self.buf.bytes();
            let n = (have.len() as u64).min(left) as usize;
            out.extend_from_slice(&have[..n]);
            self.buf.consume(n);
            left -= n as u64;
            if !out.is_empty() {
                self.send_up(&out);
                out.clear();
            }
            if left == 0 {
                return Ok(());
            }
            self.read_body(Some(left))?;
        }
    }

    /// Reads more of a body (`left` bytes still to come, or chunked),
    /// waiting up to the body idle timeout.
    fn read_body(&mut self, left: Option<u64>) -> Result<(), BodyEnd> {
        self.set_timeout(self.gate.limits.body_timeout);
        self.fill_body(left, READ_SIZE)
    }

    /// A body broke off or was refused after its head was forwarded. The
    /// private connection is shut for writing, so the app's body reader sees
    /// an error (a truncated body is never a short one); the answers already
    /// coming are relayed, then the front door answers `status` itself if
    /// the app did not answer this request, and closes.
    fn abort_request(mut self, status: Option<u16>) {
        if let Some(up) = self.up.as_ref().filter(|up| up.relayed) {
            self.slot.track.lock().expect_eof = true;
            let _ = up.stream.shutdown(Shutdown::Write);
        }
        self.slot.track.wait_relay_end();
        let answered = {
            let s = self.slot.track.lock();
            !s.unanswered || s.cut
        };
        self.up = None;
        self.close(if answered { None } else { status });
    }

    /// Ends the connection: the answers still coming from tiny_http are
    /// relayed (or written by the workers) first, then `status` (if any) is
    /// written, then the socket is closed.
    fn close(mut self, status: Option<u16>) {
        // Only a relayed connection is taken here: a direct one stays for
        // `keep_spare` below.
        if let Some(up) = self.up.take_if(|up| up.relayed) {
            self.slot.track.lock().expect_eof = true;
            let _ = up.stream.shutdown(Shutdown::Write);
            self.slot.track.wait_relay_end();
        }
        // Answers the workers still owe go first. If they stall, the
        // client cannot be told anything in order any more.
        let flushed = self.slot.track.wait_answered(ANSWER_STALL);
        if let Some(up) = self.up.take() {
            if flushed && !up.relayed && !up.broken {
                self.gate.keep_spare(up.stream);
            }
        }
        let mut answered = false;
        if let Some(status) = status {
            if flushed && !self.slot.track.lock().cut {
                answered = self
                    .client()
                    .write_all(&super::error_response(status))
                    .is_ok();
            }
        }
        let _ = self.client().shutdown(Shutdown::Write);
        if answered {
            // A refused client may still be sending: reading on for a while
            // keeps the close from resetting the connection before it has
            // read the answer (nginx's lingering close).
            self.linger();
        } else if self.slot.stream.set_nonblocking(true).is_ok() {
            // Only what already arrived, without waiting.
            let mut sink = [0u8; 4096];
            for _ in 0..16 {
                if !matches!(self.client().read(&mut sink), Ok(n) if n > 0) {
                    break;
                }
            }
        }
    }

    fn linger(&mut self) {
        let until = Instant::now()
            + LINGER.min(
                self.gate
                    .limits
                    .header_timeout
                    .max(Duration::from_millis(100)),
            );
        let mut sink = [0u8; 4096];
        let mut total = 0usize;
        while total < (1 << 20) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.set_timeout(left);
            match self.client().read(&mut sink) {
                Ok(0) => break,
                Ok(n) => total += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn a_buffer_grown_for_a_big_head_shrinks_back_once_used_up() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let head = vec![b'x'; 3 * READ_SIZE];
        client.write_all(&head).unwrap();
        let mut buf = InBuf::new();
        while buf.bytes().len() < head.len() {
            assert!(buf.fill(&server, 8 * READ_SIZE).unwrap() > 0);
        }
        assert!(buf.data.len() > READ_SIZE);
        // Partly used: the bytes still to come stay where they are.
        buf.consume(READ_SIZE);
        assert_eq!(buf.bytes().len(), 2 * READ_SIZE);
        buf.consume(2 * READ_SIZE);
        assert_eq!(buf.data.len(), READ_SIZE);
        assert_eq!(buf.data.capacity(), READ_SIZE);
        // And it reads on as before.
        client.write_all(b"GET / HTTP/1.1\r\n").unwrap();
        assert!(buf.fill(&server, READ_SIZE).unwrap() > 0);
        assert!(buf.bytes().starts_with(b"GET"));
    }
}
