#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Transport mode: a host's ESP carries its own ICMP to the peer's address.
# The peer sees the host as the public address, so its policies cannot tell
# two hosts behind one address apart: two transport-mode hosts use a pool.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping

load_module
topo_init 2 1
gw_pool_addrs 2
gw_masquerade
gw_ipsecnat --to-source 203.0.113.1-203.0.113.2
P=${PEERS[1]} PA=$(peer_addr 1)

# transport SAs host I <-> peer 1, the peer seeing the host as PUBLIC
transport_host_side() {
	local i=$1 h=${HOSTS[$1]} ha r
	ha=$(host_addr "$i") r=$(reqid "$i" 1)
	xfrm_sa "$h" "$ha" "$PA" "$(spi_out "$i" 1)" "$r" transport
	xfrm_sa "$h" "$PA" "$ha" "$(spi_in "$i" 1)" "$r" transport
	ip -n "$h" xfrm policy add src "$ha/32" dst "$PA/32" proto icmp dir out \
		tmpl proto esp reqid "$r" mode transport
	ip -n "$h" xfrm policy add src "$PA/32" dst "$ha/32" proto icmp dir in \
		tmpl proto esp reqid "$r" mode transport
}
transport_peer_side() {
	local i=$1 pub=$2 r
	r=$(reqid "$i" 1)
	xfrm_sa "$P" "$pub" "$PA" "$(spi_out "$i" 1)" "$r" transport
	xfrm_sa "$P" "$PA" "$pub" "$(spi_in "$i" 1)" "$r" transport
	ip -n "$P" xfrm policy add src "$PA/32" dst "$pub/32" proto icmp dir out \
		tmpl proto esp reqid "$r" mode transport
	ip -n "$P" xfrm policy add src "$pub/32" dst "$PA/32" proto icmp dir in \
		tmpl proto esp reqid "$r" mode transport
}
host_ping() {
	ip netns exec "${HOSTS[$1]}" ping -q -c "${2:-1}" -i 0.2 -W 1 "$PA" >/dev/null 2>&1
}
for i in 1 2; do
	transport_host_side "$i"
	host_ping "$i"
	busywait 5000 is_bound "$i" 1 || fail "host $i not bound"
	transport_peer_side "$i" "$(binding_pub "$i" 1)"
done
[ "$(binding_pub 1 1)" != "$(binding_pub 2 1)" ] || fail "both hosts share $(binding_pub 1 1)"
for i in 1 2; do
	busywait 10000 host_ping "$i" || fail "host $i transport-mode ping"
	host_ping "$i" 5 || fail "host $i: pings lost"
	[ "$(sa_packets_in "$i" 1)" -ge 6 ] || fail "host $i inbound SA saw $(sa_packets_in "$i" 1) packets"
done
expect_counter held_back -eq 0
check_no_misdelivery "${HOSTS[@]}"
echo "PASS"
