#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Ten inside hosts, tunnel mode to one peer through one public address, then
# all of them talking at once: every tunnel works both ways, every host gets
# only its own ESP, conntrack keeps one ESP entry per host.
source "$(dirname "$0")/lib.sh"
require_cmd iptables conntrack ping

N=10
gw_with_tunnels $N 1
pids=()
for ((i = 1; i <= N; i++)); do
	tunnel_ping "$i" 1 5 & pids+=($!)
	peer_ping 1 "$i" 5 & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || fail "pings lost while all $N hosts talk"; done
for ((i = 1; i <= N; i++)); do
	[ "$(sa_packets_in "$i" 1)" -ge 11 ] || fail "host $i inbound SA saw $(sa_packets_in "$i" 1) packets"
done
check_no_misdelivery
expect_learned -eq $N
expect_counter ambiguous -eq 0
[ "$(ct_esp_entries)" = $N ] || fail "conntrack shows $(ct_esp_entries) ESP entries, expected $N"
[ "$(ct_stat "$GW" insert_failed)" = 0 ] || fail "conntrack insert_failed=$(ct_stat "$GW" insert_failed)"
echo "PASS"
