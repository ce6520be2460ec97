#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The IPSECNAT rule added to a live gateway where MASQUERADE already NATed
# host 1's ESP: host 1 keeps working (its old conntrack entry is retired)
# and hosts 2 and 3, dead until then, come up.
source "$(dirname "$0")/lib.sh"
require_cmd iptables conntrack ping

load_module
topo_init 3 1
gw_masquerade
for i in 1 2 3; do tunnel_add "$i" 1; done
busywait 10000 tunnel_ping 1 1 || fail "host 1 tunnel does not work with MASQUERADE"
tunnel_ping 2 1 && fail "host 2 works with plain MASQUERADE: baseline broken"

gw_ipsecnat
for i in 1 2 3; do
	busywait 15000 tunnel_ping "$i" 1 || fail "host $i tunnel after adding IPSECNAT"
	peer_ping 1 "$i" 3 || fail "peer -> host $i after adding IPSECNAT"
done
check_no_misdelivery
[ "$(ct_esp_entries)" = 3 ] || fail "conntrack shows $(ct_esp_entries) ESP entries, expected 3"
echo "PASS"
