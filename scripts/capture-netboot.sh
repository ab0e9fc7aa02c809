#!/usr/bin/env bash
# Capture what each real firmware sends when it boots over IPv6 PXE and UEFI HTTP boot
# (IPv4 and IPv6), against real servers: QEMU's user-mode network has no DHCPv6 server
# that answers a Solicit, so each capture runs in a network namespace of its own with a
# bridge, the machine's tap device, dnsmasq (router advertisements, DHCPv4, DHCPv6 and
# TFTP) and Python's HTTP server. QEMU's filter-dump writes the pcap. Nothing leaves
# the namespace; it, the servers and QEMU are removed at the end, also on failure.
#
#   scripts/capture-netboot.sh [OUTDIR]      (default tests/fixtures/firmware; root)
#
# Called by scripts/capture-firmware.sh. OVMF's fw_cfg knobs
# opt/org.tianocore/IPv4PXESupport and IPv6PXESupport turn its PXE boot options off,
# so the option wanted runs first (its boot order is PXEv4, PXEv6, HTTPv4, HTTPv6).
# What the captures show is in docs/MODEL.md ("Firmware over IPv6 and HTTP").
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-tests/fixtures/firmware}
mkdir -p "$out"
[ "$(id -u)" -eq 0 ] || { echo "error: needs root (network namespaces, tap devices)" >&2; exit 1; }
work=$(mktemp -d /tmp/pxelab-capture6.XXXXXX)
ns=""
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

MAC=52:54:00:12:34:56
UUID=00112233-4455-6677-8899-aabbccddeeff
SECS=${CAPTURE_SECONDS:-180}
mkdir -p "$work/root"
head -c 3000 /dev/zero > "$work/root/boot.efi"
# dnsmasq drops to nobody: it must read the root and write its log.
chmod 755 "$work" "$work/root"
touch "$work/dnsmasq.log" && chmod 666 "$work/dnsmasq.log"

# A namespace with a bridge (the servers' side, 10.77.0.1/24 and fd77::1/64) and the
# machine's tap device on it.
netns_up() {
  ns=pxcap$$
  ip netns add "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0
  ip -n "$ns" link set lo up
  ip -n "$ns" link add br0 type bridge
  ip -n "$ns" link set br0 address 52:54:00:aa:00:01
  ip -n "$ns" tuntap add dev tap0 mode tap
  ip -n "$ns" link set tap0 master br0
  ip -n "$ns" link set tap0 up
  ip -n "$ns" link set br0 up
  ip -n "$ns" addr add 10.77.0.1/24 dev br0
  ip -n "$ns" addr add fd77::1/64 dev br0 nodad
}

netns_down() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  ip netns del "$ns"
  ns=""
}

# dnsmasq with the arguments given: DHCP and TFTP only (no DNS), on the bridge.
servers() {
  # Each capture reads its own servers' logs.
  : >"$work/dnsmasq.log"
  : >"$work/http.log"
  : >"$work/dhcp6.log"
  ip netns exec "$ns" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
    --interface=br0 --bind-dynamic --log-dhcp --log-facility="$work/dnsmasq.log" \
    --dhcp-leasefile="$work/leases" --pid-file= --enable-tftp --tftp-root="$work/root" "$@" &
  pids+=($!)
  # Python's HTTP server, on both families (a dual-stack socket), for HTTP boot.
  ip netns exec "$ns" python3 -m http.server --bind :: --directory "$work/root" 80 \
    >"$work/http.log" 2>&1 &
  pids+=($!)
}

# Run one machine until `done_when` (a grep of the servers' logs) holds, then a few
# seconds more for the firmware's next packets, at most $SECS.
capture() { # name, done-when pattern, log file, qemu args...
  local name=$1 pattern=$2 log=$3; shift 3
  echo "capturing $name (at most $SECS s under TCG)"
  ip netns exec "$ns" qemu-system-"$@" -display none -no-reboot -m 512 -uuid "$UUID" \
    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vnet_hdr=off \
    -object filter-dump,id=f0,netdev=n0,file="$work/$name.pcap" \
    -serial file:"$work/$name.serial" >"$work/$name.qemu.log" 2>&1 &
  local qemu=$!
  pids+=($qemu)
  local t=0
  while [ $t -lt "$SECS" ] && kill -0 $qemu 2>/dev/null; do
    if grep -q "$pattern" "$work/$log" 2>/dev/null; then sleep 5; break; fi
    sleep 1; t=$((t + 1))
  done
  kill $qemu 2>/dev/null || true
  wait $qemu 2>/dev/null || true
  if ! grep -q "$pattern" "$work/$log" 2>/dev/null; then
    echo "  $name: did not reach '$pattern' in $SECS s (kept what was captured); servers' logs:"
    tail -n 5 "$work/dnsmasq.log" "$work/http.log" | sed 's/^/    /'
  fi
  cp "$work/$name.pcap" "$out/$name.pcap"
}

ovmf_x64() { # extra fw_cfg knobs...
  cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/vars.fd"
  echo x86_64 -machine q35 -accel tcg \
    -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
    -drive if=pflash,format=raw,file="$work/vars.fd" \
    -device virtio-net-pci,netdev=n0,mac=$MAC,romfile=,bootindex=1 "$@"
}
ovmf_ia32() {
  cp /usr/share/OVMF/OVMF32_VARS_4M.fd "$work/vars.fd"
  echo i386 -machine q35,smm=on -accel tcg \
    -global driver=cfi.pflash01,property=secure,value=on \
    -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF32_CODE_4M.secboot.fd \
    -drive if=pflash,format=raw,file="$work/vars.fd" \
    -device virtio-net-pci,netdev=n0,mac=$MAC,romfile=,bootindex=1 "$@"
}
aavmf() {
  cp /usr/share/AAVMF/AAVMF_VARS.fd "$work/vars.fd"
  echo aarch64 -machine virt -cpu cortex-a57 -accel tcg \
    -drive if=pflash,format=raw,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd \
    -drive if=pflash,format=raw,file="$work/vars.fd" \
    -device virtio-net-pci,netdev=n0,mac=$MAC,romfile=,bootindex=1 "$@"
}
seabios_x64() { # SeaBIOS with Debian's iPXE ROM; it ignores OVMF's knobs
  echo x86_64 -machine pc -accel tcg -boot n -device e1000,netdev=n0,mac=$MAC "$@"
}
NO_PXE4="-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n"
NO_PXE6="-fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n"

# DHCPv6 (stateful, with router advertisements whose M flag sends the client there)
# naming the boot file by its TFTP URL, option 59.
PXE6=(--enable-ra --dhcp-range=fd77::100,fd77::1ff,64,1h
  "--dhcp-option=option6:bootfile-url,tftp://[fd77::1]/boot.efi")
# DHCPv4 answering HTTP clients (option 60 HTTPClient) with the URL as the boot file
# and option 60 echoed, as EDK2's HttpBootDxe requires of an HTTP offer.
HTTP4=(--dhcp-range=10.77.0.100,10.77.0.200,1h --dhcp-vendorclass=set:http,HTTPClient
  --dhcp-option-force=tag:http,60,HTTPClient --dhcp-boot=tag:http,http://10.77.0.1/boot.efi)
# Router advertisements only (the prefix, no managed flag); DHCPv6 from
# dhcp6-http-offer.py, which echoes option 16 as EDK2 wants it and dnsmasq cannot.
HTTP6=(--enable-ra --dhcp-range=fd77::,ra-only)

TFTP_SENT="dnsmasq-tftp.*sent .*boot.efi"
HTTP_GET="GET /boot.efi"

run_pxe6() { # name, machine...
  local name=$1; shift
  netns_up; servers "${PXE6[@]}"
  # shellcheck disable=SC2046
  capture "$name" "$TFTP_SENT" dnsmasq.log $("$@" $NO_PXE4)
  netns_down
}
run_http4() {
  local name=$1; shift
  netns_up; servers "${HTTP4[@]}"
  # shellcheck disable=SC2046
  capture "$name" "$HTTP_GET" http.log $("$@" $NO_PXE4 $NO_PXE6)
  netns_down
}
run_http6() { # HTTPv4 runs first and gives up (no DHCPv4 server), then HTTPv6
  local name=$1; shift
  netns_up; servers "${HTTP6[@]}"
  ip netns exec "$ns" python3 scripts/dhcp6-http-offer.py br0 "http://[fd77::1]/boot.efi" \
    "$work/dhcp6.log" &
  pids+=($!)
  # shellcheck disable=SC2046
  capture "$name" "$HTTP_GET" http.log $("$@" $NO_PXE4 $NO_PXE6)
  netns_down
}

# The format's firmware table: BIOS machines have no HTTP boot option; whether
# Debian's iPXE ROM boots over IPv6 is what its capture shows.
for fw in ${CAPTURE_NETBOOT:-uefi-x64 uefi-ia32 uefi-arm64 bios-x64}; do
  hows="pxe6 http4 http6"
  case $fw in
    uefi-x64) m=ovmf_x64 ;;
    uefi-ia32) m=ovmf_ia32 ;;
    uefi-arm64) m=aavmf ;;
    bios-x64) m=seabios_x64; hows=pxe6 ;;
    *) echo "error: unknown firmware $fw" >&2; exit 2 ;;
  esac
  for how in ${CAPTURE_HOW:-$hows}; do
    "run_$how" "$fw-$how" "$m"
  done
done
ls -la "$out"
