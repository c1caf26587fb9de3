//! The one display model: the words, glyphs and cells the CLI tables and the UI both show.
//! Pure functions of an `Identity` (and a `now` passed in); no I/O, no terminal types.

pub mod cells;
pub mod deployed;
pub mod identify;
pub mod problems;
pub mod summary;
pub mod text;

pub use cells::{
    BadgeCell, Tone, badge_cell, badge_state, health_glyph, list_name, registry_cell,
    severity_glyph, short_did, short_id,
};
pub use problems::{fix_text, key_loadable, problem_codes, problem_text};
pub use summary::{attention, identities, need_attention};
