//! The front door: the host's own HTTP/1.1 gatekeeper in front of tiny_http.
//!
//! tiny_http 0.12 cannot be made safe from outside while it reads client
//! sockets itself (`SECURITY.md` lists why: unbounded head buffering, no
//! deadlines, no connection cap, a process abort on huge `Content-Length`,
//! smuggling through its framing, a deadlock on `HTTP/2.0`). So it never
//! sees a client. The front door owns the public socket:
//!
//! - one accept loop admits connections up to a cap derived from
//!   `max_connections` and the descriptor limit; at the cap the longest-idle
//!   connection is closed to make room, and when none is idle the newcomer
//!   gets 503 and is closed; running out of descriptors never stops it;
//! - each connection runs on a pooled thread ([`conn`]) that reads every
//!   request head itself under the size limits and the header, body and
//!   keep-alive timeouts, and refuses anything malformed or ambiguous
//!   ([`head`], [`chunked`]) with the right status, then closes;
//! - a clean request is re-written canonically (one framing header, no
//!   hop-by-hop headers, the client address in a header only the front door
//!   sets) and forwarded with exactly its body to tiny_http over a private
//!   Unix socket, in a directory only this process's user can enter, kept
//!   alive across requests. When the whole body is there (most requests:
//!   no body at all), the head names the client connection, and the worker
//!   that serves it writes tiny_http's answer to the client socket itself
//!   ([`Conns`], `exchange`). A request whose body is still to come gets a
//!   relay thread instead ([`relay`]), since the app may answer before it
//!   reads that body; the relay tracks where each answer ends.
//!
//! The price of the second hop: per request, one wake-up of this
//! connection's thread on top of tiny_http's two (its connection thread and
//! a worker). Measured on 2 busy cores, 64 keep-alive clients, a "Hello
//! World!" handler: about 2.4 context switches per request against 2 for a
//! bare tiny_http server, where relaying every answer cost 5 to 6.

mod chunked;
mod conn;
pub(crate) mod head;
mod pool;
mod relay;
mod spool;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::http::HttpError;
use crate::server::limits::ServerLimits;
use pool::Pool;
use relay::Track;

/// Descriptors one busy connection holds: the client socket, both ends of
/// the private connection, the duplicate tiny_http makes of its end, and
/// the temporary file of a body being spooled.
const FDS_PER_CONNECTION: u64 = 5;

/// Most spare private connections kept (see [`Gate::keep_spare`]).
const MAX_SPARES: usize = 32;

/// Descriptors kept for everything else (listeners, files the app opens,
/// logging, the probe).
const FDS_RESERVED: u64 = 48;

/// What every connection of one server shares.
pub(crate) struct Gate {
    pub limits: ServerLimits,
    pub private_path: PathBuf,
    pub log_requests: bool,
    pub stopping: AtomicBool,
    /// The read timeout accepted sockets inherit from the listener.
    pub listener_timeout: Option<Duration>,
    pool: Pool,
    conns: Arc<Conns>,
    /// Private connections kept from client connections that ended, for
    /// the next ones: a client connection that sends one request (and
    /// closes) is spared opening a private connection, and tiny_http a
    /// thread start. Each counts against the connection cap.
    spares: Mutex<Vec<Arc<UnixStream>>>,
    next_id: AtomicU64,
    cap: usize,
    /// Bytes of request bodies held in temporary files now (see `spool`).
    pub spooled: AtomicU64,
}

/// The open client connections by id, shared with the workers: a worker
/// writes the answer to a request forwarded with a connection id to that
/// connection's socket itself (see `conn`).
#[derive(Default)]
pub(crate) struct Conns {
    map: Mutex<HashMap<u64, Arc<Slot>>>,
    /// Workers waiting for a request (kept by the server's workers).
    idle_workers: AtomicUsize,
}

impl Conns {
    /// A worker starts waiting for a request (`true`) or got one.
    pub(crate) fn worker_idle(&self, idle: bool) {
        if idle {
            self.idle_workers.fetch_add(1, Ordering::Relaxed);
        } else {
            self.idle_workers.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Workers waiting for a request now.
    pub(crate) fn idle_workers(&self) -> usize {
        self.idle_workers.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Slot>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The connection with this id, while it is open.
    pub(crate) fn get(&self, id: u64) -> Option<Arc<Slot>> {
        self.lock().get(&id).cloned()
    }
}

/// One client connection, as the accept loop sees it.
pub(crate) struct Slot {
    pub stream: Arc<TcpStream>,
    pub peer: SocketAddr,
    pub accepted: Instant,
    pub track: Arc<Track>,
    /// Milliseconds after `accepted` at which the connection started waiting
    /// for a request head with nothing received, plus one; 0 while busy.
    idle_since: AtomicU64,
}

impl Slot {
    pub(crate) fn set_idle(&self, idle: bool) {
        let v = if idle {
            self.accepted.elapsed().as_millis() as u64 + 1
        } else {
            0
        };
        self.idle_since.store(v, Ordering::Release);
    }

    /// When the connection became idle, if it is idle with every request
    /// answered.
    fn idle_at(&self) -> Option<Instant> {
        let v = self.idle_since.load(Ordering::Acquire);
        if v == 0 || !self.track.all_answered() {
            return None;
        }
        Some(self.accepted + Duration::from_millis(v - 1))
    }
}

/// A running front door.
pub(crate) struct FrontDoor {
    gate: Arc<Gate>,
    listener: Arc<TcpListener>,
    accept: Option<JoinHandle<()>>,
}

/// The soft descriptor limit of this process (Linux), if it can be read.
fn descriptor_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The connection cap: `max_connections`, lowered so that the connections
/// cannot use up the descriptors.
pub(crate) fn connection_cap(max_connections: usize, fd_limit: Option<u64>) -> usize {
    let by_fds = fd_limit.map_or(usize::MAX, |n| {
        usize::try_from(n.saturating_sub(FDS_RESERVED) / FDS_PER_CONNECTION).unwrap_or(usize::MAX)
    });
    max_connections.min(by_fds).max(1)
}

/// The complete answer the front door writes itself, always closing.
pub(crate) fn error_response(status: u16) -> Vec<u8> {
    let body = HttpError::new(status).body();
    let date = crate::server::answer::with_http_date(str::to_owned);
    let retry = if status == 503 {
        "Retry-After: 1\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n{retry}Date: {date}\r\nServer: {}\r\n\r\n{body}",
        crate::http::status_reason(status),
        body.len(),
        crate::server::SERVER_HEADER,
    )
    .into_bytes()
}

impl Gate {
    fn conns(&self) -> MutexGuard<'_, HashMap<u64, Arc<Slot>>> {
        self.conns.lock()
    }

    fn spares(&self) -> MutexGuard<'_, Vec<Arc<UnixStream>>> {
        self.spares.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens and closes a private connection: tiny_http accepting it while
    /// none of its threads is idle starts a thread, which then serves the
    /// connections its pool lost track of (see `Conn::see_taken`).
    pub(crate) fn nudge(&self) {
        let _ = UnixStream::connect(&self.private_path);
    }

    /// A clean spare private connection, if there is one (spares gone
    /// unclean while kept, say tiny_http closed them, are dropped).
    pub(crate) fn take_spare(&self) -> Option<Arc<UnixStream>> {
        let mut spares = self.spares();
        std::iter::from_fn(|| spares.pop()).find(|up| is_clean(up))
    }

    /// Keeps `up` for a later client connection, if it is clean (tiny_http
    /// wrote nothing on it that nobody read, and did not close it) and
    /// there is room under the cap, counting the connection giving it back.
    pub(crate) fn keep_spare(&self, up: Arc<UnixStream>) {
        if self.stopping.load(Ordering::SeqCst) || !is_clean(&up) {
            return;
        }
        let open = self.conns().len();
        let mut spares = self.spares();
        if open + spares.len() < self.cap && spares.len() < MAX_SPARES {
            spares.push(up);
        }
    }

    /// Closes the connection idle the longest; false when none is idle.
    fn evict_idle(&self) -> bool {
        let conns = self.conns();
        let victim = conns
            .values()
            .filter_map(|s| s.idle_at().map(|t| (t, s)))
            .min_by_key(|(t, _)| *t);
        match victim {
            Some((_, slot)) => {
                let _ = slot.stream.shutdown(Shutdown::Both);
                slot.idle_since.store(0, Ordering::Release);
                true
            }
            None => false,
        }
    }
}

impl FrontDoor {
    /// Starts accepting on `listener` and forwarding to `private_path`.
    pub(crate) fn start(
        listener: TcpListener,
        private_path: PathBuf,
        limits: ServerLimits,
        log_requests: bool,
        conns: Arc<Conns>,
    ) -> io::Result<FrontDoor> {
        let cap = connection_cap(limits.max_connections, descriptor_limit());
        if let Err(e) = raise_backlog(&listener, cap) {
            log::warn!(target: "flaskrs::server", "cannot raise the listen backlog: {e}");
        }
        let gate = Arc::new(Gate {
            listener_timeout: socket2::SockRef::from(&listener).read_timeout()?,
            limits,
            private_path,
            log_requests,
            stopping: AtomicBool::new(false),
            pool: Pool::new("flaskrs-conn"),
            conns,
            spares: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            cap,
            spooled: AtomicU64::new(0),
        });
        let listener = Arc::new(listener);
        let (g, l) = (gate.clone(), listener.clone());
        let accept = std::thread::Builder::new()
            .name("flaskrs-accept".to_owned())
            .spawn(move || accept_loop(&g, &l))?;
        Ok(FrontDoor {
            gate,
            listener,
            accept: Some(accept),
        })
    }

    /// Open client connections.
    pub(crate) fn connections(&self) -> usize {
        self.gate.conns().len()
    }

    /// The connection cap in force.
    pub(crate) fn cap(&self) -> usize {
        self.gate.cap
    }

    /// Spare private connections kept now.
    #[cfg(test)]
    pub(crate) fn spares(&self) -> usize {
        self.gate.spares().len()
    }

    /// Stops accepting (the port is released), closes idle connections, lets
    /// busy ones finish their request for up to `grace`, then closes the rest.
    pub(crate) fn stop(&mut self, grace: Duration) {
        self.gate.stopping.store(true, Ordering::SeqCst);
        self.gate.spares().clear();
        // Wakes `accept` with an error (Linux), ending the loop.
        let _ = socket2::SockRef::from(&*self.listener).shutdown(Shutdown::Read);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        let until = Instant::now() + grace;
        loop {
            let conns: Vec<Arc<Slot>> = self.gate.conns().values().cloned().collect();
            if conns.is_empty() {
                return;
            }
            let late = Instant::now() >= until;
            for slot in conns {
                // An idle connection whose next request has already arrived
                // is left to its thread, which serves that request and then
                // closes (it sees `stopping`); closing it here would fail a
                // request the client already sent (a POST a proxy cannot
                // retry). What remains is the microseconds between this
                // peek and the close.
                if late || (slot.idle_at().is_some() && !has_pending_bytes(&slot.stream)) {
                    let _ = slot.stream.shutdown(Shutdown::Both);
                }
            }
            if late {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether tiny_http has neither written anything on `up` that nobody read
/// nor closed it: only then may it carry another client's requests.
fn is_clean(up: &UnixStream) -> bool {
    matches!(relay::wait_readable(up, Some(Duration::ZERO)), Ok(false))
}

/// Lets up to `cap` connections wait to be accepted (the kernel lowers it
/// to `net.core.somaxconn`). The standard library listens with a backlog of
/// 128: when more clients connect at once (a load balancer's pool, a
/// benchmark opening its connections) while the accept thread waits for a
/// core, the kernel drops the overflow's handshakes and each such client
/// waits for a retransmission, 1, 3, 7 s and more. (Calling `listen` again
/// on a listening socket only changes its backlog.)
fn raise_backlog(listener: &TcpListener, cap: usize) -> io::Result<()> {
    let backlog = i32::try_from(cap.max(128)).unwrap_or(i32::MAX);
    socket2::SockRef::from(listener).listen(backlog)
}

/// Whether bytes from the client wait unread on `stream` (a non-blocking
/// peek: nothing is consumed and the connection's thread is not disturbed).
fn has_pending_bytes(stream: &TcpStream) -> bool {
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1];
    matches!(
        socket2::SockRef::from(stream).recv_with_flags(&mut buf, libc::MSG_PEEK | libc::MSG_DONTWAIT),
        Ok(n) if n > 0
    )
}

fn accept_loop(gate: &Arc<Gate>, listener: &TcpListener) {
    let mut last_complaint: Option<Instant> = None;
    while !gate.stopping.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, peer)) => admit(gate, stream, peer),
            Err(e) => {
                if gate.stopping.load(Ordering::SeqCst) {
                    break;
                }
                match e.kind() {
                    // The listener's own timeout, or a client that left.
                    io::ErrorKind::WouldBlock
                    | io::ErrorKind::TimedOut
                    | io::ErrorKind::Interrupted
                    | io::ErrorKind::ConnectionAborted => {}
                    _ => {
                        // Out of descriptors or memory: make room if an idle
                        // connection can go, back off, and go on accepting.
                        if last_complaint.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                            log::error!(target: "flaskrs::server", "accepting a connection failed: {e}; retrying");
                            last_complaint = Some(Instant::now());
                        }
                        gate.evict_idle();
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
        }
    }
}

fn admit(gate: &Arc<Gate>, stream: TcpStream, peer: SocketAddr) {
    // Spares go first: they are the cheapest to give up.
    while gate.conns().len() + gate.spares().len() >= gate.cap {
        if gate.take_spare().is_none() {
            break;
        }
    }
    if gate.conns().len() >= gate.cap && !gate.evict_idle() {
        refuse(stream);
        return;
    }
    let _ = stream.set_nodelay(true);
    let id = gate.next_id.fetch_add(1, Ordering::Relaxed);
    let slot = Arc::new(Slot {
        stream: Arc::new(stream),
        peer,
        accepted: Instant::now(),
        track: Arc::new(Track::default()),
        idle_since: AtomicU64::new(0),
    });
    gate.conns().insert(id, slot.clone());
    let (g, s) = (gate.clone(), slot.clone());
    let spawned = gate.pool.spawn(move || {
        let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            conn::Conn::new(&g, &s, id).run();
        }));

        if served.is_err() {
            log::error!(target: "flaskrs::server", "a connection handler panicked; the connection was closed");
            let _ = s.stream.shutdown(Shutdown::Both);
        }
        g.conns().remove(&id);
    });
    if let Err(e) = spawned {
        log::error!(target: "flaskrs::server", "no thread for a new connection: {e}");
        gate.conns().remove(&id);
        if let Ok(stream) = Arc::try_unwrap(slot).map(|s| s.stream) {
            if let Ok(stream) = Arc::try_unwrap(stream) {
                refuse(stream);
            }
        }
    }
}

/// Answers 503 and closes, without blocking the accept loop.
fn refuse(stream: TcpStream) {
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    // Reading what already arrived avoids a reset that could destroy the
    // answer before the client reads it.
    let mut sink = [0u8; 4096];
    for _ in 0..16 {
        match (&stream).read(&mut sink) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
    let _ = (&stream).write_all(&error_response(503));
    let _ = stream.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_descriptors_to_spare() {
        assert_eq!(connection_cap(1024, None), 1024);
        assert_eq!(connection_cap(1024, Some(1_048_576)), 1024);
        assert_eq!(connection_cap(1024, Some(1024)), (1024 - 48) / 5);
        assert_eq!(connection_cap(1024, Some(128)), 16);
        assert_eq!(connection_cap(1024, Some(10)), 1);
    }

    #[test]
    fn pending_bytes_are_seen_without_being_consumed() {
        use std::io::{Read, Write};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        assert!(!has_pending_bytes(&server));
        client.write_all(b"GET").unwrap();
        let deadline = Instant::now() + Duration::from_secs(2);
        while !has_pending_bytes(&server) {
            assert!(Instant::now() < deadline, "the bytes never showed");
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut buf = [0u8; 3];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"GET");
        assert!(!has_pending_bytes(&server));
    }

    #[test]
    fn only_clean_private_connections_are_kept_spare_within_the_cap() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let limits = ServerLimits {
            max_connections: 2,
            ..ServerLimits::default()
        };
        let conns = Arc::new(Conns::default());
        let mut door = FrontDoor::start(
            listener,
            PathBuf::from("/nonexistent"),
            limits,
            false,
            conns,
        )
        .unwrap();
        let gate = door.gate.clone();
        // tiny_http wrote something nobody read.
        let (a, b) = UnixStream::pair().unwrap();
        (&b).write_all(b"x").unwrap();
        gate.keep_spare(Arc::new(a));
        assert!(gate.take_spare().is_none());
        // tiny_http closed it.
        let (a, b) = UnixStream::pair().unwrap();
        drop(b);
        gate.keep_spare(Arc::new(a));
        assert!(gate.take_spare().is_none());
        // Clean when kept, closed by tiny_http since: not handed out.
        let (a, b) = UnixStream::pair().unwrap();
        gate.keep_spare(Arc::new(a));
        drop(b);
        assert!(gate.take_spare().is_none());
        // Clean ones, up to the cap.
        let pairs: Vec<_> = (0..3).map(|_| UnixStream::pair().unwrap()).collect();
        for (a, _) in &pairs {
            gate.keep_spare(Arc::new(a.try_clone().unwrap()));
        }
        assert_eq!(gate.spares().len(), 2);
        door.stop(Duration::ZERO);
        assert!(gate.spares().is_empty());
    }

    #[test]
    fn the_backlog_holds_a_burst_of_connections_past_128() {
        let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        if somaxconn < 512 {
            eprintln!("skipped: net.core.somaxconn is {somaxconn}");
            return;
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        raise_backlog(&listener, 512).unwrap();
        let addr = listener.local_addr().unwrap();
        // Nobody accepts: with the standard backlog of 128, the 130th
        // handshake is dropped and its connect times out.
        let mut held = Vec::new();
        for i in 0..300 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
                Ok(s) => held.push(s),
                Err(e) => panic!("connection {i} waited: {e}"),
            }
        }
    }

    #[test]
    fn the_descriptor_limit_is_read() {
        let n = descriptor_limit().expect("/proc/self/limits");
        assert!(n >= 16, "{n}");
    }

    #[test]
    fn own_answers_close_and_carry_werkzeugs_page() {
        let r = String::from_utf8(error_response(431)).unwrap();
        assert!(
            r.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            "{r}"
        );
        assert!(r.contains("\r\nConnection: close\r\n"));
        let body = HttpError::new(431).body();
        assert!(r.ends_with(&format!("\r\n\r\n{body}")));
        assert!(r.contains(&format!("Content-Length: {}\r\n", body.len())));
        assert!(String::from_utf8(error_response(503))
            .unwrap()
            .contains("Retry-After: 1\r\n"));
    }
}
