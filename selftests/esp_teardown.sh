#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rmmod while ESP flows through the gateway, and deleting the gateway
# namespace while it translates: both clean (the harness checks the kernel
# log for oopses, warnings and leaks of module references).
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping

gw_with_tunnels 2 1
flood() {
	local i
	for i in 1 2; do
		ip netns exec "${HOSTS[i]}" ping -q -f -I "$(host_inner "$i")" "$(peer_inner 1)" >/dev/null 2>&1 &
		BG_PIDS+=($!)
		ip netns exec "${PEERS[1]}" ping -q -f -I "$(peer_inner 1)" "$(host_inner "$i")" >/dev/null 2>&1 &
		BG_PIDS+=($!)
	done
}
flood
sleep 1
log "rule removed and module unloaded under traffic"
ip netns exec "$GW" iptables -t mangle -F POSTROUTING
busywait 10000 rmmod ipsecnat || fail "rmmod under traffic failed"
# Re-learning after the table is gone is safe one host at a time (see
# README, limits): stop the traffic, reload, and each host binds again.
for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
BG_PIDS=()
sleep 1
load_module
gw_ipsecnat
for i in 1 2; do busywait 15000 tunnel_ping "$i" 1 || fail "host $i tunnel after reload"; done
check_no_misdelivery "${HOSTS[@]}"
flood
sleep 1

log "gateway namespace deleted under traffic"
ip netns del "$GW"
sleep 1
for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
BG_PIDS=()
no_refs() { [ "$(awk '$1 == "ipsecnat" { print $3 }' /proc/modules)" = 0 ]; }
busywait 20000 no_refs || fail "module references left after the gateway namespace went"
echo "PASS"
