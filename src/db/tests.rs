use std::sync::Barrier;
use std::thread;
use std::time::Instant;

use super::*;

const SCHEMA: &str = "
    CREATE TABLE user (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        username TEXT UNIQUE NOT NULL,
        password TEXT NOT NULL
    );
    CREATE TABLE post (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        author_id INTEGER NOT NULL,
        title TEXT NOT NULL,
        FOREIGN KEY (author_id) REFERENCES user (id)
    );
";

fn memory_db() -> Database {
    let db = Database::open(":memory:").unwrap();
    db.execute_script(SCHEMA).unwrap();
    db
}

fn temp_db(dir: &tempfile::TempDir) -> Database {
    let db = Database::open(dir.path().join("app.sqlite")).unwrap();
    db.execute_script(SCHEMA).unwrap();
    db
}

fn text(s: &str) -> DbValue {
    DbValue::Text(s.to_owned())
}

fn named(pairs: &[(&str, DbValue)]) -> Vec<(String, DbValue)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn count(db: &Database, table: &str) -> i64 {
    let row = db
        .query_one(&format!("SELECT count(*) AS n FROM {table}"), &[])
        .unwrap()
        .unwrap();
    row["n"].as_i64().unwrap()
}

fn add_user(db: &Database, name: &str) -> Result<usize, DbError> {
    db.execute(
        "INSERT INTO user (username, password) VALUES (?, ?)",
        &[text(name), text("x")],
    )
}

#[test]
fn crud_round_trip() {
    let db = memory_db();
    assert_eq!(add_user(&db, "ada").unwrap(), 1);
    assert_eq!(db.last_insert_id(), 1);
    assert_eq!(add_user(&db, "bob").unwrap(), 1);
    assert_eq!(db.last_insert_id(), 2);

    let rows = db
        .query("SELECT id, username FROM user ORDER BY id", &[])
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["username"], text("ada"));
    assert_eq!(rows[1]["id"], DbValue::Integer(2));
    let keys: Vec<&str> = rows[0].keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "username"]);

    let changed = db
        .execute(
            "UPDATE user SET password = ? WHERE id > ?",
            &[text("y"), 0.into()],
        )
        .unwrap();
    assert_eq!(changed, 2);
    assert_eq!(
        db.execute("DELETE FROM user WHERE id = ?", &[1.into()])
            .unwrap(),
        1
    );
    assert!(db
        .query_one("SELECT * FROM user WHERE id = ?", &[1.into()])
        .unwrap()
        .is_none());
    let bob = db
        .query_one("SELECT * FROM user WHERE id = ?", &[2.into()])
        .unwrap()
        .unwrap();
    assert_eq!(bob["password"], text("y"));
}

#[test]
fn every_storage_class_round_trips() {
    let db = Database::open(":memory:").unwrap();
    db.execute_script("CREATE TABLE t (v)").unwrap();
    let values = [
        DbValue::Null,
        DbValue::Integer(i64::MIN),
        DbValue::Integer(i64::MAX),
        DbValue::Real(-1.5e300),
        text("ünïcödé 密码 🔑"),
        text(""),
        DbValue::Blob(vec![0, 255, 10]),
    ];
    for v in &values {
        db.execute("INSERT INTO t (v) VALUES (?)", std::slice::from_ref(v))
            .unwrap();
    }
    let rows = db.query("SELECT v FROM t ORDER BY rowid", &[]).unwrap();
    let got: Vec<DbValue> = rows.into_iter().map(|r| r["v"].clone()).collect();
    assert_eq!(got, values);
}

#[test]
fn conversions_into_db_values() {
    assert_eq!(DbValue::from(true), DbValue::Integer(1));
    assert_eq!(DbValue::from(7i32), DbValue::Integer(7));
    assert_eq!(DbValue::from(None::<i64>), DbValue::Null);
    assert_eq!(DbValue::from(Some("a")), text("a"));
    assert_eq!(DbValue::from(&b"ab"[..]), DbValue::Blob(b"ab".to_vec()));
    assert_eq!(DbValue::Integer(2).as_f64(), Some(2.0));
    assert_eq!(text("a").as_str(), Some("a"));
    assert!(DbValue::Null.is_null());
    assert_eq!(DbValue::Blob(vec![1]).as_blob(), Some(&[1u8][..]));
}

/// Parameters are bound: SQL in a value is stored as text, never run.
#[test]
fn values_are_bound_not_interpolated() {
    let db = memory_db();
    let evil = "x'); DROP TABLE user; --";
    add_user(&db, evil).unwrap();
    let row = db
        .query_one(
            "SELECT username FROM user WHERE username = ?",
            &[text(evil)],
        )
        .unwrap()
        .unwrap();
    assert_eq!(row["username"], text(evil));
    assert_eq!(count(&db, "user"), 1);
}

#[test]
fn positional_parameter_count_must_match() {
    let db = memory_db();
    let sql = "INSERT INTO user (username, password) VALUES (?, ?)";
    let err = db.execute(sql, &[text("a")]).unwrap_err();
    assert_eq!(err.kind(), DbErrorKind::Params);
    assert_eq!(
        err.message(),
        "Incorrect number of bindings supplied. The current statement uses 2, and there are 1 supplied."
    );
    assert_eq!(err.sql(), Some(sql));
    assert_eq!(err.python_class(), "ProgrammingError");
    let err = db.query("SELECT 1", &[text("extra")]).unwrap_err();
    assert_eq!(err.kind(), DbErrorKind::Params);
    // Numbered parameters count by their highest number.
    let row = db
        .query_one("SELECT ?2 AS b, ?1 AS a", &[1.into(), 2.into()])
        .unwrap()
        .unwrap();
    assert_eq!(row["b"], DbValue::Integer(2));
}

#[test]
fn named_parameters_bind_with_or_without_prefix() {
    let db = memory_db();
    db.execute_named(
        "INSERT INTO user (username, password) VALUES (:name, @pw)",
        &named(&[("name", text("ada")), ("@pw", text("secret"))]),
    )
    .unwrap();
    let row = db
        .query_one_named(
            "SELECT password FROM user WHERE username = $who",
            &named(&[("who", text("ada")), ("unused", text("ignored"))]),
        )
        .unwrap()
        .unwrap();
    assert_eq!(row["password"], text("secret"));
    // The same name used twice is one parameter.
    let rows = db
        .query_named(
            "SELECT :v AS a, :v AS b",
            &named(&[(":v", DbValue::Integer(3))]),
        )
        .unwrap();
    assert_eq!(rows[0]["a"], rows[0]["b"]);
}

#[test]
fn named_parameters_must_all_be_supplied() {
    let db = memory_db();
    let err = db
        .query_named(
            "SELECT * FROM user WHERE username = :name AND id = :id",
            &named(&[("name", text("a"))]),
        )
        .unwrap_err();
    assert_eq!(err.kind(), DbErrorKind::Params);
    assert_eq!(
        err.message(),
        "You did not supply a value for binding parameter :id."
    );
    let err = db
        .query_named("SELECT ?", &named(&[("x", DbValue::Null)]))
        .unwrap_err();
    assert_eq!(err.kind(), DbErrorKind::Params);
}

#[test]
fn unique_violation_is_a_clear_constraint_error() {
    let db = memory_db();
    add_user(&db, "ada").unwrap();
    let err = add_user(&db, "ada").unwrap_err();
    assert!(err.is_constraint());
    assert_eq!(err.kind(), DbErrorKind::Constraint);
    assert_eq!(err.python_class(), "IntegrityError");
    assert_eq!(err.message(), "UNIQUE constraint failed: user.username");
    assert_eq!(
        err.to_string(),
        "UNIQUE constraint failed: user.username \
         (SQL: INSERT INTO user (username, password) VALUES (?, ?))"
    );
    let err = db
        .execute("INSERT INTO user (username) VALUES (?)", &[text("bob")])
        .unwrap_err();
    assert!(err.is_constraint());
    assert_eq!(err.message(), "NOT NULL constraint failed: user.password");
}

#[test]
fn foreign_keys_are_enforced_unless_turned_off() {
    let db = memory_db();
    let sql = "INSERT INTO post (author_id, title) VALUES (?, ?)";
    let err = db.execute(sql, &[42.into(), text("t")]).unwrap_err();
    assert!(err.is_constraint());
    assert_eq!(err.message(), "FOREIGN KEY constraint failed");

    let options = DbOptions {
        foreign_keys: false,
        ..DbOptions::default()
    };
    let loose = Database::open_with(":memory:", options).unwrap();
    loose.execute_script(SCHEMA).unwrap();
    assert_eq!(loose.execute(sql, &[42.into(), text("t")]).unwrap(), 1);
}

#[test]
fn sql_errors_carry_sqlites_message_and_the_sql() {
    let db = memory_db();
    let err = db.query("SELECT * FROM nope", &[]).unwrap_err();
    assert_eq!(err.kind(), DbErrorKind::Sql);
    assert_eq!(err.message(), "no such table: nope");
    assert_eq!(err.sql(), Some("SELECT * FROM nope"));
    assert_eq!(err.python_class(), "OperationalError");
    let err = db.execute("SELEC 1", &[]).unwrap_err();
    assert_eq!(err.message(), "near \"SELEC\": syntax error");
    let err = db.execute("SELECT 1; SELECT 2", &[]).unwrap_err();
    assert_eq!(err.kind(), DbErrorKind::Params);
    assert_eq!(
        err.message(),
        "You can only execute one statement at a time."
    );
}

#[test]
fn long_sql_is_cut_in_display_only() {
    let db = memory_db();
    let sql = format!("SELECT {} FROM nope", "1, ".repeat(200));
    let err = db.query(&sql, &[]).unwrap_err();
    assert_eq!(err.sql(), Some(sql.as_str()));
    let shown = err.to_string();
    assert!(shown.ends_with("...)"), "{shown}");
    assert!(shown.len() < 400, "{shown}");
}

#[test]
fn execute_runs_row_returning_statements_to_completion() {
    let db = memory_db();
    assert_eq!(db.execute("SELECT * FROM user", &[]).unwrap(), 0);
    add_user(&db, "ada").unwrap();
    // A PRAGMA that answers a row does not repeat the previous change count.
    assert_eq!(db.execute("PRAGMA user_version", &[]).unwrap(), 0);
    let n = db
        .execute(
            "INSERT INTO user (username, password) VALUES ('b', 'x'), ('c', 'x') RETURNING id",
            &[],
        )
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(count(&db, "user"), 3);
}

#[test]
fn duplicate_column_names_keep_the_first_value() {
    let db = memory_db();
    let row = db
        .query_one("SELECT 1 AS id, 2 AS id, 3 AS x", &[])
        .unwrap()
        .unwrap();
    assert_eq!(row.len(), 2);
    assert_eq!(row["id"], DbValue::Integer(1));
}

#[test]
fn text_that_is_not_utf8_is_an_error() {
    let db = memory_db();
    let err = db
        .query("SELECT CAST(x'ff' AS TEXT) AS t", &[])
        .unwrap_err();
    assert_eq!(err.kind(), DbErrorKind::Other);
    assert_eq!(err.message(), "Could not decode to UTF-8 column 't'");
}

#[test]
fn execute_script_runs_every_statement_and_reports_failures() {
    let db = Database::open(":memory:").unwrap();
    db.execute_script("CREATE TABLE a (x); CREATE TABLE b (y); INSERT INTO a VALUES (1);")
        .unwrap();
    assert_eq!(count(&db, "a"), 1);
    assert_eq!(count(&db, "b"), 0);
    let err = db
        .execute_script("CREATE TABLE c (z); CREATE TABLE a (x);")
        .unwrap_err();
    assert_eq!(err.message(), "table a already exists");
    assert_eq!(err.sql(), Some("CREATE TABLE a (x);"));
}

#[test]
fn rollback_discards_and_commit_keeps() {
    let db = memory_db();
    assert!(!db.in_transaction());
    db.begin().unwrap();
    assert!(db.in_transaction());
    add_user(&db, "gone").unwrap();
    assert_eq!(count(&db, "user"), 1);
    db.rollback().unwrap();
    assert!(!db.in_transaction());
    assert_eq!(count(&db, "user"), 0);

    db.begin().unwrap();
    add_user(&db, "kept").unwrap();
    db.commit().unwrap();
    assert!(!db.in_transaction());
    assert_eq!(count(&db, "user"), 1);

    // Outside a transaction both are no-ops; a nested BEGIN is an error.
    db.commit().unwrap();
    db.rollback().unwrap();
    db.begin().unwrap();
    let err = db.begin().unwrap_err();
    assert_eq!(
        err.message(),
        "cannot start a transaction within a transaction"
    );
    db.rollback().unwrap();
}

#[test]
fn request_scope_commits_on_success_and_rolls_back_on_failure() {
    let db = memory_db();
    // A request that only reads opens no transaction.
    db.query("SELECT * FROM user", &[]).unwrap();
    assert!(!db.in_transaction());
    db.finish_request(true).unwrap();

    assert!(db.ensure_transaction().unwrap());
    add_user(&db, "a").unwrap();
    assert!(!db.ensure_transaction().unwrap());
    add_user(&db, "b").unwrap();
    db.finish_request(false).unwrap();
    assert!(!db.in_transaction());
    assert_eq!(count(&db, "user"), 0);

    db.ensure_transaction().unwrap();
    add_user(&db, "a").unwrap();
    db.finish_request(true).unwrap();
    assert!(!db.in_transaction());
    assert_eq!(count(&db, "user"), 1);
}

/// A failed COMMIT (here: a deferred foreign key still violated) is rolled
/// back so the thread's next request does not inherit the transaction.
#[test]
fn failed_commit_is_rolled_back() {
    let db = Database::open(":memory:").unwrap();
    db.execute_script(
        "CREATE TABLE p (id INTEGER PRIMARY KEY);
         CREATE TABLE c (p_id REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);",
    )
    .unwrap();
    db.ensure_transaction().unwrap();
    db.execute("INSERT INTO c VALUES (9)", &[]).unwrap();
    let err = db.finish_request(true).unwrap_err();
    assert!(err.is_constraint(), "{err}");
    assert!(!db.in_transaction());
    assert_eq!(count(&db, "c"), 0);
}

#[test]
fn each_thread_has_its_own_connection() {
    let db = memory_db();
    db.begin().unwrap();
    add_user(&db, "a").unwrap();
    assert_eq!(db.last_insert_id(), 1);
    let other = db.clone();
    thread::spawn(move || {
        assert!(!other.in_transaction());
        assert_eq!(other.last_insert_id(), 0);
    })
    .join()
    .unwrap();
    db.commit().unwrap();
}

#[test]
fn memory_database_is_shared_by_threads_but_not_by_handles() {
    let db = memory_db();
    add_user(&db, "ada").unwrap();
    let other = db.clone();
    let seen = thread::spawn(move || count(&other, "user")).join().unwrap();
    assert_eq!(seen, 1);
    // A second ":memory:" database is a different, empty one.
    let second = Database::open(":memory:").unwrap();
    assert!(second.query("SELECT * FROM user", &[]).is_err());
    assert!(db.path().is_none());
}

#[test]
fn file_database_uses_wal_and_isolates_uncommitted_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = temp_db(&dir);
    assert_eq!(db.path(), Some(dir.path().join("app.sqlite").as_path()));
    let mode = db.query_one("PRAGMA journal_mode", &[]).unwrap().unwrap();
    assert_eq!(mode["journal_mode"], text("wal"));

    db.begin().unwrap();
    add_user(&db, "pending").unwrap();
    let reader = db.clone();
    let before = thread::spawn(move || count(&reader, "user"))
        .join()
        .unwrap();
    assert_eq!(
        before, 0,
        "an open transaction is invisible to other threads"
    );
    db.commit().unwrap();
    let reader = db.clone();
    let after = thread::spawn(move || count(&reader, "user"))
        .join()
        .unwrap();
    assert_eq!(after, 1);

    // Reopening the file sees the data.
    drop(db);
    let again = Database::open(dir.path().join("app.sqlite")).unwrap();
    assert_eq!(count(&again, "user"), 1);
}

fn concurrent_writers(db: &Database) {
    const PER_THREAD: i64 = 40;
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let db = db.clone();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                for i in 0..PER_THREAD {
                    // Alternate request-style transactions and autocommit.
                    if i % 2 == 0 {
                        db.ensure_transaction().unwrap();
                    }
                    add_user(&db, &format!("t{t}-{i}")).unwrap();
                    db.execute(
                        "INSERT INTO post (author_id, title) VALUES (?, ?)",
                        &[db.last_insert_id().into(), text("p")],
                    )
                    .unwrap();
                    db.finish_request(true).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(count(db, "user"), 2 * PER_THREAD);
    assert_eq!(count(db, "post"), 2 * PER_THREAD);
}

#[test]
fn two_threads_write_concurrently_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    concurrent_writers(&temp_db(&dir));
}

#[test]
fn two_threads_write_concurrently_in_memory() {
    concurrent_writers(&memory_db());
}

#[test]
fn a_held_write_lock_times_out_as_busy() {
    let dir = tempfile::tempdir().unwrap();
    let options = DbOptions {
        busy_timeout: Duration::from_millis(100),
        ..DbOptions::default()
    };
    let db = Database::open_with(dir.path().join("busy.sqlite"), options).unwrap();
    db.execute_script(SCHEMA).unwrap();
    db.begin().unwrap();
    let other = db.clone();
    let (err, waited) = thread::spawn(move || {
        let start = Instant::now();
        (other.begin().unwrap_err(), start.elapsed())
    })
    .join()
    .unwrap();
    assert_eq!(err.kind(), DbErrorKind::Busy);
    assert_eq!(err.message(), "database is locked");
    assert!(waited >= Duration::from_millis(90), "{waited:?}");
    db.rollback().unwrap();
}

#[test]
fn open_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/app.sqlite");
    let err = Database::open(&missing).unwrap_err();
    assert_eq!(err.kind(), DbErrorKind::Open);
    assert!(
        err.message().contains("unable to open database file"),
        "{err}"
    );
    assert!(err.message().contains("no/such/dir"), "{err}");

    let junk = dir.path().join("junk.sqlite");
    std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
    let err = Database::open(&junk).unwrap_err();
    assert_eq!(err.kind(), DbErrorKind::Open);
    assert!(err.message().starts_with("file is not a database"), "{err}");
}

#[test]
fn dropped_databases_release_their_thread_connections() {
    let cached = || CONNECTIONS.with(|c| c.borrow().len());
    let db = memory_db();
    let base = cached();
    let other = Database::open(":memory:").unwrap();
    other.query("SELECT 1", &[]).unwrap();
    assert_eq!(cached(), base + 1);
    drop(other);
    // The next use of any database prunes the dropped one's connection.
    db.query("SELECT 1", &[]).unwrap();
    assert_eq!(cached(), base);
}
