#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A WAN link with a small MTU: the router's "fragmentation needed" for a
# host's ESP reaches that host, translated, so its large pings get through.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping

gw_with_tunnels 2 1
wan_mtu 1280
for i in 1 2; do
	busywait 20000 big_ping "$i" || fail "host $i: large pings never got through"
done
expect_counter icmp_translated -ge 2
check_no_misdelivery
echo "PASS"
