#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Rekeys while traffic flows: new SAs on the inside host first, on the peer
# first, and on both at once. New SPIs are learned, nothing is misdelivered;
# a peer-first rekey is learned at once when the other host's traffic rules
# it out, and held while both hosts are idle until its host speaks.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping

load_module
topo_init 2 2
gw_masquerade
gw_ipsecnat
tunnel_add 1 1
tunnel_add 2 1
tunnel_add 1 2	# peer 2 has only host 1 behind the address
for p in "1 1" "2 1" "1 2"; do
	busywait 15000 tunnel_ping $p || fail "tunnel $p does not work"
done

# background traffic on host 2
ip netns exec "${HOSTS[2]}" ping -q -i 0.2 -I "$(host_inner 2)" "$(peer_inner 1)" >/dev/null 2>&1 &
bg2=$!
BG_PIDS+=($bg2)

log "inside-first rekey: host 1 uses its new outbound SA first"
tunnel_rekey 1 1 2 host
busywait 10000 tunnel_ping 1 1 || fail "host 1 after inside rekey"
[ "$(sa_packets_in 1 1 2)" -ge 1 ] || fail "host 1 did not receive on its new SA"
tunnel_del_gen 1 1 1
tunnel_ping 1 1 3 || fail "host 1 after old SAs removed"

log "peer-first rekey, one host behind the address: learned at once"
rk=$(ipsecnat_counter rekey_peer)
tunnel_rekey 1 2 2 peer
busywait 10000 peer_ping 2 1 || fail "peer 2 -> host 1 after peer rekey"
[ "$(ipsecnat_counter rekey_peer)" -gt "$rk" ] || fail "peer rekey not counted"
[ "$(sa_packets_in 1 2 2)" -ge 1 ] || fail "host 1 did not receive on its new SA from peer 2"

log "peer-first rekey, two hosts, host 2 busy: its traffic rules it out"
tunnel_rekey 1 1 3 peer
busywait 10000 peer_ping 1 1 || fail "peer -> host 1 after peer rekey (host 2 busy)"
[ "$(sa_packets_in 1 1 3)" -ge 1 ] || fail "host 1 did not receive on its new SA"
check_no_misdelivery

log "peer-first rekey, both hosts idle: held until host 1 speaks"
kill "$bg2"
sleep 1
amb=$(ipsecnat_counter ambiguous)
tunnel_rekey 1 1 4 peer
peer_ping 1 1 2 && fail "inbound SPI two idle hosts could own was delivered"
[ "$(ipsecnat_counter ambiguous)" -gt "$amb" ] || fail "ambiguous SPI not counted"
sleep 3	# host 1 speaks long after the peer's new SA began: its answer pairs
busywait 10000 tunnel_ping 1 1 || fail "host 1 after peer rekey"
busywait 10000 peer_ping 1 1 || fail "peer -> host 1 after peer rekey resolved"
[ "$(sa_packets_in 1 1 4)" -ge 1 ] || fail "host 1 did not receive on its newest SA"
ip netns exec "${HOSTS[2]}" ping -q -i 0.2 -I "$(host_inner 2)" "$(peer_inner 1)" >/dev/null 2>&1 &
BG_PIDS+=($!)

log "both at once: host 2 and peer 1 start new SAs together"
tunnel_rekey 2 1 2 host
tunnel_ping 2 1 3 & a=$!
peer_ping 1 2 3 & b=$!
wait $a
wait $b
busywait 10000 tunnel_ping 2 1 || fail "host 2 after simultaneous rekey"
busywait 10000 peer_ping 1 2 || fail "peer -> host 2 after simultaneous rekey"
[ "$(sa_packets_in 2 1 2)" -ge 1 ] || fail "host 2 did not receive on its new SA"

check_no_misdelivery
echo "PASS"
