//! First-party extensions, loaded by `flaskrs-host` and by
//! [`crate::App::from_file`]/[`crate::App::builder`] (use
//! [`crate::AppBuilder::bare`] for an app without them):
//!
//! - [`sqlite::Sqlite`]: the `db` global, on SQLite (`config.DATABASE`);
//! - [`csrf::Csrf`]: opt-in CSRF protection (`csrf_protect()`).

pub mod csrf;
pub mod sqlite;
