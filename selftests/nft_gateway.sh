#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A pure-nftables gateway: no iptables binary runs in this test (a stand-in
# on PATH would say so). The ruleset is the usual stateful one (inet filter
# forward chain, policy drop, established/related and LAN to WAN accepted)
# with ip nat "oifname wan0 masquerade"; ipsecnat comes from a nat rule of
# the module, "ipsecnat nat add dev wan0", the IPSECNAT iptables rule
# without iptables.
# - Baseline: with masquerade alone host 2's tunnel to the peer is dead.
# - With the nat rule every host's tunnel (3 hosts, one peer, one public
#   address) carries pings both ways, and nobody gets another's ESP.
# - Reloading the ruleset ("flush ruleset" first, as nftables.conf does)
#   leaves the nat rule and the tunnels working.
# - The CLI's errors (a bad range, a second rule for an interface, the
#   17th rule, deleting a missing rule) and the kernel's own checks (by
#   the kernel's YNL client, bypassing the tool's) say what is wrong.
# - nat del removes the rule; a namespace that goes with rules is clean.
source "$(dirname "$0")/lib.sh"
require_cmd nft ping ipsecnat

# any iptables the test (or a helper) ran would leave its name here
GUARD=$(mktemp -d /tmp/nft_gateway.XXXXXX)
cleanup_extra() { rm -rf "$GUARD"; }
for t in iptables iptables-nft iptables-legacy iptables-restore iptables-nft-restore \
	iptables-legacy-restore iptables-save ip6tables xtables-nft-multi xtables-legacy-multi; do
	printf '#!/bin/sh\necho "%s $*" >>%s/used\nexit 1\n' "$t" "$GUARD" >"$GUARD/$t"
	chmod +x "$GUARD/$t"
done
export PATH=$GUARD:$PATH
no_iptables() {
	[ ! -e "$GUARD/used" ] || fail "iptables was run: $(cat "$GUARD/used")"
}

gw() { ip netns exec "$GW" "$@"; }

# the ruleset, loaded whole as /etc/nftables.conf would be
gw_nft() {
	gw nft -f - <<'EOF_NFT' || fail "nft -f"
flush ruleset
table inet filter {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "br0" oifname "wan0" accept
	}
}
table ip nat {
	chain postrouting {
		type nat hook postrouting priority srcnat;
		oifname "wan0" masquerade
	}
}
EOF_NFT
}

# counts I: "in out", ESP host I received from peer 1 and the peer from it
counts() { echo "$(sa_packets_in "$1" 1) $(peer_sa_packets_in "$1" 1)"; }

# both_ways I: pings host I -> peer 1 and peer 1 -> host I, each received
# by the other end's SA (xfrm counters grow by at least the pings)
both_ways() {
	local i=$1 b a
	read -ra b <<<"$(counts "$i")"
	tunnel_ping "$i" 1 3 || fail "host $i -> peer 1: pings lost"
	peer_ping 1 "$i" 3 || fail "peer 1 -> host $i: pings lost"
	read -ra a <<<"$(counts "$i")"
	log "host $i: inbound SA ${b[0]:-0} -> ${a[0]:-0} packets, peer's SA ${b[1]:-0} -> ${a[1]:-0}"
	[ "${a[0]:-0}" -ge $((${b[0]:-0} + 3)) ] || fail "host $i's inbound SA got too few packets"
	[ "${a[1]:-0}" -ge $((${b[1]:-0} + 3)) ] || fail "the peer's SA of host $i got too few packets"
}

# nat_empty: nat show lists no rule, as text and as JSON
nat_empty() {
	[ "$(gw ipsecnat nat show | wc -l)" = 1 ] && [ "$(gw ipsecnat -j nat show)" = "[]" ]
}

load_module
topo_init 3 1
gw_nft
gw nft list ruleset | grep -q 'oifname "wan0" masquerade' || fail "ruleset not loaded"
nat_empty || fail "nat rules before any was added: $(gw ipsecnat nat show)"
for i in 1 2 3; do tunnel_add "$i" 1; done

# (no ping from the peer first: its ESP to the public address would make a
# conntrack entry that host 1's masqueraded ESP then clashes with)
log "baseline: masquerade alone"
busywait 10000 tunnel_ping 1 1 || fail "host 1 tunnel does not work with masquerade"
for _ in 1 2 3; do
	tunnel_ping 2 1 && fail "host 2 tunnel works with plain masquerade: baseline broken"
done
command -v conntrack >/dev/null && log "conntrack insert_failed $(ct_stat "$GW" insert_failed)"

log "ipsecnat nat add dev wan0"
gw ipsecnat nat add dev wan0 || fail "nat add"
out=$(gw ipsecnat nat show)
echo "$out"
grep -Eq '^wan0 +interface-address +-$' <<<"$out" || fail "nat show: $out"
out=$(gw ipsecnat -j nat show)
[ "$out" = '[{"dev":"wan0","preserve_ike":false,"preserve_natt":false}]' ] ||
	fail "nat -j show: $out"
for i in 1 2 3; do
	busywait 15000 tunnel_ping "$i" 1 || fail "host $i tunnel with the nat rule"
done
for i in 1 2 3; do both_ways "$i"; done
check_no_misdelivery
if command -v conntrack >/dev/null; then
	[ "$(ct_esp_entries)" = 3 ] || fail "conntrack shows $(ct_esp_entries) ESP entries, expected 3"
fi
expect_counter out_translated -gt 0
expect_counter in_translated -gt 0

log "the ruleset reloaded (flush ruleset): the nat rule stays"
gw_nft
gw nft list ruleset | grep -qi ipsecnat && fail "the nat rule shows in the nft ruleset"
gw ipsecnat nat show | grep -Eq '^wan0 ' || fail "flush ruleset removed the nat rule"
for i in 1 2 3; do both_ways "$i"; done
check_no_misdelivery

log "errors"
# check_err RC PATTERN CMD...: CMD exits RC and says PATTERN on stderr, nothing on stdout
check_err() {
	local rc=$1 pat=$2 out err got
	shift 2
	out=$("$@" 2>"$GUARD/err")
	got=$?
	err=$(cat "$GUARD/err")
	log "$* -> exit $got: $err"
	[ "$got" = "$rc" ] || fail "$*: exit $got, expected $rc ($err)"
	grep -q "^Error: .*$pat" <<<"$err" || fail "$*: message \"$err\" lacks \"$pat\""
	[ -z "$out" ] || fail "$*: printed \"$out\""
}
check_err 1 "this interface has a nat rule already" gw ipsecnat nat add dev wan0
check_err 1 "this interface has a nat rule already" gw ipsecnat nat add dev wan0 preserve-ike
check_err 2 "runs backwards" gw ipsecnat nat add dev wan1 to-source 203.0.113.9-203.0.113.2
check_err 2 "more than 65536" gw ipsecnat nat add dev wan1 to-source 10.0.0.0-10.1.0.0
check_err 2 "loopback" gw ipsecnat nat add dev wan1 to-source 127.0.0.1
check_err 2 "longer than 15" gw ipsecnat nat add dev wan0123456789abc
check_err 2 "needs dev" gw ipsecnat nat add preserve-ike
check_err 1 "no nat rule on this interface" gw ipsecnat nat del dev wan9
check_err 1 "no nat rule on this interface" gw ipsecnat -j nat del dev wan9
for ((n = 1; n <= 15; n++)); do
	gw ipsecnat nat add dev "wan$n" to-source "203.0.113.$((n + 10))" preserve-natt ||
		fail "nat rule $((n + 1)) of 16"
done
check_err 1 "too many nat rules" gw ipsecnat nat add dev wan16
[ "$(gw ipsecnat nat show | wc -l)" = 17 ] || fail "16 rules: $(gw ipsecnat nat show)"
gw ipsecnat nat show | grep -Eq '^wan7 +203\.0\.113\.17 +preserve-natt$' ||
	fail "nat show of wan7: $(gw ipsecnat nat show)"
for ((n = 1; n <= 15; n++)); do gw ipsecnat nat del dev "wan$n" || fail "nat del wan$n"; done
[ "$(gw ipsecnat nat show | wc -l)" = 2 ] || fail "after deleting 15: $(gw ipsecnat nat show)"
tunnel_ping 2 1 3 || fail "host 2 after the other rules came and went"

# the kernel's own checks, without the tool's in front of them
proj=$(cd "$(dirname "$0")/.." && pwd)
cli=$proj/build/ynl/tools/net/ynl/cli.py
if [ -r "$cli" ] && python3 -c 'import yaml' 2>/dev/null; then
	# shellcheck disable=SC2086 # split on the dots
	ip2int() { local IFS=.; set -- $1; echo $(( ($1 << 24) + ($2 << 16) + ($3 << 8) + $4 )); }
	# ynl_err PATTERN JSON: nat-add of JSON fails, saying PATTERN
	ynl_err() {
		local out
		out=$(gw python3 "$cli" --spec "$proj/kmod/uapi/ipsecnat.yaml" --no-schema \
			--do nat-add --json "$2" 2>&1) && fail "nat-add $2 succeeded"
		log "nat-add $2: $(tr '\n' ' ' <<<"$out" | tail -c 300)"
		grep -q "$1" <<<"$out" || fail "nat-add $2: no \"$1\" in: $out"
	}
	hi=$(ip2int 203.0.113.9) lo=$(ip2int 203.0.113.2) big=$(ip2int 10.1.0.0) z=$(ip2int 10.0.0.0)
	ynl_err "bad to-source range" "{\"nat\": {\"ifname\": \"wan1\", \"flags\": 1, \"min-addr\": $hi, \"max-addr\": $lo}}"
	ynl_err "bad to-source range" "{\"nat\": {\"ifname\": \"wan1\", \"flags\": 1, \"min-addr\": 0, \"max-addr\": $lo}}"
	ynl_err "pool larger than 65536" "{\"nat\": {\"ifname\": \"wan1\", \"flags\": 1, \"min-addr\": $z, \"max-addr\": $big}}"
	ynl_err "unknown flags" '{"nat": {"ifname": "wan1", "flags": 8}}'
	ynl_err "go with the to-source flag" "{\"nat\": {\"ifname\": \"wan1\", \"min-addr\": $hi, \"max-addr\": $hi}}"
	ynl_err "go with the to-source flag" '{"nat": {"ifname": "wan1", "flags": 1}}'
	# the policy refuses it and says its limit
	ynl_err "max-length': 15" '{"nat": {"ifname": "wan0123456789abc"}}'
	ynl_err "no interface name" '{"nat": {"ifname": "a/b"}}'
	ynl_err "needs ifname" '{"nat": {"flags": 2}}'
	ynl_err "this interface has a nat rule already" '{"nat": {"ifname": "wan0"}}'
	# replace: the interface's rule changes in place
	gw python3 "$cli" --spec "$proj/kmod/uapi/ipsecnat.yaml" --no-schema --do nat-add \
		--json '{"nat": {"ifname": "wan0", "flags": 6}, "replace": true}' >/dev/null ||
		fail "nat-add with replace"
	out=$(gw ipsecnat -j nat show)
	[ "$out" = '[{"dev":"wan0","preserve_ike":true,"preserve_natt":true}]' ] ||
		fail "after replace: $out"
	for i in 1 2 3; do both_ways "$i"; done
else
	log "no YNL client in build/ynl: the kernel's checks untested here"
fi

log "ipsecnat nat del dev wan0"
gw ipsecnat nat del dev wan0 || fail "nat del"
nat_empty || fail "nat show after del: $(gw ipsecnat nat show)"
check_err 1 "no nat rule on this interface" gw ipsecnat nat del dev wan0

log "a namespace that goes away with nat rules"
setup_ns X
for d in eth0 eth1 'wan+'; do
	ip netns exec "$X" ipsecnat nat add dev "$d" || fail "nat add $d in a spare namespace"
done
ip netns del "$X"
no_iptables
echo "PASS"
