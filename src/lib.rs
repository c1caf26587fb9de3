//! capiscio-tui: find, inspect, generate and export CapiscIO agent and MCP-server
//! identities, byte-compatible with the official SDKs.
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod clipboard;
pub mod core;
pub mod display;
#[doc(hidden)]
pub mod fuzzing;
pub mod hardening;
pub mod push;
pub mod registry;
pub mod store;
pub mod tui;

/// The wall clock, read at the edges only (core functions take `now` as an argument).
pub fn cli_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
