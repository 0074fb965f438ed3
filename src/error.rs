//! The one public error type, and script errors with their place in the
//! source (file, line, column, call stack) turned into Flask-style text.

use std::fmt;
use std::path::PathBuf;

use rhai::{EvalAltResult, Position};

/// A place in a script, 1-based; `column` 0 means unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The script file (as given on the command line, or a module path).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
}

impl SourceLocation {
    pub(crate) fn from_pos(file: &str, pos: Position) -> Option<Self> {
        pos.line().map(|line| SourceLocation {
            file: file.to_owned(),
            line,
            column: pos.position().unwrap_or(0),
        })
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// What kind of failure a [`ScriptError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScriptErrorKind {
    /// The script does not parse.
    Syntax,
    /// The script raised an error while running.
    Runtime,
    /// The script broke a resource limit (operations, time, depth, size).
    Limit,
}

/// One call in a script's call stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The function called.
    pub function: String,
    /// Where it was called from.
    pub location: Option<SourceLocation>,
}

/// A script failure with its place: message, file:line:col and call stack.
#[derive(Debug, Clone)]
pub struct ScriptError {
    /// Syntax, runtime or limit.
    pub kind: ScriptErrorKind,
    /// Rhai's message for the innermost error, without its position.
    pub message: String,
    /// Where the innermost error happened.
    pub location: Option<SourceLocation>,
    /// Calls from the outermost to the innermost.
    pub frames: Vec<Frame>,
}

impl ScriptError {
    /// Builds the error from Rhai's, walking nested function-call errors
    /// outermost first. `file` names the script the evaluation started in;
    /// Rhai's parse errors carry no file, so the host supplies it.
    pub fn from_eval(err: &EvalAltResult, file: &str) -> Self {
        let mut frames = Vec::new();
        let mut current_file = file.to_owned();
        let mut e = err;
        loop {
            match e {
                EvalAltResult::ErrorInFunctionCall(name, src, inner, pos) => {
                    frames.push(Frame {
                        function: name.clone(),
                        location: SourceLocation::from_pos(&current_file, *pos),
                    });
                    if !src.is_empty() {
                        current_file = src.clone();
                    }
                    e = inner;
                }
                EvalAltResult::ErrorInModule(name, inner, pos) => {
                    frames.push(Frame {
                        function: format!("import \"{name}\""),
                        location: SourceLocation::from_pos(&current_file, *pos),
                    });
                    current_file = name.clone();
                    e = inner;
                }
                _ => break,
            }
        }
        let kind = match e {
            EvalAltResult::ErrorParsing(..) => ScriptErrorKind::Syntax,
            EvalAltResult::ErrorTooManyOperations(_)
            | EvalAltResult::ErrorTerminated(..)
            | EvalAltResult::ErrorStackOverflow(_)
            | EvalAltResult::ErrorDataTooLarge(..)
            | EvalAltResult::ErrorTooManyModules(_)
            | EvalAltResult::ErrorTooManyVariables(_) => ScriptErrorKind::Limit,
            _ => ScriptErrorKind::Runtime,
        };
        ScriptError {
            kind,
            message: strip_position(&e.to_string()),
            location: SourceLocation::from_pos(&current_file, e.position()),
            frames,
        }
    }

    /// From a parse error of the file `file`.
    pub fn from_parse(err: &rhai::ParseError, file: &str) -> Self {
        ScriptError {
            kind: ScriptErrorKind::Syntax,
            message: strip_position(&err.to_string()),
            location: SourceLocation::from_pos(file, err.position()),
            frames: Vec::new(),
        }
    }

    /// The terminal and log rendering: the message, the place, a source
    /// excerpt with a caret, and the call stack. `source_of` gives a file's
    /// text for the excerpt.
    pub fn render_text(&self, source_of: &dyn Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        match &self.location {
            Some(loc) => out.push_str(&format!("{loc}: {}\n", self.message)),
            None => out.push_str(&format!("{}\n", self.message)),
        }
        if let Some(loc) = &self.location {
            if let Some(src) = source_of(&loc.file) {
                out.push_str(&excerpt(&src, loc.line, loc.column));
            }
        }
        if !self.frames.is_empty() {
            out.push_str("Call stack (most recent call last):\n");
            for f in &self.frames {
                match &f.location {
                    Some(l) => out.push_str(&format!("  {l}  {}\n", f.function)),
                    None => out.push_str(&format!("  {}\n", f.function)),
                }
            }
        }
        out
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{} (in {loc})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Rhai appends ` (line N, position M)`; the host shows places as
/// `file:line:col` instead.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" (line ") {
        Some(i) if msg.ends_with(')') => msg[..i].to_owned(),
        _ => msg.to_owned(),
    }
}

/// Up to two lines of context each side of `line`, with a caret under `column`.
pub fn excerpt(src: &str, line: usize, column: usize) -> String {
    let lines: Vec<&str> = src.lines().collect();
    if line == 0 || line > lines.len() {
        return String::new();
    }
    let first = line.saturating_sub(2).max(1);
    let last = (line + 2).min(lines.len());
    let width = last.to_string().len();
    let mut out = String::new();
    for n in first..=last {
        let mark = if n == line { '>' } else { '|' };
        out.push_str(&format!("  {n:>width$} {mark} {}\n", lines[n - 1]));
        if n == line && column > 0 {
            out.push_str(&format!("  {:>width$}   {}^\n", "", " ".repeat(column - 1)));
        }
    }
    out
}

/// Any failure the host reports to the command line or an embedding program.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The script failed to compile, or its top level failed while running.
    Script {
        /// The failure.
        error: Box<ScriptError>,
        /// The rendered text with source excerpt, for printing.
        rendered: String,
    },
    /// The app's setup is invalid (a handler's parameters do not match its
    /// rule, a duplicate endpoint, a route registered too late, ...).
    Setup {
        /// What is wrong and how to fix it.
        message: String,
        /// Where the offending call is.
        location: Option<SourceLocation>,
    },
    /// Reading a file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Binding the listening socket or another server-level failure.
    Server(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Script { rendered, .. } => f.write_str(rendered.trim_end()),
            Error::Setup {
                message,
                location: Some(loc),
            } => write!(f, "{loc}: {message}"),
            Error::Setup { message, .. } => f.write_str(message),
            Error::Io { path, source } => {
                write!(f, "could not read '{}': {source}", path.display())
            }
            Error::Server(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_nested_calls_and_renders_an_excerpt() {
        let engine = rhai::Engine::new();
        let src = "fn inner() {\n    let x = 1;\n    x.nmae\n}\nfn outer() { inner() }\nouter();";
        let err = engine.run(src).unwrap_err();
        let e = ScriptError::from_eval(&err, "app.rhai");
        assert_eq!(e.kind, ScriptErrorKind::Runtime);
        assert_eq!(e.frames.len(), 2);
        assert_eq!(e.frames[0].function, "outer");
        assert_eq!(e.location.as_ref().unwrap().line, 3);
        let text = e.render_text(&|_| Some(src.to_owned()));
        assert!(text.starts_with("app.rhai:3:"), "{text}");
        assert!(text.contains("3 >     x.nmae"), "{text}");
        assert!(text.contains("Call stack"), "{text}");
    }
}
