#!/usr/bin/env python3
"""A minimal DHCPv6 server for scripts/capture-netboot.sh: it answers every Solicit
with an Advertise and every Request with a Reply (an address from fd77::1:0/112), and
gives HTTP boot clients (option 16 naming HTTPClient) what EDK2's HttpBootDxe needs of
an HTTP offer: option 16 with enterprise 343 and "HTTPClient" echoed, and the boot
file URL in option 59. dnsmasq cannot write that option 16 (it writes its
vendor-class as a length and a string, without the enterprise number).

    dhcp6-http-offer.py IFACE URL LOGFILE
"""
import hashlib
import ipaddress
import socket
import struct
import sys

IFACE, URL, LOG = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
SOLICIT, ADVERTISE, REQUEST, REPLY, RELEASE = 1, 2, 3, 7, 8
CLIENTID, SERVERID, IA_NA, IAADDR, STATUS, VENDOR_CLASS, BOOTFILE_URL = 1, 2, 3, 5, 13, 16, 59


def opt(code, data):
    return struct.pack(">HH", code, len(data)) + data


def options(data):
    out, i = {}, 0
    while i + 4 <= len(data):
        code, length = struct.unpack(">HH", data[i:i + 4])
        out.setdefault(code, data[i + 4:i + 4 + length])
        i += 4 + length
    return out


def main():
    mac = open(f"/sys/class/net/{IFACE}/address").read().strip()
    duid = struct.pack(">HH", 3, 1) + bytes.fromhex(mac.replace(":", ""))
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, IFACE.encode())
    s.bind(("::", 547))
    ifindex = socket.if_nametoindex(IFACE)
    group = socket.inet_pton(socket.AF_INET6, "ff02::1:2") + struct.pack("@I", ifindex)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, group)
    log = open(LOG, "a", buffering=1)
    while True:
        data, src = s.recvfrom(2048)
        if len(data) < 4 or data[0] not in (SOLICIT, REQUEST, RELEASE):
            continue
        kind, xid, opts = data[0], data[1:4], options(data[4:])
        if CLIENTID not in opts or IA_NA not in opts:
            continue
        iaid = opts[IA_NA][:4]
        # One address per client and IA, stable across its messages.
        n = int.from_bytes(hashlib.sha256(opts[CLIENTID] + iaid).digest()[:2], "big")
        addr = ipaddress.IPv6Address("fd77::1:0") + n
        http = b"HTTPClient" in opts.get(VENDOR_CLASS, b"")
        body = opt(CLIENTID, opts[CLIENTID]) + opt(SERVERID, duid)
        if kind == RELEASE:
            body += opt(STATUS, struct.pack(">H", 0) + b"released")
        else:
            ia_addr = opt(IAADDR, addr.packed + struct.pack(">II", 3600, 3600))
            body += opt(IA_NA, iaid + struct.pack(">II", 1800, 3150) + ia_addr)
            if http:
                body += opt(VENDOR_CLASS, struct.pack(">IH", 343, 10) + b"HTTPClient")
                body += opt(BOOTFILE_URL, URL)
        answer = ADVERTISE if kind == SOLICIT else REPLY
        s.sendto(bytes([answer]) + xid + body, src)
        log.write(f"{['', 'Solicit', '', 'Request', '', '', '', '', 'Release'][kind]} "
                  f"from {src[0]}: {'HTTP ' if http else ''}answered, {addr}\n")


if __name__ == "__main__":
    main()
