#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An inside host floods ESP with random SPIs: it hits its per-host cap, the
# refusals are counted, and the other hosts' tunnels keep working. Then the
# per-namespace cap: new SAs are refused, existing ones keep working.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping python3

load_module
set_default max_sas_per_host 16
set_default max_sas 30
topo_init 3 1
gw_masquerade
gw_ipsecnat
tunnel_add 1 1
tunnel_add 2 1
for i in 1 2; do busywait 15000 tunnel_ping "$i" 1 || fail "host $i tunnel"; done

log "host 3 floods 500 random SPIs"
ip netns exec "${HOSTS[3]}" python3 "$(dirname "$0")/tools/espsend.py" "$(peer_addr 1)" --count 500 ||
	fail "espsend"
expect_counter cap_host -gt 0
sas=$(ipsecnat_counter sas)
log "SAs after flood: $sas, cap_host refusals $(ipsecnat_counter cap_host)"
[ "$sas" -le $((4 + 16)) ] || fail "$sas SAs: per-host cap not enforced"
for i in 1 2; do
	tunnel_ping "$i" 1 3 || fail "host $i lost its tunnel during the flood"
	peer_ping 1 "$i" 3 || fail "peer lost host $i during the flood"
done

log "host 2 floods other peers until the namespace cap"
for d in 2 3 4 5; do
	ip netns exec "${HOSTS[2]}" python3 "$(dirname "$0")/tools/espsend.py" "$(peer_addr "$d")" --count 30
done
expect_counter cap_netns -gt 0
[ "$(ipsecnat_counter sas)" -le 30 ] || fail "$(ipsecnat_counter sas) SAs over the namespace cap"
tunnel_ping 1 1 3 || fail "host 1 lost its tunnel at the namespace cap"
check_no_misdelivery "${HOSTS[@]}"
echo "PASS"
