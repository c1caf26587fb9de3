#![no_main]
// The body lives in the library (capiscio_tui::fuzzing) so `cargo test` replays the corpus.
libfuzzer_sys::fuzz_target!(|data: &[u8]| capiscio_tui::fuzzing::pasted_target(data));
