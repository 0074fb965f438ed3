//! Middleware around an app (WSGI middleware's twin) and Werkzeug's
//! `ProxyFix`.

use crate::http::{Request, Response};

/// Code that runs around the app: it may change the request, call `next`
/// (the rest of the chain and the app), and change the response.
///
/// ```
/// use flaskrs::{App, Middleware, Request, Response};
///
/// struct PoweredBy;
/// impl Middleware for PoweredBy {
///     fn handle(&self, req: Request, next: &dyn Fn(Request) -> Response) -> Response {
///         let mut resp = next(req);
///         resp.headers.set("X-Powered-By", "flaskrs");
///         resp
///     }
/// }
///
/// let app = App::from_source("app.rhai", r#"route("/", || "hi");"#).unwrap();
/// app.wrap(PoweredBy);
/// let resp = app.test_client().get("/");
/// assert_eq!(resp.header("X-Powered-By"), Some("flaskrs"));
/// ```
pub trait Middleware: Send + Sync + 'static {
    /// Handles `request`, usually by calling `next` with it.
    fn handle(&self, request: Request, next: &dyn Fn(Request) -> Response) -> Response;
}

/// Werkzeug's `ProxyFix`: trust `X-Forwarded-*` headers set by a known
/// number of proxies in front of the app, so `request.remote_addr`,
/// `request.scheme`, `request.host` and `url_for(.., #{_external: true})`
/// describe the client's view, not the proxy's.
///
/// Each count is how many proxies set that header; 0 ignores it. As in
/// Werkzeug, the value used is the `n`th from the right of the
/// comma-separated list, and a list shorter than `n` is ignored (a client
/// can forge the leftmost entries, never the ones the proxies appended).
#[derive(Debug, Clone, Copy)]
pub struct ProxyFix {
    /// `X-Forwarded-For` → `remote_addr` (default 1).
    pub x_for: usize,
    /// `X-Forwarded-Proto` → `scheme` (default 1).
    pub x_proto: usize,
    /// `X-Forwarded-Host` → `Host` (default 0).
    pub x_host: usize,
    /// `X-Forwarded-Port` → the port in `Host` (default 0).
    pub x_port: usize,
    /// `X-Forwarded-Prefix` → `script_root` (default 0).
    pub x_prefix: usize,
}

impl Default for ProxyFix {
    fn default() -> Self {
        ProxyFix {
            x_for: 1,
            x_proto: 1,
            x_host: 0,
            x_port: 0,
            x_prefix: 0,
        }
    }
}

impl ProxyFix {
    /// ProxyFix with the given counts (Werkzeug's argument order).
    pub fn new(
        x_for: usize,
        x_proto: usize,
        x_host: usize,
        x_port: usize,
        x_prefix: usize,
    ) -> Self {
        ProxyFix {
            x_for,
            x_proto,
            x_host,
            x_port,
            x_prefix,
        }
    }

    fn real_value(trusted: usize, value: Option<&str>) -> Option<String> {
        let value = value?;
        if trusted == 0 || value.is_empty() {
            return None;
        }
        let values: Vec<&str> = value.split(',').map(str::trim).collect();
        if values.len() >= trusted {
            Some(values[values.len() - trusted].to_owned()).filter(|v| !v.is_empty())
        } else {
            None
        }
    }
}

impl ProxyFix {
    /// Rewrites the request from the trusted `X-Forwarded-*` headers.
    pub fn apply(&self, mut req: Request) -> Request {
        let headers = req.headers.clone();
        let h = |name: &str| headers.get(name).map(str::to_owned);
        if let Some(v) = Self::real_value(self.x_for, h("X-Forwarded-For").as_deref()) {
            req.remote_addr = v;
        }
        if let Some(v) = Self::real_value(self.x_proto, h("X-Forwarded-Proto").as_deref()) {
            req.scheme = v;
        }
        if let Some(v) = Self::real_value(self.x_host, h("X-Forwarded-Host").as_deref()) {
            req.headers.set("Host", v);
        }
        if let Some(port) = Self::real_value(self.x_port, h("X-Forwarded-Port").as_deref()) {
            let host = req.host().to_owned();
            let bare = match host.rsplit_once(':') {
                Some((b, _)) if !host.ends_with(']') => b.to_owned(),
                _ => host,
            };
            req.headers.set("Host", format!("{bare}:{port}"));
        }
        if let Some(v) = Self::real_value(self.x_prefix, h("X-Forwarded-Prefix").as_deref()) {
            req.script_root = v.trim_end_matches('/').to_owned();
        }
        req
    }
}

impl Middleware for ProxyFix {
    fn handle(&self, req: Request, next: &dyn Fn(Request) -> Response) -> Response {
        next(self.apply(req))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusts_only_the_rightmost_n_values() {
        let fix = ProxyFix::new(1, 1, 1, 1, 1);
        let req = Request::new("GET", "/")
            .with_header("Host", "internal:8000")
            .with_header("X-Forwarded-For", "6.6.6.6, 1.2.3.4")
            .with_header("X-Forwarded-Proto", "https")
            .with_header("X-Forwarded-Host", "example.com")
            .with_header("X-Forwarded-Port", "8443")
            .with_header("X-Forwarded-Prefix", "/app/");
        let resp = fix.handle(req, &|r| {
            Response::text(format!(
                "{} {} {} {}",
                r.remote_addr,
                r.scheme,
                r.host(),
                r.script_root
            ))
        });
        assert_eq!(
            resp.bytes().unwrap(),
            b"1.2.3.4 https example.com:8443 /app"
        );
        let fix = ProxyFix::new(2, 0, 0, 0, 0);
        let req = Request::new("GET", "/").with_header("X-Forwarded-For", "1.2.3.4");
        let resp = fix.handle(req, &|r| Response::text(r.remote_addr));
        assert_eq!(resp.bytes().unwrap(), b"127.0.0.1");
    }
}
