//! `app.config`: an ordered map of settings with Flask's defaults, shared by
//! the script (as `config`) and the host (through typed getters).

use std::sync::{Arc, RwLock};

use indexmap::IndexMap;
use rhai::Dynamic;

/// The app's configuration. Cloning gives another handle to the same map,
/// as `app.config` is one object in Flask.
#[derive(Debug, Clone)]
pub struct Config {
    values: Arc<RwLock<IndexMap<String, Dynamic>>>,
}

/// `MAX_CONTENT_LENGTH`'s default: 16 MiB (Flask leaves it unset; a host
/// facing the network needs a bound, so flaskrs sets one).
pub const DEFAULT_MAX_CONTENT_LENGTH: i64 = 16 * 1024 * 1024;

impl Default for Config {
    fn default() -> Self {
        let mut m = IndexMap::new();
        let mut set = |k: &str, v: Dynamic| {
            m.insert(k.to_owned(), v);
        };
        set("DEBUG", false.into());
        set("TESTING", false.into());
        set("PROPAGATE_EXCEPTIONS", Dynamic::UNIT);
        set("SECRET_KEY", Dynamic::UNIT);
        set("SECRET_KEY_FALLBACKS", Dynamic::UNIT);
        set(
            "PERMANENT_SESSION_LIFETIME",
            Dynamic::from(31_i64 * 24 * 3600),
        );
        set("SERVER_NAME", Dynamic::UNIT);
        set("APPLICATION_ROOT", "/".into());
        set("SESSION_COOKIE_NAME", "session".into());
        set("SESSION_COOKIE_DOMAIN", Dynamic::UNIT);
        set("SESSION_COOKIE_PATH", Dynamic::UNIT);
        set("SESSION_COOKIE_HTTPONLY", true.into());
        set("SESSION_COOKIE_SECURE", false.into());
        set("SESSION_COOKIE_PARTITIONED", false.into());
        set("SESSION_COOKIE_SAMESITE", Dynamic::UNIT);
        set("SESSION_REFRESH_EACH_REQUEST", true.into());
        set("SESSION_DIGEST", "sha256".into());
        set(
            "MAX_CONTENT_LENGTH",
            Dynamic::from(DEFAULT_MAX_CONTENT_LENGTH),
        );
        set("MAX_FORM_MEMORY_SIZE", Dynamic::from(500_000_i64));
        set("MAX_FORM_PARTS", Dynamic::from(1000_i64));
        set("SEND_FILE_MAX_AGE_DEFAULT", Dynamic::UNIT);
        set("TRAP_BAD_REQUEST_ERRORS", Dynamic::UNIT);
        set("TRAP_HTTP_EXCEPTIONS", false.into());
        set("EXPLAIN_TEMPLATE_LOADING", false.into());
        set("PREFERRED_URL_SCHEME", "http".into());
        set("TEMPLATES_AUTO_RELOAD", Dynamic::UNIT);
        set("MAX_COOKIE_SIZE", Dynamic::from(4093_i64));
        set("PROVIDE_AUTOMATIC_OPTIONS", true.into());
        set("MAX_OPERATIONS", Dynamic::from(5_000_000_i64));
        set("REQUEST_TIMEOUT", Dynamic::from(10_i64));
        set("MAX_CALL_LEVELS", Dynamic::from(48_i64));
        set("MAX_EXPR_DEPTH", Dynamic::from(64_i64));
        set("MAX_STRING_SIZE", Dynamic::from(16_i64 * 1024 * 1024));
        set("MAX_ARRAY_SIZE", Dynamic::from(1_000_000_i64));
        set("MAX_MAP_SIZE", Dynamic::from(1_000_000_i64));
        set("LOG_LEVEL", Dynamic::UNIT);
        Config {
            values: Arc::new(RwLock::new(m)),
        }
    }
}

impl Config {
    /// The value of `key`, `()` when unset.
    pub fn get(&self, key: &str) -> Dynamic {
        self.read().get(key).cloned().unwrap_or(Dynamic::UNIT)
    }

    /// Sets `key` (the script's `config.KEY = value`).
    pub fn set(&self, key: &str, value: Dynamic) {
        self.values
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned(), value);
    }

    /// Whether `key` has been set (to anything, `()` included).
    pub fn contains(&self, key: &str) -> bool {
        self.read().contains_key(key)
    }

    /// The keys in insertion order.
    pub fn keys(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// A copy of every entry, in order.
    pub fn entries(&self) -> Vec<(String, Dynamic)> {
        self.read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// `key` as a bool (Python truthiness for `()`, numbers and strings).
    pub fn get_bool(&self, key: &str) -> bool {
        truthy(&self.get(key))
    }

    /// `key` as an integer, `None` when unset or not a number.
    pub fn get_int(&self, key: &str) -> Option<i64> {
        let v = self.get(key);
        if let Ok(i) = v.as_int() {
            Some(i)
        } else if let Ok(f) = v.as_float() {
            Some(f as i64)
        } else {
            None
        }
    }

    /// `key` as a string, `None` when unset (`()`).
    pub fn get_str(&self, key: &str) -> Option<String> {
        let v = self.get(key);
        if v.is_unit() {
            None
        } else {
            Some(v.to_string())
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, IndexMap<String, Dynamic>> {
        self.values.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Python's truthiness for a script value.
pub fn truthy(v: &Dynamic) -> bool {
    if v.is_unit() {
        false
    } else if let Ok(b) = v.as_bool() {
        b
    } else if let Ok(i) = v.as_int() {
        i != 0
    } else if let Ok(f) = v.as_float() {
        f != 0.0
    } else if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        !s.is_empty()
    } else if let Some(a) = v.read_lock::<rhai::Array>() {
        !a.is_empty()
    } else if let Some(m) = v.read_lock::<rhai::Map>() {
        !m.is_empty()
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_handles_share_state() {
        let c = Config::default();
        assert_eq!(c.get_int("MAX_CONTENT_LENGTH"), Some(16 * 1024 * 1024));
        assert!(c.get_str("SECRET_KEY").is_none());
        let c2 = c.clone();
        c2.set("SECRET_KEY", "k".into());
        assert_eq!(c.get_str("SECRET_KEY").as_deref(), Some("k"));
        assert!(c.get_bool("SESSION_COOKIE_HTTPONLY"));
    }
}
