//! Shared by the benches: the mixed home every discovery figure is measured on.

use capiscio_tui::core::key::KeyPair;
use capiscio_tui::store::disk;
use std::path::Path;

/// `n` identities under `home` (a `.capiscio` directory): even ones agents under `keys/`
/// with UUID names, odd ones MCP servers; seeded so every run builds the same keys.
pub fn populate_mixed(home: &Path, n: usize) {
    for i in 0..n {
        let mut seed = [5u8; 32];
        seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let key = KeyPair::from_seed(&seed);
        if i % 2 == 0 {
            disk::write_agent(
                &home
                    .join("keys")
                    .join(format!("{i:08x}-0000-4000-8000-{i:012x}")),
                &key,
                None,
            )
            .unwrap();
        } else {
            disk::write_server(
                &home.join("mcp-servers").join(format!("server-{i:06}")),
                &key,
            )
            .unwrap();
        }
    }
}
