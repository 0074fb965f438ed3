//! The `flaskrs-host` binary: `routes`, start-up errors, and serving on a
//! real socket with a graceful stop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flaskrs-host"))
}

fn script(dir: &tempfile::TempDir, name: &str, src: &str) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, src).unwrap();
    p
}

#[test]
fn routes_prints_flasks_table() {
    let out = bin()
        .args(["routes", "apps/variable_rules.rhai"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Endpoint           Methods  Rule                   \n\
         -----------------  -------  -----------------------\n\
         show_post          GET      /post/<int:post_id>    \n\
         show_subpath       GET      /path/<path:subpath>   \n\
         show_user_profile  GET      /user/<username>       \n\
         static             GET      /static/<path:filename>\n"
    );
}

#[test]
fn missing_script_is_one_clear_line() {
    let out = bin().arg("no/such/app.rhai").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err,
        "Error: Could not find the app script 'no/such/app.rhai'. Pass the path of a .rhai file, for example: flaskrs-host apps/hello.rhai\n"
    );
}

#[test]
fn syntax_error_names_file_line_column_and_shows_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        &dir,
        "broken.rhai",
        "fn index() {\n    \"hi\"\n\nroute(\"/\", index);\n",
    );
    let out = bin().arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let want = format!("Error: {}:", p.display());
    assert!(err.starts_with(&want), "{err}");
    assert!(
        err.contains("route(\"/\", index);") || err.contains("fn index()"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = bin()
        .args(["apps/hello.rhai", "--port", &port])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("port {port} is in use")), "{err}");
}

/// Kills the server this test started if the test fails before stopping it.
struct Reap(std::process::Child);

impl Drop for Reap {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn serves_on_a_real_socket_and_stops_on_sigterm() {
    let mut child = Reap(
        bin()
            .args(["run", "apps/hello.rhai", "--port", "0", "--threads", "2"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut err = BufReader::new(child.0.stderr.take().unwrap());
    let mut port = None;
    let mut banner = String::new();
    for _ in 0..10 {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        banner.push_str(&line);
        if let Some(rest) = line.strip_prefix(" * Running on http://127.0.0.1:") {
            port = Some(rest.trim().trim_end_matches('/').to_owned());
            break;
        }
    }
    let port = port.unwrap_or_else(|| panic!("no banner: {banner}"));
    assert!(banner.contains(" * Debug mode: off"), "{banner}");
    let mut s = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(resp.ends_with("\r\n\r\nHello World!"), "{resp}");
    let mut access = String::new();
    for _ in 0..10 {
        access.clear();
        err.read_line(&mut access).unwrap();
        if access.starts_with("127.0.0.1 - - [") {
            break;
        }
    }
    assert!(access.starts_with("127.0.0.1 - - ["), "{access}");
    assert!(
        access.trim_end().ends_with("\"GET / HTTP/1.1\" 200 -"),
        "{access}"
    );
    let status = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = child.0.wait().unwrap();
    assert_eq!(code.code(), Some(0));
}

#[test]
fn script_commands_run_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = script(
        &dir,
        "app.rhai",
        r#"fn init_db() { "Initialized the database." }
           fn greet(args) { `hello ${args[0]}` }
           cli_command("init-db", init_db);
           cli_command("greet", greet);
           route("/", || "x");"#,
    );
    let out = bin().arg(&p).arg("init-db").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Initialized the database.\n"
    );
    let out = bin().arg(&p).args(["greet", "ann"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello ann\n");
    let out = bin().arg(&p).arg("nope").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: No such command 'nope'. The script registers: greet, init-db\n"
    );
}
