#!/bin/sh
# python.sh: the Python binding's pytest suite (bindings/python/tests)
# with this build's libbaton-agent, libbaton-verify and batond.  Uses
# Debian's /usr/bin/python3, for which python3-pytest, python3-fastapi and
# python3-httpx are installed (scripts/deps); PYTHON overrides it.
# Skips (exit 77), saying why, when pytest or the shared libraries are
# missing; a run that collects no tests fails.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
PYTHON=${PYTHON:-/usr/bin/python3}

if ! "$PYTHON" -c 'import pytest' 2>/dev/null; then
	echo "SKIP: pytest is not installed for $PYTHON" \
	    "(Debian: apt-get install python3-pytest, or run scripts/deps)"
	exit 77
fi
BATON_LIBDIR="$top_builddir/libclient/.libs"
if [ ! -e "$BATON_LIBDIR/libbaton-agent.so.0" ] ||
    [ ! -e "$BATON_LIBDIR/libbaton-verify.so.0" ]; then
	echo "SKIP: no shared libbaton-agent.so.0 and libbaton-verify.so.0" \
	    "in $BATON_LIBDIR (configured with --disable-shared?)"
	exit 77
fi
BATOND="$top_builddir/batond"
[ -x "$BATOND" ] || BATOND="$top_builddir/broker/batond"

# A sanitizer build's libraries need the ASan runtime loaded first, which
# python itself is not linked with.
for rt in $(ldd "$BATON_LIBDIR/libbaton-agent.so.0" 2>/dev/null |
    sed -n 's/^[[:space:]]*lib\(asan\|ubsan\)\.so[^ ]* => \([^ ]*\) .*/\2/p'); do
	LD_PRELOAD="${LD_PRELOAD:+$LD_PRELOAD:}$rt"
	export LD_PRELOAD
	# python's own allocations are not ours to report
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	export ASAN_OPTIONS
done

PYTHONPATH="$top_srcdir/bindings/python${PYTHONPATH:+:$PYTHONPATH}"
# no bytecode or cache files in a source tree that may be read-only
PYTHONDONTWRITEBYTECODE=1
export BATON_LIBDIR BATOND PYTHONPATH PYTHONDONTWRITEBYTECODE top_srcdir
unset BATON_SOCKET

echo "python.sh: $PYTHON, libraries from $BATON_LIBDIR"
"$PYTHON" -m pytest -p no:cacheprovider -ra \
    "$top_srcdir/bindings/python/tests"
rc=$?
case $rc in
0) ;;
5) echo "FAIL: pytest collected no tests"; rc=1 ;;
77|99) rc=1 ;;		# never mistaken for automake's skip or hard error
esac
exit $rc
