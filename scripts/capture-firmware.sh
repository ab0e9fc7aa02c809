#!/usr/bin/env bash
# Capture what each real firmware sends when it network-boots: its DHCP DISCOVER and
# REQUEST and its TFTP read request; then, as root, over IPv6 PXE and HTTP boot
# (scripts/capture-netboot.sh). QEMU's user-mode network with restrict=on keeps
# every packet inside the QEMU process (its built-in DHCP and TFTP servers answer; no
# host or outside address is reached); filter-dump writes the pcap.
#
#   scripts/capture-firmware.sh [OUTDIR]     (default tests/fixtures/firmware)
#
# Needs Debian's qemu-system-x86 qemu-system-arm ipxe-qemu ovmf ovmf-ia32
# qemu-efi-aarch64. Runs under TCG (this machine's KVM triple-faults iPXE).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-tests/fixtures/firmware}
mkdir -p "$out"
work=$(mktemp -d /tmp/pxelab-capture.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT INT TERM
mkdir -p "$work/tftp"
head -c 3000 /dev/zero > "$work/tftp/boot.pxe"
MAC=52:54:00:12:34:56
UUID=00112233-4455-6677-8899-aabbccddeeff
net="-netdev user,id=n0,restrict=on,tftp=$work/tftp,bootfile=boot.pxe"
dump() { echo "-object filter-dump,id=f0,netdev=n0,file=$work/$1.pcap"; }
SECS=${CAPTURE_SECONDS:-100}

run() { # name, qemu args...
  local name=$1; shift
  echo "capturing $name ($SECS s under TCG)"
  timeout "$SECS" "$@" -display none -no-reboot -m 512 -uuid "$UUID" $net $(dump "$name") \
    >"$work/$name.log" 2>&1 || true
  cp "$work/$name.pcap" "$out/$name.pcap"
}

cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/vars64.fd"
cp /usr/share/OVMF/OVMF32_VARS_4M.fd "$work/vars32.fd"
cp /usr/share/AAVMF/AAVMF_VARS.fd "$work/aavmf-vars.fd"

run bios-x64 qemu-system-x86_64 -machine pc -accel tcg -boot n \
  -device e1000,netdev=n0,mac=$MAC &
pids+=($!)
run bios-x86 qemu-system-i386 -machine pc -accel tcg -boot n \
  -device e1000,netdev=n0,mac=$MAC &
pids+=($!)
wait
pids=()
run uefi-x64 qemu-system-x86_64 -machine q35 -accel tcg \
  -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
  -drive if=pflash,format=raw,file="$work/vars64.fd" \
  -device virtio-net-pci,netdev=n0,mac=$MAC,romfile=,bootindex=1 &
pids+=($!)
run uefi-ia32 qemu-system-i386 -machine q35,smm=on -accel tcg \
  -global driver=cfi.pflash01,property=secure,value=on \
  -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF32_CODE_4M.secboot.fd \
  -drive if=pflash,format=raw,file="$work/vars32.fd" \
  -device virtio-net-pci,netdev=n0,mac=$MAC,romfile=,bootindex=1 &
pids+=($!)
wait
pids=()
run uefi-arm64 qemu-system-aarch64 -machine virt -cpu cortex-a57 -accel tcg \
  -drive if=pflash,format=raw,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd \
  -drive if=pflash,format=raw,file="$work/aavmf-vars.fd" \
  -device virtio-net-pci,netdev=n0,mac=$MAC,romfile=,bootindex=1
# IPv6 PXE and HTTP boot need servers QEMU's user-mode network lacks (a DHCPv6 server
# that answers a Solicit): captured in a network namespace of their own.
if [ "$(id -u)" -eq 0 ]; then
  scripts/capture-netboot.sh "$out"
else
  echo "IPv6 PXE and HTTP boot captures skipped: scripts/capture-netboot.sh needs root"
fi
ls -la "$out"
