//! capiscio-tui: find, inspect, generate and export CapiscIO agent and MCP-server
//! identities, byte-compatible with the official SDKs.
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod core;
pub mod registry;
pub mod store;
