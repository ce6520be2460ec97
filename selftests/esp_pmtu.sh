#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A WAN link with a small MTU: the router's "fragmentation needed" for a
# host's ESP reaches that host, translated, so its large pings get through.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping

gw_with_tunnels 2 1
ip -n "$RT" link set p1 mtu 1280
ip -n "$RT" link set br0 mtu 1280
ip -n "${PEERS[1]}" link set eth0 mtu 1280

big_ping() {
	ip netns exec "${HOSTS[$1]}" ping -q -c 1 -W 1 -s 1400 \
		-I "$(host_inner "$1")" "$(peer_inner 1)" >/dev/null 2>&1
}
for i in 1 2; do
	busywait 20000 big_ping "$i" || fail "host $i: large pings never got through"
done
expect_counter icmp_translated -ge 2
check_no_misdelivery
echo "PASS"
