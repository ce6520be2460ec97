#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The module loads, serves 20 namespaces that each use the target, and
# unloads cleanly once they are gone: nothing keeps a reference behind.
# The ipsecnat tool loads it by its generic netlink family.
source "$(dirname "$0")/lib.sh"
require_cmd iptables modprobe rmmod ipsecnat

iptables -t mangle -F POSTROUTING 2>/dev/null
rmmod ipsecnat 2>/dev/null
load_module
grep -q '^ipsecnat ' /proc/modules || fail "module not listed after modprobe"

names=()
for ((n = 0; n < 20; n++)); do
	setup_ns NS
	names+=("$NS")
	ip netns exec "$NS" iptables -t mangle -A POSTROUTING -j IPSECNAT ||
		fail "IPSECNAT rule in $NS"
	ip netns exec "$NS" grep -q '^sas 0$' /proc/net/ipsecnat || fail "no /proc/net/ipsecnat in $NS"
done
refs() { awk '$1 == "ipsecnat" { print $3 }' /proc/modules; }
no_refs() { [ "$(refs)" = 0 ]; }
[ "$(refs)" -ge 20 ] || fail "20 rules hold $(refs) module references"
for n in "${names[@]}"; do ip netns del "$n"; done
NS_LIST=()
busywait 30000 no_refs || fail "module still has $(refs) references after netns deletion"
rmmod ipsecnat || fail "rmmod failed"
! grep -q '^ipsecnat ' /proc/modules || fail "module still loaded"
ipsecnat stats >/dev/null || fail "ipsecnat did not load the module (MODULE_ALIAS_GENL_FAMILY)"
grep -q '^ipsecnat ' /proc/modules || fail "module not listed after ipsecnat stats"
load_module
echo "PASS"
