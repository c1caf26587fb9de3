//! In-process figures with criterion (`cargo bench --bench core`): the codecs, DID
//! derivation, badge verification and discovery of 100 / 1,000 / 10,000 identities.

use capiscio_tui::core::key::KeyPair;
use capiscio_tui::core::{badge, did, jwk, pem};

mod common;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn codecs(c: &mut Criterion) {
    let key = KeyPair::from_seed(&[9; 32]);
    let go = jwk::to_go_private(&key);
    let pem_text = pem::encode_private(&key);
    let did = key.public().did_key();
    let token = badge::self_signed(&key, "j", 1_800_000_000, 300);
    c.bench_function("jwk parse + validate", |b| {
        b.iter(|| jwk::parse_private(black_box(&go)).unwrap().x_matches())
    });
    c.bench_function("pkcs8 pem parse", |b| {
        b.iter(|| pem::parse_private(black_box(&pem_text)).unwrap())
    });
    c.bench_function("did:key derive", |b| {
        b.iter(|| black_box(key.public()).did_key())
    });
    c.bench_function("did:key parse", |b| {
        b.iter(|| did::parse_did_key(black_box(&did)).unwrap())
    });
    c.bench_function("badge decode + self-signature verify", |b| {
        b.iter(|| {
            badge::decode(black_box(&token))
                .unwrap()
                .offline_state(1_800_000_010)
        })
    });
    c.bench_function("key from seed (public derivation)", |b| {
        b.iter(|| KeyPair::from_seed(black_box(&[7; 32])))
    });
}

fn discovery(c: &mut Criterion) {
    let mut g = c.benchmark_group("discovery (half agents, half servers)");
    g.sample_size(10);
    for n in [100usize, 1_000, 10_000] {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join(".capiscio");
        common::populate_mixed(&home, n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &home, |b, home| {
            b.iter(|| {
                let s = capiscio_tui::store::scan::scan(&capiscio_tui::store::scan::ScanInput {
                    home,
                    env: &Default::default(),
                    cwd: dir.path(),
                    now: 0,
                });
                assert_eq!(s.found.len(), n);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, codecs, discovery);
criterion_main!(benches);
