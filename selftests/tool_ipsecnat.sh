#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The ipsecnat command on a live gateway: show (table, filters, JSON checked
# against what the hosts really did), stats, get/set (a short timeout really
# expires a binding), del, flush; refused for an unprivileged user and for
# a user namespace without CAP_NET_ADMIN over the gateway's namespace;
# malformed, oversized and unknown attributes refused with messages; the
# command line (--help, --version, exit 2 for usage errors, nothing on stdout
# after an error with -j); monitor timestamps; forward -j show; the iptables
# extension's -L/-S output and its refusal of bad --to-source addresses.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping python3 setpriv unshare ipsecnat

gw_with_tunnels 2 1
for i in 1 2; do tunnel_ping "$i" 1 4 || fail "host $i pings"; done
gw() { ip netns exec "$GW" "$@"; }

log "show"
out=$(gw ipsecnat show) || fail "ipsecnat show failed"
echo "$out"
[ "$(echo "$out" | grep -c established)" = 4 ] || fail "show lists $(echo "$out" | grep -c established) established SAs, expected 4"
echo "$out" | head -1 | grep -q 'HOST .*PEER .*PUBLIC .*SPI' || fail "show has no header"
[ "$(gw ipsecnat show host "$(host_addr 1)" | grep -c "$(host_addr 1)")" = 2 ] || fail "host filter"
[ "$(gw ipsecnat show dir in | grep -c '^in ')" = 2 ] || fail "dir filter"
spi=$(spi_out 2 1)
[ "$(gw ipsecnat show spi "$spi" | grep -c "$spi")" = 1 ] || fail "spi filter"
# the 16-digit form of an ike row: no IKE here, so only the header
[ "$(gw ipsecnat show spi 0x0123456789abcdef | wc -l)" = 1 ] || fail "IKE spi filter"

log "show -j, compared with the hosts' own SAs"
gw ipsecnat -j show >"/tmp/sas.$$.json" || fail "ipsecnat -j show"
for i in 1 2; do
	python3 - "/tmp/sas.$$.json" "$(host_addr "$i")" "$(spi_out "$i" 1)" "$(spi_in "$i" 1)" \
		"$(sa_packets_in "$i" 1)" "$PUB" <<'PY' || fail "JSON does not match host $i"
import json, sys
path, host, spi_out, spi_in, pkts_in, pub = sys.argv[1:]
sas = [s for s in json.load(open(path)) if s["host"] == host]
got = {(s["dir"], int(s["spi"], 16)) for s in sas}
assert got == {("out", int(spi_out, 16)), ("in", int(spi_in, 16))}, got
assert all(s["pub"] == pub and s["state"] == "established" for s in sas), sas
inbound = [s for s in sas if s["dir"] == "in"][0]
assert inbound["packets"] == int(pkts_in), (inbound["packets"], pkts_in)
PY
done
rm -f "/tmp/sas.$$.json"

log "stats"
gw ipsecnat -j stats | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["sas"] == 4 and sum(d[k] for k in ("learned", "learned_pair", "learned_ike", "rekey_peer")) == 2, d' ||
	fail "stats JSON wrong: $(gw ipsecnat -j stats)"
gw ipsecnat stats | awk '$1 ~ /^(learned|learned_pair|learned_ike|rekey_peer)$/ { s += $2 } END { exit s != 2 }' ||
	fail "stats table wrong"

log "refused without CAP_NET_ADMIN"
gw setpriv --reuid=65534 --regid=65534 --clear-groups ipsecnat show >/dev/null 2>&1 &&
	fail "an unprivileged user could dump bindings"
gw unshare --user --map-root-user ipsecnat stats >/dev/null 2>&1 &&
	fail "a user namespace without CAP_NET_ADMIN over the netns could read stats"
err=$(gw setpriv --reuid=65534 --regid=65534 --clear-groups ipsecnat flush 2>&1) &&
	fail "an unprivileged user could flush"
echo "$err" | grep -q 'CAP_NET_ADMIN' || fail "unclear refusal: $err"
for args in "-j show" "-j stats" "-j get" "export" "forward -j show" "-j forward show"; do
	out=$(gw setpriv --reuid=65534 --regid=65534 --clear-groups ipsecnat $args 2>/dev/null); rc=$?
	[ "$rc" = 1 ] && [ -z "$out" ] || fail "ipsecnat $args: exit $rc, \"$out\" on stdout after an error"
done

log "malformed, oversized, unknown attributes"
gw python3 "$(dirname "$0")/tools/genlbad.py" || fail "bad netlink requests not all refused"
err=$(gw ipsecnat set max-sas 0 2>&1); rc=$?
[ "$rc" = 1 ] && echo "$err" | grep -q '^Error:' || fail "set max-sas 0: exit $rc, \"$err\""

log "command line: help, version, usage errors exit 2 (failures exit 1, above)"
for h in -h --help help; do
	ipsecnat $h | grep -q '^Usage: ipsecnat' || fail "ipsecnat $h printed no usage on stdout"
done
[ "$(ipsecnat --version)" = "ipsecnat $(cat "$(dirname "$0")/../VERSION")" ] &&
	[ "$(ipsecnat -V)" = "$(ipsecnat --version)" ] || fail "ipsecnat --version: $(ipsecnat --version)"
err=$(gw ipsecnat bogus 2>&1 >/dev/null); rc=$?
[ "$rc" = 2 ] && echo "$err" | grep -q '^Error: unknown command "bogus"' ||
	fail "unknown command: exit $rc, \"$err\""
for args in "--bogus" "show host 10.0.1" "show spi xyz" "del spi 0x0123456789abcdef" \
	"set max-sas" "forward -j bogus"; do
	err=$(gw ipsecnat $args 2>&1 >/dev/null); rc=$?
	[ "$rc" = 2 ] && echo "$err" | grep -q '^Error: ' || fail "ipsecnat $args: exit $rc, \"$err\""
done

log "iptables -L and -S of the target; --to-source refused in userspace"
rules=$(gw iptables -t mangle -S POSTROUTING)
grep -qx -- '-A POSTROUTING -o wan0 -j IPSECNAT' <<<"$rules" || fail "iptables -S: $rules"
rules=$(gw iptables -t mangle -L POSTROUTING -n)
grep -q '^IPSECNAT .* to:interface-address$' <<<"$rules" && ! grep -qi masquerade <<<"$rules" ||
	fail "iptables -L: $rules"
setup_ns XT
xt() { ip netns exec "$XT" iptables -t mangle "$@"; }
xt -A POSTROUTING -j IPSECNAT --to-source 192.0.2.1-192.0.2.4 --preserve-ike || fail "pool rule"
[ "$(xt -S POSTROUTING | tail -n 1)" = "-A POSTROUTING -j IPSECNAT --to-source 192.0.2.1-192.0.2.4 --preserve-ike" ] ||
	fail "iptables -S of a pool: $(xt -S POSTROUTING)"
xt -L POSTROUTING -n | grep -q '^IPSECNAT .* to:192.0.2.1-192.0.2.4 preserve-ike$' ||
	fail "iptables -L of a pool: $(xt -L POSTROUTING -n)"
for bad in "0.0.0.0 0.0.0.0/8" "0.0.0.0-192.0.2.1 0.0.0.0/8" "127.0.0.1 loopback" \
	"255.255.255.255 broadcast" "192.0.2.9-192.0.2.1 runs backwards" "192.0.2 not an IPv4" \
	"10.0.0.0-10.1.0.0 larger than 65536"; do
	err=$(xt -A POSTROUTING -j IPSECNAT --to-source ${bad%% *} 2>&1); rc=$?
	[ "$rc" = 2 ] && grep -q -- "IPSECNAT: --to-source.*${bad#* }" <<<"$err" ||
		fail "--to-source ${bad%% *}: exit $rc, \"$err\""
done
[ "$(xt -S POSTROUTING | grep -c IPSECNAT)" = 1 ] || fail "a refused rule was added: $(xt -S POSTROUTING)"

log "monitor: every event line is timestamped (text and JSON)"
ip netns exec "$GW" ipsecnat monitor >"/tmp/mon.$$" 2>&1 &
BG_PIDS+=($!)
ip netns exec "$GW" ipsecnat -j monitor >"/tmp/monj.$$" 2>&1 &
BG_PIDS+=($!)
cleanup_extra() { rm -f "/tmp/mon.$$" "/tmp/monj.$$"; }

log "set/get: a short established timeout expires idle bindings"
gw ipsecnat set established-timeout 1 pending-timeout 1 || fail "set"
gw ipsecnat -j get | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["established-timeout"] == 1 and d["pending-timeout"] == 1, d' ||
	fail "get does not show the new settings"
gw conntrack -D -p 50 >/dev/null 2>&1
sas_zero() { [ "$(ipsecnat_counter sas)" = 0 ]; }
busywait 10000 sas_zero || fail "bindings did not expire after the timeout change"
gw ipsecnat set established-timeout 600 pending-timeout 30

log "del with a filter, then flush"
for i in 1 2; do busywait 15000 tunnel_ping "$i" 1 || fail "host $i tunnel after expiry"; done
gw ipsecnat del host "$(host_addr 2)" | grep -q 'deleted 2 SAs' || fail "del host"
[ "$(gw ipsecnat show | grep -c "$(host_addr 2)")" = 0 ] || fail "host 2 still listed"
[ "$(gw ipsecnat show | grep -c "$(host_addr 1)")" = 2 ] || fail "host 1 lost by del host 2"
busywait 15000 tunnel_ping 2 1 || fail "host 2 did not bind again after del"
gw ipsecnat flush | grep -q 'deleted 4 SAs' || fail "flush"
sas_zero || fail "SAs left after flush"

log "monitor lines carry a timestamp"
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{4}'
mon_deleted() { grep -Eq "^$ts \[deleted\] " "/tmp/mon.$$" && grep -q '"event":"deleted"' "/tmp/monj.$$"; }
busywait 5000 mon_deleted || fail "monitor shows no timestamped deleted event"
cat "/tmp/mon.$$"
grep -Evq "^$ts \[[a-z]+\] (out|in|ike) host " "/tmp/mon.$$" && fail "a monitor line without a timestamp"
python3 - "/tmp/monj.$$" <<'PY' || fail "JSON events lack a time: $(head -n 3 "/tmp/monj.$$")"
import json, re, sys
events = [json.loads(line) for line in open(sys.argv[1])]
assert events and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}", e["time"])
                      and e["event"] and e["sa"]["dir"] for e in events), events
PY

log "forward -j show"
[ "$(gw ipsecnat forward -j show)" = "[]" ] || fail "forward -j show: $(gw ipsecnat forward -j show 2>&1)"
gw ipsecnat forward add pub "$PUB" server "$(host_addr 1)" || fail "forward add"
gw ipsecnat forward -j show | python3 -c 'import json, sys; assert json.load(sys.stdin) == [{"pub": sys.argv[1], "server": sys.argv[2]}]' \
	"$PUB" "$(host_addr 1)" || fail "forward -j show: $(gw ipsecnat forward -j show 2>&1)"
[ "$(gw ipsecnat -j forward show)" = "$(gw ipsecnat forward -j show)" ] || fail "-j forward show differs"
gw ipsecnat forward del pub "$PUB" || fail "forward del"
check_no_misdelivery
echo "PASS"
