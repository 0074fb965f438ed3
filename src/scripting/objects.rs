//! The host objects scripts hold: shared handles, so that what a script
//! changes through `g`, `config` or a response is seen by the host.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::ctx::RequestContext;
use crate::http::{MultiDict, Response};
use crate::logging::AppLogger;

/// `request`: a proxy to the request running on this thread (Werkzeug's
/// `LocalProxy`). A proxy rather than the request itself because Rhai
/// closures capture free variables when they are created, at the top level,
/// before any request exists.
#[derive(Debug, Clone)]
pub(crate) struct RequestObj;

/// The request context a proxy stands for, or Flask's error outside one.
pub(crate) fn current() -> Result<Arc<RequestContext>, Box<rhai::EvalAltResult>> {
    crate::ctx::current().ok_or_else(|| {
        super::runtime_err("Working outside of request context. This typically means that you attempted to use functionality that needed an active HTTP request (request, session, g) at the top level of the script; use it inside a handler instead.")
    })
}

/// `request.args`, `request.form`, `request.cookies`.
#[derive(Debug, Clone)]
pub(crate) struct MultiDictObj(pub(crate) Arc<MultiDict>);

/// `request.headers`: a view of the request's headers.
#[derive(Debug, Clone)]
pub(crate) struct HeadersObj(pub(crate) Arc<RequestContext>);

/// `g`: a proxy to the current request's map.
#[derive(Debug, Clone)]
pub(crate) struct GObj;

impl GObj {
    /// The current request's `g`.
    pub(crate) fn map(&self) -> Result<Arc<Mutex<rhai::Map>>, Box<rhai::EvalAltResult>> {
        Ok(current()?.g.clone())
    }
}

/// Locks a `g` map.
pub(crate) fn lock_map(m: &Arc<Mutex<rhai::Map>>) -> MutexGuard<'_, rhai::Map> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `logger`: the app's logger.
#[derive(Debug, Clone)]
pub(crate) struct LoggerObj(pub(crate) Arc<AppLogger>);

/// A Response (from `make_response`, `redirect`, `jsonify`), shared so
/// `after_request` handlers change the one the host will send.
#[derive(Debug, Clone)]
pub(crate) struct ResponseObj(pub(crate) Arc<Mutex<Response>>);

impl ResponseObj {
    pub(crate) fn new(resp: Response) -> Self {
        ResponseObj(Arc::new(Mutex::new(resp)))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Response> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the response out for sending, leaving an empty one behind (a
    /// script may still hold the handle, but the request is over).
    pub(crate) fn take(&self) -> Response {
        std::mem::replace(&mut *self.lock(), Response::new(200))
    }
}

/// `resp.headers`: a view of a response's headers.
#[derive(Debug, Clone)]
pub(crate) struct ResponseHeadersObj(pub(crate) ResponseObj);

/// What an error handler receives: Werkzeug's `HTTPException` fields.
#[derive(Debug, Clone)]
pub(crate) struct ErrorObj {
    pub(crate) code: i64,
    pub(crate) name: String,
    pub(crate) description: String,
    /// For a 500 caused by a script error: that error's text.
    pub(crate) original: Option<String>,
}
