#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# ESP larger than the links' MTU travels as IP fragments both ways: the
# gateway reassembles, translates and fragments it again.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping

gw_with_tunnels 2 1
frag_ping() { # frag_ping NS SRC DST: 3000-byte pings without DF
	ip netns exec "$1" ping -q -c 3 -i 0.2 -W 2 -M dont -s 3000 -I "$2" "$3" >/dev/null 2>&1
}
for i in 1 2; do
	frag_ping "${HOSTS[i]}" "$(host_inner "$i")" "$(peer_inner 1)" || fail "host $i: large pings"
	frag_ping "${PEERS[1]}" "$(peer_inner 1)" "$(host_inner "$i")" || fail "peer -> host $i: large pings"
done
frags=$(ip netns exec "$GW" awk '/^Ip:/ && !h { h = 1; for (i = 1; i <= NF; i++) n[i] = $i; next }
	/^Ip:/ { for (i = 1; i <= NF; i++) if (n[i] == "ReasmOKs") print $i }' /proc/net/snmp)
log "gateway reassembled $frags datagrams"
[ "${frags:-0}" -ge 12 ] || fail "the gateway saw no fragmented ESP ($frags reassemblies)"
check_no_misdelivery
echo "PASS"
