#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Control-plane stress while ESP flows: for STRESS_SECS (60) seconds, with
# 4 hosts pinging their peer both ways through the gateway, loops run at
# once: flush, del of one host's SAs, GC churn (timeouts of 1-2 s and back),
# a public address added and removed (address notifier), the IPSECNAT rule
# replaced, forwards added and deleted, namespaces with their
# own rule and netlink fuzzing (tools/genlfuzz.py) made and deleted. Then
# three rmmod/modprobe cycles with the traffic still running. After the
# last reload nobody may receive ESP that is not its own, every host's next
# rekey binds it again, and the kernel log stays clean (scripts/vm: on the
# debug kernel that includes KASAN, kmemleak, lockdep and UBSAN). What flush
# and del under traffic misdeliver is logged (a documented limit).
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping python3 ipsecnat

N=4
SECS=${STRESS_SECS:-60}
EXTRA=203.0.113.9
gw_with_tunnels $N 1
gw() { ip netns exec "$GW" "$@"; }
hosts=($(seq 1 $N))
bg_pings "${hosts[@]}"
defaults=$(gw ipsecnat get | awk '{ printf "%s %s ", $1, $2 }')
[ -n "$defaults" ] || fail "ipsecnat get printed no settings"
STOP=$((EPOCHSECONDS + SECS))
LOOPS=()
loop() {	# loop NAME CMD...: run CMD until STOP, counting rounds in /tmp
	local name=$1 n=0
	shift
	(
		while ((EPOCHSECONDS < STOP)); do
			"$@" >/dev/null 2>&1
			n=$((n + 1))
		done
		echo "$n" >"/tmp/stress.$$.$name"
	) &
	LOOPS+=($!)
	BG_PIDS+=($!)
}
cleanup_extra() {
	log_gw_counters
	if [ "$EXIT_RC" != 0 ]; then
		log_gw_evidence
		log "events since the last reload:"
		sed 's/^/#   /' "/tmp/stress.$$.events" 2>/dev/null | head -n 80
	fi
	rm -f /tmp/stress.$$.*
}

flush() { gw ipsecnat flush; sleep 0.7; }
del_one() { gw ipsecnat del host "$(host_addr $((RANDOM % N + 1)))"; sleep 0.3; }
gc_churn() {
	gw ipsecnat set pending-timeout 1 established-timeout 2
	sleep 1.5
	# shellcheck disable=SC2086
	gw ipsecnat set $defaults
	sleep 1
}
addr_churn() {
	gw ip addr add "$EXTRA/24" dev wan0
	gw ipsecnat forward add pub "$EXTRA" server "$(host_addr 1)"
	sleep 0.2
	gw ip addr del "$EXTRA/24" dev wan0
	gw ipsecnat forward del pub "$EXTRA"
	sleep 0.2
}
# a new rule first, then the old one goes (as iptables-restore swaps a
# ruleset): a gap with no rule is stock Linux, whose conntrack gives every
# host's ESP to one host (the bug ipsecnat exists for; the reloads below)
rule_swap() {
	gw iptables -t mangle -I POSTROUTING -o wan0 -j IPSECNAT
	sleep 0.1
	gw iptables -t mangle -D POSTROUTING 2
	sleep 1
}
ns_churn() {
	local ns
	ns=stress-$$-$RANDOM
	ip netns add "$ns" || return
	ip -n "$ns" link set lo up
	ip netns exec "$ns" iptables -t mangle -A POSTROUTING -j IPSECNAT
	ip netns exec "$ns" python3 "$(dirname "$0")/tools/genlfuzz.py" --count 300 --seed "$RANDOM"
	ip netns del "$ns"
}

log "$SECS s of control-plane churn with traffic"
loop flush flush
loop del del_one
loop gc gc_churn
loop addr addr_churn
loop rule rule_swap
loop netns ns_churn
wait "${LOOPS[@]}"
for f in flush del gc addr rule netns; do
	log "$f: $(cat "/tmp/stress.$$.$f" 2>/dev/null || echo 0) rounds"
done
# flush and del under traffic lose the table again and again: a host that
# has not sent since is invisible, and its SPI may go to one that has
# (README "Limits"); measured here, not asserted
for i in "${hosts[@]}"; do
	log "host $i: $(xfrm_stat "${HOSTS[i]}" XfrmInNoStates) packets not its own during the churn"
done
# shellcheck disable=SC2086
gw ipsecnat set $defaults || fail "settings not restored"
gw iptables -t mangle -S POSTROUTING | grep -q IPSECNAT ||
	gw iptables -t mangle -A POSTROUTING -o wan0 -j IPSECNAT

log "rmmod and modprobe with traffic running, 3 times"
for cycle in 1 2 3; do
	gw iptables -t mangle -D POSTROUTING -o wan0 -j IPSECNAT || fail "rule not found (cycle $cycle)"
	gone() { rmmod ipsecnat 2>/dev/null; ! grep -q '^ipsecnat ' /proc/modules; }
	busywait 30000 gone || fail "rmmod ipsecnat failed (cycle $cycle): $(rmmod ipsecnat 2>&1)"
	modprobe ipsecnat || fail "modprobe (cycle $cycle)"
	if [ $cycle = 3 ]; then
		gw ipsecnat monitor >"/tmp/stress.$$.events" 2>&1 &
		BG_PIDS+=($!)
	fi
	gw iptables -t mangle -A POSTROUTING -o wan0 -j IPSECNAT || fail "rule (cycle $cycle)"
	sleep 1
done
# while the rule was gone, conntrack's own NAT gave every host's ESP to one
# host (the bug ipsecnat exists for): count from here
declare -A nostates
for i in "${hosts[@]}"; do nostates[$i]=$(xfrm_stat "${HOSTS[i]}" XfrmInNoStates); done

# The table was lost while every host and the peer kept sending on SAs in
# use: nothing on the wire says which SPI is whose, so they may stay held
# (README "Limits"), never bound to the wrong host. Each host's next
# rekey (host first, one after another) binds it again.
log "every host rekeys: each carries traffic both ways again within 15 s"
bad=""
for i in "${hosts[@]}"; do
	REKEY_T0=${EPOCHREALTIME/./}
	tunnel_rekey "$i" 1 2 host
	wait_rebind 2 15 "$i" || bad+=" host $i;"
done
for i in "${hosts[@]}"; do
	n=$(($(xfrm_stat "${HOSTS[i]}" XfrmInNoStates) - nostates[$i]))
	[ "$n" = 0 ] || bad+=" host $i received $n packets not its own;"
done
[ -z "$bad" ] || fail "after the reloads:$bad"
echo "PASS"
