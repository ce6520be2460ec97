#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the ipsecnat selftests (kselftest style).
#
# Standard topology (topo_init NHOSTS NPEERS):
#
#   host i (ns)  eth0 10.0.1.i/24, inside tunnel address 10.1.i.1 on lo
#        |
#   gateway (ns) br0 10.0.1.254/24 (LAN bridge)   wan0 203.0.113.1/24 (+ pool)
#                                                    |
#   router (ns)  gw0 203.0.113.254/24               br0 198.51.100.254/24
#                                                    |
#   peer j (ns)  eth0 198.51.100.j/24, tunnel address 10.2.j.1 on lo
#
# tunnel_add i j builds static-key ESP SAs between host i and peer j; the
# peer sees the host behind public address $PUB (or $2 of tunnel_add).

ksft_skip=4
NS_LIST=()
BG_PIDS=()
PUB=203.0.113.1
LAN_PREFIX=10.0.1
PEER_PREFIX=198.51.100
KEY=0x0123456789abcdef0123456789abcdef01234567

log() { echo "# $*"; }
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $*"; exit $ksft_skip; }

require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "$c not installed"
	done
}

cleanup() {
	EXIT_RC=$?	# for cleanup_extra: did the test fail?
	local p n
	declare -F cleanup_extra >/dev/null && cleanup_extra
	# a failure leaves the gateway's side of the story in the log
	[ "$EXIT_RC" -eq 0 ] || [ "$EXIT_RC" -eq "$ksft_skip" ] || [ -z "${GW:-}" ] ||
		{ log_gw_counters; log_gw_evidence; }
	[ ${#PARAMS_SAVED[@]} -eq 0 ] || restore_defaults
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	# whatever still runs inside a namespace would keep it (and its rules,
	# and so the module) alive
	for n in "${NS_LIST[@]}"; do
		ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del "$n" 2>/dev/null
	done
	return 0
}
trap cleanup EXIT

# ns_emptied NS: kill -9 what runs in NS, again each call (a daemon may
# fork while it dies); true once nothing does. Poll it with busywait.
ns_emptied() {
	local pids

	pids=$(ip netns pids "$1")
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086 # one word per pid
	kill -9 $pids 2>/dev/null
	return 1
}

# ns_procs NS: what still runs in NS, as "pid (name) state" (for messages)
ns_procs() {
	local p

	for p in $(ip netns pids "$1"); do
		awk '{ printf "%s %s %s; ", $1, $2, $3 }' "/proc/$p/stat" 2>/dev/null
	done
}

# setup_ns VAR...: create namespaces with unique names, store them in VARs
setup_ns() {
	local var name
	for var in "$@"; do
		name="$var-$(mktemp -u XXXXXX)"
		ip netns add "$name" || fail "ip netns add $name"
		ip -n "$name" link set lo up
		NS_LIST+=("$name")
		printf -v "$var" '%s' "$name"
	done
}

# busywait TIMEOUT_MS CMD...: poll CMD every 100 ms until it succeeds
busywait() {
	local timeout_ms=$1 start=${EPOCHREALTIME/./}
	shift
	while true; do
		"$@" && return 0
		(( (${EPOCHREALTIME/./} - start) / 1000 >= timeout_ms )) && return 1
		sleep 0.1
	done
}

slowwait() { # slowwait TIMEOUT_S CMD...: poll every second
	local i
	for ((i = 0; i < $1; i++)); do
		"${@:2}" && return 0
		sleep 1
	done
	return 1
}

load_module() {
	modprobe ipsecnat || fail "modprobe ipsecnat"
}

# set_default PARAM VALUE: module parameter (default for namespaces created
# after this), restored when the test exits
PARAMS_SAVED=()
set_default() {
	local f=/sys/module/ipsecnat/parameters/$1
	PARAMS_SAVED+=("$1=$(cat "$f")")
	echo "$2" >"$f" || fail "cannot set $1"
}
restore_defaults() {
	local kv
	for kv in "${PARAMS_SAVED[@]}"; do
		echo "${kv#*=}" >"/sys/module/ipsecnat/parameters/${kv%%=*}"
	done
	PARAMS_SAVED=()
}

# veth_pair NS1 IF1 NS2 IF2
veth_pair() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || fail "veth $2/$4"
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

host_addr() { echo "$LAN_PREFIX.$1"; }
host_inner() { echo "10.1.$1.1"; }
peer_addr() { echo "$PEER_PREFIX.$1"; }
peer_inner() { echo "10.2.$1.1"; }

topo_init() {
	local nhosts=$1 npeers=$2 i
	setup_ns GW RT
	ip netns exec "$GW" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$GW" link add br0 type bridge
	ip -n "$GW" addr add "$LAN_PREFIX.254/24" dev br0
	ip -n "$GW" link set br0 up
	veth_pair "$GW" wan0 "$RT" gw0
	ip -n "$GW" addr add "$PUB/24" dev wan0
	ip -n "$RT" addr add 203.0.113.254/24 dev gw0
	ip -n "$GW" route add default via 203.0.113.254
	ip -n "$RT" link add br0 type bridge
	ip -n "$RT" addr add "$PEER_PREFIX.254/24" dev br0
	ip -n "$RT" link set br0 up
	HOSTS=()
	PEERS=()
	for ((i = 1; i <= nhosts; i++)); do
		setup_ns H
		HOSTS[i]=$H
		veth_pair "$H" eth0 "$GW" "lan$i"
		ip -n "$GW" link set "lan$i" master br0
		ip -n "$H" addr add "$(host_addr "$i")/24" dev eth0
		ip -n "$H" addr add "$(host_inner "$i")/32" dev lo
		ip -n "$H" route add default via "$LAN_PREFIX.254"
	done
	for ((i = 1; i <= npeers; i++)); do
		setup_ns P
		PEERS[i]=$P
		veth_pair "$P" eth0 "$RT" "p$i"
		ip -n "$RT" link set "p$i" master br0
		ip -n "$P" addr add "$(peer_addr "$i")/24" dev eth0
		ip -n "$P" addr add "$(peer_inner "$i")/32" dev lo
		ip -n "$P" route add default via "$PEER_PREFIX.254"
	done
}

# gw_with_tunnels NHOSTS NPEERS: the usual start of a test: module,
# topology, MASQUERADE and IPSECNAT rules, a tunnel from every host to
# peer 1, and each host bound (it got a reply through its tunnel)
gw_with_tunnels() {
	local i
	load_module
	topo_init "$1" "$2"
	gw_masquerade
	gw_ipsecnat
	for ((i = 1; i <= $1; i++)); do tunnel_add "$i" 1; done
	for ((i = 1; i <= $1; i++)); do
		busywait 15000 tunnel_ping "$i" 1 || fail "host $i tunnel does not work"
	done
}

# Add public addresses PUB+1 .. to the gateway for a pool: gw_pool_addrs 2
gw_pool_addrs() {
	local i
	for ((i = 2; i <= $1; i++)); do
		ip -n "$GW" addr add "203.0.113.$i/24" dev wan0
	done
}

gw_masquerade() {
	ip netns exec "$GW" iptables -t nat -A POSTROUTING -o wan0 -j MASQUERADE ||
		fail "MASQUERADE rule"
}

# gw_ipsecnat [target options]
gw_ipsecnat() {
	ip netns exec "$GW" iptables -t mangle -A POSTROUTING -o wan0 -j IPSECNAT "$@" ||
		fail "IPSECNAT rule"
}

# A standard stateful gateway: FORWARD policy DROP, replies allowed, LAN out.
gw_stateful() {
	local ipt="ip netns exec $GW iptables"
	$ipt -P FORWARD DROP
	$ipt -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
	$ipt -A FORWARD -i br0 -o wan0 -j ACCEPT
	gw_masquerade
}

# SPIs: outbound ones are picked by the peer, inbound ones by the host;
# both differ per (host, peer, generation) so a misdelivered packet shows up
# as XfrmInNoStates on the host that got it.
spi_out() { printf '0x1%03x%02x%02x' "$2" "$1" "${3:-1}"; }
spi_in() { printf '0x2%03x%02x%02x' "$2" "$1" "${3:-1}"; }
reqid() { echo $(( $1 * 1000 + $2 )); }

# xfrm_sa NS SRC DST SPI REQID MODE: one static-key SA
xfrm_sa() {
	ip -n "$1" xfrm state add src "$2" dst "$3" proto esp spi "$4" reqid "$5" \
		mode "$6" aead 'rfc4106(gcm(aes))' "$KEY" 128 || fail "xfrm state $4 in $1"
}

# tunnel_host_side I J [GEN]: host I's SAs and policies toward peer J.
# Policies are added once per pair; a later GEN adds new SAs (a rekey).
tunnel_host_side() {
	local i=$1 j=$2 g=${3:-1} h=${HOSTS[$1]} r ha hi pa pi
	ha=$(host_addr "$i") hi=$(host_inner "$i") pa=$(peer_addr "$j") pi=$(peer_inner "$j")
	r=$(reqid "$i" "$j")
	xfrm_sa "$h" "$ha" "$pa" "$(spi_out "$i" "$j" "$g")" "$r" tunnel
	xfrm_sa "$h" "$pa" "$ha" "$(spi_in "$i" "$j" "$g")" "$r" tunnel
	[ "$g" = 1 ] || return 0
	ip -n "$h" xfrm policy add src "$hi/32" dst "$pi/32" dir out \
		tmpl src "$ha" dst "$pa" proto esp reqid "$r" mode tunnel
	ip -n "$h" xfrm policy add src "$pi/32" dst "$hi/32" dir in \
		tmpl src "$pa" dst "$ha" proto esp reqid "$r" mode tunnel
}

# tunnel_peer_side I J [GEN] [PUBLIC]: peer J's side; it sees host I as PUBLIC
tunnel_peer_side() {
	local i=$1 j=$2 g=${3:-1} pub=${4:-$PUB} p=${PEERS[$2]} r hi pa pi
	hi=$(host_inner "$i") pa=$(peer_addr "$j") pi=$(peer_inner "$j")
	r=$(reqid "$i" "$j")
	xfrm_sa "$p" "$pub" "$pa" "$(spi_out "$i" "$j" "$g")" "$r" tunnel
	xfrm_sa "$p" "$pa" "$pub" "$(spi_in "$i" "$j" "$g")" "$r" tunnel
	[ "$g" = 1 ] || return 0
	ip -n "$p" xfrm policy add src "$pi/32" dst "$hi/32" dir out \
		tmpl src "$pa" dst "$pub" proto esp reqid "$r" mode tunnel
	ip -n "$p" xfrm policy add src "$hi/32" dst "$pi/32" dir in \
		tmpl src "$pub" dst "$pa" proto esp reqid "$r" mode tunnel
}

# tunnel_add I J [GEN] [PUBLIC]: tunnel-mode SAs host I <-> peer J
tunnel_add() {
	tunnel_host_side "$1" "$2" "${3:-1}"
	tunnel_peer_side "$1" "$2" "${3:-1}" "${4:-$PUB}"
}

# rekey_in I J GEN: both ends install generation GEN's inbound SAs of host I
# <-> peer J (as IKE does before anyone sends on them)
rekey_in() {
	local i=$1 j=$2 g=$3 r
	r=$(reqid "$i" "$j")
	xfrm_sa "${HOSTS[i]}" "$(peer_addr "$j")" "$(host_addr "$i")" "$(spi_in "$i" "$j" "$g")" "$r" tunnel
	xfrm_sa "${PEERS[j]}" "$PUB" "$(peer_addr "$j")" "$(spi_out "$i" "$j" "$g")" "$r" tunnel
}

# rekey_out I J GEN FIRST: then the outbound ones, FIRST (host|peer) first;
# each end sends on its newest SA from then on
rekey_out() {
	local i=$1 j=$2 g=$3 r ha pa so si
	ha=$(host_addr "$i") pa=$(peer_addr "$j") r=$(reqid "$i" "$j")
	so=$(spi_out "$i" "$j" "$g") si=$(spi_in "$i" "$j" "$g")
	if [ "$4" = host ]; then
		xfrm_sa "${HOSTS[i]}" "$ha" "$pa" "$so" "$r" tunnel
		xfrm_sa "${PEERS[j]}" "$pa" "$PUB" "$si" "$r" tunnel
	else
		xfrm_sa "${PEERS[j]}" "$pa" "$PUB" "$si" "$r" tunnel
		xfrm_sa "${HOSTS[i]}" "$ha" "$pa" "$so" "$r" tunnel
	fi
}

# tunnel_rekey I J GEN FIRST: new SAs the way IKE installs them, inbound
# ones first on both sides, then the outbound ones, FIRST (host|peer) first.
tunnel_rekey() {
	rekey_in "$1" "$2" "$3"
	rekey_out "$1" "$2" "$3" "$4"
}

# rekey_storm GEN STYLE FIRST I...: hosts I... rekey with peer 1 at once:
# every new inbound SA first, then all outbound ones (STYLE seq: one host
# after another, STORM_GAP seconds apart, as randomised lifetimes spread
# rekeys). FIRST is host, peer,
# or mixed (odd hosts peer first, even hosts host first). STYLE par: each
# host's outbound pair in order, all hosts in background jobs at once;
# batch: two steps, each the peer's SAs in one `ip -batch` beside the hosts'
# SAs in background jobs (the first of every pair, then the second).
# REKEY_T0 (microseconds) is when the outbound switch started.
rekey_storm() {
	local g=$1 style=$2 first=$3 i f step pids=() p peerb
	shift 3
	for i in "$@"; do rekey_in "$i" 1 "$g"; done
	REKEY_T0=${EPOCHREALTIME/./}
	if [ "$style" = seq ]; then	# one host after another, STORM_GAP s apart
		for i in "$@"; do
			f=$first
			[ "$f" = mixed ] && { f=host; ((i % 2)) && f=peer; }
			rekey_out "$i" 1 "$g" "$f"
			sleep "${STORM_GAP:-0.5}"
		done
		return
	fi
	for step in 1 2; do
		peerb=""
		for i in "$@"; do
			f=$first
			[ "$f" = mixed ] && { f=host; ((i % 2)) && f=peer; }
			if [ "$style" = par ]; then
				[ $step = 1 ] || continue
				rekey_out "$i" 1 "$g" "$f" &
				pids+=($!)
			elif [ "$f$step" = peer1 ] || [ "$f$step" = host2 ]; then
				peerb+="xfrm state add src $(peer_addr 1) dst $PUB proto esp spi $(spi_in "$i" 1 "$g") reqid $(reqid "$i" 1) mode tunnel aead rfc4106(gcm(aes)) $KEY 128"$'\n'
			else
				xfrm_sa "${HOSTS[i]}" "$(host_addr "$i")" "$(peer_addr 1)" \
					"$(spi_out "$i" 1 "$g")" "$(reqid "$i" 1)" tunnel &
				pids+=($!)
			fi
		done
		[ -z "$peerb" ] || ip -n "${PEERS[1]}" -batch - <<<"$peerb" || fail "peer SAs of generation $g"
		for p in "${pids[@]}"; do wait "$p" || fail "outbound SAs of generation $g"; done
		pids=()
	done
}

# storm_round WHAT STYLE FIRST I...: the next generation (STORM_GEN, from 1)
# of rekey_storm for hosts I..., each of which must rebind within 15 s;
# late hosts are added to STORM_BAD; STORM_SAS counts the SAs it made
STORM_GEN=1
STORM_BAD=""
STORM_SAS=0
storm_round() {
	local what=$1 style=$2 first=$3
	shift 3
	STORM_GEN=$((STORM_GEN + 1))
	STORM_SAS=$((STORM_SAS + 2 * $#))
	rekey_storm "$STORM_GEN" "$style" "$first" "$@"
	wait_rebind "$STORM_GEN" 15 "$@"
	log "$what: $(($# - ${#LATE[@]}))/$# rebound, slowest after $REBIND_S s (sas $(ipsecnat_counter sas), held_back $(ipsecnat_counter held_back))"
	# STORM_MEASURED: a round only logged (hosts rekeying inside each
	# other's pair windows may be held: README "Limits")
	[ ${#LATE[@]} -eq 0 ] || [ -n "${STORM_MEASURED:-}" ] ||
		STORM_BAD+=" $what: hosts ${LATE[*]} not rebound within 15 s;"
}

# forged_round I: host I rekeys peer first; 0.2 s after the peer switched a
# WAN sender in namespace FWAN forging the peer sends one SPI (rising
# sequence numbers, 200 a second) for 3 s, and host I switches 0.5 s after
# the peer. Host I pairs with both SPIs (and an inside sprayer, if any, with
# neither): the forged SPI must not win, nor host I's new SPI go to anyone
# else by elimination; host I rebinds within 15 s.
forged_round() {
	local i=$1 g
	STORM_GEN=$((STORM_GEN + 1))
	g=$STORM_GEN
	rekey_in "$i" 1 "$g"
	REKEY_T0=${EPOCHREALTIME/./}
	xfrm_sa "${PEERS[1]}" "$(peer_addr 1)" "$PUB" "$(spi_in "$i" 1 "$g")" "$(reqid "$i" 1)" tunnel
	sleep 0.2
	esp_spray "$FWAN" "$PUB" --src "$(peer_addr 1)" --spi "$(printf '0xdead%04x' "$g")" \
		--count 0 --rate 200
	sleep 0.3
	xfrm_sa "${HOSTS[i]}" "$(host_addr "$i")" "$(peer_addr 1)" "$(spi_out "$i" 1 "$g")" \
		"$(reqid "$i" 1)" tunnel
	sleep 3
	kill "$SPRAY_PID"
	wait "$SPRAY_PID"
	wait_rebind "$g" 15 "$i"
	log "forged SPI beside host $i's peer-first rekey: ${LATE[*]:-rebound}"
	[ ${#LATE[@]} -eq 0 ] || STORM_BAD+=" forged SPI beside host $i: not rebound within 15 s;"
	check_no_misdelivery "${HOSTS[@]}"
}

# xfrm_sa_use NS: "SPI PACKETS FIRST-USE" for each SA of NS (FIRST-USE in
# seconds since the epoch, 0 if never used)
xfrm_sa_use() {
	ip -n "$1" -s xfrm state | awk '
		$1 == "proto" && $2 == "esp" { spi = $4; sub(/\(.*/, "", spi) }
		/lifetime current:/ {
			getline; split($1, a, "("); pk = a[1]
			getline; u = 0
			if ($5 != "-") { t = $5 " " $6; gsub(/[-:]/, " ", t); u = mktime(t) }
			print spi, pk, u
		}'
}

# wait_rebind GEN TIMEOUT_S I...: wait until every host I carries traffic
# both ways on its generation-GEN SAs with peer 1: its new inbound SA and
# the peer's SA for its new outbound SPI both received ESP. The kernel's
# first-use times of those SAs (seconds) say when, so slow polling does not
# count: a host is late if either came more than TIMEOUT_S after REKEY_T0.
# Logs each host's time; LATE lists the late hosts (return 1 then),
# REBIND_S is the slowest in time.
wait_rebind() {
	local g=$1 t=$2 i next left=("${@:3}") last=0 t0=$((REKEY_T0 / 1000000)) ps u1 u2 d
	LATE=()
	REBIND_S=0
	while ((${#left[@]})); do
		((EPOCHSECONDS > t0 + t)) && last=1	# all first uses in time are visible now
		ps=$(xfrm_sa_use "${PEERS[1]}")
		next=()
		for i in "${left[@]}"; do
			u1=$(xfrm_sa_use "${HOSTS[i]}" | awk -v s="$(spi_in "$i" 1 "$g")" '$1 == s { print $3 }')
			u2=$(awk -v s="$(spi_out "$i" 1 "$g")" '$1 == s { print $3 }' <<<"$ps")
			if [ "${u1:-0}" -gt 0 ] && [ "${u2:-0}" -gt 0 ]; then
				d=$(( (u1 > u2 ? u1 : u2) - t0 ))
				log "host $i rebound after $d s"
				((d <= t)) || LATE+=("$i")
				((d <= REBIND_S)) || REBIND_S=$d
			else
				next+=("$i")
			fi
		done
		left=("${next[@]}")
		((last)) && break
		sleep 0.5
	done
	for i in "${left[@]}"; do
		log "host $i not rebound; the gateway binds its new SPI $(spi_in "$i" 1 "$g") to $(spi_owner "$(spi_in "$i" 1 "$g")")"
	done
	LATE+=("${left[@]}")
	[ ${#LATE[@]} -eq 0 ]
}

# tunnel_del_gen I J GEN: remove one generation of SAs (after a rekey)
tunnel_del_gen() {
	local i=$1 j=$2 g=$3 pub=${4:-$PUB}
	local h=${HOSTS[i]} p=${PEERS[j]} ha pa
	ha=$(host_addr "$i") pa=$(peer_addr "$j")
	ip -n "$h" xfrm state del src "$ha" dst "$pa" proto esp spi "$(spi_out "$i" "$j" "$g")"
	ip -n "$h" xfrm state del src "$pa" dst "$ha" proto esp spi "$(spi_in "$i" "$j" "$g")"
	ip -n "$p" xfrm state del src "$pub" dst "$pa" proto esp spi "$(spi_out "$i" "$j" "$g")"
	ip -n "$p" xfrm state del src "$pa" dst "$pub" proto esp spi "$(spi_in "$i" "$j" "$g")"
}

# tunnel_ping I J [COUNT]: COUNT pings host I -> peer J through the tunnel
tunnel_ping() {
	ip netns exec "${HOSTS[$1]}" ping -q -c "${3:-1}" -i 0.2 -W 1 \
		-I "$(host_inner "$1")" "$(peer_inner "$2")" >/dev/null 2>&1
}

# peer_ping J I [COUNT]: the peer starts the traffic
peer_ping() {
	ip netns exec "${PEERS[$1]}" ping -q -c "${3:-1}" -i 0.2 -W 1 \
		-I "$(peer_inner "$1")" "$(host_inner "$2")" >/dev/null 2>&1
}

# bg_pings I...: pings every 0.2 s from each host I to peer 1 and back through
# their tunnels, until the test ends
bg_pings() {
	local i
	for i in "$@"; do
		ip netns exec "${HOSTS[i]}" ping -q -i 0.2 -I "$(host_inner "$i")" "$(peer_inner 1)" \
			>/dev/null 2>&1 &
		BG_PIDS+=($!)
		ip netns exec "${PEERS[1]}" ping -q -i 0.2 -I "$(peer_inner 1)" "$(host_inner "$i")" \
			>/dev/null 2>&1 &
		BG_PIDS+=($!)
	done
}

# wan_mtu MTU: the path from the router to peer 1 gets a small MTU
wan_mtu() {
	ip -n "$RT" link set p1 mtu "$1"
	ip -n "$RT" link set br0 mtu "$1"
	ip -n "${PEERS[1]}" link set eth0 mtu "$1"
}

# big_ping I: one 1400-byte ping from host I to peer 1 through the tunnel
big_ping() {
	ip netns exec "${HOSTS[$1]}" ping -q -c 1 -W 1 -s 1400 \
		-I "$(host_inner "$1")" "$(peer_inner 1)" >/dev/null 2>&1
}

# xfrm_stat NS FIELD
xfrm_stat() {
	ip netns exec "$1" awk -v f="$2" '$1 == f { print $2 }' /proc/net/xfrm_stat
}

# ns_name NS: "host I" or "peer J" for a namespace of the topology, else NS
ns_name() {
	local i
	for i in "${!HOSTS[@]}"; do [ "${HOSTS[i]}" = "$1" ] && { echo "host $i"; return; }; done
	for i in "${!PEERS[@]}"; do [ "${PEERS[i]}" = "$1" ] && { echo "peer $i"; return; }; done
	echo "$1"
}

# Every host and peer (or each NS given) received only its own ESP: no SPI
# it does not know, no integrity failures (a foreign SA's packet fails them).
# Fails naming every namespace and counter that is not 0.
check_no_misdelivery() {
	local ns f v list=("$@") bad=""
	[ $# -gt 0 ] || list=("${HOSTS[@]}" "${PEERS[@]}")
	for ns in "${list[@]}"; do
		for f in XfrmInNoStates XfrmInStateProtoError XfrmInStateInvalid XfrmInTmplMismatch; do
			v=$(xfrm_stat "$ns" "$f")
			[ "${v:-0}" = 0 ] || bad+=" $(ns_name "$ns"): $f=$v;"
		done
	done
	[ -z "$bad" ] || fail "misdelivered ESP:$bad"
}

# UDP datagrams NS dropped for a bad checksum (a wrong NAT rewrite)
udp_csum_errors() {
	ip netns exec "$1" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) f[$i] = i; h = 1 } else print $f["InCsumErrors"] }' /proc/net/snmp
}

# ESP packets the host's inbound SA for peer J (generation G) received
sa_packets_in() {
	local i=$1 j=$2 g=${3:-1}
	ip -n "${HOSTS[i]}" -s xfrm state get src "$(peer_addr "$j")" dst "$(host_addr "$i")" \
		proto esp spi "$(spi_in "$i" "$j" "$g")" 2>/dev/null |
		awk '/lifetime current:/ { getline; split($2, a, "("); print a[1]; exit }'
}

# ESP packets peer J's inbound SA from host I (generation G) received
peer_sa_packets_in() {
	local i=$1 j=$2 g=${3:-1}
	ip -n "${PEERS[j]}" -s xfrm state get src "$PUB" dst "$(peer_addr "$j")" \
		proto esp spi "$(spi_out "$i" "$j" "$g")" 2>/dev/null |
		awk '/lifetime current:/ { getline; split($2, a, "("); print a[1]; exit }'
}

# spi_owner SPI: the inside host the gateway bound inbound SPI to, or none
spi_owner() {
	ip netns exec "$GW" awk -v s="spi=$1" '$1 == "in" && $5 == s { sub("host=", "", $2); print $2; f = 1 }
		END { if (!f) print "none" }' /proc/net/ipsecnat_sas
}

# binding_pub I J: the public address the gateway bound host I to toward peer J
binding_pub() {
	ip netns exec "$GW" awk -v h="host=$(host_addr "$1")" -v p="peer=$(peer_addr "$2")" \
		'$1 == "out" && $2 == h && $3 == p { sub("pub=", "", $4); print $4; exit }' \
		/proc/net/ipsecnat_sas
}

# ipsecnat_counter NAME: a counter of the gateway's /proc/net/ipsecnat
ipsecnat_counter() {
	ip netns exec "$GW" awk -v f="$1" '$1 == f { print $2 }' /proc/net/ipsecnat
}

# conntrack statistic summed over CPUs in namespace NS: ct_stat NS insert_failed
ct_stat() {
	ip netns exec "$1" conntrack -S 2>/dev/null |
		awk -v f="$2" '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) s += kv[2] } } END { print s + 0 }'
}

# ESP conntrack entries of inside hosts in the gateway
ct_esp_entries() {
	ip netns exec "$GW" conntrack -L -p 50 2>/dev/null | grep -c "src=$LAN_PREFIX\."
}

# counter_is NAME OP VALUE: for polling, e.g. busywait 5000 counter_is learned -ge 2
counter_is() {
	local v
	v=$(ipsecnat_counter "$1")
	[ "${v:-0}" "$2" "$3" ]
}

# is_bound I J: host I has a binding toward peer J
is_bound() { [ -n "$(binding_pub "$1" "$2")" ]; }

# learned_total: inbound SPIs bound by any learning rule (see learn.c)
learned_total() {
	ip netns exec "$GW" awk '$1 ~ /^(learned|learned_pair|learned_ike|rekey_peer)$/ { s += $2 }
		END { print s + 0 }' /proc/net/ipsecnat
}

# learn_counters: the learning counters on one line, for logs
learn_counters() {
	ip netns exec "$GW" awk '$1 ~ /^(learned|learned_pair|learned_ike|rekey_peer|held_back|ambiguous|strangers_full|ike_paced|foreign_iface|sas)$/ {
		printf "%s=%s ", $1, $2 }' /proc/net/ipsecnat
}

expect_learned() { # expect_learned OP VALUE
	local v
	v=$(learned_total)
	[ "$v" "$1" "$2" ] || fail "learned $v SPIs, expected $1 $2 ($(learn_counters))"
}

expect_counter() { # expect_counter NAME OP VALUE
	local v
	v=$(ipsecnat_counter "$1")
	[ "${v:-0}" "$2" "$3" ] || fail "counter $1=$v, expected $2 $3"
}

# log_gw_counters: the gateway's SA count and counters, into the test log
log_gw_counters() {
	log "gateway counters: $(ip netns exec "$GW" cat /proc/net/ipsecnat 2>/dev/null | tr '\n' ' ')"
}

# a failure's evidence: who the gateway bound each SPI to, its ESP
# conntrack entries, and which SPIs every endpoint had and received
log_gw_evidence() {
	local ns
	log "gateway bindings:"
	ip netns exec "$GW" cat /proc/net/ipsecnat_sas 2>/dev/null | sed 's/^/#   /'
	log "gateway ESP conntrack entries:"
	ip netns exec "$GW" conntrack -L -p 50 2>/dev/null | sed 's/^/#   /'
	for ns in "${HOSTS[@]}" "${PEERS[@]}"; do
		log "$(ns_name "$ns"): XfrmInNoStates=$(xfrm_stat "$ns" XfrmInNoStates)"
		ip -n "$ns" -s xfrm state 2>/dev/null |
			awk '/^src/ { s = $2 " > " $4 } /proto esp spi/ { sp = $4 } /lifetime current:/ { getline; print "#   " s " spi " sp " " $1 " " $2 }'
	done
}

# extra_ns VAR wan|lan ADDR: one more namespace VAR with ADDR/24 on the
# router's br0 (wan, beside the peers) or the gateway's br0 (lan, beside the
# hosts), default route via that bridge: a sender of forged traffic
extra_ns() {
	local br=$RT via=$PEER_PREFIX.254 ifname=x${#NS_LIST[@]} ns
	[ "$2" = lan ] && br=$GW via=$LAN_PREFIX.254
	setup_ns "$1"
	ns=${!1}
	veth_pair "$ns" eth0 "$br" "$ifname"
	ip -n "$br" link set "$ifname" master br0
	ip -n "$ns" addr add "$3/24" dev eth0
	ip -n "$ns" route add default via "$via"
}

# tx_packets NS: packets NS sent on eth0
tx_packets() {
	ip netns exec "$1" cat /sys/class/net/eth0/statistics/tx_packets
}

# esp_spray NS ARGS...: tools/espsend.py ARGS in NS in the background (killed
# when the test ends); SPRAY_PID is its pid. Stopped, it logs what it sent.
esp_spray() {
	local ns=$1
	shift
	ip netns exec "$ns" python3 "$(dirname "$0")/tools/espsend.py" "$@" &
	SPRAY_PID=$!
	BG_PIDS+=("$SPRAY_PID")
}
