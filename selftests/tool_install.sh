#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make install and make uninstall round trip: DESTDIR and PREFIX honoured
# (on the command line or from the environment), every file where it
# belongs (the iptables extension where iptables looks, with or without
# pkg-config), nothing left behind. The build takes the user's CFLAGS,
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
	"$1/share/bash-completion/completions/ipsecnat" | sort; }

log "make install DESTDIR=... PREFIX=/usr, make uninstall"
make -s -C "$src" install DESTDIR="$tmp/a" PREFIX=/usr || fail "make install"
[ "$(tree "$tmp/a")" = "$(files /usr)" ] || fail "installed: $(tree "$tmp/a")"
[ "$("$tmp/a/usr/sbin/ipsecnat" --version)" = "ipsecnat $(cat "$proj/VERSION")" ] ||
	fail "installed ipsecnat --version"
cmp -s "$src/userspace/libxt_IPSECNAT.so" "$tmp/a$xtdir/libxt_IPSECNAT.so" ||
	fail "the installed extension is not the one built"
make -s -C "$src" uninstall DESTDIR="$tmp/a" PREFIX=/usr || fail "make uninstall"
[ -z "$(tree "$tmp/a")" ] || fail "make uninstall left: $(tree "$tmp/a")"

log "DESTDIR from the environment, default PREFIX /usr/local"
DESTDIR=$tmp/b make -s -C "$src" install || fail "DESTDIR=... make install"
[ "$(tree "$tmp/b")" = "$(files /usr/local)" ] || fail "installed: $(tree "$tmp/b")"
DESTDIR=$tmp/b make -s -C "$src" uninstall || fail "DESTDIR=... make uninstall"
[ -z "$(tree "$tmp/b")" ] || fail "make uninstall left: $(tree "$tmp/b")"

log "without pkg-config the extension still goes where iptables looks"
nopc=(PKG_CONFIG=/nonexistent/pkg-config DESTDIR="$tmp/c")
out=$(make -s -C "$src" install "${nopc[@]}" 2>&1) || fail "make install without pkg-config: $out"
[ -z "$out" ] || fail "make install without pkg-config said: $out"
[ "$(tree "$tmp/c")" = "$(files /usr/local)" ] || fail "installed: $(tree "$tmp/c")"
make -s -C "$src" uninstall "${nopc[@]}" || fail "make uninstall without pkg-config"
[ -z "$(tree "$tmp/c")" ] || fail "make uninstall left: $(tree "$tmp/c")"
echo "PASS"
