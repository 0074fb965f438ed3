//! The test client (Werkzeug's `Client`): drives an app in-process, keeps
//! cookies between requests and can follow redirects.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::app::App;
use crate::http::{Headers, Request, Response};

/// A client for one app, with a cookie jar.
#[derive(Debug)]
pub struct TestClient {
    app: App,
    cookies: Mutex<BTreeMap<String, String>>,
}

/// A response as the test client saw it, body read into memory.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Headers,
    /// Body bytes.
    pub body: Vec<u8>,
    /// `(status, Location)` of each redirect followed to get here.
    pub history: Vec<(u16, String)>,
}

impl TestResponse {
    fn from_response(mut r: Response) -> Self {
        let body = r.buffer().map(<[u8]>::to_vec).unwrap_or_default();
        TestResponse {
            status: r.status,
            headers: r.headers,
            body,
            history: Vec::new(),
        }
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    ///
    /// # Panics
    /// When the body is not JSON: this is for tests.
    pub fn json(&self) -> serde_json::Value {
        match serde_json::from_slice(&self.body) {
            Ok(v) => v,
            Err(e) => panic!("response body is not JSON ({e}): {}", self.text()),
        }
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

/// A request being built by [`TestClient::request`].
#[derive(Debug)]
pub struct RequestBuilder<'c> {
    client: &'c TestClient,
    request: Request,
    follow: bool,
}

impl RequestBuilder<'_> {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request.headers.append(name, value);
        self
    }

    /// A urlencoded form body.
    pub fn form(self, fields: &[(&str, &str)]) -> Self {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.body("application/x-www-form-urlencoded", body.into_bytes())
    }

    /// A `multipart/form-data` body with text fields and files
    /// (`(field, filename, content type, bytes)`), as a browser sends a form
    /// with `enctype="multipart/form-data"`.
    pub fn multipart(self, fields: &[(&str, &str)], files: &[(&str, &str, &str, &[u8])]) -> Self {
        let boundary = "----flaskrs-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        for (name, filename, content_type, data) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.body(&format!("multipart/form-data; boundary={boundary}"), body)
    }

    /// A JSON body.
    pub fn json(self, value: &serde_json::Value) -> Self {
        self.body("application/json", value.to_string().into_bytes())
    }

    /// A body with its content type.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.request.headers.set("Content-Type", content_type);
        self.request = self.request.with_body(body);
        self
    }

    /// Sets the client address (`request.remote_addr`).
    pub fn remote_addr(mut self, addr: &str) -> Self {
        addr.clone_into(&mut self.request.remote_addr);
        self
    }

    /// Follows redirects (up to 10), as `follow_redirects=True`.
    pub fn follow_redirects(mut self) -> Self {
        self.follow = true;
        self
    }

    /// Sends the request.
    pub fn send(self) -> TestResponse {
        let follow = self.follow;
        let mut resp = self.client.open(self.request);
        let mut history = Vec::new();
        while follow
            && matches!(resp.status, 301 | 302 | 303 | 305 | 307 | 308)
            && history.len() < 10
        {
            let Some(loc) = resp.header("Location").map(str::to_owned) else {
                break;
            };
            history.push((resp.status, loc.clone()));
            let target = strip_origin(&loc);
            resp = self.client.open(Request::new("GET", &target));
        }
        resp.history = history;
        resp
    }
}

/// `http://localhost/x?y` → `/x?y`: the client talks to one app.
fn strip_origin(location: &str) -> String {
    match location.split_once("://") {
        Some((_, rest)) => match rest.find('/') {
            Some(i) => rest[i..].to_owned(),
            None => "/".to_owned(),
        },
        None => location.to_owned(),
    }
}

impl TestClient {
    /// A client for `app`.
    pub fn new(app: App) -> Self {
        TestClient {
            app,
            cookies: Mutex::new(BTreeMap::new()),
        }
    }

    /// Starts a request with any method.
    pub fn request(&self, method: &str, url: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            client: self,
            request: Request::new(method, url),
            follow: false,
        }
    }

    /// `GET url`.
    pub fn get(&self, url: &str) -> TestResponse {
        self.request("GET", url).send()
    }

    /// `HEAD url`.
    pub fn head(&self, url: &str) -> TestResponse {
        self.request("HEAD", url).send()
    }

    /// `OPTIONS url`.
    pub fn options(&self, url: &str) -> TestResponse {
        self.request("OPTIONS", url).send()
    }

    /// `DELETE url`.
    pub fn delete(&self, url: &str) -> TestResponse {
        self.request("DELETE", url).send()
    }

    /// `POST url` with a urlencoded form.
    pub fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> TestResponse {
        self.request("POST", url).form(fields).send()
    }

    /// `POST url` with a JSON body.
    pub fn post_json(&self, url: &str, value: &serde_json::Value) -> TestResponse {
        self.request("POST", url).json(value).send()
    }

    /// Sets a cookie in the jar, as if a response had set it.
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar().insert(name.to_owned(), value.to_owned());
    }

    /// A cookie from the jar.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar().get(name).cloned()
    }

    fn jar(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        self.cookies.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends a request built by hand, with the jar's cookies.
    pub fn open(&self, mut request: Request) -> TestResponse {
        {
            let jar = self.jar();
            if !jar.is_empty() && !request.headers.contains("Cookie") {
                let line: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
                request.headers.append("Cookie", line.join("; "));
            }
        }
        let resp = TestResponse::from_response(self.app.handle(request));
        let mut jar = self.jar();
        for sc in resp.headers.get_all("Set-Cookie") {
            let mut parts = sc.split(';');
            let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
                continue;
            };
            let expired = parts.any(|p| {
                let p = p.trim().to_ascii_lowercase();
                p == "max-age=0" || p.starts_with("expires=thu, 01 jan 1970")
            });
            if expired {
                jar.remove(name.trim());
            } else {
                jar.insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
        resp
    }
}
