#!/bin/sh
# tests/e2e.sh: end to end with software nobody here wrote: the official
# MCP TypeScript SDK's client talking to @modelcontextprotocol/server-everything
# through baton-mcp-guard, against a real batond on a temporary socket
# (tests/e2e/test, node's own test runner), over stdio and, with --listen,
# Streamable HTTP on 127.0.0.1.  tests/e2e is copied into the
# build tree, so a VPATH or distcheck build leaves the source tree alone,
# and its locked dependencies are installed there with `npm ci` from the
# npm registry; a second run with an unchanged lockfile reuses them and
# needs no network.  Skips (77) without node or npm or the registry.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
top_builddir=$(cd "$top_builddir" && pwd)
src="$top_srcdir/tests/e2e"
work="$top_builddir/tests/e2e-work"
GUARD="$top_builddir/mcp/baton-mcp-guard"

for tool in node npm; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool not found; scripts/deps installs nodejs and npm"
		exit 77
	fi
done
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
	echo "SKIP: node $(node --version) is older than 20"
	exit 77
fi
if [ ! -x "$GUARD" ]; then
	echo "SKIP: baton-mcp-guard not built"
	exit 77
fi

mkdir -p "$work"
rm -rf "$work/test"
cp -R "$src/test" "$work/"
cp "$src/package.json" "$src/package-lock.json" "$work/"
chmod -R u+w "$work"	# distcheck's source tree is read-only
if ! cmp -s "$work/package-lock.json" "$work/node_modules/.baton-lock" 2>/dev/null; then
	rm -rf "$work/node_modules"
	if ! (cd "$work" && npm ci --no-audit --no-fund --loglevel=error \
	    >"$work/npm-ci.log" 2>&1); then
		cat "$work/npm-ci.log"
		echo "SKIP: npm ci could not install tests/e2e's locked" \
		    "dependencies (no access to the npm registry?)"
		exit 77
	fi
	cp "$work/package-lock.json" "$work/node_modules/.baton-lock"
fi

. "$top_srcdir/tests/client-lib.sh"
start_broker
GUARD=$(cd "$(dirname "$GUARD")" && pwd)/$(basename "$GUARD")
BATON=$(cd "$(dirname "$BATON")" && pwd)/$(basename "$BATON")
export GUARD BATON BATON_SOCKET T
cd "$work" || exit 99
node --test --test-concurrency=1 --test-reporter=tap test/*.test.js \
    >"$work/e2e-test.log" 2>&1
rc=$?
# node's summary lines, and each failure in full
grep -E '^not ok|^# (tests|pass|fail|cancelled|skipped|todo|duration_ms) ' \
    "$work/e2e-test.log"
if [ $rc -ne 0 ]; then
	cat "$work/e2e-test.log"
	echo "batond's log:"; cat "$T/batond.log"
	exit 1
fi
exit 0
