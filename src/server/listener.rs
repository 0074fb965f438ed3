//! The sockets: the public listener, owned by the host (the front door
//! accepts on it), and the private Unix socket tiny_http serves.
//!
//! The public listener gets `SO_RCVTIMEO` and `SO_SNDTIMEO`, which Linux
//! copies to every socket it accepts (tested below): the first read of a
//! connection and every write to a client are bounded without a system call
//! per connection.
//!
//! The private socket lives in a fresh directory only this user can enter,
//! so only the front door can reach tiny_http. tiny_http's accept thread ends
//! on its first accept error and panics when it cannot duplicate a socket;
//! the supervisor connects a liveness probe every second and starts a fresh
//! tiny_http server (a new *generation*) on the same socket when the accept
//! thread has died. Requests still queued in a retired generation are served
//! by the workers, who poll every live generation.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, ToSocketAddrs};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::limits::ServerLimits;

/// How many retired generations are kept polled. Older ones are dropped:
/// requests their last connections still send would hang, so the number is
/// generous; a generation is only retired when accepting failed.
const MAX_RETIRED: usize = 64;

/// A probe that tiny_http's connection thread answers itself (an unknown
/// `Expect` gets 417), so it proves the accept thread lives without
/// reaching a worker or the access log.
const PROBE: &[u8] =
    b"GET / HTTP/1.1\r\nHost: probe\r\nExpect: flaskrs-liveness-probe\r\nConnection: close\r\n\r\n";

/// The message for a port in use, worded as Werkzeug's.
pub(crate) fn addr_in_use(port: u16) -> io::Error {
    io::Error::new(
        io::ErrorKind::AddrInUse,
        format!(
            "Address already in use: port {port} is in use by another program. Either identify and stop that program, or start the server with a different port."
        ),
    )
}

/// Binds the public socket, with the timeouts accepted sockets inherit: the
/// header timeout for their first read, the send timeout for every write.
pub(crate) fn bind_public(host: &str, port: u16, limits: &ServerLimits) -> io::Result<TcpListener> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| io::Error::new(e.kind(), format!("Could not resolve host {host:?}: {e}")))?
        .collect();
    let listener = TcpListener::bind(addrs.as_slice()).map_err(|e| match e.kind() {
        io::ErrorKind::AddrInUse => addr_in_use(port),
        _ => io::Error::new(e.kind(), format!("Could not bind to {host}:{port}: {e}")),
    })?;
    let sock = socket2::SockRef::from(&listener);
    // Also bounds `accept`, which the accept loop simply retries.
    sock.set_read_timeout(Some(limits.header_timeout).filter(|d| !d.is_zero()))?;
    sock.set_write_timeout(Some(limits.send_timeout).filter(|d| !d.is_zero()))?;
    Ok(listener)
}

/// The private socket's directory and path; removed when dropped.
pub(crate) struct PrivateDir {
    dir: PathBuf,
    path: PathBuf,
}

impl PrivateDir {
    /// Creates a fresh directory (mode 0700) under the temporary directory
    /// and binds `sock` in it.
    pub(crate) fn bind() -> io::Result<(PrivateDir, UnixListener)> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        let mut last = None;
        for _ in 0..8 {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let name = format!(
                "flaskrs-{}-{}-{nanos:x}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::Relaxed)
            );
            let dir = base.join(name);
            // `create` fails if the name exists: nobody else can have
            // prepared this directory for us.
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => {
                    remove_stale(&base, &dir);
                    let path = dir.join("sock");
                    let guard = PrivateDir { dir, path };
                    let listener = UnixListener::bind(&guard.path).map_err(|e| {
                        io::Error::new(
                            e.kind(),
                            format!(
                                "Could not bind the private socket {}: {e}",
                                guard.path.display()
                            ),
                        )
                    })?;
                    return Ok((guard, listener));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!(
                            "Could not create a private directory in {}: {e}",
                            base.display()
                        ),
                    ))
                }
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no private directory")))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Removes private directories left by flaskrs processes that are gone
/// (killed before they could clean up): same owner as `mine`, named
/// `flaskrs-<pid>-…` with no process `<pid>` running. Only an empty directory
/// or one holding just `sock` is removed.
fn remove_stale(base: &Path, mine: &Path) {
    use std::os::unix::fs::MetadataExt;
    let Ok(me) = std::fs::metadata(mine).map(|m| m.uid()) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("flaskrs-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let path = entry.path();
        let owned = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir() && m.uid() == me);
        if !owned || pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        if !Path::new("/proc/self").exists() {
            return; // no /proc: cannot tell who is alive
        }
        let _ = std::fs::remove_file(path.join("sock"));
        let _ = std::fs::remove_dir(&path);
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

struct Generations {
    epoch: u64,
    current: Arc<tiny_http::Server>,
    retired: VecDeque<Arc<tiny_http::Server>>,
    /// The current generation's accept thread reported an error.
    failed: bool,
}

/// The private socket and its tiny_http generations.
pub(crate) struct Acceptor {
    listener: UnixListener,
    path: PathBuf,
    gens: Mutex<Generations>,
}

/// A consistent view for one worker iteration.
pub(crate) struct Snapshot {
    pub epoch: u64,
    pub current: Arc<tiny_http::Server>,
    pub retired: Vec<Arc<tiny_http::Server>>,
}

fn tiny_server(listener: &UnixListener) -> io::Result<Arc<tiny_http::Server>> {
    let dup = listener.try_clone()?;
    tiny_http::Server::from_listener(dup, None)
        .map(Arc::new)
        .map_err(|e| io::Error::other(e.to_string()))
}

impl Acceptor {
    /// Starts the first tiny_http generation on `listener` (bound at `path`).
    pub(crate) fn new(listener: UnixListener, path: PathBuf) -> io::Result<Acceptor> {
        let current = tiny_server(&listener)?;
        Ok(Acceptor {
            listener,
            path,
            gens: Mutex::new(Generations {
                epoch: 0,
                current,
                retired: VecDeque::new(),
                failed: false,
            }),
        })
    }

    fn gens(&self) -> MutexGuard<'_, Generations> {
        self.gens.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let g = self.gens();
        Snapshot {
            epoch: g.epoch,
            current: g.current.clone(),
            retired: g.retired.iter().cloned().collect(),
        }
    }

    /// Records that generation `epoch` stopped accepting.
    pub(crate) fn mark_failed(&self, epoch: u64, error: &io::Error) {
        let mut g = self.gens();
        if g.epoch == epoch && !g.failed {
            log::error!(target: "flaskrs::server", "accepting connections failed ({error}); restarting the acceptor");
            g.failed = true;
        }
    }

    pub(crate) fn has_failed(&self) -> bool {
        self.gens().failed
    }

    /// Starts a new generation on the same socket and retires the current one.
    pub(crate) fn regenerate(&self) -> io::Result<()> {
        let fresh = tiny_server(&self.listener)?;
        let mut g = self.gens();
        let old = std::mem::replace(&mut g.current, fresh);
        g.retired.push_back(old);
        while g.retired.len() > MAX_RETIRED {
            g.retired.pop_front();
        }
        g.epoch += 1;
        g.failed = false;
        log::warn!(target: "flaskrs::server", "started acceptor generation {}", g.epoch);
        Ok(())
    }

    /// Whether a connection to the private socket is accepted and answered
    /// within `timeout`.
    pub(crate) fn probe(&self, timeout: Duration) -> bool {
        let attempt = || -> io::Result<bool> {
            let mut s = UnixStream::connect(&self.path)?;
            s.set_read_timeout(Some(timeout))?;
            s.set_write_timeout(Some(timeout))?;
            s.write_all(PROBE)?;
            let mut buf = [0u8; 12];
            s.read_exact(&mut buf)?;
            Ok(&buf == b"HTTP/1.1 417")
        };
        attempt().unwrap_or(false)
    }

    /// Stops listening: tiny_http's accept threads wake with an error and end.
    pub(crate) fn stop_accepting(&self) {
        // Marked failed first, so the accept error this causes is not
        // reported as a failure to recover from.
        self.gens().failed = true;
        let _ = socket2::SockRef::from(&self.listener).shutdown(Shutdown::Read);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;

    #[test]
    fn accepted_sockets_inherit_the_listeners_timeouts() {
        // The hardening relies on this Linux behaviour; fail loudly if a
        // platform does not provide it.
        let limits = ServerLimits {
            header_timeout: Duration::from_millis(700),
            send_timeout: Duration::from_millis(900),
            ..ServerLimits::default()
        };
        let l = bind_public("127.0.0.1", 0, &limits).unwrap();
        let _c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (a, _) = l.accept().unwrap();
        assert_eq!(a.read_timeout().unwrap(), Some(Duration::from_millis(700)));
        assert_eq!(a.write_timeout().unwrap(), Some(Duration::from_millis(900)));
    }

    #[test]
    fn port_in_use_is_explained() {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        let err = bind_public("127.0.0.1", port, &ServerLimits::default())
            .expect_err("second bind must fail");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert_eq!(
            err.to_string(),
            format!("Address already in use: port {port} is in use by another program. Either identify and stop that program, or start the server with a different port.")
        );
    }

    #[test]
    fn the_private_directory_is_private_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, listener) = PrivateDir::bind().unwrap();
        let path = dir.path().to_owned();
        let parent = path.parent().unwrap().to_owned();
        let mode = std::fs::metadata(&parent).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(UnixStream::connect(&path).is_ok());
        drop(listener);
        drop(dir);
        assert!(!parent.exists());
    }

    #[test]
    fn directories_of_dead_processes_are_removed() {
        let base = std::env::temp_dir();
        // No process has pid 4294967294 (above the kernel's pid_max).
        let stale = base.join(format!("flaskrs-4294967294-0-{}", std::process::id()));
        std::fs::create_dir(&stale).unwrap();
        std::fs::write(stale.join("sock"), "").unwrap();
        let other = base.join(format!("flaskrs-4294967294-1-{}", std::process::id()));
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("keep"), "").unwrap();
        let (dir, _listener) = PrivateDir::bind().unwrap();
        if dir.path().starts_with(&base) {
            assert!(!stale.exists());
            // Anything but the socket is not ours to delete.
            assert!(other.join("keep").exists());
        }
        let _ = std::fs::remove_dir_all(&stale);
        let _ = std::fs::remove_dir_all(&other);
    }

    #[test]
    fn probes_are_answered_by_tiny_http_itself() {
        let (dir, listener) = PrivateDir::bind().unwrap();
        let acceptor = Acceptor::new(listener, dir.path().to_owned()).unwrap();
        assert!(acceptor.probe(Duration::from_secs(5)));
        acceptor.regenerate().unwrap();
        assert!(acceptor.probe(Duration::from_secs(5)));
        acceptor.stop_accepting();
    }
}
