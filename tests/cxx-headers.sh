#!/bin/sh
# tests/cxx-headers.sh: the installed headers must compile as C++ (extern
# "C", no C-only constructs) and as strict C99, together and alone.
set -u
srcdir=${top_srcdir:-$(dirname "$0")/..}
cxx=${CXX:-g++}
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
try() { # try NAME COMPILER FLAGS...: compile $tmp/t.* with the headers
	name=$1
	shift
	if "$@" -I"$srcdir/include" -fsyntax-only "$tmp/t.$ext" 2>"$tmp/err"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL: $name"
		cat "$tmp/err"
	fi
}
for hdrs in "agent.h verify.h" "agent.h" "verify.h" "types.h" "client.h" \
    "module.h"; do
	: >"$tmp/t.cc"
	for h in $hdrs; do
		echo "#include <baton/$h>" >>"$tmp/t.cc"
	done
	echo 'int main() { return 0; }' >>"$tmp/t.cc"
	cp "$tmp/t.cc" "$tmp/t.c"
	if command -v "$cxx" >/dev/null 2>&1; then
		ext=cc try "C++: $hdrs" "$cxx" -std=c++11 -Wall -Wextra -pedantic -Werror
	fi
	ext=c try "C99: $hdrs" "$cc" -std=c99 -Wall -Wextra -pedantic -Werror
done
echo "cxx-headers: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
