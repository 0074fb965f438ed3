//! Templates: a minijinja environment set up to render as Flask's Jinja2
//! environment does (Flask's `templating.py` and `app.create_jinja_environment`).
//!
//! What differs from a plain `minijinja::Environment`, and why:
//! - **Loader**: Jinja2's `FileSystemLoader` rules for template names (`..`
//!   refused, empty and `.` segments skipped), plus backslashes and NUL
//!   refused so no name reaches outside `templates/`.
//! - **Autoescape**: Flask's `select_jinja_autoescape` — `.html .htm .xml
//!   .xhtml .svg` and string templates.
//! - **Escaping and printing**: MarkupSafe's five characters, and values
//!   printed as Python's `str()` does (`None`, `['a']`, `1e+16`), through a
//!   custom formatter and `escape`/`e`/`forceescape` filters, so output is
//!   byte-identical to Flask's.
//! - **`tojson`**: Flask's HTML-safe JSON (sorted keys, `ensure_ascii`).
//! - **Fuel**: a runaway loop ends with an error instead of a hung worker.
//! - **Reload**: with `auto_reload`, a template file that changed on disk is
//!   recompiled on its next use, with at most one `stat` per template per
//!   render call; without it, compiled templates are never re-checked.

mod pystr;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use minijinja::functions::Function;
use minijinja::value::{FunctionArgs, FunctionResult, Kwargs};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, TemplateSource, Value};

/// The name string templates get in errors, as Jinja2 names them.
pub const STRING_TEMPLATE_NAME: &str = "<template>";

/// The fuel a render may burn by default: about ten million instructions,
/// far above any real page and reached in well under a second.
pub const DEFAULT_FUEL: u64 = 10_000_000;

/// The files under `templates/` loaded so far.
type Watched = Arc<Mutex<BTreeSet<PathBuf>>>;

/// The app's template environment. Built once per app; `Send + Sync`, so
/// every worker thread renders through the same compiled-template cache.
///
/// Register functions, filters and globals before the first render (they
/// take `&mut self`); rendering takes `&self`.
pub struct Templates {
    env: Environment<'static>,
    template_dir: Option<PathBuf>,
    auto_reload: bool,
    /// Bumped once per render call; each cached template re-checks its file
    /// at most once per value (see [`file_loader`]).
    generation: Arc<AtomicU64>,
    watched: Watched,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("template_dir", &self.template_dir)
            .field("auto_reload", &self.auto_reload)
            .field("fuel", &self.env.fuel())
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// An environment loading from `template_dir` (the app's `templates/`;
    /// `None` for an app without one: only string templates then render).
    /// With `auto_reload`, edited template files are picked up on the next
    /// render.
    pub fn new(template_dir: Option<PathBuf>, auto_reload: bool) -> Self {
        let generation = Arc::new(AtomicU64::new(0));
        let watched: Watched = Arc::default();
        let mut env = Environment::new();
        // Keep the source in errors so `describe_error` can show the line.
        env.set_debug(true);
        env.set_auto_reload(auto_reload);
        env.set_fuel(Some(DEFAULT_FUEL));
        env.set_auto_escape_callback(select_autoescape);
        env.set_formatter(format_value);
        env.add_filter("escape", escape_filter);
        env.add_filter("e", escape_filter);
        env.add_filter("forceescape", forceescape_filter);
        env.add_filter("tojson", tojson_filter);
        if let Some(dir) = &template_dir {
            env.set_loader(file_loader(
                dir.clone(),
                auto_reload,
                generation.clone(),
                watched.clone(),
            ));
        }
        Templates {
            env,
            template_dir,
            auto_reload,
            generation,
            watched,
        }
    }

    /// Registers a global function (`url_for`, `get_flashed_messages`).
    pub fn add_function<N, F, Rv, Args>(&mut self, name: N, f: F)
    where
        N: Into<Cow<'static, str>>,
        F: Function<Rv, Args>,
        Rv: FunctionResult,
        Args: for<'a> FunctionArgs<'a>,
    {
        self.env.add_function(name, f);
    }

    /// Registers a filter; one named like a built-in replaces it.
    pub fn add_filter<N, F, Rv, Args>(&mut self, name: N, f: F)
    where
        N: Into<Cow<'static, str>>,
        F: Function<Rv, Args>,
        Rv: FunctionResult,
        Args: for<'a> FunctionArgs<'a>,
    {
        self.env.add_filter(name, f);
    }

    /// Registers a global value (`config`).
    pub fn add_global<N, V>(&mut self, name: N, value: V)
    where
        N: Into<Cow<'static, str>>,
        V: Into<Value>,
    {
        self.env.add_global(name, value);
    }

    /// Sets the fuel each render may burn (`None`: unlimited). Running out
    /// ends the render with an `OutOfFuel` error.
    pub fn set_fuel(&mut self, fuel: Option<u64>) {
        self.env.set_fuel(fuel);
    }

    /// The fuel each render may burn.
    pub fn fuel(&self) -> Option<u64> {
        self.env.fuel()
    }

    /// The directory templates load from.
    pub fn template_dir(&self) -> Option<&Path> {
        self.template_dir.as_deref()
    }

    /// Renders the template file `name` (Flask's `render_template`).
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, Error> {
        self.next_generation();
        self.env.get_template(name)?.render(ctx)
    }

    /// Renders `source` as a template, autoescaped (Flask's
    /// `render_template_string`). It may extend or include template files.
    pub fn render_string(&self, source: &str, ctx: Value) -> Result<String, Error> {
        self.next_generation();
        self.env.render_named_str(STRING_TEMPLATE_NAME, source, ctx)
    }

    /// The template files loaded so far, for the reloader to watch.
    pub fn watched_files(&self) -> Vec<PathBuf> {
        let set = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        set.iter().cloned().collect()
    }

    fn next_generation(&self) {
        if self.auto_reload {
            self.generation.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Flask's `select_jinja_autoescape`: on for string templates and for names
/// ending in `.html .htm .xml .xhtml .svg` (case-sensitive, as in Flask).
fn select_autoescape(name: &str) -> AutoEscape {
    const EXTS: [&str; 5] = [".html", ".htm", ".xml", ".xhtml", ".svg"];
    if name == STRING_TEMPLATE_NAME || EXTS.iter().any(|ext| name.ends_with(ext)) {
        AutoEscape::Html
    } else {
        AutoEscape::None
    }
}

/// Prints `{{ value }}`: safe strings as they are, anything else as Python's
/// `str()`, escaped with MarkupSafe's rules when autoescaping.
fn format_value(
    out: &mut Output<'_>,
    state: &mut State<'_, '_>,
    value: &Value,
) -> Result<(), Error> {
    if value.is_safe() {
        return Ok(out.write_str(value.as_str().unwrap_or_default())?);
    }
    let text = pystr::py_str(value);
    match state.auto_escape() {
        AutoEscape::None => out.write_str(&text)?,
        AutoEscape::Html => crate::markup::escape_to(&text, out)?,
        other => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("no formatter for auto escape mode {other:?}"),
            ))
        }
    }
    Ok(())
}

/// `|escape` and `|e`: MarkupSafe's `escape(value)`; safe values pass through.
fn escape_filter(value: &Value) -> Value {
    if value.is_safe() {
        return value.clone();
    }
    Value::from_safe_string(crate::markup::escape(&pystr::py_str(value)))
}

/// `|forceescape`: escapes even values already marked safe.
fn forceescape_filter(value: &Value) -> Value {
    let text = match value.as_str() {
        Some(s) if value.is_safe() => Cow::Borrowed(s),
        _ => pystr::py_str(value),
    };
    Value::from_safe_string(crate::markup::escape(&text))
}

/// `|tojson` and `|tojson(indent=2)`: Flask's HTML-safe JSON, marked safe.
fn tojson_filter(value: &Value, indent: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let indent = match indent {
        Some(v) => Some(v),
        None => kwargs.get::<Option<Value>>("indent")?,
    };
    kwargs.assert_all_used()?;
    let indent = match indent {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => Some(usize::try_from(v)?),
    };
    pystr::tojson(value, indent).map(Value::from_safe_string)
}

/// Jinja2's `split_template_path`: `/`-separated, `..` refused, empty and `.`
/// segments skipped. Backslashes and NUL are refused too, so no name can
/// mean something else to the OS.
fn split_template_path(name: &str) -> Option<Vec<&str>> {
    let mut pieces = Vec::new();
    for piece in name.split('/') {
        if piece == ".." || piece.contains('\\') || piece.contains('\0') {
            return None;
        }
        if !piece.is_empty() && piece != "." {
            pieces.push(piece);
        }
    }
    Some(pieces)
}

/// What identifies a version of a file: its modification time and size.
fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The loader for `templates/`, Jinja2's `FileSystemLoader` twin. With
/// `auto_reload` every loaded template carries an up-to-date check that
/// stats its file at most once per render generation.
fn file_loader(
    dir: PathBuf,
    auto_reload: bool,
    generation: Arc<AtomicU64>,
    watched: Watched,
) -> impl Fn(&str) -> Result<Option<TemplateSource>, Error> + Send + Sync + 'static {
    move |name| {
        let Some(pieces) = split_template_path(name) else {
            return Ok(None);
        };
        let mut path = dir.clone();
        path.extend(pieces);
        // Stat before reading, so an edit racing the read is seen next time.
        let stamp = file_stamp(&path);
        if !path.is_file() {
            return Ok(None);
        }
        watched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.clone());
        let source = std::fs::read_to_string(&path).map_err(|err| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("could not read template {name:?}"),
            )
            .with_source(err)
        })?;
        let mut source = TemplateSource::new(source);
        if auto_reload {
            let generation = generation.clone();
            let checked = AtomicU64::new(generation.load(Ordering::Relaxed));
            source = source.with_uptodate_check(move || {
                let now = generation.load(Ordering::Relaxed);
                // Already checked (and found current) during this render.
                if checked.swap(now, Ordering::Relaxed) == now {
                    return true;
                }
                stamp.is_some() && file_stamp(&path) == stamp
            });
        }
        Ok(Some(source))
    }
}

/// A template error for the log and the debug page: the message with the
/// template name and line, an excerpt of the source with the failing line
/// marked and the failing expression underlined, then each cause.
///
/// ```text
/// undefined value: ... (in index.html:3)
/// ---------------------------------- index.html ----------------------------------
///    2 | <ul>
///    3 >   {{ foo.bar.baz }}
///      i      ^^^^^^^^^^^ undefined value
///    4 | </ul>
/// ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
/// ```
pub fn describe_error(err: &Error) -> String {
    let mut out = String::new();
    describe_one(err, &mut out);
    let mut cause = std::error::Error::source(err);
    while let Some(e) = cause {
        out.push_str("\ncaused by: ");
        match e.downcast_ref::<Error>() {
            Some(inner) => describe_one(inner, &mut out),
            None => {
                let _ = write!(out, "{e}");
            }
        }
        cause = e.source();
    }
    out
}

/// One error's line and excerpt, without its causes.
fn describe_one(err: &Error, out: &mut String) {
    let _ = write!(out, "{err}");
    let (Some(source), Some(line)) = (err.template_source(), err.line()) else {
        return;
    };
    const WIDTH: usize = 79;
    const CONTEXT: usize = 3;
    let title = format!(" {} ", err.name().unwrap_or(STRING_TEMPLATE_NAME));
    let _ = write!(out, "\n{title:-^WIDTH$}\n");
    // The underline: the error's byte range, when it starts on `line`.
    let marker = err.range().and_then(|r| {
        let start = r.start.min(source.len());
        let end = r.end.clamp(start, source.len());
        if !source.is_char_boundary(start) || !source.is_char_boundary(end) {
            return None;
        }
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_no = source[..start].matches('\n').count() + 1;
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        (line_no == line).then(|| {
            let prefix: String = source[line_start..start]
                .chars()
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let width = source[start..end.min(line_end)].chars().count().max(1);
            format!("     i {prefix}{} {}", "^".repeat(width), err.kind())
        })
    });
    let idx = line.saturating_sub(1);
    let first = idx.saturating_sub(CONTEXT);
    for (i, text) in source
        .lines()
        .enumerate()
        .skip(first)
        .take(idx - first + 1 + CONTEXT)
    {
        let sep = if i == idx { '>' } else { '|' };
        let _ = writeln!(out, "{:>4} {sep} {text}", i + 1);
        if i == idx {
            if let Some(m) = &marker {
                let _ = writeln!(out, "{m}");
            }
        }
    }
    out.push_str(&"~".repeat(WIDTH));
}

#[cfg(test)]
mod tests;
