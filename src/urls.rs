//! URL quoting as Werkzeug 3.1 and Flask 3.1 do it.
//!
//! Python's `urllib.parse.quote(s, safe)` percent-encodes the UTF-8 bytes
//! of `s` except ASCII letters, digits, `_.-~` and the `safe` characters.
//! Werkzeug picks a `safe` set per URL component (following the WHATWG URL
//! standard's percent-encode sets); each set below names its Python origin.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

/// Python's always-safe characters: everything but letters, digits, `_.-~`.
const PY_QUOTE_BASE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~');

/// `quote(s, safe="!$&'()*+,/:;=@")`: Werkzeug's path-segment set, used for
/// static rule text, converter `to_url` and redirect paths.
const PATH_SAFE: &AsciiSet = &PY_QUOTE_BASE
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b'/')
    .remove(b':')
    .remove(b';')
    .remove(b'=')
    .remove(b'@');

/// `quote(anchor, safe="%!#$&'()*+,/:;=?@")`: Flask's `url_for(_anchor=…)`.
const FRAGMENT_SAFE: &AsciiSet = &PATH_SAFE.remove(b'%').remove(b'#').remove(b'?');

/// `quote_plus(s, safe="!$'()*,/:;?@")`: Werkzeug's `_urlencode` for query
/// keys and values (the space becomes `+` separately).
const QUERY_SAFE: &AsciiSet = &PY_QUOTE_BASE
    .remove(b'!')
    .remove(b'$')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b',')
    .remove(b'/')
    .remove(b':')
    .remove(b';')
    .remove(b'?')
    .remove(b'@');

/// Percent-encodes a path for a URL, keeping `/` and the characters Werkzeug
/// keeps in path segments (`quote(path, safe="!$&'()*+,/:;=@")`).
pub fn quote_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    quote_path_into(path, &mut out);
    out
}

/// [`quote_path`] appending to `out`, for builders that assemble a URL.
pub fn quote_path_into(path: &str, out: &mut String) {
    out.extend(percent_encoding::utf8_percent_encode(path, PATH_SAFE));
}

/// Quotes the text of a URL fragment as Flask's `url_for(_anchor=...)`
/// does: `x y#é` becomes `x%20y#%C3%A9`; `%`, `#` and `?` are kept. The
/// caller adds the leading `#`.
pub fn quote_fragment(fragment: &str) -> String {
    percent_encoding::utf8_percent_encode(fragment, FRAGMENT_SAFE).to_string()
}

/// Python's `quote_plus(s, safe="!$'()*,/:;?@")`, appending to `out`.
fn quote_plus_into(s: &str, out: &mut String) {
    // Spaces are the one byte quote_plus maps specially; splitting on them
    // keeps the percent-encoder's fast path for the rest.
    for (i, piece) in s.split(' ').enumerate() {
        if i > 0 {
            out.push('+');
        }
        out.extend(percent_encoding::utf8_percent_encode(piece, QUERY_SAFE));
    }
}

/// Encodes query pairs as Werkzeug 3.1's `_urlencode` does (`urlencode`
/// with `quote_plus` and `safe="!$'()*,/:;?@"`): `next=/` stays `next=/`,
/// `John Doe` becomes `John+Doe`, `&`, `=`, `+`, `#` and `%` are escaped.
/// Pairs are written in the given order; no leading `?`.
pub fn url_encode_query(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        push_query_pair(&mut out, k, v);
    }
    out
}

/// Appends `key=value` (with a `&` first unless `out` is empty), quoted as
/// [`url_encode_query`] does.
pub fn push_query_pair(out: &mut String, key: &str, value: &str) {
    if !out.is_empty() {
        out.push('&');
    }
    quote_plus_into(key, out);
    out.push('=');
    quote_plus_into(value, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected strings come from Python 3.11:
    // quote(s, safe="!$&'()*+,/:;=@"), quote_plus(s, safe="!$'()*,/:;?@"),
    // quote(s, safe="%!#$&'()*+,/:;=?@").
    const ALL: &str = " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~é\u{1F600}";

    #[test]
    fn path_quoting_matches_python() {
        assert_eq!(
            quote_path(ALL),
            "%20!%22%23$%25&'()*+,-./:;%3C=%3E%3F@%5B%5C%5D%5E_%60%7B%7C%7D~%C3%A9%F0%9F%98%80"
        );
        assert_eq!(quote_path("/user/a b"), "/user/a%20b");
    }

    #[test]
    fn query_quoting_matches_python() {
        let pairs = vec![("k".to_owned(), ALL.to_owned())];
        assert_eq!(
            url_encode_query(&pairs),
            "k=+!%22%23$%25%26'()*%2B,-./:;%3C%3D%3E?@%5B%5C%5D%5E_%60%7B%7C%7D~%C3%A9%F0%9F%98%80"
        );
        let pairs = vec![
            ("next".to_owned(), "/".to_owned()),
            ("name".to_owned(), "John Doe".to_owned()),
            ("a b".to_owned(), "".to_owned()),
        ];
        assert_eq!(url_encode_query(&pairs), "next=/&name=John+Doe&a+b=");
        assert_eq!(url_encode_query(&[]), "");
    }

    #[test]
    fn fragment_quoting_matches_flask() {
        assert_eq!(quote_fragment("#x y#é"), "#x%20y#%C3%A9");
        assert_eq!(
            quote_fragment(ALL),
            "%20!%22#$%&'()*+,-./:;%3C=%3E?@%5B%5C%5D%5E_%60%7B%7C%7D~%C3%A9%F0%9F%98%80"
        );
    }
}
