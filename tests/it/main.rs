//! Integration tests, one binary (one link on a 2-core machine), one module
//! per concern, named after Flask's own test files.

mod common;
mod test_apps;
mod test_basic;
mod test_cli;
mod test_embedding;
mod test_hooks;
mod test_hostile;
mod test_json;
mod test_request;
mod test_routing;
mod test_setup_errors;
