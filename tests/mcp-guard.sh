#!/bin/sh
# mcp-guard.sh: baton-mcp-guard against a real batond on a temporary
# socket: in front of a real stdio MCP server (tests/mcp-guard.py with
# tests/mcp-server.py), then of a real Streamable HTTP one on 127.0.0.1
# (tests/mcp-guard-http.py with tests/mcp-http-server.py).
# GUARD_VALGRIND=1 runs the guard under valgrind: an error or a leak
# changes its exit status, which the cases check.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$top_srcdir/tests/client-lib.sh"
GUARD="$top_builddir/mcp/baton-mcp-guard"
if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 not installed"
	exit 77
fi
RECV_TIMEOUT=5
if [ "${GUARD_VALGRIND:-0}" = 1 ]; then
	cat >"$T/guard" <<EOV
#!/bin/sh
exec "$top_builddir/libtool" --mode=execute valgrind -q --leak-check=full \
	--errors-for-leak-kinds=definite --error-exitcode=99 "$GUARD" "\$@"
EOV
	chmod +x "$T/guard"
	GUARD="$T/guard"
	RECV_TIMEOUT=60
fi
export GUARD BATON T top_srcdir RECV_TIMEOUT
start_broker
rc=0
python3 -u "$top_srcdir/tests/mcp-guard.py" || rc=1
python3 -u "$top_srcdir/tests/mcp-guard-http.py" || rc=1
exit $rc
