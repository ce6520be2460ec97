#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The problem ipsecnat solves, without ipsecnat: two inside hosts with ESP
# tunnels to one peer behind a plain MASQUERADE rule. Host 1 works; host 2's
# ESP clashes in conntrack (insert_failed grows) and its tunnel is dead.
source "$(dirname "$0")/lib.sh"
require_cmd iptables conntrack ping

topo_init 2 1
gw_masquerade
tunnel_add 1 1
tunnel_add 2 1

busywait 10000 tunnel_ping 1 1 || fail "host 1 tunnel does not work with MASQUERADE"
before=$(ct_stat "$GW" insert_failed)
for _ in 1 2 3; do
	tunnel_ping 2 1 && fail "host 2 tunnel works with plain MASQUERADE: baseline broken"
done
after=$(ct_stat "$GW" insert_failed)
log "conntrack insert_failed $before -> $after"
[ "$after" -gt "$before" ] || fail "conntrack insert_failed did not grow ($before -> $after)"
tunnel_ping 1 1 || fail "host 1 tunnel stopped working"
echo "PASS"
