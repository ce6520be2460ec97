#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# ESP forwarding: an inside server (host 1) behind the public address takes
# tunnels that two remote clients (peers 1 and 2) start, while host 2 uses a
# learned binding to a third peer. Without the forward the clients cannot
# reach the server.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping ipsecnat

load_module
topo_init 2 3
gw_masquerade
gw_ipsecnat
gw() { ip netns exec "$GW" "$@"; }
tunnel_add 1 1
tunnel_add 1 2
tunnel_add 2 3
busywait 15000 tunnel_ping 2 3 || fail "host 2 -> peer 3 tunnel"

peer_ping 1 1 && fail "a client reached the server without a forward: baseline broken"
expect_counter unknown_spi -gt 0

gw ipsecnat forward add pub "$PUB" server "$(host_addr 1)" || fail "forward add"
gw ipsecnat forward add pub "$PUB" server "$(host_addr 2)" 2>&1 |
	grep -q 'Error: this public address already has a forward' || fail "second forward not refused"
gw ipsecnat forward show | grep -q "^$PUB  *$(host_addr 1)" || fail "forward not shown"
for j in 1 2; do
	busywait 10000 peer_ping "$j" 1 || fail "client $j cannot reach the server"
	peer_ping "$j" 1 3 || fail "client $j: pings lost"
	tunnel_ping 1 "$j" 3 || fail "server -> client $j"
done
tunnel_ping 2 3 3 || fail "host 2's learned binding broke"
expect_counter forwarded -eq 2
gw ipsecnat -j stats | grep -q '"forwarded":2' || fail "stats lack forwarded"
check_no_misdelivery "${HOSTS[@]}"

# A peer that two inside hosts talk to starts a new IKE SA toward the
# forwarded address (or a WAN sender forges one): it is theirs or nobody's,
# never the server's, and the gateway must not trip over the shared slot.
tunnel_add 1 3
busywait 15000 tunnel_ping 1 3 || fail "host 1 -> peer 3 tunnel"
tunnel_ping 2 3 3 || fail "host 2 -> peer 3 after host 1 joined"
ike_before=$(gw ipsecnat show dir ike | grep -c "$(peer_addr 3)")
ip netns exec "${PEERS[3]}" python3 -c '
import os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 500))
for _ in range(5):
    # IKEv2 IKE_SA_INIT request: a new initiator SPI, responder SPI 0
    s.sendto(os.urandom(8) + bytes(8) + bytes([33, 0x20, 34, 0x08]) +
             struct.pack("!II", 0, 28), (sys.argv[1], 500))
' "$PUB" || fail "IKE_SA_INIT not sent"
tunnel_ping 1 3 3 || fail "host 1 -> peer 3 after the peer's IKE_SA_INIT"
tunnel_ping 2 3 3 || fail "host 2 -> peer 3 after the peer's IKE_SA_INIT"
[ "$(gw ipsecnat show dir ike | grep -c "$(peer_addr 3)")" = "$ike_before" ] ||
	fail "the peer's IKE_SA_INIT was bound: $(gw ipsecnat show dir ike)"
check_no_misdelivery "${HOSTS[@]}"

gw ipsecnat forward del pub "$PUB" || fail "forward del"
[ "$(gw ipsecnat forward show | wc -l)" = 1 ] || fail "forward still listed"
gw ipsecnat forward del pub "$PUB" 2>&1 | grep -q 'Error: no forward' || fail "deleting a missing forward"
echo "PASS"
