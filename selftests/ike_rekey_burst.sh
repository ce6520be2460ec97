#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# strongSwan rekeys in bursts: BURST_HOSTS (4) clients behind one address,
# --preserve-ike --preserve-natt, to a responder that takes IKE only from
# ports 500/4500. Pings flow both ways while, in each round, one exchange
# per client starts at the same moment: every client rekeys its CHILD SA;
# the peer rekeys every client's CHILD SA; half the clients rekey and the
# peer rekeys the other half; every client rekeys its IKE SA, then its
# CHILD SA; the peer rekeys one client's IKE SA and then its CHILD SA
# (the peer speaks first on the new IKE SA) while the others rekey their
# CHILD SAs. The gateway sees several exchanges overlap and must pace them:
# one per IKE retransmit (5 here), so more clients than that starting in
# one instant are beyond what it can serialize (README, truly ambiguous).
# After each round every tunnel carries pings both ways within 15 s, and
# no host or peer ever receives ESP it has no SA for.
# Baseline: without preserved ports only the first client gets in.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_ike.sh"
require_cmd iptables conntrack ping
require_strongswan

N=${BURST_HOSTS:-4}
load_module
topo_init "$N" 1
gw_masquerade
gw_ipsecnat
insist_on_ike_ports "${PEERS[1]}"
swan_peer 1
for ((i = 1; i <= N; i++)); do swan_host "$i" 1; done

swan_remap_baseline "$N"
log "$N clients"
soak_up "$N" swan_up
soak_trace

# peer_children: unique ids of peer 1's installed CHILD SAs, one per line
peer_children() {
	swan peer1 --list-sas --raw 2>/dev/null | grep -o 'child-sas {.*' |
		grep -o 'uniqueid=[0-9]*' | sort
}

# renewed OLD: peer 1 has N CHILD SAs again, none of them in OLD
renewed() {
	local now
	now=$(peer_children)
	[ "$(echo "$now" | grep -c .)" = "$N" ] && [ -z "$(comm -12 <(echo "$old") <(echo "$now"))" ]
}

# rekey_one I HOW: start one exchange for host I (returns at once)
rekey_one() {
	case $2 in
	host) swan "host$1" --rekey --child net ;;
	peer) swan peer1 --rekey --child-id "$(peer_child_id 1 "host$1")" ;;
	ike) swan "host$1" --rekey --ike gw && sleep 2 && swan "host$1" --rekey --child net ;;
	peerike) peer_ike_then_child "$1" ;;
	esac >/dev/null 2>&1
}

# ike_renewed I OLD: peer 1's IKE SA with host I exists and is not OLD
ike_renewed() {
	local id
	id=$(peer_ike_id 1 "host$1")
	[ -n "$id" ] && [ "$id" != "$2" ]
}

# peer_ike_then_child I: the peer rekeys host I's IKE SA, then at once the
# CHILD SA, which moved to the new IKE SA: the peer speaks first on an IKE
# SA whose SPIs the gateway never saw (they travel encrypted)
peer_ike_then_child() {
	local ike child
	ike=$(peer_ike_id 1 "host$1")
	child=$(peer_child_id 1 "host$1")
	swan peer1 --rekey --ike-id "$ike" || return
	busywait 20000 ike_renewed "$1" "$ike" && swan peer1 --rekey --child-id "$child"
}

# round NAME HOW...: host I rekeys as HOW number I (the last HOW repeats)
round() {
	local name=$1 i how pids=()
	shift
	old=$(peer_children)
	log "round: $name"
	for ((i = 1; i <= N; i++)); do
		how=${!i:-${!#}}
		rekey_one "$i" "$how" &
		pids+=($!)
	done
	wait "${pids[@]}"
	busywait 30000 renewed || fail "$name: CHILD SAs not all rekeyed: $(peer_children | tr '\n' ' ')"
	for ((i = 1; i <= N; i++)); do
		busywait 15000 tunnel_ping "$i" 1 || fail "$name: host $i: no ping through its tunnel"
		busywait 15000 peer_ping 1 "$i" || fail "$name: peer -> host $i: no ping"
	done
	check_no_misdelivery
	log "$name: every tunnel works; gateway: $(learn_counters)"
}

round "every client rekeys its CHILD SA" host
round "the peer rekeys every CHILD SA" peer
round "clients and peer at once" host peer host peer host peer host peer
round "every client rekeys its IKE SA, then its CHILD SA" ike
# One IKE SA rekey among CHILD SA rekeys: the exchanges that made ESP SAs
# (their hosts send on new SAs) made no IKE SA, so the peer's first message
# on the new IKE SA has one possible owner.
round "the peer rekeys client 1's IKE SA, then its CHILD SA; the others rekey" peerike host
hows=()
for ((i = 1; i < N; i++)); do hows+=(peer); done
round "the peer rekeys client $N's IKE SA, then its CHILD SA, and the others'" "${hows[@]}" peerike
round "every client rekeys its CHILD SA again" host
expect_counter ike_mismatch -eq 0
echo "PASS"
