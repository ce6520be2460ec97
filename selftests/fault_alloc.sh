#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fault injection (kernels with fail_function: make check KERNEL=debug):
# for FAULT_SECS (30) seconds a quarter of the module's allocations fail
# (ipsecnat_zalloc: SAs, flows, hosts, slots, stranger tables) while 4 hosts
# ping their peer, rekey one after another, the table is flushed, an inside
# host sprays new SPIs and a WAN sender forges unknown ones. Failures are
# counted (no_memory), nothing crashes or leaks (scripts/vm checks the
# kernel log and kmemleak), nobody receives ESP not its own, and once the
# faults stop every host's next rekey binds it again.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping python3 ipsecnat

FF=/sys/kernel/debug/fail_function
[ -d "$FF" ] || skip "kernel without fail_function (run it on make check KERNEL=debug)"
N=4
SECS=${FAULT_SECS:-30}
gw_with_tunnels $((N + 1)) 1
hosts=($(seq 1 $N))
bg_pings "${hosts[@]}"
extra_ns FWAN wan "$PEER_PREFIX.200"
fault_off() {
	echo >"$FF/inject" 2>/dev/null
}
cleanup_extra() {
	fault_off
	log_gw_counters
	[ "$EXIT_RC" = 0 ] || log_gw_evidence
}

echo ipsecnat_zalloc >"$FF/inject" || fail "fail_function does not take ipsecnat_zalloc"
echo 25 >"$FF/probability"
echo 0 >"$FF/interval"
echo -1 >"$FF/times"
echo 0 >"$FF/verbose"
log "$SECS s of failing allocations"
esp_spray "${HOSTS[$((N + 1))]}" "$(peer_addr 1)" --count 0 --rate 100
SPRAYER=$SPRAY_PID
esp_spray "$FWAN" "$PUB" --src "$(peer_addr 1)" --count 0 --rate 100
FORGER=$SPRAY_PID
stop=$((EPOCHSECONDS + SECS))
g=1
while ((EPOCHSECONDS < stop)); do
	g=$((g + 1))
	for i in "${hosts[@]}"; do
		tunnel_rekey "$i" 1 "$g" host
		sleep 0.5
	done
	ip netns exec "$GW" ipsecnat flush >/dev/null
	sleep 1
done
fault_off
kill "$SPRAYER" "$FORGER"
wait "$SPRAYER" "$FORGER" 2>/dev/null
nomem=$(ipsecnat_counter no_memory)
log "allocations failed: no_memory $nomem"
[ "${nomem:-0}" -gt 0 ] || fail "no allocation failed: the injection did not work"

log "faults off: every host rekeys and carries traffic both ways within 15 s"
g=$((g + 1))
bad=""
for i in "${hosts[@]}"; do
	REKEY_T0=${EPOCHREALTIME/./}
	tunnel_rekey "$i" 1 "$g" host
	wait_rebind "$g" 15 "$i" || bad+=" host $i;"
done
check_no_misdelivery "${HOSTS[@]}"
[ -z "$bad" ] || fail "not rebound after their rekey:$bad"
echo "PASS"
