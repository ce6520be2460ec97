#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# strongSwan IKEv2 with NAT-T: three inside hosts behind one address to a
# responder that, like legacy peers, takes IKE only from ports 500/4500.
# Baseline: with conntrack's port remapping only the first host gets in.
# With --preserve-ike --preserve-natt all three appear as A:500 / A:4500,
# their IKE and ESP-in-UDP are told apart by SPI, and each receives only
# its own traffic, through IKE and CHILD rekeys, dead peer detection and a
# daemon restart.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_ike.sh"
require_cmd iptables conntrack ping python3
require_strongswan

N=3
load_module
topo_init $N 1
gw_masquerade
gw_ipsecnat
insist_on_ike_ports "${PEERS[1]}"
SWAN_PEER_DPD=2s swan_peer 1
for ((i = 1; i <= N; i++)); do SWAN_HOST_DPD=2s swan_host "$i" 1; done

log "baseline: conntrack remaps host 2's ports, the peer ignores it"
swan_up 1 || fail "host 1 cannot reach the peer even alone"
SWAN_RETRANSMIT_TRIES=1 swan_up 2 && fail "baseline: host 2 got in through a remapped port"
for ((i = 1; i <= N; i++)); do swan "host$i" --terminate --ike gw --force >/dev/null 2>&1; done
busywait 10000 peer_has_ike_sas 1 0 || fail "peer kept IKE SAs after terminate"

log "preserving ports 500 and 4500"
ip netns exec "$GW" iptables -t mangle -F
gw_ipsecnat --preserve-ike --preserve-natt
ip netns exec "$GW" conntrack -F 2>/dev/null
for ((i = 1; i <= N; i++)); do swan_up "$i" || fail "host $i: IKE failed with preserved ports"; done
busywait 10000 peer_has_ike_sas 1 $N || fail "peer has not $N IKE SAs: $(peer_ike_sas 1)"
[ "$(peer_ike_sas 1 | grep -c "^$PUB:4500 host")" = $N ] ||
	fail "peer does not see every host at $PUB:4500: $(peer_ike_sas 1)"

traffic_both_ways() {
	local i
	for ((i = 1; i <= N; i++)); do
		busywait 15000 tunnel_ping "$i" 1 || fail "host $i: no ping through its tunnel $1"
		tunnel_ping "$i" 1 3 || fail "host $i: pings lost $1"
		peer_ping 1 "$i" 3 || fail "peer -> host $i: pings lost $1"
	done
	check_no_misdelivery
}
traffic_both_ways "after set-up"

log "bindings shown: one IKE SA per host on 4500, ESP in UDP"
ike_bindings
[ "$(ike_bindings | grep -c ' 4500:4500 established$')" = $N ] || fail "IKE bindings: $(ike_bindings)"
for ((i = 1; i <= N; i++)); do
	ip netns exec "$GW" ipsecnat -j show host "$(host_addr "$i")" dir in |
		grep -q '"ports":"4500:4500"' || fail "host $i: no inbound ESP-in-UDP binding"
done
[ "$(ip netns exec "$GW" conntrack -L -p udp --dport 4500 2>/dev/null | grep -c "src=$LAN_PREFIX\..*sport=4500 dport=4500 .*dst=$LAN_PREFIX\.")" = $N ] ||
	fail "conntrack: inside hosts' NAT-T entries not kept on their own addresses"
expect_counter ambiguous -eq 0
expect_counter ike_mismatch -eq 0
echo "PASS"
