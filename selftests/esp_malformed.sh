#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Malformed ESP (truncated, SPI 0) from either side is counted and dropped;
# ESP with IP options is translated like any other; an unknown-SPI flood from
# the WAN creates no state and does not disturb the hosts' tunnels.
source "$(dirname "$0")/lib.sh"
require_cmd iptables ping python3

gw_with_tunnels 2 2
esp() { local ns=$1; shift; ip netns exec "$ns" python3 "$(dirname "$0")/tools/espsend.py" "$@" || fail "espsend $*"; }

sas=$(ipsecnat_counter sas)
m0=$(ipsecnat_counter malformed)
esp "${HOSTS[1]}" "$(peer_addr 1)" --len 6 --count 5		# truncated, outbound
esp "${HOSTS[1]}" "$(peer_addr 1)" --spi 0 --count 5		# SPI 0, outbound
esp "${PEERS[1]}" "$PUB" --len 4 --count 5			# truncated, inbound
esp "${PEERS[1]}" "$PUB" --spi 0 --count 5			# SPI 0, inbound
busywait 5000 counter_is malformed -eq $((m0 + 20)) ||
	fail "malformed counted $(( $(ipsecnat_counter malformed) - m0 )) of 20"
[ "$(ipsecnat_counter sas)" = "$sas" ] || fail "malformed packets created state"

log "ESP with IP options from host 2 is translated like any other"
sa=$(spi_out 2 1)
o0=$(ipsecnat_counter out_translated)
esp "${HOSTS[2]}" "$(peer_addr 1)" --spi "$sa" --ip-options --count 3
busywait 5000 counter_is out_translated -ge $((o0 + 3)) || fail "options packet not translated"

log "unknown-SPI flood from the WAN (peer 2, never talked to anyone here)"
u0=$(ipsecnat_counter unknown_spi)
esp "${PEERS[2]}" "$PUB" --count 2000
busywait 5000 counter_is unknown_spi -ge $((u0 + 2000)) ||
	fail "unknown SPIs counted $(( $(ipsecnat_counter unknown_spi) - u0 )) of 2000"
[ "$(ipsecnat_counter sas)" = "$sas" ] || fail "unknown SPIs created state"
for i in 1 2; do tunnel_ping "$i" 1 3 || fail "host $i tunnel after the flood"; done
check_no_misdelivery "${HOSTS[@]}"
echo "PASS"
