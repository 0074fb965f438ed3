//! The host's own request type. Servers translate the wire into it; the test
//! client and embedding programs build it directly (`Request::new`).

use std::io::Read;
use std::sync::{Arc, Mutex};

use super::{Headers, HttpError};

/// A request as the app sees it, independent of any server.
///
/// `path` is percent-decoded (WSGI's `PATH_INFO`); `query_string` is kept raw.
/// Middleware may rewrite any field before the app runs (ProxyFix does).
#[derive(Debug)]
pub struct Request {
    /// Upper-case method (`GET`).
    pub method: String,
    /// Percent-decoded path below `script_root`, starting with `/`.
    pub path: String,
    /// The raw query string, without `?`.
    pub query_string: String,
    /// Request headers.
    pub headers: Headers,
    /// The client's address (an IP, without port), `""` when unknown.
    pub remote_addr: String,
    /// `http` or `https`.
    pub scheme: String,
    /// The prefix the app is mounted under (WSGI's `SCRIPT_NAME`), `""` at the root.
    pub script_root: String,
    /// `host[:port]` the server listens on, used when there is no `Host` header.
    pub server_name: String,
    /// The body, read lazily.
    pub body: RequestBody,
}

impl Request {
    /// A request for `target` (`/path?query`), with no headers and no body.
    ///
    /// The path is percent-decoded as a WSGI server does; invalid UTF-8
    /// becomes U+FFFD.
    pub fn new(method: &str, target: &str) -> Self {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, q),
            None => (target, ""),
        };
        let path = percent_encoding::percent_decode_str(path)
            .decode_utf8_lossy()
            .into_owned();
        Request {
            method: method.to_ascii_uppercase(),
            path: if path.starts_with('/') {
                path
            } else {
                format!("/{path}")
            },
            query_string: query.to_owned(),
            headers: Headers::new(),
            remote_addr: "127.0.0.1".to_owned(),
            scheme: "http".to_owned(),
            script_root: String::new(),
            server_name: "localhost".to_owned(),
            body: RequestBody::empty(),
        }
    }

    /// Adds a header (builder style).
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sets the body and its `Content-Length` (builder style).
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        let body = body.into();
        self.headers.set("Content-Length", body.len().to_string());
        self.body = RequestBody::from_bytes(body);
        self
    }

    /// The host the client asked for: the `Host` header, else `server_name`.
    pub fn host(&self) -> &str {
        self.headers.get("Host").unwrap_or(&self.server_name)
    }

    /// `Content-Type` as sent, `""` when absent.
    pub fn content_type(&self) -> &str {
        self.headers.get("Content-Type").unwrap_or("")
    }

    /// The mimetype: lower-cased `Content-Type` without parameters.
    pub fn mimetype(&self) -> String {
        self.content_type()
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }

    /// `Content-Length` when present and valid.
    pub fn content_length(&self) -> Option<u64> {
        self.headers
            .get("Content-Length")
            .and_then(|v| v.trim().parse().ok())
    }

    /// Whether the body is JSON (`application/json` or `application/*+json`),
    /// as Werkzeug's `is_json`.
    pub fn is_json(&self) -> bool {
        let mt = self.mimetype();
        mt == "application/json" || (mt.starts_with("application/") && mt.ends_with("+json"))
    }

    /// The path with its query string (`/p?q=1`, or `/p?` when there is none,
    /// as Werkzeug's `full_path`).
    pub fn full_path(&self) -> String {
        format!("{}{}?{}", self.script_root, self.path, self.query_string)
    }

    /// `scheme://host/script_root/` (Werkzeug's `url_root`).
    pub fn url_root(&self) -> String {
        format!("{}://{}{}/", self.scheme, self.host(), self.script_root)
    }

    /// The URL without the query string (Werkzeug's `base_url`), with the
    /// path percent-encoded back as Werkzeug does.
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme,
            self.host(),
            crate::urls::quote_path(&format!("{}{}", self.script_root, self.path))
        )
    }

    /// The full URL (Werkzeug's `url`).
    pub fn url(&self) -> String {
        if self.query_string.is_empty() {
            self.base_url()
        } else {
            format!("{}?{}", self.base_url(), self.query_string)
        }
    }
}

/// A request body that is read at most once, when first asked for, up to a
/// limit; later reads see the same bytes.
pub struct RequestBody {
    state: Mutex<BodyState>,
}

enum BodyState {
    Unread(Box<dyn Read + Send>),
    Read(Arc<Vec<u8>>),
    Taken,
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestBody")
    }
}

impl RequestBody {
    /// No body.
    pub fn empty() -> Self {
        Self::from_bytes(Vec::new())
    }

    /// A body already in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        RequestBody {
            state: Mutex::new(BodyState::Read(Arc::new(bytes))),
        }
    }

    /// A body to be read from `reader` when needed (the server's socket).
    pub fn from_reader(reader: Box<dyn Read + Send>) -> Self {
        RequestBody {
            state: Mutex::new(BodyState::Unread(reader)),
        }
    }

    /// The whole body. `expected` is the declared `Content-Length`: a body
    /// that ends before it is a 400 (Werkzeug's `ClientDisconnected`); `limit`
    /// caps what is read (413 beyond it).
    pub fn bytes(
        &self,
        expected: Option<u64>,
        limit: Option<u64>,
    ) -> Result<Arc<Vec<u8>>, HttpError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *state {
            BodyState::Read(b) if limit.is_some_and(|l| b.len() as u64 > l) => {
                Err(HttpError::new(413))
            }
            BodyState::Read(b) => Ok(b.clone()),
            BodyState::Taken => Err(HttpError::with_description(
                400,
                "The request body was already consumed as a stream.",
            )),
            BodyState::Unread(reader) => {
                let cap = match (expected, limit) {
                    (Some(e), Some(l)) if e > l => return Err(HttpError::new(413)),
                    (Some(e), _) => e,
                    (None, Some(l)) => l + 1,
                    (None, None) => u64::MAX,
                };
                let mut buf = Vec::with_capacity(usize::try_from(cap).unwrap_or(0).min(1 << 16));
                let res = reader.take(cap).read_to_end(&mut buf);
                if res.is_err() || expected.is_some_and(|e| (buf.len() as u64) < e) {
                    *state = BodyState::Taken;
                    return Err(HttpError::new(400));
                }
                if limit.is_some_and(|l| buf.len() as u64 > l) {
                    *state = BodyState::Taken;
                    return Err(HttpError::new(413));
                }
                let bytes = Arc::new(buf);
                *state = BodyState::Read(bytes.clone());
                Ok(bytes)
            }
        }
    }

    /// Takes the unread stream for a streaming parser (multipart); `None` when
    /// the body was read already, in which case use [`RequestBody::bytes`].
    pub fn take_reader(&self) -> Option<Box<dyn Read + Send>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match std::mem::replace(&mut *state, BodyState::Taken) {
            BodyState::Unread(r) => Some(r),
            other => {
                *state = other;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_is_split_and_decoded() {
        let r = Request::new("get", "/a%20b/%E2%82%AC?x=%20");
        assert_eq!(r.method, "GET");
        assert_eq!(r.path, "/a b/€");
        assert_eq!(r.query_string, "x=%20");
        assert_eq!(r.full_path(), "/a b/€?x=%20");
        assert_eq!(r.url(), "http://localhost/a%20b/%E2%82%AC?x=%20");
    }

    #[test]
    fn short_body_is_400_and_long_is_413() {
        let b = RequestBody::from_reader(Box::new(&b"abc"[..]));
        assert_eq!(b.bytes(Some(5), None).unwrap_err().code, 400);
        let b = RequestBody::from_reader(Box::new(&b"abcdef"[..]));
        assert_eq!(b.bytes(None, Some(3)).unwrap_err().code, 413);
        let b = RequestBody::from_reader(Box::new(&b"abc"[..]));
        assert_eq!(&**b.bytes(Some(3), Some(3)).unwrap(), b"abc");
        assert_eq!(&**b.bytes(Some(3), Some(3)).unwrap(), b"abc");
    }
}
