#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two inside hosts, static ESP tunnels to one peer, one public address:
# with one IPSECNAT rule (and the usual MASQUERADE rule still there) both
# tunnels work both ways and each host gets only its own ESP.
source "$(dirname "$0")/lib.sh"
require_cmd iptables conntrack ping

gw_with_tunnels 2 1
for i in 1 2; do
	tunnel_ping "$i" 1 5 || fail "host $i: pings lost after binding"
	peer_ping 1 "$i" 5 || fail "peer -> host $i: pings lost"
	[ "$(sa_packets_in "$i" 1)" -ge 10 ] || fail "host $i inbound SA saw $(sa_packets_in "$i" 1) packets"
done
check_no_misdelivery
expect_learned -ge 2
expect_counter in_translated -gt 0
expect_counter out_translated -gt 0
expect_counter ambiguous -eq 0
[ "$(ct_esp_entries)" = 2 ] || fail "conntrack shows $(ct_esp_entries) ESP entries, expected 2"
[ "$(ct_stat "$GW" insert_failed)" = 0 ] || fail "conntrack insert_failed=$(ct_stat "$GW" insert_failed)"
ip netns exec "$GW" cat /proc/net/ipsecnat_sas /proc/net/ipsecnat
echo "PASS"
