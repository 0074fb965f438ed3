//! Flask 3.1's signed-cookie sessions (`flask/sessions.py`:
//! `SecureCookieSession`, `NullSession`, `SecureCookieSessionInterface`) and
//! message flashing (`flash`, `get_flashed_messages`).
//!
//! The cookie is Flask's own: the session dict is written as tagged JSON
//! ([`crate::json_tag`]) and signed by an itsdangerous twin
//! ([`crate::signing`]) with the salt `cookie-session`, so a Flask app and a
//! flaskrs app sharing a secret key read each other's sessions, and the
//! `Set-Cookie` / `Vary` headers are byte-identical to Flask's.
//!
//! Deviations, all about cookies only a key holder can make: a correctly
//! signed cookie whose payload does not decode (not a dict, corrupt zlib,
//! an integer beyond `i64`, a malformed tag) yields an empty session where
//! Flask would answer 500.

mod cookie;
mod flashing;

use indexmap::IndexMap;

pub use flashing::{flash, get_flashed_messages};

use crate::http::Response;
use crate::json_tag::{self, Tagged};
use crate::signing::{Digest, Serializer};

/// The salt Flask's `SecureCookieSessionInterface` signs sessions with.
pub const SESSION_SALT: &str = "cookie-session";

/// Werkzeug's `max_cookie_size`: larger `Set-Cookie` values are written but
/// warned about, since browsers may silently drop them.
pub const MAX_COOKIE_SIZE: usize = 4093;

/// Flask's `NullSession` message, word for word (two spaces included).
pub const NO_SECRET_KEY_MESSAGE: &str = "The session is unavailable because no secret key was set.  Set the secret_key on the application to something unique and secret.";

/// Using the session for writing without a secret key (Flask raises
/// `RuntimeError` from its `NullSession`). Its `Display` is Flask's message;
/// the app turns it into a 500 and logs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSecretKey;

impl std::fmt::Display for NoSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(NO_SECRET_KEY_MESSAGE)
    }
}

impl std::error::Error for NoSecretKey {}

/// Why [`save_session`] could not write the cookie (Flask raises while
/// saving, which makes the response a 500).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveError {
    /// The config has no secret key but the session is not a null session.
    NoSecretKey,
    /// `SESSION_COOKIE_SAMESITE` is not `Strict`, `Lax` or `None`.
    InvalidSameSite(String),
}

impl std::fmt::Display for SaveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SaveError::NoSecretKey => f.write_str(NO_SECRET_KEY_MESSAGE),
            // Werkzeug's dump_cookie message.
            SaveError::InvalidSameSite(_) => {
                f.write_str("SameSite must be 'Strict', 'Lax', or 'None'.")
            }
        }
    }
}

impl std::error::Error for SaveError {}

/// The session settings of Flask's config, already resolved (for example
/// `path` is `SESSION_COOKIE_PATH or APPLICATION_ROOT`).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    /// `SECRET_KEY`; `None` or empty disables sessions (null session).
    pub secret_key: Option<Vec<u8>>,
    /// `SECRET_KEY_FALLBACKS`, oldest first: they verify but never sign.
    pub fallback_keys: Vec<Vec<u8>>,
    /// `SESSION_COOKIE_NAME` (`session`).
    pub cookie_name: String,
    /// `SESSION_COOKIE_DOMAIN` (`None`).
    pub domain: Option<String>,
    /// `SESSION_COOKIE_PATH or APPLICATION_ROOT` (`/`).
    pub path: String,
    /// `SESSION_COOKIE_HTTPONLY` (`true`).
    pub httponly: bool,
    /// `SESSION_COOKIE_SECURE` (`false`).
    pub secure: bool,
    /// `SESSION_COOKIE_SAMESITE` (`None`); any case, written title-cased.
    pub samesite: Option<String>,
    /// `SESSION_COOKIE_PARTITIONED` (`false`); implies `Secure`.
    pub partitioned: bool,
    /// `PERMANENT_SESSION_LIFETIME` in seconds (31 days). Also the maximum
    /// age of any session cookie when it is read, as in Flask.
    pub permanent_lifetime: u64,
    /// `SESSION_REFRESH_EACH_REQUEST` (`true`).
    pub refresh_each_request: bool,
    /// The signature's hash (Flask's default is SHA-1).
    pub digest: Digest,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            secret_key: None,
            fallback_keys: Vec::new(),
            cookie_name: "session".to_owned(),
            domain: None,
            path: "/".to_owned(),
            httponly: true,
            secure: false,
            samesite: None,
            partitioned: false,
            permanent_lifetime: 31 * 24 * 60 * 60,
            refresh_each_request: true,
            digest: Digest::Sha1,
        }
    }
}

impl SessionConfig {
    /// `get_signing_serializer`: `None` without a (non-empty) secret key;
    /// otherwise the fallbacks then the secret key, the newest signing.
    pub fn serializer(&self) -> Option<Serializer> {
        let key = self.secret_key.as_ref().filter(|k| !k.is_empty())?;
        let mut keys = self.fallback_keys.clone();
        keys.push(key.clone());
        Serializer::new(keys, SESSION_SALT, self.digest)
    }
}

/// A session: a dict of [`Tagged`] values plus Flask's bookkeeping.
///
/// Like Flask's `CallbackDict`, writes set `modified` (`set`, `clear` and
/// `setdefault` always or when they add a key, `remove` only when the key
/// was there). In Flask 3.1.3 any use of the `session` proxy sets
/// `accessed` (which adds `Vary: Cookie`), so every method here that reads
/// or writes data does too; [`Session::peek`] and [`Session::data`] are for
/// the host's own bookkeeping and do not.
///
/// A null session (no secret key) reads as empty and refuses writes with
/// [`NoSecretKey`], as Flask's `NullSession` does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    /// Insertion-ordered like a Python dict; written sorted.
    data: IndexMap<String, Tagged>,
    modified: bool,
    accessed: bool,
    null: bool,
}

impl Session {
    /// An empty, unmodified session.
    pub fn new() -> Self {
        Self::default()
    }

    /// Flask's `NullSession`, used when no secret key is set.
    pub fn null() -> Self {
        Session {
            null: true,
            ..Self::default()
        }
    }

    /// A session holding `data`, unmodified (as loaded from a cookie).
    pub fn from_data(data: impl IntoIterator<Item = (String, Tagged)>) -> Self {
        Session {
            data: data.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Whether this is a null session (no secret key).
    pub fn is_null(&self) -> bool {
        self.null
    }

    fn writable(&mut self) -> Result<(), NoSecretKey> {
        self.accessed = true;
        if self.null {
            Err(NoSecretKey)
        } else {
            Ok(())
        }
    }

    /// `session.get(key)`.
    pub fn get(&mut self, key: &str) -> Option<&Tagged> {
        self.accessed = true;
        self.data.get(key)
    }

    /// `key in session`.
    pub fn contains(&mut self, key: &str) -> bool {
        self.accessed = true;
        self.data.contains_key(key)
    }

    /// `list(session.keys())`, in insertion order (a loaded cookie's keys
    /// come sorted, as Flask wrote them).
    pub fn keys(&mut self) -> Vec<String> {
        self.accessed = true;
        self.data.keys().cloned().collect()
    }

    /// `list(session.items())`, in insertion order.
    pub fn items(&mut self) -> Vec<(String, Tagged)> {
        self.accessed = true;
        self.data
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// `len(session)`.
    pub fn len(&mut self) -> usize {
        self.accessed = true;
        self.data.len()
    }

    /// `not session`.
    pub fn is_empty(&mut self) -> bool {
        self.accessed = true;
        self.data.is_empty()
    }

    /// `session[key] = value`: always marks the session modified.
    pub fn set(&mut self, key: impl Into<String>, value: Tagged) -> Result<(), NoSecretKey> {
        self.writable()?;
        self.data.insert(key.into(), value);
        self.modified = true;
        Ok(())
    }

    /// `session.pop(key, None)`: modified only if the key was there.
    /// (Flask's `NullSession` refuses `pop` even for a missing key.)
    pub fn remove(&mut self, key: &str) -> Result<Option<Tagged>, NoSecretKey> {
        self.writable()?;
        let old = self.data.shift_remove(key);
        if old.is_some() {
            self.modified = true;
        }
        Ok(old)
    }

    /// `session.setdefault(key, default)`: modified only if it adds the key.
    pub fn setdefault(&mut self, key: &str, default: Tagged) -> Result<&Tagged, NoSecretKey> {
        self.writable()?;
        if !self.data.contains_key(key) {
            self.modified = true;
        }
        Ok(self.data.entry(key.to_owned()).or_insert(default))
    }

    /// `session.clear()`: always marks the session modified, so an empty
    /// session's cookie is deleted.
    pub fn clear(&mut self) -> Result<(), NoSecretKey> {
        self.writable()?;
        self.data.clear();
        self.modified = true;
        Ok(())
    }

    /// `session.permanent`: the truthiness of the `_permanent` key.
    pub fn permanent(&mut self) -> bool {
        self.accessed = true;
        self.is_permanent()
    }

    /// `session.permanent = value`: stores `_permanent` (modifying the
    /// session even when the value does not change, as Flask does).
    pub fn set_permanent(&mut self, value: bool) -> Result<(), NoSecretKey> {
        self.set("_permanent", Tagged::Bool(value))
    }

    /// `session.modified`, without marking the session accessed.
    pub fn modified(&self) -> bool {
        self.modified
    }

    /// `session.modified = value` (needed after changing a nested value,
    /// which the session cannot see). Allowed on a null session, as in Flask.
    pub fn set_modified(&mut self, value: bool) {
        self.accessed = true;
        self.modified = value;
    }

    /// `session.accessed`, without marking it.
    pub fn accessed(&self) -> bool {
        self.accessed
    }

    /// Marks the session accessed: the host calls this for any use of the
    /// `session` object that is not a method here.
    pub fn mark_accessed(&mut self) {
        self.accessed = true;
    }

    /// A value, without marking the session accessed.
    pub fn peek(&self, key: &str) -> Option<&Tagged> {
        self.data.get(key)
    }

    /// All data, without marking the session accessed.
    pub fn data(&self) -> &IndexMap<String, Tagged> {
        &self.data
    }

    fn is_permanent(&self) -> bool {
        self.data.get("_permanent").is_some_and(Tagged::truthy)
    }

    /// The session dict as one tagged value (what is written to the cookie).
    pub fn to_tagged(&self) -> Tagged {
        Tagged::Dict(
            self.data
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }
}

/// `SecureCookieSessionInterface.open_session`: the session from the
/// request's cookie value at `now` (seconds since the epoch).
///
/// `Err(NoSecretKey)` when no secret key is set: the caller then uses
/// [`Session::null`] (Flask's `make_null_session`); that is not an error
/// until the session is written to. A missing, empty, tampered, expired,
/// future-dated or otherwise unreadable cookie gives an empty session.
pub fn open_session(
    cfg: &SessionConfig,
    cookie_value: Option<&str>,
    now: u64,
) -> Result<Session, NoSecretKey> {
    open_session_with(cfg, cfg.serializer().as_ref(), cookie_value, now)
}

/// [`open_session`] with the serializer already built from `cfg` (its key
/// derivation is an HMAC per key: a host builds it once per app, not per
/// request).
pub fn open_session_with(
    cfg: &SessionConfig,
    serializer: Option<&Serializer>,
    cookie_value: Option<&str>,
    now: u64,
) -> Result<Session, NoSecretKey> {
    let serializer = serializer.ok_or(NoSecretKey)?;
    let Some(value) = cookie_value.filter(|v| !v.is_empty()) else {
        return Ok(Session::new());
    };
    let data = serializer
        .loads(value, Some(cfg.permanent_lifetime), now)
        .ok()
        .and_then(|json| json_tag::loads(&json).ok());
    Ok(match data {
        Some(Tagged::Dict(map)) => Session::from_data(map),
        _ => Session::new(),
    })
}

/// `SecureCookieSessionInterface.save_session`, at `now` (seconds since
/// the epoch): adds `Vary: Cookie` when the session was accessed, deletes
/// the cookie when the session was emptied, and otherwise writes it when
/// modified or when permanent with `refresh_each_request`; permanent
/// sessions get `Expires` = now + lifetime. A null session is skipped.
///
/// When the `Set-Cookie` value is over [`MAX_COOKIE_SIZE`] it is still
/// written; Werkzeug's warning is logged (target `flaskrs.app`, level warn)
/// and also returned as `Ok(Some(warning))`.
pub fn save_session(
    cfg: &SessionConfig,
    session: &Session,
    response: &mut Response,
    now: u64,
) -> Result<Option<String>, SaveError> {
    save_session_with(cfg, cfg.serializer().as_ref(), session, response, now)
}

/// [`save_session`] with the serializer already built from `cfg`.
pub fn save_session_with(
    cfg: &SessionConfig,
    serializer: Option<&Serializer>,
    session: &Session,
    response: &mut Response,
    now: u64,
) -> Result<Option<String>, SaveError> {
    if session.null {
        return Ok(None);
    }
    if session.accessed {
        cookie::add_vary_cookie(&mut response.headers);
    }
    if session.data.is_empty() {
        if session.modified {
            let header = cookie::session_cookie(cfg, "", cookie::Expiry::Delete)?;
            response.headers.append("Set-Cookie", header.line);
            cookie::add_vary_cookie(&mut response.headers);
        }
        return Ok(None);
    }
    let permanent = session.is_permanent();
    if !(session.modified || (permanent && cfg.refresh_each_request)) {
        return Ok(None);
    }
    let serializer = serializer.ok_or(SaveError::NoSecretKey)?;
    let value = serializer.dumps(&json_tag::dumps(&session.to_tagged()), now);
    let expiry = if permanent {
        cookie::Expiry::At(now.saturating_add(cfg.permanent_lifetime))
    } else {
        cookie::Expiry::Browser
    };
    let header = cookie::session_cookie(cfg, &value, expiry)?;
    if let Some(w) = &header.warning {
        log::warn!(target: "flaskrs.app", "{w}");
    }
    response.headers.append("Set-Cookie", header.line);
    cookie::add_vary_cookie(&mut response.headers);
    Ok(header.warning)
}

#[cfg(test)]
mod tests;
