/*
 * metrics.c: counters and latency histograms, named after the AgentTrust
 * set, read through status as a map or as Prometheus text.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batond.h"

static const char *const counter_names[] = {
	"minted", "attenuated", "presented", "verified", "rejected",
	"issue_rejected",
	"replay_detected", "policy_evaluated", "revoked", "connections",
	"connections_refused", "frames_refused",
	/* bumped by lookup sources through the host table */
	"source_unavailable", "source_local_hits", "source_reconnects",
	"source_lost_state",
	/* bumped by index (metrics_token_cache): keep them last */
	"token_cache_hits", "token_cache_misses"
};
#define NCOUNTERS (sizeof counter_names / sizeof counter_names[0])
#define C_TOKEN_CACHE_HITS	(NCOUNTERS - 2)
#define C_TOKEN_CACHE_MISSES	(NCOUNTERS - 1)

static const uint64_t buckets[] = {	/* microseconds */
	25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 50000, 250000
};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

static const char *const hist_names[HIST_MAX] = {
	"mint_duration", "verify_duration", "policy_duration",
	"issue_duration"	/* attenuate and present */
};

struct hist {
	uint64_t	b[NBUCKETS + 1];
	uint64_t	sum, count;
};

/*
 * Relaxed atomics, not a lock: every request bumps several of these from
 * every worker, and a shared mutex there is contention on the hot path.
 * Readers may see a histogram a count or two apart from its sum.
 */
#define BUMP(x, v)	__atomic_fetch_add(&(x), (v), __ATOMIC_RELAXED)

static struct {
	uint64_t	 ops[BATON_OP_MAX + 1];
	uint64_t	 errors[BATON_WIRE_EMAX + 1];
	uint64_t	 reasons[BATON_R_MAX + 1];	/* verify denials */
	/* mint, attenuate, present denials */
	uint64_t	 issue_reasons[BATON_R_MAX + 1];
	uint64_t	 counters[NCOUNTERS];
	struct hist	 hist[HIST_MAX];
} m;

uint64_t
clock_usec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

void
metrics_op(int op, int status)
{
	if (op >= 0 && op <= BATON_OP_MAX)
		BUMP(m.ops[op], 1);
	if (status > 0 && status <= BATON_WIRE_EMAX)
		BUMP(m.errors[status], 1);
}

void
metrics_reason(int reason)
{
	if (reason >= 0 && reason <= BATON_R_MAX)
		BUMP(m.reasons[reason], 1);
}

void
metrics_issue_reason(int reason)
{
	if (reason >= 0 && reason <= BATON_R_MAX)
		BUMP(m.issue_reasons[reason], 1);
}

void
metrics_count(const char *name)
{
	size_t	i;

	/* every request bumps two or three: strcmp only the likely ones */
	for (i = 0; i < NCOUNTERS; i++)
		if (counter_names[i][0] == name[0] &&
		    counter_names[i][1] == name[1] &&
		    strcmp(counter_names[i], name) == 0)
			break;
	if (i == NCOUNTERS)
		return;
	BUMP(m.counters[i], 1);
}

void
metrics_token_cache(int hit)
{
	BUMP(m.counters[hit ? C_TOKEN_CACHE_HITS : C_TOKEN_CACHE_MISSES], 1);
}

void
metrics_time(enum metric_hist h, uint64_t usec)
{
	size_t	i;

	for (i = 0; i < NBUCKETS && usec > buckets[i]; i++)
		;
	BUMP(m.hist[h].b[i], 1);
	BUMP(m.hist[h].sum, usec);
	BUMP(m.hist[h].count, 1);
}

/* Count of map entries metrics_pack writes. */
static size_t
nonzero(const uint64_t *v, size_t n)
{
	size_t	i, k = 0;

	for (i = 0; i < n; i++)
		k += v[i] != 0;
	return (k);
}

/* A copy to format from, so a count cannot change between two reads. */
static void
snapshot(uint64_t *dst, const uint64_t *src, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

#define SNAP(s)	snapshot((uint64_t *)(void *)&(s), \
	    (const uint64_t *)(const void *)&m, sizeof m / sizeof(uint64_t))

void
metrics_pack(msgpack_packer *pk)
{
	__typeof__(m)	 s;
	char		 name[96];
	size_t		 i, n;
	int		 h;

	SNAP(s);
	n = NCOUNTERS + nonzero(s.ops, BATON_OP_MAX + 1) +
	    nonzero(s.errors, BATON_WIRE_EMAX + 1) +
	    nonzero(s.reasons, BATON_R_MAX + 1) +
	    nonzero(s.issue_reasons, BATON_R_MAX + 1) + 2 * HIST_MAX;
	msgpack_pack_map(pk, n);
	for (i = 0; i < NCOUNTERS; i++) {
		baton_pack_str(pk, counter_names[i]);
		msgpack_pack_uint64(pk, s.counters[i]);
	}
	for (i = 1; i <= BATON_OP_MAX; i++) {
		if (s.ops[i] == 0)
			continue;
		snprintf(name, sizeof name, "op_%s", baton_op_name((int)i));
		baton_pack_str(pk, name);
		msgpack_pack_uint64(pk, s.ops[i]);
	}
	if (s.ops[0] != 0) {
		baton_pack_str(pk, "op_unknown");
		msgpack_pack_uint64(pk, s.ops[0]);
	}
	for (i = 0; i <= BATON_WIRE_EMAX; i++) {
		if (s.errors[i] == 0)
			continue;
		snprintf(name, sizeof name, "error_%s",
		    baton_wire_err_name((int)i));
		baton_pack_str(pk, name);
		msgpack_pack_uint64(pk, s.errors[i]);
	}
	for (i = 0; i <= BATON_R_MAX; i++) {
		if (s.reasons[i] == 0)
			continue;
		snprintf(name, sizeof name, "rejected_%s",
		    baton_reason_name((int)i));
		baton_pack_str(pk, name);
		msgpack_pack_uint64(pk, s.reasons[i]);
	}
	for (i = 0; i <= BATON_R_MAX; i++) {
		if (s.issue_reasons[i] == 0)
			continue;
		snprintf(name, sizeof name, "issue_rejected_%s",
		    baton_reason_name((int)i));
		baton_pack_str(pk, name);
		msgpack_pack_uint64(pk, s.issue_reasons[i]);
	}
	for (h = 0; h < HIST_MAX; h++) {
		snprintf(name, sizeof name, "%s_count", hist_names[h]);
		baton_pack_str(pk, name);
		msgpack_pack_uint64(pk, s.hist[h].count);
		snprintf(name, sizeof name, "%s_usec_sum", hist_names[h]);
		baton_pack_str(pk, name);
		msgpack_pack_uint64(pk, s.hist[h].sum);
	}
}

/*
 * The histograms whole, for status: name -> {count, sum_usec, buckets},
 * buckets mapping each upper bound in microseconds ("+Inf" last) to the
 * cumulative count, as Prometheus has them, so a JSON reader can compute
 * quantiles without scraping the text format.
 */
void
metrics_pack_histograms(msgpack_packer *pk)
{
	__typeof__(m)	 s;
	char		 le[32];
	uint64_t	 cum;
	size_t		 i;
	int		 h;

	SNAP(s);
	msgpack_pack_map(pk, HIST_MAX);
	for (h = 0; h < HIST_MAX; h++) {
		baton_pack_str(pk, hist_names[h]);
		msgpack_pack_map(pk, 3);
		baton_pack_str(pk, "count");
		msgpack_pack_uint64(pk, s.hist[h].count);
		baton_pack_str(pk, "sum_usec");
		msgpack_pack_uint64(pk, s.hist[h].sum);
		baton_pack_str(pk, "buckets");
		msgpack_pack_map(pk, NBUCKETS + 1);
		cum = 0;
		for (i = 0; i <= NBUCKETS; i++) {
			cum += s.hist[h].b[i];
			if (i < NBUCKETS)
				snprintf(le, sizeof le, "%llu",
				    (unsigned long long)buckets[i]);
			else
				snprintf(le, sizeof le, "+Inf");
			baton_pack_str(pk, le);
			msgpack_pack_uint64(pk, cum);
		}
	}
}

static void
append(char **buf, size_t *len, size_t *size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
append(char **buf, size_t *len, size_t *size, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*buf + *len, *size - *len, fmt, ap);
		va_end(ap);
		if (n < 0)
			fatalx("vsnprintf");
		if ((size_t)n < *size - *len) {
			*len += (size_t)n;
			return;
		}
		*size *= 2;
		*buf = xreallocarray(*buf, *size, 1);
	}
}

char *
metrics_prometheus(void)
{
	__typeof__(m)	 s;
	size_t		 len = 0, size = 4096, i;
	char		*b = xmalloc(size);
	uint64_t	 cum;
	int		 h;

	b[0] = '\0';
	SNAP(s);
	for (i = 0; i < NCOUNTERS; i++) {
		append(&b, &len, &size, "# TYPE baton_%s_total counter\n"
		    "baton_%s_total %llu\n", counter_names[i], counter_names[i],
		    (unsigned long long)s.counters[i]);
	}
	append(&b, &len, &size, "# TYPE baton_requests_total counter\n");
	for (i = 1; i <= BATON_OP_MAX; i++)
		append(&b, &len, &size, "baton_requests_total{op=\"%s\"} "
		    "%llu\n", baton_op_name((int)i),
		    (unsigned long long)s.ops[i]);
	append(&b, &len, &size, "# TYPE baton_errors_total counter\n");
	for (i = 1; i <= BATON_WIRE_EMAX; i++)
		append(&b, &len, &size, "baton_errors_total{error=\"%s\"} "
		    "%llu\n", baton_wire_err_name((int)i),
		    (unsigned long long)s.errors[i]);
	append(&b, &len, &size,
	    "# TYPE baton_rejected_by_reason_total counter\n");
	for (i = 1; i <= BATON_R_MAX; i++) {
		if (s.reasons[i] == 0)
			continue;
		append(&b, &len, &size, "baton_rejected_by_reason_total"
		    "{reason=\"%s\"} %llu\n", baton_reason_name((int)i),
		    (unsigned long long)s.reasons[i]);
	}
	append(&b, &len, &size,
	    "# TYPE baton_issue_rejected_by_reason_total counter\n");
	for (i = 1; i <= BATON_R_MAX; i++) {
		if (s.issue_reasons[i] == 0)
			continue;
		append(&b, &len, &size, "baton_issue_rejected_by_reason_total"
		    "{reason=\"%s\"} %llu\n", baton_reason_name((int)i),
		    (unsigned long long)s.issue_reasons[i]);
	}
	for (h = 0; h < HIST_MAX; h++) {
		append(&b, &len, &size, "# TYPE baton_%s_seconds histogram\n",
		    hist_names[h]);
		cum = 0;
		for (i = 0; i <= NBUCKETS; i++) {
			cum += s.hist[h].b[i];
			if (i < NBUCKETS)
				append(&b, &len, &size, "baton_%s_seconds_bucket"
				    "{le=\"%g\"} %llu\n", hist_names[h],
				    (double)buckets[i] / 1e6,
				    (unsigned long long)cum);
			else
				append(&b, &len, &size, "baton_%s_seconds_bucket"
				    "{le=\"+Inf\"} %llu\n", hist_names[h],
				    (unsigned long long)cum);
		}
		append(&b, &len, &size, "baton_%s_seconds_sum %g\n"
		    "baton_%s_seconds_count %llu\n", hist_names[h],
		    (double)s.hist[h].sum / 1e6, hist_names[h],
		    (unsigned long long)s.hist[h].count);
	}
	{
		struct src_health	hs[SRC_HEALTH_MAX];
		size_t			nh = sources_health(hs, SRC_HEALTH_MAX);

		append(&b, &len, &size, "# TYPE baton_source_up gauge\n");
		for (i = 0; i < nh; i++)
			append(&b, &len, &size, "baton_source_up{db=\"%s\","
			    "source=\"%s\"} %d\n", hs[i].db, hs[i].source,
			    hs[i].up);
	}
	return (b);
}
