//! Serving a flaskrs app from an axum (hyper) server through the library
//! API: the app is a plain function from `flaskrs::Request` to
//! `flaskrs::Response`, so any server can sit in front of it.
//!
//! ```sh
//! cargo run --example axum_embed -- apps/hello.rhai 127.0.0.1:3000
//! ```
//!
//! Scripts run synchronously, so each request is handed to tokio's
//! blocking pool; the async server never waits on a script. The pool's
//! threads get `flaskrs::SCRIPT_THREAD_STACK`, so scripts run on their own
//! stack instead of a fresh one mapped per request.

use std::net::SocketAddr;

use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;
use flaskrs::App;

/// Bodies above this are refused before the app sees them (the app's own
/// MAX_CONTENT_LENGTH still applies below it).
const BODY_LIMIT: usize = 16 << 20;

/// Translates one axum request into the app's and back.
async fn handle(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
    let mut fr = flaskrs::Request::new(parts.method.as_str(), &target);
    for (name, value) in &parts.headers {
        fr.headers.append(
            name.as_str(),
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        );
    }
    fr.remote_addr = peer.ip().to_string();
    let bytes = match to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return plain(StatusCode::PAYLOAD_TOO_LARGE),
    };
    if !bytes.is_empty() {
        fr.body = flaskrs::http::RequestBody::from_bytes(bytes.to_vec());
    }
    let resp = tokio::task::spawn_blocking(move || {
        let mut r = app.handle(fr);
        let body = r.buffer().map(<[u8]>::to_vec).unwrap_or_default();
        (r.status, r.headers, body)
    })
    .await;
    let Ok((status, headers, body)) = resp else {
        return plain(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in headers.iter() {
        // hyper computes the length of the body it sends.
        if k.eq_ignore_ascii_case("content-length") {
            continue;
        }
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v)) {
            out.headers_mut().append(k, v);
        }
    }
    out
}

fn plain(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

/// The axum router serving `app` for every path.
fn router(app: App) -> Router {
    Router::new().fallback(handle).with_state(app)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(flaskrs::SCRIPT_THREAD_STACK)
        .build();
    match runtime {
        Ok(rt) => rt.block_on(serve()),
        Err(e) => {
            eprintln!("Error: cannot start the tokio runtime: {e}");
            std::process::exit(1);
        }
    }
}

async fn serve() {
    let mut args = std::env::args().skip(1);
    let script = args.next().unwrap_or_else(|| "apps/hello.rhai".to_owned());
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let app = match App::from_file(&script) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(1);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("Error: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!(" * Serving {script} from axum on http://{addr}/");
    let served = axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await;
    if let Err(e) = served {
        eprintln!("Error: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(raw).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn an_app_served_by_axum() {
        let app = App::from_source(
            "app.rhai",
            r#"route("/hello/<name>", |name| `Hello ${name} from ${request.remote_addr}`);
               post("/echo", || { let r = make_response(request.get_data()); r.set_cookie("seen", "1"); r });"#,
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                router(app).into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        let r = exchange(
            addr,
            b"GET /hello/ann HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(
            r.contains("content-type: text/html; charset=utf-8\r\n"),
            "{r}"
        );
        assert!(r.ends_with("Hello ann from 127.0.0.1"), "{r}");
        let r = exchange(
            addr,
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nping",
        )
        .await;
        assert!(r.contains("set-cookie: seen=1; Path=/\r\n"), "{r}");
        assert!(r.ends_with("ping"), "{r}");
        let r = exchange(
            addr,
            b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(r.starts_with("HTTP/1.1 404 Not Found\r\n"), "{r}");
        server.abort();
    }
}
