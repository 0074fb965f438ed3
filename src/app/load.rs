//! Load-time pieces of an app: the built-in static route, the session
//! settings resolved from the config, and the check that refuses script
//! functions shadowing host methods.

use rhai::{Dynamic, Engine, AST};

use super::setup::{self, View};
use crate::config::Config;
use crate::error::{Error, SourceLocation};
use crate::scripting::engine;

/// Flask adds `/static/<path:filename>` (endpoint `static`) before anything
/// else, so it is the first rule and `url_for("static", ...)` always works.
pub(crate) fn add_static_route(setup: &setup::Setup) {
    let mut s = setup::lock(setup);
    let added = s.url_map.add(crate::routing::RuleSpec {
        rule: "/static/<path:filename>".to_owned(),
        endpoint: "static".to_owned(),
        methods: None,
        defaults: indexmap::IndexMap::new(),
        strict_slashes: None,
        provide_automatic_options: true,
    });
    debug_assert!(added.is_ok(), "the static rule is valid");
    s.views.insert(
        "static".to_owned(),
        View {
            kind: setup::ViewKind::Static,
            max_operations: None,
        },
    );
}

/// The session settings from the config (Flask's `SESSION_COOKIE_*`,
/// `SECRET_KEY`, `SECRET_KEY_FALLBACKS`, `PERMANENT_SESSION_LIFETIME`).
pub(crate) fn session_config(config: &Config) -> Result<crate::sessions::SessionConfig, String> {
    use crate::sessions::SessionConfig;
    use crate::signing::Digest;
    let key_bytes = |v: &Dynamic| -> Option<Vec<u8>> {
        if v.is_unit() {
            None
        } else if let Some(b) = v.read_lock::<rhai::Blob>() {
            Some(b.to_vec())
        } else {
            Some(v.to_string().into_bytes())
        }
    };
    let fallbacks = match config.get("SECRET_KEY_FALLBACKS") {
        v if v.is_unit() => Vec::new(),
        v => match v.read_lock::<rhai::Array>() {
            Some(a) => a.iter().filter_map(key_bytes).collect(),
            None => {
                return Err(
                    "config.SECRET_KEY_FALLBACKS must be an array of old keys, oldest first"
                        .to_owned(),
                )
            }
        },
    };
    let digest = match config.get_str("SESSION_DIGEST").as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("sha256") => Digest::Sha256,
        Some("sha1") => Digest::Sha1,
        Some(other) => {
            return Err(format!(
                "config.SESSION_DIGEST is '{other}'; use \"sha256\" (the default) or \"sha1\" (to share sessions with an unmodified Flask app)"
            ))
        }
    };
    let path = config
        .get_str("SESSION_COOKIE_PATH")
        .or_else(|| config.get_str("APPLICATION_ROOT"))
        .unwrap_or_else(|| "/".to_owned());
    Ok(SessionConfig {
        secret_key: key_bytes(&config.get("SECRET_KEY")),
        fallback_keys: fallbacks,
        cookie_name: config
            .get_str("SESSION_COOKIE_NAME")
            .unwrap_or_else(|| "session".to_owned()),
        domain: config.get_str("SESSION_COOKIE_DOMAIN"),
        path,
        httponly: config.get_bool("SESSION_COOKIE_HTTPONLY"),
        secure: config.get_bool("SESSION_COOKIE_SECURE"),
        samesite: config.get_str("SESSION_COOKIE_SAMESITE"),
        partitioned: config.get_bool("SESSION_COOKIE_PARTITIONED"),
        permanent_lifetime: config
            .get_int("PERMANENT_SESSION_LIFETIME")
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(31 * 24 * 3600),
        refresh_each_request: config.get_bool("SESSION_REFRESH_EACH_REQUEST"),
        digest,
    })
}

/// Refuses script functions that would replace a host method: Rhai lets a
/// script function win over a native method of the same name and arity, so
/// `fn clear(x)` would silently break `session.clear()`.
pub(crate) fn check_shadowing(
    engine: &Engine,
    ast: &AST,
    source: &str,
    file: &str,
) -> Result<(), Error> {
    let host = engine::host_methods(engine);
    for f in ast.iter_functions() {
        if let Some((_, _, sig)) = host
            .iter()
            .find(|(name, arity, _)| name == f.name && *arity == f.params.len())
        {
            let location = fn_definition_place(source, f.name, file);
            return Err(Error::Setup {
                message: format!(
                    "script function '{}' with {} parameter{} shadows the host method '{sig}'; Rhai would call the script function instead of the host's. Rename the script function.",
                    f.name,
                    f.params.len(),
                    if f.params.len() == 1 { "" } else { "s" }
                ),
                location,
            });
        }
    }
    Ok(())
}

/// Where `fn name` is defined in `source` (Rhai keeps no position for
/// function definitions in its public metadata).
fn fn_definition_place(source: &str, name: &str, file: &str) -> Option<SourceLocation> {
    for (i, line) in source.lines().enumerate() {
        let mut rest = line;
        let mut offset = 0;
        while let Some(at) = rest.find("fn ") {
            let after = rest[at + 3..].trim_start();
            if after.starts_with(name) && after[name.len()..].trim_start().starts_with('(') {
                return Some(SourceLocation {
                    file: file.to_owned(),
                    line: i + 1,
                    column: offset + at + 1,
                });
            }
            offset += at + 3;
            rest = &rest[at + 3..];
        }
    }
    None
}
