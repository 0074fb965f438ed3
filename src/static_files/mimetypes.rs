//! Python's `mimetypes.guess_type`, which Werkzeug's `send_file` uses: the
//! suffix and encoding maps as Python has them, then the type table.
//!
//! Python reads the system's `/etc/mime.types` on top of its own table, so
//! Flask's answer depends on the machine. The overrides below are what Flask
//! sends on a Debian-style system for the web formats where `mime_guess`
//! disagrees; everything else comes from `mime_guess`.

/// Python's `suffix_map`: shorthands expanded before the encoding is split off.
const SUFFIX_MAP: [(&str, &str); 6] = [
    (".svgz", ".svg.gz"),
    (".tgz", ".tar.gz"),
    (".taz", ".tar.gz"),
    (".tz", ".tar.gz"),
    (".tbz2", ".tar.bz2"),
    (".txz", ".tar.xz"),
];

/// Python's `encodings_map` (matched case-sensitively, as Python does).
const ENCODINGS_MAP: [(&str, &str); 5] = [
    (".gz", "gzip"),
    (".Z", "compress"),
    (".bz2", "bzip2"),
    (".xz", "xz"),
    (".br", "br"),
];

/// Where Python's answer differs from `mime_guess`'s (extension lower-cased,
/// without the dot).
const OVERRIDES: [(&str, &str); 20] = [
    ("mjs", "text/javascript"),
    ("js", "text/javascript"),
    ("xml", "application/xml"),
    ("ico", "image/vnd.microsoft.icon"),
    ("woff", "font/woff"),
    ("otf", "font/otf"),
    ("wav", "audio/x-wav"),
    ("rss", "application/x-rss+xml"),
    ("py", "text/x-python"),
    ("sh", "text/x-sh"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("m4a", "audio/mp4"),
    ("m4v", "video/mp4"),
    ("rar", "application/vnd.rar"),
    ("vcf", "text/vcard"),
    ("manifest", "text/cache-manifest"),
    ("xhtml", "application/xhtml+xml"),
    ("tar", "application/x-tar"),
];

/// Python's `posixpath.splitext`: the extension starts at the last dot of
/// the last segment, unless that segment is only leading dots before it.
fn splitext(p: &str) -> (&str, &str) {
    let sep = p.rfind('/').map_or(0, |i| i + 1);
    if let Some(dot) = p.rfind('.') {
        if dot > sep && p[sep..dot].bytes().any(|b| b != b'.') {
            return (&p[..dot], &p[dot..]);
        }
    }
    (p, "")
}

/// `mimetypes.guess_type(name)`: the type and the content encoding
/// (`x.css.gz` is `text/css` encoded with `gzip`).
pub(crate) fn guess_type(name: &str) -> (Option<String>, Option<&'static str>) {
    let mut owned = name.to_owned();
    let (mut base, mut ext) = {
        let (b, e) = splitext(&owned);
        (b.to_owned(), e.to_owned())
    };
    // Each expansion replaces a suffix by a longer one that is not itself
    // in the map, so this ends; the bound is belt and braces.
    for _ in 0..SUFFIX_MAP.len() {
        let lower = ext.to_lowercase();
        let Some((_, long)) = SUFFIX_MAP.iter().find(|(s, _)| *s == lower) else {
            break;
        };
        owned = format!("{base}{long}");
        let (b, e) = splitext(&owned);
        (base, ext) = (b.to_owned(), e.to_owned());
    }
    let encoding = ENCODINGS_MAP
        .iter()
        .find(|(s, _)| *s == ext)
        .map(|(_, enc)| *enc);
    if encoding.is_some() {
        let (_, e) = splitext(&base);
        ext = e.to_owned();
    }
    let ext = ext.to_lowercase();
    let Some(bare) = ext.strip_prefix('.') else {
        return (None, encoding);
    };
    if let Some((_, t)) = OVERRIDES.iter().find(|(e, _)| *e == bare) {
        return (Some((*t).to_owned()), encoding);
    }
    let guess = mime_guess::from_ext(bare).first_raw().map(str::to_owned);
    (guess, encoding)
}

/// Werkzeug's `get_content_type`: text types get `; charset=utf-8`.
pub(crate) fn content_type(mimetype: &str) -> String {
    const CHARSET_TYPES: [&str; 6] = [
        "application/ecmascript",
        "application/javascript",
        "application/sql",
        "application/xml",
        "application/xml-dtd",
        "application/xml-external-parsed-entity",
    ];
    if mimetype.starts_with("text/")
        || CHARSET_TYPES.contains(&mimetype)
        || mimetype.ends_with("+xml")
    {
        format!("{mimetype}; charset=utf-8")
    } else {
        mimetype.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitext_is_pythons() {
        assert_eq!(splitext("a.b.c"), ("a.b", ".c"));
        assert_eq!(splitext(".bashrc"), (".bashrc", ""));
        assert_eq!(splitext("..x"), ("..x", ""));
        assert_eq!(splitext("a/.b"), ("a/.b", ""));
        assert_eq!(splitext("a.d/b"), ("a.d/b", ""));
        assert_eq!(splitext("x."), ("x", "."));
    }

    #[test]
    fn guesses_like_python() {
        let g = |n: &str| {
            let (t, e) = guess_type(n);
            (t.unwrap_or_default(), e.unwrap_or_default())
        };
        assert_eq!(g("a.css"), ("text/css".into(), ""));
        assert_eq!(g("a.JS"), ("text/javascript".into(), ""));
        assert_eq!(g("a.css.gz"), ("text/css".into(), "gzip"));
        assert_eq!(g("a.tgz"), ("application/x-tar".into(), "gzip"));
        assert_eq!(g("a.svgz"), ("image/svg+xml".into(), "gzip"));
        assert_eq!(g("a.gz"), (String::new(), "gzip"));
        // The encoding map is case-sensitive in Python.
        assert_eq!(g("a.GZ"), ("application/gzip".into(), ""));
        assert_eq!(g("a.Z"), (String::new(), "compress"));
        assert_eq!(g("noext"), (String::new(), ""));
        assert_eq!(g("a.xml"), ("application/xml".into(), ""));
    }

    #[test]
    fn text_types_get_a_charset() {
        assert_eq!(content_type("text/css"), "text/css; charset=utf-8");
        assert_eq!(
            content_type("image/svg+xml"),
            "image/svg+xml; charset=utf-8"
        );
        assert_eq!(
            content_type("application/javascript"),
            "application/javascript; charset=utf-8"
        );
        assert_eq!(content_type("application/json"), "application/json");
        assert_eq!(content_type("image/png"), "image/png");
    }
}
