//! A bare tiny_http "Hello, World!" server: the ceiling the benchmark holds
//! flaskrs-host's hello endpoint against (`bench/run.sh`).
//!
//! It does what flaskrs-host's server does around a request, minus the app:
//! one tiny_http server, a fixed pool of worker threads taking requests from
//! it, and the same response headers a Flask string response carries.
//!
//! ```sh
//! cargo run --release --example bare_tiny_http -- 127.0.0.1:8000 8
//! ```

use std::sync::Arc;

use tiny_http::{Header, Response, Server};

/// What the benchmark's hello endpoint answers.
const BODY: &str = "Hello, World!";

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8000".to_owned());
    // The same default as flaskrs-host: two per core, at least eight.
    let threads = args
        .next()
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            (2 * cores).max(8)
        })
        .max(1);
    let server = match Server::http(&addr) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("bare_tiny_http: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    let content_type = Header::from_bytes("Content-Type", "text/html; charset=utf-8")
        .expect("a static, valid header");
    eprintln!("bare_tiny_http: listening on http://{addr}/ with {threads} worker threads");
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let server = server.clone();
            let content_type = content_type.clone();
            std::thread::spawn(move || {
                // `incoming_requests()` would end at the first error (an
                // interrupted wait, say); a benchmark server must not.
                loop {
                    match server.recv() {
                        Ok(request) => {
                            let response =
                                Response::from_string(BODY).with_header(content_type.clone());
                            // A client that hung up is not the server's problem.
                            let _ = request.respond(response);
                        }
                        Err(e) => {
                            eprintln!("bare_tiny_http: {e}");
                            std::thread::sleep(std::time::Duration::from_millis(10));
                        }
                    }
                }
            })
        })
        .collect();
    // The workers never return; the process ends by signal.
    for w in workers {
        let _ = w.join();
    }
}
