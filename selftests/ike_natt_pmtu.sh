#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# NAT-T with port 4500 preserved over a WAN link with a small MTU: the
# router's "fragmentation needed" quotes A:4500 -> peer:4500 and the ESP
# SPI; ipsecnat gives it to the host owning that SPI (conntrack could not:
# the host's entry is on its inside address), so large pings get through.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_ike.sh"
require_cmd iptables conntrack ping
require_strongswan

N=2
gw_preserving $N 1
swan_peer 1
for ((i = 1; i <= N; i++)); do
	swan_host "$i" 1
	swan_up "$i" || fail "host $i: IKE failed"
	busywait 15000 tunnel_ping "$i" 1 || fail "host $i: no ping through its tunnel"
done
wan_mtu 1280
for ((i = 1; i <= N; i++)); do
	busywait 20000 big_ping "$i" || fail "host $i: large pings never got through"
done
expect_counter icmp_translated -ge $N
check_no_misdelivery
echo "PASS"
