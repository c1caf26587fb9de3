//! Replays every committed fuzz corpus input (fuzz/corpus/<target>/) and every crash
//! artifact (fuzz/artifacts/<target>/) through the fuzz targets' bodies on stable, so
//! what the fuzzer found and kept stays a regression test without a nightly toolchain.

use std::path::Path;

#[test]
fn every_corpus_input_replays_without_a_broken_invariant() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut failures = Vec::new();
    for (name, target) in capiscio_tui::fuzzing::TARGETS {
        let mut replayed = 0;
        for dir in ["corpus", "artifacts"] {
            let Ok(rd) = std::fs::read_dir(root.join(dir).join(name)) else {
                continue;
            };
            for entry in rd.filter_map(Result::ok) {
                let path = entry.path();
                let Ok(data) = std::fs::read(&path) else {
                    continue;
                };
                replayed += 1;
                if std::panic::catch_unwind(|| target(&data)).is_err() {
                    failures.push(path.display().to_string());
                }
            }
        }
        assert!(replayed > 0, "no corpus for fuzz target {name}");
        eprintln!("{name}: {replayed} inputs");
    }
    assert!(
        failures.is_empty(),
        "inputs that break an invariant: {failures:#?}"
    );
}
