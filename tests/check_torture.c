/*
 * check_torture.c: crash a loaded broker again and again, and lose nothing.
 *
 * Client processes drive a real batond with a mix of mint (reusable and
 * single-use), attenuate, present, verify of single-use tokens (a shared
 * pool minted up front, each client's own single-use mints and presented
 * call tokens), verify of reusable ones, revoke and reload, each writing
 * down every answer it got.  Meanwhile the broker is killed with SIGKILL
 * at random moments and restarted on the same state.  At the end the
 * record is held against a clean restart:
 *
 *   - no single-use token was allowed twice, across every restart, and
 *     every one that was allowed is now spent (or, a call token, expired);
 *   - no pool token was spent without an allow, unless a verify of it
 *     lost its answer to a kill;
 *   - every acknowledged revocation holds;
 *   - every token the broker issued still verifies, unless it or an
 *     ancestor was revoked (or a revocation of it was sent and its answer
 *     lost to a kill, which leaves it undecided), and none was denied
 *     during the run for any other reason;
 *   - every restart opened the state cleanly, with nothing but a torn
 *     tail to cut.
 *
 * TORTURE_ROUNDS sets the number of kills (make check: 3; make torture:
 * 50); the figures are printed.  With TORTURE_DISK_FAULTS set, the
 * journal's syncs also fail (tests/fault-journal.c) for a moment in half
 * the rounds, and half of those kill the broker while its journal is
 * broken, before it has rewritten it: an "unavailable" answer then counts
 * as a lost one.
 */

#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "broker-util.h"

#define NCHILD		4
/* Single-use tokens minted up front: 600 a kill, so few are left over. */
#define POOL_PER_ROUND	600
#define POOL_MIN	3000
#define POOL_MAX	30000
#define OWN_MAX		64
#define ONCE_MAX	32	/* a client's own single-use tokens */

/* What each client counts, written at its end: "N" and these in order. */
enum { N_MINT, N_MINT_ONCE, N_ATTENUATE, N_PRESENT, N_VERIFY_POOL,
    N_VERIFY_OWN, N_VERIFY_ONCE, N_REVOKE, N_RELOAD, N_LOST, N_MAX };
static const char *n_names[N_MAX] = { "mint", "mint single-use",
    "attenuate", "present", "verify pool", "verify reusable",
    "verify own single-use", "revoke", "reload", "answers lost" };

static struct tb	 T;
static char		**pool;
static int		 npool;
static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* One round trip without asserting: -1 when the broker went away. */
static int
call(int fd, struct msg *m, struct resp *r)
{
	memset(r, 0, sizeof *r);
	if (msg_send(fd, m) != 0)
		return (-1);
	return (resp_read(fd, r));
}

/* mint a reusable (or single-use) db_query:read token; NULL if refused. */
static int
mint(int fd, int single_use, char *out, size_t len, int *lost)
{
	struct msg	m;
	struct resp	r;
	int		rc = -1;

	msg_start(&m, BATON_OP_MINT, 1, 5);
	pk_kv_str(&m.pk, "as", "orchestrator");
	pk_kv_uint(&m.pk, "ttl", 3600);
	pk_kv_uint(&m.pk, "max_depth", 5);
	pk_kv_bool(&m.pk, "single_use", single_use);
	pk_str(&m.pk, "grants");
	msgpack_pack_map(&m.pk, 1);
	pk_str(&m.pk, "db_query");
	msgpack_pack_map(&m.pk, 1);
	pk_str(&m.pk, "actions");
	msgpack_pack_array(&m.pk, 1);
	pk_str(&m.pk, "read");
	if (call(fd, &m, &r) != 0) {
		*lost = 1;
		return (-1);
	}
	if (r.status == 0 && get_str(&r.body, "token", out, len) == 0)
		rc = 0;
	resp_free(&r);
	return (rc);
}

static int
attenuate_tok(int fd, const char *parent, char *out, size_t len, int *lost)
{
	struct msg	m;
	struct resp	r;
	int		rc = -1;

	msg_start(&m, BATON_OP_ATTENUATE, 2, 2);
	pk_kv_str(&m.pk, "token", parent);
	pk_kv_str(&m.pk, "as", "worker-a");
	if (call(fd, &m, &r) != 0) {
		*lost = 1;
		return (-1);
	}
	if (r.status == 0 && get_str(&r.body, "token", out, len) == 0)
		rc = 0;
	resp_free(&r);
	return (rc);
}

/* present for one call to mcp-db: the call token, or -1. */
static int
present_tok(int fd, const char *parent, char *out, size_t len, int *lost)
{
	struct msg	m;
	struct resp	r;
	int		rc = -1;

	msg_start(&m, BATON_OP_PRESENT, 6, 5);
	pk_kv_str(&m.pk, "token", parent);
	pk_kv_str(&m.pk, "tool", "db_query");
	pk_kv_str(&m.pk, "action", "read");
	pk_kv_str(&m.pk, "aud", "mcp-db");
	pk_kv_uint(&m.pk, "ttl", 120);
	if (call(fd, &m, &r) != 0) {
		*lost = 1;
		return (-1);
	}
	if (r.status == 0 && get_str(&r.body, "token", out, len) == 0)
		rc = 0;
	resp_free(&r);
	return (rc);
}

/* verify: the reason (0 allow), or -1 when the answer was lost. */
static int
verify_aud(int fd, const char *token, const char *aud)
{
	struct msg	m;
	struct resp	r;
	int		why;

	msg_start(&m, BATON_OP_VERIFY, 3, aud != NULL ? 4 : 3);
	pk_kv_str(&m.pk, "token", token);
	pk_kv_str(&m.pk, "tool", "db_query");
	pk_kv_str(&m.pk, "action", "read");
	if (aud != NULL)
		pk_kv_str(&m.pk, "aud", aud);
	if (call(fd, &m, &r) != 0)
		return (-1);
	why = r.status != 0 ? 1000 + r.status : (int)get_uint(&r.body,
	    "reason");
	resp_free(&r);
	return (why);
}

static int
verify(int fd, const char *token)
{
	return (verify_aud(fd, token, NULL));
}

/* revoke: 0 acknowledged, 1 refused, -1 answer lost. */
static int
revoke_tok(int fd, const char *token)
{
	struct msg	m;
	struct resp	r;
	int		rc;

	msg_start(&m, BATON_OP_REVOKE, 4, 1);
	pk_kv_str(&m.pk, "token", token);
	if (call(fd, &m, &r) != 0)
		return (-1);
	rc = r.status == 0 ? 0 : 1;
	resp_free(&r);
	return (rc);
}

static void
reload(int fd)
{
	struct msg	m;
	struct resp	r;

	msg_start(&m, BATON_OP_RELOAD, 5, 0);
	if (call(fd, &m, &r) == 0)
		resp_free(&r);
}

/* Append one line of the record; the broker dies, never the clients. */
static void
record(int log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
record(int log, const char *fmt, ...)
{
	char	line[BATON_MAX_TEXT + 128];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof line &&
	    write(log, line, (size_t)n) != n)
		_exit(3);
}

static void
client(int idx, const char *path)
{
	static char	own[OWN_MAX][BATON_MAX_TEXT + 1];
	static char	once[ONCE_MAX][BATON_MAX_TEXT + 1];
	static char	tok[BATON_MAX_TEXT + 1];
	unsigned long	n[N_MAX] = { 0 };
	long		ownid[OWN_MAX], onceid[ONCE_MAX], onceaud[ONCE_MAX];
	long		next = (long)idx * 1000000, nextonce = next;
	int		log, fd = -1, nown = 0, nonce = 0, op, k, lost, rc, i;

	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)(getpid() ^ time(NULL)));
	if ((log = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600)) == -1)
		_exit(2);
	while (!stop) {
		if (fd == -1 && (fd = tb_connect(&T)) == -1) {
			usleep(20000);
			continue;
		}
		lost = 0;
		op = (int)(random() % 26);
		k = nown > 0 ? (int)(random() % nown) : -1;
		if (op < 5 || k == -1) {
			n[N_MINT]++;
			if (mint(fd, 0, tok, sizeof tok, &lost) == 0) {
				k = nown < OWN_MAX ? nown++ :
				    (int)(random() % OWN_MAX);
				ownid[k] = next++;
				memcpy(own[k], tok, sizeof tok);
				record(log, "I %ld - %s\n", ownid[k], tok);
			}
		} else if (op < 8) {
			n[N_ATTENUATE]++;
			if (attenuate_tok(fd, own[k], tok, sizeof tok, &lost) == 0) {
				long parent = ownid[k];
				int j = nown < OWN_MAX ? nown++ :
				    (int)(random() % OWN_MAX);

				ownid[j] = next++;
				record(log, "I %ld %ld %s\n", ownid[j],
				    parent, tok);
				memcpy(own[j], tok, sizeof tok);
			}
		} else if (op < 11) {
			int p = (int)(random() % npool);

			n[N_VERIFY_POOL]++;
			if ((rc = verify(fd, pool[p])) == 0)
				record(log, "A %d\n", p);
			else if (rc == -1 || rc == BATON_R_UNAVAILABLE ||
			    rc >= 1000)
				/*
				 * Maybe spent, never allowed (a record
				 * written, its sync failed): undecided.
				 */
				record(log, "L %d\n", p);
			lost = rc == -1;
		} else if (op < 16) {
			n[N_VERIFY_OWN]++;
			if ((rc = verify(fd, own[k])) > 0)
				record(log, "D %ld %d\n", ownid[k], rc);
			lost = rc == -1;
		} else if (op < 19) {
			/* A single-use token of its own: minted or presented. */
			i = nonce < ONCE_MAX ? nonce : (int)(random() %
			    ONCE_MAX);
			if (op == 16) {
				n[N_MINT_ONCE]++;
				rc = mint(fd, 1, tok, sizeof tok, &lost);
			} else {
				n[N_PRESENT]++;
				rc = present_tok(fd, own[k], tok, sizeof tok,
				    &lost);
			}
			if (rc == 0) {
				if (i == nonce)
					nonce++;
				onceid[i] = ++nextonce;
				onceaud[i] = op != 16;
				memcpy(once[i], tok, sizeof tok);
			}
		} else if (op < 22 && nonce > 0) {
			/* Again and again, across kills: allowed once. */
			i = (int)(random() % nonce);
			n[N_VERIFY_ONCE]++;
			rc = verify_aud(fd, once[i], onceaud[i] ? "mcp-db" :
			    NULL);
			if (rc == 0)
				record(log, "U %ld %c %s\n", onceid[i],
				    onceaud[i] ? 'p' : 'm', once[i]);
			lost = rc == -1;
		} else if (op < 24) {
			/* Said before it is sent: a lost answer leaves it open. */
			n[N_REVOKE]++;
			record(log, "r %ld\n", ownid[k]);
			if ((rc = revoke_tok(fd, own[k])) == 0)
				record(log, "R %ld\n", ownid[k]);
			lost = rc == -1;
		} else if (op == 24) {
			n[N_RELOAD]++;
			reload(fd);
		}
		if (lost) {
			n[N_LOST]++;
			close(fd);
			fd = -1;
		}
	}
	record(log, "N");
	for (i = 0; i < N_MAX; i++)
		record(log, " %lu", n[i]);
	record(log, "\n");
	close(log);
	_exit(0);
}

/* ---- the record, read back ------------------------------------------------ */

struct issued {
	long	 id, parent;
	char	*token;
	int	 revoked;	/* acknowledged */
	int	 tried;		/* a revoke was sent */
};

static struct issued	*iss;
static size_t		 niss, iss_cap;
static int		*allows, *lostv;
static unsigned long	 totals[N_MAX];

/* Own single-use tokens allowed ("U id token"), sorted by id at the end. */
struct once_allow {
	long	 id;
	int	 presented;	/* a call token (else minted single-use) */
	char	*token;
};
static struct once_allow *oa;
static size_t		 noa, oa_cap;
/* Denials of own reusable tokens during the run ("D id reason"). */
static long		*denied_id;
static int		*denied_why;
static size_t		 ndenied, denied_cap;

static int
by_id(const void *a, const void *b)
{
	long	x = ((const struct issued *)a)->id;
	long	y = ((const struct issued *)b)->id;

	return (x < y ? -1 : x > y);
}

/* Tokens are sorted by id once all are read (read_issued, then sort). */
static struct issued *
find(long id)
{
	struct issued	key;

	key.id = id;
	return (bsearch(&key, iss, niss, sizeof *iss, by_id));
}

/* Pass 1: the issued tokens; pass 2 (issued 0): allows and revocations. */
static void
read_record(const char *path, int issued)
{
	FILE		*f;
	char		*line = NULL, *w[4], *s;
	size_t		 cap = 0;
	long		 id;
	int		 p, n;
	struct issued	*e;

	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (getline(&line, &cap, f) > 0) {
		if (line[0] == 'I' && line[1] == ' ') {
			if (!issued)
				continue;
			/* "I id parent|- token": split in place */
			line[strcspn(line, "\n")] = '\0';
			for (n = 0, s = line; n < 4 && s != NULL; n++)
				w[n] = strsep(&s, " ");
			ck_assert_int_eq(n, 4);
			id = atol(w[1]);
			if (niss == iss_cap) {
				iss_cap = iss_cap ? 2 * iss_cap : 1024;
				iss = realloc(iss, iss_cap * sizeof *iss);
				ck_assert_ptr_nonnull(iss);
			}
			iss[niss].id = id;
			iss[niss].parent = strcmp(w[2], "-") == 0 ? -1 :
			    atol(w[2]);
			iss[niss].token = strdup(w[3]);
			iss[niss].revoked = iss[niss].tried = 0;
			niss++;
		} else if (issued)
			continue;
		else if (sscanf(line, "A %d", &p) == 1) {
			ck_assert(p >= 0 && p < npool);
			allows[p]++;
		} else if (sscanf(line, "L %d", &p) == 1) {
			ck_assert(p >= 0 && p < npool);
			lostv[p]++;
		} else if (line[0] == 'U' && line[1] == ' ') {
			line[strcspn(line, "\n")] = '\0';
			for (n = 0, s = line; n < 4 && s != NULL; n++)
				w[n] = strsep(&s, " ");
			ck_assert_int_eq(n, 4);
			if (noa == oa_cap) {
				oa_cap = oa_cap ? 2 * oa_cap : 1024;
				oa = realloc(oa, oa_cap * sizeof *oa);
				ck_assert_ptr_nonnull(oa);
			}
			oa[noa].id = atol(w[1]);
			oa[noa].presented = w[2][0] == 'p';
			oa[noa].token = strdup(w[3]);
			noa++;
		} else if (sscanf(line, "D %ld %d", &id, &p) == 2) {
			if (ndenied == denied_cap) {
				denied_cap = denied_cap ? 2 * denied_cap : 64;
				denied_id = realloc(denied_id, denied_cap *
				    sizeof *denied_id);
				denied_why = realloc(denied_why, denied_cap *
				    sizeof *denied_why);
				ck_assert(denied_id != NULL &&
				    denied_why != NULL);
			}
			denied_id[ndenied] = id;
			denied_why[ndenied++] = p;
		} else if (line[0] == 'N' && line[1] == ' ') {
			for (n = 0, s = line + 2; n < N_MAX; n++)
				totals[n] += strtoul(s, &s, 10);
		} else if (sscanf(line, "R %ld", &id) == 1) {
			ck_assert_ptr_nonnull(e = find(id));
			e->revoked = 1;
		} else if (sscanf(line, "r %ld", &id) == 1) {
			ck_assert_ptr_nonnull(e = find(id));
			e->tried = 1;
		}
	}
	free(line);
	fclose(f);
}

/* How many lines of a file hold s. */
static int
log_lines(const char *path, const char *s)
{
	FILE	*f;
	char	*line = NULL;
	size_t	 cap = 0;
	int	 n = 0;

	if ((f = fopen(path, "r")) == NULL)
		return (0);
	while (getline(&line, &cap, f) > 0)
		if (strstr(line, s) != NULL)
			n++;
	free(line);
	fclose(f);
	return (n);
}

static int
by_once(const void *a, const void *b)
{
	long	x = ((const struct once_allow *)a)->id;
	long	y = ((const struct once_allow *)b)->id;

	return (x < y ? -1 : x > y);
}

/* 1 revoked (acknowledged, itself or above), 0 not, -1 undecided. */
static int
revoked_state(const struct issued *e)
{
	int	undecided = 0, hops = 0;

	while (e != NULL) {
		ck_assert_int_lt(hops++, BATON_MAX_BLOCKS);
		if (e->revoked)
			return (1);
		undecided |= e->tried;
		e = e->parent == -1 ? NULL : find(e->parent);
	}
	return (undecided ? -1 : 0);
}

START_TEST(test_torture)
{
	const char	*env = getenv("TORTURE_ROUNDS");
	char		 logs[NCHILD][400], tok[BATON_MAX_TEXT + 1];
	pid_t		 kids[NCHILD];
	uint64_t	 t0, restart_ms = 0, worst_ms = 0, t;
	size_t		 i, checked_live = 0, checked_revoked = 0, undecided = 0;
	size_t		 unspent = 0, ops = 0;
	int		 rounds = env != NULL ? atoi(env) : 3, round, fd, why;
	int		 lost = 0, spent = 0, status, torn, nfaults = 0;
	int		 faults = getenv("TORTURE_DISK_FAULTS") != NULL;
	char		 flag[400], health[256];
	struct msg	 m;
	struct resp	 r;

	if (rounds < 1)
		rounds = 1;
	signal(SIGPIPE, SIG_IGN);
	srandom((unsigned)time(NULL));
	/* No rate limit: the load should reach the journal, not the bucket. */
	tb_init(&T, "development-mode yes\nrate-limit 0\n", NULL);
	snprintf(flag, sizeof flag, "%s/disk-fails", T.dir);
	if (faults) {
		setenv("BATON_FAULT_SYNC_EIO", flag, 1);
		T.preload = FAULT_JOURNAL;
	}
	ck_assert_int_eq(tb_launch(&T), 0);
	ck_assert_int_ge(fd = tb_connect(&T), 0);
	npool = rounds * POOL_PER_ROUND;
	npool = npool < POOL_MIN ? POOL_MIN : npool > POOL_MAX ? POOL_MAX :
	    npool;
	pool = calloc((size_t)npool, sizeof *pool);
	allows = calloc((size_t)npool, sizeof *allows);
	lostv = calloc((size_t)npool, sizeof *lostv);
	ck_assert(pool != NULL && allows != NULL && lostv != NULL);
	for (i = 0; i < (size_t)npool; i++) {
		ck_assert_int_eq(mint(fd, 1, tok, sizeof tok, &lost), 0);
		ck_assert_ptr_nonnull(pool[i] = strdup(tok));
	}
	close(fd);
	for (i = 0; i < NCHILD; i++) {
		snprintf(logs[i], sizeof logs[i], "%s/record.%zu", T.dir, i);
		if ((kids[i] = fork()) == 0)
			client((int)i + 1, logs[i]);
		ck_assert_int_gt(kids[i], 0);
	}
	t0 = now_ms();
	for (round = 0; round < rounds; round++) {
		usleep(200000 + (useconds_t)(random() % 800000));
		if (faults && random() % 2 == 0) {
			/* The disk fails a moment; sometimes the kill too. */
			nfaults++;
			ck_assert_int_eq(close(open(flag, O_WRONLY | O_CREAT,
			    0600)), 0);
			usleep(50000 + (useconds_t)(random() % 250000));
			if (random() % 2 == 0) {
				ck_assert_int_eq(unlink(flag), 0);
				usleep((useconds_t)(random() % 1500000));
			}
		}
		tb_kill9(&T);
		(void)unlink(flag);
		t = now_ms();
		ck_assert_msg(tb_launch(&T) == 0, "round %d: batond did not "
		    "restart on its state; see %s", round, T.log);
		t = now_ms() - t;
		restart_ms += t;
		if (t > worst_ms)
			worst_ms = t;
	}
	usleep(300000);
	t0 = now_ms() - t0;
	for (i = 0; i < NCHILD; i++)
		kill(kids[i], SIGTERM);
	for (i = 0; i < NCHILD; i++) {
		ck_assert_int_eq(waitpid(kids[i], &status, 0), kids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "client %zu failed", i);
	}
	/* A clean stop and start: the state must open, whole. */
	ck_assert_int_eq(tb_stop(&T), 0);
	ck_assert_int_eq(tb_launch(&T), 0);
	ck_assert_int_ge(fd = tb_connect(&T), 0);
	msg_start(&m, BATON_OP_STATUS, 7, 0);
	ck_assert_int_eq(call(fd, &m, &r), 0);
	ck_assert_int_eq(get_str(&r.body, "journal", health, sizeof health),
	    0);
	ck_assert_str_eq(health, "ok");
	resp_free(&r);

	for (i = 0; i < NCHILD; i++)
		read_record(logs[i], 1);
	qsort(iss, niss, sizeof *iss, by_id);
	for (i = 0; i < NCHILD; i++)
		read_record(logs[i], 0);
	for (i = 0; i < (size_t)npool; i++) {
		ck_assert_msg(allows[i] <= 1, "single-use token %zu allowed "
		    "%d times", i, allows[i]);
		if (allows[i] == 1) {
			spent++;
			why = verify(fd, pool[i]);
			ck_assert_msg(why == BATON_R_REPLAYED, "single-use "
			    "token %zu was allowed, now %d", i, why);
		} else if (lostv[i] == 0) {
			/* Never allowed, no answer lost: still unspent. */
			why = verify(fd, pool[i]);
			ck_assert_msg(why == 0, "single-use token %zu, never "
			    "allowed, now %d", i, why);
			unspent++;
		}
	}
	/* The clients' own single-use tokens: allowed at most once. */
	qsort(oa, noa, sizeof *oa, by_once);
	for (i = 0; i < noa; i++) {
		ck_assert_msg(i == 0 || oa[i].id != oa[i - 1].id,
		    "single-use token %ld allowed twice", oa[i].id);
		why = verify_aud(fd, oa[i].token, "mcp-db");
		/* A call token lives 120 s; an ancestor may be revoked. */
		ck_assert_msg(why == BATON_R_REPLAYED || (oa[i].presented &&
		    (why == BATON_R_EXPIRED || why == BATON_R_REVOKED)),
		    "single-use token %ld was allowed, now %d", oa[i].id,
		    why);
	}
	/* Reusable tokens denied during the run: only as revoked. */
	for (i = 0; i < ndenied; i++) {
		struct issued *e = find(denied_id[i]);

		ck_assert_ptr_nonnull(e);
		ck_assert_msg(denied_why[i] == BATON_R_REVOKED &&
		    revoked_state(e) != 0, "token %ld denied during the run "
		    "(reason %d), never revoked", denied_id[i], denied_why[i]);
	}
	for (i = 0; i < niss; i++) {
		switch (revoked_state(&iss[i])) {
		case 1:
			why = verify(fd, iss[i].token);
			ck_assert_msg(why == BATON_R_REVOKED, "token %ld: "
			    "acknowledged revocation lost (reason %d)",
			    iss[i].id, why);
			checked_revoked++;
			break;
		case 0:
			why = verify(fd, iss[i].token);
			ck_assert_msg(why == 0, "token %ld, issued, no longer "
			    "verifies (reason %d)", iss[i].id, why);
			checked_live++;
			break;
		default:
			undecided++;
		}
	}
	close(fd);
	torn = log_lines(T.log, "ignoring a torn tail");
	printf("torture: %d kills in %.1f s of load, restart mean %.0f ms, worst "
	    "%llu ms, %d torn tails cut\n", rounds, (double)t0 / 1000,
	    (double)restart_ms / rounds, (unsigned long long)worst_ms, torn);
	if (faults)
		printf("torture: syncs failing in %d rounds: journal broken %d "
		    "times, rewritten %d times\n", nfaults, log_lines(T.log,
		    "refusing writes, rewriting it every second"),
		    log_lines(T.log, "rewritten in full after"));
	for (i = 0; i < N_MAX; i++) {
		printf("%s%s %lu", i == 0 ? "torture: requests: " : ", ",
		    n_names[i], totals[i]);
		if (i != N_LOST)
			ops += totals[i];
	}
	printf(" (%zu in all)\n", ops);
	printf("torture: %zu tokens issued (%zu checked live, %zu checked "
	    "revoked, %zu undecided), %zu denials during the run all "
	    "revocations; pool of %d: %d single-use tokens spent once, %zu "
	    "checked unspent; %zu own single-use tokens allowed, none twice\n", niss,
	    checked_live, checked_revoked, undecided, ndenied, npool, spent,
	    unspent,
	    noa);
	ck_assert_uint_gt(niss, 0);
	ck_assert_int_eq(tb_stop(&T), 0);
	tb_cleanup(&T);
	for (i = 0; i < niss; i++)
		free(iss[i].token);
	free(iss);
	for (i = 0; i < noa; i++)
		free(oa[i].token);
	free(oa);
	free(denied_id);
	free(denied_why);
	for (i = 0; i < (size_t)npool; i++)
		free(pool[i]);
	free(pool);
	free(allows);
	free(lostv);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("torture");
	TCase	*tc = tcase_create("kill9");
	SRunner	*sr;
	int	 failed, rounds;

	rounds = getenv("TORTURE_ROUNDS") != NULL ?
	    atoi(getenv("TORTURE_ROUNDS")) : 3;
	tcase_set_timeout(tc, 60 + 4 * (rounds > 0 ? rounds : 1));
	tcase_add_test(tc, test_torture);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
