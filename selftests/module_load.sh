#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The module loads, serves 20 namespaces that each use the target, and
# unloads cleanly once they are gone: nothing keeps a reference behind
# (nat rules of a namespace that stays go with the module).
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
# nat rules (ipsecnat nat add) hold no module reference: rmmod takes them
# with it, hook and all, from a namespace that stays
setup_ns NATNS
ip netns exec "$NATNS" ipsecnat nat add dev eth0 || fail "nat add"
ip netns exec "$NATNS" ipsecnat nat add dev 'ppp+' to-source 203.0.113.1 preserve-natt ||
	fail "nat add ppp+"
[ "$(refs)" = 0 ] || fail "nat rules hold $(refs) module references"
rmmod ipsecnat || fail "rmmod failed"
! grep -q '^ipsecnat ' /proc/modules || fail "module still loaded"
ipsecnat stats >/dev/null || fail "ipsecnat did not load the module (MODULE_ALIAS_GENL_FAMILY)"
grep -q '^ipsecnat ' /proc/modules || fail "module not listed after ipsecnat stats"
load_module
[ "$(ip netns exec "$NATNS" ipsecnat -j nat show)" = "[]" ] ||
	fail "nat rules survived rmmod: $(ip netns exec "$NATNS" ipsecnat nat show)"
echo "PASS"
