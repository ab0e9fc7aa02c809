#!/usr/bin/env bash
# Unpacks Debian's atftpd and tftpd-hpa for `pxelab bench tftp --servers ...` into
# /var/cache/pxelab/tools (or $PXELAB_TOOLS_DIR). The two packages conflict (both
# provide `tftpd`) and installing either sets up a system service, so the bench runs
# their binaries from here instead: `apt-get download` + `dpkg-deb -x`, nothing
# installed. Their libraries (libwrap0, libpcre2-8-0) are installed with apt.
set -euo pipefail
dest="${PXELAB_TOOLS_DIR:-/var/cache/pxelab/tools}"
if [ -x "$dest/usr/sbin/atftpd" ] && [ -x "$dest/usr/sbin/in.tftpd" ]; then
    exit 0
fi
mkdir -p "$dest"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"   # apt-get download runs as _apt when it can
(cd "$work" && apt-get download -q atftpd tftpd-hpa >/dev/null 2>&1 \
    || apt-get download -q atftpd tftpd-hpa)
for deb in "$work"/*.deb; do
    dpkg-deb -x "$deb" "$dest"
done
echo "unpacked atftpd and in.tftpd into $dest/usr/sbin"
