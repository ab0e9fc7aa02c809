//! iPXE's DHCPv6 during a boot over IPv4 (`engine/src/dhcp6/ipxe_conf.rs`,
//! `sim/src/client/ipxe_conf6.rs`), from the simulator's captures of
//! `scenarios/lab/bios-managed-ra-dhcp6.yaml`: on a segment whose advertisements carry
//! M (a `pools6` covers it) the client runs Solicit, Advertise, Request, Reply and boots
//! as soon as both families are configured; where nobody leases an address it solicits
//! on iPXE's timer and reads the boot program only once the session gave up.

use pcap_file::pcap::PcapReader;
use pxelab_engine::dhcp::firmware::{profile, FirmwareKind};
use pxelab_sim::run::{run_scenario, RunOptions, WARMUP};
use std::path::{Path, PathBuf};

const SCENARIO: &str = "../scenarios/lab/bios-managed-ra-dhcp6.yaml";

/// One UDP datagram of a capture: seconds since scenario time 0, from the client,
/// destination port, payload.
struct Datagram {
    t: f64,
    from_client: bool,
    dst_port: u16,
    payload: Vec<u8>,
}

fn datagrams(path: &Path, client_mac: [u8; 6]) -> Vec<Datagram> {
    let mut r = PcapReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let frac = match r.header().ts_resolution {
        pcap_file::TsResolution::NanoSecond => 1e-9,
        pcap_file::TsResolution::MicroSecond => 1e-6,
    };
    let mut out = Vec::new();
    // Raw records: the checked ones refuse a record cut at the snap length (DATA
    // blocks, which a truncated frame's parse below leaves out anyway).
    while let Some(p) = r.next_raw_packet() {
        let p = p.unwrap();
        let Ok(s) = etherparse::SlicedPacket::from_ethernet(&p.data) else {
            continue;
        };
        let Some(etherparse::TransportSlice::Udp(u)) = s.transport else {
            continue;
        };
        let from_client = p.data.get(6..12) == Some(&client_mac[..]);
        out.push(Datagram {
            t: f64::from(p.ts_sec) + f64::from(p.ts_frac) * frac - WARMUP.as_secs_f64(),
            from_client,
            dst_port: u.destination_port(),
            payload: u.payload().to_vec(),
        });
    }
    out
}

/// The client's DHCPv6 messages and the server answers to it: (time, type, from client).
fn dhcp6(d: &[Datagram]) -> Vec<(f64, u8, bool)> {
    d.iter()
        .filter(|x| matches!(x.dst_port, 546 | 547))
        .map(|x| (x.t, x.payload[0], x.from_client))
        .collect()
}

/// The first DISCOVER and the first TFTP read request of the client.
fn discover_and_read(d: &[Datagram]) -> (f64, f64) {
    let discover = d
        .iter()
        .find(|x| x.from_client && x.dst_port == 67)
        .expect("a DISCOVER")
        .t;
    let read = d
        .iter()
        .find(|x| x.from_client && x.dst_port == 69 && x.payload.get(..2) == Some(&[0, 1]))
        .expect("a read request")
        .t;
    (discover, read)
}

/// Runs the scenario at `path` (from this crate's folder) with its pcaps written into a
/// fresh temporary folder named by `tag`, which it returns; the run must pass.
fn run(path: &str, tag: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sc = pxelab_scenario::load_file(&root.join(path)).unwrap();
    let dir = std::env::temp_dir().join(format!("pxelab-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let r = run_scenario(
        &sc,
        &RunOptions {
            pcap_dir: Some(dir.clone()),
            ..RunOptions::default()
        },
    );
    assert!(r.passed, "{:?}", r.failures);
    dir
}

#[test]
fn ipxe_runs_dhcpv6_where_advertisements_say_managed_and_boots_when_it_is_over() {
    let dir = run(SCENARIO, "ipxe-dhcp6");
    // hq: a DHCPv6 server leases the address.
    let hq = datagrams(&dir.join("hq.pcap"), [0x52, 0x54, 0, 0, 0x0d, 0x61]);
    let six = dhcp6(&hq);
    let client: Vec<u8> = six.iter().filter(|m| m.2).map(|m| m.1).collect();
    assert_eq!(client, [1, 3], "one Solicit, one Request: {six:?}");
    let answers: Vec<u8> = six.iter().filter(|m| !m.2).map(|m| m.1).collect();
    // The DHCP server's and the responder's Advertise (the latter ignored), the Reply.
    assert_eq!(answers.iter().filter(|t| **t == 2).count(), 2, "{six:?}");
    assert_eq!(answers.last(), Some(&7), "{six:?}");
    let (discover, read) = discover_and_read(&hq);
    let timing = profile::builtin(FirmwareKind::BiosX64).pxe4.timing;
    let taken = timing.ipv6_advert_taken.as_secs_f64();
    assert!(
        (six[0].0 - discover - taken).abs() < 0.01,
        "DHCPv6 starts when the advertisement is taken: {six:?}"
    );
    assert!(
        read - discover < taken + 0.5,
        "no wait: {}",
        read - discover
    );

    // branch: the pool's server is not reached; the responder's Advertise has no
    // address. Six Solicits on iPXE's timer, the boot program read after it gave up.
    let br = datagrams(&dir.join("branch.pcap"), [0x52, 0x54, 0, 0, 0x0d, 0x62]);
    let six = dhcp6(&br);
    let sol: Vec<f64> = six.iter().filter(|m| m.2).map(|m| m.0).collect();
    assert!(six.iter().filter(|m| m.2).all(|m| m.1 == 1), "{six:?}");
    let gaps: Vec<u64> = sol
        .iter()
        .map(|t| ((t - sol[0]) * 1000.0).round() as u64)
        .collect();
    assert_eq!(gaps, [0, 250, 750, 1750, 3750, 7750], "{six:?}");
    let (discover, read) = discover_and_read(&br);
    let give_up = timing
        .ipv6_dhcp6_give_up
        .expect("the profile's")
        .as_secs_f64();
    assert!(
        give_up >= 15.75,
        "iPXE's timer gives up at 15.75 s at the earliest"
    );
    let gave_up = sol[0] + give_up;
    assert!(read >= gave_up, "read {read} before the give-up {gave_up}");
    assert!(
        read - gave_up < 0.1,
        "read {read}, long after the give-up {gave_up}"
    );
    assert!(read - discover > taken + 15.75, "{}", read - discover);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The DHCP server names the boot file itself (options 66/67, no proxy): iPXE still
/// reads it only once its IPv6 configuration is over (`ifconf` waits for every
/// configurator), here when its router solicitations give up (no router on the
/// segment, `timing.ipv6_wait` after the first DISCOVER), as after a 4011 ACK.
#[test]
fn ipxe_waits_for_its_ipv6_configuration_when_the_dhcp_server_names_the_file() {
    let dir = run(
        "../scenarios/answering/bios-66-67-waits-for-ipv6.yaml",
        "ipxe-6667",
    );
    let hq = datagrams(&dir.join("hq.pcap"), [0x52, 0x54, 0, 0, 0x66, 0x01]);
    assert!(
        !hq.iter().any(|d| d.dst_port == 4011),
        "no port-4011 exchange: the DHCP server named the file"
    );
    let (discover, read) = discover_and_read(&hq);
    let wait = profile::builtin(FirmwareKind::BiosX64)
        .pxe4
        .timing
        .ipv6_wait
        .expect("iPXE's")
        .as_secs_f64();
    assert!(
        read - discover >= wait && read - discover < wait + 0.1,
        "read {:.3} s after the DISCOVER, IPv6 given up at {wait:.3} s",
        read - discover
    );
    let _ = std::fs::remove_dir_all(&dir);
}
