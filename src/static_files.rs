//! Serving files: Flask's `static` endpoint, `send_file` and
//! `send_from_directory` (werkzeug/utils.py, werkzeug/security.py
//! `safe_join`, werkzeug/wrappers/response.py `make_conditional`).
//!
//! Responses carry the headers Flask 3.1 sends, in its order:
//! `Content-Encoding` (for `x.css.gz`), `Content-Disposition`,
//! `Content-Type`, `Content-Length`, `Last-Modified`, `Cache-Control`,
//! `Expires`, `ETag`, `Date`, `Accept-Ranges`, `Content-Range`. GET and HEAD
//! requests get 304, 412, 206 and 416 answers as Werkzeug gives them. Bodies
//! stream from the file; nothing is read into memory.
//!
//! Paths from a request go through [`safe_join`], which refuses everything
//! Werkzeug refuses on any OS, and also symlinks that lead outside the
//! directory, so no byte from outside it is ever sent.

mod conditional;
mod mimetypes;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::http::{Body, HttpError, Request, Response};

/// Windows device names, refused as a path segment's stem on every OS so an
/// app behaves the same wherever it runs (Werkzeug's `_windows_device_files`).
const WINDOWS_DEVICE_FILES: [&str; 30] = [
    "AUX", "CON", "CONIN$", "CONOUT$", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7",
    "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7",
    "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³", "NUL", "PRN",
];

/// Headers Werkzeug drops from a 304 (`remove_entity_headers`, keeping
/// `Expires` and `Content-Location`).
const ENTITY_HEADERS: [&str; 8] = [
    "Allow",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-MD5",
    "Content-Range",
    "Content-Type",
    "Last-Modified",
];

/// How [`send_file`] answers; the defaults are Flask's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFileOptions {
    /// The type to send; guessed from the download name when `None`.
    pub mimetype: Option<String>,
    /// `Content-Disposition: attachment` instead of `inline`.
    pub as_attachment: bool,
    /// The file name the browser sees; the file's own name when `None`.
    pub download_name: Option<String>,
    /// Answer conditional and range requests (304, 206, 416). Default `true`.
    pub conditional: bool,
    /// Send Werkzeug's `"{mtime}-{size}-{adler32(path)}"` ETag. Default `true`.
    pub etag: bool,
    /// `Cache-Control: public, max-age=N` (and `Expires`) when set;
    /// `None` is Flask's default `no-cache`.
    pub max_age: Option<u64>,
    /// Overrides the file's modification time for `Last-Modified`.
    pub last_modified: Option<SystemTime>,
}

impl Default for SendFileOptions {
    fn default() -> Self {
        SendFileOptions {
            mimetype: None,
            as_attachment: false,
            download_name: None,
            conditional: true,
            etag: true,
            max_age: None,
            last_modified: None,
        }
    }
}

/// Python's `posixpath.normpath` for a relative path: `.` and empty
/// segments dropped, `..` folded into its parent where there is one.
fn normpath(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            _ => parts.push(comp),
        }
    }
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// Werkzeug's lexical `safe_join` rules for one untrusted part: the
/// normalized relative path, or `None` when it is refused.
fn check_untrusted(untrusted: &str) -> Option<String> {
    // Werkzeug refuses backslashes only where they are a separator (Windows);
    // refusing them everywhere keeps a Linux-tested app safe on Windows.
    // NUL would make the OS call fail or truncate the name.
    if untrusted.contains(['\\', '\0']) || untrusted.starts_with('/') {
        return None;
    }
    let part = normpath(untrusted);
    if part == ".." || part.starts_with("../") {
        return None;
    }
    // `C:x` is relative on Windows yet names another drive.
    if cfg!(windows) && part.contains(':') {
        return None;
    }
    let is_device = |seg: &str| {
        let stem = seg.split('.').next().unwrap_or("").trim().to_uppercase();
        WINDOWS_DEVICE_FILES.contains(&stem.as_str())
    };
    if part.split('/').any(is_device) {
        return None;
    }
    Some(part)
}

/// The path below `directory` that `untrusted` (a URL path, already
/// percent-decoded) names, or `None` if it could name anything outside it.
///
/// Werkzeug's rules (absolute paths, `..` escaping after normalization,
/// backslashes, NUL and Windows device names are refused; empty and `.`
/// segments are dropped, so `""` gives the directory itself), then the file
/// must exist and resolve, through any symlinks, inside the directory's
/// canonical path.
pub fn safe_join(directory: &Path, untrusted: &str) -> Option<PathBuf> {
    resolve(directory, untrusted).map(|(joined, _)| joined)
}

/// [`safe_join`] returning the joined path and its canonical form.
fn resolve(directory: &Path, untrusted: &str) -> Option<(PathBuf, PathBuf)> {
    let directory = if directory.as_os_str().is_empty() {
        Path::new(".")
    } else {
        directory
    };
    let joined = if untrusted.is_empty() {
        directory.to_path_buf()
    } else {
        let part = check_untrusted(untrusted)?;
        directory.join(part)
    };
    let canonical_dir = directory.canonicalize().ok()?;
    let canonical = joined.canonicalize().ok()?;
    canonical
        .starts_with(&canonical_dir)
        .then_some((joined, canonical))
}

/// Werkzeug's `send_from_directory`: `path` (untrusted) is safe-joined to
/// `directory`; anything refused, missing or not a regular file is a 404.
pub fn send_from_directory(
    directory: &Path,
    path: &str,
    request: &Request,
    opts: &SendFileOptions,
) -> Result<Response, HttpError> {
    let part = check_untrusted(path).ok_or_else(|| HttpError::new(404))?;
    #[cfg(target_os = "linux")]
    if let Some(opened) = beneath::open(directory, &part) {
        let joined = directory.join(&part);
        let (file, meta) = opened.map_err(|e| io_error(&joined, &e))?;
        return send_open_file(file, &meta, &joined, request, opts);
    }
    let (joined, canonical) = resolve(directory, path).ok_or_else(|| HttpError::new(404))?;
    // Open the resolved path, so a symlink swapped in after the check
    // cannot redirect the read.
    let (file, meta) = open_regular(&canonical).map_err(|e| io_error(&joined, &e))?;
    send_open_file(file, &meta, &joined, request, opts)
}

/// Werkzeug's `send_file` for a trusted `path`: a missing file or a
/// directory is a 404. Never pass a path from a request here; use
/// [`send_from_directory`].
pub fn send_file(
    path: &Path,
    request: &Request,
    opts: &SendFileOptions,
) -> Result<Response, HttpError> {
    let (file, meta) = open_regular(path).map_err(|e| io_error(path, &e))?;
    send_open_file(file, &meta, path, request, opts)
}

/// Opens `path` for reading if it is a regular file; anything else
/// (directory, FIFO, device) is `NotFound`. Opened non-blocking so that a
/// FIFO cannot block the worker; reads from a regular file ignore the flag.
fn open_regular(path: &Path) -> std::io::Result<(File, std::fs::Metadata)> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    regular(options.open(path)?)
}

/// `file` with its metadata if it is a regular file, else `NotFound`.
fn regular(file: File) -> std::io::Result<(File, std::fs::Metadata)> {
    let meta = file.metadata()?;
    if meta.is_file() {
        Ok((file, meta))
    } else {
        Err(std::io::ErrorKind::NotFound.into())
    }
}

/// Opening a file below a directory in one system call: `openat2` with
/// `RESOLVE_BENEATH` makes the kernel refuse any path (through `..` or a
/// symlink) that leaves the directory. This replaces the two `realpath`
/// walks of [`resolve`] (one `readlink` per path component each) on the
/// static-file path; whatever the kernel refuses or cannot do (a symlink
/// that leaves and comes back in, an absolute symlink, a kernel before
/// 5.6) goes the canonical way, so the answer is the same either way.
#[cfg(target_os = "linux")]
mod beneath {
    use std::fs::File;
    use std::io;
    use std::path::Path;

    use rustix::fs::{openat2, Mode, OFlags, ResolveFlags};
    use rustix::io::Errno;

    /// `Some` with the open regular file below `directory` (or why it
    /// cannot be served: missing, not a regular file), `None` when the
    /// caller must decide the canonical way.
    pub(super) fn open(
        directory: &Path,
        part: &str,
    ) -> Option<io::Result<(File, std::fs::Metadata)>> {
        let directory = if directory.as_os_str().is_empty() {
            Path::new(".")
        } else {
            directory
        };
        let dir = match rustix::fs::open(
            directory,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(dir) => dir,
            Err(Errno::NOENT | Errno::NOTDIR) => return Some(Err(io::ErrorKind::NotFound.into())),
            Err(_) => return None,
        };
        let part = if part.is_empty() { "." } else { part };
        match openat2(
            &dir,
            part,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => Some(super::regular(File::from(fd))),
            Err(Errno::NOENT | Errno::NOTDIR | Errno::ISDIR) => {
                Some(Err(io::ErrorKind::NotFound.into()))
            }
            // EXDEV (would leave the directory), ELOOP, ENOSYS, EAGAIN
            // (a concurrent rename), permissions...: the canonical way
            // decides, and logs what it must.
            Err(_) => None,
        }
    }
}

/// Python's `st_mtime`: seconds as a float, computed as CPython does
/// (`sec + nsec * 1e-9`), so the ETag's text is Werkzeug's.
fn py_mtime(t: SystemTime) -> f64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as f64 + f64::from(d.subsec_nanos()) * 1e-9,
        Err(e) => -(e.duration().as_secs_f64()),
    }
}

/// Whole Unix seconds, rounded down as `gmtime` does.
fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() > 0 {
                -secs - 1
            } else {
                -secs
            }
        }
    }
}

/// An HTTP date for `t`, truncated to the second.
fn http_date(t: SystemTime) -> String {
    let secs = unix_secs(t);
    let t = if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    };
    httpdate::fmt_http_date(t)
}

/// Werkzeug's ETag value (unquoted): `{st_mtime}-{size}-{adler32(path)}`.
fn werkzeug_etag(path: &Path, mtime: SystemTime, size: u64) -> String {
    let bytes = path_bytes(path);
    let check = adler2::adler32_slice(&bytes);
    format!(
        "{}-{size}-{check}",
        crate::json::float_repr(py_mtime(mtime))
    )
}

/// The path as Python's `path.encode()` sees it.
fn path_bytes(path: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        path.to_string_lossy().into_owned().into_bytes()
    }
}

/// Werkzeug's `quote_header_value`: bare when every character is a token
/// character, else quoted with `\` and `"` escaped.
fn quote_header_value(value: &str) -> String {
    const TOKEN_EXTRA: &str = "!#$%&'*+-.^_`|~";
    if value.is_empty() {
        return "\"\"".to_owned();
    }
    if value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || TOKEN_EXTRA.contains(c))
    {
        return value.to_owned();
    }
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// RFC 5987 `attr-char`s that Python's `quote(safe="!#$&+-.^_`|~")` keeps.
const FILENAME_STAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `Content-Disposition` as Werkzeug writes it: a plain `filename` for ASCII
/// names; otherwise an ASCII fallback (NFKD with non-ASCII dropped) and a
/// UTF-8 `filename*`.
fn content_disposition(kind: &str, name: &str) -> String {
    if name.is_ascii() {
        return format!("{kind}; filename={}", quote_header_value(name));
    }
    let simple: String = icu_normalizer::DecomposingNormalizerBorrowed::new_nfkd()
        .normalize(name)
        .chars()
        .filter(char::is_ascii)
        .collect();
    let quoted = utf8_percent_encode(name, FILENAME_STAR);
    format!(
        "{kind}; filename={}; filename*=UTF-8''{quoted}",
        quote_header_value(&simple)
    )
}

/// Maps a failure to open or read a file to the HTTP answer: missing is a
/// 404; anything else (permissions, I/O) is logged and a 500.
fn io_error(path: &Path, err: &std::io::Error) -> HttpError {
    if err.kind() == std::io::ErrorKind::NotFound {
        return HttpError::new(404);
    }
    log::error!("Cannot send file {}: {err}", path.display());
    HttpError::new(500)
}

/// `send_file` of the open regular `file`, naming, typing and tagging it by
/// `path` (which differs from where it was opened only when
/// `send_from_directory` resolved symlinks).
fn send_open_file(
    file: File,
    meta: &std::fs::Metadata,
    path: &Path,
    request: &Request,
    opts: &SendFileOptions,
) -> Result<Response, HttpError> {
    let size = meta.len();
    let mtime = meta.modified().unwrap_or(UNIX_EPOCH);
    // Werkzeug tags and names the absolute path.
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());

    let mut resp = Response::new(200);
    let h = &mut resp.headers;
    let download_name = match &opts.download_name {
        Some(n) => n.clone(),
        None => path
            .components()
            .next_back()
            .and_then(|c| match c {
                Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
                _ => None,
            })
            .unwrap_or_default(),
    };
    let mimetype = match &opts.mimetype {
        Some(m) => m.clone(),
        None => {
            let (guess, encoding) = mimetypes::guess_type(&download_name);
            // An encoding on an attachment makes browsers save the
            // decompressed bytes under a `.gz` name.
            if let Some(enc) = encoding.filter(|_| !opts.as_attachment) {
                h.set("Content-Encoding", enc);
            }
            guess.unwrap_or_else(|| "application/octet-stream".to_owned())
        }
    };
    let kind = if opts.as_attachment {
        "attachment"
    } else {
        "inline"
    };
    h.set(
        "Content-Disposition",
        content_disposition(kind, &download_name),
    );
    h.set("Content-Type", mimetypes::content_type(&mimetype));
    h.set("Content-Length", size.to_string());
    let last_modified = opts.last_modified.unwrap_or(mtime);
    h.set("Last-Modified", http_date(last_modified));
    let now = SystemTime::now();
    match opts.max_age {
        None => h.set("Cache-Control", "no-cache"),
        Some(0) => h.set("Cache-Control", "no-cache, max-age=0"),
        Some(age) => h.set("Cache-Control", format!("public, max-age={age}")),
    }
    if let Some(age) = opts.max_age {
        h.set("Expires", http_date(now + Duration::from_secs(age)));
    }
    let etag = opts
        .etag
        .then(|| format!("\"{}\"", werkzeug_etag(&path, mtime, size)));
    if let Some(tag) = &etag {
        h.set("ETag", tag.clone());
    }

    let mut range = None;
    if opts.conditional && matches!(request.method.as_str(), "GET" | "HEAD") {
        h.set_default("Date", http_date(now));
        h.set("Accept-Ranges", "bytes");
        range = process_range_request(request, etag.as_deref(), unix_secs(last_modified), size)?;
        let modified = conditional::is_resource_modified(
            request,
            etag.as_deref(),
            Some(unix_secs(last_modified)),
            true,
        );
        if range.is_none() && !modified {
            if conditional::parse_etags(request.headers.get("If-Match")).is_present() {
                // Werkzeug sets only the status for a 412; the body stays.
                resp.status = 412;
            } else {
                resp.status = 304;
                for name in ENTITY_HEADERS {
                    resp.headers.remove(name);
                }
                return Ok(resp);
            }
        }
    }

    let mut file = file;
    resp.body = match range {
        Some((start, end)) => {
            file.seek(SeekFrom::Start(start))
                .map_err(|e| io_error(&path, &e))?;
            resp.status = 206;
            resp.headers
                .set("Content-Length", (end - start).to_string());
            resp.headers
                .set("Content-Range", format!("bytes {start}-{}/{size}", end - 1));
            Body::Stream {
                reader: Box::new(file.take(end - start)),
                len: end - start,
            }
        }
        None => Body::Stream {
            reader: Box::new(file.take(size)),
            len: size,
        },
    };
    Ok(resp)
}

/// Werkzeug's `_process_range_request`: the byte range to send for a
/// satisfiable `Range` (honouring `If-Range`), `None` to send everything, or
/// a 416 with `Content-Range: bytes */{size}`.
fn process_range_request(
    request: &Request,
    etag: Option<&str>,
    last_modified: i64,
    size: u64,
) -> Result<Option<(u64, u64)>, HttpError> {
    let h = &request.headers;
    let processable = h.contains("Range")
        && (!h.contains("If-Range")
            || !conditional::is_resource_modified(request, etag, Some(last_modified), false));
    // Werkzeug skips ranges on empty files rather than answering 416.
    if size == 0 || !processable {
        return Ok(None);
    }
    let range = conditional::parse_range_header(h.get("Range"))
        .and_then(|r| r.range_for_length(size))
        .ok_or_else(|| {
            let mut e = HttpError::new(416);
            e.headers.set("Content-Range", format!("bytes */{size}"));
            e
        })?;
    Ok(Some(range))
}

#[cfg(test)]
mod tests;
