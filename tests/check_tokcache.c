/*
 * check_tokcache.c: the broker's cache of opened tokens (broker/tokcache.c)
 * against a real batond with one worker, so that every request of a test
 * meets the same cache.  A hit must answer exactly as a miss does, every
 * check after the open must still run on a hit, and each change of the
 * keyring must turn a hit into a fresh open.  The counters token_cache_hits
 * and token_cache_misses show which path a request took.
 */

#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "broker-util.h"
#include "testutil.h"

#ifndef BATON_CLI
#define BATON_CLI "./libclient/baton"
#endif

static struct tb	T, F;		/* the broker; a federated peer */
static char		trustdir[64];

static int
up(const char *extra)
{
	char	conf[512];
	int	fd;

	snprintf(conf, sizeof conf, "development-mode yes\nworkers 1\n"
	    "max-ttl 120\n%s", extra != NULL ? extra : "");
	tb_init(&T, conf, NULL);
	ck_assert_int_eq(tb_launch(&T), 0);
	ck_assert_int_ge(fd = tb_connect(&T), 0);
	return (fd);
}

static void
down(void)
{
	char	cmd[128];

	ck_assert_int_eq(tb_stop(&T), 0);
	tb_cleanup(&T);
	if (F.dir[0] != '\0') {
		ck_assert_int_eq(tb_stop(&F), 0);
		tb_cleanup(&F);
		memset(&F, 0, sizeof F);
	}
	if (trustdir[0] != '\0') {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", trustdir);
		ck_assert_int_eq(system(cmd), 0);
		trustdir[0] = '\0';
	}
}

static uint64_t
counter(int fd, const char *name)
{
	struct msg	 m;
	struct resp	 r;
	struct mpr	 v;
	uint64_t	 n;

	msg_start(&m, BATON_OP_STATUS, 9, 0);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(map_get(&r.body, "counters", &v), 0);
	n = get_uint(&v, name);
	resp_free(&r);
	return (n);
}

#define HITS(fd)	counter(fd, "token_cache_hits")
#define MISSES(fd)	counter(fd, "token_cache_misses")

/* A verify answer's body, as bytes, and its reason. */
struct answer {
	uint8_t	*body;
	size_t	 len;
	int	 reason;
};

/* verify, with a usage figure for max_rows when rows is not 0 */
static void
ask(int fd, const char *tok, const char *tool, uint64_t rows,
    struct answer *a)
{
	struct msg	m;
	struct resp	r;

	msg_start(&m, BATON_OP_VERIFY, 2, 3 + (rows != 0));
	pk_kv_str(&m.pk, "token", tok);
	pk_kv_str(&m.pk, "tool", tool);
	pk_kv_str(&m.pk, "action", "read");
	if (rows != 0) {
		pk_str(&m.pk, "usage");
		msgpack_pack_map(&m.pk, 1);
		pk_kv_uint(&m.pk, "max_rows", rows);
	}
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	ck_assert_int_eq(r.status, 0);
	a->reason = (int)get_uint(&r.body, "reason");
	ck_assert_int_eq(get_bool(&r.body, "allow"), a->reason == 0);
	a->len = (size_t)(r.body.end - r.body.p);
	ck_assert_ptr_nonnull(a->body = malloc(a->len));
	memcpy(a->body, r.body.p, a->len);
	resp_free(&r);
}

static int
verify(int fd, const char *tok)
{
	struct answer	a;

	ask(fd, tok, "db_query", 0, &a);
	free(a.body);
	return (a.reason);
}

static void
same_answer(const struct answer *a, const struct answer *b)
{
	ck_assert_int_eq(a->reason, b->reason);
	ck_assert_uint_eq(a->len, b->len);
	ck_assert_mem_eq(a->body, b->body, a->len);
}

static char *
mint(int fd, uint64_t ttl, int single_use)
{
	char	*t;

	t = tb_mint(fd, "orchestrator", "db_query", "read", 100, ttl,
	    single_use, NULL);
	ck_assert_ptr_nonnull(t);
	return (t);
}

static int
simple(int fd, int op, struct resp *r)
{
	struct msg	m;

	msg_start(&m, op, 42, 0);
	ck_assert_int_eq(rpc(fd, &m, r), 0);
	return (r->status);
}

/* ---- a hit answers as the miss did --------------------------------------- */

START_TEST(test_hit_same_answer)
{
	struct answer	 miss, hit, d1, d2, u1, u2;
	char		*t;
	int		 fd = up(NULL), i;

	t = mint(fd, 60, 0);
	ck_assert_uint_eq(HITS(fd), 0);
	ask(fd, t, "db_query", 0, &miss);
	ck_assert_int_eq(miss.reason, 0);
	ck_assert_uint_eq(MISSES(fd), 1);
	ck_assert_uint_eq(HITS(fd), 0);
	for (i = 0; i < 50; i++) {	/* the arena is rewound each time */
		ask(fd, t, "db_query", 0, &hit);
		same_answer(&miss, &hit);
		free(hit.body);
	}
	ck_assert_uint_eq(HITS(fd), 50);
	ck_assert_uint_eq(MISSES(fd), 1);
	/* This request's own checks still decide, hit or not. */
	ask(fd, t, "file_read", 0, &d1);
	ck_assert_int_eq(d1.reason, BATON_R_TOOL_NOT_GRANTED);
	ask(fd, t, "db_query", 500, &u1);
	ck_assert_int_eq(u1.reason, BATON_R_LIMIT_EXCEEDED);
	ask(fd, t, "db_query", 50, &hit);
	same_answer(&miss, &hit);
	free(hit.body);
	ck_assert_uint_eq(MISSES(fd), 1);
	/* The same three asked of a broker without a cache. */
	close(fd);
	down();
	fd = up("token-cache 0\n");
	free(t);
	t = mint(fd, 60, 0);
	ask(fd, t, "file_read", 0, &d2);
	ask(fd, t, "db_query", 500, &u2);
	ck_assert_int_eq(d2.reason, d1.reason);
	ck_assert_int_eq(u2.reason, u1.reason);
	ck_assert_uint_eq(d2.len, d1.len);	/* kid and jti differ */
	ck_assert_uint_eq(u2.len, u1.len);
	ck_assert_uint_eq(HITS(fd) + MISSES(fd), 0);
	free(miss.body);
	free(d1.body);
	free(d2.body);
	free(u1.body);
	free(u2.body);
	free(t);
	close(fd);
	down();
}
END_TEST

/* ---- a text one byte off a cached one is opened afresh --------------------- */

/* An alphabet character other than c, so the text stays base64url. */
static char
other(char c)
{
	return (c == 'A' ? 'B' : 'A');
}

/*
 * The text of a cached token with one byte changed is a miss, and gets
 * the answer a broker without the cache gives.  A change in the header
 * or a payload is refused.  The signature and the tag each carry the
 * token alone (tag first, signature when the tag fails: DESIGN.md), so a
 * change in one of them is another valid text of the same token, opened
 * on its own; both kinds must be misses, which a cache that compared
 * less than the whole text would turn into hits.
 */
START_TEST(test_one_byte_off)
{
	char	*t, *u, conf[600];
	size_t	 len, i, n;
	size_t	 pos[] = { 4, 5, 8, 20, 40, 0, 0, 0, 0, 0, 0, 0, 0 };
	int	 fd = up("token-cache 1024\n"), why[16];
	uint64_t hits, misses;
	FILE	*f;

	t = mint(fd, 60, 0);
	len = strlen(t);
	/* the end of the payload; signature; tag; the hashed tail */
	n = 5;
	pos[n++] = len - 140;
	pos[n++] = len - 120;
	pos[n++] = len - 60;
	pos[n++] = len - 40;
	pos[n++] = len - 20;
	pos[n++] = len - 16;
	pos[n++] = len - 2;
	ck_assert_int_eq(verify(fd, t), 0);
	ck_assert_int_eq(verify(fd, t), 0);
	hits = HITS(fd);
	misses = MISSES(fd);
	ck_assert_uint_eq(hits, 1);
	ck_assert_ptr_nonnull(u = malloc(len + 2));
	for (i = 0; i < n; i++) {
		memcpy(u, t, len + 1);
		u[pos[i]] = other(u[pos[i]]);
		why[i] = verify(fd, u);
		if (pos[i] < len - 140)
			ck_assert_msg(why[i] != 0, "byte %zu changed, allowed",
			    pos[i]);
		ck_assert_int_eq(verify(fd, t), 0);	/* still cached */
	}
	/* one byte longer, one shorter */
	memcpy(u, t, len + 1);
	u[len] = 'A';
	u[len + 1] = '\0';
	why[n] = verify(fd, u);
	ck_assert_int_ne(why[n], 0);
	memcpy(u, t, len + 1);
	u[len - 1] = '\0';
	why[n + 1] = verify(fd, u);
	ck_assert_int_ne(why[n + 1], 0);
	/* every changed text a miss; t a hit each time */
	ck_assert_uint_eq(HITS(fd), hits + n);
	ck_assert_uint_eq(MISSES(fd), misses + n + 2);

	/* The same texts through the same broker with the cache off. */
	snprintf(conf, sizeof conf, "development-mode yes\nworkers 1\n"
	    "max-ttl 120\ntoken-cache 0\n");
	ck_assert_ptr_nonnull(f = fopen(T.conf, "w"));
	fputs(conf, f);
	ck_assert_int_eq(fclose(f), 0);
	{
		struct resp	r;

		ck_assert_int_eq(simple(fd, BATON_OP_RELOAD, &r), 0);
		resp_free(&r);
	}
	for (i = 0; i < n; i++) {
		memcpy(u, t, len + 1);
		u[pos[i]] = other(u[pos[i]]);
		ck_assert_int_eq(verify(fd, u), why[i]);
	}
	ck_assert_int_eq(verify(fd, t), 0);
	ck_assert_uint_eq(HITS(fd), hits + n);
	ck_assert_uint_eq(MISSES(fd), misses + n + 2);
	free(u);
	free(t);
	close(fd);
	down();
}
END_TEST

/* ---- what runs after the open runs on a hit ------------------------------ */

START_TEST(test_revoked_expired_spent)
{
	struct msg	 m;
	struct resp	 r;
	char		*t, *e, *s;
	int		 fd = up(NULL);
	time_t		 t0;

	t = mint(fd, 60, 0);
	ck_assert_int_eq(verify(fd, t), 0);
	ck_assert_int_eq(verify(fd, t), 0);
	msg_start(&m, BATON_OP_REVOKE, 5, 1);
	pk_kv_str(&m.pk, "token", t);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	ck_assert_int_eq(r.status, 0);
	resp_free(&r);
	ck_assert_int_eq(verify(fd, t), BATON_R_REVOKED);
	ck_assert_uint_eq(HITS(fd), 2);

	/* single use: spent on the first allow, replayed on the hit */
	s = mint(fd, 60, 1);
	ck_assert_int_eq(verify(fd, s), 0);
	ck_assert_int_eq(verify(fd, s), BATON_R_REPLAYED);
	ck_assert_uint_eq(HITS(fd), 3);

	/* expired while cached */
	t0 = time(NULL);
	e = mint(fd, 2, 0);
	ck_assert_int_eq(verify(fd, e), 0);
	ck_assert_int_eq(verify(fd, e), 0);
	while (time(NULL) <= t0 + 3)
		usleep(100000);
	ck_assert_int_eq(verify(fd, e), BATON_R_EXPIRED);
	ck_assert_uint_eq(HITS(fd), 5);
	free(t);
	free(s);
	free(e);
	close(fd);
	down();
}
END_TEST

/* ---- the keyring changes: rotation, retirement, distrust ---------------- */

/* The signing key's seed, read from the state directory: what a thief has. */
static struct baton_key *
steal_key(void)
{
	char		 dir[400], path[700];
	uint8_t		 buf[52];
	struct dirent	*de;
	struct baton_key *k = NULL;
	DIR		*d;
	int		 kfd;

	snprintf(dir, sizeof dir, "%s/keys", T.state);
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((de = readdir(d)) != NULL && k == NULL) {
		if (strstr(de->d_name, ".key") == NULL)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		ck_assert_int_ge(kfd = open(path, O_RDONLY), 0);
		ck_assert_int_eq(read(kfd, buf, sizeof buf), 52);
		close(kfd);
		ck_assert_int_eq(baton_key_from_seed(&k, buf + 20), 0);
	}
	closedir(d);
	ck_assert_ptr_nonnull(k);
	return (k);
}

/*
 * A token living past what a rotation leaves its key (forged with a
 * stolen seed, or minted before max-ttl was lowered) verifies while its
 * key signs, and is retired by the rotation, though cached.
 */
START_TEST(test_rotation)
{
	struct resp		 r;
	struct baton_key	*old;
	struct baton_block	 blk;
	char			*legit, *longer;
	uint64_t		 now = (uint64_t)time(NULL);
	int			 fd = up(NULL);

	legit = mint(fd, 60, 0);
	old = steal_key();
	tu_root(&blk, 0x51, now, 7200);
	longer = tu_seal(old, &blk, 1);
	ck_assert_int_eq(verify(fd, longer), 0);
	ck_assert_int_eq(verify(fd, longer), 0);
	ck_assert_int_eq(verify(fd, legit), 0);
	ck_assert_int_eq(verify(fd, legit), 0);
	ck_assert_uint_eq(HITS(fd), 2);
	ck_assert_int_eq(simple(fd, BATON_OP_ROTATE, &r), 0);
	resp_free(&r);
	ck_assert_int_eq(verify(fd, longer), BATON_R_KEY_RETIRED);
	ck_assert_int_eq(verify(fd, legit), 0);
	ck_assert_int_eq(verify(fd, legit), 0);
	ck_assert_uint_eq(HITS(fd), 3);		/* reopened, then cached */
	baton_key_free(old);
	free(legit);
	free(longer);
	close(fd);
	down();
}
END_TEST

/* An emergency rotation ends every older token, cached or not. */
START_TEST(test_emergency_rotation)
{
	struct msg	 m;
	struct resp	 r;
	char		*legit;
	int		 fd = up(NULL);

	legit = mint(fd, 60, 0);
	ck_assert_int_eq(verify(fd, legit), 0);
	ck_assert_int_eq(verify(fd, legit), 0);
	ck_assert_uint_eq(HITS(fd), 1);
	msg_start(&m, BATON_OP_ROTATE, 3, 1);
	pk_kv_bool(&m.pk, "now", 1);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	ck_assert_int_eq(r.status, 0);
	resp_free(&r);
	ck_assert_int_eq(verify(fd, legit), BATON_R_UNKNOWN_KEY);
	ck_assert_int_eq(verify(fd, legit), BATON_R_UNKNOWN_KEY);
	ck_assert_uint_eq(HITS(fd), 1);
	free(legit);
	close(fd);
	down();
}
END_TEST

/* `baton pubkeys --json` of F, as an operator would save it. */
static void
save_bundle(const char *path)
{
	char	 cmd[900];

	snprintf(cmd, sizeof cmd, "%s pubkeys --json --socket %s > %s && "
	    "chmod 644 %s", BATON_CLI, F.sock, path, path);
	ck_assert_int_eq(system(cmd), 0);
}

/* F's tokens verify at T through F's bundle, until it is removed. */
START_TEST(test_trust_removed)
{
	struct resp	 r;
	char		 conf[256], path[128], *t;
	int		 fd, ffd;

	snprintf(trustdir, sizeof trustdir, "/tmp/baton-tc.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(trustdir));
	ck_assert_int_eq(chmod(trustdir, 0755), 0);
	tb_init(&F, "development-mode yes\n", NULL);
	ck_assert_int_eq(tb_launch(&F), 0);
	ck_assert_int_ge(ffd = tb_connect(&F), 0);
	snprintf(path, sizeof path, "%s/f.json", trustdir);
	save_bundle(path);
	snprintf(conf, sizeof conf, "trusted-keys %s\n", trustdir);
	fd = up(conf);
	t = mint(ffd, 60, 0);
	ck_assert_int_eq(verify(fd, t), 0);
	ck_assert_int_eq(verify(fd, t), 0);
	ck_assert_uint_eq(HITS(fd), 1);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(simple(fd, BATON_OP_RELOAD, &r), 0);
	resp_free(&r);
	ck_assert_int_eq(verify(fd, t), BATON_R_UNKNOWN_KEY);
	ck_assert_int_eq(verify(fd, t), BATON_R_UNKNOWN_KEY);
	/* failures are not kept: back once the bundle is */
	save_bundle(path);
	ck_assert_int_eq(simple(fd, BATON_OP_RELOAD, &r), 0);
	resp_free(&r);
	ck_assert_int_eq(verify(fd, t), 0);
	ck_assert_uint_eq(HITS(fd), 1);
	free(t);
	close(ffd);
	close(fd);
	down();
}
END_TEST

/*
 * A hit lends the entry's token: what the request allocates in its arena
 * (the effective grant, the tool's facts) must go when it ends, or a
 * session's token grows the broker by that much on every call.
 */
static long
rss_kb(pid_t pid)
{
	char	 path[64], line[256];
	long	 kb = -1;
	FILE	*f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	ck_assert_int_gt(kb, 0);
	return (kb);
}

START_TEST(test_hits_bounded)
{
	char	*t;
	long	 before, after;
	int	 fd, i;

	if (getenv("BATOND_VALGRIND") != NULL) {
		/* its memory is valgrind's, and 32000 verifies too slow */
		printf("SKIP %s: resident size under valgrind\n", __func__);
		return;
	}
	fd = up(NULL);

	t = mint(fd, 60, 0);
	for (i = 0; i < 2000; i++)	/* warm: every pool at its size */
		ck_assert_int_eq(verify(fd, t), 0);
	before = rss_kb(T.pid);
	for (i = 0; i < 30000; i++)
		ck_assert_int_eq(verify(fd, t), 0);
	after = rss_kb(T.pid);
	ck_assert_uint_eq(HITS(fd), 31999);
	/* 0 kB here; some 1400 kB when nothing is given back */
	ck_assert_msg(after - before < 256, "30000 hits grew the broker "
	    "by %ld kB", after - before);
	free(t);
	close(fd);
	down();
}
END_TEST

/* ---- many tokens: eviction, and the cache off ----------------------------- */

#define NTOK	24

static void
round_robin(int fd)
{
	struct answer	 first[NTOK], again;
	char		*t[NTOK];
	int		 i, k;

	for (i = 0; i < NTOK; i++)
		t[i] = mint(fd, 60, 0);
	for (i = 0; i < NTOK; i++)
		ask(fd, t[i], "db_query", 0, &first[i]);
	for (k = 0; k < 3; k++)
		for (i = 0; i < NTOK; i++) {
			ask(fd, t[(i * 7 + k) % NTOK], "db_query", 0, &again);
			same_answer(&first[(i * 7 + k) % NTOK], &again);
			free(again.body);
		}
	for (i = 0; i < NTOK; i++) {
		ck_assert_int_eq(first[i].reason, 0);
		/* each answer names its own token's jti, no other's */
		if (i > 0)
			ck_assert(first[i].len != first[i - 1].len ||
			    memcmp(first[i].body, first[i - 1].body,
			    first[i].len) != 0);
	}
	for (i = 0; i < NTOK; i++) {
		free(first[i].body);
		free(t[i]);
	}
}

START_TEST(test_eviction)
{
	int	fd = up("token-cache 6\n");

	round_robin(fd);
	ck_assert_uint_eq(HITS(fd) + MISSES(fd), 4 * NTOK);
	ck_assert_uint_ge(MISSES(fd), NTOK + 3 * (NTOK - 6));
	close(fd);
	down();
}
END_TEST

/*
 * A text that fails to open is never kept, and evicts nothing: with room
 * for one token, a cached token is still a hit after junk of its own
 * length (the same set) was refused.
 */
START_TEST(test_failure_evicts_nothing)
{
	char	*t, *u;
	int	 fd = up("token-cache 1\n");

	t = mint(fd, 60, 0);
	ck_assert_int_eq(verify(fd, t), 0);	/* miss, kept */
	ck_assert_int_eq(verify(fd, t), 0);	/* hit */
	ck_assert_uint_eq(HITS(fd), 1);
	ck_assert_ptr_nonnull(u = strdup(t));
	u[strlen(u) / 2] = other(u[strlen(u) / 2]);	/* a payload byte */
	ck_assert_int_ne(verify(fd, u), 0);
	ck_assert_int_ne(verify(fd, u), 0);	/* never kept: a miss again */
	ck_assert_uint_eq(HITS(fd), 1);
	ck_assert_int_eq(verify(fd, t), 0);	/* still there */
	ck_assert_uint_eq(HITS(fd), 2);
	ck_assert_uint_eq(MISSES(fd), 3);
	free(t);
	free(u);
	close(fd);
	down();
}
END_TEST

START_TEST(test_cache_off)
{
	char	*t, *u;
	int	 fd = up("token-cache 0\n");

	round_robin(fd);
	t = mint(fd, 60, 0);
	ck_assert_int_eq(verify(fd, t), 0);
	ck_assert_int_eq(verify(fd, t), 0);
	ck_assert_ptr_nonnull(u = strdup(t));
	u[strlen(u) / 2] = other(u[strlen(u) / 2]);
	ck_assert_int_ne(verify(fd, u), 0);
	ck_assert_uint_eq(HITS(fd) + MISSES(fd), 0);
	free(t);
	free(u);
	close(fd);
	down();
}
END_TEST

/* ---- attenuate and present open through the cache too --------------------- */

static char *
present(int fd, const char *tok, int *reason)
{
	struct msg	 m;
	struct resp	 r;
	char		 buf[BATON_MAX_TEXT + 1], *out = NULL;

	msg_start(&m, BATON_OP_PRESENT, 3, 5);
	pk_kv_str(&m.pk, "token", tok);
	pk_kv_str(&m.pk, "as", "worker-a");
	pk_kv_str(&m.pk, "tool", "db_query");
	pk_kv_str(&m.pk, "action", "read");
	pk_kv_str(&m.pk, "aud", "db");
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	*reason = r.status == 0 ? 0 : (int)get_uint(&r.body, "reason");
	if (r.status == 0) {
		ck_assert_int_eq(get_str(&r.body, "token", buf, sizeof buf), 0);
		out = strdup(buf);
	}
	resp_free(&r);
	return (out);
}

START_TEST(test_present_cached)
{
	struct msg	 m;
	struct resp	 r;
	char		*t, *p1, *p2;
	int		 fd = up(NULL), why;

	t = mint(fd, 60, 0);
	ck_assert_ptr_nonnull(p1 = present(fd, t, &why));
	ck_assert_ptr_nonnull(p2 = present(fd, t, &why));
	ck_assert_uint_eq(HITS(fd), 1);
	ck_assert_str_ne(p1, p2);
	ck_assert_int_eq(tb_verify(fd, p1, "db_query", "read", "db", &r), 0);
	ck_assert_uint_eq(get_uint(&r.body, "reason"), 0);
	resp_free(&r);
	ck_assert_int_eq(tb_verify(fd, p2, "db_query", "read", "db", &r), 0);
	ck_assert_uint_eq(get_uint(&r.body, "reason"), 0);
	resp_free(&r);
	free(p1);
	free(p2);
	/* the parent revoked while cached: no more presentations */
	msg_start(&m, BATON_OP_REVOKE, 5, 1);
	pk_kv_str(&m.pk, "token", t);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	ck_assert_int_eq(r.status, 0);
	resp_free(&r);
	ck_assert_ptr_null(present(fd, t, &why));
	ck_assert_int_eq(why, BATON_R_REVOKED);
	free(t);
	close(fd);
	down();
}
END_TEST

static Suite *
tokcache_suite(void)
{
	Suite	*s = suite_create("tokcache");
	TCase	*tc = tcase_create("tokcache");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hit_same_answer);
	tcase_add_test(tc, test_one_byte_off);
	tcase_add_test(tc, test_revoked_expired_spent);
	tcase_add_test(tc, test_rotation);
	tcase_add_test(tc, test_emergency_rotation);
	tcase_add_test(tc, test_trust_removed);
	tcase_add_test(tc, test_hits_bounded);
	tcase_add_test(tc, test_eviction);
	tcase_add_test(tc, test_cache_off);
	tcase_add_test(tc, test_failure_evicts_nothing);
	tcase_add_test(tc, test_present_cached);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr = srunner_create(tokcache_suite());
	int	 nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
