//! Form bodies: `application/x-www-form-urlencoded` (and, later, multipart).

use super::MultiDict;

/// Parses a query string or urlencoded body as Werkzeug does: `&`-separated,
/// `+` is a space, percent-escapes decoded, invalid UTF-8 replaced, blank
/// values kept.
pub fn parse_urlencoded(data: &[u8]) -> MultiDict {
    form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
