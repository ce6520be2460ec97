#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Dumps while SAs churn (a host creating hundreds of SAs, deletes running
# at the same time) return well-formed, consistent entries: every entry
# complete and plausible, none twice, never more than exist.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping python3 ipsecnat

gw_with_tunnels 2 4
gw() { ip netns exec "$GW" "$@"; }
churn() {
	local r j
	for r in 1 2 3; do
		for j in 2 3 4; do
			ip netns exec "${HOSTS[2]}" python3 "$(dirname "$0")/tools/espsend.py" \
				"$(peer_addr "$j")" --count 300
		done
		gw ipsecnat del host "$(host_addr 2)" >/dev/null
	done
}
churn &
pid=$!
BG_PIDS+=($pid)
dumps=0
while kill -0 $pid 2>/dev/null || [ $dumps -lt 5 ]; do
	gw ipsecnat -j show >"/tmp/dump.$$" || fail "dump failed while SAs churn"
	python3 - "/tmp/dump.$$" "$PUB" "$LAN_PREFIX" <<'PY' || fail "inconsistent dump"
import ipaddress, json, sys
sas = json.load(open(sys.argv[1]))
pub, lan = sys.argv[2], sys.argv[3]
keys = [(s["dir"], s["peer"], s["pub"] if s["dir"] == "in" else "", s["spi"]) for s in sas]
assert len(keys) == len(set(keys)), "an SA appears twice"
for s in sas:
    assert set(s) >= {"dir", "host", "peer", "pub", "spi", "state", "age", "idle", "packets", "bytes"}, s
    assert s["pub"] == pub and s["host"].startswith(lan + "."), s
    assert int(s["spi"], 16) != 0 and s["state"] in ("pending", "established"), s
    ipaddress.ip_address(s["peer"])
assert len(sas) <= 1024 + 2, len(sas)
PY
	dumps=$((dumps + 1))
done
wait $pid
rm -f "/tmp/dump.$$"
log "$dumps consistent dumps while SAs churned"
# host 2's bindings were deleted: it learns again, which takes a moment
for i in 1 2; do busywait 10000 tunnel_ping "$i" 1 || fail "host $i tunnel after the churn"; done
for i in 1 2; do tunnel_ping "$i" 1 3 || fail "host $i tunnel after the churn"; done
echo "PASS"
