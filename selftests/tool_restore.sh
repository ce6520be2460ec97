#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Settings that survive a reboot (ipsecnat.service): "export --config" of a
# gateway namespace holds its settings, nat rules, forwards and static SAs,
# and not its learned (non-static) SAs nor anything that changes by itself
# (age, idle, counts); it prints the same document each time. The unit's
# own command (ExecStart of userspace/ipsecnat.service, import --replace)
# restores it into a fresh namespace, whose "export --config" is then the
# same file, byte for byte; run again, it exits 0, adds nothing and changes
# nothing, and the learned SAs stay away.
source "$(dirname "$0")/lib.sh"
require_cmd python3 ipsecnat
proj=$(cd "$(dirname "$0")/.." && pwd)

load_module
setup_ns GW1 GW2
gw1() { ip netns exec "$GW1" "$@"; }
gw2() { ip netns exec "$GW2" "$@"; }
D=$(mktemp -d /tmp/restore.XXXXXX)
cleanup_extra() { rm -rf "$D"; }
HOST=10.0.1.3 PEER=198.51.100.2 LHOST=10.0.1.1 LPEER=198.51.100.1

log "a configured gateway: settings, nat rules, a forward, static SAs"
gw1 ipsecnat set max-sas-per-host 77 pending-window 7 established-timeout 900 || fail "set"
gw1 ipsecnat nat add dev wan1 to-source 203.0.113.5-203.0.113.6 preserve-ike || fail "nat add wan1"
gw1 ipsecnat nat add dev 'ppp+' preserve-natt || fail "nat add ppp+"
gw1 ipsecnat forward add pub "$PUB" server 10.0.1.9 || fail "forward add"
gw1 ipsecnat forward add pub 203.0.113.2 server 10.0.1.8 || fail "forward add 2"
gw1 ipsecnat add dir in host "$HOST" peer "$PEER" pub "$PUB" spi 0x30000001 static ||
	fail "add static in"
gw1 ipsecnat add dir out host "$HOST" peer "$PEER" pub "$PUB" spi 0x30000002 static ||
	fail "add static out"
# a static NAT-T binding (ports): only import can add one
cat >"$D/natt.json" <<JSON
{"version": 1, "sas": [{"dir": "out", "host": "$HOST", "peer": "198.51.100.3", "pub": "$PUB",
  "spi": "0x30000003", "host_port": 4500, "peer_port": 4501, "state": "established",
  "static": true}]}
JSON
gw1 ipsecnat import "$D/natt.json" >/dev/null || fail "import of a static NAT-T SA"

log "and runtime state: SAs learned (added without static), both ways"
gw1 ipsecnat add dir out host "$LHOST" peer "$LPEER" pub "$PUB" spi 0x10000001 || fail "add out"
gw1 ipsecnat add dir in host "$LHOST" peer "$LPEER" pub "$PUB" spi 0x20000001 || fail "add in"
gw1 ipsecnat show

gw1 ipsecnat export >"$D/full.json" || fail "export"
gw1 ipsecnat export --config >"$D/a.json" || fail "export --config"
cat "$D/a.json"

log "export --config: the configuration, no learned SA, no counts"
python3 - "$D/a.json" "$D/full.json" "$PUB" <<'PY' || fail "export --config is not the configuration"
import json, sys
conf, full = (json.load(open(p)) for p in sys.argv[1:3])
pub = sys.argv[3]
assert conf["version"] == 1, conf
assert conf["settings"] == full["settings"], (conf["settings"], full["settings"])
s = conf["settings"]
assert (s["max-sas-per-host"], s["pending-window"], s["established-timeout"]) == (77, 7, 900), s
assert conf["nat"] == full["nat"] and len(conf["nat"]) == 2, conf["nat"]
assert conf["forwards"] == [{"pub": pub, "server": "10.0.1.9"},
                            {"pub": "203.0.113.2", "server": "10.0.1.8"}], conf["forwards"]
spis = [sa["spi"] for sa in conf["sas"]]
# sorted: in before out; within out by peer
assert spis == ["0x30000001", "0x30000002", "0x30000003"], spis
assert all(sa["static"] for sa in conf["sas"]), conf["sas"]
natt = conf["sas"][2]
assert (natt["host_port"], natt["peer_port"]) == (4500, 4501), natt
for sa in conf["sas"]:
    assert not {"age", "idle", "packets", "bytes"} & set(sa), sa
# the learned SAs are in the full export, and only there
learned = {sa["spi"] for sa in full["sas"] if not sa["static"]}
assert learned == {"0x10000001", "0x20000001"}, full["sas"]
assert not learned & set(spis)
PY
gw1 ipsecnat export --config >"$D/a2.json" || fail "export --config again"
cmp -s "$D/a.json" "$D/a2.json" || fail "export --config printed another document the second time"

# the unit's own command line, on this file instead of /etc/ipsecnat.json
unit=$proj/userspace/ipsecnat.service
cmdline=$(sed -n 's|^ExecStart=@SBINDIR@/||p' "$unit")
[ "$cmdline" = "ipsecnat import --replace /etc/ipsecnat.json" ] ||
	fail "$unit: ExecStart runs \"$cmdline\""
read -ra restore <<<"${cmdline% /etc/ipsecnat.json} $D/a.json"
n=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["sas"]) + len(d["forwards"]) + len(d["nat"]))' "$D/a.json")

log "restore into a fresh namespace (boot): ${restore[*]}"
out=$(gw2 "${restore[@]}"); rc=$?
echo "$out"
[ "$rc" = 0 ] || fail "restore: exit $rc"
[ "$out" = "import: $n added, 0 replaced, 0 skipped (already there), 0 failed; 5 settings set" ] ||
	fail "restore summary: $out"
gw2 ipsecnat export --config >"$D/b.json" || fail "export --config of the restored namespace"
diff -u "$D/a.json" "$D/b.json" || fail "the restored configuration differs"

log "the same command again (systemctl restart): exit 0, nothing added, the same"
gw2 ipsecnat -j show >"$D/show1.json" || fail "show"
out=$(gw2 "${restore[@]}"); rc=$?
echo "$out"
[ "$rc" = 0 ] || fail "second restore: exit $rc"
[ "$out" = "import: 0 added, $n replaced, 0 skipped (already there), 0 failed; 5 settings set" ] ||
	fail "second restore summary: $out"
gw2 ipsecnat export --config >"$D/b2.json" || fail "export --config after the second run"
diff -u "$D/a.json" "$D/b2.json" || fail "the second run changed the configuration"
gw2 ipsecnat -j show >"$D/show2.json" || fail "show"
python3 - "$D/show1.json" "$D/show2.json" <<'PY' || fail "the second run changed the SA table"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
key = lambda s: (s["dir"], s["host"], s["peer"], s["pub"], s["spi"])
assert len(a) == len(b) == 3, (a, b)
assert sorted(map(key, a)) == sorted(map(key, b)), (a, b)
PY
for spi in 0x10000001 0x20000001; do
	gw2 ipsecnat show spi "$spi" | grep -qi "${spi#0x}" && fail "learned SA $spi was restored"
done

log "the full export of the restored namespace: only the static SAs"
gw2 ipsecnat export >"$D/b3.json" || fail "export"
python3 - "$D/b3.json" <<'PY' || fail "the restored namespace has other SAs"
import json, sys
d = json.load(open(sys.argv[1]))
assert sorted(sa["spi"] for sa in d["sas"]) == ["0x30000001", "0x30000002", "0x30000003"], d["sas"]
assert all(sa["static"] for sa in d["sas"]), d["sas"]
PY

log "export --config takes nothing else"
out=$(gw1 ipsecnat export --bogus 2>&1); rc=$?
[ "$rc" = 2 ] && [ -n "$out" ] || fail "export --bogus: exit $rc, $out"
echo "PASS"
