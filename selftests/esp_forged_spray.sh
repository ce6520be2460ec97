#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Forged SPIs: while FORGED_HOSTS (4) hosts rekey with peer 1 (one alone
# peer first, one alone host first, then all one after another, mixed;
# same-instant static rekeys are ambiguous: esp_rekey_storm.sh), a forger sends
# ESP with a random SPI in every packet (sequence number 1: each looks like
# a new SA's first packet), 250 a second, to the public address
# with peer 1's address as source: first from the WAN (a namespace beside
# the peer), then from the LAN (a namespace beside the hosts; the gateway
# must not learn from the LAN). Every host carries traffic both ways on its
# new SAs within 15 s each time, no host or peer receives an SPI it does not
# know, and the gateway's SAs stay bounded (the legitimate ones + SLACK).
# Then credible forged SPIs during steady traffic, one beside a peer-first
# rekey, and one that wins a sparse host's pair (forged_pair_round).
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping python3

N=${FORGED_HOSTS:-4}
RATE=250
SLACK=64
cleanup_extra() { log_gw_counters; }

gw_with_tunnels $((N + 1)) 1	# host N+1 is the sparse one: no background pings
extra_ns FWAN wan "$PEER_PREFIX.200"
extra_ns FLAN lan "$LAN_PREFIX.200"
hosts=($(seq 1 "$N"))
bg_pings "${hosts[@]}"

for side in wan lan; do
	ns=$FWAN
	[ $side = lan ] && ns=$FLAN
	c0=$(ip netns exec "$GW" cat /proc/net/ipsecnat | tr '\n' ' ')
	tx0=$(tx_packets "$ns")
	esp_spray "$ns" "$PUB" --src "$(peer_addr 1)" --count 0 --rate $RATE --per-spi 1
	spraying() { [ $(($(tx_packets "$ns") - tx0)) -ge $RATE ]; }
	busywait 30000 spraying || fail "the $side forger does not send"
	storm_round "$side spray, host 1 alone, peer first" batch peer 1
	storm_round "$side spray, host 2 alone, host first" batch host 2
	storm_round "$side spray, all $N one after another, mixed" seq mixed "${hosts[@]}"
	kill "$SPRAY_PID"
	wait "$SPRAY_PID"
	log "$side spray: before: $c0"
	log_gw_counters
	sas=$(ipsecnat_counter sas)
	legit=$((2 * N + STORM_SAS))	# one per direction and generation
	[ "$sas" -le $((legit + SLACK)) ] ||
		STORM_BAD+=" $side spray: $sas SAs on the gateway, more than $legit legitimate + $SLACK;"
done

# Credible forgeries: 4 packets on each random SPI, sequence numbers 1-4
# (a new SA to the gateway), CREDIBLE_SECS (8) during steady pings. Each
# has one candidate left whenever all hosts but one just received: none
# may bind by that elimination. Rekeys meanwhile may wait (README, Limits).
ns=$FWAN
tx0=$(tx_packets "$ns")
esp_spray "$FWAN" "$PUB" --src "$(peer_addr 1)" --count 0 --rate $RATE --per-spi 4
busywait 30000 spraying || fail "the credible forger does not send"
sleep "${CREDIBLE_SECS:-8}"
kill "$SPRAY_PID"
wait "$SPRAY_PID"
log "credible forged SPIs: learned $(ipsecnat_counter learned), ambiguous $(ipsecnat_counter ambiguous)"
check_no_misdelivery

# one SPI forged beside a peer-first rekey, without a sprayer inside
forged_round 1
forged_round 3
for i in "${hosts[@]}"; do
	tunnel_ping "$i" 1 3 || STORM_BAD+=" host $i: pings lost at the end;"
done
check_no_misdelivery

# forged_pair_round I: host I sends once a second. A WAN sender forging the
# peer starts a SPI (rising sequence numbers, 200 a second, for 3 s) just
# before host I rekeys host first: the forged SPI pairs with host I's new SA
# at once, the peer's real answer shows its second packet only with host
# I's next ping, a second later, when the forged SPI is bound. That binding
# is still open to contest: the real SPI undoes it and both wait until the
# forged one has been silent 5 s. Host I rebinds within 15 s, and no other
# host receives a packet it does not know. (Host I does receive the forged
# packets while its binding is open: junk to it, as stock NAT would pass.)
forged_pair_round() {
	local i=$1 g pid others=()
	STORM_GEN=$((STORM_GEN + 1))
	g=$STORM_GEN
	rekey_in "$i" 1 "$g"
	ns=$FWAN
	tx0=$(tx_packets "$ns")
	esp_spray "$FWAN" "$PUB" --src "$(peer_addr 1)" --spi "$(printf '0xbeef%04x' "$g")" \
		--count 0 --rate 200
	forging() { [ $(($(tx_packets "$ns") - tx0)) -ge 20 ]; }	# 0.1 s
	busywait 30000 forging || fail "the pair forger does not send"
	REKEY_T0=${EPOCHREALTIME/./}
	rekey_out "$i" 1 "$g" host
	ip netns exec "${HOSTS[i]}" ping -q -i 1 -c 16 -I "$(host_inner "$i")" \
		"$(peer_inner 1)" >/dev/null 2>&1 &
	pid=$!
	sleep 3
	kill "$SPRAY_PID"
	wait "$SPRAY_PID"
	wait_rebind "$g" 15 "$i"
	log "forged SPI winning host $i's pair: ${LATE[*]:-rebound}; contested $(ipsecnat_counter contested), host $i XfrmInNoStates $(xfrm_stat "${HOSTS[i]}" XfrmInNoStates)"
	[ ${#LATE[@]} -eq 0 ] || STORM_BAD+=" forged SPI winning host $i's pair: not rebound within 15 s;"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for h in "${hosts[@]}"; do others+=("${HOSTS[h]}"); done
	check_no_misdelivery "${others[@]}" "${PEERS[@]}"
	tunnel_ping "$i" 1 3 || STORM_BAD+=" host $i: pings lost after the forged pair;"
}
for r in 1 2 3; do forged_pair_round $((N + 1)); done
[ -z "$STORM_BAD" ] || fail "$STORM_BAD"
echo "PASS"
