//! The debug-mode error page: the error, its place, a source excerpt and
//! the call stack, every interpolated value escaped. It shows; it never
//! runs code (no console, no PIN), and the app serves it only to clients on
//! the loopback interface.

use crate::error::{ScriptError, ScriptErrorKind};
use crate::markup::escape;

/// Lines of context each side of the failing line (Werkzeug shows five).
const CONTEXT: usize = 3;

/// Whether `remote_addr` is this machine (127.0.0.0/8 or ::1).
pub fn is_loopback(remote_addr: &str) -> bool {
    remote_addr
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// What the page says about the request that failed.
#[derive(Debug, Clone, Default)]
pub struct RequestSummary {
    /// `GET`.
    pub method: String,
    /// `/path?query`.
    pub path: String,
    /// The matched endpoint, if any.
    pub endpoint: Option<String>,
}

const STYLE: &str =
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}\
h1{color:#b00;font-size:1.4em}pre{background:#f6f6f6;padding:.8em;overflow:auto}\
.current{background:#fdd;display:block}.place{font-family:monospace}\
.footer{color:#777;font-size:.85em;margin-top:3em}";

fn kind_label(kind: ScriptErrorKind) -> &'static str {
    match kind {
        ScriptErrorKind::Syntax => "Syntax error",
        ScriptErrorKind::Limit => "Limit exceeded",
        _ => "Runtime error",
    }
}

/// The HTML page for a script error. `source_of` gives a file's text.
pub fn render_html(
    error: &ScriptError,
    source_of: &dyn Fn(&str) -> Option<String>,
    request: Option<&RequestSummary>,
) -> String {
    let title = format!("{}: {}", kind_label(error.kind), first_line(&error.message));
    let mut out = String::with_capacity(4096);
    out.push_str("<!doctype html>\n<html lang=en>\n<head><meta charset=utf-8><title>");
    out.push_str(&escape(&title));
    out.push_str(" // flaskrs debugger</title><style>");
    out.push_str(STYLE);
    out.push_str("</style></head>\n<body>\n<h1>");
    out.push_str(&escape(kind_label(error.kind)));
    out.push_str("</h1>\n<pre class=errormsg>");
    out.push_str(&escape(&error.message));
    out.push_str("</pre>\n");
    if let Some(loc) = &error.location {
        out.push_str("<p class=place>");
        out.push_str(&escape(&loc.to_string()));
        out.push_str("</p>\n");
        if let Some(src) = source_of(&loc.file) {
            out.push_str(&source_block(&src, loc.line, loc.column));
        }
    }
    if !error.frames.is_empty() {
        out.push_str("<h2>Call stack (most recent call last)</h2>\n<ol class=stack>\n");
        for f in &error.frames {
            out.push_str("<li><code>");
            out.push_str(&escape(&f.function));
            out.push_str("</code>");
            if let Some(l) = &f.location {
                out.push_str(" called at <span class=place>");
                out.push_str(&escape(&l.to_string()));
                out.push_str("</span>");
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ol>\n");
    }
    if let Some(r) = request {
        out.push_str("<h2>Request</h2>\n<p class=place>");
        out.push_str(&escape(&r.method));
        out.push(' ');
        out.push_str(&escape(&r.path));
        if let Some(e) = &r.endpoint {
            out.push_str(" (endpoint ");
            out.push_str(&escape(e));
            out.push(')');
        }
        out.push_str("</p>\n");
    }
    out.push_str("<p class=footer>This page is shown because the app runs in debug mode and the request came from this machine. It only shows: it never runs code. Other clients get the plain 500 page.</p>\n</body>\n</html>\n");
    out
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// The lines around `line`, the failing one marked, with a caret under
/// `column`.
fn source_block(src: &str, line: usize, column: usize) -> String {
    let lines: Vec<&str> = src.lines().collect();
    if line == 0 || line > lines.len() {
        return String::new();
    }
    let first = line.saturating_sub(CONTEXT).max(1);
    let last = (line + CONTEXT).min(lines.len());
    let width = last.to_string().len();
    let mut out = String::from("<pre class=source>");
    for n in first..=last {
        let text = format!("{n:>width$} | {}", lines[n - 1]);
        if n == line {
            out.push_str("<span class=current>");
            out.push_str(&escape(&text));
            if column > 0 {
                out.push('\n');
                out.push_str(&" ".repeat(width + 3 + column - 1));
                out.push('^');
            }
            out.push_str("</span>");
        } else {
            out.push_str(&escape(&text));
            out.push('\n');
        }
    }
    out.push_str("</pre>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SourceLocation;

    #[test]
    fn everything_interpolated_is_escaped() {
        let e = ScriptError {
            kind: ScriptErrorKind::Runtime,
            message: "<script>alert(1)</script>".to_owned(),
            location: Some(SourceLocation {
                file: "a<b>.rhai".to_owned(),
                line: 2,
                column: 3,
            }),
            frames: vec![],
        };
        let src = "let a = 1;\nlet b = \"<img src=x>\";\n";
        let html = render_html(&e, &|_| Some(src.to_owned()), None);
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("a&lt;b&gt;.rhai:2:3"));
        assert!(html.contains("<span class=current>2 | let b = &#34;&lt;img src=x&gt;&#34;;"));
    }

    #[test]
    fn loopback_addresses() {
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("127.5.0.9"));
        assert!(is_loopback("::1"));
        assert!(!is_loopback("10.0.0.1"));
        assert!(!is_loopback("localhost.evil"));
        assert!(!is_loopback(""));
    }
}
