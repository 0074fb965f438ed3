//! Criterion micro-benchmarks of the per-request pieces (issue 7):
//! route matching, handler dispatch, response conversion, session sign and
//! verify, template render.
//!
//! ```sh
//! cargo bench --bench micro                # all
//! cargo bench --bench micro -- routing     # one group
//! ```
//!
//! Each group is kept short (1 s of measurement) so the whole file runs in
//! well under a minute on the shared two-core machine. Everything runs on a
//! thread with `flaskrs::SCRIPT_THREAD_STACK`, as the server's workers do,
//! so `App::handle` is measured without the per-call stack a small thread
//! would need.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, BatchSize, Criterion};
use flaskrs::http::{Request, Response};
use flaskrs::json_tag::Tagged;
use flaskrs::routing::{RuleSpec, UrlMap};
use flaskrs::sessions::{open_session, save_session, SessionConfig};
use flaskrs::signing::{Digest, Serializer};
use flaskrs::templating::Templates;
use flaskrs::wrappers::make_response;
use flaskrs::App;
use rhai::{Array, Dynamic, ImmutableString, Map};

/// About fifty rules of a mid-sized app: static pages, converters of every
/// kind, trailing slashes, and several methods on one rule.
fn url_map() -> UrlMap {
    let mut map = UrlMap::new();
    let mut add = |rule: &str, endpoint: &str, methods: Option<&[&str]>| {
        let mut spec = RuleSpec::new(rule, endpoint);
        spec.methods = methods.map(|m| m.iter().map(|s| (*s).to_owned()).collect());
        map.add(spec).expect("benchmark rules are valid");
    };
    add("/", "index", None);
    add("/about", "about", None);
    add("/contact", "contact", Some(&["GET", "POST"]));
    add("/login", "login", Some(&["GET", "POST"]));
    add("/logout", "logout", None);
    add("/static/<path:filename>", "static", None);
    for section in ["blog", "shop", "docs", "forum", "admin"] {
        add(&format!("/{section}/"), &format!("{section}_index"), None);
        add(
            &format!("/{section}/<int:id>"),
            &format!("{section}_show"),
            None,
        );
        add(
            &format!("/{section}/<int:id>/edit"),
            &format!("{section}_edit"),
            Some(&["GET", "POST"]),
        );
        add(
            &format!("/{section}/<slug>/comments/"),
            &format!("{section}_comments"),
            None,
        );
        add(
            &format!("/{section}/archive/<int:year>/<int:month>"),
            &format!("{section}_archive"),
            None,
        );
        add(
            &format!("/{section}/tag/<any(new,hot,top):kind>"),
            &format!("{section}_tag"),
            None,
        );
        add(
            &format!("/{section}/price/<float:p>"),
            &format!("{section}_price"),
            None,
        );
        add(
            &format!("/{section}/item/<uuid:uid>"),
            &format!("{section}_item"),
            Some(&["GET", "PUT", "DELETE"]),
        );
    }
    add("/api/v1/users", "api_users", Some(&["GET", "POST"]));
    add("/api/v1/users/<int:id>", "api_user", Some(&["GET", "PUT"]));
    add("/api/v1/search", "api_search", None);
    add("/user/<name>", "user", None);
    add("/files/<path:rest>", "files", None);
    add("/feed.xml", "feed", None);
    add("/sitemap.xml", "sitemap", None);
    map
}

fn routing(c: &mut Criterion) {
    let map = url_map();
    assert!(map.rules().len() >= 50, "about fifty rules");
    let mut g = c.benchmark_group("routing");
    for (name, path, method) in [
        ("static_first", "/", "GET"),
        ("static_last", "/sitemap.xml", "GET"),
        ("string_var", "/user/ann", "GET"),
        ("int_deep", "/forum/archive/2024/11", "GET"),
        (
            "uuid",
            "/admin/item/1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            "GET",
        ),
        ("path_var", "/static/css/site/main.css", "GET"),
    ] {
        assert!(
            map.match_request(path, method, "").is_ok(),
            "{path} matches"
        );
        g.bench_function(name, |b| {
            b.iter(|| {
                map.match_request(black_box(path), black_box(method), "")
                    .is_ok()
            })
        });
    }
    g.bench_function("not_found", |b| {
        b.iter(|| {
            map.match_request(black_box("/nope/nothing"), "GET", "")
                .is_err()
        })
    });
    g.bench_function("method_not_allowed", |b| {
        b.iter(|| {
            map.match_request(black_box("/feed.xml"), "POST", "")
                .is_err()
        })
    });
    g.finish();
}

const DISPATCH_APP: &str = r#"
fn hello() { "Hello, World!" }
fn user(name) { `Hello, ${escape(name)}!` }
fn api() { #{ ok: true, count: 3, items: [1, 2, 3] } }
route("/", hello);
route("/user/<name>", user);
route("/api", api);
"#;

fn dispatch(c: &mut Criterion) {
    let app = App::from_source("bench.rhai", DISPATCH_APP).expect("the bench app loads");
    let mut g = c.benchmark_group("dispatch");
    for (name, target) in [
        ("hello", "/"),
        ("user", "/user/J%C3%BCrgen"),
        ("json", "/api"),
        ("not_found", "/missing"),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || Request::new("GET", target),
                |req| app.handle(req).status,
                BatchSize::SmallInput,
            )
        });
    }
    g.bench_function("request_new", |b| {
        b.iter(|| Request::new("GET", black_box("/user/J%C3%BCrgen?x=1")))
    });
    g.finish();
}

fn response(c: &mut Criterion) {
    let mut g = c.benchmark_group("make_response");
    let text = Dynamic::from(ImmutableString::from("Hello, World!"));
    g.bench_function("string", |b| {
        b.iter_batched(
            || text.clone(),
            |rv| make_response(rv, "hello").map(|r| r.status),
            BatchSize::SmallInput,
        )
    });
    let mut record = Map::new();
    record.insert("id".into(), Dynamic::from(7_i64));
    record.insert("name".into(), Dynamic::from("Item <7> & \"friends\""));
    record.insert("price".into(), Dynamic::from(22_i64));
    let items: Array = (0..20).map(|_| Dynamic::from_map(record.clone())).collect();
    let mut json = Map::new();
    json.insert("items".into(), Dynamic::from_array(items));
    json.insert("ok".into(), Dynamic::TRUE);
    let json = Dynamic::from_map(json);
    g.bench_function("json_map_20_items", |b| {
        b.iter_batched(
            || json.clone(),
            |rv| make_response(rv, "api").map(|r| r.status),
            BatchSize::SmallInput,
        )
    });
    let mut headers = Map::new();
    headers.insert("X-Bench".into(), Dynamic::from("1"));
    let tuple = Dynamic::from_array(vec![
        Dynamic::from("Created"),
        Dynamic::from(201_i64),
        Dynamic::from_map(headers),
    ]);
    g.bench_function("tuple_status_headers", |b| {
        b.iter_batched(
            || tuple.clone(),
            |rv| make_response(rv, "create").map(|r| r.status),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn sessions(c: &mut Criterion) {
    let cfg = SessionConfig {
        secret_key: Some(b"bench-secret-key-not-for-production".to_vec()),
        digest: Digest::Sha256,
        ..SessionConfig::default()
    };
    let now = 1_800_000_000;
    let serializer = cfg.serializer().expect("a key is set");
    let payload = r#"{"count":41,"user":"ann"}"#;
    let token = serializer.dumps(payload, now);
    let mut g = c.benchmark_group("session");
    g.bench_function("serializer_new", |b| b.iter(|| cfg.serializer().is_some()));
    g.bench_function("sign", |b| {
        b.iter(|| serializer.dumps(black_box(payload), now))
    });
    g.bench_function("verify", |b| {
        b.iter(|| serializer.loads(black_box(&token), Some(3600), now).is_ok())
    });
    let unsigned = Serializer::new(vec![b"k".to_vec()], "cookie-session", Digest::Sha1)
        .expect("a key is given");
    g.bench_function("sign_sha1", |b| {
        b.iter(|| unsigned.dumps(black_box(payload), now))
    });
    // The whole round of one request: open the cookie, bump the counter,
    // write the Set-Cookie header.
    g.bench_function("open_modify_save", |b| {
        b.iter(|| {
            let mut session =
                open_session(&cfg, Some(black_box(&token)), now).expect("a key is set");
            let n = match session.get("count") {
                Some(Tagged::Int(n)) => *n,
                _ => 0,
            };
            session
                .set("count", Tagged::Int(n + 1))
                .expect("a key is set");
            let mut resp = Response::text("Count");
            save_session(&cfg, &session, &mut resp, now).is_ok()
        })
    });
    g.finish();
}

fn templates(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/app/templates");
    let templates = Templates::new(Some(dir), false);
    let items: Vec<minijinja::Value> = (0..20)
        .map(|i| {
            minijinja::context! {
                id => i,
                name => format!("Item <{i}> & \"friends\""),
                note => "it's <b>escaped</b>",
                price => i * 3 + 1,
            }
        })
        .collect();
    let ctx = minijinja::context! {
        title => "Items & <prices>",
        heading => "Bench <page>",
        footer => "(c) bench & co",
        user => "<script>alert('x')</script>",
        items => items,
    };
    let first = templates
        .render("page.html", ctx.clone())
        .expect("the bench page renders");
    assert!(first.contains("&lt;script&gt;"), "values are autoescaped");
    let mut g = c.benchmark_group("template");
    g.bench_function("page_layout_20_items", |b| {
        b.iter(|| templates.render("page.html", ctx.clone()).map(|s| s.len()))
    });
    g.bench_function("string_small", |b| {
        b.iter(|| {
            templates
                .render_string("<p>{{ user }}</p>", ctx.clone())
                .map(|s| s.len())
        })
    });
    g.finish();
}

/// The benchmark app of `bench/run.sh`, its endpoints served in-process:
/// the app's own cost per request, without the HTTP server.
fn bench_app(c: &mut Criterion) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/app/bench.rhai");
    let app = App::from_file(script).expect("the bench app loads");
    let mut g = c.benchmark_group("bench_app");
    for (name, method, target) in [
        ("hello", "GET", "/"),
        ("user", "GET", "/user/J%C3%BCrgen"),
        ("page", "GET", "/page"),
        ("counter", "GET", "/counter"),
        ("api_items", "GET", "/api/items"),
        ("static", "GET", "/static/style.css"),
    ] {
        let resp = app.handle(Request::new(method, target));
        assert_eq!(resp.status, 200, "{target}");
        g.bench_function(name, |b| {
            b.iter_batched(
                || Request::new(method, target),
                |req| {
                    let mut resp = app.handle(req);
                    resp.buffer().map(<[u8]>::len).unwrap_or(0)
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(30)
}

/// The group, in a module of its own: `criterion_group!` makes a `pub fn`
/// that cannot carry a doc comment.
#[allow(missing_docs)]
mod group {
    use super::*;

    criterion_group! {
        name = micro;
        config = config();
        targets = routing, dispatch, bench_app, response, sessions, templates
    }
}

fn main() {
    let ran = std::thread::Builder::new()
        .name("bench".to_owned())
        .stack_size(flaskrs::SCRIPT_THREAD_STACK)
        .spawn(|| {
            group::micro();
            Criterion::default().configure_from_args().final_summary();
        })
        .expect("the bench thread starts")
        .join();
    if ran.is_err() {
        std::process::exit(1);
    }
}
