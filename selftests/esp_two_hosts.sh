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
# a second IPSECNAT rule (the chain now goes on after the target) sees
# packets the first one translated: it leaves them alone
gw_ipsecnat
for i in 1 2; do
	tunnel_ping "$i" 1 3 || fail "host $i: pings lost with a second IPSECNAT rule"
done
expect_counter spi_conflict -eq 0

# conntrack zones are not supported: a LAN machine whose traffic a CT rule
# puts in zone 5 is left to conntrack's own NAT, and counted
extra_ns ZONED lan "$LAN_PREFIX.200"
ip netns exec "$GW" iptables -t raw -A PREROUTING -s "$LAN_PREFIX.200" -j CT --zone 5 ||
	fail "CT zone rule"
ip netns exec "$ZONED" python3 "$(dirname "$0")/tools/espsend.py" "$(peer_addr 1)" --count 5 ||
	fail "espsend"
busywait 5000 counter_is foreign_zone -ge 5 || fail "foreign_zone $(ipsecnat_counter foreign_zone), not 5"
! ip netns exec "$GW" ipsecnat show host "$LAN_PREFIX.200" | grep -q "$LAN_PREFIX\.200" ||
	fail "a zone-5 host got SAs"
ip netns exec "$GW" cat /proc/net/ipsecnat_sas /proc/net/ipsecnat
echo "PASS"
