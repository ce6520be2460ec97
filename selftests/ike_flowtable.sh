#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A gateway with an nftables flowtable ("flow add @ft", the software fast
# path OpenWrt and many routers turn on) and two strongSwan hosts with ports
# 500/4500 preserved. The flowtable forwards an offloaded flow's packets
# past every hook, so a NAT-T flow that ipsecnat translates (its conntrack
# entry keeps the inside address) would leave untranslated. Baseline: a
# plain UDP flow through the same gateway is offloaded (the fast path is
# on). Then: the hosts' NAT-T and IKE entries are never offloaded, no packet
# with an inside source reaches the WAN, and traffic flows both ways.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_ike.sh"
require_cmd iptables nft conntrack ping python3
require_strongswan

N=2
gw_preserving $N 1
insist_on_ike_ports "${PEERS[1]}"
ip netns exec "$GW" nft -f - <<'EOF' || fail "flowtable"
table inet fastpath {
	flowtable ft {
		hook ingress priority 0
		devices = { br0, wan0 }
	}
	chain forward {
		type filter hook forward priority 0; policy accept;
		meta l4proto { tcp, udp } flow add @ft
	}
}
EOF
# what leaves the gateway with an inside source: counted on the WAN router
ip netns exec "$RT" iptables -A FORWARD -s "$LAN_PREFIX.0/24" -j DROP || fail "leak counter"
leaked() {
	ip netns exec "$RT" iptables -nvxL FORWARD | awk -v s="$LAN_PREFIX.0/24" '$8 == s { print $1 }'
}

log "baseline: a plain UDP flow is offloaded"
ip netns exec "${PEERS[1]}" python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5000))
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d, a)
' &
BG_PIDS+=($!)
udp_offloaded() {
	ip netns exec "${HOSTS[1]}" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
s.bind(("0.0.0.0", 5001))
for _ in range(3):
    s.sendto(b"x", (sys.argv[1], 5000))
    try:
        s.recv(64)
    except OSError:
        pass
' "$(peer_addr 1)"
	ip netns exec "$GW" conntrack -L -p udp --dport 5000 2>/dev/null | grep -q OFFLOAD
}
busywait 10000 udp_offloaded || fail "baseline: the flowtable offloads no UDP flow"

SWAN_PEER_DPD=2s swan_peer 1
for ((i = 1; i <= N; i++)); do SWAN_HOST_DPD=2s swan_host "$i" 1; done
# one host after another, each with traffic from then on
soak_up $N swan_up
busywait 10000 peer_has_ike_sas 1 $N || fail "peer has not $N IKE SAs: $(peer_ike_sas 1)"

# traffic long enough for the forward chain to offload every flow it may
for round in 1 2 3; do
	for ((i = 1; i <= N; i++)); do
		tunnel_ping "$i" 1 3 || fail "host $i: pings lost (round $round)"
		peer_ping 1 "$i" 3 || fail "peer -> host $i: pings lost (round $round)"
	done
done
# a host's IKE goes on through the fast path's life: a CHILD rekey
for ((i = 1; i <= N; i++)); do
	swan "host$i" --rekey --child net >/dev/null || fail "host $i: CHILD rekey failed"
	busywait 15000 tunnel_ping "$i" 1 || fail "host $i: no ping after its rekey"
done
check_no_misdelivery
ip netns exec "$GW" conntrack -L -p udp 2>/dev/null | grep -E 'dport=(500|4500) ' | sed 's/^/# /'
off=$(ip netns exec "$GW" conntrack -L -p udp 2>/dev/null | grep -E 'dport=(500|4500) ' | grep -c OFFLOAD)
[ "$off" = 0 ] || fail "$off IKE/NAT-T conntrack entries offloaded"
[ "$(leaked)" = 0 ] || fail "$(leaked) packets left the gateway with an inside source"
echo "PASS"
