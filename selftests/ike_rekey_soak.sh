#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# strongSwan soak: SOAK_HOSTS (8) clients behind one address with
# --preserve-ike --preserve-natt, one responder that insists on ports
# 500/4500, and both ends rekeying on their own timers: CHILD_SAs every
# ~20 s (clients) and ~17 s (responder), IKE SAs every ~45 s. Pings flow
# both ways for SOAK_SECS (90) seconds. Every client loses at most 2 % per
# direction, and no host or peer ever receives ESP it has no SA for.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_ike.sh"
require_cmd iptables conntrack ping
require_strongswan

N=${SOAK_HOSTS:-8}
SECS=${SOAK_SECS:-90}
MAX_LOSS=2
load_module
topo_init "$N" 1
gw_masquerade
gw_ipsecnat --preserve-ike --preserve-natt
insist_on_ike_ports "${PEERS[1]}"
SWAN_PEER_CHILD_REKEY=17s SWAN_PEER_IKE_REKEY=47s swan_peer 1
for ((i = 1; i <= N; i++)); do
	SWAN_HOST_CHILD_REKEY=20s SWAN_HOST_IKE_REKEY=45s swan_host "$i" 1
done
for ((i = 1; i <= N; i++)); do swan_up "$i" || fail "host $i: IKE failed"; done
for ((i = 1; i <= N; i++)); do
	busywait 15000 tunnel_ping "$i" 1 || fail "host $i: tunnel does not work"
	busywait 15000 peer_ping 1 "$i" || fail "peer -> host $i: tunnel does not work"
done
check_no_misdelivery

log "soak: $SECS s of pings both ways while both ends rekey"
out=$SWAN_DIR/soak
mkdir -p "$out"
count=$((SECS * 2))
for ((i = 1; i <= N; i++)); do
	ip netns exec "${HOSTS[i]}" ping -i 0.5 -c "$count" -W 2 -I "$(host_inner "$i")" \
		"$(peer_inner 1)" >"$out/up$i" 2>&1 &
	BG_PIDS+=($!)
	ip netns exec "${PEERS[1]}" ping -i 0.5 -c "$count" -W 2 -I "$(peer_inner 1)" \
		"$(host_inner "$i")" >"$out/down$i" 2>&1 &
	BG_PIDS+=($!)
done
wait "${BG_PIDS[@]}"
BG_PIDS=()

# loss FILE: the packet loss ping reported, in whole percent
loss() { sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$1" | cut -d. -f1; }
bad=0
for ((i = 1; i <= N; i++)); do
	up=$(loss "$out/up$i") down=$(loss "$out/down$i")
	log "host $i: loss ${up:-?} % up, ${down:-?} % down"
	[ -n "$up" ] && [ -n "$down" ] && [ "$up" -le $MAX_LOSS ] && [ "$down" -le $MAX_LOSS ] ||
		bad=$((bad + 1))
done
rekeys=$(grep -h -c 'generating CREATE_CHILD_SA request' "$SWAN_DIR"/*/charon.log 2>/dev/null |
	awk '{ s += $1 } END { print s + 0 }')
log "rekeys logged by the daemons: $rekeys; gateway: $(learn_counters)"
[ "$rekeys" -ge "$N" ] || fail "only $rekeys rekeys happened: the soak did not test rekeying"
check_no_misdelivery
[ "$bad" = 0 ] || fail "$bad of $N clients lost more than $MAX_LOSS % in a direction"
echo "PASS"
