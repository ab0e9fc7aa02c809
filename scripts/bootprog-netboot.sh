#!/usr/bin/env bash
# Boots pxelab's UEFI boot program (images/uefi) with real firmware over IPv6 PXE and
# UEFI HTTP boot (IPv4, IPv6), against the servers of scripts/capture-netboot.sh
# (dnsmasq, scripts/dhcp6-http-offer.py, Python's HTTP server) in a network namespace of
# its own, and checks that it reads its parameters and boot image from the server that
# served it: the console must show `PXELAB BOOTED ... server=<that server>`.
#
#   scripts/bootprog-netboot.sh [FIRMWARE [HOW...]]   (root; default uefi-x64 pxe6 http4 http6)
#
# FIRMWARE is uefi-x64, uefi-ia32 or uefi-arm64; HOW is pxe4, pxe6, http4 or http6;
# RUNS=N boots each N times. It prints one line per boot with the seconds from QEMU's
# start to the BOOTED marker (TCG; polled five times a second).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "error: needs root (network namespaces, tap devices)" >&2; exit 1; }
fw=${1:-uefi-x64}; shift || true
hows=${*:-pxe6 http4 http6}
work=$(mktemp -d /tmp/pxelab-bootprog6.XXXXXX)
ns=""
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
  [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
  ns=""
}
trap 'cleanup; rm -rf "$work"' EXIT INT TERM

MAC=52:54:00:12:34:56
SECS=${BOOT_SECONDS:-240}
bash images/build.sh "$work/programs" >/dev/null
case $fw in
  uefi-x64) prog=bootx64.efi ;;
  uefi-ia32) prog=bootia32.efi ;;
  uefi-arm64) prog=bootaa64.efi ;;
  *) echo "error: unknown firmware $fw" >&2; exit 2 ;;
esac
# The root both servers serve: the boot program, its parameters, a 64 KiB image.
root=$work/root
mkdir -p "$root/smstemp" "$root/smsimages/PS100002"
cp "$work/programs/$prog" "$root/boot.efi"
head -c 65536 /dev/urandom >"$root/smsimages/PS100002/boot.PS100002.wim"
crc=$(python3 -c 'import sys,zlib;print("%08x"%zlib.crc32(open(sys.argv[1],"rb").read()))' \
  "$root/smsimages/PS100002/boot.PS100002.wim")
cat >"$root/smstemp/${MAC//:/}.$fw.var" <<VAR
deployment=PS120001
boot_image=PS100002
purpose=required
image_path=smsimages/PS100002/boot.PS100002.wim
image_size=65536
image_crc32=$crc
tftp_block_size=1024
tftp_window_size=1
prompt=0
VAR
chmod -R a+rX "$work"
touch "$work/dnsmasq.log" && chmod 666 "$work/dnsmasq.log"

netns_up() {
  ns=pxl6b$$
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
servers() {
  ip netns exec "$ns" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 \
    --interface=br0 --bind-dynamic --log-dhcp --log-facility="$work/dnsmasq.log" \
    --dhcp-leasefile="$work/leases" --pid-file= --enable-tftp --tftp-root="$root" "$@" &
  pids+=($!)
  ip netns exec "$ns" python3 -m http.server --bind :: --directory "$root" 80 \
    >"$work/http.log" 2>&1 &
  pids+=($!)
}
machine() {
  case $fw in
    uefi-x64)
      cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/vars.fd"
      echo x86_64 -machine q35 -accel tcg -device isa-debug-exit \
        -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
        -drive if=pflash,format=raw,file="$work/vars.fd" ;;
    uefi-ia32)
      cp /usr/share/OVMF/OVMF32_VARS_4M.fd "$work/vars.fd"
      echo i386 -machine q35,smm=on -accel tcg -device isa-debug-exit \
        -global driver=cfi.pflash01,property=secure,value=on \
        -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF32_CODE_4M.secboot.fd \
        -drive if=pflash,format=raw,file="$work/vars.fd" ;;
    uefi-arm64)
      cp /usr/share/AAVMF/AAVMF_VARS.fd "$work/vars.fd"
      echo aarch64 -machine virt -cpu cortex-a57 -accel tcg \
        -drive if=pflash,format=raw,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd \
        -drive if=pflash,format=raw,file="$work/vars.fd" ;;
  esac
}
NO_PXE4="-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n"
NO_PXE6="-fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n"
boot() { # how, expected server, knobs...
  local how=$1 want=$2; shift 2
  : >"$work/serial"
  local start=$(date +%s.%N)
  # shellcheck disable=SC2046
  ip netns exec "$ns" qemu-system-$(machine) -display none -no-reboot -m 512 \
    -device virtio-net-pci,netdev=n0,mac=$MAC,romfile=,bootindex=1 \
    -netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vnet_hdr=off \
    -serial file:"$work/serial" "$@" >"$work/qemu.log" 2>&1 &
  local qemu=$!
  pids+=($qemu)
  local t=0
  while [ $t -lt $((SECS * 5)) ] && kill -0 $qemu 2>/dev/null; do
    grep -aq "PXELAB \(BOOTED\|FAILED\|NOACTION\|DECLINED\)" "$work/serial" && break
    sleep 0.2; t=$((t + 1))
  done
  local end=$(date +%s.%N)
  kill $qemu 2>/dev/null || true
  local marker
  marker=$(grep -a "PXELAB \(BOOTED\|FAILED\|NOACTION\|DECLINED\)" "$work/serial" | tr -d '\r' | head -1 || true)
  if [[ $marker == "PXELAB BOOTED "*" server=$want "* ]]; then
    printf '%s %s: booted in %.1f s: %s\n' "$fw" "$how" "$(echo "$end - $start" | bc)" "$marker"
  else
    echo "$fw $how: FAILED (${marker:-no marker in $((t / 5)) s}); console tail:"
    tr -d '\r' <"$work/serial" | grep -av '^\s*$' | tail -n 8 | sed 's/^/    /'
    tail -n 5 "$work/dnsmasq.log" "$work/http.log" | sed 's/^/    /'
    status=1
  fi
}
status=0
for how in $hows; do
 for _run in $(seq "${RUNS:-1}"); do
  netns_up
  case $how in
    pxe4)
      servers --dhcp-range=10.77.0.100,10.77.0.200,1h --dhcp-boot=boot.efi
      boot pxe4 10.77.0.1 ;;
    pxe6)
      servers --enable-ra --dhcp-range=fd77::100,fd77::1ff,64,1h \
        "--dhcp-option=option6:bootfile-url,tftp://[fd77::1]/boot.efi"
      boot pxe6 fd77::1 $NO_PXE4 ;;
    http4)
      servers --dhcp-range=10.77.0.100,10.77.0.200,1h --dhcp-vendorclass=set:http,HTTPClient \
        --dhcp-option-force=tag:http,60,HTTPClient --dhcp-boot=tag:http,http://10.77.0.1/boot.efi
      boot http4 10.77.0.1 $NO_PXE4 $NO_PXE6 ;;
    http6)
      servers --enable-ra --dhcp-range=fd77::,ra-only
      ip netns exec "$ns" python3 scripts/dhcp6-http-offer.py br0 "http://[fd77::1]/boot.efi" \
        "$work/dhcp6.log" &
      pids+=($!)
      boot http6 fd77::1 $NO_PXE4 $NO_PXE6 ;;
    *) echo "error: unknown way $how" >&2; exit 2 ;;
  esac
  cleanup
 done
done
exit $status
