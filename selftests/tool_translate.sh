#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# nftables has no IPSECNAT statement. iptables-translate and
# iptables-restore-translate must not turn the rule into a comment and
# succeed (the translated gateway would be back to the original bug without
# a word): they fail, say why, and name the ipsecnat nat rule that does
# what the rule did. MASQUERADE beside it still translates.
source "$(dirname "$0")/lib.sh"
require_cmd iptables-translate iptables-restore-translate

rule=(-t mangle -A POSTROUTING -o wan0 -j IPSECNAT --to-source 203.0.113.1 --preserve-ike)
out=$(iptables-translate "${rule[@]}" 2>&1) && fail "iptables-translate succeeded: $out"
grep -q "no nftables equivalent" <<<"$out" || fail "iptables-translate gave no reason: $out"
grep -q "ipsecnat nat add dev wan0 to-source 203.0.113.1 preserve-ike$" <<<"$out" ||
	fail "iptables-translate does not name the nat rule that replaces it: $out"

out=$(iptables-translate -t nat -A POSTROUTING -o wan0 -j MASQUERADE 2>&1) ||
	fail "iptables-translate fails on MASQUERADE: $out"
grep -q masquerade <<<"$out" || fail "MASQUERADE not translated: $out"

f=$(mktemp)
cleanup_extra() { rm -f "$f"; }
printf '*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n*mangle\n%s\nCOMMIT\n' \
	"${rule[*]:2}" >"$f"
out=$(iptables-restore-translate -f "$f" 2>&1) && fail "iptables-restore-translate succeeded: $out"
grep -q "no nftables equivalent" <<<"$out" || fail "iptables-restore-translate gave no reason: $out"
echo "PASS"
