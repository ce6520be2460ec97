#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An IKE responder behind the gateway (the server-behind-NAT case): two
# remote strongSwan clients start IKE to the public address. With
# "ipsecnat forward" their new IKE SAs (responder SPI 0) go to the inside
# server, with IKE and NAT-T ports preserved the server answers from
# A:500 / A:4500, and each client's ESP in UDP reaches the server and back.
# Baseline: without the forward the clients' IKE reaches nobody. The table
# is empty when the forward is added: that alone must wake the inbound hook.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_ike.sh"
require_cmd iptables conntrack ping python3
require_strongswan

gw_preserving 1 2
SRV=$(host_addr 1)
swan_responder "${HOSTS[1]}" server "$(host_inner 1)/32" 10.2.0.0/16
for j in 1 2; do
	swan_initiator "${PEERS[j]}" "client$j" "client$j" "$(peer_inner "$j")/32" "$PUB" \
		"$(host_inner 1)/32"
done
client_up() { swan "client$1" --initiate --child net --timeout "${2:-30}" >/dev/null 2>&1; }
log "baseline: no forward, the clients' IKE_SA_INIT reaches nobody"
client_up 1 5 && fail "baseline: client 1 got in without a forward"
swan client1 --terminate --ike gw --force >/dev/null 2>&1

# the table is empty: the forward alone must make the gateway listen

ip netns exec "$GW" ipsecnat forward add pub "$PUB" server "$SRV" >/dev/null || fail "forward add"
for j in 1 2; do
	client_up "$j" || fail "client $j: IKE to the server behind the gateway failed"
done
client_ping() { # client_ping J: client J and the server ping each other
	ip netns exec "${PEERS[$1]}" ping -q -c 2 -i 0.2 -W 1 -I "$(peer_inner "$1")" \
		"$(host_inner 1)" >/dev/null 2>&1 &&
		ip netns exec "${HOSTS[1]}" ping -q -c 2 -i 0.2 -W 1 -I "$(host_inner 1)" \
			"$(peer_inner "$1")" >/dev/null 2>&1
}
for j in 1 2; do
	busywait 15000 client_ping "$j" || fail "client $j: no traffic both ways with the server"
done
check_no_misdelivery
ip netns exec "$GW" ipsecnat show
[ "$(ip netns exec "$GW" ipsecnat -j show dir ike | grep -o '"host":"'"$SRV"'"' | wc -l)" = 2 ] ||
	fail "not one IKE binding per client to the server"
expect_counter forwarded -ge 2
echo "PASS"
