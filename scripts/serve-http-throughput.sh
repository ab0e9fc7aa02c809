#!/bin/bash
# HTTP boot throughput of `pxelab serve` over IPv4 and IPv6 (root): two network
# namespaces (prefix d6m-) joined by a veth pair, a 256 MiB file fetched three times per
# family with curl, then 200 ranged GETs on new connections. Removes what it made.
# Usage: sudo scripts/serve-http-throughput.sh [path/to/pxelab]
set -u
S=d6m-s; C=d6m-c; D=/tmp/d6m
BIN=${1:-target/release/pxelab}
cleanup() { [ -n "${PID:-}" ] && kill $PID 2>/dev/null; wait $PID 2>/dev/null; ip netns del $S 2>/dev/null; ip netns del $C 2>/dev/null; rm -rf $D; }
trap cleanup EXIT
rm -rf $D; mkdir -p $D/root/smsimages/PS100002
head -c 268435456 /dev/urandom > $D/root/smsimages/PS100002/boot.PS100002.wim
cat > $D/site.yaml <<'Y'
scenario: measure
site:
  code: PS1
  boot_images:
    - {id: PS100002, arch: x64, size: 300000}
  machines:
    - {name: WS01, mac: "52:54:00:12:34:56"}
  collections:
    - {name: Lab, members: [WS01]}
  deployments:
    - {id: PS120001, collection: Lab, boot_image: PS100002, purpose: required, available_to: media_pxe}
network:
  segments:
    - {name: hq, cidr: 10.10.0.0/24, cidr6: "fd77::/64"}
  responders:
    - {name: dp1, segment: hq, address: 10.10.0.5, address6: "fd77::5", role: distribution_point, images: [PS100002], http: {port: 8080}}
Y
for ns in $S $C; do ip netns add $ns; for k in all default; do ip netns exec $ns sysctl -qw net.ipv6.conf.$k.disable_ipv6=0 net.ipv6.conf.$k.accept_dad=0; done; ip -n $ns link set lo up; done
ip -n $S link add eth0 type veth peer name eth0 netns $C
ip -n $S addr add 10.10.0.5/24 dev eth0; ip -n $C addr add 10.10.0.100/24 dev eth0
ip -n $S addr add fd77::5/64 dev eth0 nodad; ip -n $C addr add fd77::100/64 dev eth0 nodad
ip -n $S link set eth0 up; ip -n $C link set eth0 up
ip netns exec $S $BIN serve --interface eth0 --responder dp1 --scenario $D/site.yaml --root $D/root --state $D/state.db 2>$D/log &
PID=$!
sleep 1
for host in "10.10.0.5" "[fd77::5]"; do
  for i in 1 2 3; do
    ip netns exec $C curl -s -g -o /dev/null -w "$host GET 256MiB: %{speed_download} B/s %{time_total}s\n" "http://$host:8080/smsimages/PS100002/boot.PS100002.wim"
  done
done
# 200 small requests, one connection (and one curl process) each.
ip netns exec $C bash -c 't0=$(date +%s.%N); for i in $(seq 200); do curl -s -g -o /dev/null -r 0-1023 "http://[fd77::5]:8080/smsimages/PS100002/boot.PS100002.wim"; done; t1=$(date +%s.%N); echo "200 ranged GETs over IPv6, one connection each (curl process per request): $(echo "$t1 - $t0" | bc) s"'
