#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install and make uninstall round trip: DESTDIR and PREFIX honoured
# (on the command line or from the environment), every file where it
# belongs (the iptables extension where iptables looks, with or without
# pkg-config; ipsecnat.service in PREFIX/lib/systemd/system running the
# installed ipsecnat, which systemd-analyze verify accepts when it is there;
# the modprobe.d example in the docs), nothing left behind. The build takes
# the user's CFLAGS,
# CPPFLAGS and LDFLAGS and keeps its own warnings. Works on a private copy
# of the sources and needs no module: it runs on the build host too
# (bash selftests/tool_install.sh).
source "$(dirname "$0")/lib.sh"
require_cmd make cc pkg-config readelf
proj=$(cd "$(dirname "$0")/.." && pwd)
xtdir=$(pkg-config --variable=xtlibdir xtables)
[ -n "$xtdir" ] || skip "pkg-config knows no xtlibdir (libxtables-dev)"
tmp=$(mktemp -d /tmp/ipsecnat-install.XXXXXX)
cleanup_extra() { rm -rf "$tmp"; }
src=$tmp/src
mkdir -p "$src/kmod"
cp -r "$proj/Makefile" "$proj/VERSION" "$proj/userspace" "$proj/man" "$proj/scripts" "$src/"
cp -r "$proj/kmod/uapi" "$src/kmod/"
make -s -C "$src/userspace" clean

log "the build takes CFLAGS, CPPFLAGS and LDFLAGS and keeps its warnings"
flags=(CFLAGS="-O1 -frecord-gcc-switches" CPPFLAGS=-MD LDFLAGS=-Wl,-z,now)
out=$(make -C "$src/userspace" "${flags[@]}" 2>&1) || fail "make ${flags[*]}: $out"
[ "$(make -s -B -n -C "$src/userspace" "${flags[@]}" | grep -c -- '-Wall .*-Werror')" = 2 ] ||
	fail "the project's warnings are lost under make ${flags[*]}"
for f in ipsecnat libxt_IPSECNAT.so; do
	[ -f "$src/userspace/${f%.so}.d" ] || fail "CPPFLAGS=-MD not used for $f"
	readelf -p .GCC.command.line "$src/userspace/$f" | grep -q -- -O1 || fail "CFLAGS not used for $f"
	readelf -d "$src/userspace/$f" | grep -q 'FLAGS.*NOW' || fail "LDFLAGS=-Wl,-z,now not used for $f"
done
[ "$("$src/userspace/ipsecnat" --version)" = "ipsecnat $(cat "$proj/VERSION")" ] ||
	fail "built ipsecnat --version: $("$src/userspace/ipsecnat" --version 2>&1)"

# tree DIR: the files under DIR, as absolute paths inside it
tree() { (cd "$1" && find . -type f -o -type l) | sed 's/^\.//' | sort; }
files() { printf '%s\n' "$1/sbin/ipsecnat" "$xtdir/libxt_IPSECNAT.so" \
	"$1/share/man/man8/ipsecnat.8" "$1/share/man/man8/iptables-ipsecnat.8" \
	"$1/share/bash-completion/completions/ipsecnat" "$1/lib/systemd/system/ipsecnat.service" \
	"$1/share/doc/ipsecnat/ipsecnat.modprobe.conf" | sort; }
# unit_runs ROOT SBINDIR [UNITDIR]: ROOT's unit (in UNITDIR, default
# /usr/lib/systemd/system) runs SBINDIR/ipsecnat
unit_runs() {
	local u=$1${3:-/usr/lib/systemd/system}/ipsecnat.service
	[ "$(grep '^ExecStart=' "$u")" = "ExecStart=$2/ipsecnat import --replace /etc/ipsecnat.json" ] ||
		fail "$u: $(grep '^ExecStart=' "$u")"
	! grep -q @ "$u" || fail "$u: a placeholder is left: $(grep @ "$u")"
	[ "$(stat -c %a "$u")" = 644 ] || fail "$u: mode $(stat -c %a "$u")"
}

log "make install DESTDIR=... PREFIX=/usr, make uninstall"
make -s -C "$src" install DESTDIR="$tmp/a" PREFIX=/usr || fail "make install"
[ "$(tree "$tmp/a")" = "$(files /usr)" ] || fail "installed: $(tree "$tmp/a")"
[ "$("$tmp/a/usr/sbin/ipsecnat" --version)" = "ipsecnat $(cat "$proj/VERSION")" ] ||
	fail "installed ipsecnat --version"
cmp -s "$src/userspace/libxt_IPSECNAT.so" "$tmp/a$xtdir/libxt_IPSECNAT.so" ||
	fail "the installed extension is not the one built"
unit_runs "$tmp/a" /usr/sbin
cmp -s "$src/userspace/ipsecnat.modprobe.conf" "$tmp/a/usr/share/doc/ipsecnat/ipsecnat.modprobe.conf" ||
	fail "the installed modprobe.d example is not the source's"
# an example: nothing in it is active
! grep -v '^#' "$tmp/a/usr/share/doc/ipsecnat/ipsecnat.modprobe.conf" | grep -q . ||
	fail "the modprobe.d example has an active line"
make -s -C "$src" uninstall DESTDIR="$tmp/a" PREFIX=/usr || fail "make uninstall"
[ -z "$(tree "$tmp/a")" ] || fail "make uninstall left: $(tree "$tmp/a")"

log "DESTDIR from the environment, default PREFIX /usr/local"
DESTDIR=$tmp/b make -s -C "$src" install || fail "DESTDIR=... make install"
[ "$(tree "$tmp/b")" = "$(files /usr/local)" ] || fail "installed: $(tree "$tmp/b")"
unit_runs "$tmp/b" /usr/local/sbin /usr/local/lib/systemd/system
DESTDIR=$tmp/b make -s -C "$src" uninstall || fail "DESTDIR=... make uninstall"
[ -z "$(tree "$tmp/b")" ] || fail "make uninstall left: $(tree "$tmp/b")"

log "without pkg-config the extension still goes where iptables looks"
nopc=(PKG_CONFIG=/nonexistent/pkg-config DESTDIR="$tmp/c")
out=$(make -s -C "$src" install "${nopc[@]}" 2>&1) || fail "make install without pkg-config: $out"
[ -z "$out" ] || fail "make install without pkg-config said: $out"
[ "$(tree "$tmp/c")" = "$(files /usr/local)" ] || fail "installed: $(tree "$tmp/c")"
make -s -C "$src" uninstall "${nopc[@]}" || fail "make uninstall without pkg-config"
[ -z "$(tree "$tmp/c")" ] || fail "make uninstall left: $(tree "$tmp/c")"
log "SBINDIR and SYSTEMDUNITDIR: the unit follows"
dirs=(DESTDIR="$tmp/d" SBINDIR=/opt/ipsecnat/bin SYSTEMDUNITDIR=/etc/systemd/system)
make -s -C "$src" install "${dirs[@]}" || fail "make install ${dirs[*]}"
[ -x "$tmp/d/opt/ipsecnat/bin/ipsecnat" ] || fail "SBINDIR not used: $(tree "$tmp/d")"
unit_runs "$tmp/d" /opt/ipsecnat/bin /etc/systemd/system
make -s -C "$src" uninstall "${dirs[@]}" || fail "make uninstall ${dirs[*]}"
[ -z "$(tree "$tmp/d")" ] || fail "make uninstall left: $(tree "$tmp/d")"

log "systemd-analyze verify: the installed unit, its ExecStart there"
# without DESTDIR, so that ExecStart names a file that exists
if ! command -v systemd-analyze >/dev/null; then
	log "no systemd-analyze: not verified"
else
	make -s -C "$src" install PREFIX="$tmp/e" XTLIBDIR="$tmp/e/xtables" || fail "make install PREFIX=$tmp/e"
	unit_runs "$tmp/e" "$tmp/e/sbin" /lib/systemd/system
	unit=$tmp/e/lib/systemd/system/ipsecnat.service
	if out=$(systemd-analyze verify --man=no "$unit" 2>&1); then
		# warnings (an unknown key) do not change the exit status
		! grep -F ipsecnat.service <<<"$out" || fail "systemd-analyze verify $unit: $out"
		log "verified"
	else
		# a stub: can systemd-analyze verify anything here (no systemd
		# running, a read-only root)?
		mkdir -p "$tmp/stub"
		printf '[Unit]\nDescription=stub\n[Service]\nType=oneshot\nExecStart=%s\n' \
			"$(command -v true)" >"$tmp/stub/ipsecnat-stub.service"
		if systemd-analyze verify --man=no "$tmp/stub/ipsecnat-stub.service" >/dev/null 2>&1; then
			fail "systemd-analyze verify $unit: $out"
		fi
		log "systemd-analyze verify does not work here (a stub fails too): not verified"
	fi
	make -s -C "$src" uninstall PREFIX="$tmp/e" XTLIBDIR="$tmp/e/xtables" || fail "make uninstall PREFIX=$tmp/e"
	[ -z "$(tree "$tmp/e")" ] || fail "make uninstall left: $(tree "$tmp/e")"
fi
echo "PASS"
