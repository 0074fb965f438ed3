//! SQLite for apps, on rusqlite with its bundled SQLite (nothing to install).
//!
//! [`Database`] is a cheap, cloneable handle; each thread that uses it gets
//! its own connection, opened on first use and kept in a thread-local cache,
//! so requests served concurrently by different workers never share one.
//! Every connection waits up to [`DbOptions::busy_timeout`] (5 s) for a lock
//! instead of failing at once, and file databases run in WAL mode so readers
//! do not block the writer nor the writer the readers.
//!
//! Parameters are always bound, never spliced into the SQL: positional `?`
//! (or `?NNN`) through [`Database::execute`] and friends, named `:name`,
//! `@name` or `$name` through the `*_named` methods. Rows come back as
//! [`Row`]s, ordered maps from column name to [`DbValue`].
//!
//! ```
//! use flaskrs::db::{Database, DbValue};
//!
//! let db = Database::open(":memory:").unwrap();
//! db.execute_script("CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT UNIQUE);").unwrap();
//! db.execute("INSERT INTO user (name) VALUES (?)", &["ada".into()]).unwrap();
//! assert_eq!(db.last_insert_id(), 1);
//! let row = db
//!     .query_one_named("SELECT * FROM user WHERE name = :name", &[("name".into(), "ada".into())])
//!     .unwrap()
//!     .unwrap();
//! assert_eq!(row["id"], DbValue::Integer(1));
//! let err = db.execute("INSERT INTO user (name) VALUES ('ada')", &[]).unwrap_err();
//! assert!(err.is_constraint());
//! assert_eq!(err.message(), "UNIQUE constraint failed: user.name");
//! ```
//!
//! # Request-scoped transactions
//!
//! Outside a transaction every statement commits on its own (SQLite's
//! autocommit). The app layer makes a request all-or-nothing like this:
//!
//! 1. before the request's first write, call [`Database::ensure_transaction`]
//!    (a no-op when one is already open): it runs `BEGIN IMMEDIATE`, taking
//!    the write lock up front so the request cannot fail later on a
//!    read-to-write lock upgrade; reads alone never open a transaction;
//! 2. when the request ends, on every path, call
//!    [`Database::finish_request`] with whether it succeeded: it commits on
//!    success and rolls back on failure (and rolls back if the commit
//!    itself fails), and does nothing when the request wrote nothing.
//!
//! The transaction lives on the worker thread's connection, so it must begin
//! and end on the thread that serves the request, as flaskrs's handlers do.
//! [`Database::begin`], [`Database::commit`] and [`Database::rollback`] are
//! the plain building blocks; `commit` and `rollback` are no-ops outside a
//! transaction, so calling them twice is harmless.
//!
//! # Caveats
//!
//! - `:memory:` opens one private in-memory database per [`Database`] (not
//!   per connection: the threads share it through SQLite's `memdb` VFS). It
//!   has no WAL, so a writer's open transaction makes readers on other
//!   threads wait; use a file for concurrent serving.
//! - A thread keeps its connection until the thread ends or, after the
//!   [`Database`] (all clones) is dropped, until it next uses any database.
//! - Foreign keys are enforced by default ([`DbOptions::foreign_keys`]);
//!   Python's `sqlite3` leaves them off.
//! - Duplicate column names in a row (`SELECT a.id, b.id ...`) keep the
//!   first column's value, as `sqlite3.Row["id"]` does.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use indexmap::IndexMap;
use rusqlite::{Connection, OpenFlags, Statement};

mod error;
mod value;

pub use error::{DbError, DbErrorKind};
pub use value::DbValue;

/// A result row: column name → value, in the `SELECT`'s column order.
pub type Row = IndexMap<String, DbValue>;

/// Connection settings, applied to every connection a [`Database`] opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbOptions {
    /// How long a statement waits for another connection's lock before
    /// failing with [`DbErrorKind::Busy`]. Default 5 seconds (Python's
    /// `sqlite3.connect` timeout).
    pub busy_timeout: Duration,
    /// Put file databases in WAL mode (persistent in the file). Default on.
    pub wal: bool,
    /// Enforce `FOREIGN KEY` constraints. Default on.
    pub foreign_keys: bool,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            busy_timeout: Duration::from_secs(5),
            wal: true,
            foreign_keys: true,
        }
    }
}

/// A SQLite database shared by all threads, each with its own connection.
///
/// Cloning is cheap and clones share the database and the per-thread
/// connections.
#[derive(Debug, Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Identifies this database's connections in the thread-local caches.
    id: u64,
    /// What SQLite opens: a path, or a `file:` URI for in-memory databases.
    target: PathBuf,
    /// The file path, `None` for `:memory:`.
    path: Option<PathBuf>,
    options: DbOptions,
    /// Keeps a shared in-memory database alive while the handle lives (SQLite
    /// frees a `memdb` database with its last connection).
    _keeper: Option<Mutex<Connection>>,
}

/// A connection cached for one thread.
struct Cached {
    id: u64,
    owner: Weak<Inner>,
    conn: Connection,
}

thread_local! {
    static CONNECTIONS: RefCell<Vec<Cached>> = const { RefCell::new(Vec::new()) };
}

/// Source of [`Inner::id`]s, unique within the process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Database {
    /// Opens (creating if needed) the database file at `path` with the
    /// default [`DbOptions`]; `":memory:"` opens a new in-memory database.
    ///
    /// # Errors
    /// [`DbErrorKind::Open`] when the file cannot be opened or is not a
    /// database.
    pub fn open(path: impl AsRef<Path>) -> Result<Database, DbError> {
        Database::open_with(path, DbOptions::default())
    }

    /// [`Database::open`] with explicit options.
    ///
    /// # Errors
    /// As [`Database::open`].
    pub fn open_with(path: impl AsRef<Path>, options: DbOptions) -> Result<Database, DbError> {
        let path = path.as_ref();
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let memory = path == Path::new(":memory:");
        let (target, file_path) = if memory {
            // memdb names starting with '/' are shared by every connection of
            // the process that opens the same name.
            (
                PathBuf::from(format!("file:/flaskrs-memdb-{id}?vfs=memdb")),
                None,
            )
        } else {
            (path.to_path_buf(), Some(path.to_path_buf()))
        };
        let first = open_connection(&target, &options)?;
        if !memory && options.wal {
            // journal_mode answers with a row, so it is read, not executed.
            first
                .query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
                .map_err(|e| DbError::from_sqlite(e, Some("PRAGMA journal_mode=WAL")))?;
        }
        // The first connection checks the file at once; for a file database
        // it then serves this thread, for `:memory:` it keeps the data alive.
        let (keeper, cached) = if memory {
            (Some(Mutex::new(first)), None)
        } else {
            (None, Some(first))
        };
        let inner = Arc::new(Inner {
            id,
            target,
            path: file_path,
            options,
            _keeper: keeper,
        });
        if let Some(conn) = cached {
            // If this thread is shutting down the connection is dropped and
            // reopened on demand; nothing is lost.
            let _ = CONNECTIONS.try_with(|cell| {
                if let Ok(mut list) = cell.try_borrow_mut() {
                    list.push(Cached {
                        id,
                        owner: Arc::downgrade(&inner),
                        conn,
                    });
                }
            });
        }
        Ok(Database { inner })
    }

    /// The database file, or `None` for an in-memory database.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The options the connections are opened with.
    #[must_use]
    pub fn options(&self) -> &DbOptions {
        &self.inner.options
    }

    /// Runs one statement with positional parameters and returns the number
    /// of rows it inserted, updated or deleted (0 for other statements).
    ///
    /// A statement that returns rows (`SELECT`, `PRAGMA`, `RETURNING`) is
    /// run to completion and its rows dropped, like Python's
    /// `conn.execute(...)` without a fetch.
    ///
    /// # Errors
    /// [`DbError`] with SQLite's message and `sql`; [`DbErrorKind::Params`]
    /// when the number of parameters differs from the statement's.
    pub fn execute(&self, sql: &str, params: &[DbValue]) -> Result<usize, DbError> {
        self.run(sql, |stmt| bind_positional(stmt, params), execute_bound)
    }

    /// [`Database::execute`] with named parameters (`:name`, `@name`,
    /// `$name`); a name may be given with or without its prefix.
    ///
    /// # Errors
    /// As [`Database::execute`]; [`DbErrorKind::Params`] when the statement
    /// uses a name that has no value, or uses `?` parameters. Names the
    /// statement does not use are ignored, as in Python's `sqlite3`.
    pub fn execute_named(&self, sql: &str, params: &[(String, DbValue)]) -> Result<usize, DbError> {
        self.run(sql, |stmt| bind_named(stmt, params), execute_bound)
    }

    /// Runs a query with positional parameters and returns all its rows.
    ///
    /// # Errors
    /// As [`Database::execute`].
    pub fn query(&self, sql: &str, params: &[DbValue]) -> Result<Vec<Row>, DbError> {
        self.run(
            sql,
            |stmt| bind_positional(stmt, params),
            |_, stmt| read_rows(stmt, usize::MAX),
        )
    }

    /// [`Database::query`] with named parameters.
    ///
    /// # Errors
    /// As [`Database::execute_named`].
    pub fn query_named(
        &self,
        sql: &str,
        params: &[(String, DbValue)],
    ) -> Result<Vec<Row>, DbError> {
        self.run(
            sql,
            |stmt| bind_named(stmt, params),
            |_, stmt| read_rows(stmt, usize::MAX),
        )
    }

    /// Runs a query and returns its first row, or `None` when it has none
    /// (Python's `fetchone()`); further rows are not read.
    ///
    /// # Errors
    /// As [`Database::execute`].
    pub fn query_one(&self, sql: &str, params: &[DbValue]) -> Result<Option<Row>, DbError> {
        self.run(
            sql,
            |stmt| bind_positional(stmt, params),
            |_, stmt| Ok(read_rows(stmt, 1)?.pop()),
        )
    }

    /// [`Database::query_one`] with named parameters.
    ///
    /// # Errors
    /// As [`Database::execute_named`].
    pub fn query_one_named(
        &self,
        sql: &str,
        params: &[(String, DbValue)],
    ) -> Result<Option<Row>, DbError> {
        self.run(
            sql,
            |stmt| bind_named(stmt, params),
            |_, stmt| Ok(read_rows(stmt, 1)?.pop()),
        )
    }

    /// Runs a script of `;`-separated statements without parameters, such
    /// as a schema file for an `init-db` command (Python's
    /// `executescript`, without its implicit `COMMIT` first).
    ///
    /// # Errors
    /// The first failing statement's [`DbError`]; its SQL is that statement
    /// when SQLite rejected it while preparing (syntax, existing table),
    /// else the whole script. Statements before it stay applied unless the
    /// script runs in a transaction.
    pub fn execute_script(&self, sql: &str) -> Result<(), DbError> {
        self.with_conn(|conn| {
            conn.execute_batch(sql)
                .map_err(|e| DbError::from_sqlite(e, Some(sql)))
        })
    }

    /// The rowid of the last row this thread's connection inserted (0 when
    /// it has inserted none), like `cursor.lastrowid`. A request runs on one
    /// thread, so this is the request's own last insert.
    #[must_use]
    pub fn last_insert_id(&self) -> i64 {
        self.peek_conn(Connection::last_insert_rowid).unwrap_or(0)
    }

    /// `true` while this thread's connection has a transaction open. Does
    /// not open a connection.
    #[must_use]
    pub fn in_transaction(&self) -> bool {
        self.peek_conn(|conn| !conn.is_autocommit())
            .unwrap_or(false)
    }

    /// Starts a transaction on this thread's connection with
    /// `BEGIN IMMEDIATE` (the write lock is taken now, waiting up to the
    /// busy timeout).
    ///
    /// # Errors
    /// [`DbErrorKind::Sql`] when a transaction is already open;
    /// [`DbErrorKind::Busy`] when another connection kept the write lock.
    pub fn begin(&self) -> Result<(), DbError> {
        self.exec_plain("BEGIN IMMEDIATE")
    }

    /// Starts a transaction unless one is open; returns whether it started
    /// one. This is what the app layer calls before a request's writes.
    ///
    /// # Errors
    /// As [`Database::begin`].
    pub fn ensure_transaction(&self) -> Result<bool, DbError> {
        if self.in_transaction() {
            return Ok(false);
        }
        self.begin().map(|()| true)
    }

    /// Commits this thread's open transaction; does nothing without one.
    ///
    /// # Errors
    /// [`DbError`] when the commit fails; the transaction is then still
    /// open, to be rolled back (as [`Database::finish_request`] does).
    pub fn commit(&self) -> Result<(), DbError> {
        if !self.in_transaction() {
            return Ok(());
        }
        self.exec_plain("COMMIT")
    }

    /// Rolls back this thread's open transaction; does nothing without one.
    ///
    /// # Errors
    /// [`DbError`] when SQLite cannot roll back.
    pub fn rollback(&self) -> Result<(), DbError> {
        if !self.in_transaction() {
            return Ok(());
        }
        self.exec_plain("ROLLBACK")
    }

    /// Ends a request: commits its transaction if `success`, else rolls it
    /// back; when the commit fails the transaction is rolled back and the
    /// commit's error returned. Does nothing if the request opened no
    /// transaction, so it is cheap to call after every request.
    ///
    /// # Errors
    /// The commit's (or the rollback's) [`DbError`].
    pub fn finish_request(&self, success: bool) -> Result<(), DbError> {
        if !self.in_transaction() {
            return Ok(());
        }
        if !success {
            return self.rollback();
        }
        self.commit().inspect_err(|_| {
            // Leaving the transaction open would leak it into the next
            // request served by this thread.
            let _ = self.rollback();
        })
    }

    /// Runs a parameterless statement (transaction control).
    fn exec_plain(&self, sql: &str) -> Result<(), DbError> {
        self.with_conn(|conn| {
            conn.execute_batch(sql)
                .map_err(|e| DbError::from_sqlite(e, Some(sql)))
        })
    }

    /// Prepares `sql` on this thread's connection, binds, and runs `read`;
    /// every failure carries `sql`.
    fn run<T>(
        &self,
        sql: &str,
        bind: impl FnOnce(&mut Statement<'_>) -> Result<(), DbError>,
        read: impl FnOnce(&Connection, &mut Statement<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare_cached(sql)
                .map_err(|e| DbError::from_sqlite(e, Some(sql)))?;
            bind(&mut stmt)
                .and_then(|()| read(conn, &mut stmt))
                .map_err(|mut e| {
                    if e.sql().is_none() {
                        e = DbError::new(e.kind(), e.message(), Some(sql));
                    }
                    e
                })
        })
    }

    /// Runs `f` with this thread's connection, opening it on first use.
    fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let unavailable = || {
            DbError::new(
                DbErrorKind::Other,
                "this thread's database connection is unavailable",
                None,
            )
        };
        CONNECTIONS
            .try_with(|cell| {
                let mut list = cell.try_borrow_mut().map_err(|_| unavailable())?;
                // Connections of dropped databases go first: this keeps the
                // cache small and closes their files.
                list.retain(|c| c.owner.strong_count() > 0);
                let pos = match list.iter().position(|c| c.id == self.inner.id) {
                    Some(pos) => pos,
                    None => {
                        let conn = open_connection(&self.inner.target, &self.inner.options)?;
                        list.push(Cached {
                            id: self.inner.id,
                            owner: Arc::downgrade(&self.inner),
                            conn,
                        });
                        list.len() - 1
                    }
                };
                f(&list[pos].conn)
            })
            .map_err(|_| unavailable())?
    }

    /// Runs `f` on this thread's connection if it has one, without opening.
    fn peek_conn<T>(&self, f: impl FnOnce(&Connection) -> T) -> Option<T> {
        CONNECTIONS
            .try_with(|cell| {
                let list = cell.try_borrow().ok()?;
                list.iter()
                    .find(|c| c.id == self.inner.id)
                    .map(|c| f(&c.conn))
            })
            .ok()
            .flatten()
    }
}

/// Opens one connection and applies the per-connection options.
fn open_connection(target: &Path, options: &DbOptions) -> Result<Connection, DbError> {
    let open_err = |e: rusqlite::Error| {
        let mut err = DbError::from_sqlite(e, None);
        if err.kind() == DbErrorKind::Sql {
            err = DbError::new(DbErrorKind::Open, err.message(), None);
        }
        DbError::new(
            err.kind(),
            format!("{}: {}", err.message(), target.display()),
            None,
        )
    };
    // Default flags: read-write, create, URI names, no SQLite mutex (each
    // connection is used by one thread at a time).
    let conn = Connection::open_with_flags(target, OpenFlags::default()).map_err(open_err)?;
    conn.busy_timeout(options.busy_timeout).map_err(open_err)?;
    conn.pragma_update(None, "foreign_keys", options.foreign_keys)
        .map_err(open_err)?;
    // Opening is lazy in SQLite: read the schema now so a file that is not
    // a database fails here, with the path, rather than at the first query.
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))
        .map_err(open_err)?;
    Ok(conn)
}

fn bind_positional(stmt: &mut Statement<'_>, params: &[DbValue]) -> Result<(), DbError> {
    let expected = stmt.parameter_count();
    if params.len() != expected {
        return Err(DbError::new(
            DbErrorKind::Params,
            format!(
                "Incorrect number of bindings supplied. The current statement uses {expected}, \
                 and there are {} supplied.",
                params.len()
            ),
            None,
        ));
    }
    for (i, value) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, value)
            .map_err(|e| DbError::from_sqlite(e, None))?;
    }
    Ok(())
}

fn bind_named(stmt: &mut Statement<'_>, params: &[(String, DbValue)]) -> Result<(), DbError> {
    let mut bound = HashSet::new();
    for (name, value) in params {
        let index = if name.starts_with([':', '@', '$']) {
            param_index(stmt, name)?
        } else {
            let mut found = None;
            for prefix in [':', '@', '$'] {
                found = param_index(stmt, &format!("{prefix}{name}"))?;
                if found.is_some() {
                    break;
                }
            }
            found
        };
        if let Some(index) = index {
            stmt.raw_bind_parameter(index, value)
                .map_err(|e| DbError::from_sqlite(e, None))?;
            bound.insert(index);
        }
    }
    for index in 1..=stmt.parameter_count() {
        if bound.contains(&index) {
            continue;
        }
        let message = match stmt.parameter_name(index) {
            Some(name) if !name.starts_with('?') => {
                format!("You did not supply a value for binding parameter {name}.")
            }
            _ => "Binding positional parameters (?) needs a list of values, not names.".to_owned(),
        };
        return Err(DbError::new(DbErrorKind::Params, message, None));
    }
    Ok(())
}

fn param_index(stmt: &Statement<'_>, name: &str) -> Result<Option<usize>, DbError> {
    stmt.parameter_index(name)
        .map_err(|e| DbError::from_sqlite(e, None))
}

/// Runs a bound statement for its effect.
fn execute_bound(conn: &Connection, stmt: &mut Statement<'_>) -> Result<usize, DbError> {
    if stmt.column_count() == 0 {
        return stmt
            .raw_execute()
            .map_err(|e| DbError::from_sqlite(e, None));
    }
    // It returns rows: step through them so the statement (`SELECT`,
    // `PRAGMA`, `INSERT ... RETURNING`) completes. `changes()` would report
    // the previous INSERT/UPDATE/DELETE for a PRAGMA or SELECT; the growth of
    // the connection's running total is this statement's own.
    let before = conn.total_changes();
    let mut rows = stmt.raw_query();
    while rows
        .next()
        .map_err(|e| DbError::from_sqlite(e, None))?
        .is_some()
    {}
    let changed = conn.total_changes().saturating_sub(before);
    Ok(usize::try_from(changed).unwrap_or(usize::MAX))
}

/// Reads up to `limit` rows of a bound statement.
fn read_rows(stmt: &mut Statement<'_>, limit: usize) -> Result<Vec<Row>, DbError> {
    let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while out.len() < limit {
        let Some(row) = rows.next().map_err(|e| DbError::from_sqlite(e, None))? else {
            break;
        };
        let mut map = Row::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let raw = row.get_ref(i).map_err(|e| DbError::from_sqlite(e, None))?;
            let value = DbValue::from_sqlite(raw).map_err(|_| {
                DbError::new(
                    DbErrorKind::Other,
                    format!("Could not decode to UTF-8 column '{name}'"),
                    None,
                )
            })?;
            // sqlite3.Row["id"] answers the first of duplicate names.
            map.entry(name.clone()).or_insert(value);
        }
        out.push(map);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
