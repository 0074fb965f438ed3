//! HTTP errors as values (Werkzeug's `exceptions.py`): a code, an optional
//! description and extra headers, turned into Werkzeug's own HTML page.

use super::{Headers, Response};

/// An HTTP error outcome such as 404 or 405. It is not a failure of the host:
/// it becomes a response, through the app's error handler when one is
/// registered for its code.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpError {
    /// The status code (4xx or 5xx).
    pub code: u16,
    /// Replaces Werkzeug's default description when set (`abort(404, "…")`).
    pub description: Option<String>,
    /// Headers the error answer must carry, such as `Allow` on a 405.
    pub headers: Headers,
}

impl HttpError {
    /// The error for `code` with Werkzeug's default description.
    pub fn new(code: u16) -> Self {
        HttpError {
            code,
            description: None,
            headers: Headers::new(),
        }
    }

    /// The error for `code` with a description of its own.
    pub fn with_description(code: u16, description: impl Into<String>) -> Self {
        HttpError {
            description: Some(description.into()),
            ..HttpError::new(code)
        }
    }

    /// 405 with the `Allow` header listing `allowed`.
    pub fn method_not_allowed(allowed: &[String]) -> Self {
        let mut e = HttpError::new(405);
        e.headers.set("Allow", allowed.join(", "));
        e
    }

    /// Whether Werkzeug has an exception class for `code` (what `abort` accepts).
    pub fn is_known(code: u16) -> bool {
        default_description(code).is_some()
    }

    /// The reason phrase, as Werkzeug names it (`Not Found`).
    pub fn name(&self) -> &'static str {
        status_reason(self.code)
    }

    /// The description shown on the page: the custom one, or Werkzeug's.
    pub fn description(&self) -> &str {
        match &self.description {
            Some(d) => d,
            None => default_description(self.code).unwrap_or(""),
        }
    }

    /// Werkzeug's HTML body for this error, byte for byte.
    pub fn body(&self) -> String {
        // Werkzeug escapes a custom description and turns newlines into <br>;
        // its built-in descriptions carry markup of their own (411) and are
        // used as they are.
        let description = match &self.description {
            Some(d) => crate::markup::escape(d).replace('\n', "<br>"),
            None => default_description(self.code).unwrap_or("").to_owned(),
        };
        let name = crate::markup::escape(self.name());
        format!(
            "<!doctype html>\n<html lang=en>\n<title>{} {name}</title>\n<h1>{name}</h1>\n<p>{description}</p>\n",
            self.code
        )
    }

    /// The response Werkzeug's `get_response` would build.
    pub fn to_response(&self) -> Response {
        let mut resp = Response::html(self.body()).with_status(self.code);
        for (k, v) in self.headers.iter() {
            resp.headers.set(k, v);
        }
        resp
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.code, self.name(), self.description())
    }
}

impl std::error::Error for HttpError {}

/// The reason phrase for a status code (Werkzeug's `HTTP_STATUS_CODES`).
pub fn status_reason(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        306 => "Switch Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Entity",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        449 => "Retry With",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Failed",
        _ => "Unknown Error",
    }
}

/// Werkzeug's default description for the codes it has exception classes for.
fn default_description(code: u16) -> Option<&'static str> {
    Some(match code {
        400 => "The browser (or proxy) sent a request that this server could not understand.",
        401 => "The server could not verify that you are authorized to access the URL requested. You either supplied the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the credentials required.",
        403 => "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.",
        404 => "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.",
        405 => "The method is not allowed for the requested URL.",
        406 => "The resource identified by the request is only capable of generating response entities which have content characteristics not acceptable according to the accept headers sent in the request.",
        408 => "The server closed the network connection because the browser didn't finish the request within the specified time.",
        409 => "A conflict happened while processing the request. The resource might have been modified while the request was being processed.",
        410 => "The requested URL is no longer available on this server and there is no forwarding address. If you followed a link from a foreign page, please contact the author of this page.",
        411 => "A request with this method requires a valid <code>Content-Length</code> header.",
        412 => "The precondition on the request for the URL failed positive evaluation.",
        413 => "The data value transmitted exceeds the capacity limit.",
        414 => "The length of the requested URL exceeds the capacity limit for this server. The request cannot be processed.",
        415 => "The server does not support the media type transmitted in the request.",
        416 => "The server cannot provide the requested range.",
        417 => "The server could not meet the requirements of the Expect header",
        418 => "This server is a teapot, not a coffee machine",
        421 => "The server is not able to produce a response.",
        422 => "The request was well-formed but was unable to be followed due to semantic errors.",
        423 => "The resource that is being accessed is locked.",
        424 => "The method could not be performed on the resource because the requested action depended on another action and that action failed.",
        428 => "This request is required to be conditional; try using \"If-Match\" or \"If-Unmodified-Since\".",
        429 => "This user has exceeded an allotted request count. Try again later.",
        431 => "One or more header fields exceeds the maximum size.",
        451 => "Unavailable for legal reasons.",
        500 => "The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.",
        501 => "The server does not support the action requested by the browser.",
        502 => "The proxy server received an invalid response from an upstream server.",
        503 => "The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.",
        504 => "The connection to an upstream server timed out.",
        505 => "The server does not support the HTTP protocol version used in the request.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_page_is_werkzeugs() {
        assert_eq!(
            HttpError::new(404).body(),
            "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n"
        );
    }

    #[test]
    fn custom_description_is_escaped() {
        let e = HttpError::with_description(400, "<x>\ny");
        assert!(e.body().contains("<p>&lt;x&gt;<br>y</p>"));
    }
}
