//! The SQLite extension: `db` for scripts, on [`crate::db::Database`].
//!
//! ```rhai
//! config.DATABASE = "flaskr.sqlite";           // relative to the app's folder
//! let rows = db.query("SELECT id, title FROM post WHERE author_id = ?", [g.user.id]);
//! db.execute("INSERT INTO post (title, body, author_id) VALUES (?, ?, ?)", [title, body, id]);
//! let id = db.last_insert_id();
//! let user = db.query_one("SELECT * FROM user WHERE username = :name", #{ name: username });
//! ```
//!
//! Parameters are always bound, never interpolated. Inside a request the
//! first write opens a transaction that commits when the request succeeds
//! and rolls back when it fails; outside a request (CLI commands) every
//! statement commits on its own. Each worker thread has its own connection.
//! A failing statement raises an error whose text starts with Python's
//! exception class (`sqlite3.IntegrityError: UNIQUE constraint failed: ...`),
//! so `try { ... } catch (e) { ... }` can tell them apart.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use rhai::{Array, Blob, Dynamic, EvalAltResult, ImmutableString, Map};

use crate::config::Config;
use crate::db::{Database, DbError, DbValue, Row};
use crate::extensions::{Extension, ExtensionSetup, RequestScope};
use crate::scripting::{pure, runtime_err};

/// The extension; see the module docs.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sqlite;

/// `db`: opens `config.DATABASE` on first use.
#[derive(Clone)]
struct DbHandle {
    config: Config,
    root: PathBuf,
    db: Arc<OnceLock<Database>>,
}

impl std::fmt::Debug for DbHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<db>")
    }
}

impl DbHandle {
    fn database(&self) -> Result<&Database, Box<EvalAltResult>> {
        if let Some(db) = self.db.get() {
            return Ok(db);
        }
        let Some(path) = self.config.get_str("DATABASE") else {
            return Err(runtime_err(
                "RuntimeError: config.DATABASE is not set. Set it to the SQLite file to use, for example config.DATABASE = \"app.sqlite\" (relative paths resolve from the app's folder).",
            ));
        };
        let full = if path == ":memory:" {
            PathBuf::from(path)
        } else {
            self.root.join(path)
        };
        let opened = Database::open(&full).map_err(db_err)?;
        Ok(self.db.get_or_init(|| opened))
    }

    /// Inside a request, opens the request's transaction before a write.
    fn before_write(&self, db: &Database) -> Result<(), Box<EvalAltResult>> {
        if RequestScope::current().is_some() {
            db.ensure_transaction().map_err(db_err)?;
        }
        Ok(())
    }
}

fn db_err(e: DbError) -> Box<EvalAltResult> {
    runtime_err(format!("sqlite3.{}: {}", e.python_class(), e))
}

fn to_db(v: &Dynamic) -> Result<DbValue, Box<EvalAltResult>> {
    if v.is_unit() {
        Ok(DbValue::Null)
    } else if let Ok(b) = v.as_bool() {
        Ok(DbValue::Integer(i64::from(b)))
    } else if let Ok(i) = v.as_int() {
        Ok(DbValue::Integer(i))
    } else if let Ok(f) = v.as_float() {
        Ok(DbValue::Real(f))
    } else if let Some(s) = v.read_lock::<ImmutableString>() {
        Ok(DbValue::Text(s.to_string()))
    } else if let Some(b) = v.read_lock::<Blob>() {
        Ok(DbValue::Blob(b.to_vec()))
    } else if let Some(m) = v.read_lock::<crate::markup::Markup>() {
        Ok(DbValue::Text(m.0.clone()))
    } else {
        Err(runtime_err(format!(
            "sqlite3.ProgrammingError: a parameter of type {} cannot be bound; pass a string, number, bool, blob or ()",
            v.type_name().rsplit("::").next().unwrap_or("?")
        )))
    }
}

fn from_db(v: &DbValue) -> Dynamic {
    match v {
        DbValue::Null => Dynamic::UNIT,
        DbValue::Integer(i) => (*i).into(),
        DbValue::Real(f) => (*f).into(),
        DbValue::Text(s) => s.clone().into(),
        DbValue::Blob(b) => Dynamic::from_blob(b.clone()),
    }
}

fn row_map(row: &Row) -> Dynamic {
    let mut m = Map::new();
    for (k, v) in row {
        m.insert(k.as_str().into(), from_db(v));
    }
    Dynamic::from_map(m)
}

/// Positional (`[a, b]`) or named (`#{ name: a }`) parameters.
enum Params {
    Positional(Vec<DbValue>),
    Named(Vec<(String, DbValue)>),
}

fn params(p: &Dynamic) -> Result<Params, Box<EvalAltResult>> {
    if let Some(a) = p.read_lock::<Array>() {
        return a
            .iter()
            .map(to_db)
            .collect::<Result<_, _>>()
            .map(Params::Positional);
    }
    if let Some(m) = p.read_lock::<Map>() {
        return m
            .iter()
            .map(|(k, v)| Ok((k.to_string(), to_db(v)?)))
            .collect::<Result<_, _>>()
            .map(Params::Named);
    }
    if p.is_unit() {
        return Ok(Params::Positional(Vec::new()));
    }
    Err(runtime_err(
        "sqlite3.ProgrammingError: parameters must be an array ([a, b] for ?) or a map (#{ name: a } for :name)",
    ))
}

fn execute(h: &DbHandle, sql: &str, p: &Dynamic) -> Result<i64, Box<EvalAltResult>> {
    let db = h.database()?;
    h.before_write(db)?;
    let n = match params(p)? {
        Params::Positional(v) => db.execute(sql, &v),
        Params::Named(v) => db.execute_named(sql, &v),
    }
    .map_err(db_err)?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

fn query(h: &DbHandle, sql: &str, p: &Dynamic) -> Result<Array, Box<EvalAltResult>> {
    let db = h.database()?;
    let rows = match params(p)? {
        Params::Positional(v) => db.query(sql, &v),
        Params::Named(v) => db.query_named(sql, &v),
    }
    .map_err(db_err)?;
    Ok(rows.iter().map(row_map).collect())
}

fn query_one(h: &DbHandle, sql: &str, p: &Dynamic) -> Result<Dynamic, Box<EvalAltResult>> {
    let db = h.database()?;
    let row = match params(p)? {
        Params::Positional(v) => db.query_one(sql, &v),
        Params::Named(v) => db.query_one_named(sql, &v),
    }
    .map_err(db_err)?;
    Ok(row.as_ref().map_or(Dynamic::UNIT, row_map))
}

impl Extension for Sqlite {
    fn name(&self) -> &str {
        "sqlite"
    }

    fn init_app(&self, app: &mut ExtensionSetup<'_>) {
        let handle = DbHandle {
            config: app.config().clone(),
            root: app.root().to_path_buf(),
            db: Arc::new(OnceLock::new()),
        };
        let engine = app.engine();
        engine.register_type_with_name::<DbHandle>("Database");
        pure!(engine, "execute", |h: &mut DbHandle, sql: &str| execute(
            h,
            sql,
            &Dynamic::UNIT
        ));
        pure!(
            engine,
            "execute",
            |h: &mut DbHandle, sql: &str, p: Dynamic| execute(h, sql, &p)
        );
        pure!(engine, "query", |h: &mut DbHandle, sql: &str| query(
            h,
            sql,
            &Dynamic::UNIT
        ));
        pure!(
            engine,
            "query",
            |h: &mut DbHandle, sql: &str, p: Dynamic| query(h, sql, &p)
        );
        pure!(
            engine,
            "query_one",
            |h: &mut DbHandle, sql: &str| query_one(h, sql, &Dynamic::UNIT)
        );
        pure!(
            engine,
            "query_one",
            |h: &mut DbHandle, sql: &str, p: Dynamic| query_one(h, sql, &p)
        );
        pure!(engine, "last_insert_id", |h: &mut DbHandle| -> Result<
            i64,
            Box<EvalAltResult>,
        > {
            Ok(h.database()?.last_insert_id())
        });
        pure!(engine, "execute_script", |h: &mut DbHandle,
                                         sql: &str|
         -> Result<
            (),
            Box<EvalAltResult>,
        > {
            h.database()?.execute_script(sql).map_err(db_err)
        });
        pure!(engine, "execute_script_file", |h: &mut DbHandle,
                                              path: &str|
         -> Result<
            (),
            Box<EvalAltResult>,
        > {
            // Schema files live beside the app (safe-joined below its folder).
            let file = crate::static_files::safe_join(&h.root, path).ok_or_else(|| {
                runtime_err(format!(
                    "FileNotFoundError: no file '{path}' in the app's folder"
                ))
            })?;
            let sql = std::fs::read_to_string(&file)
                .map_err(|e| runtime_err(format!("reading '{path}' failed: {e}")))?;
            h.database()?.execute_script(&sql).map_err(db_err)
        });
        pure!(
            engine,
            "commit",
            |h: &mut DbHandle| -> Result<(), Box<EvalAltResult>> {
                h.database()?.commit().map_err(db_err)
            }
        );
        pure!(
            engine,
            "rollback",
            |h: &mut DbHandle| -> Result<(), Box<EvalAltResult>> {
                h.database()?.rollback().map_err(db_err)
            }
        );
        app.global("db", Dynamic::from(handle.clone()));
        app.teardown_request(move |_scope, error| {
            if let Some(db) = handle.db.get() {
                if db.in_transaction() {
                    if let Err(e) = db.finish_request(error.is_none()) {
                        log::error!(target: "flaskrs", "finishing the request's database transaction failed: {e}");
                    }
                }
            }
        });
    }
}
