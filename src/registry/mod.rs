//! The CapiscIO registry: a tolerant client and a local development registry.

pub mod client;
pub mod dev;
pub mod model;
