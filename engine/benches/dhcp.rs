//! Cost of reading a firmware DISCOVER and answering it with a proxy offer.

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{criterion_group, criterion_main, Criterion};
use pxelab_engine::dhcp::firmware::{self, FirmwareKind};
use pxelab_engine::dhcp::{build_proxy_offer, parse, ProxyParams};
use pxelab_engine::{Guid, Mac};

fn bench(c: &mut Criterion) {
    let guid: Guid = "11111111-2222-3333-4444-555555555555".parse().unwrap();
    let mac: Mac = "52:54:00:00:00:01".parse().unwrap();
    let params = ProxyParams::new(Ipv4Addr::new(10, 10, 0, 5), None);
    for kind in [FirmwareKind::BiosX64, FirmwareKind::UefiX64] {
        let m = firmware::model(kind);
        let discover = firmware::build_discover(m, mac, Some(guid), 0x1234, 0);
        c.bench_function(&format!("parse {}", m.name), |b| {
            b.iter(|| parse(black_box(&discover)).unwrap())
        });
        let req = parse(&discover).unwrap();
        c.bench_function(&format!("build_proxy_offer {}", m.name), |b| {
            b.iter(|| build_proxy_offer(black_box(&req), &params))
        });
        c.bench_function(&format!("parse + offer {}", m.name), |b| {
            b.iter(|| build_proxy_offer(&parse(black_box(&discover)).unwrap(), &params))
        });
    }
    // The worst datagram the daemon reads: 64 KiB of empty options (the fuzzer found
    // it quadratic once).
    let mut big = vec![0u8; 240];
    big[..3].copy_from_slice(&[1, 1, 6]);
    big[236..240].copy_from_slice(&[99, 130, 83, 99]);
    big.extend([5u8, 0].repeat(32_000));
    big.push(255);
    c.bench_function("parse 64 KiB of empty options", |b| {
        b.iter(|| parse(black_box(&big)).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
