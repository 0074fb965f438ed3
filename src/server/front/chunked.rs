//! A client's chunked body, checked and re-framed for tiny_http.
//!
//! The client's chunks are parsed strictly (hex sizes of at most 16 digits,
//! CRLF everywhere, bounded extension and trailer lines) and the data is
//! forwarded as chunks of the front door's own making: one complete chunk per
//! piece of data at hand. So tiny_http's decoder is always at a chunk
//! boundary between two writes, and if the client's body breaks off, the
//! end of the stream lands on a chunk-size line, where tiny_http's decoder
//! reports an error (mid-chunk it would report a clean end). Trailers are
//! checked and dropped.

use super::head::{reject, Reject};
use crate::server::limits::ServerLimits;

/// Longest chunk-size line accepted (size and extensions).
const MAX_SIZE_LINE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In a chunk-size line.
    Size {
        value: u64,
        digits: u32,
        ext: bool,
        cr: bool,
    },
    /// In chunk data, this much left.
    Data(u64),
    /// After chunk data: expecting CR, then LF.
    DataEnd { cr: bool },
    /// In the trailer section, at the start of a line or inside one.
    Trailer { len: usize, cr: bool },
    /// The final empty line was read.
    Done,
}

/// Parses one chunked body.
#[derive(Debug)]
pub(crate) struct Dechunker {
    state: State,
    size_line: usize,
    total: u64,
    cap: u64,
    trailer_lines: usize,
    trailer_bytes: usize,
}

impl Dechunker {
    /// A parser for a body of at most `cap` bytes of data.
    pub(crate) fn new(cap: u64) -> Self {
        Dechunker {
            state: State::Size {
                value: 0,
                digits: 0,
                ext: false,
                cr: false,
            },
            size_line: 0,
            total: 0,
            cap,
            trailer_lines: 0,
            trailer_bytes: 0,
        }
    }

    /// Whether the whole body was read.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Reads from `input`, appending what tiny_http should get to `out`, and
    /// returns how many bytes of `input` were used. At the end of the body
    /// (see [`Dechunker::is_done`]) the rest of `input` is left alone: it is
    /// the next request. On an error, `out` holds the data before it; a
    /// chunk that would take the body over the cap is refused (413) at its
    /// size line.
    pub(crate) fn feed(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limits: &ServerLimits,
    ) -> Result<usize, Reject> {
        let mut i = 0;
        while i < input.len() && self.state != State::Done {
            if let State::Data(left) = self.state {
                let room = (self.cap + 1).saturating_sub(self.total);
                let n = left.min((input.len() - i) as u64).min(room);
                if n > 0 {
                    let n_us = n as usize;
                    out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                    out.extend_from_slice(&input[i..i + n_us]);
                    out.extend_from_slice(b"\r\n");
                    i += n_us;
                    self.total += n;
                }
                if self.total > self.cap {
                    return reject(413, format!("a chunked body over {} bytes", self.cap));
                }
                self.state = if left == n {
                    State::DataEnd { cr: false }
                } else {
                    State::Data(left - n)
                };
                continue;
            }
            let b = input[i];
            i += 1;
            self.byte(b, limits)?;
        }
        if self.state == State::Done {
            out.extend_from_slice(b"0\r\n\r\n");
        }
        Ok(i)
    }

    fn byte(&mut self, b: u8, limits: &ServerLimits) -> Result<(), Reject> {
        self.state = match self.state {
            State::Size {
                value,
                digits,
                ext,
                cr,
            } => {
                self.size_line += 1;
                if self.size_line > MAX_SIZE_LINE {
                    return reject(400, "a chunk-size line too long");
                }
                match (b, cr) {
                    (b'\n', true) if digits == 0 => return reject(400, "a chunk without a size"),
                    (b'\n', true) => {
                        self.size_line = 0;
                        if value == 0 {
                            State::Trailer { len: 0, cr: false }
                        } else if self.total.saturating_add(value) > self.cap {
                            // Refused at once: waiting for the data would
                            // let a client hold the connection, and a
                            // spooled body's worker-free wait, for nothing.
                            return reject(
                                413,
                                format!("a chunk that takes the body over {} bytes", self.cap),
                            );
                        } else {
                            State::Data(value)
                        }
                    }
                    (_, true) => return reject(400, "a CR without LF in a chunk-size line"),
                    (b'\r', false) => State::Size {
                        value,
                        digits,
                        ext,
                        cr: true,
                    },
                    (b';', false) if digits > 0 => State::Size {
                        value,
                        digits,
                        ext: true,
                        cr: false,
                    },
                    (b, false) if !ext && b.is_ascii_hexdigit() => {
                        if digits >= 16 {
                            return reject(413, "a chunk size over 16 hex digits");
                        }
                        let d = u64::from((b as char).to_digit(16).unwrap_or(0));
                        State::Size {
                            value: value << 4 | d,
                            digits: digits + 1,
                            ext,
                            cr: false,
                        }
                    }
                    (b, false) if ext && (b == b'\t' || (0x20..=0x7e).contains(&b)) => self.state,
                    _ => return reject(400, format!("byte {b:#04x} in a chunk-size line")),
                }
            }
            State::DataEnd { cr: false } if b == b'\r' => State::DataEnd { cr: true },
            State::DataEnd { cr: true } if b == b'\n' => State::Size {
                value: 0,
                digits: 0,
                ext: false,
                cr: false,
            },
            State::DataEnd { .. } => return reject(400, "chunk data longer than its size"),
            State::Trailer { len, cr } => match (b, cr) {
                (b'\n', true) if len == 0 => State::Done,
                (b'\n', true) => {
                    self.trailer_lines += 1;
                    if self.trailer_lines > limits.max_headers {
                        return reject(431, "too many trailer lines");
                    }
                    State::Trailer { len: 0, cr: false }
                }
                (_, true) => return reject(400, "a CR without LF in a trailer"),
                (b'\r', false) => State::Trailer { len, cr: true },
                (b'\t', false) | (0x20..=0x7e, false) => {
                    self.trailer_bytes += 1;
                    if len + 1 > limits.max_header_line
                        || self.trailer_bytes > limits.max_header_bytes
                    {
                        return reject(431, "trailers too large");
                    }
                    State::Trailer {
                        len: len + 1,
                        cr: false,
                    }
                }
                _ => return reject(400, format!("byte {b:#04x} in a trailer")),
            },
            State::Data(_) | State::Done => self.state,
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(cap: u64, input: &[u8]) -> (Result<usize, Reject>, Vec<u8>, bool) {
        let mut d = Dechunker::new(cap);
        let mut out = Vec::new();
        let r = d.feed(input, &mut out, &ServerLimits::default());
        (r, out, d.is_done())
    }

    fn status(cap: u64, input: &[u8]) -> u16 {
        run(cap, input).0.unwrap_err().status
    }

    #[test]
    fn rechunks_and_stops_at_the_end() {
        let (r, out, done) = run(
            100,
            b"3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nGET /",
        );
        assert!(done);
        assert_eq!(r.unwrap(), 42);
        assert_eq!(out, b"3\r\nabc\r\na\r\n0123456789\r\n0\r\n\r\n");
    }

    #[test]
    fn byte_at_a_time_gives_the_same_data() {
        let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        let mut d = Dechunker::new(100);
        let mut out = Vec::new();
        for b in body {
            assert_eq!(
                d.feed(&[*b], &mut out, &ServerLimits::default()).unwrap(),
                1
            );
        }
        assert!(d.is_done());
        let text = String::from_utf8(out).unwrap();
        let data: String = text
            .split("\r\n")
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, s)| s)
            .collect();
        assert_eq!(data, "hello world");
    }

    #[test]
    fn a_split_chunk_is_forwarded_as_complete_chunks() {
        let mut d = Dechunker::new(100);
        let mut out = Vec::new();
        let limits = ServerLimits::default();
        d.feed(b"6\r\nab", &mut out, &limits).unwrap();
        assert_eq!(out, b"2\r\nab\r\n");
        out.clear();
        d.feed(b"cdef\r\n", &mut out, &limits).unwrap();
        assert_eq!(out, b"4\r\ncdef\r\n");
        assert!(!d.is_done());
    }

    #[test]
    fn bad_sizes_and_framing_are_400() {
        assert_eq!(status(100, b"x\r\n"), 400);
        assert_eq!(status(100, b"\r\n"), 400);
        assert_eq!(status(100, b"+5\r\n"), 400);
        assert_eq!(status(100, b" 5\r\n"), 400);
        assert_eq!(status(100, b"5\n"), 400);
        assert_eq!(status(100, b"5\rx"), 400);
        assert_eq!(status(100, b"2\r\nabc\r\n"), 400);
        assert_eq!(status(100, b"0\r\nX: \x00\r\n\r\n"), 400);
        assert_eq!(status(100, b"0x5\r\n"), 400);
    }

    #[test]
    fn chunks_that_take_the_body_over_the_cap_are_413_before_their_data() {
        assert_eq!(status(100, b"fffffffffffffffff\r\n"), 413);
        let (r, out, _) = run(4, b"ffffffffffffffff\r\nabcdefgh");
        assert_eq!(r.unwrap_err().status, 413);
        assert_eq!(out, b"");
        let (r, out, _) = run(4, b"3\r\nabc\r\n3\r\ndef\r\n");
        assert_eq!(r.unwrap_err().status, 413);
        assert_eq!(out, b"3\r\nabc\r\n");
        let (r, _, done) = run(6, b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n");
        assert!(r.is_ok() && done);
    }

    #[test]
    fn long_lines_and_trailers_are_refused() {
        let long = format!("1;{}\r\n", "e".repeat(5000));
        assert_eq!(status(100, long.as_bytes()), 400);
        let trailer = format!("0\r\nX: {}\r\n\r\n", "v".repeat(9000));
        assert_eq!(status(100, trailer.as_bytes()), 431);
    }
}
