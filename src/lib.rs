//! # flaskrs
//!
//! Flask's Quickstart on a Rust host: web apps written in Rhai.
#![forbid(unsafe_code)]

pub mod http;
pub mod json;
pub mod markup;
pub mod routing;
pub mod urls;
pub mod json_tag;
pub mod server;
pub mod sessions;
pub mod signing;
pub mod static_files;
pub mod templating;
