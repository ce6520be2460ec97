#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run selftests/*.sh (or those named, separated by commas) and print one TAP
# line each. selftests/soak/ holds long soaks, run only by name
# (make check T=soak/ike_rekey_soak).
# Exit code 0 = pass, 4 = skip, anything else = fail.
cd "$(dirname "$0")" || exit 1
if [ $# -gt 0 ]; then
	IFS=, read -ra tests <<<"$1"
	tests=("${tests[@]/%.sh/}")
	tests=("${tests[@]/%/.sh}")
else
	mapfile -t tests < <(ls [a-z]*.sh | grep -vx -e lib.sh -e lib_ike.sh -e run.sh)
fi
per_test_timeout=${SELFTEST_TIMEOUT:-900}
echo "TAP version 13"
echo "1..${#tests[@]}"
n=0
for t in "${tests[@]}"; do
	n=$((n + 1))
	log=../build/vm/$t.log
	mkdir -p "$(dirname "$log")"	# soak/ tests log under build/vm/soak/
	start=$SECONDS
	timeout -k 10 "$per_test_timeout" bash "./$t" >"$log" 2>&1
	rc=$?
	dur=$((SECONDS - start))
	case $rc in
	0) echo "ok $n ${t%.sh} # ${dur}s" ;;
	4) echo "ok $n ${t%.sh} # SKIP $(tail -n 1 "$log")" ;;
	*) cp "$log" "$log.failed-$n"	# a repeated test keeps each failure
	   # an earlier batch's copy would take this one inside it
	   rm -rf "${log%.log}.ike.failed-$n"
	   [ ! -d "${log%.log}.ike" ] || cp -r "${log%.log}.ike" "${log%.log}.ike.failed-$n"
	   echo "not ok $n ${t%.sh} # exit $rc after ${dur}s, log build/vm/$t.log.failed-$n"
	   # why first: the evidence a failing test logs can push it out of the tail
	   grep -m 3 '^FAIL' "$log" | sed 's/^/#   /'
	   tail -n 15 "$log" | sed 's/^/#   /' ;;
	esac
done
