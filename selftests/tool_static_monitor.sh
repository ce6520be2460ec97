#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# ipsecnat add / monitor / export / import on a live gateway:
# - a static inbound SPI lets a peer reach host 1 first even though host 2
#   shares the (peer, address) pair (without it the SPI is ambiguous);
# - monitor sees created, learned, rekeyed and expired events in order;
# - export from this gateway and import into a second gateway namespace
#   reproduces the table.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping python3 ipsecnat

load_module
topo_init 2 1
gw_masquerade
gw_ipsecnat
gw() { ip netns exec "$GW" "$@"; }
ip netns exec "$GW" ipsecnat monitor >"/tmp/mon.$$" 2>&1 &
BG_PIDS+=($!)
cleanup_extra() { rm -f "/tmp/mon.$$" "/tmp/export.$$" "/tmp/export2.$$"; }

log "events name hosts, peers and SPIs: only CAP_NET_ADMIN may listen"
out=$(ip netns exec "$GW" setpriv --reuid=65534 --regid=65534 --clear-groups \
	timeout 2 ipsecnat monitor 2>&1)
echo "$out" | grep -q 'need CAP_NET_ADMIN' || fail "an unprivileged user joined the event group: $out"

tunnel_add 1 1
tunnel_add 2 1
busywait 15000 tunnel_ping 2 1 || fail "host 2 tunnel"

log "static inbound SPI for host 1: the peer reaches it first"
gw ipsecnat add dir in host "$(host_addr 1)" peer "$(peer_addr 1)" pub "$PUB" \
	spi "$(spi_in 1 1)" static || fail "ipsecnat add"
gw ipsecnat add dir in host "$(host_addr 1)" peer "$(peer_addr 1)" pub "$PUB" \
	spi "$(spi_in 1 1)" 2>&1 | grep -q 'Error: an SA with this SPI exists' || fail "duplicate add not refused"
gw ipsecnat show spi "$(spi_in 1 1)" | grep -q ' static ' || fail "static SA not shown as static"
busywait 10000 peer_ping 1 1 || fail "peer could not reach host 1 through its static SPI"
expect_counter ambiguous -eq 0

log "peer-first rekey with only host 1 on a fresh peer slot is learned as a rekey"
gw ipsecnat del host "$(host_addr 2)" >/dev/null
ip -n "${HOSTS[2]}" xfrm policy flush	# host 2 quiet from now on
# host 1's reply opened a claim; let it run out so the new SPI is a rekey
gw ipsecnat set pending-window 1
sleep 1.5
tunnel_rekey 1 1 2 peer
busywait 10000 peer_ping 1 1 || fail "peer rekey"

log "expiry"
gw ipsecnat set established-timeout 1 pending-timeout 1
gw conntrack -D -p 50 >/dev/null 2>&1
# monitor lines: "TIMESTAMP [event] ..."
expired() { grep -q '^[^ ]* \[expired\] ' "/tmp/mon.$$"; }
busywait 10000 expired || fail "no expired event"
gw ipsecnat show spi "$(spi_in 1 1)" | grep -q ' static ' || fail "static SA expired"
sleep 0.5
cat "/tmp/mon.$$"
first() { grep -n "^[^ ]* \[$1\] " "/tmp/mon.$$" | head -1 | cut -d: -f1; }
for e in created learned added rekeyed expired; do
	[ -n "$(first $e)" ] || fail "monitor missed a $e event"
done
[ "$(first created)" -lt "$(first learned)" ] && [ "$(first learned)" -lt "$(first rekeyed)" ] &&
	[ "$(first rekeyed)" -lt "$(first expired)" ] || fail "events out of order"

log "export, import into a second gateway namespace"
gw ipsecnat set established-timeout 600 pending-timeout 30
busywait 10000 tunnel_ping 1 1 || fail "host 1 after expiry"
gw ipsecnat export >"/tmp/export.$$" || fail "export"
setup_ns GW2
ip netns exec "$GW2" ipsecnat import "/tmp/export.$$" | grep -q "^import: $(ipsecnat_counter sas) added" ||
	fail "import count"
ip netns exec "$GW2" ipsecnat export >"/tmp/export2.$$"
# every field: selftests/tool_export.sh
python3 - "/tmp/export.$$" "/tmp/export2.$$" <<'PY' || fail "imported table differs"
import json, sys
key = lambda s: (s["dir"], s["host"], s["peer"], s["pub"], s["spi"], s["state"], s["static"])
a, b = (sorted(map(key, json.load(open(p))["sas"])) for p in sys.argv[1:])
assert a == b and a, (a, b)
PY
check_no_misdelivery "${HOSTS[@]}"
echo "PASS"
