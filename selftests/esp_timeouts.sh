#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Idle SAs expire with their own timeouts: an unanswered outbound SA after
# pending_timeout; an answered one after established_timeout, but not while
# conntrack still tracks its flow; once conntrack forgets it, it goes.
source "$(dirname "$0")/lib.sh"
require_cmd iptables conntrack ping python3

load_module
set_default pending_timeout 2
set_default established_timeout 3
topo_init 2 2
gw_masquerade
gw_ipsecnat
tunnel_add 1 1
busywait 15000 tunnel_ping 1 1 || fail "host 1 tunnel"
sas_of() { ip netns exec "$GW" grep -c "host=$(host_addr "$1") " /proc/net/ipsecnat_sas; }
sas_are() { [ "$(sas_of "$1")" = "$2" ]; }
[ "$(sas_of 1)" = 2 ] || fail "host 1 has $(sas_of 1) SAs, expected 2"

log "unanswered SA of host 2 (peer 2 never answers) expires after pending_timeout"
ip netns exec "${HOSTS[2]}" python3 "$(dirname "$0")/tools/espsend.py" "$(peer_addr 2)" --spi 0x4242 --count 1
[ "$(sas_of 2)" = 1 ] || fail "host 2's unanswered SA not recorded"
busywait 8000 sas_are 2 0 || {
	ip netns exec "$GW" cat /proc/net/ipsecnat_sas /proc/net/ipsecnat
	fail "unanswered SA did not expire"
}

log "answered SAs outlive established_timeout while conntrack tracks the flow"
sleep 5
[ "$(sas_of 1)" = 2 ] || fail "host 1's SAs expired while conntrack tracks the flow"
tunnel_ping 1 1 || fail "host 1 tunnel after idling"

log "once conntrack forgets the flow, they expire"
ip netns exec "$GW" conntrack -D -p 50 >/dev/null 2>&1
busywait 10000 sas_are 1 0 || fail "host 1's SAs outlived their conntrack entry"
expect_counter expired -ge 3
echo "PASS"
