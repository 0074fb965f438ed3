//! Werkzeug 3.1's `sansio/multipart.py` `MultipartDecoder`, ported rule for
//! rule: bytes go in with [`MultipartDecoder::receive_data`], events come out
//! of [`MultipartDecoder::next_event`]. Its regular expressions are spelled
//! out by hand; the comments give the originals.
//!
//! It is lenient where Werkzeug is: line breaks may be CRLF, LF or CR, the
//! first boundary needs no line break before it, whitespace may follow a
//! boundary, header lines may be continued, and an empty part may share its
//! header block's blank line with the next boundary (as Werkzeug's own
//! encoder writes it). Searches resume where the last one stopped and the
//! buffer holds at most one read plus an unfinished boundary or header block,
//! so decoding is linear in the body.
//!
//! Why not the `multer` crate (the obvious well-kept choice, tried first):
//! on the bodies Werkzeug's own test encoder writes for an empty field it
//! silently returns the next part's headers as the field's value; it accepts
//! CRLF line breaks only, caps a part at 32 headers and loses header case;
//! and fed from a blocking reader it rescans an unterminated preamble or
//! header block on every read, which is quadratic. A Flask-compatible host
//! has to parse what Flask parses, the same way, in linear time; so this is
//! Werkzeug's decoder, with Werkzeug-generated vectors as its tests
//! (`tests/vectors/multipart.json`).

use memchr::memmem;

use super::options::is_py_space;
use crate::http::Headers;

/// What the decoder found next.
#[derive(Debug, PartialEq)]
pub(crate) enum Event {
    /// Text before the first boundary (ignored).
    Preamble,
    /// A part without a `filename`: a text field.
    Field {
        name: Option<String>,
        headers: Headers,
    },
    /// A part with a `filename`, even an empty one: a file.
    File {
        name: Option<String>,
        filename: String,
        headers: Headers,
    },
    /// Bytes of the current part; `more_data` is false on its last piece.
    Data { data: Vec<u8>, more_data: bool },
    /// The closing boundary was seen and the body ended.
    Epilogue,
    /// Nothing more can be decoded until more bytes arrive.
    NeedData,
}

/// Why decoding stopped.
#[derive(Debug, PartialEq)]
pub(crate) enum DecodeError {
    /// Werkzeug's `RequestEntityTooLarge` (413).
    TooLarge,
    /// Werkzeug's `ValueError`: the body is not valid multipart.
    Invalid(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Preamble,
    Part,
    Data,
    DataStart,
    Epilogue,
    Complete,
}

/// Werkzeug's `SEARCH_EXTRA_LENGTH`: how far back a resumed search starts,
/// enough for line breaks and `--` around a boundary split across reads.
const SEARCH_EXTRA_LENGTH: usize = 8;

/// The multipart decoder for one body.
#[derive(Debug)]
pub(crate) struct MultipartDecoder {
    /// Received bytes; those before `start` are consumed. Compacting only
    /// when data arrives keeps consuming O(1).
    buffer: Vec<u8>,
    start: usize,
    complete: bool,
    max_form_memory_size: Option<u64>,
    max_parts: Option<usize>,
    state: State,
    /// `--` + boundary.
    dash_boundary: Vec<u8>,
    search_position: usize,
    parts_decoded: usize,
}

impl MultipartDecoder {
    /// A decoder for parts separated by `boundary`.
    pub(crate) fn new(
        boundary: &[u8],
        max_form_memory_size: Option<u64>,
        max_parts: Option<usize>,
    ) -> Self {
        let mut dash_boundary = b"--".to_vec();
        dash_boundary.extend_from_slice(boundary);
        MultipartDecoder {
            buffer: Vec::new(),
            start: 0,
            complete: false,
            max_form_memory_size,
            max_parts,
            state: State::Preamble,
            dash_boundary,
            search_position: 0,
            parts_decoded: 0,
        }
    }

    fn buf(&self) -> &[u8] {
        &self.buffer[self.start..]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
    }

    /// Adds bytes read from the body; `None` marks its end.
    pub(crate) fn receive_data(&mut self, data: Option<&[u8]>) -> Result<(), DecodeError> {
        let Some(data) = data else {
            self.complete = true;
            return Ok(());
        };
        // Werkzeug bounds what it buffers (one read plus whatever is still
        // undecoded) by max_form_memory_size, for files too.
        let buffered = (self.buf().len() + data.len()) as u64;
        if self.max_form_memory_size.is_some_and(|max| buffered > max) {
            return Err(DecodeError::TooLarge);
        }
        self.buffer.drain(..self.start);
        self.start = 0;
        self.buffer.extend_from_slice(data);
        Ok(())
    }

    /// The next event.
    pub(crate) fn next_event(&mut self) -> Result<Event, DecodeError> {
        let mut event = Event::NeedData;
        match self.state {
            State::Preamble => {
                // preamble_re: LB?--boundary(--[ \t]*LB?|[ \t]*LB)
                let found =
                    find_boundary(self.buf(), self.search_position, &self.dash_boundary, false);
                match found {
                    Some(m) => {
                        self.state = if m.is_final {
                            State::Epilogue
                        } else {
                            State::Part
                        };
                        self.consume(m.end);
                        event = Event::Preamble;
                        self.search_position = 0;
                    }
                    None => {
                        self.search_position = self
                            .buf()
                            .len()
                            .saturating_sub(self.dash_boundary.len() - 2 + SEARCH_EXTRA_LENGTH);
                    }
                }
            }
            State::Part => match find_blank_line(self.buf(), self.search_position) {
                Some((start, end)) => {
                    let headers = parse_headers(&self.buf()[..start])?;
                    // The last header line ends with one line break; the
                    // part's data starts with the second.
                    self.consume((start + end) / 2);
                    let disposition = headers
                        .get("content-disposition")
                        .ok_or(DecodeError::Invalid("missing Content-Disposition header"))?;
                    let (_, mut params) = super::parse_options_header(disposition);
                    let name = params.shift_remove("name");
                    event = match params.shift_remove("filename") {
                        Some(filename) => Event::File {
                            name,
                            filename,
                            headers,
                        },
                        None => Event::Field { name, headers },
                    };
                    self.state = State::DataStart;
                    self.search_position = 0;
                    self.parts_decoded += 1;
                    if self.max_parts.is_some_and(|max| self.parts_decoded > max) {
                        return Err(DecodeError::TooLarge);
                    }
                }
                None => {
                    self.search_position = self.buf().len().saturating_sub(SEARCH_EXTRA_LENGTH);
                }
            },
            State::DataStart => {
                let (data, consumed, more_data) = self.parse_data(true);
                self.consume(consumed);
                event = Event::Data { data, more_data };
                if more_data {
                    self.state = State::Data;
                }
            }
            State::Data => {
                let (data, consumed, more_data) = self.parse_data(false);
                self.consume(consumed);
                if !data.is_empty() || !more_data {
                    event = Event::Data { data, more_data };
                }
            }
            State::Epilogue if self.complete => {
                self.start = self.buffer.len();
                self.state = State::Complete;
                event = Event::Epilogue;
            }
            State::Epilogue | State::Complete => {}
        }
        if self.complete && event == Event::NeedData {
            return Err(DecodeError::Invalid("truncated multipart body"));
        }
        Ok(event)
    }

    /// Werkzeug's `_parse_data`: the part data available now, how many bytes
    /// it used up, and whether the part goes on.
    fn parse_data(&mut self, at_start: bool) -> (Vec<u8>, usize, bool) {
        let buf = self.buf();
        // Part data starts after the blank line's second line break.
        let data_start = if at_start { line_break_len(buf) } else { 0 };
        let (data_end, consumed, more_data) = if memmem::find(buf, &self.dash_boundary).is_none() {
            let end = last_partial_boundary_index(&buf[data_start..], self.dash_boundary.len())
                + data_start;
            (end, end, true)
        } else {
            // boundary_re: LB--boundary(--[ \t]*LB?|[ \t]*LB), searched from
            // the buffer's start (so an empty part's leading line break can
            // be the boundary's).
            match find_boundary(buf, 0, &self.dash_boundary, true) {
                Some(m) => {
                    self.state = if m.is_final {
                        State::Epilogue
                    } else {
                        State::Part
                    };
                    (m.start, m.end, false)
                }
                None => {
                    let end =
                        last_partial_boundary_index(&buf[data_start..], self.dash_boundary.len())
                            + data_start;
                    (end, end, true)
                }
            }
        };
        let buf = self.buf();
        let data = buf
            .get(data_start..data_end.max(data_start))
            .unwrap_or_default()
            .to_vec();
        (data, consumed, more_data)
    }
}

/// A boundary line found in the buffer.
#[derive(Debug, PartialEq)]
struct BoundaryMatch {
    start: usize,
    end: usize,
    /// `--boundary--`: the closing boundary.
    is_final: bool,
}

/// The leftmost `LB? --boundary (-- HWS* LB? | HWS* LB)` at or after
/// `from`, with the leading line break required when `need_line_break`.
fn find_boundary(
    buf: &[u8],
    from: usize,
    dash_boundary: &[u8],
    need_line_break: bool,
) -> Option<BoundaryMatch> {
    let mut at = from;
    while let Some(rel) = memmem::find(buf.get(at..)?, dash_boundary) {
        let i = at + rel;
        at = i + 1;
        let start = if i >= from + 2 && &buf[i - 2..i] == b"\r\n" {
            i - 2
        } else if i > from && matches!(buf[i - 1], b'\r' | b'\n') {
            i - 1
        } else if !need_line_break {
            i
        } else {
            continue;
        };
        let mut j = i + dash_boundary.len();
        if buf[j..].starts_with(b"--") {
            j += 2;
            j += horizontal_space_len(&buf[j..]);
            j += line_break_len(&buf[j..]);
            return Some(BoundaryMatch {
                start,
                end: j,
                is_final: true,
            });
        }
        j += horizontal_space_len(&buf[j..]);
        let lb = line_break_len(&buf[j..]);
        if lb > 0 {
            return Some(BoundaryMatch {
                start,
                end: j + lb,
                is_final: false,
            });
        }
    }
    None
}

/// The length of the line break `buf` starts with: `\r\n`, `\n` or `\r`
/// (Werkzeug's `LINE_BREAK`), else 0.
fn line_break_len(buf: &[u8]) -> usize {
    match buf {
        [b'\r', b'\n', ..] => 2,
        [b'\n' | b'\r', ..] => 1,
        _ => 0,
    }
}

/// `[^\S\n\r]*` in a bytes pattern: spaces, tabs, vertical tabs, form feeds.
fn horizontal_space_len(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | 0x0b | 0x0c))
        .count()
}

/// `BLANK_LINE_RE` (`\r\n\r\n|\r\r|\n\n`) searched from `from`: the blank
/// line ending a part's headers, as (start, end).
fn find_blank_line(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut at = from;
    while let Some(rel) = memchr::memchr2(b'\r', b'\n', buf.get(at..)?) {
        let i = at + rel;
        let rest = &buf[i..];
        if rest.starts_with(b"\r\n\r\n") {
            return Some((i, i + 4));
        }
        if rest.starts_with(b"\r\r") || rest.starts_with(b"\n\n") {
            return Some((i, i + 2));
        }
        at = i + 1;
    }
    None
}

/// Werkzeug's `_last_partial_boundary_index`: where a boundary split across
/// reads could begin (the last CR or LF within a boundary's length of the
/// end), else the end.
fn last_partial_boundary_index(data: &[u8], dash_boundary_len: usize) -> usize {
    let complete_boundary_index = data.len() as isize - (dash_boundary_len + 2) as isize;
    let last = |byte: u8| match memchr::memrchr(byte, data) {
        Some(i) if (i as isize) >= complete_boundary_index => i,
        _ => data.len(),
    };
    last(b'\n').min(last(b'\r'))
}

/// Werkzeug's `_parse_headers`: continuation lines joined, one header per
/// line, lines decoded strictly as UTF-8 and split at the first `:`.
fn parse_headers(raw: &[u8]) -> Result<Headers, DecodeError> {
    // HEADER_CONTINUATION_RE: LB[ \t] becomes one space.
    let mut merged = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let lb = line_break_len(&raw[i..]);
        let folded = |n: usize| matches!(raw.get(i + n), Some(b' ' | b'\t'));
        if lb == 2 && folded(2) {
            merged.push(b' ');
            i += 3;
        } else if lb > 0 && folded(1) {
            merged.push(b' ');
            i += 2;
        } else {
            merged.push(raw[i]);
            i += 1;
        }
    }
    let mut headers = Headers::new();
    for line in split_lines(&merged) {
        let line = py_bytes_strip(line);
        if line.is_empty() {
            continue;
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| DecodeError::Invalid("part header is not UTF-8"))?;
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        headers.append(
            name.trim_matches(is_py_space),
            value.trim_matches(is_py_space),
        );
    }
    Ok(headers)
}

/// `bytes.strip()`: ASCII whitespace, vertical tab included (Rust's
/// `trim_ascii` leaves that one).
fn py_bytes_strip(line: &[u8]) -> &[u8] {
    let space = |b: &&u8| b.is_ascii_whitespace() || **b == 0x0b;
    let lead = line.iter().take_while(space).count();
    let trail = line[lead..].iter().rev().take_while(space).count();
    &line[lead..line.len() - trail]
}

/// `bytes.splitlines()`: lines split at `\r\n`, `\n` or `\r`.
fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        match memchr::memchr2(b'\r', b'\n', rest) {
            Some(i) => {
                lines.push(&rest[..i]);
                rest = &rest[i + line_break_len(&rest[i..])..];
            }
            None => {
                lines.push(rest);
                break;
            }
        }
    }
    lines
}

#[cfg(test)]
#[path = "decoder_tests.rs"]
mod tests;
