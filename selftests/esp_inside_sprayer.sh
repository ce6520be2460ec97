#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An inside sprayer: host 4 (no tunnel) sends ESP to peer 1 with a new random
# SPI in every packet, 300 a second, while hosts 1-3 (tunnels to peer 1,
# pings both ways) rekey: one at a time, peer first and host first, then all
# three in a row, 0.5 s and 0.2 s apart (a host's new SPI still waits when
# the next host switches). Each rekeying host carries traffic both ways on
# its new SAs within 15 s (0.2 s apart: measured, not asserted; a full run
# alone left 2 of 3 held), and no host (the sprayer included) receives an SPI
# it does not know. Then a forged SPI beside a peer-first rekey, for each
# host (forged_round in lib.sh).
# (Peer 1 does get the sprayer's unknown SPIs: that is the sprayer's
# traffic, not misdelivery.)
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping python3

RATE=300
cleanup_extra() { log_gw_counters; }

load_module
topo_init 4 1
gw_masquerade
gw_ipsecnat
hosts=(1 2 3)
for i in "${hosts[@]}"; do
	tunnel_add "$i" 1
	busywait 15000 tunnel_ping "$i" 1 || fail "host $i tunnel does not work"
done
bg_pings "${hosts[@]}"

S=${HOSTS[4]}
tx0=$(tx_packets "$S")
esp_spray "$S" "$(peer_addr 1)" --count 0 --rate $RATE
spraying() { [ $(($(tx_packets "$S") - tx0)) -ge $RATE ]; }
busywait 30000 spraying || fail "the sprayer does not send"
log "sprayer started: sas $(ipsecnat_counter sas) cap_host $(ipsecnat_counter cap_host)"

storm_round "host 1, peer first" batch peer 1
storm_round "host 2, host first" batch host 2
storm_round "host 3, peer first" batch peer 3
storm_round "host 1, host first" batch host 1
storm_round "hosts 1-3 in a storm, mixed" seq mixed "${hosts[@]}"
# measured only, as esp_rekey_storm's seq@0.2 round
STORM_GAP=0.2 STORM_MEASURED=1 storm_round "hosts 1-3 in a storm, mixed, 0.2 s apart" seq mixed "${hosts[@]}"
storm_round "hosts 1-3 in a storm, host first" seq host "${hosts[@]}"
SPRAYER_PID=$SPRAY_PID

extra_ns FWAN wan "$PEER_PREFIX.200"
forged_round 1
forged_round 2
forged_round 3
kill "$SPRAYER_PID"
wait "$SPRAYER_PID"
log "peer 1 XfrmInNoStates (the sprayer's SPIs): $(xfrm_stat "${PEERS[1]}" XfrmInNoStates)"
for i in "${hosts[@]}"; do
	tunnel_ping "$i" 1 3 || STORM_BAD+=" host $i: pings lost at the end;"
done
# the sprayer's namespace too: an SPI bound to it shows up there
check_no_misdelivery "${HOSTS[@]}"
[ -z "$STORM_BAD" ] || fail "$STORM_BAD"
echo "PASS"
