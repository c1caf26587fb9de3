//! Service functions shared by the CLI and (later) the TUI. They return plain data;
//! they never print and never draw.

pub mod badge;
pub mod config;
pub mod context;
pub mod demo;
pub mod doctor;
pub mod export;
pub mod fix;
pub mod generate;
pub mod identify;
pub mod keyring;
pub mod keys;
pub mod push;
pub mod register;
pub mod resolve;
pub mod rotate;
pub mod save;
pub mod status;

pub use context::Context;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum AppError {
    #[error(transparent)]
    Resolve(#[from] resolve::ResolveError),
    #[error(transparent)]
    Load(#[from] crate::store::disk::LoadError),
    #[error(transparent)]
    Write(#[from] crate::store::fs::WriteError),
    #[error("the operating system's random number generator failed: {0}")]
    Random(getrandom::Error),
    #[error(
        "not a valid identity id: {0} — use 1–128 letters, digits, `-`, `_` or `.`, not starting with a dot (a UUID for agents the SDK should discover)"
    )]
    InvalidId(String),
    #[error(transparent)]
    Fix(#[from] fix::FixError),
    #[error("{0}")]
    Refused(String),
}
