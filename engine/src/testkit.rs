//! The engine's test kit: a site, a boot root and files to run responders against,
//! shared by the unit tests, the benches, the fuzz targets and their seeding tool.
//! Compiled for the engine's own tests and with the `testkit` feature (which
//! `fuzzing` turns on).

use crate::policy::{
    Arch, AvailableTo, BootImage, Collection, Deployment, Machine, Purpose, Site, X64_UNKNOWN,
    X86_UNKNOWN,
};
use crate::policy::{ResponderConfig, Role};
use crate::responder::{BootRoot, Responder};
use crate::state::MemoryStore;
use crate::tftp::server::FileSource;
use crate::time::Instant;
use crate::{Guid, Mac};
use std::net::Ipv4Addr;
use std::sync::Arc;

/// A file of any length whose bytes are a function of their offset (no memory).
#[derive(Clone, Copy, Debug)]
pub struct PatternFile {
    pub len: u64,
    pub salt: u8,
}

impl PatternFile {
    pub fn byte(&self, offset: u64) -> u8 {
        (offset as u8).wrapping_mul(31) ^ (offset >> 8) as u8 ^ self.salt
    }
}

impl FileSource for PatternFile {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) {
        assert!(offset + buf.len() as u64 <= self.len, "read past the end");
        for (i, b) in buf.iter_mut().enumerate() {
            *b = self.byte(offset + i as u64);
        }
    }
}

/// A boot image of `size` bytes.
pub fn image(id: &str, arch: Arch, size: u64, pxe_enabled: bool) -> BootImage {
    BootImage {
        id: id.into(),
        arch,
        size,
        pxe_enabled,
    }
}

/// A deployment of `boot_image` to `collection`.
pub fn deployment(
    id: &str,
    collection: &str,
    boot_image: &str,
    purpose: Purpose,
    available_to: AvailableTo,
) -> Deployment {
    Deployment {
        id: id.into(),
        collection: collection.into(),
        boot_image: boot_image.into(),
        purpose,
        available_to,
    }
}

/// A machine of the site's own primary site.
pub fn machine(name: &str, mac: Option<Mac>, smbios_guid: Option<Guid>) -> Machine {
    Machine {
        name: name.into(),
        mac,
        smbios_guid,
        assigned_site: None,
    }
}

/// A boot root in which every name that starts with `prefix` is one and the same file,
/// and nothing else exists; no file has a known CRC.
pub struct SameFileRoot {
    pub prefix: &'static str,
    pub file: Arc<Vec<u8>>,
}

impl SameFileRoot {
    pub fn new(prefix: &'static str, file: Vec<u8>) -> SameFileRoot {
        SameFileRoot {
            prefix,
            file: Arc::new(file),
        }
    }
}

impl BootRoot for SameFileRoot {
    fn open(&self, path: &str) -> Option<Arc<dyn FileSource>> {
        path.starts_with(self.prefix)
            .then(|| self.file.clone() as Arc<dyn FileSource>)
    }
    fn crc32(&self, _: &str) -> Option<u32> {
        None
    }
}

/// The address of the responder [`responder`] makes.
pub const RESPONDER_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 10, 0, 5);

/// The responder of the engine's unit tests: distribution point `dp1` at
/// [`RESPONDER_ADDRESS`] holding images PS100001 and PS100002 of `site`, every
/// `smsboot/` file 3,000 bytes of 7, its state in memory, seed 1, started at time 0;
/// `configure` changes its configuration first.
pub fn responder(site: Arc<Site>, configure: impl FnOnce(&mut ResponderConfig)) -> Responder {
    let mut cfg = ResponderConfig::new("dp1", RESPONDER_ADDRESS, Role::DistributionPoint);
    cfg.images = vec!["PS100001".into(), "PS100002".into()];
    configure(&mut cfg);
    Responder::new(
        Instant::ZERO,
        cfg,
        site,
        Box::new(MemoryStore::new()),
        Arc::new(SameFileRoot::new("smsboot/", vec![7u8; 3000])),
        1,
    )
}

/// The MAC and SMBIOS UUID the firmware captures were made with (a known machine).
pub const CAPTURE_MAC: Mac = Mac([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
pub const CAPTURE_UUID: Guid = Guid([
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
]);

/// The test site: the capture's machine (known, a required and an available
/// deployment), another machine whose deployment's image is not PXE-enabled, a machine
/// of another primary site, unknown computers, a duplicate MAC.
pub fn site() -> Site {
    let image = |id, arch, pxe_enabled| image(id, arch, 3000, pxe_enabled);
    let dep = deployment;
    Site {
        code: "PS1".into(),
        boot_images: vec![
            image("PS100001", Arch::X86, true),
            image("PS100002", Arch::X64, true),
            image("PS100003", Arch::Arm64, true),
            image("PS100004", Arch::X64, false),
        ],
        machines: vec![
            machine("WS01", Some(CAPTURE_MAC), Some(CAPTURE_UUID)),
            machine("WS02", Some(Mac([0x52, 0x54, 0, 0, 0, 2])), None),
            Machine {
                assigned_site: Some("PS2".into()),
                ..machine(
                    OTHER_SITE_MACHINE,
                    Some(Mac([0x52, 0x54, 0, 0, 0, 4])),
                    None,
                )
            },
        ],
        collections: vec![
            Collection {
                name: "Lab".into(),
                members: vec!["WS01".into(), OTHER_SITE_MACHINE.into()],
            },
            Collection {
                name: "Lab2".into(),
                members: vec!["WS02".into()],
            },
        ],
        deployments: vec![
            dep(
                "PS120001",
                "Lab",
                "PS100002",
                Purpose::Required,
                AvailableTo::MediaPxe,
            ),
            dep(
                "PS120002",
                "Lab",
                "PS100001",
                Purpose::Available,
                AvailableTo::ClientsMediaPxe,
            ),
            dep(
                "PS120003",
                "Lab",
                "PS100003",
                Purpose::Available,
                AvailableTo::MediaPxe,
            ),
            dep(
                "PS120004",
                "Lab2",
                "PS100004",
                Purpose::Required,
                AvailableTo::MediaPxe,
            ),
            dep(
                "PS120005",
                X64_UNKNOWN,
                "PS100002",
                Purpose::Available,
                AvailableTo::MediaPxe,
            ),
            dep(
                "PS120006",
                X86_UNKNOWN,
                "PS100001",
                Purpose::Required,
                AvailableTo::MediaPxeHidden,
            ),
        ],
        duplicate_macs: vec![Mac([0x52, 0x54, 0, 0, 0, 3])],
        duplicate_guids: Vec::new(),
        other_sites: vec!["PS2".into()],
    }
}

/// A machine of the fuzzed site assigned to the other primary site, PS2, in the
/// collection of the capture's machine: no responder (of PS1) may answer it
/// (R-ID-5).
pub const OTHER_SITE_MACHINE: &str = "WS04";

/// The test boot root: every `smsboot/` and `smsimages/` file exists with a size and
/// content that depend on its name; other names exist unless their CRC is a multiple
/// of 3.
pub struct PatternRoot;

impl BootRoot for PatternRoot {
    fn open(&self, path: &str) -> Option<Arc<dyn FileSource>> {
        let c = crc32fast::hash(path.as_bytes());
        let len = if path.starts_with("smsboot/") {
            u64::from(c % 3000)
        } else if path.starts_with("smsimages/") {
            u64::from(c % 70_000)
        } else if c.is_multiple_of(3) {
            return None;
        } else {
            u64::from(c % 5000)
        };
        Some(Arc::new(PatternFile { len, salt: c as u8 }))
    }
    fn crc32(&self, path: &str) -> Option<u32> {
        path.starts_with("smsimages/")
            .then(|| crc32fast::hash(path.as_bytes()))
    }
}
