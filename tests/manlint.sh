#!/bin/sh
# tests/manlint.sh: every man page must be clean under mandoc -Tlint.
set -u
srcdir=${top_srcdir:-$(dirname "$0")/..}
fail=0 n=0
for page in "$srcdir"/man/*.[1-8]; do
	[ -f "$page" ] || continue
	n=$((n + 1))
	out=$(mandoc -Tlint -Wwarning "$page" 2>&1)
	if [ -n "$out" ]; then
		echo "$out"
		fail=$((fail + 1))
	fi
done
echo "manlint: $((n - fail)) passed, $fail failed"
[ "$n" -gt 0 ] && [ "$fail" -eq 0 ]
