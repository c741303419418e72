#!/bin/sh
# plugin-symbols.sh: every module built from plugins/ exports exactly one
# symbol, its entry (baton-module(3)), and none needs a symbol of batond.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
status=0 n=0
for so in "$top_builddir"/plugins/.libs/*.so; do
	[ -f "$so" ] || { echo "SKIP: no modules built"; exit 77; }
	n=$((n + 1))
	syms=$(nm -D --defined-only "$so" | awk '{print $3}' | sed 's/@.*//' |
	    sort -u)
	if [ "$syms" != "baton_module_entry" ]; then
		echo "FAIL: $so exports:"; echo "$syms"
		status=1
	fi
	# Modules see the broker only through the host table.
	undef=$(nm -D --undefined-only "$so" | awk '{print $2}' |
	    grep -E '^(log_|xmalloc|xcalloc|xstrdup|broker|stacks_|module_|req_)' || true)
	if [ -n "$undef" ]; then
		echo "FAIL: $so needs broker internals:"; echo "$undef"
		status=1
	fi
done
echo "plugin-symbols: $n modules checked"
exit $status
