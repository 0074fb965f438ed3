//! `app.logger`: Flask's log format on stderr, level DEBUG in debug mode and
//! WARNING otherwise (unless `LOG_LEVEL` says), and a capture hook so tests
//! and embedding programs can read what the app logged.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

pub use log::Level;

/// The logger of one app. Lines go to the `log` crate (target `flaskrs`),
/// already formatted as Flask's default handler formats them:
/// `[2026-11-21 14:00:00,123] ERROR in hello: message`.
#[derive(Debug)]
pub struct AppLogger {
    module: String,
    level: AtomicUsize,
    capture: Mutex<Option<Arc<Mutex<Vec<LogRecord>>>>>,
}

/// One line the app logged, as captured by [`AppLogger::capture`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// The level it was logged at.
    pub level: Level,
    /// The message, without Flask's prefix.
    pub message: String,
}

/// What [`AppLogger::capture`] returns: every line logged from then on,
/// whatever the level filter says.
#[derive(Debug, Clone)]
pub struct LogCapture(Arc<Mutex<Vec<LogRecord>>>);

impl LogCapture {
    /// The records captured so far.
    pub fn records(&self) -> Vec<LogRecord> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// All captured messages joined by newlines, for `contains` checks.
    pub fn text(&self) -> String {
        self.records()
            .iter()
            .map(|r| format!("{} {}", r.level, r.message))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl AppLogger {
    /// A logger whose lines name `module` (the script's file stem, as
    /// Flask's `%(module)s` names the Python module).
    pub fn new(module: &str, level: Level) -> Self {
        AppLogger {
            module: module.to_owned(),
            level: AtomicUsize::new(level as usize),
            capture: Mutex::new(None),
        }
    }

    /// Changes the threshold.
    pub fn set_level(&self, level: Level) {
        self.level.store(level as usize, Ordering::Relaxed);
    }

    /// Whether `level` passes the threshold.
    pub fn enabled(&self, level: Level) -> bool {
        (level as usize) <= self.level.load(Ordering::Relaxed)
    }

    /// Starts capturing every record (regardless of level) for inspection.
    pub fn capture(&self) -> LogCapture {
        let store = Arc::new(Mutex::new(Vec::new()));
        *self.capture.lock().unwrap_or_else(|e| e.into_inner()) = Some(store.clone());
        LogCapture(store)
    }

    /// Logs `message` at `level`.
    pub fn log(&self, level: Level, message: &str) {
        if let Some(c) = &*self.capture.lock().unwrap_or_else(|e| e.into_inner()) {
            c.lock().unwrap_or_else(|e| e.into_inner()).push(LogRecord {
                level,
                message: message.to_owned(),
            });
        }
        if self.enabled(level) {
            let line = format_flask_line(level, &self.module, message);
            log::log!(target: "flaskrs", level, "{line}");
        }
    }
}

/// Flask's default format: `[%(asctime)s] %(levelname)s in %(module)s: %(message)s`.
/// Times are UTC (the standard library has no portable local time).
pub fn format_flask_line(level: Level, module: &str, message: &str) -> String {
    let name = match level {
        Level::Error => "ERROR",
        Level::Warn => "WARNING",
        Level::Info => "INFO",
        Level::Debug | Level::Trace => "DEBUG",
    };
    format!("[{}] {name} in {module}: {message}", asctime())
}

/// `2026-11-21 14:00:00,123` (Python logging's `asctime`).
fn asctime() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02},{:03}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        now.subsec_millis()
    )
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A `log` backend that writes every record's message to stderr as it is:
/// the app logger and the access log format their own lines. Installed by
/// the command line; an embedding program keeps its own backend.
#[derive(Debug)]
pub struct StderrLog;

impl log::Log for StderrLog {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        // The app logger and the access log filter their own lines; other
        // crates (tiny_http narrates its accept loop at info) only speak up
        // for errors.
        let t = meta.target();
        t == "flaskrs"
            || t == "werkzeug"
            || t.starts_with("flaskrs::")
            || meta.level() <= log::Level::Error
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) || record.target().starts_with("tiny_http") {
            return;
        }
        // stderr is unbuffered: formatting straight into it costs a write
        // per argument. One line, one write, also keeps lines whole when
        // several threads log at once.
        thread_local! {
            static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        LINE.with_borrow_mut(|line| {
            line.clear();
            let _ = writeln!(line, "{}", record.args());
            let _ = std::io::stderr().lock().write_all(line);
            if line.capacity() > 64 * 1024 {
                // One huge message must not pin its buffer for good.
                *line = Vec::new();
            }
        });
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// Installs [`StderrLog`] as the process's `log` backend (once).
pub fn init_stderr_logging() {
    static LOGGER: StderrLog = StderrLog;
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(log::LevelFilter::Trace);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flask_format_and_threshold() {
        let line = format_flask_line(Level::Warn, "hello", "careful");
        assert!(line.ends_with("] WARNING in hello: careful"), "{line}");
        assert!(line.starts_with('['));
        let l = AppLogger::new("m", Level::Warn);
        assert!(!l.enabled(Level::Info));
        assert!(l.enabled(Level::Error));
        let cap = l.capture();
        l.log(Level::Info, "quiet");
        assert_eq!(cap.records()[0].message, "quiet");
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_778), (2026, 11, 21));
    }
}
