//! Debug mode's reloader: before a request, at most every 100 ms, look at
//! the script and the modules it imported; load a changed version and swap
//! it in, or keep the last good one and remember why the new one failed.

use std::path::PathBuf;
use std::sync::Arc;

use super::{with_script_stack, App, LoadedApp};
use crate::error::Error;
use crate::logging::Level;

/// The debug-mode reloader's memory: when it last looked, what the watched
/// files looked like, and the compile error of a broken edit (served as the
/// error page until the file is fixed).
pub(super) struct ReloadState {
    pub(super) checked: std::time::Instant,
    pub(super) stamps: Vec<FileStamp>,
    pub(super) error: Option<Arc<Error>>,
}

/// How often the reloader looks at the files, at most.
const RELOAD_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

type FileStamp = (PathBuf, Option<(std::time::SystemTime, u64)>);

pub(super) fn stamps(files: &[PathBuf]) -> Vec<FileStamp> {
    files
        .iter()
        .map(|p| {
            let meta = std::fs::metadata(p).ok();
            (
                p.clone(),
                meta.and_then(|m| Some((m.modified().ok()?, m.len()))),
            )
        })
        .collect()
}

impl App {
    /// Debug mode's reloader, run before a request: when the script or a
    /// module it imports changed, load the new version and swap it in
    /// (requests in flight keep theirs). A version that does not load
    /// leaves the last good one in place; its error is returned for every
    /// request until the files change again.
    pub(super) fn reload_if_changed(&self) -> Option<Arc<Error>> {
        let mut state = self.shared.reload.lock().unwrap_or_else(|e| e.into_inner());
        if state.checked.elapsed() < RELOAD_CHECK_INTERVAL {
            return state.error.clone();
        }
        state.checked = std::time::Instant::now();
        let files: Vec<PathBuf> = state.stamps.iter().map(|(p, _)| p.clone()).collect();
        let now = stamps(&files);
        if now == state.stamps {
            return state.error.clone();
        }
        state.stamps = now;
        match with_script_stack(|| LoadedApp::load(&self.shared.source, &self.shared.options)) {
            Ok(fresh) => {
                state.stamps = stamps(&fresh.watched);
                state.error = None;
                fresh.logger.log(
                    Level::Info,
                    &format!(" * Detected change in '{}', reloading", fresh.file),
                );
                *self
                    .shared
                    .current
                    .write()
                    .unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
                None
            }
            Err(e) => {
                let current = self.current();
                current.logger.log(
                    Level::Error,
                    &format!(
                        "Reloading '{}' failed; still serving the last good version:\n{e}",
                        current.file
                    ),
                );
                let e = Arc::new(e);
                state.error = Some(e.clone());
                Some(e)
            }
        }
    }
}
