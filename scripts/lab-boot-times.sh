#!/usr/bin/env bash
# Boot time of each UEFI firmware in the lab by each network boot option: power-on
# (QEMU's start) to the boot program's BOOTED marker, RUNS runs each, under TCG. Each run
# is `pxelab run --lab` of scenarios/lab/http4-uefi-x64.yaml (pxe4, http4),
# pxe6-uefi-x64-dnsmasq.yaml (pxe6) or http6-uefi-x64.yaml (http6) with the firmware
# swapped in; the lab prints when the first DHCP request came and how long the boot took
# from there.
#
#   scripts/lab-boot-times.sh [FIRMWARE...]   (root; RUNS=3, HOWS="pxe4 pxe6 http4 http6")
set -euo pipefail
cd "$(dirname "$0")/.."
pxelab=${PXELAB:-target/release/pxelab}
tmp=$(mktemp -d /tmp/pxelab-boot-times.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
printf '%-11s %-6s %s\n' firmware how "power-on to BOOTED, s (each run)"
for fw in ${*:-uefi-x64 uefi-ia32 uefi-arm64}; do
  for how in ${HOWS:-pxe4 pxe6 http4 http6}; do
    case $how in
      pxe4) src=scenarios/lab/http4-uefi-x64.yaml ;;
      pxe6) src=scenarios/lab/pxe6-uefi-x64-dnsmasq.yaml ;;
      http4) src=scenarios/lab/http4-uefi-x64.yaml ;;
      http6) src=scenarios/lab/http6-uefi-x64.yaml ;;
    esac
    f=$tmp/$fw-$how.yaml
    # The firmware's own boot image (the site's deployment must fit its architecture).
    case $fw in uefi-ia32) img=PS100001 ;; uefi-arm64) img=PS100003 ;; *) img=PS100002 ;; esac
    sed -e "s/firmware: uefi-x64/firmware: $fw/" -e "s/netboot: [a-z0-9]*/netboot: $how/" \
      -e "s/boot_image: PS100002/boot_image: $img/g" \
      -e "s/images: \[PS100002\]/images: [PS100001, PS100002, PS100003]/" "$src" >"$f"
    times=()
    for _ in $(seq "${RUNS:-3}"); do
      line=$("$pxelab" run --lab "$f" --boot-timeout 200s 2>&1 >/dev/null | grep "c1 boot 1:" | tail -1 || true)
      if [[ $line =~ booted\ after\ ([0-9.]+)s\ \(first\ DHCP\ request\ ([0-9.]+)s ]]; then
        times+=("$(echo "${BASH_REMATCH[1]} + ${BASH_REMATCH[2]}" | bc)")
      else
        times+=("fail(${line##*: })")
      fi
    done
    printf '%-11s %-6s %s\n' "$fw" "$how" "${times[*]}"
  done
done
