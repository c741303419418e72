#!/bin/sh
# tests/node.sh: the Node package's tests (bindings/node/test, node's own
# test runner) against the batond of this build.  The package is copied
# into the build tree, so a VPATH or distcheck build leaves the source
# tree alone, and its locked dependencies are installed there with
# `npm ci` from the npm registry; a second run with an unchanged lockfile
# reuses them and needs no network.  Skips (77) without node or npm.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
src="$top_srcdir/bindings/node"
work="$top_builddir/tests/node-work"

for tool in node npm; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool not found; scripts/deps installs nodejs and npm"
		exit 77
	fi
done
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
	echo "SKIP: node $(node --version) is older than 18"
	exit 77
fi
BATOND="$top_builddir/broker/batond"
[ -x "$BATOND" ] || BATOND="$top_builddir/batond"
if [ ! -x "$BATOND" ]; then
	echo "SKIP: batond not built"
	exit 77
fi

mkdir -p "$work"
rm -rf "$work/src" "$work/test"
cp -R "$src/src" "$src/test" "$work/"
cp "$src/package.json" "$src/package-lock.json" "$work/"
chmod -R u+w "$work"	# distcheck's source tree is read-only
if ! cmp -s "$work/package-lock.json" "$work/node_modules/.baton-lock" 2>/dev/null; then
	rm -rf "$work/node_modules"
	if ! (cd "$work" && npm ci --no-audit --no-fund --loglevel=error \
	    >"$work/npm-ci.log" 2>&1); then
		cat "$work/npm-ci.log"
		echo "SKIP: npm ci could not install bindings/node's locked" \
		    "dependencies (no access to the npm registry?)"
		exit 77
	fi
	cp "$work/package-lock.json" "$work/node_modules/.baton-lock"
fi

BATOND=$(cd "$(dirname "$BATOND")" && pwd)/$(basename "$BATOND")
BATON_SRCDIR=$(cd "$top_srcdir" && pwd)
export BATOND BATON_SRCDIR
cd "$work" || exit 99
node --test --test-reporter=tap test/*.test.js >"$work/node-test.log" 2>&1
rc=$?
# node's summary lines, and each failure in full
grep -E '^not ok|^# (tests|pass|fail|cancelled|skipped|todo|duration_ms) ' \
    "$work/node-test.log"
if [ $rc -ne 0 ]; then
	cat "$work/node-test.log"
	exit 1
fi
exit 0
