//! Request bodies too big to read into memory (and chunked ones), read
//! into an unnamed temporary file before their request is forwarded
//! (waitress and nginx do the same): a worker is only taken once the
//! upload has arrived, so a client that uploads slowly holds its own
//! connection, never a worker. A chunked body is spooled checked and
//! re-chunked, as it will be forwarded.
//!
//! The bytes held in such files at once, across connections, are bounded
//! by [`ServerLimits::spool_max`](crate::server::ServerLimits::spool_max).
//! Past that bound, or when the file cannot be written (a full disk), what
//! was read so far is forwarded and the rest streams through as it
//! arrives, as it did before spooling existed.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicU64, Ordering};

/// The first part of a request body, in a temporary file.
pub(crate) struct Spool<'a> {
    file: File,
    /// Bytes of the body written (and reserved in `held`).
    len: u64,
    held: &'a AtomicU64,
    cap: u64,
}

impl<'a> Spool<'a> {
    /// An empty spool counting its bytes in `held`, which may not pass
    /// `cap`.
    pub(crate) fn new(held: &'a AtomicU64, cap: u64) -> io::Result<Self> {
        Ok(Spool {
            file: tempfile::tempfile()?,
            len: 0,
            held,
            cap,
        })
    }

    /// Bytes of the body held.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Appends `bytes` if the bound allows and the file takes them;
    /// whether it did. Nothing is counted when it did not.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> bool {
        let n = bytes.len() as u64;
        let reserved = self
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
                h.checked_add(n).filter(|&t| t <= self.cap)
            })
            .is_ok();
        if !reserved {
            return false;
        }
        // A write that failed half-way leaves bytes past `len`; they are
        // never read back (see `send_to`).
        if self.file.write_all(bytes).is_err() {
            self.held.fetch_sub(n, Ordering::AcqRel);
            return false;
        }
        self.len += n;
        true
    }

    /// Calls `send` with the held bytes, in order, a piece at a time.
    pub(crate) fn send_to(&mut self, mut send: impl FnMut(&[u8])) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(0))?;
        let mut left = self.len;
        let mut piece = vec![0u8; 64 * 1024];
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(usize::MAX).min(piece.len());
            let n = self.file.read(&mut piece[..want])?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            send(&piece[..n]);
            left -= n as u64;
        }
        Ok(())
    }
}

impl Drop for Spool<'_> {
    fn drop(&mut self) {
        self.held.fetch_sub(self.len, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_bytes_up_to_the_shared_bound_and_gives_them_back() {
        let held = AtomicU64::new(0);
        let mut a = Spool::new(&held, 10).unwrap();
        let mut b = Spool::new(&held, 10).unwrap();
        assert!(a.push(b"hello"));
        assert!(b.push(b"wor"));
        // 8 held: 3 more would pass the bound of 10.
        assert!(!a.push(b"ld!"));
        assert!(a.push(b"ld"));
        assert_eq!(held.load(Ordering::Acquire), 10);
        let mut out = Vec::new();
        a.send_to(|p| out.extend_from_slice(p)).unwrap();
        assert_eq!(out, b"hellold");
        assert_eq!(a.len(), 7);
        drop(a);
        assert_eq!(held.load(Ordering::Acquire), 3);
        drop(b);
        assert_eq!(held.load(Ordering::Acquire), 0);
    }
}
