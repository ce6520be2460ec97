#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# libreswan soak, plain ESP (encapsulation=no) and IKEv2 on port 500 with
# --preserve-ike: SOAK_HOSTS (8) hosts to one responder that takes IKE only
# from port 500, CHILD SAs of both ends living 30 s with 50 % fuzz, so both
# ends rekey on their own timers, while pings flow both ways for SOAK_SECS
# (90) seconds. Every host loses at most 2 % per direction and nobody
# receives ESP it has no SA for.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../lib_ike.sh"
require_cmd iptables conntrack ping
require_libreswan

N=${SOAK_HOSTS:-8}
SECS=${SOAK_SECS:-90}
export LSW_CONN_EXTRA=$'salifetime=30s\nrekeymargin=10s\nrekeyfuzz=50%'
load_module
topo_init "$N" 1
gw_masquerade
gw_ipsecnat --preserve-ike
insist_on_ike_ports "${PEERS[1]}"
lsw_peer 1 "$N" yes
for ((i = 1; i <= N; i++)); do lsw_host "$i" 1 yes; done
soak_up "$N" lsw_up

log "soak: $SECS s of pings both ways while both ends rekey"
soak_pings "$N" "$SECS"
rekeys=$(grep -h -c -i 'rekey' "$SWAN_DIR"/*/pluto.log 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
log "rekey lines in the daemons' logs: $rekeys; gateway: $(learn_counters)"
[ "$rekeys" -ge "$N" ] || fail "only $rekeys rekey log lines: the soak did not test rekeying"
soak_verdict 2
echo "PASS"
