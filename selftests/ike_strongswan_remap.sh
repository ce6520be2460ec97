#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# strongSwan IKEv2 with NAT-T through conntrack's own port remapping: with
# the module loaded and an IPSECNAT rule without the --preserve options,
# UDP 500/4500 is left to conntrack. Three hosts reach one responder, each
# from its own public port, traffic flows both ways, and ipsecnat holds no
# binding for them.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_ike.sh"
require_cmd iptables conntrack ping python3
require_strongswan

N=3
load_module
topo_init $N 1
gw_masquerade
gw_ipsecnat
swan_peer 1
for ((i = 1; i <= N; i++)); do swan_host "$i" 1; done
for ((i = 1; i <= N; i++)); do swan_up "$i" || fail "host $i: IKE failed"; done
busywait 10000 peer_has_ike_sas 1 $N || fail "peer has not $N IKE SAs: $(peer_ike_sas 1)"
peer_ike_sas 1
[ "$(peer_ike_sas 1 | grep "^$PUB:" | cut -d' ' -f1 | sort -u | wc -l)" = $N ] ||
	fail "peer does not see $N distinct public ports: $(peer_ike_sas 1)"
for ((i = 1; i <= N; i++)); do
	busywait 15000 tunnel_ping "$i" 1 || fail "host $i: no ping through its tunnel"
	tunnel_ping "$i" 1 3 || fail "host $i: pings lost"
	peer_ping 1 "$i" 3 || fail "peer -> host $i: pings lost"
done
check_no_misdelivery
[ "$(ip netns exec "$GW" ipsecnat -j show)" = "[]" ] ||
	fail "ipsecnat bound UDP it was not asked to: $(ip netns exec "$GW" ipsecnat show)"
expect_counter out_translated -eq 0
echo "PASS"
