//! The request pipeline, with Flask's names: `wsgi_app` →
//! `full_dispatch_request` (`preprocess_request`, `dispatch_request`) →
//! `finalize_request` (`make_response`, `process_response`) →
//! `do_teardown_request`; failures go through `handle_http_exception` and
//! `handle_exception`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rhai::{CallFnOptions, Dynamic, EvalAltResult, Scope};

use super::setup::{Handler, ViewKind};
use super::LoadedApp;
use crate::ctx::{budget, ContextGuard, RequestContext};
use crate::error::ScriptError;
use crate::http::{HttpError, Request, Response};
use crate::logging::Level;
use crate::routing::RoutingError;
use crate::scripting::convert::route_value_to_dynamic;
use crate::scripting::find_abort;
use crate::scripting::objects::{ErrorObj, ResponseObj};
use crate::wrappers::make_response;

/// Why a step of the pipeline did not produce a value.
pub(crate) enum Failure {
    /// An HTTP error: `abort`, routing, a bad request body.
    Http(HttpError),
    /// A ready response that ends the request (routing redirects, `abort(resp)`).
    Respond(Response),
    /// A script error or a broken limit.
    Script(Box<EvalAltResult>),
    /// A value that is not a response (Flask's `TypeError`).
    Invalid(String),
}

impl From<Box<EvalAltResult>> for Failure {
    fn from(e: Box<EvalAltResult>) -> Self {
        match find_abort(&e) {
            Some(Ok(http)) => Failure::Http(http),
            Some(Err(resp)) => Failure::Respond(resp.take()),
            None => Failure::Script(e),
        }
    }
}

/// Calls a script handler with positional arguments after its captures
/// (also used outside the pipeline, by CLI commands).
pub(crate) fn call(
    app: &LoadedApp,
    h: &Handler,
    args: Vec<Dynamic>,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let mut all = h.curry.clone();
    all.extend(args);
    let r = app.engine.call_fn_with_options::<Dynamic>(
        CallFnOptions::new().eval_ast(false).in_all_namespaces(true),
        &mut Scope::new(),
        &app.empty_ast,
        &h.fn_name,
        all,
    );
    budget::settle();
    r
}

/// Handles one request on `app` (Flask's `wsgi_app`).
pub(crate) fn wsgi_app(app: &Arc<LoadedApp>, request: Request) -> Response {
    let is_head = request.method == "HEAD";
    let matched = match_request(app, &request);
    let ctx = Arc::new(RequestContext::new(app.clone(), request));
    let _ctx_guard = ContextGuard::push(ctx.clone());

    if let Ok(m) = &matched {
        if let Ok(mut e) = ctx.endpoint.lock() {
            *e = Some(m.endpoint.clone());
        }
        if let Ok(mut va) = ctx.view_args.lock() {
            *va = m.args.clone();
        }
    }
    let max_ops = match &matched {
        Ok(m) => app.views.get(&m.endpoint).and_then(|v| v.max_operations),
        Err(_) => None,
    }
    .or_else(|| {
        app.config
            .get_int("MAX_OPERATIONS")
            .and_then(|n| u64::try_from(n).ok())
    })
    .unwrap_or(u64::MAX);
    let deadline = app
        .config
        .get_int("REQUEST_TIMEOUT")
        .and_then(|s| u64::try_from(s).ok())
        .filter(|s| *s > 0)
        .map(|s| Instant::now() + Duration::from_secs(s));
    let _budget = budget::start(max_ops, deadline);

    let (mut response, error) = full_dispatch_request(app, &ctx, matched);
    do_teardown_request(app, &ctx, error);
    if let Some(bad) = invalid_header(&response) {
        app.logger.log(
            Level::Error,
            &format!(
                "Exception on {} [{}]\nValueError: the response header {bad} contains a CR, LF or NUL character (header injection); the response was replaced by a 500. Remove control characters from values put into headers and cookies.",
                ctx.request.path, ctx.request.method
            ),
        );
        response = HttpError::new(500).to_response();
    }
    finalize_wire(&mut response, is_head);
    response
}

/// The first header whose name or value could split the response on the
/// wire (CR, LF, NUL), named for the log.
fn invalid_header(response: &Response) -> Option<String> {
    let bad = |s: &str| s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0));
    response
        .headers
        .iter()
        .find(|(k, v)| bad(k) || bad(v) || k.is_empty())
        .map(|(k, _)| format!("{k:?}"))
}

/// The outcome of routing, kept for `dispatch_request`.
struct Matched {
    endpoint: String,
    args: rhai::Map,
    automatic_options: bool,
}

/// Routing: a failure is kept and raised after `before_request`, as Flask
/// does.
fn match_request(app: &LoadedApp, request: &Request) -> Result<Matched, Failure> {
    match app
        .url_map
        .match_request(&request.path, &request.method, &request.query_string)
    {
        Ok(m) => Ok(Matched {
            endpoint: m.rule.endpoint.clone(),
            args: m
                .args
                .iter()
                .map(|(k, v)| (k.as_str().into(), route_value_to_dynamic(v)))
                .collect(),
            automatic_options: m.rule.automatic_options,
        }),
        Err(RoutingError::NotFound) => Err(Failure::Http(HttpError::new(404))),
        Err(RoutingError::MethodNotAllowed { allowed }) => {
            Err(Failure::Http(HttpError::method_not_allowed(&allowed)))
        }
        Err(RoutingError::RequestRedirect { location }) => {
            Err(Failure::Respond(Response::redirect(
                &format!(
                    "{}://{}{}{}",
                    request.scheme,
                    request.host(),
                    request.script_root,
                    location
                ),
                308,
            )))
        }
    }
}

/// `full_dispatch_request` + `finalize_request`: returns the response and
/// the error (if any) to hand to teardown handlers.
fn full_dispatch_request(
    app: &LoadedApp,
    ctx: &Arc<RequestContext>,
    matched: Result<Matched, Failure>,
) -> (Response, Dynamic) {
    let mut error = Dynamic::UNIT;
    let rv = match preprocess_request(app, ctx) {
        Ok(Some(rv)) => Ok(rv),
        Ok(None) => dispatch_request(app, ctx, matched),
        Err(f) => Err(f),
    };
    let endpoint = ctx
        .endpoint
        .lock()
        .ok()
        .and_then(|e| e.clone())
        .unwrap_or_default();
    let response = match rv.and_then(|v| {
        make_response(v, &endpoint).map_err(|e| Failure::Invalid(format!("TypeError: {}", e.0)))
    }) {
        Ok(r) => r,
        Err(f) => handle_failure(app, ctx, f, &mut error),
    };
    let response = match process_response(app, ctx, response) {
        Ok(r) => r,
        Err(f) => handle_failure(app, ctx, f, &mut error),
    };
    (response, error)
}

fn handle_failure(
    app: &LoadedApp,
    ctx: &RequestContext,
    f: Failure,
    error: &mut Dynamic,
) -> Response {
    match f {
        Failure::Http(e) => handle_http_exception(app, ctx, e, error),
        Failure::Respond(r) => r,
        Failure::Script(e) => handle_exception(app, ctx, &e, error),
        Failure::Invalid(msg) => {
            log_exception(app, ctx, &msg);
            *error = Dynamic::from(msg.clone());
            if app.debug && crate::debug::is_loopback(&ctx.request.remote_addr) {
                let se = ScriptError {
                    kind: crate::error::ScriptErrorKind::Runtime,
                    message: msg,
                    location: None,
                    frames: Vec::new(),
                };
                return debug_page(app, Some(ctx), &se);
            }
            internal_server_error(app, ctx, Some(msg), error)
        }
    }
}

/// `before_request` handlers in order; the first that returns anything but
/// `()` ends the request with that value.
fn preprocess_request(
    app: &LoadedApp,
    ctx: &Arc<RequestContext>,
) -> Result<Option<Dynamic>, Failure> {
    if !app.ext.before.is_empty() {
        let scope = crate::extensions::RequestScope(ctx.clone());
        for hook in &app.ext.before {
            match hook(&scope) {
                Some(Ok(resp)) => return Err(Failure::Respond(resp)),
                Some(Err(e)) => return Err(Failure::Http(e)),
                None => {}
            }
        }
    }
    for h in &app.before_request {
        let rv = call(app, h, Vec::new())?;
        if !rv.is_unit() {
            return Ok(Some(rv));
        }
    }
    Ok(None)
}

/// Runs the view for the matched rule, passing URL variables by name, or
/// answers OPTIONS automatically.
fn dispatch_request(
    app: &LoadedApp,
    ctx: &RequestContext,
    matched: Result<Matched, Failure>,
) -> Result<Dynamic, Failure> {
    let Matched {
        endpoint,
        args,
        automatic_options,
    } = matched?;
    let req = &ctx.request;
    if req.method == "OPTIONS" && automatic_options {
        let mut resp = Response::html("");
        resp.headers
            .set("Allow", app.url_map.allowed_methods(&req.path).join(", "));
        return Ok(Dynamic::from(ResponseObj::new(resp)));
    }
    let view = app.views.get(&endpoint).ok_or_else(|| {
        Failure::Invalid(format!(
            "no view function is registered for endpoint '{endpoint}'"
        ))
    })?;
    let handler = match &view.kind {
        ViewKind::Script(h) => h,
        ViewKind::Static => {
            let filename = args
                .get("filename")
                .map(ToString::to_string)
                .unwrap_or_default();
            return send_static(app, req, &app.root.join("static"), &filename);
        }
    };
    let call_args = handler
        .params
        .iter()
        .map(|p| args.get(p.as_str()).cloned().unwrap_or(Dynamic::UNIT))
        .collect();
    Ok(call(app, handler, call_args)?)
}

/// Flask's `send_static_file`: `static/` beside the script, safe-joined,
/// with `SEND_FILE_MAX_AGE_DEFAULT`.
pub(crate) fn send_static(
    app: &LoadedApp,
    req: &Request,
    dir: &std::path::Path,
    filename: &str,
) -> Result<Dynamic, Failure> {
    let opts = crate::static_files::SendFileOptions {
        max_age: app
            .config
            .get_int("SEND_FILE_MAX_AGE_DEFAULT")
            .and_then(|n| u64::try_from(n).ok()),
        ..crate::static_files::SendFileOptions::default()
    };
    crate::static_files::send_from_directory(dir, filename, req, &opts)
        .map(|r| Dynamic::from(ResponseObj::new(r)))
        .map_err(Failure::Http)
}

/// `after_request` handlers, last registered first; each gets the response
/// and must return it (or another). Then the session is saved.
fn process_response(
    app: &LoadedApp,
    ctx: &Arc<RequestContext>,
    response: Response,
) -> Result<Response, Failure> {
    let mut response = run_after_request(app, response)?;
    if !app.ext.after.is_empty() {
        let scope = crate::extensions::RequestScope(ctx.clone());
        for hook in app.ext.after.iter().rev() {
            hook(&scope, &mut response);
        }
    }
    save_session(app, ctx, &mut response)?;
    Ok(response)
}

/// Writes the session cookie (and `Vary: Cookie`) when the session was used.
fn save_session(
    app: &LoadedApp,
    ctx: &RequestContext,
    response: &mut Response,
) -> Result<(), Failure> {
    let slot = ctx.session.lock().unwrap_or_else(|e| e.into_inner());
    let Some(session) = slot.as_ref() else {
        return Ok(());
    };
    match crate::sessions::save_session_with(
        &app.session_config,
        app.session_serializer.as_ref(),
        session,
        response,
        crate::scripting::session_api::now(),
    ) {
        Ok(Some(warning)) => {
            app.logger.log(Level::Warn, &warning);
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => Err(Failure::Invalid(format!("RuntimeError: {e}"))),
    }
}

fn run_after_request(app: &LoadedApp, response: Response) -> Result<Response, Failure> {
    if app.after_request.is_empty() {
        return Ok(response);
    }
    let mut obj = ResponseObj::new(response);
    for h in app.after_request.iter().rev() {
        let rv = call(app, h, vec![Dynamic::from(obj.clone())])?;
        obj = match rv.try_cast::<ResponseObj>() {
            Some(r) => r,
            None => {
                return Err(Failure::Invalid(format!(
                    "TypeError: after_request handler {} must return the response it was given (end it with the response variable)",
                    h.label
                )))
            }
        };
    }
    Ok(obj.take())
}

/// An HTTP error: the registered handler for its code, else Werkzeug's page.
fn handle_http_exception(
    app: &LoadedApp,
    ctx: &RequestContext,
    e: HttpError,
    error: &mut Dynamic,
) -> Response {
    let Some(h) = app.error_handlers.get(&e.code) else {
        return e.to_response();
    };
    let obj = ErrorObj {
        code: i64::from(e.code),
        name: e.name().to_owned(),
        description: e.description().to_owned(),
        original: None,
    };
    let endpoint = format!("errorhandler({})", e.code);
    match call(app, h, vec![Dynamic::from(obj)]) {
        Ok(rv) => match make_response(rv, &endpoint) {
            Ok(mut r) => {
                // Werkzeug keeps the error's own headers (Allow on a 405).
                for (k, v) in e.headers.iter() {
                    r.headers.set_default(k, v);
                }
                r
            }
            Err(inv) => {
                log_exception(app, ctx, &format!("TypeError: {}", inv.0));
                HttpError::new(500).to_response()
            }
        },
        Err(err) => match Failure::from(err) {
            Failure::Http(inner) if inner.code != e.code => {
                handle_http_exception(app, ctx, inner, error)
            }
            Failure::Respond(r) => r,
            Failure::Script(s) => handle_exception(app, ctx, &s, error),
            _ => e.to_response(),
        },
    }
}

/// A script failure: 503 for a broken budget, otherwise logged as Flask
/// logs exceptions and answered 500 (through a 500 handler if registered).
fn handle_exception(
    app: &LoadedApp,
    ctx: &RequestContext,
    e: &EvalAltResult,
    error: &mut Dynamic,
) -> Response {
    let se = ScriptError::from_eval(e, &app.file);
    if let EvalAltResult::ErrorTerminated(reason, _) = e.unwrap_inner() {
        let why = reason.to_string();
        let spent = budget::spent();
        let ms = ctx.started.elapsed().as_millis();
        let endpoint = ctx
            .endpoint
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .unwrap_or_default();
        let limit = if why == budget::TIMEOUT {
            format!(
                "it ran past REQUEST_TIMEOUT ({} s)",
                app.config.get_int("REQUEST_TIMEOUT").unwrap_or(0)
            )
        } else {
            "it used up its operations budget (MAX_OPERATIONS, or the route's max_operations)"
                .to_owned()
        };
        app.logger.log(
            Level::Error,
            &format!(
                "Request {} [{}] (endpoint '{endpoint}') stopped: {limit} after {spent} operations and {ms} ms\n{}",
                ctx.request.path,
                ctx.request.method,
                app.render_error(&se)
            ),
        );
        *error = Dynamic::from(format!("stopped: {why}"));
        return HttpError::new(503).to_response();
    }
    log_exception(app, ctx, &app.render_error(&se));
    *error = Dynamic::from(se.to_string());
    if app.debug && crate::debug::is_loopback(&ctx.request.remote_addr) {
        return debug_page(app, Some(ctx), &se);
    }
    internal_server_error(app, ctx, Some(se.to_string()), error)
}

/// The debug page as a 500 response.
fn debug_page(app: &LoadedApp, ctx: Option<&RequestContext>, se: &ScriptError) -> Response {
    let summary = ctx.map(|c| crate::debug::RequestSummary {
        method: c.request.method.clone(),
        path: c.request.full_path(),
        endpoint: c.endpoint.lock().ok().and_then(|e| e.clone()),
    });
    let html = crate::debug::render_html(
        se,
        &|f| {
            app.sources
                .get(f)
                .cloned()
                .or_else(|| std::fs::read_to_string(f).ok())
        },
        summary.as_ref(),
    );
    Response::html(html).with_status(500)
}

/// While an edit does not load, debug mode answers local clients with the
/// load error.
pub(crate) fn broken_reload_response(
    app: &LoadedApp,
    req: &Request,
    err: &crate::Error,
) -> Response {
    let se = match err {
        crate::Error::Script { error, .. } => (**error).clone(),
        other => ScriptError {
            kind: crate::error::ScriptErrorKind::Syntax,
            message: other.to_string(),
            location: match other {
                crate::Error::Setup { location, .. } => location.clone(),
                _ => None,
            },
            frames: Vec::new(),
        },
    };
    let mut resp = debug_page(app, None, &se);
    finalize_wire(&mut resp, req.method == "HEAD");
    resp
}

fn log_exception(app: &LoadedApp, ctx: &RequestContext, detail: &str) {
    app.logger.log(
        Level::Error,
        &format!(
            "Exception on {} [{}]\n{}",
            ctx.request.path,
            ctx.request.method,
            detail.trim_end()
        ),
    );
}

/// Werkzeug's 500, or the app's handler for 500 given the original error.
fn internal_server_error(
    app: &LoadedApp,
    ctx: &RequestContext,
    original: Option<String>,
    _error: &mut Dynamic,
) -> Response {
    let e = HttpError::new(500);
    let Some(h) = app.error_handlers.get(&500) else {
        return e.to_response();
    };
    let obj = ErrorObj {
        code: 500,
        name: e.name().to_owned(),
        description: e.description().to_owned(),
        original,
    };
    match call(app, h, vec![Dynamic::from(obj)]).map_err(Failure::from) {
        Ok(rv) => make_response(rv, "errorhandler(500)").unwrap_or_else(|inv| {
            log_exception(app, ctx, &format!("TypeError: {}", inv.0));
            e.to_response()
        }),
        Err(Failure::Respond(r)) => r,
        Err(Failure::Script(s)) => {
            let se = ScriptError::from_eval(&s, &app.file);
            log_exception(app, ctx, &app.render_error(&se));
            e.to_response()
        }
        Err(_) => e.to_response(),
    }
}

/// `teardown_request` handlers, last registered first, with the error or
/// `()`; their own failures are logged and never change the response.
fn do_teardown_request(app: &LoadedApp, ctx: &Arc<RequestContext>, error: Dynamic) {
    if !app.ext.teardown.is_empty() {
        let scope = crate::extensions::RequestScope(ctx.clone());
        let err = (!error.is_unit()).then(|| error.to_string());
        for hook in app.ext.teardown.iter().rev() {
            hook(&scope, err.as_deref());
        }
    }
    for h in app.teardown_request.iter().rev() {
        if let Err(e) = call(app, h, vec![error.clone()]) {
            let se = ScriptError::from_eval(&e, &app.file);
            log_exception(app, ctx, &app.render_error(&se));
        }
    }
}

/// What the WSGI layer adds: `Content-Length` for bodies in memory, and
/// no body for HEAD (the length of the GET body is kept).
fn finalize_wire(response: &mut Response, is_head: bool) {
    if crate::http::status_has_no_body(response.status) {
        response.headers.remove("Content-Length");
        response.set_data(Vec::new());
    } else if !response.headers.contains("Content-Length") {
        response
            .headers
            .set("Content-Length", response.body.len().to_string());
    }
    if is_head {
        response.set_data(Vec::new());
    }
}
