//! Every app in apps/ loads, and the URLs its header comment promises
//! answer as promised. A header line `//   GET /path -> 200 text` (or
//! `-> 308`, `-> 404`) is a check: status, and the body must contain the text.

use std::path::Path;

fn checks(src: &str) -> Vec<(String, String, u16, String)> {
    src.lines()
        .take_while(|l| l.starts_with("//"))
        .filter_map(|l| {
            let l = l.trim_start_matches('/').trim();
            let (req, expect) = l.split_once(" -> ")?;
            let (method, path) = req.split_once(' ')?;
            if !["GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE"].contains(&method) {
                return None;
            }
            let (status, body) = expect.split_once(' ').unwrap_or((expect, ""));
            Some((
                method.to_owned(),
                path.to_owned(),
                status.parse().ok()?,
                body.to_owned(),
            ))
        })
        .collect()
}

#[test]
fn every_app_keeps_its_promises() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("apps");
    let mut checked = 0;
    let mut apps = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("rhai") {
            continue;
        }
        apps += 1;
        let src = std::fs::read_to_string(&path).unwrap();
        let app = flaskrs::App::from_file(&path)
            .unwrap_or_else(|e| panic!("{} failed to load: {e}", path.display()));
        let client = app.test_client();
        let list = checks(&src);
        assert!(
            !list.is_empty(),
            "{} promises no URLs in its header",
            path.display()
        );
        for (method, url, status, body) in list {
            let (url, form) = match url.split_once(" form:") {
                Some((u, f)) => (u.to_owned(), Some(f.to_owned())),
                None => (url, None),
            };
            let mut req = client.request(&method, &url);
            if let Some(f) = form {
                let pairs: Vec<(&str, &str)> =
                    f.split('&').filter_map(|kv| kv.split_once('=')).collect();
                req = req.form(&pairs);
            }
            let r = req.send();
            assert_eq!(
                r.status,
                status,
                "{} {method} {url}: {}",
                path.display(),
                r.text()
            );
            assert!(
                r.text().contains(&body),
                "{} {method} {url}: body {:?} lacks {body:?}",
                path.display(),
                r.text()
            );
            checked += 1;
        }
    }
    assert!(apps >= 9, "only {apps} apps found");
    assert!(checked >= apps);
}
