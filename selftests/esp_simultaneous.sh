#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Six hosts start their tunnels at the same instant toward one peer through
# one address. The gateway serialises learning (holding newer hosts back)
# instead of guessing: nobody gets another host's ESP, all bind in seconds.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping

N=6
load_module
topo_init $N 1
gw_masquerade
gw_ipsecnat
for ((i = 1; i <= N; i++)); do tunnel_add "$i" 1; done

start=$SECONDS
pids=()
for ((i = 1; i <= N; i++)); do
	busywait 30000 tunnel_ping "$i" 1 & pids+=($!)
done
for ((i = 1; i <= N; i++)); do
	wait "${pids[i - 1]}" || fail "host $i never bound"
done
log "all $N hosts bound in $((SECONDS - start)) s: $(learn_counters)"
check_no_misdelivery
expect_learned -eq $N
expect_counter ambiguous -eq 0
for ((i = 1; i <= N; i++)); do
	tunnel_ping "$i" 1 3 || fail "host $i: pings lost after binding"
done
echo "PASS"
