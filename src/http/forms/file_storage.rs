//! Uploaded files (Werkzeug's `FileStorage`): small ones in memory, larger
//! ones spooled to a temporary file while the body streams in, the way
//! Werkzeug's `SpooledTemporaryFile(max_size=500 KiB)` does.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::http::Headers;

/// One uploaded file: a multipart part that carried a `filename`.
///
/// The content lives in memory, or in a temporary file that is deleted when
/// the `FileStorage` is dropped (when the request ends, as nothing else
/// holds it). Reading never moves a shared cursor: every [`read`] and
/// [`save`] sees the whole content.
///
/// [`read`]: FileStorage::read
/// [`save`]: FileStorage::save
pub struct FileStorage {
    name: String,
    filename: String,
    headers: Headers,
    size: u64,
    data: FileData,
}

enum FileData {
    InMemory(Vec<u8>),
    Spooled(NamedTempFile),
}

impl fmt::Debug for FileStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Werkzeug's repr shows filename and content type; size and where the
        // bytes live help when debugging limits.
        f.debug_struct("FileStorage")
            .field("name", &self.name)
            .field("filename", &self.filename)
            .field("content_type", &self.content_type())
            .field("size", &self.size)
            .field("spooled", &self.spooled_path())
            .finish()
    }
}

impl FileStorage {
    /// A file held in memory, for test clients and embedders building
    /// requests by hand. `headers` are the part's headers (the
    /// `Content-Type` among them, if any).
    pub fn from_bytes(
        name: impl Into<String>,
        filename: impl Into<String>,
        headers: Headers,
        data: Vec<u8>,
    ) -> Self {
        FileStorage {
            name: name.into(),
            filename: filename.into(),
            headers,
            size: data.len() as u64,
            data: FileData::InMemory(data),
        }
    }

    /// The form field name (`name=` of the part).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The filename the client sent, unsanitised (may be `""` when a form
    /// was submitted with no file chosen; see `utils::secure_filename`).
    pub fn filename(&self) -> &str {
        &self.filename
    }

    /// The part's `Content-Type` as sent, `None` when absent (Werkzeug's
    /// `content_type`).
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get("Content-Type")
    }

    /// The lower-cased content type without parameters, `""` when absent
    /// (Werkzeug's `mimetype`).
    pub fn mimetype(&self) -> String {
        let (value, _) = super::parse_options_header(self.content_type().unwrap_or(""));
        value.to_lowercase()
    }

    /// The part's own `Content-Length` header, 0 when absent or invalid
    /// (Werkzeug's `content_length`; clients rarely send it, see [`size`]).
    ///
    /// [`size`]: FileStorage::size
    pub fn content_length(&self) -> u64 {
        self.headers
            .get("Content-Length")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The part's headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The number of bytes received.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Where the content was spooled, `None` while it is held in memory.
    pub fn spooled_path(&self) -> Option<&Path> {
        match &self.data {
            FileData::InMemory(_) => None,
            FileData::Spooled(f) => Some(f.path()),
        }
    }

    /// The whole content. For a spooled file this reads it from disk.
    pub fn read(&self) -> io::Result<Vec<u8>> {
        match &self.data {
            FileData::InMemory(bytes) => Ok(bytes.clone()),
            FileData::Spooled(file) => {
                let mut out = Vec::with_capacity(usize::try_from(self.size).unwrap_or(0));
                file.reopen()?.read_to_end(&mut out)?;
                Ok(out)
            }
        }
    }

    /// A reader over the whole content, to stream a large file without
    /// holding it in memory.
    pub fn open(&self) -> io::Result<Box<dyn Read + Send + '_>> {
        match &self.data {
            FileData::InMemory(bytes) => Ok(Box::new(&bytes[..])),
            FileData::Spooled(file) => Ok(Box::new(file.reopen()?)),
        }
    }

    /// Writes the content to `path`, creating or truncating that one file
    /// (no parent directories, nothing else), like Werkzeug's `save(dst)`.
    /// The new file gets the default permissions, not the temporary file's.
    /// Errors (a missing directory, a full disk) are returned as they are.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let mut dst = File::create(path)?;
        match &self.data {
            FileData::InMemory(bytes) => dst.write_all(bytes)?,
            FileData::Spooled(file) => {
                io::copy(&mut file.reopen()?, &mut dst)?;
            }
        }
        // No fsync: Werkzeug does none either, and it would make every
        // upload wait for the disk.
        Ok(())
    }
}

/// Collects one file part's bytes: in memory up to `threshold`, then in a
/// temporary file, so a large upload is never held whole in memory.
pub(crate) struct SpoolWriter {
    threshold: u64,
    dir: Option<PathBuf>,
    size: u64,
    memory: Vec<u8>,
    file: Option<NamedTempFile>,
}

impl SpoolWriter {
    /// A writer that rolls over to a temporary file (in `dir`, or the
    /// system's temporary directory) once more than `threshold` bytes came.
    pub(crate) fn new(threshold: u64, dir: Option<PathBuf>) -> Self {
        SpoolWriter {
            threshold,
            dir,
            size: 0,
            memory: Vec::new(),
            file: None,
        }
    }

    /// Appends `data`; an error is the disk's (full, unwritable).
    pub(crate) fn write(&mut self, data: &[u8]) -> io::Result<()> {
        self.size += data.len() as u64;
        if let Some(file) = &mut self.file {
            return file.write_all(data);
        }
        self.memory.extend_from_slice(data);
        // Werkzeug's SpooledTemporaryFile rolls over once its size exceeds
        // max_size, so a file of exactly the threshold stays in memory.
        if self.size > self.threshold {
            let mut builder = tempfile::Builder::new();
            builder.prefix("flaskrs-upload-");
            let mut file = match &self.dir {
                Some(dir) => builder.tempfile_in(dir)?,
                None => builder.tempfile()?,
            };
            file.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        Ok(())
    }

    /// The finished file.
    pub(crate) fn finish(
        self,
        name: String,
        filename: String,
        headers: Headers,
    ) -> io::Result<FileStorage> {
        let data = match self.file {
            Some(mut file) => {
                file.flush()?;
                FileData::Spooled(file)
            }
            None => FileData::InMemory(self.memory),
        };
        Ok(FileStorage {
            name,
            filename,
            headers,
            size: self.size,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(value: &str) -> Headers {
        let mut h = Headers::new();
        h.set("Content-Type", value);
        h
    }

    #[test]
    fn small_file_stays_in_memory() {
        let mut w = SpoolWriter::new(4, None);
        w.write(b"ab").unwrap();
        w.write(b"cd").unwrap();
        let f = w
            .finish("f".into(), "a.txt".into(), ct("Text/Plain; charset=x"))
            .unwrap();
        assert_eq!(f.spooled_path(), None);
        assert_eq!(f.read().unwrap(), b"abcd");
        assert_eq!(f.size(), 4);
        assert_eq!(f.content_type(), Some("Text/Plain; charset=x"));
        assert_eq!(f.mimetype(), "text/plain");
        assert_eq!((f.name(), f.filename()), ("f", "a.txt"));
    }

    #[test]
    fn large_file_is_spooled_and_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SpoolWriter::new(4, Some(dir.path().to_owned()));
        w.write(b"abc").unwrap();
        w.write(b"de").unwrap();
        w.write(b"f").unwrap();
        let f = w.finish("f".into(), "a".into(), Headers::new()).unwrap();
        let path = f.spooled_path().unwrap().to_owned();
        assert!(path.starts_with(dir.path()));
        assert_eq!(std::fs::read(&path).unwrap(), b"abcdef");
        // Reads do not share a cursor.
        assert_eq!(f.read().unwrap(), b"abcdef");
        assert_eq!(f.read().unwrap(), b"abcdef");
        let mut s = String::new();
        f.open().unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(s, "abcdef");
        assert_eq!(f.content_type(), None);
        assert_eq!(f.mimetype(), "");
        drop(f);
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn save_writes_only_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let spool = tempfile::tempdir().unwrap();
        for (threshold, name) in [(100, "mem.bin"), (1, "disk.bin")] {
            let mut w = SpoolWriter::new(threshold, Some(spool.path().to_owned()));
            w.write(b"hello").unwrap();
            let f = w.finish("f".into(), "x".into(), Headers::new()).unwrap();
            let target = dir.path().join(name);
            std::fs::write(&target, b"old content, longer").unwrap();
            f.save(&target).unwrap();
            assert_eq!(std::fs::read(&target).unwrap(), b"hello");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        // No parent directories are created.
        let f = FileStorage::from_bytes("f", "x", Headers::new(), b"x".to_vec());
        let err = f.save(&dir.path().join("missing/x.bin")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(!dir.path().join("missing").exists());
    }

    #[cfg(unix)]
    #[test]
    fn saved_file_has_default_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut w = SpoolWriter::new(0, Some(dir.path().to_owned()));
        w.write(b"x").unwrap();
        let f = w.finish("f".into(), "x".into(), Headers::new()).unwrap();
        let target = dir.path().join("out");
        f.save(&target).unwrap();
        // The temporary file is 0600; a saved upload must not inherit that.
        let fresh = dir.path().join("fresh");
        File::create(&fresh).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&target), mode(&fresh));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn full_disk_is_an_io_error() {
        let f = FileStorage::from_bytes("f", "x", Headers::new(), b"data".to_vec());
        let err = f.save(Path::new("/dev/full")).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(28)); // ENOSPC
    }

    #[test]
    fn shareable_across_threads() {
        // Rhai's `sync` feature needs request values to be Send + Sync.
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<std::sync::Arc<FileStorage>>();
    }

    #[test]
    fn content_length_header() {
        let mut h = Headers::new();
        h.set("Content-Length", "12");
        assert_eq!(
            FileStorage::from_bytes("f", "x", h, vec![]).content_length(),
            12
        );
        assert_eq!(
            FileStorage::from_bytes("f", "x", Headers::new(), vec![]).content_length(),
            0
        );
    }
}
