#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# L2TP over IPsec transport mode, the scenario of the original article: two
# clients behind the gateway to one L2TP/IPsec server (strongSwan, xl2tpd,
# pppd on each side), each with a PPP session pinging through.
#
# Behind one public address the server's own transport-mode policies cannot
# tell the clients apart: both are A[udp/1701] <-> S[udp/1701] (its kernel
# keeps one policy for the two SAs). That is shown first. With a pool of two
# public addresses ipsecnat gives each client its own, with IKE and NAT-T
# ports preserved, and both sessions work.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_ike.sh"
require_cmd iptables conntrack ping python3
require_l2tp

load_module
topo_init 2 1
gw_pool_addrs 2
gw_masquerade
PUB2=203.0.113.2
SRV=$(peer_addr 1)
S=${PEERS[1]}

log "one address: the server's transport-mode policies cannot tell the clients apart"
gw_ipsecnat --preserve-ike --preserve-natt
l2tp_server 1
l2tp_up() { # l2tp_up I: IPsec, then L2TP and PPP, for client I
	l2tp_client "$1" 1
	swan_up_l2tp "$1" || fail "client $1: IPsec failed: $(tail -3 "$SWAN_DIR/client$1/initiate.log")"
	xl2tpd_start "${HOSTS[$1]}" "client$1"
	busywait 30000 ppp_up "${HOSTS[$1]}" ||
		fail "client $1: PPP did not come up: $(tail -n 3 "$SWAN_DIR/client$1/xl2tpd.log" | tr '\n' ' ')"
}
ppp_ping() { # ppp_ping I: client I and the server ping each other over PPP
	ip netns exec "${HOSTS[$1]}" ping -q -c 2 -i 0.2 -W 2 10.3.0.1 >/dev/null &&
		ip netns exec "$S" ping -q -c 2 -i 0.2 -W 2 "$(ppp_addr "${HOSTS[$1]}")" >/dev/null
}
l2tp_up 1
ppp_ping 1 || fail "one address, client 1 alone: no ping over PPP"
l2tp_up 2
sas=$(swan server --list-sas 2>&1)
[ "$(grep -c 'INSTALLED, TRANSPORT' <<<"$sas")" = 2 ] ||
	fail "one address: the server does not have both clients' transport SAs:" \
		"$(grep -E 'ESTABLISHED|CONNECTING|INSTALLED|REKEY|DELET|error' <<<"$sas" | tr -s ' \n' ' ')"
policies=$(ip -n "$S" xfrm policy list dir out | grep -c "src $SRV/32 dst $PUB/32 proto udp sport 1701")
[ "$policies" = 1 ] || fail "one address: server has $policies L2TP policies toward $PUB, expected 1:" \
	"$(ip -n "$S" xfrm policy list dir out | grep -E '^src' | tr '\n' ' ')"
log "the server's kernel has one policy for both clients' SAs: its L2TP for both goes into one"
ppp_ping 1 && ppp_ping 2 && fail "one address: both PPP sessions work"
check_no_misdelivery "${HOSTS[@]}" "$S"

# start over: daemons, PPP, SAs, bindings
for ns in "$S" "${HOSTS[@]}"; do
	busywait 20000 ns_emptied "$ns" || fail "daemons in $ns do not stop: $(ns_procs "$ns")"
	ip -n "$ns" xfrm state flush
	ip -n "$ns" xfrm policy flush
done
ip netns exec "$GW" iptables -t mangle -F
ip netns exec "$GW" ipsecnat flush >/dev/null
ip netns exec "$GW" conntrack -F 2>/dev/null

log "two addresses: each client bound to its own"
gw_ipsecnat --to-source "$PUB-$PUB2" --preserve-ike --preserve-natt
l2tp_server 1
l2tp_up 1
l2tp_up 2
peer_ike_sas server 2>/dev/null
for i in 1 2; do
	log "client $i: PPP $(ppp_addr "${HOSTS[i]}")"
	ppp_ping "$i" || fail "client $i: no ping over PPP with two addresses"
done
check_no_misdelivery "${HOSTS[@]}" "$S"
ip netns exec "$GW" ipsecnat show
[ "$(ip netns exec "$GW" ipsecnat -j show dir ike | grep -o '"pub":"[0-9.]*"' | sort -u | wc -l)" = 2 ] ||
	fail "clients do not have one public address each"
echo "PASS"
