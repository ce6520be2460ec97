#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Rekey storm: STORM_HOSTS (16) hosts with static tunnels to peer 1 through
# one public address, pings both ways all the time. STORM_ROUNDS (3) times,
# all hosts rekey at once: every new inbound SA on both ends first, then the
# outbound ones, the peer's first on odd hosts and the host's first on even
# ones (odd rounds: each host's pair in its own background job, all at
# once; even rounds: in two steps, see rekey_storm). Old SAs stay, so ESP
# for an SPI a host does not know is another host's. Every host must carry
# traffic both ways on its new SAs within 15 s of the switch (by the
# kernel's first-use time of the new SAs), every round, and no host or peer
# may ever receive an SPI it does not know.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping

N=${STORM_HOSTS:-16}
ROUNDS=${STORM_ROUNDS:-3}
cleanup_extra() { log_gw_counters; }

gw_with_tunnels "$N" 1
hosts=($(seq 1 "$N"))
bg_pings "${hosts[@]}"
log "$N hosts bound after $SECONDS s"
sleep 1	# traffic flows on every tunnel before the first storm

late=""
for ((r = 1; r <= ROUNDS; r++)); do
	g=$((r + 1)) style=par
	((r % 2)) || style=batch
	rekey_storm "$g" "$style" mixed "${hosts[@]}"
	wait_rebind "$g" 15 "${hosts[@]}"
	log "round $r ($style): $((N - ${#LATE[@]}))/$N hosts rebound within 15 s (slowest ${REBIND_S} s)${LATE:+, late: ${LATE[*]}}; at $SECONDS s"
	[ ${#LATE[@]} -eq 0 ] || late+=" round $r: ${LATE[*]};"
done
log "held_back $(ipsecnat_counter held_back) ambiguous $(ipsecnat_counter ambiguous) learned $(ipsecnat_counter learned) rekey_peer $(ipsecnat_counter rekey_peer)"
nost=0
for i in "${hosts[@]}"; do v=$(xfrm_stat "${HOSTS[i]}" XfrmInNoStates); nost=$((nost + ${v:-0})); done
log "XfrmInNoStates summed over the hosts: $nost"
check_no_misdelivery
[ -z "$late" ] || fail "hosts not rebound within 15 s:$late"
echo "PASS"
