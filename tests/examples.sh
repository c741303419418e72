#!/bin/sh
# examples.sh: examples/orchestrator builds the root -> A -> B chain against
# a real broker; examples/toolserver verifies B's presented token and serves
# no more than the effective max_rows (100), exactly once.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$top_srcdir/tests/client-lib.sh"
ORCH="$top_builddir/examples/orchestrator"
TOOL="$top_builddir/examples/toolserver"
start_broker

"$ORCH" -o "$T/presented" >"$T/tree" 2>"$T/err"
check "orchestrator" 0 $?
cat "$T/tree"
for want in "mint by orchestrator for alice" "max_rows<=1000" \
    "attenuate by orchestrator -> worker-a" "max_rows<=100" \
    "attenuate by worker-a -> worker-b" "present by worker-b to db" \
    "effective: depth 3"; do
	grep -q -- "$want" "$T/tree"
	check "tree shows '$want'" 0 $?
done
grep -q 'bt1_' "$T/tree"
check "no token printed" 1 $?

"$TOOL" -n 500 <"$T/presented" >"$T/out" 2>&1
check "toolserver allows" 0 $?
cat "$T/out"
grep -q "serving 100 (max_rows 100)" "$T/out"
check "toolserver enforces max_rows 100" 0 $?
grep -q "depth 3" "$T/out"
check "toolserver sees depth 3" 0 $?
"$TOOL" -n 20 <"$T/presented" >"$T/out" 2>&1
check "presented token is single-use" 1 $?
grep -q "replayed" "$T/out"
check "second use is a replay" 0 $?

# a second run must work too: every block gets a fresh jti
"$ORCH" -o "$T/presented2" >/dev/null 2>&1
check "orchestrator again" 0 $?
"$TOOL" -n 20 <"$T/presented2" >"$T/out" 2>&1
check "toolserver serves fewer rows than the limit" 0 $?
grep -q "serving 20 (max_rows 100)" "$T/out"
check "toolserver serves what was asked under the limit" 0 $?

stop_broker
"$TOOL" <"$T/presented2" >"$T/out" 2>&1
check "toolserver without a broker" 2 $?

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
