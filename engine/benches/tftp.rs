//! The engine's per-packet paths: TFTP server ACK → window, TFTP packet parsing, and a
//! responder answering a DISCOVER and an ACK end to end (`Responder::handle_datagram`).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use pxelab_engine::dhcp::firmware::{self, FirmwareKind};
use pxelab_engine::policy::{
    Arch, AvailableTo, Collection, Purpose, ResponderConfig, Role, Site, TftpCaps,
};
use pxelab_engine::responder::{Output, Responder};
use pxelab_engine::state::MemoryStore;
use pxelab_engine::testkit::{deployment, image, machine, SameFileRoot};
use pxelab_engine::tftp::packet::{self, Packet, Request};
use pxelab_engine::tftp::server::{FileSource, ServerConfig, Transfer};
use pxelab_engine::{Instant, Mac};
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

fn ack(b: u16) -> Vec<u8> {
    let mut v = Vec::new();
    packet::encode_ack(&mut v, b);
    v
}

fn server_ack_path(c: &mut Criterion) {
    let file: Arc<dyn FileSource> = Arc::new(vec![7u8; 64 << 20]);
    let mut g = c.benchmark_group("tftp_server_ack_to_window");
    for (blk, win) in [(1432u16, 1u16), (1468, 4), (4096, 1), (8192, 8)] {
        g.throughput(Throughput::Bytes(u64::from(blk) * u64::from(win)));
        g.bench_function(
            BenchmarkId::from_parameter(format!("blksize{blk}_window{win}")),
            |b| {
                let cfg = ServerConfig {
                    caps: TftpCaps {
                        block_size: blk,
                        window_size: win,
                    },
                    ..ServerConfig::default()
                };
                let bs = blk.to_string();
                let ws = win.to_string();
                let req = Request {
                    filename: b"f",
                    mode: "octet".into(),
                    options: vec![("blksize".into(), bs), ("windowsize".into(), ws)],
                };
                let mut out = Vec::new();
                let mut t = Transfer::start(Instant::ZERO, &req, file.clone(), &cfg, &mut out);
                let mut next: u16 = 0;
                let mut acks: Vec<Vec<u8>> = (0..=u16::MAX).map(ack).collect();
                acks.shrink_to_fit();
                b.iter(|| {
                    out.clear();
                    t.handle_packet(Instant::ZERO, &acks[next as usize], &mut out);
                    next = next.wrapping_add(win);
                    if out.is_empty() {
                        // End of file: start over.
                        t = Transfer::start(Instant::ZERO, &req, file.clone(), &cfg, &mut out);
                        next = 0;
                    }
                    black_box(out.len())
                })
            },
        );
    }
    g.finish();
}

fn parse(c: &mut Criterion) {
    let mut rrq = Vec::new();
    packet::encode_rrq(
        &mut rrq,
        b"smsboot\\x64\\bootmgfw.efi",
        "octet",
        &[("blksize", "1468"), ("windowsize", "4"), ("tsize", "0")],
    );
    let mut data = Vec::new();
    packet::encode_data(&mut data, 77, &[1u8; 1468]);
    c.bench_function("tftp_parse_rrq", |b| {
        b.iter(|| black_box(Packet::parse(black_box(&rrq)).is_ok()))
    });
    c.bench_function("tftp_parse_data", |b| {
        b.iter(|| black_box(Packet::parse(black_box(&data)).is_ok()))
    });
    // A 64 KiB-class request of distinct options (the duplicate check was quadratic).
    let mut many = b"\x00\x01f\x00octet\x00".to_vec();
    for i in 0..10_000u32 {
        many.extend_from_slice(format!("{i:x}\0v\0").as_bytes());
    }
    c.bench_function("tftp_parse_rrq_10000_options", |b| {
        b.iter(|| black_box(Packet::parse(black_box(&many)).is_ok()))
    });
}

fn site() -> Site {
    Site {
        code: "PS1".into(),
        boot_images: vec![image("PS100002", Arch::X64, 16 << 20, true)],
        machines: (0..1000u32)
            .map(|i| {
                let mac = Mac([0x52, 0x54, 0, 0, (i >> 8) as u8, i as u8]);
                machine(&format!("WS{i:04}"), Some(mac), None)
            })
            .collect(),
        collections: vec![Collection {
            name: "Lab".into(),
            members: (0..1000).map(|i| format!("WS{i:04}")).collect(),
        }],
        deployments: vec![deployment(
            "PS120001",
            "Lab",
            "PS100002",
            Purpose::Available,
            AvailableTo::MediaPxe,
        )],
        ..Site::default()
    }
}

fn responder_paths(c: &mut Criterion) {
    let cfg = ResponderConfig::new("dp1", Ipv4Addr::new(10, 0, 0, 5), Role::DistributionPoint);
    let cfg = ResponderConfig {
        images: vec!["PS100002".into()],
        ..cfg
    };
    let mut r = Responder::new(
        Instant::ZERO,
        cfg,
        Arc::new(site()),
        Box::new(MemoryStore::new()),
        Arc::new(SameFileRoot::new("", vec![1u8; 16 << 20])),
        1,
    );
    let model = firmware::model(FirmwareKind::UefiX64);
    let mac = Mac([0x52, 0x54, 0, 0, 1, 7]);
    let discover = firmware::build_discover(model, mac, None, 42, 0);
    let src = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68);
    let dst = SocketAddrV4::new(Ipv4Addr::BROADCAST, 67);
    let mut out = Output::default();
    let mut now = Instant::ZERO;
    c.bench_function("responder_discover_to_proxy_offer", |b| {
        b.iter(|| {
            out.clear();
            now = now + Duration::from_micros(1);
            r.handle_datagram(now, src, dst, black_box(&discover), &mut out);
            black_box(out.transmits.len())
        })
    });

    // A TFTP transfer through the responder: each ACK yields the next DATA. Every
    // transfer uses a fresh client port (a new TID pair), as a new client would.
    let mut rrq = Vec::new();
    packet::encode_rrq(
        &mut rrq,
        b"smsimages/ps100002/boot.ps100002.wim",
        "octet",
        &[("blksize", "4096")],
    );
    let server = Ipv4Addr::new(10, 0, 0, 5);
    let mut port = 2000u16;
    let mut start = |r: &mut Responder, out: &mut Output| -> (SocketAddrV4, u16) {
        port = port.wrapping_add(1).max(1024);
        let client = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 100), port);
        out.clear();
        r.handle_datagram(
            Instant::ZERO,
            client,
            SocketAddrV4::new(server, 69),
            &rrq,
            out,
        );
        (client, out.transmits[0].src.port())
    };
    let (mut client, mut tid) = start(&mut r, &mut out);
    let mut block: u16 = 0;
    c.bench_function("responder_tftp_ack_to_data", |b| {
        b.iter(|| {
            out.clear();
            r.handle_datagram(
                Instant::ZERO,
                client,
                SocketAddrV4::new(server, tid),
                &ack(block),
                &mut out,
            );
            block = block.wrapping_add(1);
            if out.transmits.is_empty() {
                (client, tid) = start(&mut r, &mut out);
                block = 0;
            }
            black_box(out.transmits.len())
        })
    });
}

criterion_group!(benches, server_ack_path, parse, responder_paths);
criterion_main!(benches);
