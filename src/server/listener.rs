//! The listening socket, owned by the host, and the tiny_http servers that
//! accept from it.
//!
//! The host binds the socket itself so it can set options tiny_http 0.12
//! lacks: Linux copies `SO_RCVTIMEO` and `SO_SNDTIMEO` from a listening
//! socket to every socket it accepts, which gives each connection idle read
//! and write timeouts (tested below). `SO_RCVTIMEO` also bounds how long
//! `accept` waits, and tiny_http's accept thread ends on the first accept
//! error; so the supervisor connects a liveness probe more often than that
//! timeout, and starts a fresh tiny_http server (a new *generation*) on the
//! same socket whenever the accept thread has died — from a timeout, from
//! `EMFILE`, or from the panic tiny_http's accept thread hits when it cannot
//! duplicate a socket. Requests still queued in a retired generation are
//! served by the workers, who poll every live generation.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs,
};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

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

struct Generations {
    epoch: u64,
    current: Arc<tiny_http::Server>,
    retired: VecDeque<Arc<tiny_http::Server>>,
    /// The current generation's accept thread reported an error.
    failed: bool,
}

/// The bound socket and its tiny_http generations.
pub(crate) struct Acceptor {
    listener: TcpListener,
    addr: SocketAddr,
    gens: Mutex<Generations>,
}

/// A consistent view for one worker iteration.
pub(crate) struct Snapshot {
    pub epoch: u64,
    pub current: Arc<tiny_http::Server>,
    pub retired: Vec<Arc<tiny_http::Server>>,
}

fn tiny_server(listener: &TcpListener) -> io::Result<Arc<tiny_http::Server>> {
    let dup = listener.try_clone()?;
    tiny_http::Server::from_listener(dup, None)
        .map(Arc::new)
        .map_err(|e| io::Error::other(e.to_string()))
}

/// The message for a port in use, worded as Werkzeug's.
pub(crate) fn addr_in_use(port: u16) -> io::Error {
    io::Error::new(
        io::ErrorKind::AddrInUse,
        format!(
            "Address already in use: port {port} is in use by another program. Either identify and stop that program, or start the server with a different port."
        ),
    )
}

impl Acceptor {
    /// Binds `host:port` and starts the first tiny_http generation.
    pub(crate) fn bind(host: &str, port: u16, limits: &ServerLimits) -> io::Result<Acceptor> {
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
        sock.set_read_timeout(limits.socket_read_timeout())?;
        let send = Some(limits.send_timeout).filter(|d| !d.is_zero());
        sock.set_write_timeout(send)?;
        let addr = listener.local_addr()?;
        let current = tiny_server(&listener)?;
        Ok(Acceptor {
            listener,
            addr,
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

    /// The bound address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
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

    /// Whether a connection to the socket is accepted and answered within
    /// `timeout`. Also keeps `accept` from reaching `SO_RCVTIMEO`.
    pub(crate) fn probe(&self, timeout: Duration) -> bool {
        let target = probe_addr(self.addr);
        let attempt = || -> io::Result<bool> {
            let mut s = TcpStream::connect_timeout(&target, timeout)?;
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

/// Where the probe connects: the bound address, or loopback for a wildcard.
fn probe_addr(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_sockets_inherit_the_listeners_timeouts() {
        // The hardening relies on this Linux behaviour; fail loudly if a
        // platform does not provide it.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let s = socket2::SockRef::from(&l);
        s.set_read_timeout(Some(Duration::from_millis(700)))
            .unwrap();
        s.set_write_timeout(Some(Duration::from_millis(900)))
            .unwrap();
        let _c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (a, _) = l.accept().unwrap();
        assert_eq!(a.read_timeout().unwrap(), Some(Duration::from_millis(700)));
        assert_eq!(a.write_timeout().unwrap(), Some(Duration::from_millis(900)));
    }

    #[test]
    fn port_in_use_is_explained() {
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        let err = Acceptor::bind("127.0.0.1", port, &ServerLimits::default())
            .err()
            .expect("second bind must fail");
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert_eq!(
            err.to_string(),
            format!("Address already in use: port {port} is in use by another program. Either identify and stop that program, or start the server with a different port.")
        );
    }

    #[test]
    fn wildcard_addresses_are_probed_on_loopback() {
        assert_eq!(
            probe_addr("0.0.0.0:80".parse().unwrap()),
            "127.0.0.1:80".parse().unwrap()
        );
        assert_eq!(
            probe_addr("[::]:80".parse().unwrap()),
            "[::1]:80".parse().unwrap()
        );
        assert_eq!(
            probe_addr("127.0.0.2:80".parse().unwrap()),
            "127.0.0.2:80".parse().unwrap()
        );
    }
}
