#!/usr/bin/env bash
# Run every test pxelab has, on a fresh Debian machine as on a developer's.
# It installs what the tests need first (Debian packages, Rust components), then:
#   1. cargo fmt --check and clippy (warnings are errors),
#   2. every unit, property, snapshot and integration test (release profile), then a
#      short smoke of every fuzz target (scripts/fuzz.sh smoke; docs/FUZZING.md),
#   3. the whole scenario suite in the simulator, as the README's first command, with
#      its HTML report (target/report.html; the report is also loaded in headless
#      chromium by step 2's tests/report_browser.rs, screenshots in target/; after the
#      lab tests, target/report-sim-lab.html shows a lab run beside the simulator's),
#   4. the lab: the lab suite (scenarios/lab) with real firmware under QEMU, compared
#      with the simulator (sim/lab parity); rogue peers without the site key; failover
#      under fire (kill -9, lab and sim); a storm of 500 modelled clients through the
#      switch; a 2-minute soak (modelled clients booting every second against two peers
#      and a DP, a peer crash a minute, link flaps: every boot as the simulator says,
#      descriptors and memory flat) (tests/lab_bench.rs); a run interrupted with SIGINT
#      that must leave nothing behind (tests/lab.rs; root),
#   5. the lab benches: `pxelab bench tftp --mode both` against pxelab, atftpd, tftpd-hpa
#      and dnsmasq with our client and atftp, and with OVMF and iPXE themselves, and
#      `pxelab bench dhcp` (perfdhcp against pxelab and dnsmasq in proxy mode)
#      (tests/lab_bench.rs; root),
#   6. TFTP interop: curl, tftp-hpa, atftp and busybox against `pxelab serve` through the
#      lab's switch, on a clean link and at 5 % loss, beside held transfer ports, netascii
#      included (tests/tftp_interop.rs; root).
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step's heading says when it started, so a slow CI run shows which step grew.
step() { echo "== [${SECONDS} s] $*"; }

# Debian packages the tests need: iproute2 for the network namespaces (daemon tests and
# the lab); for the lab, QEMU with SeaBIOS + iPXE, OVMF, OVMF IA32 and AAVMF, dnsmasq
# and Kea, and nasm, clang and lld to build the boot programs. The simulator needs
# nothing beyond the Rust toolchain. (`pxelab lab check` says what the lab lacks.)
# The TFTP bench compares with atftp (client), atftpd and tftpd-hpa: the two servers'
# packages conflict, so scripts/tftp-servers.sh unpacks them (their libraries, libwrap0
# and libpcre2-8-0, come from apt); kea-admin brings perfdhcp. The fuzz targets build
# libFuzzer's C++ sources (libfuzzer-sys) with g++. The TFTP interop test runs the
# clients of curl, tftp-hpa, atftp and busybox. The HTML report is loaded in a real
# browser, headless and offline (tests/report_browser.rs): Debian's chromium.
APT_PACKAGES=(pkg-config iproute2 procps g++ chromium
  qemu-system-x86 qemu-system-arm ipxe-qemu ovmf ovmf-ia32 qemu-efi-aarch64
  dnsmasq-base kea-dhcp4-server kea-dhcp6-server isc-dhcp-relay nasm clang lld
  atftp libwrap0 libpcre2-8-0 kea-admin curl tftp-hpa busybox lighttpd)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  # The lab starts its own DHCP servers and relays; their packages' system services
  # (kea-dhcp4-server, kea-dhcp6-server, isc-dhcp-relay, lighttpd) must not start on install: a policy-rc.d that
  # says no, for the length of the install only (left alone if one exists).
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
  fi
  status=0
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" || status=$?
  [ -n "$policy" ] && $SUDO rm -f "$policy"
  [ "$status" -eq 0 ] || exit "$status"
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO ./scripts/tftp-servers.sh
for c in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
done

if [ "$(id -u)" -ne 0 ]; then
  echo "note: the daemon tests build network namespaces and need root" >&2
fi

step "format and lint"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --release -q -- -D warnings

step "unit, property, snapshot and integration tests"
cargo build --release -q
./target/release/pxelab lab clean >/dev/null   # leftovers of an interrupted earlier run
cargo test --workspace --release

step "fuzz smoke: every fuzz target briefly (crashes land in fuzz/artifacts/)"
scripts/fuzz.sh smoke

step "scenario suite (simulator)"
cargo run --release -q -- run scenarios --junit target/scenarios-junit.xml \
  --json target/scenarios-results.json --html target/report.html
echo "report of the scenario suite: target/report.html (the browser test's, with a failing"
echo "scenario and its screenshots: target/report-test/report.html, target/report-*.png)"

step "the lab: real firmware (QEMU, TCG), sim/lab parity, cleanup after SIGINT"
if [ "$(id -u)" -ne 0 ]; then
  echo "error: the lab tests need root (network namespaces, tap devices)" >&2
  exit 1
fi
cargo test --release --test lab --test lab_bench -- --ignored --test-threads=1 --nocapture
./target/release/pxelab lab clean >/dev/null

step "the firmware matrix in CI: every firmware x 4 set-ups, sim and lab (~4 min)"
cargo test --release --test matrix -- --ignored --nocapture

step "the report of a lab run beside the simulator's (one lab scenario, ~15 s)"
./target/release/pxelab run --lab scenarios/lab/uefi-x64.yaml --json target/lab-results.json \
  --pcap target/lab-pcaps
./target/release/pxelab report target/scenarios-results.json target/lab-results.json \
  --html target/report-sim-lab.html

step "TFTP interop: third-party clients against pxelab serve, clean and at 5 % loss"
cargo test --release --test tftp_interop -- --ignored --nocapture \
  --exact third_party_clients_get_every_file_intact_at_5_percent_loss_beside_held_ports
step "all tests passed"
