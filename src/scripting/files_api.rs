//! `send_file` and `send_from_directory`: files the script names, always
//! safe-joined below a folder (relative folders resolve from the app's).

use rhai::{Dynamic, Engine, EvalAltResult};

use super::abort_err;
use super::objects::current;
use crate::app::dispatch::send_static;

fn send(dir: &str, path: &str) -> Result<Dynamic, Box<EvalAltResult>> {
    let ctx = current()?;
    let app = &ctx.app;
    let dir = app.root.join(dir);
    send_static(app, &ctx.request, &dir, path).map_err(|f| match f {
        crate::app::dispatch::Failure::Http(e) => abort_err(e),
        _ => abort_err(crate::http::HttpError::new(500)),
    })
}

pub(crate) fn register(engine: &mut Engine) {
    engine.register_fn("send_from_directory", |dir: &str, path: &str| {
        send(dir, path)
    });
    // `send_file(path)` is confined to the app's folder: scripts get no file
    // access beyond what the host grants.
    engine.register_fn("send_file", |path: &str| send(".", path));
}
