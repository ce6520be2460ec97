#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# NAT-keepalives (a single 0xff byte on port 4500) with ports preserved:
# outbound ones leave as A:4500 along with the host's binding; an inbound
# one goes to the only host talking to the peer through that address, and
# is dropped where two hosts share it. Three strongSwan hosts on a pool of
# two addresses: one address has one host, the other two.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_ike.sh"
require_cmd iptables conntrack ping python3
require_strongswan

N=3
load_module
topo_init $N 1
gw_pool_addrs 2
gw_masquerade
gw_ipsecnat --to-source "$PUB-203.0.113.2" --preserve-ike --preserve-natt
swan_peer 1
for ((i = 1; i <= N; i++)); do
	swan_host "$i" 1
	swan_up "$i" || fail "host $i: IKE failed"
	busywait 15000 tunnel_ping "$i" 1 || fail "host $i: no ping through its tunnel"
	peer_ping 1 "$i" 2 || fail "peer -> host $i: pings lost"
done
check_no_misdelivery
ip netns exec "$GW" ipsecnat show dir ike

log "show spi takes the 16-digit SPI an ike row shows"
spis=$(ip netns exec "$GW" ipsecnat show dir ike | awk 'NR > 1 { print $5 }')
[ -n "$spis" ] || fail "no ike rows"
for spi in $spis; do
	[ "$(ip netns exec "$GW" ipsecnat show spi "$spi" | awk 'NR > 1 { print $1, $5 }')" = "ike $spi" ] ||
		fail "show spi $spi: $(ip netns exec "$GW" ipsecnat show spi "$spi" 2>&1)"
done

# keepalive_count NS SRC: NAT-keepalives NS received from SRC:4500
keepalive_rule() {
	ip netns exec "$1" iptables -I INPUT -p udp -s "$2" --sport 4500 --dport 4500 \
		-m length --length 29 -j ACCEPT
}
keepalive_count() {
	ip netns exec "$1" iptables -nvxL INPUT |
		awk -v s="$2" '$3 == "ACCEPT" && $8 == s && /length 29/ { print $1; exit }'
}
# ... at least one: charon sends its own every 20 s beside the test's
keepalive_seen() { [ "$(keepalive_count "$1" "$2")" -ge 1 ] 2>/dev/null; }
nattsend() { ip netns exec "$1" python3 "$(dirname "$0")/tools/nattsend.py" "$2"; }

log "outbound: host 1's keepalive reaches the peer from its public address"
pub1=$(binding_pub 1 1)
keepalive_rule "${PEERS[1]}" "$pub1"
nattsend "${HOSTS[1]}" "$(peer_addr 1)"
busywait 5000 keepalive_seen "${PEERS[1]}" "$pub1" ||
	fail "the peer got no keepalive from $pub1:4500"

log "inbound: to the address with one host it is delivered, to the shared one dropped"
alone= shared=
for ((i = 1; i <= N; i++)); do
	p=$(binding_pub "$i" 1)
	n=$(for ((k = 1; k <= N; k++)); do binding_pub "$k" 1; done | grep -cx "$p")
	if [ "$n" = 1 ]; then alone=$i; else shared=$p; fi
done
[ -n "$alone" ] && [ -n "$shared" ] || fail "expected one address with one host and one with two"
alone_pub=$(binding_pub "$alone" 1)
keepalive_rule "${HOSTS[alone]}" "$(peer_addr 1)"
nattsend "${PEERS[1]}" "$alone_pub"
busywait 5000 keepalive_seen "${HOSTS[alone]}" "$(peer_addr 1)" ||
	fail "host $alone (alone on $alone_pub) got no keepalive"
for ((i = 1; i <= N; i++)); do
	[ "$i" = "$alone" ] || keepalive_rule "${HOSTS[i]}" "$(peer_addr 1)"
done
dropped=$(ipsecnat_counter keepalive_dropped)
nattsend "${PEERS[1]}" "$shared"
busywait 5000 counter_is keepalive_dropped -gt "$dropped" ||
	fail "a keepalive to the shared $shared was not dropped"
for ((i = 1; i <= N; i++)); do
	[ "$i" = "$alone" ] && continue
	[ "$(keepalive_count "${HOSTS[i]}" "$(peer_addr 1)")" = 0 ] || fail "host $i got a keepalive"
done
check_no_misdelivery
echo "PASS"
