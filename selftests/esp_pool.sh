#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two hosts to one peer with a two-address pool: each host gets its own
# address toward the peer, so neither ever waits for the other.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping

load_module
topo_init 2 1
gw_pool_addrs 2
gw_masquerade
gw_ipsecnat --to-source 203.0.113.1-203.0.113.2
ip netns exec "$GW" iptables-save -t mangle | grep -q -- '-j IPSECNAT --to-source 203.0.113.1-203.0.113.2' ||
	fail "iptables-save does not show the pool"

# The peer learns where each host is only once the gateway bound it.
for i in 1 2; do
	tunnel_host_side "$i" 1
	tunnel_ping "$i" 1
	busywait 5000 is_bound "$i" 1 || fail "host $i not bound"
	tunnel_peer_side "$i" 1 1 "$(binding_pub "$i" 1)"
done
a1=$(binding_pub 1 1) a2=$(binding_pub 2 1)
log "host 1 -> $a1, host 2 -> $a2"
[ "$a1" != "$a2" ] || fail "both hosts got $a1"
for i in 1 2; do
	busywait 10000 tunnel_ping "$i" 1 || fail "host $i tunnel does not work"
	peer_ping 1 "$i" 3 || fail "peer -> host $i"
done
expect_counter held_back -eq 0
# the peer saw each host's first probe before it knew the host's address
check_no_misdelivery "${HOSTS[@]}"
echo "PASS"
