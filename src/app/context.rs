//! Everything a service function needs from the outside world, captured once at the
//! edge so the functions themselves are deterministic under test.

use crate::store::env::EnvSnapshot;
use crate::store::scan::{self, Scan, ScanInput};
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Context {
    /// The CapiscIO home (`~/.capiscio` by default).
    pub home: PathBuf,
    pub env: EnvSnapshot,
    pub cwd: PathBuf,
    /// Unix seconds.
    pub now: i64,
    pub offline: bool,
}

impl Context {
    pub fn scan(&self) -> Scan {
        scan::scan(&ScanInput {
            home: &self.home,
            env: &self.env,
            cwd: &self.cwd,
            now: self.now,
        })
    }
}
