#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An inbound SA learned before its host's outbound one (here a static SPI;
# also a peer-first rekey with one host, a forward, a peer's IKE rekey) is
# already paired: the host's next outbound SA must not claim the slot.
# Otherwise, while host 1 keeps sending, the next unknown SPI the peer sends
# to host 2 would be taken as host 1's and delivered to it.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping

gw_with_tunnels 2 1

log "host 1: new inbound SPI bound statically first, then its new outbound SA"
ip netns exec "$GW" ipsecnat add dir in host "$(host_addr 1)" peer "$(peer_addr 1)" \
	pub "$PUB" spi "$(spi_in 1 1 2)" static >/dev/null || fail "static SA"
tunnel_rekey 1 1 2 host
busywait 10000 tunnel_ping 1 1 || fail "host 1 after its rekey"
[ "$(sa_packets_in 1 1 2)" -ge 1 ] || fail "host 1 did not receive on its new SA"

# host 1 keeps sending on its new SA throughout
ip netns exec "${HOSTS[1]}" ping -q -i 0.2 -I "$(host_inner 1)" "$(peer_inner 1)" >/dev/null 2>&1 &
BG_PIDS+=($!)

log "peer-first rekey for host 2: host 1's new outbound SA must not take it"
tunnel_rekey 2 1 2 peer
busywait 10000 peer_ping 1 2 || fail "peer -> host 2 after its peer-first rekey"
check_no_misdelivery "${HOSTS[1]}"
busywait 10000 tunnel_ping 2 1 || fail "host 2 after the peer's rekey"
busywait 10000 peer_ping 1 2 || fail "peer -> host 2 after host 2 spoke"
[ "$(sa_packets_in 2 1 2)" -ge 1 ] || fail "host 2 did not receive on its new SA"
check_no_misdelivery
ip netns exec "$GW" ipsecnat show spi "$(spi_out 1 1 2)" | grep -q ' established ' ||
	fail "host 1's new outbound SA is not established: $(ip netns exec "$GW" ipsecnat show)"
echo "PASS"
