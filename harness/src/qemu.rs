//! QEMU machines for the scenario's firmware (scenario-format.md's table), under TCG.
//!
//! The NIC is a `-netdev dgram` unix socket pair with the segment's switch: no kernel
//! networking in the root namespace at all. The serial console is QEMU's stdio: the
//! harness reads the boot program's markers there and answers the network boot prompt.

use crate::config_error::ConfigError;
use pxelab_scenario::Firmware;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Firmware files and the machine for one firmware family.
pub struct Machine {
    pub qemu: &'static str,
    pub args: Vec<String>,
    /// Debian package of each file or program it needs.
    pub needs: Vec<(&'static str, &'static str)>,
}

pub const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
pub const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";
pub const OVMF32_CODE: &str = "/usr/share/OVMF/OVMF32_CODE_4M.secboot.fd";
pub const OVMF32_VARS: &str = "/usr/share/OVMF/OVMF32_VARS_4M.fd";
pub const AAVMF_CODE: &str = "/usr/share/AAVMF/AAVMF_CODE.fd";
pub const AAVMF_VARS: &str = "/usr/share/AAVMF/AAVMF_VARS.fd";

/// How long SeaBIOS waits after a failed network boot before it reboots (its
/// `reboot-timeout`), which `-no-reboot` turns into QEMU's exit: the lab's, not the
/// firmware's, so a boot's time ends before it (`judge`).
pub const SEABIOS_REBOOT_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
pub const IPXE_E1000: &str = "/usr/lib/ipxe/qemu/efi-e1000.rom";

/// What each firmware needs: (path or program, Debian package).
pub fn needs(f: Firmware) -> Vec<(&'static str, &'static str)> {
    match f {
        Firmware::BiosX64 => vec![
            ("qemu-system-x86_64", "qemu-system-x86"),
            (IPXE_E1000, "ipxe-qemu"),
        ],
        Firmware::BiosX86 => vec![
            ("qemu-system-i386", "qemu-system-x86"),
            (IPXE_E1000, "ipxe-qemu"),
        ],
        Firmware::UefiX64 => vec![
            ("qemu-system-x86_64", "qemu-system-x86"),
            (OVMF_CODE, "ovmf"),
            (OVMF_VARS, "ovmf"),
        ],
        Firmware::UefiIa32 => vec![
            ("qemu-system-i386", "qemu-system-x86"),
            (OVMF32_CODE, "ovmf-ia32"),
            (OVMF32_VARS, "ovmf-ia32"),
        ],
        Firmware::UefiArm64 => vec![
            ("qemu-system-aarch64", "qemu-system-arm"),
            (AAVMF_CODE, "qemu-efi-aarch64"),
            (AAVMF_VARS, "qemu-efi-aarch64"),
        ],
    }
}

pub struct ClientMachine<'a> {
    pub firmware: Firmware,
    pub mac: String,
    pub uuid: Option<String>,
    pub memory_mib: u64,
    /// The switch's end and QEMU's end of the datagram socket pair.
    pub switch_sock: &'a Path,
    pub qemu_sock: &'a Path,
    /// Per-machine directory (a copy of the UEFI variable store lives here).
    pub dir: &'a Path,
    /// v1.1: the network boot option the client uses (OVMF's fw_cfg knobs pick it;
    /// iPXE tries IPv4 and IPv6 at once by itself).
    pub netboot: pxelab_scenario::Netboot,
}

/// The QEMU command for a client.
pub fn command(m: &ClientMachine) -> Result<Command, ConfigError> {
    let net = format!(
        "dgram,id=n0,local.type=unix,local.path={},remote.type=unix,remote.path={}",
        m.qemu_sock.display(),
        m.switch_sock.display()
    );
    let vars = |src: &str| -> Result<PathBuf, ConfigError> {
        let dst = m.dir.join("vars.fd");
        std::fs::copy(src, &dst).map_err(ConfigError::file(src))?;
        Ok(dst)
    };
    let pflash = |code: &str, vars: &Path| {
        vec![
            "-drive".to_string(),
            format!("if=pflash,format=raw,readonly=on,file={code}"),
            "-drive".to_string(),
            format!("if=pflash,format=raw,file={}", vars.display()),
        ]
    };
    let virtio = format!(
        "virtio-net-pci,netdev=n0,mac={},romfile=,bootindex=1",
        m.mac
    );
    let (qemu, mut args): (&str, Vec<String>) = match m.firmware {
        Firmware::BiosX64 | Firmware::BiosX86 => (
            if m.firmware == Firmware::BiosX64 {
                "qemu-system-x86_64"
            } else {
                "qemu-system-i386"
            },
            vec![
                "-machine".into(),
                "pc".into(),
                // Network boot only; when it fails SeaBIOS reboots after its wait,
                // which -no-reboot turns into QEMU's exit.
                "-boot".into(),
                format!(
                    "order=n,strict=on,reboot-timeout={}",
                    SEABIOS_REBOOT_WAIT.as_millis()
                ),
                "-device".into(),
                format!("e1000,netdev=n0,mac={}", m.mac),
                "-device".into(),
                "isa-debug-exit,iobase=0x501,iosize=1".into(),
            ],
        ),
        Firmware::UefiX64 => {
            let mut a = vec!["-machine".into(), "q35".into()];
            a.extend(pflash(OVMF_CODE, &vars(OVMF_VARS)?));
            a.extend([
                "-device".into(),
                virtio,
                "-device".into(),
                "isa-debug-exit,iobase=0x501,iosize=1".into(),
            ]);
            ("qemu-system-x86_64", a)
        }
        Firmware::UefiIa32 => {
            let mut a = vec![
                "-machine".into(),
                "q35,smm=on".into(),
                "-global".into(),
                "driver=cfi.pflash01,property=secure,value=on".into(),
            ];
            a.extend(pflash(OVMF32_CODE, &vars(OVMF32_VARS)?));
            a.extend([
                "-device".into(),
                virtio,
                "-device".into(),
                "isa-debug-exit,iobase=0x501,iosize=1".into(),
            ]);
            ("qemu-system-i386", a)
        }
        Firmware::UefiArm64 => {
            let mut a = vec![
                "-machine".into(),
                "virt".into(),
                "-cpu".into(),
                "cortex-a57".into(),
            ];
            a.extend(pflash(AAVMF_CODE, &vars(AAVMF_VARS)?));
            a.extend(["-device".into(), virtio]);
            ("qemu-system-aarch64", a)
        }
    };
    args.extend([
        "-accel".into(),
        "tcg".into(),
        "-m".into(),
        m.memory_mib.to_string(),
        "-netdev".into(),
        net,
        "-display".into(),
        "none".into(),
        "-monitor".into(),
        "none".into(),
        "-serial".into(),
        "stdio".into(),
        "-no-reboot".into(),
    ]);
    if let Some(u) = &m.uuid {
        args.extend(["-smbios".into(), format!("type=1,uuid={u}")]);
    }
    if !matches!(m.firmware, Firmware::BiosX64 | Firmware::BiosX86) {
        args.extend(crate::lab::ovmf_knobs(m.netboot));
    }
    let mut c = Command::new(qemu);
    c.args(&args);
    Ok(c)
}
