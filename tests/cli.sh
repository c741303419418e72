#!/bin/sh
# cli.sh: the baton command against a real batond: every subcommand, every
# exit code (0 allow, 1 deny, 2 usage or broker error), tokens on stdin,
# --json parsed back, offline verification with a pubkeys bundle.
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$top_srcdir/tests/client-lib.sh"

# json FILE EXPR: evaluate a Python expression on the parsed JSON in FILE
json() {
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
# expect NAME STATUS CMD...: run CMD, check its exit status
expect() {
	name=$1 want=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	check "$name" "$want" $?
}
# expect_in NAME STATUS INPUT-FILE CMD...: the same with stdin from a file
expect_in() {
	name=$1 want=$2 in=$3
	shift 3
	"$@" <"$in" >"$T/out" 2>"$T/err"
	check "$name" "$want" $?
}
grep_err() {
	if grep -q "$1" "$T/err"; then echo "ok - stderr has '$1'"
	else echo "FAIL - stderr lacks '$1':"; cat "$T/err"; fails=$((fails + 1)); fi
}
grep_out() {
	if grep -q "$1" "$T/out"; then echo "ok - stdout has '$1'"
	else echo "FAIL - stdout lacks '$1':"; cat "$T/out"; fails=$((fails + 1)); fi
}
same() {
	if [ "$2" = "$3" ]; then echo "ok - $1"
	else echo "FAIL - $1: '$2' != '$3'"; fails=$((fails + 1)); fi
}

# ---- usage, help: no broker needed -------------------------------------------
expect "no command" 2 "$BATON"
expect "--help" 0 "$BATON" --help
expect "--version" 0 "$BATON" --version
expect "unknown command" 2 "$BATON" frobnicate
for cmd in mint attenuate present verify revoke inspect pubkeys status; do
	expect "$cmd --help" 0 "$BATON" $cmd --help
	grep_out "usage: baton $cmd"
	expect "$cmd unknown option" 2 "$BATON" $cmd --no-such-option
done
expect "mint without --tool" 2 "$BATON" mint
expect "mint bad --limit" 2 "$BATON" mint --tool t --limit t=5
expect "mint bad --where" 2 "$BATON" mint --tool t --where t.a=regex:x
grep_err "eq:V"
expect "mint bad --tool" 2 "$BATON" mint --tool t:READ
expect "mint bad --ttl" 2 "$BATON" mint --tool t --ttl abc
expect "verify without --tool" 2 "$BATON" verify bt1_x
expect "verify --offline without --keys" 2 "$BATON" verify --tool t --offline bt1_x
expect "present without --aud" 2 "$BATON" present --tool t --action read bt1_x
expect "revoke bad --jti" 2 "$BATON" revoke --jti 1234
printf '' >"$T/empty"
expect_in "inspect with empty stdin" 2 "$T/empty" "$BATON" inspect
echo "not-a-token" >"$T/junk"
expect_in "inspect junk" 1 "$T/junk" "$BATON" inspect
grep_err "bad_prefix"

# ---- broker down: exit 2 with what to do ------------------------------------
expect "status, broker down" 2 "$BATON" status
grep_err "start batond"
expect "mint, broker down" 2 "$BATON" mint --tool t

start_broker

# ---- status, pubkeys ---------------------------------------------------------------
expect "status" 0 "$BATON" status
grep_out "counters"
expect "status --json" 0 "$BATON" status --json
same "status --json parses" "$(json "$T/out" 'type(d["counters"]).__name__')" dict
expect "status --prometheus" 0 "$BATON" status --prometheus
grep_out "# TYPE"
expect "status --json --prometheus" 2 "$BATON" status --json --prometheus
expect "pubkeys" 0 "$BATON" pubkeys
grep_out "KID"
"$BATON" pubkeys --json >"$T/keys.json"
check "pubkeys --json" 0 $?
same "bundle has a key" "$(json "$T/keys.json" 'len(d["keys"]) >= 1')" True

# ---- mint, inspect --------------------------------------------------------------
"$BATON" mint --tool db_query:read --tool file_read --ttl 3600 \
	--as orchestrator --subject alice --max-depth 5 \
	--limit db_query.max_rows=1000 --where db_query.table=in:orders,users \
	--ctx workflow=wf-7 >"$T/root" 2>"$T/err"
check "mint" 0 $?
same "mint prints one line" "$(wc -l <"$T/root" | tr -d ' ')" 1
grep -q '^bt1_' "$T/root"; check "mint prints a bt1_ token" 0 $?
"$BATON" mint --tool db_query --as orchestrator --json >"$T/mint.json"
check "mint --json" 0 $?
same "mint --json jti" "$(json "$T/mint.json" 'len(d["jti"])')" 32
same "mint --json token" "$(json "$T/mint.json" 'd["token"][:4]')" bt1_
expect "mint --tool '*'" 0 "$BATON" mint --tool '*' --as orchestrator --ttl 60

expect_in "inspect (stdin)" 0 "$T/root" "$BATON" inspect
grep_out "mint by orchestrator for alice"
grep_out "max_rows<=1000"
expect_in "inspect -" 0 "$T/root" "$BATON" inspect -
expect_in "inspect --json" 0 "$T/root" "$BATON" inspect --json
same "inspect --json blocks" "$(json "$T/out" 'len(d["blocks"])')" 1
same "inspect --json sub" "$(json "$T/out" 'd["blocks"][0]["sub"]')" alice

# ---- attenuate ---------------------------------------------------------------------
"$BATON" attenuate --tool db_query:read --ttl 1800 \
	--limit db_query.max_rows=100 --as orchestrator \
	<"$T/root" >"$T/a" 2>"$T/err"
check "attenuate (stdin)" 0 $?
"$BATON" attenuate - --tool db_query:read --ttl 900 --as worker-a \
	<"$T/a" >"$T/b" 2>"$T/err"
check "attenuate -" 0 $?
expect_in "attenuate wider ttl" 1 "$T/a" "$BATON" attenuate --ttl 7200 --as worker-a
grep_err "ttl_too_long"
expect_in "attenuate wider tool" 1 "$T/b" "$BATON" attenuate --tool shell --as worker-b
grep_err "widen_tool"
expect_in "attenuate higher limit" 1 "$T/b" "$BATON" attenuate --tool db_query:read --limit db_query.max_rows=5000 --as worker-b
grep_err "widen_limit"
expect_in "inspect chain" 0 "$T/b" "$BATON" inspect
grep_out "attenuate by orchestrator -> bearer"
grep_out "attenuate by worker-a"

# ---- holder binding: only a presentation by the holder is accepted -------------
"$BATON" attenuate --tool db_query:read --as orchestrator --holder worker-h \
	<"$T/root" >"$T/h" 2>"$T/err"
check "attenuate --holder" 0 $?
expect_in "holder-bound, not presented" 1 "$T/h" "$BATON" verify --tool db_query --action read --arg table=orders
grep_err "not_presented"
expect_in "holder-bound, attenuated by another" 1 "$T/h" "$BATON" attenuate --as intruder
grep_err "holder_mismatch"
"$BATON" present --tool db_query --action read --aud db --as worker-h \
	<"$T/h" >"$T/hp" 2>"$T/err"
check "present by the holder" 0 $?
expect_in "holder-bound, presented" 0 "$T/hp" "$BATON" verify --tool db_query --action read --aud db --arg table=orders

# ---- verify -----------------------------------------------------------------------
expect_in "verify allow" 0 "$T/root" "$BATON" verify --tool db_query --action read --arg table=orders
grep_out "^allow"
expect_in "verify deny: tool" 1 "$T/root" "$BATON" verify --tool shell
grep_err "tool_not_granted"
expect_in "verify deny: action" 1 "$T/root" "$BATON" verify --tool db_query --action write
grep_err "action_not_granted"
expect_in "verify deny: argument" 1 "$T/root" "$BATON" verify --tool db_query --action read --arg table=secrets
grep_err "argument_rejected"
expect_in "verify deny: usage" 1 "$T/root" "$BATON" verify --tool db_query --action read --arg table=users --usage max_rows=2000
grep_err "limit_exceeded"
expect_in "verify bad --usage" 2 "$T/root" "$BATON" verify --tool db_query --usage max_rows
expect_in "verify --json" 0 "$T/b" "$BATON" verify --tool db_query --action read --arg table=orders --json
same "verify --json allow" "$(json "$T/out" 'd["allow"]')" True
same "verify --json depth" "$(json "$T/out" 'd["facts"]["depth"]')" 2
same "verify --json max_rows" "$(json "$T/out" 'd["facts"]["limits"]["max_rows"]')" 100
same "verify --json iss" "$(json "$T/out" 'd["facts"]["iss"]')" orchestrator
same "verify --json ctx" "$(json "$T/out" 'd["facts"]["ctx"]["workflow"]')" wf-7
expect_in "verify --json deny" 1 "$T/b" "$BATON" verify --tool file_read --json
same "verify --json deny reason" "$(json "$T/out" 'd["reason_name"]')" tool_not_granted
expect_in "verify junk" 1 "$T/junk" "$BATON" verify --tool db_query

# ---- present: single use -------------------------------------------------------------
"$BATON" present --tool db_query --action read --aud db --ttl 60 --as orchestrator \
	<"$T/root" >"$T/p" 2>"$T/err"
check "present" 0 $?
expect_in "verify presented" 0 "$T/p" "$BATON" verify --tool db_query --action read --aud db --arg table=orders
expect_in "verify presented again" 1 "$T/p" "$BATON" verify --tool db_query --action read --aud db --arg table=orders
grep_err "replayed"
expect_in "present too long" 2 "$T/root" "$BATON" present --tool db_query --action read --aud db --ttl 600

# ---- offline verify -------------------------------------------------------------------
expect_in "offline allow" 0 "$T/b" "$BATON" verify --offline --keys "$T/keys.json" --tool db_query --action read --arg table=orders
expect_in "offline --json" 0 "$T/b" "$BATON" verify --offline --keys "$T/keys.json" --tool db_query --action read --arg table=orders --json
same "offline --json max_rows" "$(json "$T/out" 'd["facts"]["limits"]["max_rows"]')" 100
expect_in "offline deny" 1 "$T/b" "$BATON" verify --offline --keys "$T/keys.json" --tool file_read
expect_in "offline expired" 1 "$T/b" "$BATON" verify --offline --keys "$T/keys.json" --tool db_query --action read --arg table=orders --now 4000000000
grep_err "expired"
expect_in "offline missing bundle" 2 "$T/b" "$BATON" verify --offline --keys "$T/nope.json" --tool db_query
echo '{"keys": []}' >"$T/nokeys.json"
expect_in "offline empty bundle" 2 "$T/b" "$BATON" verify --offline --keys "$T/nokeys.json" --tool db_query
sed 's/.$/A/' "$T/b" >"$T/b-tampered"
cmp -s "$T/b" "$T/b-tampered" && sed 's/.$/B/' "$T/b" >"$T/b-tampered"
expect_in "offline tampered" 1 "$T/b-tampered" "$BATON" verify --offline --keys "$T/keys.json" --tool db_query

# ---- revoke ----------------------------------------------------------------------------
"$BATON" attenuate --tool db_query:read --ttl 600 --as orchestrator \
	<"$T/root" >"$T/sibling"
expect_in "revoke A's token" 0 "$T/a" "$BATON" revoke
expect_in "B revoked" 1 "$T/b" "$BATON" verify --tool db_query --action read --arg table=orders
grep_err "revoked"
expect_in "sibling still valid" 0 "$T/sibling" "$BATON" verify --tool db_query --action read --arg table=orders
expect "revoke --jti" 0 "$BATON" revoke --jti "$(json "$T/mint.json" 'd["jti"]')"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' "$T/mint.json" >"$T/minted"
expect_in "revoked by jti" 1 "$T/minted" "$BATON" verify --tool db_query
expect_in "revoke junk" 1 "$T/junk" "$BATON" revoke
expect "revoke --jti and token" 2 "$BATON" revoke --jti 00112233445566778899aabbccddeeff extra

# ---- broker gone mid-way -----------------------------------------------------------
stop_broker
expect_in "verify, broker gone" 2 "$T/sibling" "$BATON" verify --tool db_query
grep_err "batond"
expect_in "offline works without a broker" 0 "$T/sibling" "$BATON" verify --offline --keys "$T/keys.json" --tool db_query --action read --arg table=orders

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; echo "--- batond log"; cat "$T/batond.log"; exit 1; }
echo "all CLI checks passed"
