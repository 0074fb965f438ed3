//! [`DbValue`]: the five SQLite storage classes, as values scripts can hold.

use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};

/// One SQLite value: a bound parameter or a column of a result row.
///
/// These are SQLite's storage classes, which Python's `sqlite3` maps to
/// `None`, `int`, `float`, `str` and `bytes`.
#[derive(Debug, Clone, PartialEq)]
pub enum DbValue {
    /// SQL `NULL`.
    Null,
    /// A 64-bit signed integer.
    Integer(i64),
    /// A 64-bit float.
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Raw bytes.
    Blob(Vec<u8>),
}

impl DbValue {
    /// Converts a column value as SQLite returned it; text that is not valid
    /// UTF-8 is an error, as in Python's `sqlite3` ("Could not decode to
    /// UTF-8"), so the bytes are returned for the caller to report.
    pub(crate) fn from_sqlite(value: ValueRef<'_>) -> Result<DbValue, Vec<u8>> {
        Ok(match value {
            ValueRef::Null => DbValue::Null,
            ValueRef::Integer(i) => DbValue::Integer(i),
            ValueRef::Real(f) => DbValue::Real(f),
            ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
                Ok(s) => DbValue::Text(s.to_owned()),
                Err(_) => return Err(bytes.to_vec()),
            },
            ValueRef::Blob(bytes) => DbValue::Blob(bytes.to_vec()),
        })
    }

    /// `true` for [`DbValue::Null`].
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, DbValue::Null)
    }

    /// The integer, if this is [`DbValue::Integer`].
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            DbValue::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The number, if this is [`DbValue::Real`] or [`DbValue::Integer`].
    #[must_use]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            DbValue::Real(f) => Some(*f),
            // Precision loss above 2^53 is what a float column would do too.
            #[allow(clippy::cast_precision_loss)]
            DbValue::Integer(i) => Some(*i as f64),
            _ => None,
        }
    }

    /// The text, if this is [`DbValue::Text`].
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            DbValue::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The bytes, if this is [`DbValue::Blob`].
    #[must_use]
    pub fn as_blob(&self) -> Option<&[u8]> {
        match self {
            DbValue::Blob(b) => Some(b),
            _ => None,
        }
    }
}

impl ToSql for DbValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            DbValue::Null => ValueRef::Null,
            DbValue::Integer(i) => ValueRef::Integer(*i),
            DbValue::Real(f) => ValueRef::Real(*f),
            DbValue::Text(s) => ValueRef::Text(s.as_bytes()),
            DbValue::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl From<i64> for DbValue {
    fn from(v: i64) -> Self {
        DbValue::Integer(v)
    }
}

impl From<i32> for DbValue {
    fn from(v: i32) -> Self {
        DbValue::Integer(i64::from(v))
    }
}

/// Stored as 0 or 1, as Python's `sqlite3` stores `True` and `False`.
impl From<bool> for DbValue {
    fn from(v: bool) -> Self {
        DbValue::Integer(i64::from(v))
    }
}

impl From<f64> for DbValue {
    fn from(v: f64) -> Self {
        DbValue::Real(v)
    }
}

impl From<&str> for DbValue {
    fn from(v: &str) -> Self {
        DbValue::Text(v.to_owned())
    }
}

impl From<String> for DbValue {
    fn from(v: String) -> Self {
        DbValue::Text(v)
    }
}

impl From<Vec<u8>> for DbValue {
    fn from(v: Vec<u8>) -> Self {
        DbValue::Blob(v)
    }
}

impl From<&[u8]> for DbValue {
    fn from(v: &[u8]) -> Self {
        DbValue::Blob(v.to_vec())
    }
}

/// `None` is `NULL`.
impl<T: Into<DbValue>> From<Option<T>> for DbValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(DbValue::Null, Into::into)
    }
}
