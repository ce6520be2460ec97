#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The gateway's table is charged to the memory cgroup of whoever made its
# namespace (a container's gateway pays for its own SAs), although entries
# are made in softirq where no task is there to charge. The namespaces are
# made from inside a fresh cgroup, which the test then leaves: nothing but
# the module allocates for it afterwards. An inside host then sprays ESP
# with a new SPI in every packet, making hundreds of outbound SAs: the
# cgroup's unreclaimable slab (memory.stat, counted per object; memory.current
# moves in per-CPU batches of 64 pages) must grow by at least 64 bytes per SA
# within 5 s (memory.stat may lag by one 2 s flush period).
source "$(dirname "$0")/lib.sh"
require_cmd iptables python3

CG=/sys/fs/cgroup
if [ ! -f "$CG/cgroup.controllers" ]; then
	mount -t cgroup2 none "$CG" 2>/dev/null || skip "no cgroup2"
fi
grep -qw memory "$CG/cgroup.controllers" || skip "no memory controller"
echo +memory >"$CG/cgroup.subtree_control" 2>/dev/null
MY=$CG/ipsecnat-$$
mkdir "$MY" || fail "mkdir $MY"
cleanup_extra() {
	echo $$ >"$CG/cgroup.procs" 2>/dev/null
	rmdir "$MY" 2>/dev/null
}

load_module
echo $$ >"$MY/cgroup.procs" || fail "cannot enter $MY"
topo_init 1 1
echo $$ >"$CG/cgroup.procs" || fail "cannot leave $MY"
gw_masquerade
gw_ipsecnat

slab() { awk '$1 == "slab_unreclaimable" { print $2 }' "$MY/memory.stat"; }
sas0=$(ipsecnat_counter sas)
mem0=$(slab)
ip netns exec "${HOSTS[1]}" python3 "$(dirname "$0")/tools/espsend.py" "$(peer_addr 1)" \
	--count 600 --rate 2000 >/dev/null || fail "espsend"
made() { [ $(($(ipsecnat_counter sas) - sas0)) -ge 300 ]; }
busywait 10000 made || fail "the spray made only $(($(ipsecnat_counter sas) - sas0)) SAs"
sas=$(($(ipsecnat_counter sas) - sas0))
# memory.stat is as recent as the last rstat flush: a read flushes only past
# a threshold of pending updates, else a worker flushes every 2 s. Since 6.8
# the threshold counts pages, not bytes (64 per CPU), and these SAs are fewer.
charged() { mem=$(($(slab) - mem0)); [ "$mem" -ge $((sas * 64)) ]; }
t0=${EPOCHREALTIME/./}
busywait 5000 charged
log "$sas SAs made, the namespace maker's cgroup's slab grew by $mem bytes" \
	"(seen after $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms)"
[ "$mem" -ge $((sas * 64)) ] || fail "$sas SAs but the cgroup grew by $mem bytes: not charged"
echo "PASS"
