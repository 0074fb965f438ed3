//! Form bodies: `application/x-www-form-urlencoded` and `multipart/form-data`
//! (Werkzeug's `formparser`), with uploaded files as [`FileStorage`].

mod decoder;
mod file_storage;
mod multipart;
mod options;

use std::path::PathBuf;

pub use file_storage::FileStorage;
pub use multipart::{parse_multipart, ParsedForm};
pub use options::parse_options_header;

pub(crate) use options::is_py_space;

use super::MultiDict;

/// Parses a query string or urlencoded body as Werkzeug does: `&`-separated,
/// `+` is a space, percent-escapes decoded, invalid UTF-8 replaced, blank
/// values kept.
pub fn parse_urlencoded(data: &[u8]) -> MultiDict {
    form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Limits and options for parsing form bodies: Flask's `MAX_CONTENT_LENGTH`,
/// `MAX_FORM_MEMORY_SIZE` and `MAX_FORM_PARTS`, plus where uploads go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormLimits {
    /// The most bytes a body may have (`MAX_CONTENT_LENGTH`); `None` for no
    /// limit, Flask's default.
    pub max_content_length: Option<u64>,
    /// The most bytes one text field may have (`MAX_FORM_MEMORY_SIZE`,
    /// default 500 000). Werkzeug also applies it to what its parser
    /// buffers: each 64 KiB read, a preamble plus one part's headers, and
    /// the epilogue.
    pub max_form_memory_size: Option<u64>,
    /// The most parts, text and file, a multipart body may have
    /// (`MAX_FORM_PARTS`, default 1000).
    pub max_form_parts: Option<usize>,
    /// Files larger than this many bytes are spooled to a temporary file
    /// while they stream in (Werkzeug's 500 KiB `SpooledTemporaryFile`).
    pub spool_threshold: u64,
    /// Where spooled files go; `None` for the system's temporary directory.
    pub spool_dir: Option<PathBuf>,
    /// A malformed body gives empty dicts rather than a 400 (Werkzeug's
    /// `FormDataParser(silent=True)`, what Flask uses).
    pub silent: bool,
}

impl Default for FormLimits {
    /// Flask 3.1's defaults.
    fn default() -> Self {
        FormLimits {
            max_content_length: None,
            max_form_memory_size: Some(500_000),
            max_form_parts: Some(1000),
            spool_threshold: 500 * 1024,
            spool_dir: None,
            silent: true,
        }
    }
}
