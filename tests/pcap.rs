//! `pxelab run --pcap`: the default snap length, `--pcap-full`, and the run's budget.

mod common;

use common::{pxelab, run_ok, tmp};
use pcap_file::pcap::PcapReader;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The README's minimal scenario with a 1 MiB boot image: bootmgfw.efi in 1468-byte
/// blocks, boot.wim in 4096-byte blocks (the RamDisk default).
fn scenario(dir: &Path, name: &str) -> PathBuf {
    let f = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &f,
        format!(
            r#"scenario: {name}, one UEFI client boots its required deployment
site:
  code: PS1
  boot_images:
    - {{id: PS100002, arch: x64, size: 1MiB}}
  machines:
    - {{name: WS01, mac: "52:54:00:00:00:01", smbios_guid: "11111111-2222-3333-4444-555555555555"}}
  collections:
    - {{name: Lab, members: [WS01]}}
  deployments:
    - {{id: PS120001, collection: Lab, boot_image: PS100002, purpose: required, available_to: media_pxe}}
network:
  segments:
    - {{name: hq, cidr: 10.10.0.0/24}}
  dhcp_servers:
    - {{name: dhcp, segment: hq, address: 10.10.0.2, pools: {{hq: 10.10.0.100-10.10.0.199}}}}
  responders:
    - {{name: dp1, segment: hq, address: 10.10.0.5, role: distribution_point, images: [PS100002]}}
  clients:
    - {{name: c1, segment: hq, firmware: uefi-x64, machine: WS01}}
events:
  - {{at: 0s, boot: c1}}
expect:
  - {{client: c1, outcome: booted, boot_image: PS100002, served_by: dp1, within: 60s}}
"#
        ),
    )
    .unwrap();
    f
}

fn run(args: &[&str], paths: &[&Path]) -> Output {
    run_ok(pxelab().arg("run").args(args).args(paths))
}

struct Record {
    incl_len: u32,
    orig_len: u32,
    data: Vec<u8>,
}

/// The header's snap length and every record, read raw: pcap-file's checked reader
/// refuses records longer on the wire than the snap length, that is every truncated one.
fn read(path: &Path) -> (u32, Vec<Record>) {
    let file = std::fs::File::open(path).unwrap();
    let mut r = PcapReader::new(file).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let snaplen = r.header().snaplen;
    let mut v = Vec::new();
    while let Some(p) = r.next_raw_packet() {
        let p = p.unwrap_or_else(|e| panic!("{}: record {}: {e}", path.display(), v.len()));
        assert_eq!(p.incl_len as usize, p.data.len());
        v.push(Record {
            incl_len: p.incl_len,
            orig_len: p.orig_len,
            data: p.data.into_owned(),
        });
    }
    (snaplen, v)
}

/// Every `.pcap` under `dir`, sorted.
fn pcaps(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return v;
    };
    for e in rd {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(pcaps(&p));
        } else if p.extension().is_some_and(|e| e == "pcap") {
            v.push(p);
        }
    }
    v.sort();
    v
}

/// The UDP payload of a (possibly truncated) frame, and the UDP length on the wire.
fn udp(frame: &[u8]) -> (Vec<u8>, usize) {
    let p = etherparse::LaxSlicedPacket::from_ethernet(frame)
        .unwrap_or_else(|e| panic!("headers do not parse: {e}"));
    assert!(
        matches!(p.net, Some(etherparse::LaxNetSlice::Ipv4(_))),
        "not IPv4"
    );
    match p.transport {
        Some(etherparse::TransportSlice::Udp(u)) => (u.payload().to_vec(), u.length() as usize),
        other => panic!("not UDP: {other:?}"),
    }
}

#[test]
fn default_snap_length_keeps_headers_and_full_keeps_payloads() {
    let dir = tmp("snap");
    let sc = scenario(&dir, "one");
    let (cut, full) = (dir.join("cut"), dir.join("full"));
    run(&["--pcap", cut.to_str().unwrap()], &[&sc]);
    run(&["--pcap", full.to_str().unwrap(), "--pcap-full"], &[&sc]);
    let (cut_file, full_file) = (cut.join("hq.pcap"), full.join("hq.pcap"));
    let cut_size = std::fs::metadata(&cut_file).unwrap().len();
    let full_size = std::fs::metadata(&full_file).unwrap().len();
    assert!(
        cut_size * 3 < full_size,
        "default capture {cut_size} bytes, full {full_size}"
    );

    let (snaplen, cut_recs) = read(&cut_file);
    assert_eq!(snaplen, 590);
    let mut big_data = 0;
    for (i, r) in cut_recs.iter().enumerate() {
        assert_eq!(r.incl_len, r.orig_len.min(snaplen), "record {i}");
        let (payload, udp_len) = udp(&r.data);
        // The UDP header says how long the datagram was, as the record's orig_len does.
        assert_eq!(udp_len + 14 + 20, r.orig_len as usize, "record {i}");
        if r.orig_len > r.incl_len {
            assert_eq!(&payload[..2], &[0, 3], "record {i}: only TFTP DATA is cut");
            if r.orig_len > 4096 {
                big_data += 1;
            }
        } else if payload[..2] != [0, 3] {
            assert_eq!(payload.len() + 8, udp_len, "record {i}: kept whole");
        }
    }
    assert!(big_data >= 200, "{big_data} 4096-byte DATA records");
    // `pxelab audit` reads the cut capture (pcap-file's checked reader would not).
    let audit = pxelab()
        .args(["audit", "--format", "json", "--pcap"])
        .arg(&cut_file)
        .arg("--scenario")
        .arg(&sc)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&audit.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&audit.stderr)));
    assert_eq!(audit.status.code(), Some(0), "{v}");
    assert_eq!(v["servers"].as_array().map(Vec::len), Some(2), "{v}");

    let (snaplen, full_recs) = read(&full_file);
    assert_eq!(snaplen, 262_144);
    assert_eq!(full_recs.len(), cut_recs.len());
    let mut whole_data = 0;
    for (i, (f, c)) in full_recs.iter().zip(&cut_recs).enumerate() {
        assert_eq!(f.incl_len, f.orig_len, "record {i}");
        assert_eq!(f.orig_len, c.orig_len, "record {i}");
        assert_eq!(&f.data[..c.data.len()], &c.data[..], "record {i}");
        let p = etherparse::SlicedPacket::from_ethernet(&f.data).unwrap();
        if let Some(etherparse::TransportSlice::Udp(u)) = p.transport {
            if u.payload().len() == 4 + 4096 && u.payload()[..2] == [0, 3] {
                whole_data += 1;
            }
        }
    }
    assert!(
        whole_data >= 200,
        "{whole_data} whole 4096-byte DATA records"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_budget_stops_the_capture_with_a_valid_file_and_the_run_goes_on() {
    let dir = tmp("budget");
    let (a, b) = (scenario(&dir, "a"), scenario(&dir, "b"));
    let out_dir = dir.join("out");
    let out = run(
        &[
            "--pcap",
            out_dir.to_str().unwrap(),
            "--pcap-budget",
            "64KiB",
            "--format",
            "json",
        ],
        &[&a, &b],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let files = pcaps(&out_dir);
    assert_eq!(files.len(), 1, "only a's capture is written: {files:?}");
    let stopped = &files[0];
    for want in [
        "pcap budget of 64 KiB",
        &stopped.display().to_string(),
        "--pcap-budget",
    ] {
        assert!(stderr.contains(want), "{want:?} not in:\n{stderr}");
    }
    assert_eq!(stderr.matches("pcap budget").count(), 1, "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = json["scenarios"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|s| s["passed"] == true), "{json}");

    let size = std::fs::metadata(stopped).unwrap().len();
    assert!(size <= 64 * 1024 && size > 60 * 1024, "{size} bytes");
    let (_, recs) = read(stopped);
    let read_size: u64 = 24 + recs.iter().map(|r| 16 + r.incl_len as u64).sum::<u64>();
    assert_eq!(read_size, size, "the file ends with a whole record");
    for r in &recs {
        udp(&r.data);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pcap_flags_need_pcap() {
    let out = pxelab()
        .args(["run", "--pcap-full", "scenarios/examples"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--pcap"));
    let out = pxelab()
        .args([
            "run",
            "--pcap",
            "/tmp/x",
            "--pcap-budget",
            "1GB",
            "scenarios",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("GiB"));
}
