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

# the daemons' logs and configurations stay in build/vm/<test>.ike/
swan_keep_logs() {
	local sd t keep
	sd=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd) t=$(realpath "$0")
	keep=$(dirname "$sd")/build/vm/${t#"$sd"/}.ike
	rm -rf "$keep"
	find "$SWAN_DIR" -type s -delete	# sockets cannot be copied over 9p
	mkdir -p "$(dirname "$keep")" && cp -r "$SWAN_DIR" "$keep" 2>/dev/null
	rm -rf "$SWAN_DIR"
}
cleanup_extra() {
	local ns
	[ -z "${GW:-}" ] || log_gw_counters
	if [ "$EXIT_RC" != 0 ] && [ -n "${GW:-}" ]; then
		log_gw_evidence
		for ns in "${PEERS[@]}"; do
			log "$(ns_name "$ns"): IKE from remapped ports dropped: $(peer_dropped "$ns")"
		done
	fi
	swan_keep_logs
}

require_strongswan() {
	[ -x "$CHARON" ] || skip "strongSwan charon not installed"
	require_cmd swanctl unshare
}

# swan_conf NAME: strongswan.conf of daemon NAME, with short retransmits (the
# gateway may drop a request 4 times while it paces exchanges; the 5th goes)
# (a lost exchange fails in seconds) and its own vici socket and log
swan_conf() {
	local d=$SWAN_DIR/$1
	mkdir -p "$d"
	cat >"$d/strongswan.conf" <<-EOF
	charon {
		load_modular = no
		load = random nonce aes sha1 sha2 hmac gcm kdf openssl pem pkcs1 x509 pubkey kernel-netlink socket-default vici
		install_routes = no
		retransmit_tries = 5
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
				flush_line = yes
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

# the PSK every daemon uses, as a swanctl.conf section
swan_secrets() {
	printf 'secrets {\n\tike {\n\t\tsecret = %s\n\t}\n}\n' "$PSK"
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
	(ip netns exec "$ns" unshare -m sh -c \
		"mount -t tmpfs tmpfs /run && STRONGSWAN_CONF=$d/strongswan.conf exec $CHARON" \
		>>"$d/charon.out" 2>&1 &)
	busywait 15000 test -S "$d/charon.vici" || fail "charon $2 did not start: $(tail -5 "$d/charon.out")"
	busywait 5000 swan "$2" --stats >/dev/null || fail "charon $2 does not answer"
	swan "$2" --load-all --file "$d/swanctl.conf" >"$d/load.log" 2>&1 ||
		fail "charon $2: loading swanctl.conf failed"
}

# daemon_stop NS EXE: kill daemon EXE in NS hard (a crash: no deletes sent)
daemon_stop() {
	local pid
	for pid in $(ip netns pids "$1"); do
		[ "$(readlink "/proc/$pid/exe")" = "$2" ] && kill -9 "$pid"
	done
	busywait 5000 daemon_gone "$1" "$2" || fail "$2 in $1 does not stop"
}
daemon_gone() {
	local pid
	for pid in $(ip netns pids "$1"); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$2" ] && return 1
	done
	return 0
}
swan_stop() { daemon_stop "$1" "$CHARON"; }

# swan_initiator NS NAME ID LOCAL_TS PEER_ADDR PEER_TS [IKE options...]:
# charon NAME in NS, initiator of connection "gw" toward PEER_ADDR.
# Rekeying is off unless SWAN_HOST_IKE_REKEY / SWAN_HOST_CHILD_REKEY (and
# SWAN_PEER_* for the responder) give a strongSwan rekey_time.
swan_initiator() {
	local ns=$1 name=$2 id=$3 lts=$4 paddr=$5 pts=$6 d=$SWAN_DIR/$2
	shift 6
	swan_conf "$name"
	cat >"$d/swanctl.conf" <<-EOF
	connections {
		gw {
			version = 2
			remote_addrs = $paddr
			proposals = aes128gcm16-prfsha256-x25519
			dpd_delay = ${SWAN_HOST_DPD:-0}
			rekey_time = ${SWAN_HOST_IKE_REKEY:-0}
			$*
			local {
				auth = psk
				id = $id
			}
			remote {
				auth = psk
				id = peer
			}
			children {
				net {
					local_ts = $lts
					remote_ts = $pts
					esp_proposals = aes128gcm16
					rekey_time = ${SWAN_HOST_CHILD_REKEY:-0}
				}
			}
		}
	}
	$(swan_secrets)
	EOF
	swan_start "$ns" "$name"
}

# swan_host I J [IKE options...]: charon of host I, initiator toward peer J
swan_host() {
	local i=$1 j=$2
	shift 2
	swan_initiator "${HOSTS[i]}" "host$i" "host$i" "$(host_inner "$i")/32" \
		"$(peer_addr "$j")" "$(peer_inner "$j")/32" "$@"
}

# swan_responder NS NAME LOCAL_TS REMOTE_TS [IKE options...]: charon NAME
# in NS, responder (identity "peer") for any initiator inside REMOTE_TS
swan_responder() {
	local ns=$1 name=$2 lts=$3 rts=$4 d=$SWAN_DIR/$2
	shift 4
	swan_conf "$name"
	cat >"$d/swanctl.conf" <<-EOF
	connections {
		hosts {
			version = 2
			proposals = aes128gcm16-prfsha256-x25519
			dpd_delay = ${SWAN_PEER_DPD:-0}
			rekey_time = ${SWAN_PEER_IKE_REKEY:-0}
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
					local_ts = $lts
					remote_ts = $rts
					esp_proposals = aes128gcm16
					rekey_time = ${SWAN_PEER_CHILD_REKEY:-0}
				}
			}
		}
	}
	$(swan_secrets)
	EOF
	swan_start "$ns" "$name"
}

# swan_peer J [IKE options...]: charon of peer J, responder for every host
# (inside addresses SWAN_PEER_REMOTE_TS, default 10.1.0.0/16)
swan_peer() {
	local j=$1
	shift
	swan_responder "${PEERS[j]}" "peer$j" "$(peer_inner "$j")/32" \
		"${SWAN_PEER_REMOTE_TS:-10.1.0.0/16}" "$@"
}

# swan_up I: host I brings its tunnel up (IKE_SA_INIT, IKE_AUTH)
swan_up() {
	swan "host$1" --initiate --child net --timeout 30 >>"$SWAN_DIR/host$1/initiate.log" 2>&1
}

# swan_name J|NAME: the daemon peer J (a number) or NAME
swan_name() { case $1 in [0-9]*) echo "peer$1" ;; *) echo "$1" ;; esac; }

# peer_ike_sas J: IKE SAs peer J has, one line "remote-addr[port] id" each
peer_ike_sas() {
	swan "$(swan_name "$1")" --list-sas --raw 2>/dev/null |
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
# gw_preserving NHOSTS NPEERS: module, topology, MASQUERADE and an IPSECNAT
# rule that preserves IKE and NAT-T ports
gw_preserving() {
	load_module
	topo_init "$1" "$2"
	gw_masquerade
	gw_ipsecnat --preserve-ike --preserve-natt
}

insist_on_ike_ports() {
	ip netns exec "$1" iptables -A INPUT -p udp -m multiport --dports 500,4500 \
		-m multiport ! --sports 500,4500 -j DROP || fail "peer port rule"
}

# swan_remap_baseline N: the failure without ipsecnat's ports: through
# conntrack's remapping (no --preserve-*), host 1 reaches a peer that insists
# on ports 500/4500 and host 2 does not. Then hosts 1..N drop their IKE SAs
# and the gateway's rule preserves both ports.
swan_remap_baseline() {
	local i
	log "baseline: conntrack remaps host 2's ports, the peer ignores it"
	swan_up 1 || fail "host 1 cannot reach the peer even alone"
	swan host2 --initiate --child net --timeout 10 >/dev/null 2>&1 &&
		fail "baseline: host 2 got in through a remapped port"
	for ((i = 1; i <= $1; i++)); do swan "host$i" --terminate --ike gw --force >/dev/null 2>&1; done
	busywait 10000 peer_has_ike_sas 1 0 || fail "peer kept IKE SAs after terminate"
	log "preserving ports 500 and 4500"
	ip netns exec "$GW" iptables -t mangle -F
	gw_ipsecnat --preserve-ike --preserve-natt
	ip netns exec "$GW" conntrack -F 2>/dev/null
}

# soak_up N UP: bring up IKE on hosts 1..N one by one with UP (swan_up or
# lsw_up); each tunnel must carry pings both ways, then keeps carrying them,
# and nobody may get a foreign SPI
soak_up() {
	local i
	for ((i = 1; i <= $1; i++)); do
		"$2" "$i" || fail "host $i: IKE failed"
		busywait 15000 tunnel_ping "$i" 1 || fail "host $i: tunnel does not work"
		busywait 15000 peer_ping 1 "$i" || fail "peer -> host $i: tunnel does not work"
		# traffic from now on: a tunnel that idles while the peer
		# rekeys it, then starts at the same instant as the others,
		# is the ambiguous case README describes, not this soak's
		bg_pings "$i"
	done
	check_no_misdelivery
}

# soak_trace: the gateway's events, and with SOAK_TRACE=1 captures on the
# gateway and peer 1 and the peer's xfrm events, kept with the daemons' logs
# (once: from the tunnels' set-up on where the test calls it first)
soak_trace() {
	[ -z "${SOAK_TRACING:-}" ] || return 0
	SOAK_TRACING=1
	ip netns exec "$GW" ipsecnat monitor >"$SWAN_DIR/monitor.log" 2>&1 &
	BG_PIDS+=($!)
	[ -n "${SOAK_TRACE:-}" ] && command -v tcpdump >/dev/null || return 0
	ip netns exec "${PEERS[1]}" tcpdump -n -s 128 -i eth0 -w "$SWAN_DIR/peer.pcap" 2>/dev/null &
	BG_PIDS+=($!)
	ip -n "${PEERS[1]}" -timestamp xfrm monitor >"$SWAN_DIR/peer-xfrm.log" 2>&1 &
	BG_PIDS+=($!)
	ip netns exec "$GW" tcpdump -n -s 128 -i any -w "$SWAN_DIR/gw.pcap" 2>/dev/null &
	BG_PIDS+=($!)
}

# soak_pings N SECS: pings every 0.5 s both ways between hosts 1..N and peer
# 1 for SECS seconds (waits for them), traced by soak_trace; soak_losses N
# MAX then logs each host's losses and sets SOAK_LOSSY unless every direction
# of every host lost at most MAX percent
soak_pings() {
	local i n=$1 count=$(($2 * 2)) pids=()
	soak_trace
	SOAK_OUT=$SWAN_DIR/soak
	mkdir -p "$SOAK_OUT"
	for ((i = 1; i <= n; i++)); do
		ip netns exec "${HOSTS[i]}" ping -i 0.5 -c "$count" -W 2 -I "$(host_inner "$i")" \
			"$(peer_inner 1)" >"$SOAK_OUT/up$i" 2>&1 &
		pids+=($!)
		ip netns exec "${PEERS[1]}" ping -i 0.5 -c "$count" -W 2 -I "$(peer_inner 1)" \
			"$(host_inner "$i")" >"$SOAK_OUT/down$i" 2>&1 &
		pids+=($!)
	done
	BG_PIDS+=("${pids[@]}")
	wait "${pids[@]}"
}
soak_losses() {
	local i up down bad=0
	for ((i = 1; i <= $1; i++)); do
		up=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$SOAK_OUT/up$i" | cut -d. -f1)
		down=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$SOAK_OUT/down$i" | cut -d. -f1)
		log "host $i: loss ${up:-?} % up, ${down:-?} % down"
		[ -n "$up" ] && [ -n "$down" ] && [ "$up" -le "$2" ] && [ "$down" -le "$2" ] ||
			bad=$((bad + 1))
	done
	SOAK_LOSSY=""
	[ "$bad" = 0 ] || SOAK_LOSSY="$bad of $1 hosts lost more than $2 % in a direction"
}

# soak_verdict MAX: the losses (at most MAX percent) and misdelivery, both
# logged before either fails the test
soak_verdict() {
	soak_losses "$N" "$1"
	check_no_misdelivery
	[ -z "$SOAK_LOSSY" ] || fail "$SOAK_LOSSY"
}

# ike_bindings: the gateway's IKE SA bindings as "host ports state" lines
ike_bindings() {
	ip netns exec "$GW" ipsecnat -j show dir ike | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    print(s["host"], s["ports"], s["state"])'
}

# ---- libreswan: pluto, unpacked privately by make deps (its Debian
# package conflicts with strongSwan's) ----

LSW=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build/libreswan/usr/libexec/ipsec

require_libreswan() {
	[ -x "$LSW/pluto" ] || skip "libreswan not unpacked in build/libreswan (make deps)"
	require_cmd certutil unshare
}

# lsw NAME ARGS...: whack talking to pluto NAME
lsw() {
	local d=$SWAN_DIR/$1
	shift
	"$LSW/whack" --ctlsocket "$d/pluto.ctl" "$@"
}

# lsw_start NS NAME: start pluto NAME in namespace NS with its ipsec.conf
# (written by the caller), a PSK secrets file, its own NSS database and run
# directory, and add its connections
lsw_start() {
	local ns=$1 d=$SWAN_DIR/$2
	mkdir -p "$d/nss"
	[ -f "$d/nss/cert9.db" ] ||
		certutil -N -d "sql:$d/nss" --empty-password >/dev/null || fail "NSS db for $2"
	echo "%any %any : PSK \"$PSK\"" >"$d/ipsec.secrets"
	rm -f "$d/pluto.ctl"
	# pluto runs its helpers from /usr/libexec/ipsec: bind the unpacked
	# ones there, in the daemon's own mount namespace only
	mkdir -p /usr/libexec/ipsec
	# (in a subshell: killing it later is no news for this shell)
	(ip netns exec "$ns" unshare -m sh -c "mount -t tmpfs tmpfs /run && mkdir /run/pluto &&
		mount --bind $LSW /usr/libexec/ipsec && exec $LSW/pluto \
		--nofork --config $d/ipsec.conf --rundir $d --nssdir $d/nss --ipsecdir $d \
		--secretsfile $d/ipsec.secrets --logfile $d/pluto.log" >>"$d/pluto.out" 2>&1 &)
	busywait 15000 test -S "$d/pluto.ctl" || fail "pluto $2 did not start: $(tail -5 "$d/pluto.out")"
	"$LSW/addconn" --config "$d/ipsec.conf" --ctlsocket "$d/pluto.ctl" --autoall \
		>"$d/addconn.log" 2>&1 || fail "pluto $2: adding connections failed: $(tail -3 "$d/addconn.log")"
	! grep -m 1 'failed to add' "$d/pluto.log" || fail "pluto $2: a connection was refused"
	lsw "$2" --listen >/dev/null 2>&1
}

# lsw_conn_common IKEV2: what both ends of every libreswan connection say
# (ipsec.conf wants connection parameters indented: callers pipe the lines
# through lsw_indent)
lsw_indent() { sed 's/^/\t/'; }
lsw_conn_common() {
	cat <<-EOF
		ikev2=$1
		authby=secret
		encapsulation=no
		ike=aes128-sha2_256;dh19
		esp=aes128-sha2_256
		leftupdown=%disabled
		auto=add
	EOF
	# extra lines for every connection, e.g. lifetimes (one per line)
	[ -z "${LSW_CONN_EXTRA:-}" ] || printf '%s\n' "$LSW_CONN_EXTRA"
}

# lsw_host I J IKEV2(yes|no): pluto of host I, initiator toward peer J
lsw_host() {
	local i=$1 j=$2 d=$SWAN_DIR/host$1
	mkdir -p "$d"
	{
		printf 'config setup\n\tikev1-policy=accept\n\nconn gw\n'
		{
			lsw_conn_common "$3"
			cat <<-EOF
				left=$(host_addr "$i")
				leftid=@host$i
				leftsubnet=$(host_inner "$i")/32
				right=$(peer_addr "$j")
				rightid=@peer
				rightsubnet=$(peer_inner "$j")/32
			EOF
		} | lsw_indent
	} >"$d/ipsec.conf"
	lsw_start "${HOSTS[i]}" "host$i"
}

# lsw_peer J N IKEV2: pluto of peer J, responder for hosts 1..N
lsw_peer() {
	local j=$1 n=$2 i d=$SWAN_DIR/peer$1
	mkdir -p "$d"
	{
		printf 'config setup\n\tikev1-policy=accept\n'
		for ((i = 1; i <= n; i++)); do
			printf '\nconn host%s\n' "$i"
			{
				lsw_conn_common "$3"
				cat <<-EOF
					left=$(peer_addr "$j")
					leftid=@peer
					leftsubnet=$(peer_inner "$j")/32
					right=%any
					rightid=@host$i
					rightsubnet=$(host_inner "$i")/32
				EOF
			} | lsw_indent
		done
	} >"$d/ipsec.conf"
	lsw_start "${PEERS[j]}" "peer$j"
}

# lsw_up I: host I brings its tunnel up
lsw_up() {
	timeout 60 "$LSW/whack" --ctlsocket "$SWAN_DIR/host$1/pluto.ctl" --initiate --name gw \
		>>"$SWAN_DIR/host$1/initiate.log" 2>&1
}

lsw_stop() { daemon_stop "$1" "$LSW/pluto"; }

# lsw_established NAME N: pluto NAME has N Child SAs up
lsw_established() {
	[ "$(lsw "$1" --trafficstatus 2>/dev/null | grep -c 'type=ESP')" = "$2" ]
}

# peer_dropped NS: packets the insist_on_ike_ports rule dropped
peer_dropped() {
	ip netns exec "$1" iptables -nvxL INPUT | awk '$3 == "DROP" { s += $1 } END { print s + 0 }'
}

# ---- L2TP over IPsec transport mode: strongSwan + xl2tpd + pppd ----

require_l2tp() {
	require_strongswan
	require_cmd xl2tpd pppd
	modprobe -a ppp_generic ppp_async ppp_synctty 2>/dev/null
	[ -e /dev/ppp ] || skip "no /dev/ppp (ppp_generic)"
}

# swan_l2tp_conf NAME LOCAL_ID [remote_addrs = ...]: transport-mode
# connection for L2TP (UDP 1701 both ways), PSK
swan_l2tp_conf() {
	local d=$SWAN_DIR/$1
	swan_conf "$1"
	cat >"$d/swanctl.conf" <<-EOF
	connections {
		l2tp {
			version = 2
			$3
			proposals = aes128gcm16-prfsha256-x25519
			local {
				auth = psk
				id = $2
			}
			remote {
				auth = psk
			}
			children {
				l2tp {
					mode = transport
					local_ts = dynamic[udp/1701]
					remote_ts = dynamic[udp/1701]
					esp_proposals = aes128gcm16
				}
			}
		}
	}
	$(swan_secrets)
	EOF
}

# xl2tpd_start NS NAME: xl2tpd NAME (config written by the caller) in NS,
# with a private /run for its control pipe
xl2tpd_start() {
	local d=$SWAN_DIR/$2
	(ip netns exec "$1" unshare -m sh -c "mount -t tmpfs tmpfs /run && mkdir -p /run/xl2tpd &&
		exec xl2tpd -D -c $d/xl2tpd.conf -p /run/xl2tpd.pid -C /run/xl2tpd/l2tp-control" \
		>>"$d/xl2tpd.log" 2>&1 &)
}

ppp_options() {
	cat <<-EOF
	noauth
	nodefaultroute
	noccp
	nobsdcomp
	nodeflate
	novj
	mtu 1280
	mru 1280
	lcp-echo-interval 0
	logfile $1
	EOF
}

# l2tp_server J: L2TP/IPsec server on peer J (LNS, PPP 10.3.0.1, clients
# from 10.3.0.10)
l2tp_server() {
	local d=$SWAN_DIR/server
	swan_l2tp_conf server server
	ppp_options "$d/ppp.log" >"$d/options"
	cat >"$d/xl2tpd.conf" <<-EOF
	[global]
	port = 1701
	force userspace = yes
	[lns default]
	ip range = 10.3.0.10-10.3.0.20
	local ip = 10.3.0.1
	require authentication = no
	length bit = yes
	pppoptfile = $d/options
	EOF
	swan_start "${PEERS[$1]}" server
	xl2tpd_start "${PEERS[$1]}" server
}

# l2tp_client I J: L2TP/IPsec client on host I toward peer J's server;
# swan_up_l2tp and l2tp_dial bring it up
l2tp_client() {
	local d=$SWAN_DIR/client$1
	swan_l2tp_conf "client$1" "client$1" "remote_addrs = $(peer_addr "$2")"
	ppp_options "$d/ppp.log" >"$d/options"
	echo "ipcp-accept-local" >>"$d/options"
	echo "ipcp-accept-remote" >>"$d/options"
	cat >"$d/xl2tpd.conf" <<-EOF
	[global]
	port = 1701
	force userspace = yes
	[lac server]
	lns = $(peer_addr "$2")
	require authentication = no
	length bit = yes
	autodial = yes
	redial = yes
	redial timeout = 2
	pppoptfile = $d/options
	EOF
	swan_start "${HOSTS[$1]}" "client$1"
}

swan_up_l2tp() {
	swan "client$1" --initiate --child l2tp --timeout 30 >>"$SWAN_DIR/client$1/initiate.log" 2>&1
}

# ppp_addr NS: the local address of NS's ppp0, once PPP is up
ppp_addr() {
	ip -n "$1" -4 -o addr show dev ppp0 2>/dev/null | awk '{ split($4, a, "/"); print a[1] }'
}
ppp_up() { [ -n "$(ppp_addr "$1")" ]; }
