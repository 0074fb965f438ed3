//! The host's own response type: what handlers produce and servers write.

use std::io::Read;

use super::cookies::{delete_cookie_header, dump_cookie, CookieOptions};
use super::Headers;

/// A response body: bytes in memory, or a reader of known length (files).
pub enum Body {
    /// The whole body in memory.
    Bytes(Vec<u8>),
    /// A stream of exactly `len` bytes, such as a static file.
    Stream {
        /// Where the bytes come from.
        reader: Box<dyn Read + Send>,
        /// How many bytes the reader yields.
        len: u64,
    },
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Bytes(b) => write!(f, "Body::Bytes({} bytes)", b.len()),
            Body::Stream { len, .. } => write!(f, "Body::Stream({len} bytes)"),
        }
    }
}

impl Body {
    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::Stream { len, .. } => *len,
        }
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether a response with `status` carries no body (RFC 9110: 1xx, 204
/// and 304), whatever the method.
pub(crate) fn status_has_no_body(status: u16) -> bool {
    matches!(status, 100..=199 | 204 | 304)
}

/// An HTTP response: status, headers and body. Servers, the test client and
/// middleware all work on this type; nothing in it depends on a socket.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, in the order they are written.
    pub headers: Headers,
    /// The body.
    pub body: Body,
}

impl Response {
    /// A response with `status`, no headers and an empty body.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            headers: Headers::new(),
            body: Body::Bytes(Vec::new()),
        }
    }

    /// `body` with `content_type` and status 200.
    pub fn with_body(content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        let mut r = Response::new(200);
        r.headers.set("Content-Type", content_type);
        r.body = Body::Bytes(body.into());
        r
    }

    /// An HTML page (`text/html; charset=utf-8`), Flask's default for strings.
    pub fn html(body: impl Into<String>) -> Self {
        Self::with_body("text/html; charset=utf-8", body.into())
    }

    /// Plain text (`text/plain; charset=utf-8`).
    pub fn text(body: impl Into<String>) -> Self {
        Self::with_body("text/plain; charset=utf-8", body.into())
    }

    /// A JSON body written as Flask's default provider writes it.
    pub fn json(value: &serde_json::Value) -> Self {
        Self::json_text(crate::json::dumps(value))
    }

    /// A `200 application/json` response of JSON text already written as
    /// Flask writes it; the final newline Flask adds is appended.
    pub fn json_text(mut text: String) -> Self {
        text.push('\n');
        Self::with_body("application/json", text)
    }

    /// Werkzeug's `redirect(location, code)`: the `Location` header and the
    /// small HTML page that links to it.
    pub fn redirect(location: &str, code: u16) -> Self {
        let html = crate::markup::escape(location);
        let body = format!(
            "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href=\"{html}\">{html}</a>. If not, click the link.\n"
        );
        let mut r = Self::html(body).with_status(code);
        r.headers.set("Location", location);
        r
    }

    /// The same response with another status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The same response with a header set (replacing earlier values).
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.set(name, value);
        self
    }

    /// The mimetype: `Content-Type` without its parameters.
    pub fn mimetype(&self) -> Option<&str> {
        self.headers
            .get("Content-Type")
            .map(|ct| ct.split(';').next().unwrap_or("").trim())
    }

    /// The body bytes when in memory (`None` for a stream).
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.body {
            Body::Bytes(b) => Some(b),
            Body::Stream { .. } => None,
        }
    }

    /// Reads a streamed body into memory so it can be inspected or changed.
    pub fn buffer(&mut self) -> std::io::Result<&[u8]> {
        if let Body::Stream { reader, len } = &mut self.body {
            let mut buf = Vec::with_capacity(usize::try_from(*len).unwrap_or(0).min(1 << 20));
            reader.take(*len).read_to_end(&mut buf)?;
            self.body = Body::Bytes(buf);
        }
        match &self.body {
            Body::Bytes(b) => Ok(b),
            Body::Stream { .. } => unreachable!("buffered above"),
        }
    }

    /// Replaces the body with bytes.
    pub fn set_data(&mut self, data: impl Into<Vec<u8>>) {
        self.body = Body::Bytes(data.into());
    }

    /// Adds a `Set-Cookie` header, formatted as Werkzeug formats it.
    pub fn set_cookie(&mut self, name: &str, value: &str, opts: &CookieOptions) {
        self.headers
            .append("Set-Cookie", dump_cookie(name, value, opts));
    }

    /// Adds a `Set-Cookie` header that makes the browser drop `name`.
    pub fn delete_cookie(&mut self, name: &str, path: Option<&str>, domain: Option<&str>) {
        self.headers
            .append("Set-Cookie", delete_cookie_header(name, path, domain));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_body_is_werkzeugs() {
        let r = Response::redirect("/x?a=<b>&c", 302);
        assert_eq!(r.status, 302);
        assert_eq!(r.headers.get("Location"), Some("/x?a=<b>&c"));
        assert_eq!(
            std::str::from_utf8(r.bytes().unwrap()).unwrap(),
            "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n<p>You should be redirected automatically to the target URL: <a href=\"/x?a=&lt;b&gt;&amp;c\">/x?a=&lt;b&gt;&amp;c</a>. If not, click the link.\n"
        );
    }
}
