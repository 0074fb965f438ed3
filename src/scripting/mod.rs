//! The Rhai side of the host: one `Engine` per loaded app version, its
//! limits, the globals scripts see (`request`, `g`, `config`, ...), the
//! script API (`route`, `url_for`, ...) and value conversion.

pub(crate) mod api;
pub(crate) mod array_fns;
pub(crate) mod convert;
pub(crate) mod engine;
pub(crate) mod files_api;
pub(crate) mod objects;
pub(crate) mod request_api;
pub(crate) mod response_api;
pub(crate) mod security_api;
pub(crate) mod session_api;
pub(crate) mod template_api;
pub(crate) mod upload_api;

use rhai::{Dynamic, EvalAltResult, Position};

use crate::http::HttpError;

/// Registers a function as *pure*: Rhai treats `request`, `session`, `g`
/// and `config` as constants (they come from the variable resolver), and
/// refuses any non-pure method, getter or setter on a constant. Every host
/// object is a shared handle, so mutation through it is what we want.
/// (A macro because Rhai's `Variant` bound is not nameable outside it.)
macro_rules! pure {
    ($engine:expr, $name:expr, $f:expr) => {
        rhai::FuncRegistration::new($name)
            .with_purity(true)
            .register_into_engine($engine, $f)
    };
}
#[allow(unused_imports)] // used by first-party extensions in crate::ext
pub(crate) use pure;

/// An HTTP error raised from a script (`abort(404)`, a missing form key):
/// it unwinds the handler and is answered by the app's error handling.
#[derive(Debug, Clone)]
pub(crate) struct HttpAbort(pub(crate) HttpError);

/// A response raised from a script (`abort(make_response(..))` twin).
#[derive(Debug, Clone)]
pub(crate) struct ResponseAbort(pub(crate) objects::ResponseObj);

/// The error value that makes Rhai unwind with an HTTP error.
pub(crate) fn abort_err(e: HttpError) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(Dynamic::from(HttpAbort(e)), Position::NONE).into()
}

/// A plain runtime error with a message.
pub(crate) fn runtime_err(msg: impl Into<String>) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(Dynamic::from(msg.into()), Position::NONE).into()
}

/// Finds an HTTP abort anywhere in a (possibly nested) Rhai error.
pub(crate) fn find_abort(err: &EvalAltResult) -> Option<Result<HttpError, objects::ResponseObj>> {
    match err.unwrap_inner() {
        EvalAltResult::ErrorRuntime(v, _) => {
            if let Some(a) = v.read_lock::<HttpAbort>() {
                Some(Ok(a.0.clone()))
            } else {
                v.read_lock::<ResponseAbort>().map(|r| Err(r.0.clone()))
            }
        }
        _ => None,
    }
}

/// A setup failure raised from a script call such as `route(...)` whose
/// arguments are wrong: becomes [`crate::Error::Setup`] with the call's place.
#[derive(Debug, Clone)]
pub(crate) struct SetupFailure(pub(crate) String);

/// The error value for a setup failure.
pub(crate) fn setup_err(msg: impl Into<String>) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(Dynamic::from(SetupFailure(msg.into())), Position::NONE).into()
}
