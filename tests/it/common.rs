//! The conftest twin: apps from inline scripts, and clients for them.

use flaskrs::{App, TestClient};

/// Loads an app from inline script text (named `app.rhai` in messages).
pub fn app(src: &str) -> App {
    match App::from_source("app.rhai", src) {
        Ok(a) => a,
        Err(e) => panic!("app failed to load:\n{e}"),
    }
}

/// A test client for an inline script.
pub fn client(src: &str) -> TestClient {
    app(src).test_client()
}

/// The message an inline script fails to load with.
pub fn load_error(src: &str) -> String {
    match App::from_source("app.rhai", src) {
        Ok(_) => panic!("the app loaded, but it should have been refused"),
        Err(e) => e.to_string(),
    }
}

/// Werkzeug's HTML page for an error code (default description).
pub fn werkzeug_page(code: u16) -> String {
    flaskrs::HttpError::new(code).body()
}
