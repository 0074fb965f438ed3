//! HTTP values with no script and no socket in them: requests, responses,
//! headers, multi-dicts, cookies, forms and error pages (Werkzeug's
//! `datastructures`, `wrappers`, `formparser`, `exceptions`).

pub mod cookies;
mod exceptions;
pub mod forms;
mod headers;
mod multidict;
mod request;
mod response;

pub use exceptions::{status_reason, HttpError};
pub use headers::Headers;
pub use multidict::MultiDict;
pub use request::{Request, RequestBody};
pub(crate) use response::status_has_no_body;
pub use response::{Body, Response};
