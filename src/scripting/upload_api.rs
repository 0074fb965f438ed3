//! `request.files` and uploaded files as scripts see them, and
//! `secure_filename`.

use std::sync::Arc;

use rhai::{Array, Dynamic, Engine, EvalAltResult};

use super::objects::{current, RequestObj};
use super::{abort_err, pure, runtime_err};
use crate::http::forms::FileStorage;
use crate::http::{HttpError, MultiDict};

type RhaiResult = Result<Dynamic, Box<EvalAltResult>>;

/// `request.files`.
#[derive(Debug, Clone)]
pub(crate) struct FilesObj(Arc<MultiDict<Arc<FileStorage>>>);

/// One uploaded file (Werkzeug's `FileStorage`).
#[derive(Debug, Clone)]
pub(crate) struct FileObj(Arc<FileStorage>);

/// A missing file key: Werkzeug's 400, or in debug mode Flask's
/// explanation when the form was not sent as multipart.
fn missing_file(key: &str) -> Box<EvalAltResult> {
    if let Some(ctx) = crate::ctx::current() {
        let mimetype = ctx.request.mimetype();
        if ctx.app.debug && mimetype != "multipart/form-data" {
            return runtime_err(format!(
                "DebugFilesKeyError: You tried to access the file '{key}' in the request.files dictionary but it does not exist. The mimetype for the request is '{mimetype}' instead of 'multipart/form-data' which means that no file contents were transmitted. To fix this error you should provide enctype=\"multipart/form-data\" in your form."
            ));
        }
    }
    abort_err(HttpError::new(400))
}

pub(crate) fn register(engine: &mut Engine) {
    engine.register_type_with_name::<FilesObj>("FileMultiDict");
    engine.register_type_with_name::<FileObj>("FileStorage");

    pure!(engine, "get$files", |_: &mut RequestObj| -> RhaiResult {
        Ok(Dynamic::from(FilesObj(
            current()?.files().map_err(abort_err)?,
        )))
    });
    pure!(engine, "index$get$", |d: &mut FilesObj,
                                 k: &str|
     -> RhaiResult {
        d.0.get(k)
            .map(|f| Dynamic::from(FileObj(f.clone())))
            .ok_or_else(|| missing_file(k))
    });
    pure!(engine, "get", |d: &mut FilesObj, k: &str| {
        d.0.get(k)
            .map_or(Dynamic::UNIT, |f| Dynamic::from(FileObj(f.clone())))
    });
    pure!(engine, "getlist", |d: &mut FilesObj, k: &str| {
        d.0.get_all(k)
            .map(|f| Dynamic::from(FileObj(f.clone())))
            .collect::<Array>()
    });
    pure!(engine, "contains", |d: &mut FilesObj, k: &str| d
        .0
        .contains_key(k));
    pure!(engine, "keys", |d: &mut FilesObj| {
        d.0.keys()
            .into_iter()
            .map(|k| Dynamic::from(k.to_owned()))
            .collect::<Array>()
    });
    pure!(engine, "len", |d: &mut FilesObj| d.0.keys().len() as i64);

    pure!(engine, "get$filename", |f: &mut FileObj| f
        .0
        .filename()
        .to_owned());
    pure!(engine, "get$name", |f: &mut FileObj| f.0.name().to_owned());
    pure!(engine, "get$content_type", |f: &mut FileObj| {
        f.0.content_type()
            .map_or(Dynamic::UNIT, |c| c.to_owned().into())
    });
    pure!(engine, "get$mimetype", |f: &mut FileObj| f.0.mimetype());
    pure!(engine, "get$size", |f: &mut FileObj| {
        i64::try_from(f.0.size()).unwrap_or(i64::MAX)
    });
    pure!(engine, "read", |f: &mut FileObj| -> RhaiResult {
        f.0.read()
            .map(Dynamic::from_blob)
            .map_err(|e| runtime_err(format!("reading the uploaded file failed: {e}")))
    });
    pure!(engine, "save", |f: &mut FileObj,
                           path: &str|
     -> Result<(), Box<EvalAltResult>> {
        // Relative paths resolve from the app's folder, whatever the
        // working directory.
        let ctx = current()?;
        let target = ctx.app.root.join(path);
        f.0.save(&target).map_err(|e| {
            runtime_err(format!(
                "saving the uploaded file to '{}' failed: {e}",
                target.display()
            ))
        })
    });
    pure!(engine, "to_string", |f: &mut FileObj| {
        format!(
            "<FileStorage: '{}' ('{}')>",
            f.0.filename(),
            f.0.content_type().unwrap_or("")
        )
    });

    engine.register_fn("secure_filename", |name: &str| {
        crate::utils::secure_filename(name)
    });
}
