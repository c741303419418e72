#!/bin/sh
# symbols.sh: the shared libraries export only baton_* names, each at the
# version of its script, and the public API is all there.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
status=0
for lib in baton-agent baton-verify; do
	so="$top_builddir/libclient/.libs/lib$lib.so"
	if [ ! -f "$so" ]; then
		echo "SKIP: $so not built (static-only build?)"
		exit 77
	fi
	syms=$(nm -D --defined-only "$so" | awk '{print $3}' | sed 's/@.*//' | sort -u)
	bad=$(echo "$syms" | grep -v '^baton_' | grep -v '^BATON_' || true)
	if [ -n "$bad" ]; then
		echo "FAIL: lib$lib exports non-baton symbols:"; echo "$bad"
		status=1
	fi
	# internal helpers of common/ and libclient/ must stay hidden
	leak=$(echo "$syms" | grep -E '^(baton_token_|baton_key_|baton_keyring_|baton_envelope_|baton_chain_|baton_arena_|baton_wire_|baton_pack_|baton_effective|baton_evaluate|baton_attenuate|baton_hex|baton_unhex|mpr_|bc_|gs_)' || true)
	if [ -n "$leak" ]; then
		echo "FAIL: lib$lib leaks internal symbols:"; echo "$leak"
		status=1
	fi
	for want in baton_client_open baton_client_free baton_strerror \
	    baton_reason_name baton_version; do
		echo "$syms" | grep -qx "$want" || {
			echo "FAIL: lib$lib does not export $want"; status=1; }
	done
	echo "lib$lib: $(echo "$syms" | grep -c '^baton_') baton_* symbols"
done
nm -D --defined-only "$top_builddir/libclient/.libs/libbaton-agent.so" |
    grep -q 'baton_client_mint@@BATON_AGENT_0' ||
	{ echo "FAIL: baton_client_mint not versioned BATON_AGENT_0"; status=1; }
nm -D --defined-only "$top_builddir/libclient/.libs/libbaton-verify.so" |
    grep -q 'baton_verify@@BATON_VERIFY_0' ||
	{ echo "FAIL: baton_verify not versioned BATON_VERIFY_0"; status=1; }
# Added after the first release: a version node of their own, so a
# program that needs them fails at load time on an older library.
for want in baton_keybundle_add baton_keybundle_load_dir; do
	nm -D --defined-only "$top_builddir/libclient/.libs/libbaton-verify.so" |
	    grep -q " $want@@BATON_VERIFY_1\$" ||
		{ echo "FAIL: $want not versioned BATON_VERIFY_1"; status=1; }
done
nm -D --defined-only "$top_builddir/libclient/.libs/libbaton-verify.so" |
    grep -q ' baton_keybundle_load@@BATON_VERIFY_0$' ||
	{ echo "FAIL: baton_keybundle_load moved off BATON_VERIFY_0"; status=1; }
for want in baton_verify baton_verify_offline baton_keybundle_load \
    baton_verify_result_limit; do
	nm -D --defined-only "$top_builddir/libclient/.libs/libbaton-verify.so" |
	    grep -q " $want@" || { echo "FAIL: no $want"; status=1; }
done
for want in baton_client_mint baton_client_attenuate baton_client_present \
    baton_client_revoke_jti baton_inspect_token baton_grantset_add_where; do
	nm -D --defined-only "$top_builddir/libclient/.libs/libbaton-agent.so" |
	    grep -q " $want@" || { echo "FAIL: no $want"; status=1; }
done
# Every function the headers declare is exported, and nothing else:
# lib LIB HEADER... compares the two sets exactly.
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
api() {
	so="$top_builddir/libclient/.libs/lib$1.so"
	shift
	# every prototype names its function on its BATON_EXTERN line
	want=$(grep -h '^BATON_EXTERN' "$@" | grep -o 'baton_[a-z0-9_]*(' |
	    tr -d '(' | sort -u)
	have=$(nm -D --defined-only "$so" | awk '{print $3}' | sed 's/@.*//' |
	    grep '^baton_' | sort -u)
	printf '%s\n' "$want" >"$T1"
	printf '%s\n' "$have" >"$T2"
	missing=$(comm -23 "$T1" "$T2")
	extra=$(comm -13 "$T1" "$T2")
	[ -z "$missing" ] || { echo "FAIL: $so lacks:"; echo "$missing"; status=1; }
	[ -z "$extra" ] || { echo "FAIL: $so exports undeclared:"; echo "$extra"; status=1; }
}
T1=$(mktemp) T2=$(mktemp)
trap 'rm -f "$T1" "$T2"' EXIT
inc="$top_srcdir/include/baton"
api baton-agent "$inc/agent.h" "$inc/client.h" "$inc/types.h"
api baton-verify "$inc/verify.h" "$inc/client.h" "$inc/types.h"
exit $status
