#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# strongSwan soak: SOAK_HOSTS (8) clients behind one address with
# --preserve-ike --preserve-natt, one responder that insists on ports
# 500/4500, and both ends rekeying on their own timers: CHILD_SAs every
# ~20 s (clients) and ~17 s (responder), IKE SAs every ~45 s. Pings flow
# both ways for SOAK_SECS (90) seconds. Every client loses at most 2 % per
# direction, and no host or peer ever receives ESP it has no SA for. Each
# tunnel carries pings from its set-up on (soak_up).
# SOAK_BASELINE=1: stock MASQUERADE instead (ports remapped, no IPSECNAT
# rule, a responder that accepts any port), to compare.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../lib_ike.sh"
require_cmd iptables conntrack ping
require_strongswan

N=${SOAK_HOSTS:-8}
SECS=${SOAK_SECS:-90}
load_module
topo_init "$N" 1
gw_masquerade
if [ -z "${SOAK_BASELINE:-}" ]; then
	gw_ipsecnat --preserve-ike --preserve-natt
	insist_on_ike_ports "${PEERS[1]}"
fi
SWAN_PEER_CHILD_REKEY=17s SWAN_PEER_IKE_REKEY=47s swan_peer 1
for ((i = 1; i <= N; i++)); do
	SWAN_HOST_CHILD_REKEY=20s SWAN_HOST_IKE_REKEY=45s swan_host "$i" 1
done
soak_trace
soak_up "$N" swan_up

log "soak: $SECS s of pings both ways while both ends rekey"
soak_pings "$N" "$SECS"
rekeys=$(grep -h -c 'generating CREATE_CHILD_SA request' "$SWAN_DIR"/*/charon.log 2>/dev/null |
	awk '{ s += $1 } END { print s + 0 }')
log "rekeys logged by the daemons: $rekeys; gateway: $(learn_counters)"
[ "$rekeys" -ge "$N" ] || fail "only $rekeys rekeys happened: the soak did not test rekeying"
soak_verdict 2
echo "PASS"
