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

/// Kills a server process a test started if the test fails before
/// stopping it.
pub struct Reap(pub std::process::Child);

impl Drop for Reap {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `command` (flaskrs-host with `--port 0`), reads its banner and
/// returns the process, the port it bound and the rest of its stderr.
pub fn spawn_host(
    mut command: std::process::Command,
) -> (Reap, String, std::io::BufReader<std::process::ChildStderr>) {
    use std::io::BufRead;
    let mut child = Reap(
        command
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the server starts"),
    );
    let mut err = std::io::BufReader::new(child.0.stderr.take().expect("piped stderr"));
    let mut banner = String::new();
    for _ in 0..20 {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        banner.push_str(&line);
        if let Some(rest) = line.strip_prefix(" * Running on http://127.0.0.1:") {
            let port = rest.trim().trim_end_matches('/').to_owned();
            return (child, port, err);
        }
    }
    panic!("no ' * Running on' line in the banner: {banner}");
}
