#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A standard stateful gateway (FORWARD policy DROP, ESTABLISHED,RELATED
# accepted, LAN to WAN accepted, blanket MASQUERADE) needs nothing but the
# IPSECNAT rule: inbound ESP is accepted as ESTABLISHED for each host.
source "$(dirname "$0")/lib.sh"
require_cmd iptables conntrack ping

load_module
topo_init 3 1
gw_stateful
gw_ipsecnat
for i in 1 2 3; do tunnel_add "$i" 1; done

# Before any host spoke, the peer cannot reach in: the policy holds.
peer_ping 1 1 && fail "peer reached an inside host through FORWARD policy DROP"
for i in 1 2 3; do
	busywait 15000 tunnel_ping "$i" 1 || fail "host $i tunnel does not work"
done
for i in 1 2 3; do
	tunnel_ping "$i" 1 3 || fail "host $i: pings lost"
	peer_ping 1 "$i" 3 || fail "peer -> host $i: pings lost"
done
check_no_misdelivery
ip netns exec "$GW" conntrack -L -p 50
[ "$(ct_esp_entries)" = 3 ] || fail "conntrack shows $(ct_esp_entries) ESP entries, expected 3"
for i in 1 2 3; do
	ip netns exec "$GW" conntrack -L -p 50 2>/dev/null | grep "src=$(host_addr "$i") " |
		grep -qv UNREPLIED || fail "no replied ESP conntrack entry for host $i"
done
[ "$(ct_stat "$GW" insert_failed)" = 0 ] || fail "conntrack insert_failed=$(ct_stat "$GW" insert_failed)"
echo "PASS"
