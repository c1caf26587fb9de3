//! Adapters: the file system layouts, the environment, and the merge of both.

pub mod create;
pub mod disk;
pub mod env;
pub mod fs;
pub mod keyring;
pub mod rotate;
pub mod scan;
pub mod targets;
