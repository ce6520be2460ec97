#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Real IKE daemons for the ipsecnat selftests: one strongSwan charon per
# namespace, each with its own configuration, runtime directory (a private
# /run) and vici socket. Source after lib.sh.
#
# Hosts are initiators with PSK auth, inside address 10.1.i.1 to peer
# 10.2.j.1; the peer's responder accepts any host behind any address.

SWAN_DIR=$(mktemp -d /tmp/ipsecnat-ike.XXXXXX)
CHARON=/usr/lib/ipsec/charon
PSK=ipsecnat-selftest-psk

cleanup_extra() {
	rm -rf "$SWAN_DIR"
}

require_strongswan() {
	[ -x "$CHARON" ] || skip "strongSwan charon not installed"
	require_cmd swanctl unshare
}

# swan_conf NAME: strongswan.conf of daemon NAME, with short retransmits
# (a lost exchange fails in seconds) and its own vici socket and log
swan_conf() {
	local d=$SWAN_DIR/$1
	mkdir -p "$d"
	cat >"$d/strongswan.conf" <<-EOF
	charon {
		load_modular = no
		load = random nonce aes sha1 sha2 hmac gcm kdf openssl pem pkcs1 x509 pubkey kernel-netlink socket-default vici
		install_routes = no
		retransmit_tries = ${SWAN_RETRANSMIT_TRIES:-3}
		retransmit_timeout = 1.0
		retransmit_base = 1.4
		plugins {
			vici {
				socket = unix://$d/charon.vici
			}
		}
		filelog {
			charon {
				path = $d/charon.log
				time_format = %T
				default = 1
			}
		}
		syslog {
			daemon {
				default = -1
			}
		}
	}
	swanctl {
		load = pem pkcs1 x509 pubkey openssl random
	}
	EOF
}

# swan NAME ARGS...: swanctl talking to daemon NAME
swan() {
	local d=$SWAN_DIR/$1
	shift
	STRONGSWAN_CONF=$d/strongswan.conf swanctl "$@" --uri "unix://$d/charon.vici"
}

# swan_start NS NAME: start charon NAME in namespace NS and load its
# swanctl.conf; the daemon gets a private /run for its pid file
swan_start() {
	local ns=$1 d=$SWAN_DIR/$2
	rm -f "$d/charon.vici"
	ip netns exec "$ns" unshare -m sh -c \
		"mount -t tmpfs tmpfs /run && STRONGSWAN_CONF=$d/strongswan.conf exec $CHARON" \
		>>"$d/charon.out" 2>&1 &
	busywait 15000 test -S "$d/charon.vici" || fail "charon $2 did not start: $(tail -5 "$d/charon.out")"
	busywait 5000 swan "$2" --stats >/dev/null || fail "charon $2 does not answer"
	swan "$2" --load-all --file "$d/swanctl.conf" >"$d/load.log" 2>&1 ||
		fail "charon $2: loading swanctl.conf failed"
}

# swan_stop NS NAME: kill charon NAME hard (a crash: no deletes sent)
swan_stop() {
	local pid
	for pid in $(ip netns pids "$1"); do
		[ "$(readlink "/proc/$pid/exe")" = "$CHARON" ] && kill -9 "$pid"
	done
	busywait 5000 swan_gone "$1" || fail "charon in $1 does not stop"
}
swan_gone() {
	local pid
	for pid in $(ip netns pids "$1"); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$CHARON" ] && return 1
	done
	return 0
}

# swan_host I J [IKE options...]: charon of host I, initiator toward peer J
swan_host() {
	local i=$1 j=$2 d=$SWAN_DIR/host$1
	shift 2
	swan_conf "host$i"
	cat >"$d/swanctl.conf" <<-EOF
	connections {
		gw {
			version = 2
			remote_addrs = $(peer_addr "$j")
			proposals = aes128gcm16-prfsha256-x25519
			dpd_delay = ${SWAN_HOST_DPD:-0}
			rekey_time = 0
			$*
			local {
				auth = psk
				id = host$i
			}
			remote {
				auth = psk
				id = peer
			}
			children {
				net {
					local_ts = $(host_inner "$i")/32
					remote_ts = $(peer_inner "$j")/32
					esp_proposals = aes128gcm16
					rekey_time = 0
				}
			}
		}
	}
	secrets {
		ike {
			secret = $PSK
		}
	}
	EOF
	swan_start "${HOSTS[i]}" "host$i"
}

# swan_peer J [IKE options...]: charon of peer J, responder for every host
swan_peer() {
	local j=$1 d=$SWAN_DIR/peer$1
	shift
	swan_conf "peer$j"
	cat >"$d/swanctl.conf" <<-EOF
	connections {
		hosts {
			version = 2
			proposals = aes128gcm16-prfsha256-x25519
			dpd_delay = ${SWAN_PEER_DPD:-0}
			rekey_time = 0
			$*
			local {
				auth = psk
				id = peer
			}
			remote {
				auth = psk
			}
			children {
				net {
					local_ts = $(peer_inner "$j")/32
					remote_ts = 10.1.0.0/16
					esp_proposals = aes128gcm16
					rekey_time = 0
				}
			}
		}
	}
	secrets {
		ike {
			secret = $PSK
		}
	}
	EOF
	swan_start "${PEERS[j]}" "peer$j"
}

# swan_up I: host I brings its tunnel up (IKE_SA_INIT, IKE_AUTH)
swan_up() {
	swan "host$1" --initiate --child net --timeout 30 >>"$SWAN_DIR/host$1/initiate.log" 2>&1
}

# peer_ike_sas J: IKE SAs peer J has, one line "remote-addr[port] id" each
peer_ike_sas() {
	swan "peer$1" --list-sas --raw 2>/dev/null |
		grep -o 'remote-host=[^ ]* remote-port=[0-9]* remote-id=[^ ]*' |
		sed 's/remote-host=//; s/ remote-port=/:/; s/ remote-id=/ /'
}

# peer_ike_id J ID / peer_child_id J ID: unique ids of the established IKE
# SA (and its CHILD SA) peer J has with remote identity ID
peer_ike_id() {
	swan "peer$1" --list-sas --raw 2>/dev/null | grep "remote-id=$2 " | grep 'state=ESTABLISHED' |
		grep -o 'uniqueid=[0-9]*' | head -n 1 | cut -d= -f2
}
peer_child_id() {
	swan "peer$1" --list-sas --raw 2>/dev/null | grep "remote-id=$2 " | grep 'state=ESTABLISHED' |
		grep -o 'child-sas {.*' | grep -o 'uniqueid=[0-9]*' | head -n 1 | cut -d= -f2
}

# peer_has_ike_sas J N: peer J has N established IKE SAs
peer_has_ike_sas() {
	[ "$(swan "peer$1" --list-sas --raw 2>/dev/null | grep -c 'state=ESTABLISHED')" = "$2" ]
}

# insist_on_ike_ports NS: a legacy peer that takes IKE and NAT-T only from
# source ports 500 and 4500
insist_on_ike_ports() {
	ip netns exec "$1" iptables -A INPUT -p udp -m multiport --dports 500,4500 \
		-m multiport ! --sports 500,4500 -j DROP || fail "peer port rule"
}

# ike_bindings: the gateway's IKE SA bindings as "host ports state" lines
ike_bindings() {
	ip netns exec "$GW" ipsecnat -j show dir ike | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    print(s["host"], s["ports"], s["state"])'
}
