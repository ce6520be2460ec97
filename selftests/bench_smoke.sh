#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The benchmark at a tiny size, so it cannot rot: it runs every
# configuration and prints its table. No timing is asserted.
require() { command -v "$1" >/dev/null || { echo "SKIP: $1 not installed"; exit 4; }; }
require iptables
require ipsecnat
[ -x "$(dirname "$0")/../bench/espgen" ] || { echo "FAIL: bench/espgen not built"; exit 1; }
out=$(BENCH_SMOKE=1 "$(dirname "$0")/../scripts/bench" 2>&1)
rc=$?
echo "$out"
[ $rc = 0 ] || { echo "FAIL: bench exited $rc"; exit 1; }
for line in '^bench: A \(esp\) +[0-9]+ ' '^bench: C \(udp\) +[0-9]+ ' '^bench: D\(1000 SAs\) +[0-9]+ ' \
	'^bench: C/A esp 64 B +[0-9.]+ ' '^bench: C/A udp 64 B +[0-9.]+ ' 'bytes of slab per SA' \
	'SAs created by the flood: 0'; do
	echo "$out" | grep -qE "$line" || { echo "FAIL: no line matching $line"; exit 1; }
done
echo "PASS"
