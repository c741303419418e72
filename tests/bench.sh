#!/bin/sh
# tests/bench.sh: the benchmark harness (make bench) in its short form:
# it runs to the end, and its last line is one JSON object holding every
# key issue 10 names, each a number (null only where a figure cannot be
# had on this machine).  No timing is asserted: that is make bench's job.
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
bench="$top_builddir/bench/bench_broker"
if ! command -v python3 >/dev/null 2>&1; then
	echo "SKIP: no python3 to parse the JSON"
	exit 77
fi
out=$(mktemp "${TMPDIR:-/tmp}/baton-bench.XXXXXX")
trap 'rm -f "$out"' EXIT INT TERM
if ! "$bench" --quick --json >"$out"; then
	cat "$out"
	echo "FAIL: bench_broker --quick --json exited non-zero"
	exit 1
fi
cat "$out"
tail -n 1 "$out" | python3 -c '
import json, math, sys
keys = """floor_uds_rtt_us floor_uds_ops_16 floor_verify_us floor_sign_us
broker_verify_p50_us broker_verify_p99_us broker_mint_p50_us
broker_attenuate_p50_us broker_present_p50_us broker_verify_ops_1
broker_verify_ops_16 broker_verify_ops_64 open_tag_us macaroons_verify_us
offline_verify_d1_us offline_verify_d8_us offline_verify_d16_us
broker_bytes_per_spent_jti broker_verify_p50_us_1m_spent
broker_verify_p999_us_1m_spent broker_verify_p50_us_1000_idle
stack_overhead_pct ratio_verify_vs_uds ratio_mint_vs_floor
ratio_tput16_vs_uds ratio_open_vs_macaroons
ratio_offline_d8_vs_floor""".split()
# Printed beside them for reference (bench/RESULTS.md): the echo in
# the bench process itself, and latency where the scheduler puts it.
keys += """floor_uds_rtt_inproc_us floor_uds_ops_16_inproc
floor_uds_rtt_unpinned_us broker_verify_p50_unpinned_us""".split()
d = json.loads(sys.stdin.read())
missing = [k for k in keys if k not in d]
extra = [k for k in d if k not in keys]
bad = [k for k in keys if k in d and not (d[k] is None or
    (isinstance(d[k], (int, float)) and math.isfinite(d[k])))]
# These need nothing but the build: a null would be a harness bug.
must = [k for k in keys if k not in ("macaroons_verify_us",
    "ratio_open_vs_macaroons", "stack_overhead_pct")]
null = [k for k in must if k in d and d[k] is None]
if missing or extra or bad or null:
    print("FAIL: missing", missing, "unexpected", extra, "not numbers",
          bad, "null", null)
    sys.exit(1)
print("bench: %d keys, JSON ok" % len(keys))
'
