#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# ipsecnat export / import, lossless and idempotent. One gateway gets
# bindings of every kind: plain ESP both ways (two hosts with tunnels to
# one peer), a pending outbound SA (a new host's first SA, unanswered),
# static inbound and outbound bindings, NAT-T ESP with ports both ways and
# IKE SAs (pending, and established with a responder SPI) under
# --preserve-ike --preserve-natt, a forward, nat rules (a pool with
# preserve-ike, and a '+' wildcard with preserve-natt, for interfaces the
# gateway does not have: rules go by name) and changed settings. Its export
# is imported into a second, fresh gateway namespace whose export must be the
# same in every field but these, which say how old an SA is and what
# traffic it carried (a new table starts them afresh):
READ_ONLY="age idle packets bytes"
# Then: a pretty-printed export with sorted keys and SAs in reverse order
# imports the same; a second import is a no-op (everything skipped);
# --replace replaces everything and changes nothing else; a malformed
# document (bad field in its last entry, truncated JSON) exits 2 and
# changes nothing; a kernel error on one entry is reported by name and
# the other entries are still added (exit 1).
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping python3 ipsecnat

load_module
topo_init 4 3
gw_masquerade
gw_ipsecnat --preserve-ike --preserve-natt
gw() { ip netns exec "$GW" "$@"; }
D=/tmp/export.$$
mkdir -p "$D"
cleanup_extra() { rm -rf "$D"; }

# udpsend NS SPORT DST DPORT HEX [COUNT [GAP]]: COUNT datagrams of payload HEX
# from port SPORT, where {seq} in HEX is the 8-digit datagram number from 1
udpsend() {
	ip netns exec "$1" python3 - "${@:2}" <<'PY'
import socket, sys, time
sport, dst, dport, payload = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
count = int(sys.argv[5]) if len(sys.argv) > 5 else 1
gap = float(sys.argv[6]) if len(sys.argv) > 6 else 0
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", sport))
for i in range(1, count + 1):
    s.sendto(bytes.fromhex(payload.replace("{seq}", "%08x" % i)), (dst, dport))
    time.sleep(gap)
PY
}
# an IKEv2 header: SPI_I SPI_R (16 hex digits each), exchange, flags, length 28
# (version 2.0, flags: initiator, message ID 0)
ike_hdr() { printf '%s%s0020%02x08000000000000001c' "$1" "$2" "$3"; }

log "plain ESP both ways: hosts 1 and 2 to peer 1"
for i in 1 2; do tunnel_add "$i" 1; done
for i in 1 2; do busywait 15000 tunnel_ping "$i" 1 || fail "host $i tunnel"; done

log "a pending outbound SA: host 3's first SA to peer 1, unanswered"
ip netns exec "${HOSTS[3]}" python3 "$(dirname "$0")/tools/espsend.py" "$(peer_addr 1)" \
	--spi 0x4242 --count 2 || fail "espsend"

log "static bindings of host 3 toward peer 2"
gw ipsecnat add dir in host "$(host_addr 3)" peer "$(peer_addr 2)" pub "$PUB" \
	spi 0x30000001 static || fail "add static in"
gw ipsecnat add dir out host "$(host_addr 3)" peer "$(peer_addr 2)" pub "$PUB" \
	spi 0x30000002 static || fail "add static out"

log "NAT-T and IKE of host 4 with peer 3"
H4=${HOSTS[4]} P3=$(peer_addr 3)
# NAT-T ESP out, and the peer's answer, learned with its ports (first: an
# unanswered IKE_AUTH would make the peer's ESP too early to be its answer)
# both ways at once, as a live SA pair does (learning wants the peer's SA
# near the host's new one; python starts slowly under TCG)
udpsend "$H4" 4500 "$P3" 4500 "44444444{seq}0000000000000000" 40 0.1 &
udpsend "${PEERS[3]}" 4500 "$PUB" 4500 "55555555{seq}0000000000000000" 40 0.1
wait $!
busywait 8000 sh -c "ip netns exec $GW ipsecnat show spi 0x55555555 | grep -q established" ||
	fail "the peer's NAT-T SA was not learned"
# IKE_SA_INIT (34) from port 500: pending, no responder SPI yet
udpsend "$H4" 500 "$P3" 500 "$(ike_hdr 1111111111111111 0000000000000000 34)"
# IKE_AUTH (35) from port 4500 after the non-ESP marker: established
udpsend "$H4" 4500 "$P3" 4500 "00000000$(ike_hdr 2222222222222222 3333333333333333 35)"
gw ipsecnat show

log "a forward, nat rules and changed settings"
gw ipsecnat forward add pub "$PUB" server "$(host_addr 2)" || fail "forward add"
gw ipsecnat nat add dev wan1 to-source 203.0.113.5-203.0.113.6 preserve-ike || fail "nat add wan1"
gw ipsecnat nat add dev 'ppp+' preserve-natt || fail "nat add ppp+"
gw ipsecnat set max-sas 5000 max-sas-per-host 77 pending-window 7 pending-timeout 300 \
	established-timeout 900 || fail "set"

gw ipsecnat export >"$D/a.json" || fail "export"
cat "$D/a.json"

# compare A B: the exports agree in every field but READ_ONLY
compare() {
	READ_ONLY=$READ_ONLY python3 - "$1" "$2" <<'PY'
import json, os, sys
ro = os.environ["READ_ONLY"].split()
a, b = (json.load(open(p)) for p in sys.argv[1:])
def norm(d):
    d = dict(d)
    sas = d.pop("sas")
    for s in sas:
        assert all(k in s for k in ro), s
    d["sas"] = sorted(json.dumps({k: v for k, v in s.items() if k not in ro}, sort_keys=True)
                      for s in sas)
    d["forwards"] = sorted(json.dumps(f, sort_keys=True) for f in d["forwards"])
    d["nat"] = sorted(json.dumps(r, sort_keys=True) for r in d["nat"])
    return d
na, nb = norm(a), norm(b)
if na != nb:
    for k in na:
        if na[k] != nb.get(k):
            print(f"differs in {k}:\n  {na[k]}\n  {nb.get(k)}")
    sys.exit(1)
PY
}

log "the export has every kind of binding"
python3 - "$D/a.json" "$PUB" "$(host_addr 2)" <<'PY' || fail "export lacks something"
import json, sys
d = json.load(open(sys.argv[1]))
pub, server = sys.argv[2:]
assert d["version"] == 1, d
assert d["settings"] == {"max-sas": 5000, "max-sas-per-host": 77, "pending-window": 7,
                         "pending-timeout": 300, "established-timeout": 900}, d["settings"]
assert d["forwards"] == [{"pub": pub, "server": server}], d["forwards"]
assert d["nat"] == [{"dev": "wan1", "to_source": "203.0.113.5-203.0.113.6", "preserve_ike": True,
                     "preserve_natt": False},
                    {"dev": "ppp+", "preserve_ike": False, "preserve_natt": True}], d["nat"]
sas = d["sas"]
def has(what, **kv):
    assert any(all(s.get(k) == v for k, v in kv.items()) for s in sas), (what, sas)
has("plain ESP out", dir="out", state="established", static=False)
has("plain ESP in", dir="in", state="established", static=False)
has("pending out", dir="out", spi="0x00004242", state="pending")
has("static in", dir="in", spi="0x30000001", static=True)
has("static out", dir="out", spi="0x30000002", static=True)
has("NAT-T out", dir="out", spi="0x44444444", host_port=4500, peer_port=4500,
    state="established")
has("NAT-T in", dir="in", spi="0x55555555", host_port=4500, peer_port=4500)
has("IKE pending", dir="ike", spi="0x1111111111111111", spi_r="0x0000000000000000",
    host_port=500, peer_port=500, state="pending")
has("IKE established", dir="ike", spi="0x2222222222222222", spi_r="0x3333333333333333",
    host_port=4500, peer_port=4500, state="established")
assert not any("ports" in s for s in sas)
PY

log "import into a fresh gateway namespace: the same export"
setup_ns GW2
gw2() { ip netns exec "$GW2" "$@"; }
n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["sas"]) + len(d["forwards"]) + len(d["nat"]))' "$D/a.json")
out=$(gw2 ipsecnat import "$D/a.json") || fail "import: $out"
echo "$out"
[ "$out" = "import: $n added, 0 replaced, 0 skipped (already there), 0 failed; 5 settings set" ] ||
	fail "import summary: $out"
gw2 ipsecnat export >"$D/b.json" || fail "export of the import"
compare "$D/a.json" "$D/b.json" || fail "the imported table differs"
[ "$(gw ipsecnat -j nat show)" = "$(gw2 ipsecnat -j nat show)" ] ||
	fail "nat rules: $(gw ipsecnat -j nat show) became $(gw2 ipsecnat -j nat show)"

log "pretty-printed, keys sorted, SAs reversed: the same"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["sas"].reverse(); json.dump(d, sys.stdout, indent=4, sort_keys=True)' \
	"$D/a.json" >"$D/pretty.json"
setup_ns GW3
ip netns exec "$GW3" ipsecnat import - <"$D/pretty.json" || fail "pretty import"
ip netns exec "$GW3" ipsecnat export >"$D/c.json"
compare "$D/a.json" "$D/c.json" || fail "the pretty import differs"
python3 -m json.tool "$D/a.json" >"$D/tool.json"
setup_ns GW4
ip netns exec "$GW4" ipsecnat import "$D/tool.json" >/dev/null || fail "json.tool import"
ip netns exec "$GW4" ipsecnat export >"$D/d.json"
compare "$D/a.json" "$D/d.json" || fail "the json.tool import differs"

log "a second import is a no-op"
out=$(gw2 ipsecnat -j import "$D/a.json") || fail "second import: $out"
echo "$out"
[ "$out" = "{\"added\":0,\"replaced\":0,\"skipped\":$n,\"failed\":0,\"settings\":5}" ] ||
	fail "second import summary: $out"
gw2 ipsecnat export >"$D/b2.json"
compare "$D/a.json" "$D/b2.json" || fail "a second import changed the table"

log "import --replace"
gw2 ipsecnat set pending-window 3
gw2 ipsecnat nat del dev wan1 || fail "nat del wan1"
gw2 ipsecnat nat add dev wan1 preserve-natt || fail "nat add wan1 again, otherwise"
out=$(gw2 ipsecnat import --replace "$D/a.json") || fail "import --replace: $out"
echo "$out"
[ "$out" = "import: 0 added, $n replaced, 0 skipped (already there), 0 failed; 5 settings set" ] ||
	fail "import --replace summary: $out"
gw2 ipsecnat export >"$D/b3.json"
compare "$D/a.json" "$D/b3.json" || fail "import --replace changed the table (or kept the other wan1 rule)"

log "a malformed document changes nothing"
python3 - "$D/a.json" "$PUB" "$(host_addr 1)" "$(peer_addr 1)" >"$D/bad.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
pub, host, peer = sys.argv[2:]
# a new SA first, a bad address in the last entry, a new setting
d["sas"].insert(0, {"dir": "out", "host": host, "peer": peer, "pub": pub,
                    "spi": "0x00007777", "state": "established"})
d["sas"][-1]["host"] = "10.0.0.300"
d["settings"]["max-sas"] = 4000
json.dump(d, sys.stdout)
PY
last=$(($(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["sas"]))' "$D/bad.json") - 1))
err=$(gw2 ipsecnat import "$D/bad.json" 2>&1); rc=$?
echo "$err"
[ "$rc" = 2 ] || fail "a malformed document: exit $rc"
echo "$err" | grep -qF "sas[$last]: \"host\": \"10.0.0.300\" is no IPv4 address" ||
	fail "the error does not name the entry and field: $err"
python3 - "$D/a.json" >"$D/badnat.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["nat"].append({"dev": "wan2", "to_source": "203.0.113.9-203.0.113.2"})
json.dump(d, sys.stdout)
PY
err=$(gw2 ipsecnat import "$D/badnat.json" 2>&1); rc=$?
echo "$err"
[ "$rc" = 2 ] && echo "$err" | grep -qF 'nat[2]: "to_source": "203.0.113.9-203.0.113.2": the range runs backwards' ||
	fail "a backward nat range: exit $rc, $err"
gw2 ipsecnat nat show | grep -q '^wan2 ' && fail "a malformed document added a nat rule"
head -c 300 "$D/a.json" >"$D/cut.json"
err=$(gw2 ipsecnat import "$D/cut.json" 2>&1); rc=$?
echo "$err"
[ "$rc" = 2 ] && echo "$err" | grep -q 'not JSON' || fail "a truncated document: exit $rc, $err"
gw2 ipsecnat export >"$D/b4.json"
compare "$D/a.json" "$D/b4.json" || fail "a malformed document changed the table"
gw2 ipsecnat show spi 0x00007777 | grep -q 7777 && fail "a malformed document added an SA"

log "a kernel error on one entry: reported, the others added"
python3 - "$PUB" "$(host_addr 1)" "$(peer_addr 1)" >"$D/partial.json" <<'PY'
import json, sys
pub, host, peer = sys.argv[1:]
sa = {"dir": "out", "host": host, "peer": peer, "state": "established"}
print(json.dumps({"version": 1, "sas": [
    dict(sa, pub="203.0.113.99", spi="0x00009991"),   # host 1 is on pub toward peer 1
    dict(sa, pub=pub, spi="0x00009992")]}))
PY
out=$(gw2 ipsecnat import "$D/partial.json" 2>"$D/err"); rc=$?
cat "$D/err"; echo "$out"
[ "$rc" = 1 ] || fail "a failed entry: exit $rc"
grep -qF "sas[0] (out host $(host_addr 1) peer $(peer_addr 1) pub 203.0.113.99 spi 0x00009991)" "$D/err" ||
	fail "the failed entry is not named"
[ "$out" = "import: 1 added, 0 replaced, 0 skipped (already there), 1 failed; 0 settings set" ] ||
	fail "partial import summary: $out"
gw2 ipsecnat show spi 0x00009992 | grep -q 9992 || fail "the entry after a failed one was not added"
echo "PASS"
