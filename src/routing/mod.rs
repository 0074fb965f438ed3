//! URL routing with Werkzeug 3.1's rules, as Flask 3.1 uses them.
//!
//! A [`UrlMap`] holds [`Rule`]s compiled from [`RuleSpec`]s (Flask's
//! `add_url_rule` arguments). It answers two questions:
//!
//! * [`UrlMap::match_request`]: which rule handles this path and method,
//!   and with which arguments? The answer is a [`RouteMatch`] or a
//!   [`RoutingError`]: `NotFound`, `MethodNotAllowed` (with the allowed
//!   methods), or `RequestRedirect` to the canonical URL (a missing
//!   trailing slash, doubled slashes, or a URL that a rule with defaults
//!   covers).
//! * [`UrlMap::build`]: what is the URL of this endpoint with these values
//!   (`url_for`)? Unknown values become the query string; a failure is a
//!   [`BuildError`] whose text is Flask's, "Did you mean" included.
//!
//! ```
//! use flaskrs::routing::{RouteValue, RoutingError, RuleSpec, UrlMap};
//!
//! let mut map = UrlMap::new();
//! map.add(RuleSpec::new("/user/<int:id>", "user")).unwrap();
//! map.add(RuleSpec::new("/projects/", "projects")).unwrap();
//!
//! let m = map.match_request("/user/42", "GET", "").unwrap();
//! assert_eq!(m.rule.endpoint, "user");
//! assert_eq!(m.args["id"], RouteValue::Int(42));
//!
//! assert_eq!(
//!     map.match_request("/projects", "GET", "page=2").unwrap_err(),
//!     RoutingError::RequestRedirect { location: "/projects/?page=2".into() }
//! );
//!
//! let url = map.build("user", &[("id".into(), 7.into()), ("tab".into(), "a b".into())], None);
//! assert_eq!(url.unwrap(), "/user/7?tab=a+b");
//! ```
//!
//! Rule syntax is Werkzeug's: `<name>`, `<converter:name>`,
//! `<converter(arguments):name>` with the converters `string` (default;
//! `minlength`, `maxlength`, `length`), `int` (`fixed_digits`, `min`,
//! `max`, `signed`), `float` (`min`, `max`, `signed`), `path`, `uuid` and
//! `any(a, b, …)`.
//!
//! Matching follows Werkzeug's state machine: each `/`-separated segment is
//! a level; static segments win over variables; variables are tried by
//! weight (more static text first, then `int`/`float` before `string`
//! before `path`). The tree is built when rules are added; a request costs
//! a hash lookup per static segment and converter checks, never a scan of
//! all rules.
//!
//! Deviations, all at the edges: integers beyond `i64` in a URL do not
//! match (Python ints are unbounded); converter arguments that Python would
//! only reject when a URL is matched (a text `min`, `maxlength` below
//! `minlength`) are rejected when the rule is added; subdomains, host
//! matching, `redirect_to`, `alias`, `build_only` and WebSocket rules are
//! not supported.

mod converter_args;
mod converters;
mod error;
mod map;
mod matcher;
mod rule;
mod value;

#[cfg(test)]
mod tests;

pub use error::{BuildError, BuildErrorKind, RoutingError, RuleError};
pub use map::{RouteMatch, UrlMap};
pub use rule::{Rule, RuleSpec};
pub use value::{py_repr, RouteValue};
