#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# WAN fuzzing during traffic: FUZZ_PACKETS (20000) random and malformed ESP,
# ESP in UDP, IKE, keepalives, ICMP errors quoting them, fragments and IP
# options (tools/wanfuzz.py), forged from the peer's address, go to the
# public address while 4 hosts (IKE and NAT-T ports preserved) ping their
# peer both ways. Afterwards every tunnel still carries pings both ways,
# nobody received ESP not its own, and the gateway holds at most SLACK SAs
# beyond the hosts' own.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping python3

N=4
COUNT=${FUZZ_PACKETS:-20000}
SLACK=64
load_module
topo_init $N 1
gw_masquerade
gw_ipsecnat --preserve-ike --preserve-natt
hosts=($(seq 1 $N))
for i in "${hosts[@]}"; do
	tunnel_add "$i" 1
	busywait 15000 tunnel_ping "$i" 1 || fail "host $i tunnel does not work"
done
bg_pings "${hosts[@]}"
extra_ns FWAN wan "$PEER_PREFIX.200"
cleanup_extra() { log_gw_counters; }

ip netns exec "$FWAN" python3 "$(dirname "$0")/tools/wanfuzz.py" "$PUB" \
	--src "$(peer_addr 1)" --count "$COUNT" --rate 2000 --seed "${FUZZ_SEED:-$RANDOM}" ||
	fail "wanfuzz failed"
for i in "${hosts[@]}"; do
	busywait 15000 tunnel_ping "$i" 1 || fail "host $i: no ping through its tunnel after the fuzzing"
	peer_ping 1 "$i" 3 || fail "peer -> host $i: pings lost after the fuzzing"
done
check_no_misdelivery "${HOSTS[@]}"
sas=$(ipsecnat_counter sas)
[ "$sas" -le $((2 * N + SLACK)) ] || fail "$sas SAs after the fuzzing: more than $((2 * N)) + $SLACK"
echo "PASS"
