#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# libreswan with encapsulation=no: plain ESP through the ESP core and IKE
# on port 500 for three inside hosts to a libreswan responder that takes
# IKE only from port 500, IKEv2 and then IKEv1. Baseline (IKEv1): without
# --preserve-ike conntrack remaps the second host's port and the responder
# drops its IKE. With it, every host is A:500, each IKE SA is told apart by
# its SPIs and each host receives only its own IKE and ESP.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_ike.sh"
require_cmd iptables conntrack ping python3
require_libreswan

N=3
load_module
topo_init $N 1
gw_masquerade
insist_on_ike_ports "${PEERS[1]}"

start_daemons() { # start_daemons IKEV2
	local i
	lsw_peer 1 $N "$1"
	for ((i = 1; i <= N; i++)); do lsw_host "$i" 1 "$1"; done
}

stop_daemons() {
	local i
	lsw_stop "${PEERS[1]}"
	for ((i = 1; i <= N; i++)); do
		lsw_stop "${HOSTS[i]}"
		ip -n "${HOSTS[i]}" xfrm state flush
		ip -n "${HOSTS[i]}" xfrm policy flush
	done
	ip -n "${PEERS[1]}" xfrm state flush
	ip -n "${PEERS[1]}" xfrm policy flush
	ip netns exec "$GW" ipsecnat flush >/dev/null
	ip netns exec "$GW" conntrack -F 2>/dev/null
}

all_up_and_checked() { # all_up_and_checked VERSION
	local i
	for ((i = 1; i <= N; i++)); do
		lsw_up "$i" || fail "$1 host $i: IKE failed: $(tail -3 "$SWAN_DIR/host$i/initiate.log")"
	done
	busywait 10000 lsw_established peer1 $N || fail "$1: peer has not $N Child SAs"
	for ((i = 1; i <= N; i++)); do
		busywait 15000 tunnel_ping "$i" 1 || fail "$1 host $i: no ping through its tunnel"
		tunnel_ping "$i" 1 3 || fail "$1 host $i: pings lost"
		peer_ping 1 "$i" 3 || fail "$1 peer -> host $i: pings lost"
	done
	check_no_misdelivery
	ip netns exec "$GW" ipsecnat show
	ike_bindings
	[ "$(ike_bindings | grep -c ' 500:500 established$')" = $N ] ||
		fail "$1: not one IKE binding on port 500 per host: $(ike_bindings)"
	[ "$(ip netns exec "$GW" ipsecnat -j show dir in | grep -o '"ports":"-"' | wc -l)" = $N ] ||
		fail "$1: inbound ESP is not plain ESP for every host"
	[ "$(ct_esp_entries)" = $N ] || fail "$1: conntrack shows $(ct_esp_entries) ESP entries"
	expect_counter ike_mismatch -eq 0
}

log "IKEv2, port 500 preserved"
gw_ipsecnat --preserve-ike
start_daemons yes
all_up_and_checked IKEv2
stop_daemons

log "IKEv1 baseline: conntrack remaps host 2's port 500, the responder drops it"
ip netns exec "$GW" iptables -t mangle -F
gw_ipsecnat
start_daemons no
lsw_up 1 || fail "IKEv1 host 1 alone failed: $(tail -3 "$SWAN_DIR/host1/initiate.log")"
dropped=$(peer_dropped "${PEERS[1]}")
lsw host2 --initiate --name gw --asynchronous >/dev/null 2>&1
busywait 15000 test "$(peer_dropped "${PEERS[1]}")" -gt "$dropped" ||
	fail "baseline: host 2's IKE was not dropped by the responder"
lsw_established peer1 1 || fail "baseline: the responder has more than host 1"
stop_daemons

log "IKEv1, port 500 preserved"
ip netns exec "$GW" iptables -t mangle -F
gw_ipsecnat --preserve-ike
start_daemons no
all_up_and_checked IKEv1
echo "PASS"
