#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Without --to-source the rule follows the interface's address like
# MASQUERADE: bindings to an address that goes away are dropped, and new
# ones use the new address.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping

load_module
topo_init 1 1
gw_masquerade
gw_ipsecnat
tunnel_add 1 1
busywait 15000 tunnel_ping 1 1 || fail "host 1 tunnel"
[ "$(binding_pub 1 1)" = "$PUB" ] || fail "bound to $(binding_pub 1 1), expected $PUB"

NEW=203.0.113.9
ip -n "$GW" addr del "$PUB/24" dev wan0
ip -n "$GW" addr add $NEW/24 dev wan0
ip -n "$GW" route replace default via 203.0.113.254
[ "$(ipsecnat_counter sas)" = 0 ] || fail "$(ipsecnat_counter sas) SAs survived their address"
tunnel_peer_side_new() { # the peer now sees host 1 at NEW
	ip -n "${PEERS[1]}" xfrm state flush
	ip -n "${PEERS[1]}" xfrm policy flush
	tunnel_peer_side 1 1 1 $NEW
}
tunnel_peer_side_new
busywait 15000 tunnel_ping 1 1 || fail "host 1 tunnel on the new address"
[ "$(binding_pub 1 1)" = $NEW ] || fail "bound to $(binding_pub 1 1), expected $NEW"
check_no_misdelivery "${HOSTS[@]}"
echo "PASS"
