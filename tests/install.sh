#!/bin/sh
# install.sh: make install DESTDIR=... puts the units, the sysusers.d and
# tmpfiles.d files and the example baton.conf where configure said, each
# naming the paths the installed batond was built with; make uninstall
# then leaves no file behind.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${MAKE:=make}"
# the directories configure chose, from the Makefile's test environment
: "${sbindir:?}" "${docdir:?}"
: "${systemdsystemunitdir=}" "${sysusersdir=}" "${tmpfilesdir=}"
fails=0
ok() { echo "ok - $1"; }
fail() { echo "FAIL - $1"; fails=$((fails + 1)); }

D=$(mktemp -d "${TMPDIR:-/tmp}/baton-install.XXXXXX") || exit 99
trap 'rm -rf "$D"' EXIT
# Run make as its own top level: not a job of the make that runs the tests.
if ! env -u MAKEFLAGS -u MFLAGS $MAKE -s -C "$top_builddir" install \
    DESTDIR="$D" >"$D.log" 2>&1; then
	cat "$D.log"; rm -f "$D.log"
	echo "FAIL - make install DESTDIR=$D"
	exit 1
fi
rm -f "$D.log"

# batond says which paths it was built with; every installed file must
# name the same ones.
batond="$D$sbindir/batond"
[ -x "$batond" ] && ok "batond installed in $sbindir" ||
	fail "no $batond"
help=$("$batond" --help 2>&1)
default() { echo "$help" | sed -n "s/.*$1.*(default \\(.*\\))\$/\\1/p"; }
conf=$(default -c)
sock=$(default -socket)
state=$(default -state-dir)
if [ -n "$conf" ] && [ -n "$sock" ] && [ -n "$state" ]; then
	ok "batond --help: $conf, $sock, $state"
else
	fail "batond --help does not give its default paths:"; echo "$help"
fi

# has FILE LINE: FILE holds LINE as a whole line (runs of blanks as one)
has() {
	if tr -s ' \t' '  ' <"$1" | grep -qxF -- "$2"; then ok "${1#"$D"}: $2"
	else fail "${1#"$D"} lacks the line '$2'"; cat "$1"; fi
}
# generated FILE: installed, and no @name@ left unsubstituted
generated() {
	if [ ! -f "$1" ]; then fail "not installed: ${1#"$D"}"; return 1; fi
	if grep -n '@[a-z_]*@\|\${' "$1"; then
		fail "${1#"$D"} has unexpanded names (above)"
	fi
	return 0
}

if [ -n "$systemdsystemunitdir" ]; then
	unit="$D$systemdsystemunitdir/batond.service"
	if generated "$unit"; then
		has "$unit" "ExecStart=$sbindir/batond -f -c $conf"
		has "$unit" "ConditionPathExists=$conf"
		has "$unit" "ReadWritePaths=$state"
	fi
	unit="$D$systemdsystemunitdir/batond.socket"
	if generated "$unit"; then
		has "$unit" "ListenStream=$sock"
		has "$unit" "ConditionPathExists=$conf"
	fi
else
	n=$(find "$D" -name 'batond.s*' | wc -l)
	[ "$n" -eq 0 ] && ok "configured without units, none installed" ||
		fail "units installed though configured without"
fi
if [ -n "$sysusersdir" ]; then
	f="$D$sysusersdir/baton.conf"
	generated "$f" &&
		has "$f" "u baton - \"baton capability token broker\" $state"
fi
if [ -n "$tmpfilesdir" ]; then
	f="$D$tmpfilesdir/baton.conf"
	if generated "$f"; then
		has "$f" "d $(dirname "$sock") 0755 baton baton -"
		has "$f" "d $state 0700 baton baton -"
		has "$f" "d $state/keys 0700 baton baton -"
	fi
fi
f="$D$docdir/examples/baton.conf"
if generated "$f"; then
	has "$f" "socket $sock"
	has "$f" "state-dir $state"
	has "$f" "agents-file $(dirname "$conf")/agents"
fi
# The example is documentation, never a live configuration.
[ ! -e "$D$conf" ] && ok "nothing installed at $conf" ||
	fail "make install wrote $conf"

if env -u MAKEFLAGS -u MFLAGS $MAKE -s -C "$top_builddir" uninstall \
    DESTDIR="$D" >/dev/null 2>&1; then
	left=$(find "$D" ! -type d)
	[ -z "$left" ] && ok "make uninstall leaves only directories" ||
		{ fail "make uninstall leaves:"; echo "$left"; }
else
	fail "make uninstall DESTDIR=$D"
fi

echo "$fails failed"
[ "$fails" -eq 0 ]
