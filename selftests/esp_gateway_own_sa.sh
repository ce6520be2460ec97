#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The gateway terminates its own tunnels to peer 1 on its public address
# while inside hosts run ESP to the same peer through it: neither disturbs
# the other. One of the gateway's inbound SAs is marked (as VTI makes them),
# which the module's cheap unmarked xfrm lookup misses: the learning path
# must still leave it alone. Then a gateway with thousands of SAs of its own
# takes a spray of new SPIs: the walks that look for marked SAs are paced
# (local_spi_paced), and every tunnel still works.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping

load_module
topo_init 2 1
# the usual rule of an IPsec gateway: its own tunnelled traffic is not NATed
ip netns exec "$GW" iptables -t nat -A POSTROUTING -m policy --dir out --pol ipsec -j ACCEPT
gw_masquerade
gw_ipsecnat
tunnel_add 1 1
tunnel_add 2 1

P=${PEERS[1]} PA=$(peer_addr 1) PI=$(peer_inner 1) GI=10.3.0.1 GM=10.3.0.2
# gw_tunnel ADDR SPI_OUT SPI_IN REQID [MARK]: the gateway's own tunnel from
# its address ADDR to the peer's inner one; its inbound state marked MARK
gw_tunnel() {
	local a=$1 o=$2 i=$3 r=$4 m=${5:-}
	ip -n "$GW" addr add "$a/32" dev lo
	xfrm_sa "$GW" "$PUB" "$PA" "$o" "$r" tunnel
	if [ -n "$m" ]; then
		ip -n "$GW" xfrm state add src "$PA" dst "$PUB" proto esp spi "$i" reqid "$r" \
			mode tunnel mark "$m" aead 'rfc4106(gcm(aes))' "$KEY" 128 ||
			fail "marked xfrm state"
	else
		xfrm_sa "$GW" "$PA" "$PUB" "$i" "$r" tunnel
	fi
	xfrm_sa "$P" "$PUB" "$PA" "$o" "$r" tunnel
	xfrm_sa "$P" "$PA" "$PUB" "$i" "$r" tunnel
	ip -n "$GW" xfrm policy add src "$a/32" dst "$PI/32" dir out \
		tmpl src "$PUB" dst "$PA" proto esp reqid "$r" mode tunnel
	ip -n "$GW" xfrm policy add src "$PI/32" dst "$a/32" dir in \
		tmpl src "$PA" dst "$PUB" proto esp reqid "$r" mode tunnel
	ip -n "$P" xfrm policy add src "$PI/32" dst "$a/32" dir out \
		tmpl src "$PA" dst "$PUB" proto esp reqid "$r" mode tunnel
	ip -n "$P" xfrm policy add src "$a/32" dst "$PI/32" dir in \
		tmpl src "$PUB" dst "$PA" proto esp reqid "$r" mode tunnel
}
gw_tunnel $GI 0x30000001 0x30000002 9999
# the marked one: its inbound state matches only packets marked 7 (after the
# module's hook, which runs before mangle)
gw_tunnel $GM 0x30000003 0x30000004 9998 7
ip netns exec "$GW" iptables -t mangle -A PREROUTING -p esp -s "$PA" -m esp --espspi 0x30000004 \
	-j MARK --set-mark 7

gw_ping() { ip netns exec "$GW" ping -q -c "${1:-1}" -i 0.2 -W 1 -I "${2:-$GI}" "$PI" >/dev/null 2>&1; }
all_ping() { # all_ping N: every tunnel, N pings each, all at once
	local p pids=()
	gw_ping "$1" & pids+=($!)
	gw_ping "$1" $GM & pids+=($!)
	for i in 1 2; do tunnel_ping "$i" 1 "$1" & pids+=($!); done
	for p in "${pids[@]}"; do wait "$p" || return 1; done
}
busywait 10000 gw_ping || fail "gateway's own tunnel does not work"
busywait 10000 gw_ping 1 $GM || fail "gateway's own marked tunnel does not work"
for i in 1 2; do busywait 15000 tunnel_ping "$i" 1 || fail "host $i tunnel"; done
all_ping 5 || fail "pings lost with the gateway's own SAs"
expect_counter local_spi -ge 10

log "8192 more SAs of the gateway's own, then a spray of new SPIs from the peer"
python3 -c '
import sys
for i in range(8192):
    print(f"xfrm state add src 192.0.2.1 dst 192.0.2.2 proto esp spi {0x40000000 + i} mode tunnel"
          f" aead rfc4106(gcm(aes)) {sys.argv[1]} 128")' "$KEY" |
	ip -n "$GW" -batch - || fail "adding 8192 xfrm states"
# one packet per SPI, sequence numbers past a new SA's: each replaces the
# last in the stranger table, so without pacing each would be a walk
ip netns exec "$P" python3 "$(dirname "$0")/tools/espsend.py" "$PUB" --count 6000 --len 64
log "gateway: $(learn_counters); local_spi_paced $(ipsecnat_counter local_spi_paced)"
expect_counter local_spi_paced -ge 1
busywait 15000 all_ping 2 || fail "a tunnel does not work after the spray"
HOSTS+=("$GW")	# the gateway must not have received foreign ESP either
check_no_misdelivery
echo "PASS"
