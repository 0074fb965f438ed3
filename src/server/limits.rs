//! Server configuration and the limits that protect the server from its
//! clients. The front door (`front/`) enforces them before tiny_http sees a
//! request.

use std::time::Duration;

/// One GiB: the largest unread body remainder the host lets tiny_http drain.
///
/// tiny_http's body reader allocates the whole unread remainder in one buffer
/// when it is dropped (`EqualReader::drop`: `vec![0; remaining]`). A lazily
/// zeroed gigabyte is harmless on any host we target; a remainder the
/// allocator refuses aborts the process, and one above `isize::MAX` panics.
/// So bodies above this size are refused (413) by the front door, whatever
/// [`ServerLimits::max_content_length`] says, and never reach tiny_http.
pub const HARD_BODY_CAP: u64 = 1 << 30;

/// Limits that protect the server from its clients, enforced by the front
/// door before a request reaches tiny_http (`SECURITY.md` has the whole
/// threat model). Zero durations disable a timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Largest request body accepted (a bigger `Content-Length` is answered
    /// 413 before the body is read; a chunked body is cut off there). `None`
    /// still stops at [`HARD_BODY_CAP`]. Default 16 MiB.
    pub max_content_length: Option<u64>,
    /// Longest request line (method, target, version, without CRLF)
    /// accepted; longer ones are answered 414 as soon as the limit is
    /// crossed, before the rest is read. Default 8 KiB.
    pub max_request_line: usize,
    /// Longest single header line (`Name: value`); longer is 431. Default 8 KiB.
    pub max_header_line: usize,
    /// Most header lines accepted; more is 431. Default 100.
    pub max_headers: usize,
    /// Most header bytes in total (lines with their CRLF); more is 431.
    /// Default 64 KiB. A head never occupies more than the request line and
    /// this (and a read's worth) in memory.
    pub max_header_bytes: usize,
    /// The deadline for a whole request head: from the accept for the first
    /// request of a connection, from its first byte for later ones. A head
    /// not complete by then is answered 408 (trickling bytes does not
    /// extend it). Default 10 s.
    pub header_timeout: Duration,
    /// How long a request body may pause between two reads. When it passes,
    /// the app's body read fails and the client gets its answer (or 408) and
    /// is disconnected. Default 30 s idle.
    pub body_timeout: Duration,
    /// How long a connection may wait, silent and with every request
    /// answered, for its next request. Default 5 s.
    pub keep_alive_timeout: Duration,
    /// How long a write to a client may block before the response is given
    /// up (a client that does not read). Default 30 s.
    pub send_timeout: Duration,
    /// The most simultaneous client connections. The cap in force is lower
    /// when the descriptor limit (`ulimit -n`) could not hold that many
    /// (five descriptors per connection, 48 kept spare). At the cap, the
    /// connection idle the longest is closed to make room; when none is
    /// idle, the newcomer gets 503 and is closed. Default 1024.
    pub max_connections: usize,
    /// The most bytes of request bodies held in temporary files at once,
    /// across connections. A body over 64 KiB (smaller ones are read into
    /// memory) or a chunked one is read into a temporary file before its
    /// request reaches a worker, so slow uploads hold no worker; past this
    /// bound the rest of a body streams to the app as it arrives. 0 turns
    /// that off. Default 256 MiB.
    pub spool_max: u64,
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
            spool_max: 256 * 1024 * 1024,
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
}

/// Where and how to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Host name or IP to bind (`127.0.0.1`, `0.0.0.0`, `::1`, `localhost`).
    pub host: String,
    /// TCP port; 0 picks a free one (see [`super::ServerHandle::addr`]).
    pub port: u16,
    /// Worker threads that run the handler. Default: twice the available
    /// cores, at least 8, because workers also wait: on the app's own I/O
    /// (a database, a file) and on clients slow to read a response.
    /// (Request bodies arrive whole before a worker sees the request.)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let l = ServerLimits::default();
        assert_eq!(l.max_content_length, Some(16 * 1024 * 1024));
        assert_eq!(
            (
                l.max_request_line,
                l.max_header_line,
                l.max_headers,
                l.max_header_bytes
            ),
            (8192, 8192, 100, 65536)
        );
        assert_eq!(
            (l.header_timeout, l.body_timeout, l.keep_alive_timeout),
            (
                Duration::from_secs(10),
                Duration::from_secs(30),
                Duration::from_secs(5)
            )
        );
    }

    #[test]
    fn no_limit_still_stops_at_the_hard_cap() {
        let limits = ServerLimits {
            max_content_length: None,
            ..ServerLimits::default()
        };
        assert_eq!(limits.effective_max_body(), HARD_BODY_CAP);
        let huge = ServerLimits {
            max_content_length: Some(u64::MAX),
            ..ServerLimits::default()
        };
        assert_eq!(huge.effective_max_body(), HARD_BODY_CAP);
    }
}
