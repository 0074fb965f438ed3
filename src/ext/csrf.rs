//! Opt-in CSRF protection (Flask-WTF's `CSRFProtect(app)` twin).
//!
//! ```rhai
//! config.SECRET_KEY = "...";
//! csrf_protect();
//! ```
//!
//! Then every POST, PUT, PATCH and DELETE must carry the session's token,
//! as the form field `csrf_token` or the header `X-CSRFToken`, or it is
//! answered 400 with Flask-WTF's reason. Templates put the token in forms
//! with `<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">`;
//! scripts can call `csrf_token()` too. The token lives in the signed
//! session, so a secret key is required.

use std::sync::{Arc, OnceLock};

use ctutils::CtEq;
use rhai::{Dynamic, EvalAltResult, NativeCallContext};

use crate::extensions::{Extension, ExtensionSetup, RequestScope};
use crate::http::HttpError;
use crate::json_tag::Tagged;
use crate::scripting::runtime_err;

/// The extension; see the module docs.
#[derive(Debug, Default, Clone, Copy)]
pub struct Csrf;

const SESSION_KEY: &str = "csrf_token";
const CONFIG_KEY: &str = "CSRF_ENABLED";

/// The session's token, made on first use (32 random bytes, hex).
fn token(scope: &RequestScope) -> Result<String, String> {
    if let Some(Tagged::Str(t)) = scope.session_get(SESSION_KEY) {
        return Ok(t);
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| format!("no randomness for the CSRF token: {e}"))?;
    let t: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    scope
        .session_set(SESSION_KEY, Tagged::Str(t.clone()))
        .map_err(|_| crate::sessions::NO_SECRET_KEY_MESSAGE.to_owned())?;
    Ok(t)
}

/// Flask-WTF's check: `Some(reason)` when the request must be refused.
fn check(scope: &RequestScope) -> Option<&'static str> {
    if matches!(
        scope.request().method.as_str(),
        "GET" | "HEAD" | "OPTIONS" | "TRACE"
    ) {
        return None;
    }
    let sent = scope
        .form()
        .ok()
        .and_then(|f| f.get(SESSION_KEY).cloned())
        .or_else(|| {
            scope
                .request()
                .headers
                .get("X-CSRFToken")
                .map(str::to_owned)
        })
        .or_else(|| {
            scope
                .request()
                .headers
                .get("X-CSRF-Token")
                .map(str::to_owned)
        });
    let Some(sent) = sent.filter(|s| !s.is_empty()) else {
        return Some("The CSRF token is missing.");
    };
    let Some(Tagged::Str(expected)) = scope.session_get(SESSION_KEY) else {
        return Some("The CSRF session token is missing.");
    };
    let same: bool = sent.as_bytes().ct_eq(expected.as_bytes()).into();
    (!same).then_some("The CSRF tokens do not match.")
}

impl Extension for Csrf {
    fn name(&self) -> &str {
        "csrf"
    }

    fn init_app(&self, app: &mut ExtensionSetup<'_>) {
        let config = app.config().clone();
        app.engine()
            .register_fn("csrf_protect", move |_ctx: NativeCallContext<'_>| {
                config.set(CONFIG_KEY, true.into())
            });
        app.engine()
            .register_fn("csrf_token", || -> Result<Dynamic, Box<EvalAltResult>> {
                let scope = RequestScope::current()
                    .ok_or_else(|| runtime_err("csrf_token() needs an active request"))?;
                token(&scope).map(Dynamic::from).map_err(runtime_err)
            });
        app.templates(|t| {
            t.add_function("csrf_token", || -> Result<String, minijinja::Error> {
                let scope = RequestScope::current().ok_or_else(|| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        "csrf_token() needs an active request",
                    )
                })?;
                token(&scope)
                    .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e))
            });
        });
        // Whether csrf_protect() was called is known once the top level has
        // run; decided at the first request of this version of the app.
        let enabled: Arc<OnceLock<bool>> = Arc::new(OnceLock::new());
        app.before_request(move |scope| {
            let on = *enabled.get_or_init(|| scope.config().get_bool(CONFIG_KEY));
            if !on {
                return None;
            }
            check(scope).map(|why| Err(HttpError::with_description(400, why)))
        });
    }
}
