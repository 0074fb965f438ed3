//! [`DbError`]: SQLite's message, the SQL that failed, and a kind to branch on.

use std::fmt;

use rusqlite::ErrorCode;

/// What sort of failure a [`DbError`] is; each maps to the Python `sqlite3`
/// exception class a Flask app would catch ([`DbError::python_class`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DbErrorKind {
    /// A constraint failed: `UNIQUE`, `NOT NULL`, `CHECK`, `FOREIGN KEY`
    /// (Python's `IntegrityError`).
    Constraint,
    /// The database stayed locked by another connection past the busy
    /// timeout (`OperationalError`).
    Busy,
    /// SQLite rejected or failed the statement: syntax error, missing table,
    /// read-only file, nested `BEGIN`... (`OperationalError`).
    Sql,
    /// The parameters do not fit the statement: wrong count, a missing
    /// named value, several statements where one is expected
    /// (`ProgrammingError`).
    Params,
    /// The database file could not be opened (`OperationalError`).
    Open,
    /// A value could not be read back (text that is not UTF-8) or the
    /// thread's connection was unavailable (`DatabaseError`).
    Other,
}

/// A database failure: SQLite's own message plus the SQL that caused it.
///
/// `Display` shows the message followed by the SQL (cut at 300 characters);
/// [`DbError::message`] alone reads like Python's `str(exc)`. Parameter
/// values are never included, so passwords and tokens do not end up in logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbError {
    kind: DbErrorKind,
    message: String,
    sql: Option<String>,
}

/// How much SQL `Display` shows: enough to find the statement, short enough
/// for a log line when the SQL is a whole schema script.
const SQL_DISPLAY_CHARS: usize = 300;

impl DbError {
    pub(crate) fn new(kind: DbErrorKind, message: impl Into<String>, sql: Option<&str>) -> Self {
        DbError {
            kind,
            message: message.into(),
            sql: sql.map(str::to_owned),
        }
    }

    /// Classifies a rusqlite error, attaching `sql` when there is one.
    pub(crate) fn from_sqlite(err: rusqlite::Error, sql: Option<&str>) -> Self {
        let kind = match &err {
            rusqlite::Error::SqliteFailure(e, _)
            | rusqlite::Error::SqlInputError { error: e, .. } => match e.code {
                ErrorCode::ConstraintViolation => DbErrorKind::Constraint,
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => DbErrorKind::Busy,
                ErrorCode::CannotOpen | ErrorCode::NotADatabase => DbErrorKind::Open,
                _ => DbErrorKind::Sql,
            },
            rusqlite::Error::InvalidParameterCount(..)
            | rusqlite::Error::InvalidParameterName(_)
            | rusqlite::Error::MultipleStatement
            | rusqlite::Error::NulError(_) => DbErrorKind::Params,
            _ => DbErrorKind::Other,
        };
        let message = match err {
            // SQLite's own text ("UNIQUE constraint failed: user.username"),
            // not rusqlite's wrapper around it.
            rusqlite::Error::SqliteFailure(e, msg) => msg.unwrap_or_else(|| e.to_string()),
            // A statement SQLite could not prepare: rusqlite names the one
            // statement (within a script, the failing one) and the offset;
            // the message stays SQLite's own.
            rusqlite::Error::SqlInputError { msg, sql: stmt, .. } => {
                let stmt = stmt.trim();
                if !stmt.is_empty() {
                    return DbError::new(kind, msg, Some(stmt));
                }
                msg
            }
            rusqlite::Error::MultipleStatement => {
                "You can only execute one statement at a time.".to_owned()
            }
            other => other.to_string(),
        };
        DbError::new(kind, message, sql)
    }

    /// The kind of failure.
    #[must_use]
    pub fn kind(&self) -> DbErrorKind {
        self.kind
    }

    /// SQLite's message, e.g. `UNIQUE constraint failed: user.username`.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The SQL that failed, when the failure came from a statement.
    #[must_use]
    pub fn sql(&self) -> Option<&str> {
        self.sql.as_deref()
    }

    /// `true` for a failed constraint: the case Flask's tutorial catches as
    /// `db.IntegrityError` to report "User ... is already registered."
    #[must_use]
    pub fn is_constraint(&self) -> bool {
        self.kind == DbErrorKind::Constraint
    }

    /// The Python `sqlite3` exception class this error corresponds to:
    /// `IntegrityError`, `OperationalError`, `ProgrammingError` or
    /// `DatabaseError`.
    #[must_use]
    pub fn python_class(&self) -> &'static str {
        match self.kind {
            DbErrorKind::Constraint => "IntegrityError",
            DbErrorKind::Busy | DbErrorKind::Sql | DbErrorKind::Open => "OperationalError",
            DbErrorKind::Params => "ProgrammingError",
            DbErrorKind::Other => "DatabaseError",
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(sql) = &self.sql {
            let sql = sql.trim();
            match sql.char_indices().nth(SQL_DISPLAY_CHARS) {
                Some((cut, _)) => write!(f, " (SQL: {}...)", &sql[..cut]),
                None => write!(f, " (SQL: {sql})"),
            }?;
        }
        Ok(())
    }
}

impl std::error::Error for DbError {}
