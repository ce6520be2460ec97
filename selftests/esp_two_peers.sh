#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two inside hosts, each with tunnels to two different peers, all through
# one public address and used at the same time.
source "$(dirname "$0")/lib.sh"
require_cmd iptables conntrack ping

load_module
topo_init 2 2
gw_masquerade
gw_ipsecnat
for i in 1 2; do for j in 1 2; do tunnel_add "$i" "$j"; done; done

for i in 1 2; do for j in 1 2; do
	busywait 15000 tunnel_ping "$i" "$j" || fail "host $i -> peer $j tunnel does not work"
done; done
pids=()
for i in 1 2; do for j in 1 2; do
	tunnel_ping "$i" "$j" 5 & pids+=($!)
	peer_ping "$j" "$i" 5 & pids+=($!)
done; done
for p in "${pids[@]}"; do wait "$p" || fail "pings lost with two peers"; done
check_no_misdelivery
expect_learned -eq 4
expect_counter ambiguous -eq 0
[ "$(ct_esp_entries)" = 4 ] || fail "conntrack shows $(ct_esp_entries) ESP entries, expected 4"
echo "PASS"
