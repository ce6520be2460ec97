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

swan_remap_baseline $N
for ((i = 1; i <= N; i++)); do swan_up "$i" || fail "host $i: IKE failed with preserved ports"; done
busywait 10000 peer_has_ike_sas 1 $N || fail "peer has not $N IKE SAs: $(peer_ike_sas 1)"
[ "$(peer_ike_sas 1 | grep -c "^$PUB:4500 host")" = $N ] ||
	fail "peer does not see every host at $PUB:4500: $(peer_ike_sas 1)"

traffic_both_ways() {
	local i ns
	for ((i = 1; i <= N; i++)); do
		busywait 15000 tunnel_ping "$i" 1 || fail "host $i: no ping through its tunnel $1"
		tunnel_ping "$i" 1 3 || fail "host $i: pings lost $1"
		peer_ping 1 "$i" 3 || fail "peer -> host $i: pings lost $1"
	done
	check_no_misdelivery
	for ns in "${HOSTS[@]}" "${PEERS[1]}"; do
		[ "$(udp_csum_errors "$ns")" = 0 ] || fail "$ns: UDP checksum errors $1"
	done
}
traffic_both_ways "after set-up"

# id_changed FN OLD: peer 1's id of host 3's SA (FN) exists and is not OLD
id_changed() {
	local id
	id=$("$1" 1 host3)
	[ -n "$id" ] && [ "$id" != "$2" ]
}

log "bindings shown: one IKE SA per host on 4500, ESP in UDP"
ike_bindings
[ "$(ike_bindings | grep -c ' 4500:4500 established$')" = $N ] || fail "IKE bindings: $(ike_bindings)"
for ((i = 1; i <= N; i++)); do
	ip netns exec "$GW" ipsecnat -j show host "$(host_addr "$i")" dir in |
		grep -q '"ports":"4500:4500"' || fail "host $i: no inbound ESP-in-UDP binding"
done
[ "$(ip netns exec "$GW" conntrack -L -p udp --dport 4500 2>/dev/null | grep -c "src=$LAN_PREFIX\..*sport=4500 dport=4500 .*dst=$LAN_PREFIX\.")" = $N ] ||
	fail "conntrack: inside hosts' NAT-T entries not kept on their own addresses"

log "rekeys while traffic flows: the peer rekeys host 3's IKE SA then its CHILD SA; host 1 IKE, host 2 CHILD"
flows=()
for ((i = 1; i <= N; i++)); do
	ip netns exec "${HOSTS[i]}" ping -q -i 0.2 -I "$(host_inner "$i")" "$(peer_inner 1)" \
		>"$SWAN_DIR/flow$i.out" 2>&1 &
	flows+=($!)
done
BG_PIDS+=("${flows[@]}")
# The peer speaks first on the new IKE SA: the gateway attributes it to
# the one host that just ran CREATE_CHILD_SA. (Two hosts doing so within a
# pending window make it ambiguous: nobody gets it until the host speaks.)
# The CHILD SA moves to the new IKE SA with its id: read it first, so that
# the CHILD rekey follows the IKE rekey at once (swanctl is slow under TCG).
id3=$(peer_ike_id 1 host3)
child3=$(peer_child_id 1 host3)
swan peer1 --rekey --ike-id "$id3" >/dev/null || fail "peer: IKE rekey of host 3 not started"
busywait 20000 id_changed peer_ike_id "$id3" || fail "peer: IKE rekey of host 3 did not complete"
swan peer1 --rekey --child-id "$child3" >/dev/null || fail "peer: CHILD rekey of host 3 not started"
busywait 20000 id_changed peer_child_id "$child3" ||
	fail "peer: CHILD rekey of host 3 on its new IKE SA did not complete"
swan host1 --rekey --ike gw >/dev/null || fail "host 1: IKE rekey failed"
swan host2 --rekey --child net >/dev/null || fail "host 2: CHILD rekey failed"
# each host's IKE SA works after its rekey: one more CHILD rekey on it
for ((i = 1; i <= N; i++)); do
	swan "host$i" --rekey --child net >/dev/null || fail "host $i: IKE SA broken after rekeys"
done
# the flows go on through the rekeys (a host idle right after its rekey
# while its neighbours rekey may stay held: README "Limits")
traffic_both_ways "after rekeys"
kill "${flows[@]}" 2>/dev/null
wait "${flows[@]}" 2>/dev/null
ike_bindings
expect_counter ike_learned -ge 1

log "dead peer detection: host 2's daemon dies, the peer notices, the others stay"
swan_stop "${HOSTS[2]}"
busywait 60000 peer_has_ike_sas 1 $((N - 1)) || fail "peer's DPD did not clear host 2: $(peer_ike_sas 1)"
for i in 1 3; do
	swan "host$i" --list-sas --raw | grep -q 'state=ESTABLISHED' || fail "host $i lost its IKE SA"
	tunnel_ping "$i" 1 3 || fail "host $i: pings lost while host 2 was dead"
done

log "host 2 restarts (a reboot: its kernel SAs are gone too)"
ip -n "${HOSTS[2]}" xfrm state flush
ip -n "${HOSTS[2]}" xfrm policy flush
SWAN_HOST_DPD=2s swan_host 2 1
swan_up 2 || fail "host 2: IKE failed after restart"
busywait 10000 peer_has_ike_sas 1 $N || fail "peer has not $N IKE SAs after restart: $(peer_ike_sas 1)"
traffic_both_ways "after host 2 restarted"
expect_counter ike_mismatch -eq 0
[ "$(ct_stat "$GW" insert_failed)" = 0 ] || fail "conntrack insert_failed=$(ct_stat "$GW" insert_failed)"
ip netns exec "$GW" ipsecnat -s show
ip netns exec "$GW" cat /proc/net/ipsecnat
echo "PASS"
