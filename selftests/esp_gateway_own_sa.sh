#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The gateway terminates its own tunnel to peer 1 on its public address while
# inside hosts run ESP to the same peer through it: neither disturbs the other.
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

P=${PEERS[1]} PA=$(peer_addr 1) PI=$(peer_inner 1) GI=10.3.0.1
ip -n "$GW" addr add $GI/32 dev lo
xfrm_sa "$GW" "$PUB" "$PA" 0x30000001 9999 tunnel
xfrm_sa "$GW" "$PA" "$PUB" 0x30000002 9999 tunnel
xfrm_sa "$P" "$PUB" "$PA" 0x30000001 9999 tunnel
xfrm_sa "$P" "$PA" "$PUB" 0x30000002 9999 tunnel
ip -n "$GW" xfrm policy add src $GI/32 dst "$PI/32" dir out tmpl src "$PUB" dst "$PA" proto esp reqid 9999 mode tunnel
ip -n "$GW" xfrm policy add src "$PI/32" dst $GI/32 dir in tmpl src "$PA" dst "$PUB" proto esp reqid 9999 mode tunnel
ip -n "$P" xfrm policy add src "$PI/32" dst $GI/32 dir out tmpl src "$PA" dst "$PUB" proto esp reqid 9999 mode tunnel
ip -n "$P" xfrm policy add src $GI/32 dst "$PI/32" dir in tmpl src "$PUB" dst "$PA" proto esp reqid 9999 mode tunnel

gw_ping() { ip netns exec "$GW" ping -q -c "${1:-1}" -i 0.2 -W 1 -I $GI "$PI" >/dev/null 2>&1; }
busywait 10000 gw_ping || fail "gateway's own tunnel does not work"
for i in 1 2; do busywait 15000 tunnel_ping "$i" 1 || fail "host $i tunnel"; done
pids=()
gw_ping 5 & pids+=($!)
for i in 1 2; do tunnel_ping "$i" 1 5 & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "pings lost with the gateway's own SA"; done
expect_counter local_spi -ge 5
HOSTS+=("$GW")	# the gateway must not have received foreign ESP either
check_no_misdelivery
echo "PASS"
