#!/bin/sh
# mcp-guard.sh: baton-mcp-guard against a real batond on a temporary
# socket, in front of a real stdio MCP server (tests/mcp-server.py); the
# cases are in tests/mcp-guard.py.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$top_srcdir/tests/client-lib.sh"
GUARD="$top_builddir/mcp/baton-mcp-guard"
if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: python3 not installed"
	exit 77
fi
start_broker
GUARD="$GUARD" BATON="$BATON" T="$T" top_srcdir="$top_srcdir" \
	python3 "$top_srcdir/tests/mcp-guard.py"
