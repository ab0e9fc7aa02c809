//! Selection and election cost on a large site: what one DISCOVER costs a responder.

use criterion::{criterion_group, criterion_main, Criterion};
use pxelab_engine::election::rank;
use pxelab_engine::policy::{
    Arch, AvailableTo, ClientClass, Collection, Machine, Purpose, ResponderConfig, Role, Site,
    X64_UNKNOWN,
};
use pxelab_engine::select::select;
use pxelab_engine::state::{DeviceKey, MemoryStore, StateStore};
use pxelab_engine::testkit::{deployment, image, machine};
use pxelab_engine::{Guid, Mac};
use std::hint::black_box;

fn mac(n: u32) -> Mac {
    let b = n.to_be_bytes();
    Mac([0x52, 0x54, b[0], b[1], b[2], b[3]])
}

fn guid(n: u32) -> Guid {
    let mut g = [0u8; 16];
    g[..4].copy_from_slice(&n.to_be_bytes());
    Guid(g)
}

/// 5000 machines, 100 collections of 100, 400 deployments, 4 boot images.
fn big_site() -> Site {
    let machines: Vec<Machine> = (0..5000)
        .map(|n| machine(&format!("WS{n:05}"), Some(mac(n)), Some(guid(n))))
        .collect();
    let collections = (0..100)
        .map(|c| Collection {
            name: format!("C{c:03}"),
            members: (0..100)
                .map(|i| format!("WS{:05}", (c * 37 + i * 50) % 5000))
                .collect(),
        })
        .collect();
    let images = ["PS100001", "PS100002", "PS100003", "PS100004"];
    let deployments = (0..400)
        .map(|d| {
            let collection = if d % 50 == 0 {
                X64_UNKNOWN.to_string()
            } else {
                format!("C{:03}", d % 100)
            };
            let purpose = if d % 3 == 0 {
                Purpose::Available
            } else {
                Purpose::Required
            };
            let id = format!("PS12{d:04}");
            deployment(
                &id,
                &collection,
                images[d % 4],
                purpose,
                AvailableTo::MediaPxe,
            )
        })
        .collect();
    Site {
        code: "PS1".into(),
        boot_images: vec![
            image(images[0], Arch::X86, 1, true),
            image(images[1], Arch::X64, 1, true),
            image(images[2], Arch::X64, 1, false),
            image(images[3], Arch::Arm64, 1, true),
        ],
        machines,
        collections,
        deployments,
        duplicate_macs: vec![mac(7)],
        duplicate_guids: vec![],
        other_sites: vec![],
    }
}

fn bench(c: &mut Criterion) {
    let site = big_site();
    let mut dp = ResponderConfig::new("dp1", "10.10.0.5".parse().unwrap(), Role::DistributionPoint);
    dp.images = site.boot_images.iter().map(|b| b.id.clone()).collect();
    dp.unknown_computer_support = true;
    let mut state = MemoryStore::new();
    for n in 0..2000 {
        state
            .record(&DeviceKey::Machine(format!("WS{n:05}")), "PS120001")
            .unwrap();
    }
    c.bench_function("select/known_uefi_x64", |b| {
        let mut n = 0u32;
        b.iter(|| {
            n = (n + 1) % 5000;
            black_box(select(
                &site,
                &dp,
                &state,
                mac(n),
                Some(guid(n)),
                ClientClass::UefiX64,
            ))
        })
    });
    c.bench_function("select/unknown_bios", |b| {
        b.iter(|| {
            black_box(select(
                &site,
                &dp,
                &state,
                mac(99_999),
                None,
                ClientClass::Bios,
            ))
        })
    });
    let peers: Vec<String> = (0..16).map(|i| format!("peer-{i:02}")).collect();
    c.bench_function("rank/16_peers", |b| {
        let mut n = 0u32;
        b.iter(|| {
            n = n.wrapping_add(1);
            black_box(rank(mac(n), "peer-07", peers.iter().map(String::as_str)))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
