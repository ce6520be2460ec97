#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# KNOWN FAILURE (issue 10), run by name: make check T=soak/esp_rekey_idle
# A host that goes idle right after its rekey must not strand, nor take the
# traffic of, a host that rekeys just after it. Hosts 1-3 have static
# tunnels to peer 1, pings both ways. Host 2 rekeys and its traffic stops
# at once; host 1 rekeys 0.3 s later with its traffic going on. Host 2's
# new outbound SA is near host 1's new SPI, and host 2, receiving nothing,
# is never ruled out by its own traffic. Host 1 must carry traffic both
# ways on its new SAs within 15 s, host 2 too once its traffic resumes, and
# nobody may receive an SPI it does not know. Rounds: host 2 host first,
# host 1 peer first; the other way round; both host first. Host 3 (traffic
# throughout) is a bystander. On 42526a4 (and before): hosts held for good,
# and one run delivered one packet to host 2 that was not its own.
source "$(dirname "$0")/../lib.sh"
require_cmd iptables ping

gw_with_tunnels 3 1
bg_pings 1 3
H2_PIDS=()
h2_pings() {
	ip netns exec "${HOSTS[2]}" ping -q -i 0.2 -I "$(host_inner 2)" "$(peer_inner 1)" \
		>/dev/null 2>&1 &
	H2_PIDS=($!)
	ip netns exec "${PEERS[1]}" ping -q -i 0.2 -I "$(peer_inner 1)" "$(host_inner 2)" \
		>/dev/null 2>&1 &
	H2_PIDS+=($!)
}
h2_quiet() {
	kill "${H2_PIDS[@]}" 2>/dev/null
	wait "${H2_PIDS[@]}" 2>/dev/null
	H2_PIDS=()
}
cleanup_extra() { h2_quiet; log_gw_counters; }
h2_pings

bad=""
# round GEN FIRST2 FIRST1: host 2 rekeys FIRST2 first and goes quiet at
# once, host 1 rekeys FIRST1 first 0.3 s later
round() {
	local g=$1
	rekey_in 1 1 "$g"
	rekey_in 2 1 "$g"
	REKEY_T0=${EPOCHREALTIME/./}
	rekey_out 2 1 "$g" "$2"
	h2_quiet
	sleep 0.3
	rekey_out 1 1 "$g" "$3"
	wait_rebind "$g" 15 1
	log "gen $g (host 2 $2 first, idle; host 1 $3 first): host 1 late: ${LATE[*]:-none}"
	((${#LATE[@]} == 0)) || bad+=" gen $g: host 1 not rebound within 15 s;"
	check_no_misdelivery
	h2_pings
	REKEY_T0=${EPOCHREALTIME/./}
	wait_rebind "$g" 15 2
	log "gen $g: host 2's traffic resumed; late: ${LATE[*]:-none}"
	((${#LATE[@]} == 0)) || bad+=" gen $g: host 2 not rebound within 15 s of its traffic;"
	check_no_misdelivery
}
round 2 host peer
round 3 peer host
round 4 host host
log "learned $(ipsecnat_counter learned) learned_pair $(ipsecnat_counter learned_pair) ambiguous $(ipsecnat_counter ambiguous)"
[ -z "$bad" ] || fail "$bad"
echo "PASS"
