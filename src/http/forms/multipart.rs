//! `multipart/form-data` bodies with Werkzeug 3.1's rules
//! (`formparser.MultiPartParser` over `sansio.multipart.MultipartDecoder`),
//! streamed from a blocking reader in 64 KiB reads.

use std::io::{self, Read};
use std::sync::Arc;

use super::decoder::{DecodeError, Event, MultipartDecoder};
use super::file_storage::{FileStorage, SpoolWriter};
use super::options::{decode_charset, is_safe_charset, parse_options_header};
use super::FormLimits;
use crate::http::{Headers, HttpError, MultiDict};

/// Werkzeug's `MultiPartParser.buffer_size`: how much is read at a time.
const CHUNK_SIZE: usize = 64 * 1024;

/// Parsed text fields and files.
pub type ParsedForm = (MultiDict<String>, MultiDict<Arc<FileStorage>>);

/// Parses a `multipart/form-data` body into its text fields and files, the
/// way Werkzeug 3.1's `FormDataParser` does for Flask's `request.form` and
/// `request.files`. The caller has checked the mimetype; `content_type` is
/// the whole header (the boundary comes from it) and `content_length` the
/// declared length, `None` for a body that runs to the end of the stream.
///
/// - A part with a `filename` parameter (even an empty one, as a form with no
///   file chosen sends) is a file, any other part a text field decoded as
///   UTF-8 (or the part's ASCII / ISO-8859-1 charset), invalid bytes
///   replaced. `filename*=` (RFC 2231) is honoured; filenames are not
///   sanitised. Parts without a `name` are dropped (Werkzeug files them
///   under the key `None`, which no string lookup finds).
/// - Files larger than `limits.spool_threshold` are written to a temporary
///   file as they stream in; it is deleted when the [`FileStorage`] drops.
///
/// Errors, and nothing parsed is returned with any of them:
/// - 413: `Content-Length`, or the bytes read without one, over
///   `max_content_length`; a text field over `max_form_memory_size`, or
///   what the parser must buffer (a 64 KiB read plus an unfinished
///   preamble, header block or epilogue) over it; more than
///   `max_form_parts` parts.
/// - 400: the body ended before `Content-Length`, or reading it failed
///   (Werkzeug's `ClientDisconnected`).
/// - A malformed body (no boundary, bad framing, truncated, a part without
///   `Content-Disposition`, non-UTF-8 part headers): empty dicts when
///   `limits.silent` (Werkzeug's and Flask's default), else 400.
/// - 500: a file could not be spooled (disk full); logged.
pub fn parse_multipart(
    content_type: &str,
    content_length: Option<u64>,
    body: Box<dyn Read + Send>,
    limits: &FormLimits,
) -> Result<ParsedForm, HttpError> {
    // Werkzeug's get_input_stream refuses an oversized declared length
    // before anything else.
    if let (Some(len), Some(max)) = (content_length, limits.max_content_length) {
        if len > max {
            return Err(HttpError::new(413));
        }
    }
    match parse(content_type, content_length, body, limits) {
        Ok(parsed) => Ok(parsed),
        Err(Failure::Http(e)) => Err(e),
        Err(Failure::Malformed(why)) => {
            log::debug!("invalid multipart/form-data body: {why}");
            if limits.silent {
                Ok((MultiDict::new(), MultiDict::new()))
            } else {
                Err(HttpError::new(400))
            }
        }
        Err(Failure::Io(e)) => {
            log::error!("could not store an uploaded file: {e}");
            Err(HttpError::new(500))
        }
    }
}

/// Why parsing stopped.
#[derive(Debug)]
enum Failure {
    /// Werkzeug's `ValueError`s, which its silent parser turns into empty
    /// dicts.
    Malformed(&'static str),
    /// Errors Werkzeug raises through (413, `ClientDisconnected`).
    Http(HttpError),
    /// Spooling a file failed.
    Io(io::Error),
}

impl From<DecodeError> for Failure {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::TooLarge => Failure::Http(HttpError::new(413)),
            DecodeError::Invalid(why) => Failure::Malformed(why),
        }
    }
}

/// The part being received.
enum Part {
    Field {
        name: Option<String>,
        headers: Headers,
        value: Vec<u8>,
    },
    File {
        name: Option<String>,
        filename: String,
        headers: Headers,
        writer: SpoolWriter,
    },
}

fn parse(
    content_type: &str,
    content_length: Option<u64>,
    body: Box<dyn Read + Send>,
    limits: &FormLimits,
) -> Result<ParsedForm, Failure> {
    let (_, options) = parse_options_header(content_type);
    let boundary = match options.get("boundary") {
        Some(b) if !b.is_empty() && b.is_ascii() => b.as_bytes(),
        _ => return Err(Failure::Malformed("missing boundary")),
    };
    let mut source = Source {
        reader: body,
        remaining: content_length,
        total: 0,
        max_content_length: limits.max_content_length,
    };
    let mut decoder =
        MultipartDecoder::new(boundary, limits.max_form_memory_size, limits.max_form_parts);
    let mut form = MultiDict::new();
    let mut files = MultiDict::new();
    let mut part: Option<Part> = None;
    loop {
        let chunk = source.next_chunk().map_err(Failure::Http)?;
        decoder.receive_data(chunk.as_deref())?;
        loop {
            match decoder.next_event()? {
                Event::NeedData | Event::Epilogue => break,
                Event::Preamble => {}
                Event::Field { name, headers } => {
                    part = Some(Part::Field {
                        name,
                        headers,
                        value: Vec::new(),
                    });
                }
                Event::File {
                    name,
                    filename,
                    headers,
                } => {
                    let writer = SpoolWriter::new(limits.spool_threshold, limits.spool_dir.clone());
                    part = Some(Part::File {
                        name,
                        filename,
                        headers,
                        writer,
                    });
                }
                Event::Data { data, more_data } => {
                    match &mut part {
                        Some(Part::Field { value, .. }) => {
                            let size = (value.len() + data.len()) as u64;
                            if limits.max_form_memory_size.is_some_and(|max| size > max) {
                                return Err(Failure::Http(HttpError::new(413)));
                            }
                            value.extend_from_slice(&data);
                        }
                        Some(Part::File { writer, .. }) => {
                            writer.write(&data).map_err(Failure::Io)?;
                        }
                        // The decoder emits data only after a part's headers.
                        None => return Err(Failure::Malformed("data outside a part")),
                    }
                    if !more_data {
                        match part.take() {
                            Some(Part::Field {
                                name: Some(name),
                                headers,
                                value,
                            }) => {
                                form.append(name, decode_charset(&value, &part_charset(&headers)));
                            }
                            Some(Part::File {
                                name: Some(name),
                                filename,
                                headers,
                                writer,
                            }) => {
                                let file = writer
                                    .finish(name.clone(), filename, headers)
                                    .map_err(Failure::Io)?;
                                files.append(name, Arc::new(file));
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        if chunk.is_none() {
            return Ok((form, files));
        }
    }
}

/// Werkzeug's `get_part_charset`: the part's declared charset when it is one
/// of the safe few, else UTF-8.
fn part_charset(headers: &Headers) -> String {
    headers
        .get("Content-Type")
        .and_then(|ct| parse_options_header(ct).1.get("charset").cloned())
        .map(|c| c.to_lowercase())
        .filter(|c| is_safe_charset(c))
        .unwrap_or_else(|| "utf-8".to_owned())
}

/// The request body with the rules of Werkzeug's `LimitedStream`.
struct Source {
    reader: Box<dyn Read + Send>,
    /// Declared bytes not read yet; `None` when the body runs to EOF.
    remaining: Option<u64>,
    total: u64,
    max_content_length: Option<u64>,
}

impl Source {
    /// The next read of up to 64 KiB, `None` at the end of the body.
    fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HttpError> {
        let want = match self.remaining {
            Some(0) => return Ok(None),
            Some(n) => usize::try_from(n).unwrap_or(CHUNK_SIZE).min(CHUNK_SIZE),
            None => {
                // LimitedStream(is_max=True) raises on any read once the
                // maximum is reached, even if the body ends right there.
                if self.max_content_length.is_some_and(|max| self.total >= max) {
                    return Err(HttpError::new(413));
                }
                CHUNK_SIZE
            }
        };
        let mut chunk = vec![0; want];
        let mut filled = 0;
        while filled < want {
            match self.reader.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Werkzeug's on_disconnect: any read error is the client's.
                Err(_) => return Err(HttpError::new(400)),
            }
        }
        chunk.truncate(filled);
        if let Some(remaining) = &mut self.remaining {
            if filled < want {
                // The client went away before sending Content-Length bytes.
                return Err(HttpError::new(400));
            }
            *remaining -= filled as u64;
        }
        if filled == 0 {
            return Ok(None);
        }
        self.total += filled as u64;
        if self.remaining.is_none() && self.max_content_length.is_some_and(|m| self.total > m) {
            return Err(HttpError::new(413));
        }
        Ok(Some(chunk))
    }
}

#[cfg(test)]
#[path = "multipart_tests.rs"]
mod tests;
