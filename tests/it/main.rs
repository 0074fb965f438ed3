//! Integration tests, one binary (one link on a 2-core machine), one module
//! per concern, named after Flask's own test files.

mod common;
mod test_apps;
mod test_basic;
mod test_cli;
mod test_debug;
mod test_embedding;
mod test_extensions;
mod test_faults;
mod test_flashing;
mod test_flaskr;
mod test_hooks;
mod test_hostile;
mod test_json;
mod test_limits;
mod test_request;
mod test_routing;
mod test_sessions;
mod test_setup_errors;
mod test_static;
mod test_templating;
mod test_uploads;
