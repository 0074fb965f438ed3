//! The way back: tiny_http's answers copied to the client, with their
//! boundaries tracked so the front door knows which requests are answered.
//!
//! tiny_http's responses on the private socket always carry a
//! `Content-Length` (the exchange never lets it choose chunked encoding, and
//! the front door strips the `TE` request header that would), have no body
//! after HEAD, 1xx, 204 and 304, and `100 Continue` is interim. That is all
//! it takes to find where each response ends. A response that does not fit
//! (none is expected) is relayed until tiny_http closes the connection.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What the connection and its relay share about requests in flight.
#[derive(Debug)]
pub(crate) struct Track {
    state: Mutex<TrackState>,
    cv: Condvar,
    epoch: Instant,
    /// Milliseconds after `epoch` of the relay's last write to the client.
    progress: AtomicU64,
}

impl Default for Track {
    fn default() -> Self {
        Track {
            state: Mutex::default(),
            cv: Condvar::new(),
            epoch: Instant::now(),
            progress: AtomicU64::new(0),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct TrackState {
    /// One entry per forwarded request not yet fully answered: whether it
    /// was a HEAD request.
    pub pending: VecDeque<bool>,
    /// A relay is running.
    pub relaying: bool,
    /// The relay stopped inside a response (the client has part of it).
    pub cut: bool,
    /// The private connection is expected to end (the last request told
    /// tiny_http to close, or the front door shut it).
    pub expect_eof: bool,
    /// The relay ended before every request on its connection was
    /// answered.
    pub unanswered: bool,
    /// Requests forwarded, and how many of them a worker has taken from
    /// tiny_http (see `Conn::see_taken`).
    forwarded: u64,
    taken: u64,
    /// Threads waiting for `pending` to empty or `taken` to catch up (so
    /// answers need not wake anyone when nobody waits).
    waiters: usize,
}

impl TrackState {
    /// Counts every request forwarded so far as taken.
    pub(crate) fn taken_all(&mut self) {
        self.taken = self.forwarded;
    }
}

impl Track {
    pub(crate) fn lock(&self) -> MutexGuard<'_, TrackState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a forwarded request.
    pub(crate) fn push(&self, is_head: bool, last: bool) {
        // The answer's stall clock starts at the request.
        self.note_progress();
        let mut s = self.lock();
        s.pending.push_back(is_head);
        s.forwarded += 1;
        s.expect_eof |= last;
    }

    /// A worker took a request of this connection from tiny_http.
    pub(crate) fn taken(&self) {
        let mut s = self.lock();
        s.taken += 1;
        if s.waiters > 0 {
            self.cv.notify_all();
        }
    }

    /// Waits up to `timeout` for a worker to have taken every request
    /// forwarded; whether it has.
    pub(crate) fn wait_taken(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut s = self.lock();
        s.waiters += 1;
        while s.taken < s.forwarded {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            s = self
                .cv
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        s.waiters -= 1;
        s.taken >= s.forwarded
    }

    /// Blocks until the relay has ended.
    pub(crate) fn wait_relay_end(&self) {
        let mut s = self.lock();
        s.waiters += 1;
        while s.relaying {
            s = self.cv.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.waiters -= 1;
    }

    /// Blocks until every forwarded request was answered; false when no
    /// answer made progress for `stall`.
    pub(crate) fn wait_answered(&self, stall: Duration) -> bool {
        let mut s = self.lock();
        s.waiters += 1;
        let mut done = true;
        while !s.pending.is_empty() {
            let since = self.since_progress();
            if since >= stall {
                done = false;
                break;
            }
            s = self
                .cv
                .wait_timeout(s, stall - since)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        s.waiters -= 1;
        done
    }

    /// Forgets the newest request: it never reached tiny_http.
    pub(crate) fn unpush(&self) {
        let mut s = self.lock();
        s.pending.pop_back();
        s.forwarded = s.forwarded.saturating_sub(1);
    }

    /// A worker wrote the answer to the oldest request in flight.
    pub(crate) fn answer_written(&self) {
        self.note_progress();
        self.answered();
    }

    /// Whether the oldest unanswered request was a HEAD request.
    fn next_is_head(&self) -> bool {
        self.lock().pending.front().copied().unwrap_or(false)
    }

    /// The oldest unanswered request was answered in full.
    fn answered(&self) {
        let mut s = self.lock();
        s.pending.pop_front();
        if s.pending.is_empty() && s.waiters > 0 {
            self.cv.notify_all();
        }
    }

    /// How long ago the relay last wrote to the client (or the track began).
    pub(crate) fn since_progress(&self) -> Duration {
        let at = self.epoch + Duration::from_millis(self.progress.load(Ordering::Relaxed));
        at.elapsed()
    }

    fn note_progress(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.progress.store(ms, Ordering::Relaxed);
    }

    /// Whether every forwarded request was answered.
    pub(crate) fn all_answered(&self) -> bool {
        self.lock().pending.is_empty()
    }
}

/// Waits until `fd` has something to read (or was closed), for up to
/// `timeout` (`None`: no limit); false when the time ran out.
///
/// Why not a blocking `read`: a thread asleep in `read` on a Unix stream
/// socket sits on the same wait queue as writers waiting for buffer space,
/// and Linux wakes that queue each time the peer consumes what this end
/// wrote (`unix_write_space`). So every forwarded request would wake the
/// thread waiting for its answer once for nothing. `poll` waits filter
/// wake-ups by event, and a `POLLIN` waiter sleeps through those.
pub(crate) fn wait_readable(
    fd: &impl std::os::fd::AsFd,
    timeout: Option<Duration>,
) -> std::io::Result<bool> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let ts = timeout.and_then(|t| Timespec::try_from(t).ok());
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    loop {
        match poll(&mut fds, ts.as_ref()) {
            Ok(n) => return Ok(n > 0),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Finds response boundaries in the relayed byte stream.
#[derive(Debug, Default)]
pub(crate) struct Boundaries {
    /// Bytes of the current response head.
    head: Vec<u8>,
    /// Body bytes left in the current response, once its head is read.
    body_left: Option<u64>,
    /// A response could not be framed: everything up to EOF belongs to it.
    unframed: bool,
}

/// Longest response head looked at; longer ones are relayed unframed.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

impl Boundaries {
    /// Whether the stream stopped inside a response.
    pub(crate) fn in_response(&self) -> bool {
        self.unframed || self.body_left.is_some() || !self.head.is_empty()
    }

    /// Looks at the next relayed bytes.
    pub(crate) fn feed(&mut self, mut data: &[u8], track: &Track) {
        while !data.is_empty() && !self.unframed {
            if let Some(left) = self.body_left {
                let n = left.min(data.len() as u64);
                data = &data[n as usize..];
                if n == left {
                    self.body_left = None;
                    track.answered();
                } else {
                    self.body_left = Some(left - n);
                }
                continue;
            }
            let from = self.head.len().saturating_sub(3);
            let take = match find_end(&self.head[from..], data) {
                Some(n) => n,
                None => {
                    self.head.extend_from_slice(data);
                    if self.head.len() > MAX_RESPONSE_HEAD {
                        self.unframed = true;
                    }
                    return;
                }
            };
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
            match frame(&self.head, track.next_is_head()) {
                Frame::Interim => {}
                Frame::Body(0) => track.answered(),
                Frame::Body(n) => self.body_left = Some(n),
                Frame::Unknown => self.unframed = true,
            }
            self.head.clear();
        }
    }
}

/// How many bytes of `data` complete a head whose last bytes (at most 3)
/// are `tail`.
fn find_end(tail: &[u8], data: &[u8]) -> Option<usize> {
    // A terminator that straddles the joint of `tail` and `data`.
    let (t, d) = (tail.len().min(3), data.len().min(3));
    let mut joint = [0u8; 6];
    joint[..t].copy_from_slice(&tail[tail.len() - t..]);
    joint[t..t + d].copy_from_slice(&data[..d]);
    if let Some(p) = joint[..t + d].windows(4).position(|w| w == b"\r\n\r\n") {
        return Some(p + 4 - t);
    }
    data.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
}

enum Frame {
    Interim,
    Body(u64),
    Unknown,
}

fn frame(head: &[u8], is_head: bool) -> Frame {
    let status = head
        .get(9..12)
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse::<u16>().ok());
    let Some(status) = status else {
        return Frame::Unknown;
    };
    if (100..200).contains(&status) {
        return Frame::Interim;
    }
    if is_head || status == 204 || status == 304 {
        return Frame::Body(0);
    }
    let length = head
        .split(|&b| b == b'\n')
        .filter_map(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let colon = line.iter().position(|&b| b == b':')?;
            let (name, value) = (&line[..colon], &line[colon + 1..]);
            name.eq_ignore_ascii_case(b"content-length").then(|| {
                std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })?
        })
        .next();
    match length {
        Some(n) => Frame::Body(n),
        None => Frame::Unknown,
    }
}

/// Copies tiny_http's answers from `up` to `client` until the private
/// connection ends. Runs on a pool thread; one per private connection.
pub(crate) fn relay(up: Arc<UnixStream>, client: Arc<TcpStream>, track: Arc<Track>) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut bounds = Boundaries::default();
    loop {
        if wait_readable(&*up, None).is_err() {
            break;
        }
        let n = match (&*up).read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        if (&*client).write_all(&buf[..n]).is_err() {
            // The client is gone or stopped reading: end both sides, which
            // also wakes the connection's reader.
            let _ = client.shutdown(Shutdown::Both);
            let _ = up.shutdown(Shutdown::Both);
            bounds.unframed = true;
            break;
        }
        track.note_progress();
        bounds.feed(&buf[..n], &track);
    }
    let mut s = track.lock();
    s.relaying = false;
    s.cut = bounds.in_response();
    // Nothing forwarded on this connection will be answered any more.
    s.unanswered = !s.pending.is_empty();
    s.pending.clear();
    if !s.expect_eof || s.cut {
        // tiny_http ended the connection on its own: requests forwarded on
        // it may never be answered, so the client must not wait for them.
        let _ = client.shutdown(Shutdown::Both);
    }
    track.cv.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(pending: &[bool]) -> Track {
        let t = Track::default();
        for &h in pending {
            t.push(h, false);
        }
        t
    }

    #[test]
    fn responses_are_counted_in_any_split() {
        let stream: &[u8] = b"HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n";
        for split in 1..stream.len() {
            // Request 2 is HEAD: its 7 is not followed by a body.
            let t = track(&[false, true, false]);
            let mut b = Boundaries::default();
            for piece in stream.chunks(split) {
                b.feed(piece, &t);
            }
            assert!(t.all_answered(), "split {split}");
            assert!(!b.in_response(), "split {split}");
        }
    }

    #[test]
    fn a_partial_response_is_in_flight() {
        let t = track(&[false]);
        let mut b = Boundaries::default();
        b.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", &t);
        assert!(!t.all_answered());
        assert!(b.in_response());
        b.feed(b"lo", &t);
        assert!(t.all_answered());
    }

    #[test]
    fn a_response_without_length_is_unframed() {
        let t = track(&[false]);
        let mut b = Boundaries::default();
        b.feed(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n",
            &t,
        );
        assert!(b.unframed && !t.all_answered());
    }
}
