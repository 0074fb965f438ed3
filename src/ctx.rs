//! The request context (Flask's `RequestContext` and its context-local
//! globals): what `request`, `g` and `session` resolve to while a request
//! runs on this thread.
//!
//! A thread-local stack rather than Rhai's per-call tag, because template
//! callbacks (`url_for` inside minijinja) and Rust extensions must find the
//! current request too, and they do not see Rhai's call context.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use crate::app::LoadedApp;
use crate::http::forms::{self, FileStorage, FormLimits};
use crate::http::{HttpError, MultiDict, Request};

/// `request.form` and `request.files`, parsed together from one body.
type ParsedBody = (Arc<MultiDict>, Arc<MultiDict<Arc<FileStorage>>>);

/// Everything one request needs while it runs.
pub(crate) struct RequestContext {
    pub(crate) app: Arc<LoadedApp>,
    pub(crate) request: Request,
    pub(crate) endpoint: Mutex<Option<String>>,
    pub(crate) view_args: Mutex<rhai::Map>,
    pub(crate) g: Arc<Mutex<rhai::Map>>,
    args: OnceLock<Arc<MultiDict>>,
    cookies: OnceLock<Arc<MultiDict>>,
    form: OnceLock<Result<ParsedBody, HttpError>>,
    /// The session, opened from its cookie on first use.
    pub(crate) session: Mutex<Option<crate::sessions::Session>>,
    /// Flashed messages popped this request (Flask's `request_ctx.flashes`).
    pub(crate) flashes: Mutex<Option<Vec<(String, crate::json_tag::Tagged)>>>,
    pub(crate) started: Instant,
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("method", &self.request.method)
            .field("path", &self.request.path)
            .finish()
    }
}

impl RequestContext {
    pub(crate) fn new(app: Arc<LoadedApp>, request: Request) -> Self {
        RequestContext {
            app,
            request,
            endpoint: Mutex::new(None),
            view_args: Mutex::new(rhai::Map::new()),
            g: Arc::new(Mutex::new(rhai::Map::new())),
            args: OnceLock::new(),
            cookies: OnceLock::new(),
            form: OnceLock::new(),
            session: Mutex::new(None),
            flashes: Mutex::new(None),
            started: Instant::now(),
        }
    }

    /// `request.args`, parsed once.
    pub(crate) fn args(&self) -> Arc<MultiDict> {
        self.args
            .get_or_init(|| {
                Arc::new(forms::parse_urlencoded(
                    self.request.query_string.as_bytes(),
                ))
            })
            .clone()
    }

    /// `request.cookies`, parsed once.
    pub(crate) fn cookies(&self) -> Arc<MultiDict> {
        self.cookies
            .get_or_init(|| {
                let mut all = MultiDict::new();
                for h in self.request.headers.get_all("Cookie") {
                    for (k, v) in crate::http::cookies::parse_cookie(h).iter() {
                        all.append(k, v.clone());
                    }
                }
                Arc::new(all)
            })
            .clone()
    }

    /// `request.form`: a urlencoded or multipart body, parsed once under
    /// the app's limits; other content types give an empty form, as
    /// Werkzeug does.
    pub(crate) fn form(&self) -> Result<Arc<MultiDict>, HttpError> {
        self.parsed_body().map(|(form, _)| form)
    }

    /// `request.files`: the files of a multipart body.
    pub(crate) fn files(&self) -> Result<Arc<MultiDict<Arc<FileStorage>>>, HttpError> {
        self.parsed_body().map(|(_, files)| files)
    }

    fn limit(&self, key: &str) -> Option<u64> {
        self.app
            .config
            .get_int(key)
            .and_then(|v| u64::try_from(v).ok())
    }

    fn parsed_body(&self) -> Result<ParsedBody, HttpError> {
        self.form
            .get_or_init(|| {
                let empty = || (Arc::new(MultiDict::new()), Arc::new(MultiDict::new()));
                match self.request.mimetype().as_str() {
                    "application/x-www-form-urlencoded" => {
                        let max_memory = self.limit("MAX_FORM_MEMORY_SIZE");
                        // Werkzeug refuses a declared length over the form
                        // memory limit before reading.
                        if let (Some(len), Some(max)) = (self.request.content_length(), max_memory)
                        {
                            if len > max {
                                return Err(HttpError::new(413));
                            }
                        }
                        let body = self.data()?;
                        if max_memory.is_some_and(|l| body.len() as u64 > l) {
                            return Err(HttpError::new(413));
                        }
                        Ok((
                            Arc::new(forms::parse_urlencoded(&body)),
                            Arc::new(MultiDict::new()),
                        ))
                    }
                    "multipart/form-data" => {
                        let limits = FormLimits {
                            max_content_length: self.limit("MAX_CONTENT_LENGTH"),
                            max_form_memory_size: self.limit("MAX_FORM_MEMORY_SIZE"),
                            max_form_parts: self
                                .limit("MAX_FORM_PARTS")
                                .and_then(|n| usize::try_from(n).ok()),
                            // Werkzeug's parser is silent (a broken body is an
                            // empty form); a broken body here is a 400, so no
                            // script ever sees a half-parsed form.
                            silent: false,
                            ..FormLimits::default()
                        };
                        let reader: Box<dyn std::io::Read + Send> =
                            match self.request.body.take_reader() {
                                Some(r) => r,
                                None => Box::new(std::io::Cursor::new(self.data()?.to_vec())),
                            };
                        let (form, files) = forms::parse_multipart(
                            self.request.content_type(),
                            self.request.content_length(),
                            reader,
                            &limits,
                        )?;
                        Ok((Arc::new(form), Arc::new(files)))
                    }
                    _ => Ok(empty()),
                }
            })
            .clone()
    }

    /// The raw body, read once under `MAX_CONTENT_LENGTH`.
    pub(crate) fn data(&self) -> Result<Arc<Vec<u8>>, HttpError> {
        let limit = self
            .app
            .config
            .get_int("MAX_CONTENT_LENGTH")
            .and_then(|v| u64::try_from(v).ok());
        self.request
            .body
            .bytes(self.request.content_length(), limit)
    }
}

thread_local! {
    static STACK: RefCell<Vec<Arc<RequestContext>>> = const { RefCell::new(Vec::new()) };
}

/// The request running on this thread, if any.
pub(crate) fn current() -> Option<Arc<RequestContext>> {
    STACK.with(|s| s.borrow().last().cloned())
}

/// Keeps a context current until dropped (also on unwind), so a panicking
/// request never leaves its context behind for the next one on the thread.
pub(crate) struct ContextGuard(());

impl ContextGuard {
    pub(crate) fn push(ctx: Arc<RequestContext>) -> Self {
        STACK.with(|s| s.borrow_mut().push(ctx));
        ContextGuard(())
    }
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        STACK.with(|s| {
            s.borrow_mut().pop();
        });
    }
}

/// How many contexts are pushed on this thread (tests check none leak).
#[cfg(test)]
pub(crate) fn depth() -> usize {
    STACK.with(|s| s.borrow().len())
}

/// The operation budget and deadline of the script work running on this
/// thread (a request, or the script's top level at load time). Checked from
/// Rhai's progress callback, so kept in plain cells: no locking per check.
pub(crate) mod budget {
    use std::cell::Cell;
    use std::time::Instant;

    thread_local! {
        static LIMIT: Cell<Option<(u64, Option<Instant>)>> = const { Cell::new(None) };
        static SPENT: Cell<u64> = const { Cell::new(0) };
        static LAST: Cell<u64> = const { Cell::new(0) };
    }

    /// Why the engine stopped a script.
    pub(crate) const OPERATIONS: &str = "operations";
    /// The deadline passed.
    pub(crate) const TIMEOUT: &str = "timeout";

    /// Starts a budget for this thread; the guard ends it.
    pub(crate) fn start(max_operations: u64, deadline: Option<Instant>) -> Guard {
        let prev = LIMIT.with(|l| l.replace(Some((max_operations, deadline))));
        let prev_spent = SPENT.with(|s| s.replace(0));
        LAST.with(|l| l.set(0));
        Guard { prev, prev_spent }
    }

    /// Called after each script call: the operations it used count
    /// against the rest of the request.
    pub(crate) fn settle() {
        let last = LAST.with(|l| l.replace(0));
        SPENT.with(|s| s.set(s.get().saturating_add(last)));
    }

    /// Operations used so far by the current budget.
    pub(crate) fn spent() -> u64 {
        SPENT.with(Cell::get) + LAST.with(Cell::get)
    }

    /// The progress check: `Some(reason)` stops the script.
    pub(crate) fn check(ops: u64) -> Option<&'static str> {
        // Rhai calls this on every operation; look at the clock and the
        // thread-locals only every 1024 of them.
        if ops & 1023 != 0 {
            return None;
        }
        LAST.with(|l| l.set(ops));
        let (max, deadline) = LIMIT.with(Cell::get)?;
        if SPENT.with(Cell::get).saturating_add(ops) > max {
            return Some(OPERATIONS);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Some(TIMEOUT);
        }
        None
    }

    /// Restores the enclosing budget when dropped.
    pub(crate) struct Guard {
        prev: Option<(u64, Option<Instant>)>,
        prev_spent: u64,
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            LIMIT.with(|l| l.set(self.prev));
            SPENT.with(|s| s.set(self.prev_spent));
            LAST.with(|l| l.set(0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::depth;

    #[test]
    fn no_context_is_left_behind_even_after_a_panic() {
        let app = crate::App::builder()
            .register(|e| {
                e.register_fn("explode", || -> i64 { panic!("boom") });
            })
            .load_source(
                "app.rhai",
                r#"route("/", || explode()); route("/ok", || "ok");"#,
            )
            .unwrap();
        assert_eq!(app.handle(crate::Request::new("GET", "/")).status, 500);
        assert_eq!(depth(), 0);
        assert_eq!(app.handle(crate::Request::new("GET", "/ok")).status, 200);
        assert_eq!(depth(), 0);
    }
}
