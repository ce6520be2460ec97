#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The gateway runs its own IKE daemon (its own tunnel to the responder) on
# ports 500 and 4500 of the public address. An IPSECNAT rule with
# --preserve-ike --preserve-natt must not take those ports for an inside
# host: the host's ports are remapped by conntrack instead (counted and
# logged), and the gateway's tunnel and the host's both work.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_ike.sh"
require_cmd iptables conntrack ping python3 dmesg
require_strongswan

load_module
topo_init 1 1
# the gateway's own tunnelled traffic is not MASQUERADE's
ip netns exec "$GW" iptables -t nat -A POSTROUTING -m policy --dir out --pol ipsec -j ACCEPT
gw_masquerade
gw_ipsecnat --preserve-ike --preserve-natt
SWAN_PEER_REMOTE_TS="10.1.0.0/16,$PUB/32" swan_peer 1
swan_initiator "$GW" gateway gateway "$PUB/32" "$(peer_addr 1)" "$(peer_inner 1)/32"
swan gateway --initiate --child net --timeout 30 >/dev/null || fail "the gateway's own IKE failed"
gw_tunnel_ping() {
	ip netns exec "$GW" ping -q -c 2 -i 0.2 -W 1 -I "$PUB" "$(peer_inner 1)" >/dev/null 2>&1
}
busywait 15000 gw_tunnel_ping || fail "the gateway's own tunnel does not work"

log "an inside host, with the gateway's daemon on $PUB:500 and :4500"
swan_host 1 1
swan_up 1 || fail "host 1: IKE failed"
busywait 15000 tunnel_ping 1 1 || fail "host 1: no ping through its tunnel"
peer_ping 1 1 3 || fail "peer -> host 1: pings lost"
gw_tunnel_ping || fail "the gateway's tunnel broke when the host came up"
check_no_misdelivery "${HOSTS[1]}" "${PEERS[1]}" "$GW"
peer_ike_sas 1
peer_ike_sas 1 | grep -q "^$PUB:[0-9]* gateway$" || fail "peer lost the gateway's IKE SA"
peer_ike_sas 1 | grep -q "^$PUB:[0-9]* host1$" || fail "peer has no IKE SA of host 1"
expect_counter port_in_use -ge 1
[ -z "$(ip netns exec "$GW" ipsecnat -j show dir ike | grep -o '"dir"')" ] ||
	fail "ipsecnat bound the host's IKE on the gateway's port"
dmesg | grep -q "$PUB:500 is a socket of this gateway; port of $(host_addr 1) not preserved" ||
	fail "no kernel log line about the port in use"
echo "PASS"
