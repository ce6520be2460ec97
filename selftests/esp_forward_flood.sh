#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Forward flood: host 1 is an inside server behind an ESP forward; its real
# client, peer 1, has static tunnels to it and pings both ways. Three WAN
# namespaces send unknown SPIs to the public address, 200 a second each:
# one from its own address, one from random forged sources (a /26), one
# forged as the client itself. Meanwhile the client rekeys (peer first, as
# the initiator does) and must carry traffic both ways on its new SAs
# within 15 s; after the flood a second client (peer 2) must reach the
# server. The server's cap (max_sas_per_host) and max_sas are never hit,
# and the gateway's SAs stay bounded (the legitimate ones + SLACK).
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping python3 ipsecnat

RATE=200
COUNT=3000		# per forger: 15 s at RATE
SLACK=64
cleanup_extra() { log_gw_counters; }

load_module
topo_init 1 2
gw_masquerade
gw_ipsecnat
tunnel_add 1 1
ip netns exec "$GW" ipsecnat forward add pub "$PUB" server "$(host_addr 1)" || fail "forward add"
busywait 15000 peer_ping 1 1 || fail "client 1 cannot reach the server through the forward"
tunnel_ping 1 1 3 || fail "server -> client 1"
bg_pings 1
ip netns exec "$GW" ipsecnat get | sed 's/^/# /'

extra_ns F1 wan "$PEER_PREFIX.201"
extra_ns F2 wan "$PEER_PREFIX.202"
extra_ns F3 wan "$PEER_PREFIX.203"
tx0=$(tx_packets "$F1")
esp_spray "$F1" "$PUB" --count $COUNT --rate $RATE
p1=$SPRAY_PID
esp_spray "$F2" "$PUB" --src "$PEER_PREFIX.128/26" --count $COUNT --rate $RATE
p2=$SPRAY_PID
esp_spray "$F3" "$PUB" --src "$(peer_addr 1)" --count $COUNT --rate $RATE
p3=$SPRAY_PID
flooded() { [ $(($(tx_packets "$F1") - tx0)) -ge $((RATE * 5)) ]; }
busywait 20000 flooded || fail "the forgers do not send"
log "5 s into the flood: sas $(ipsecnat_counter sas) forwarded $(ipsecnat_counter forwarded) cap_host $(ipsecnat_counter cap_host)"

bad=""
rekey_storm 2 batch peer 1
wait_rebind 2 15 1 || bad+=" client 1 did not rebind within 15 s of its rekey during the flood;"
log "client 1 rekey during the flood: $((1 - ${#LATE[@]}))/1 rebound, slowest after $REBIND_S s"
wait "$p1" "$p2" "$p3"
log "after the flood: sas $(ipsecnat_counter sas) forwarded $(ipsecnat_counter forwarded) cap_host $(ipsecnat_counter cap_host) cap_netns $(ipsecnat_counter cap_netns)"

tunnel_ping 1 1 3 || bad+=" server -> client 1 pings lost after the flood;"
peer_ping 1 1 3 || bad+=" client 1 -> server pings lost after the flood;"
tunnel_add 1 2
if busywait 15000 peer_ping 2 1; then
	tunnel_ping 1 2 3 || bad+=" server -> client 2 pings lost;"
else
	bad+=" a new client (peer 2) cannot reach the server after the flood;"
fi
legit=6			# client 1: 2 generations, client 2: 1; in and out each
sas=$(ipsecnat_counter sas)
[ "$sas" -le $((legit + SLACK)) ] || bad+=" $sas SAs on the gateway, more than $legit legitimate + $SLACK;"
for c in cap_host cap_netns; do
	v=$(ipsecnat_counter $c)
	[ "$v" = 0 ] || bad+=" $c=$v (SAs refused);"
done
log "server XfrmInNoStates (forged SPIs forwarded to it): $(xfrm_stat "${HOSTS[1]}" XfrmInNoStates)"
check_no_misdelivery "${PEERS[@]}"
[ -z "$bad" ] || fail "$bad"
echo "PASS"
