//! The HTTP server: the only module that touches sockets.
//!
//! It serves any [`Handler`] with tiny_http 0.12. A fixed pool of worker
//! threads takes requests from tiny_http, turns each into a
//! [`crate::http::Request`] whose body is read lazily from the socket, runs
//! the handler with panics caught, and writes the [`crate::http::Response`]
//! back with HTTP/1.1 keep-alive. Each request is logged in Werkzeug's
//! access-log format (target `werkzeug`, level info).
//!
//! ```no_run
//! use std::sync::Arc;
//! use flaskrs::http::Response;
//! use flaskrs::server::{install_signal_handlers, Server, ServerConfig};
//!
//! let handler = Arc::new(|_req| Response::text("Hello, World!"));
//! let server = Server::bind(ServerConfig::default(), handler)?;
//! install_signal_handlers(server.trigger())?;
//! server.wait(); // until SIGINT or SIGTERM, then a graceful shutdown
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Hardening
//!
//! The server must not be brought down by anything a client sends, and
//! tiny_http 0.12 cannot promise that while it reads client sockets itself.
//! So it does not: the host's own *front door* (`front/`) owns the public
//! socket, admits connections up to a cap, reads and judges every request
//! head under size limits and deadlines ([`ServerLimits`]), refuses anything
//! malformed or ambiguous with the right status and closes, and forwards only
//! clean, canonically framed requests to tiny_http over a private Unix
//! socket. Behind it:
//!
//! - a handler panic becomes Werkzeug's 500 page and the worker lives on;
//! - a response header with CR, LF or NUL is never written (500 instead);
//! - a supervisor restarts tiny_http's accept thread whenever it dies.
//!
//! `SECURITY.md` at the repository root has the threat model.

mod access_log;
mod answer;
mod exchange;
mod front;
mod limits;
mod listener;
#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use limits::{ServerConfig, ServerLimits, HARD_BODY_CAP};

use exchange::Context;
use front::{Conns, FrontDoor};
use listener::{Acceptor, PrivateDir};

/// A text that changes once a second (a date in a header or a log line),
/// kept per thread and formatted again only when the second changes: it is
/// written on every request.
pub(crate) struct PerSecond {
    at: u64,
    text: String,
}

impl PerSecond {
    /// Nothing formatted yet.
    pub(crate) const fn new() -> Self {
        PerSecond {
            at: u64::MAX,
            text: String::new(),
        }
    }

    /// The text for now, from `format` when the second changed.
    pub(crate) fn get(&mut self, format: fn(std::time::SystemTime) -> String) -> &str {
        let now = std::time::SystemTime::now();
        let secs = now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if self.at != secs {
            self.at = secs;
            self.text = format(now);
        }
        &self.text
    }
}

/// The `Server` header written when the app sets none.
pub(crate) const SERVER_HEADER: &str = concat!("flaskrs/", env!("CARGO_PKG_VERSION"));

/// How often the supervisor checks that tiny_http still accepts.
const PROBE_PERIOD: Duration = Duration::from_secs(1);

/// How long a shutdown lets busy connections finish their request.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The application as the server sees it: a request in, a response out.
/// Called from several worker threads at once.
pub type Handler =
    std::sync::Arc<dyn Fn(crate::http::Request) -> crate::http::Response + Send + Sync>;

/// How long a worker waits on the current generation before it looks at
/// retired ones and at the shutdown flag.
const POLL: Duration = Duration::from_millis(200);

/// Binds and starts servers.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Binds `config.host:config.port`, starts the worker pool and returns at
    /// once; the server runs until [`ServerHandle::shutdown`].
    ///
    /// A port in use fails with [`io::ErrorKind::AddrInUse`] and Werkzeug's
    /// explanation ("Address already in use: port 5000 is in use by another
    /// program. …").
    pub fn bind(config: ServerConfig, handler: Handler) -> io::Result<ServerHandle> {
        Server::bind_probing(config, handler, PROBE_PERIOD)
    }

    /// [`Server::bind`] with the supervisor probing tiny_http every `probe`.
    fn bind_probing(
        config: ServerConfig,
        handler: Handler,
        probe: Duration,
    ) -> io::Result<ServerHandle> {
        if config.threads == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "ServerConfig.threads must be at least 1",
            ));
        }
        let public = listener::bind_public(&config.host, config.port, &config.limits)?;
        let addr = public.local_addr()?;
        let (private_dir, private) = PrivateDir::bind()?;
        let conns = Arc::new(Conns::default());
        let acceptor = Acceptor::new(private, private_dir.path().to_owned())?;
        let host = config.host.trim_start_matches('[').trim_end_matches(']');
        let server_name = if host.contains(':') {
            format!("[{host}]:{}", addr.port())
        } else {
            format!("{host}:{}", addr.port())
        };
        let shared = Arc::new(Shared {
            acceptor,
            ctx: Context {
                handler,
                limits: config.limits.clone(),
                server_name,
                log_requests: config.log_requests,
                conns: conns.clone(),
            },
            stopping: AtomicBool::new(false),
            private_dir,
        });

        let mut workers = Vec::with_capacity(config.threads);
        for i in 0..config.threads {
            let mine = shared.clone();
            // Workers run scripts: give them the script stack up front so
            // App::handle never has to switch to a fresh one per request
            // (virtual memory; only the pages used are touched).
            let spawned = std::thread::Builder::new()
                .name(format!("flaskrs-worker-{i}"))
                .stack_size(crate::app::SCRIPT_THREAD_STACK)
                .spawn(move || worker(&mine));
            match spawned {
                Ok(h) => workers.push(h),
                Err(e) => {
                    stop(&shared, None, workers);
                    return Err(e);
                }
            }
        }
        let (stop_tx, stop_rx) = mpsc::channel();
        let sup_shared = shared.clone();
        let supervisor = std::thread::Builder::new()
            .name("flaskrs-supervisor".to_owned())
            .spawn(move || supervise(&sup_shared, &stop_rx, probe));
        let supervisor = match supervisor {
            Ok(h) => h,
            Err(e) => {
                stop(&shared, None, workers);
                return Err(e);
            }
        };
        let supervisor = Some((stop_tx, supervisor));
        let front = FrontDoor::start(
            public,
            shared.private_dir.path().to_owned(),
            config.limits,
            config.log_requests,
            conns,
        );
        let front = match front {
            Ok(f) => f,
            Err(e) => {
                stop(&shared, supervisor, workers);
                return Err(e);
            }
        };
        Ok(ServerHandle {
            shared,
            front: Some(front),
            workers,
            supervisor,
            addr,
            trigger: ShutdownTrigger::default(),
        })
    }
}

struct Shared {
    acceptor: Acceptor,
    ctx: Context,
    stopping: AtomicBool,
    /// The private socket's directory, removed when the server is gone.
    private_dir: PrivateDir,
}

/// A running server. Dropping it without [`ServerHandle::shutdown`] leaves
/// the server running until the process ends.
pub struct ServerHandle {
    shared: Arc<Shared>,
    front: Option<FrontDoor>,
    workers: Vec<JoinHandle<()>>,
    supervisor: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    addr: SocketAddr,
    trigger: ShutdownTrigger,
}

impl std::fmt::Debug for ServerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerHandle")
            .field("addr", &self.addr)
            .field("workers", &self.workers.len())
            .finish()
    }
}

impl ServerHandle {
    /// The address the server listens on (with the real port when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Always 0: the front door refuses every request tiny_http could not
    /// drop safely, so none is leaked any more. Kept for compatibility.
    #[deprecated(note = "no connection is leaked since the front door; always 0")]
    pub fn leaked_connections(&self) -> usize {
        0
    }

    /// Client connections open now.
    pub fn open_connections(&self) -> usize {
        self.front.as_ref().map_or(0, FrontDoor::connections)
    }

    /// Spare private connections the front door keeps now.
    #[cfg(test)]
    pub(crate) fn spare_connections(&self) -> usize {
        self.front.as_ref().map_or(0, FrontDoor::spares)
    }

    /// The connection cap in force: `max_connections`, or lower when the
    /// descriptor limit could not hold that many connections.
    pub fn connection_cap(&self) -> usize {
        self.front.as_ref().map_or(0, FrontDoor::cap)
    }

    /// A trigger that makes [`ServerHandle::wait`] return, from any thread
    /// or from a signal handler thread ([`install_signal_handlers`]).
    pub fn trigger(&self) -> ShutdownTrigger {
        self.trigger.clone()
    }

    /// Stops accepting (the port is released at once), closes idle
    /// connections, lets in-flight requests finish (for up to 30 s), and joins
    /// the workers.
    pub fn shutdown(mut self) {
        if let Some(mut front) = self.front.take() {
            front.stop(SHUTDOWN_GRACE);
        }
        let supervisor = self.supervisor.take();
        stop(&self.shared, supervisor, std::mem::take(&mut self.workers));
    }

    /// Blocks until the trigger fires (e.g. SIGINT/SIGTERM), then shuts down
    /// gracefully.
    pub fn wait(self) {
        self.trigger.wait();
        self.shutdown();
    }
}

fn stop(
    shared: &Shared,
    supervisor: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
    workers: Vec<JoinHandle<()>>,
) {
    shared.stopping.store(true, Ordering::SeqCst);
    if let Some((tx, handle)) = supervisor {
        let _ = tx.send(());
        let _ = handle.join();
    }
    shared.acceptor.stop_accepting();
    for w in workers {
        let _ = w.join();
    }
}

/// Makes [`ServerHandle::wait`] return. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ShutdownTrigger {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl ShutdownTrigger {
    /// Asks the server to shut down.
    pub fn fire(&self) {
        let (flag, cv) = &*self.inner;
        *flag.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cv.notify_all();
    }

    /// Whether [`ShutdownTrigger::fire`] was called.
    pub fn is_fired(&self) -> bool {
        *self.inner.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait(&self) {
        let (flag, cv) = &*self.inner;
        let mut fired = flag.lock().unwrap_or_else(|e| e.into_inner());
        while !*fired {
            fired = cv.wait(fired).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Fires `trigger` on SIGINT or SIGTERM, so [`ServerHandle::wait`] returns
/// after a graceful shutdown and the program can exit with status 0. A second
/// signal exits at once (status 0), for a shutdown stuck on a handler.
pub fn install_signal_handlers(trigger: ShutdownTrigger) -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("flaskrs-signals".to_owned())
        .spawn(move || {
            for signal in signals.forever() {
                if trigger.is_fired() {
                    log::warn!(target: "flaskrs::server", "signal {signal} again: exiting without waiting");
                    std::process::exit(0);
                }
                trigger.fire();
            }
        })?;
    Ok(())
}

fn worker(shared: &Shared) {
    loop {
        let snap = shared.acceptor.snapshot();
        let stopping = shared.stopping.load(Ordering::SeqCst);
        let conns = &shared.ctx.conns;
        conns.worker_idle(true);
        let got = snap.current.recv_timeout(POLL);
        conns.worker_idle(false);
        match got {
            Ok(Some(rq)) => serve_guarded(rq, &shared.ctx),
            Ok(None) if stopping => break,
            Ok(None) => {}
            Err(_) if stopping => break,
            Err(e) => shared.acceptor.mark_failed(snap.epoch, &e),
        }
        for old in &snap.retired {
            while let Ok(Some(rq)) = old.try_recv() {
                serve_guarded(rq, &shared.ctx);
            }
        }
    }
}

/// The last line of defence: nothing that goes wrong while serving one
/// request may end the worker.
fn serve_guarded(rq: tiny_http::Request, ctx: &Context) {
    if catch_unwind(AssertUnwindSafe(|| exchange::serve(rq, ctx))).is_err() {
        log::error!(target: "flaskrs::server", "serving a request panicked outside the handler");
    }
}

/// Probes the acceptor every `period` and restarts it when its accept
/// thread has died (three failed probes in a row, or a reported error).
fn supervise(shared: &Shared, stop: &mpsc::Receiver<()>, period: Duration) {
    let mut failures = 0u32;
    loop {
        match stop.recv_timeout(period) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let dead = if shared.acceptor.has_failed() {
            true
        } else if shared.acceptor.probe(Duration::from_secs(1)) {
            failures = 0;
            false
        } else {
            failures += 1;
            failures >= 3
        };
        if dead {
            match shared.acceptor.regenerate() {
                Ok(()) => failures = 0,
                Err(e) => {
                    log::error!(target: "flaskrs::server", "restarting the acceptor failed: {e}; retrying")
                }
            }
        }
    }
}
