/*
 * check_federation.c: several real brokers, each with its own state
 * directory and keys, trusting each other through key bundles in a
 * trusted-keys directory (doc/TOKEN.md section 13, baton.conf(5)); and
 * libbaton-verify's offline mode over several bundles.
 */

#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>
#include <sodium.h>

#include "baton/verify.h"
#include "broker-util.h"

#ifndef BATON_CLI
#define BATON_CLI "./libclient/baton"
#endif

#define NB	3
static struct tb	TB[NB];		/* A = 0, B = 1, C = 2 */
static char		TRUST[NB][64];	/* each broker's trusted-keys */

static void
rmtree(const char *dir)
{
	char	cmd[300];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* Broker i with its own (empty) trusted-keys directory and extra conf. */
static void
prepare(int i, const char *extra)
{
	char	conf[512];

	snprintf(TRUST[i], sizeof TRUST[i], "/tmp/baton-trust.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(TRUST[i]));
	ck_assert_int_eq(chmod(TRUST[i], 0755), 0);
	snprintf(conf, sizeof conf, "development-mode yes\n"
	    "trusted-keys %s\n%s", TRUST[i], extra != NULL ? extra : "");
	tb_init(&TB[i], conf, NULL);
}

static int
launch(int i)
{
	int	fd;

	ck_assert_int_eq(tb_launch(&TB[i]), 0);
	fd = tb_connect(&TB[i]);
	ck_assert_int_ge(fd, 0);
	return (fd);
}

static int
up(int i, const char *extra)
{
	prepare(i, extra);
	return (launch(i));
}

static void
down_all(void)
{
	int	i;

	for (i = 0; i < NB; i++) {
		if (TB[i].dir[0] == '\0')
			continue;
		/* SIGTERM drains and exits 0 (42: valgrind found errors) */
		if (TB[i].pid > 0)
			ck_assert_int_eq(tb_stop(&TB[i]), 0);
		tb_cleanup(&TB[i]);
		rmtree(TRUST[i]);
	}
	memset(TB, 0, sizeof TB);
}

/* `baton pubkeys --json` at broker i, as an operator would save it. */
static char *
bundle_of(int i)
{
	char	 cmd[600], *buf;
	size_t	 n = 0, r;
	FILE	*p;

	snprintf(cmd, sizeof cmd, "%s pubkeys --json --socket %s", BATON_CLI,
	    TB[i].sock);
	ck_assert_ptr_nonnull(p = popen(cmd, "r"));
	buf = calloc(1, 65536);
	while ((r = fread(buf + n, 1, 65535 - n, p)) > 0)
		n += r;
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_uint_gt(n, 0);
	return (buf);
}

static void
write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char	 path[300];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* Broker i's bundle into broker j's trusted-keys as NAME. */
static void
trust(int j, int i, const char *name)
{
	char	*b = bundle_of(i);

	write_file(TRUST[j], name, b, 0644);
	free(b);
}

/* The bundle with a top-level field changed (an integer), re-dumped. */
static char *
bundle_set(const char *text, const char *key, json_int_t v)
{
	json_t	*doc = json_loads(text, 0, NULL);
	char	*out;

	ck_assert_ptr_nonnull(doc);
	json_object_set_new(doc, key, json_integer(v));
	out = json_dumps(doc, 0);
	json_decref(doc);
	return (out);
}

static int
simple_status(int fd, int op, struct resp *r)
{
	struct msg	m;

	msg_start(&m, op, 42, 0);
	ck_assert_int_eq(rpc(fd, &m, r), 0);
	return (r->status);
}

static void
kid_of(int fd, uint8_t kid[BATON_KID_LEN])
{
	struct resp	 r;
	struct mpr	 v;
	const uint8_t	*p;

	ck_assert_int_eq(simple_status(fd, BATON_OP_PUBKEYS, &r), 0);
	ck_assert_int_eq(map_get(&r.body, "kid", &v), 0);
	ck_assert_int_eq(mpr_bin_exact(&v, &p, BATON_KID_LEN), 0);
	memcpy(kid, p, BATON_KID_LEN);
	/* a bundle says how long it holds */
	ck_assert_uint_gt(get_uint(&r.body, "not_after"),
	    get_uint(&r.body, "issued"));
	resp_free(&r);
}

static char *
mint(int fd)
{
	char	*t;

	t = tb_mint(fd, "orchestrator", "db_query", "read", 100, 3600, 0,
	    NULL);
	ck_assert_ptr_nonnull(t);
	return (t);
}

/* verify; the reason (0: allow); kid and root_kid of the facts if asked. */
static int
verify(int fd, const char *tok, uint8_t *kid, uint8_t *root)
{
	struct resp	 r;
	struct mpr	 facts, v;
	const uint8_t	*p;
	int		 reason;

	ck_assert_int_eq(tb_verify(fd, tok, "db_query", "read", "db", &r), 0);
	ck_assert_int_eq(r.status, 0);
	reason = (int)get_uint(&r.body, "reason");
	ck_assert_int_eq(get_bool(&r.body, "allow"), reason == 0);
	if (reason == 0 && kid != NULL) {
		ck_assert_int_eq(map_get(&r.body, "facts", &facts), 0);
		ck_assert_int_eq(map_get(&facts, "kid", &v), 0);
		ck_assert_int_eq(mpr_bin_exact(&v, &p, BATON_KID_LEN), 0);
		memcpy(kid, p, BATON_KID_LEN);
		ck_assert_int_eq(map_get(&facts, "root_kid", &v), 0);
		ck_assert_int_eq(mpr_bin_exact(&v, &p, BATON_KID_LEN), 0);
		memcpy(root, p, BATON_KID_LEN);
	}
	resp_free(&r);
	return (reason);
}

/*
 * attenuate (limit: max_rows, 0 none; wide: also ask for file_read) or
 * present; the token, or NULL with *reason (or -status) set.
 */
static char *
extend(int fd, const char *tok, int present, uint64_t limit, int wide,
    int *reason)
{
	struct msg	 m;
	struct resp	 r;
	char		 buf[BATON_MAX_TEXT + 1], *out = NULL;

	if (present) {
		msg_start(&m, BATON_OP_PRESENT, 3, 5);
		pk_kv_str(&m.pk, "token", tok);
		pk_kv_str(&m.pk, "as", "worker-a");
		pk_kv_str(&m.pk, "tool", "db_query");
		pk_kv_str(&m.pk, "action", "read");
		pk_kv_str(&m.pk, "aud", "db");
	} else {
		msg_start(&m, BATON_OP_ATTENUATE, 3, 3);
		pk_kv_str(&m.pk, "token", tok);
		pk_kv_str(&m.pk, "as", "worker-a");
		pk_str(&m.pk, "grants");
		msgpack_pack_map(&m.pk, 1 + (wide != 0));
		pk_str(&m.pk, "db_query");
		msgpack_pack_map(&m.pk, 1 + (limit != 0));
		pk_str(&m.pk, "actions");
		msgpack_pack_array(&m.pk, 1);
		pk_str(&m.pk, "read");
		if (limit != 0) {
			pk_str(&m.pk, "limits");
			msgpack_pack_map(&m.pk, 1);
			pk_kv_uint(&m.pk, "max_rows", limit);
		}
		if (wide) {
			pk_str(&m.pk, "file_read");
			msgpack_pack_map(&m.pk, 0);
		}
	}
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	*reason = r.status != 0 && r.status != BATON_WIRE_EDENIED ?
	    -(int)r.status : (int)get_uint(&r.body, "reason");
	if (r.status == 0) {
		ck_assert_int_eq(get_str(&r.body, "token", buf, sizeof buf), 0);
		out = strdup(buf);
	}
	resp_free(&r);
	return (out);
}

static void
reload(int fd, int want)
{
	struct resp	r;

	ck_assert_int_eq(simple_status(fd, BATON_OP_RELOAD, &r), want);
	resp_free(&r);
}

/* ---- verify by signature ------------------------------------------------- */

START_TEST(test_fed_verify)
{
	uint8_t	 ka[BATON_KID_LEN], kid[BATON_KID_LEN], root[BATON_KID_LEN];
	char	*ta, *tc, cmd[BATON_MAX_TEXT + 400];
	int	 a = up(0, NULL), c = up(2, NULL), b;

	kid_of(a, ka);
	prepare(1, NULL);
	trust(1, 0, "a.json");
	b = launch(1);
	ck_assert(tb_log_has(&TB[1], "1 key(s) from 1 bundle(s)"));
	ta = mint(a);
	tc = mint(c);
	ck_assert_int_eq(verify(b, ta, kid, root), 0);
	ck_assert_mem_eq(kid, ka, BATON_KID_LEN);
	ck_assert_mem_eq(root, ka, BATON_KID_LEN);
	/* C's bundle is nowhere in B's directory */
	ck_assert_int_eq(verify(b, tc, NULL, NULL), BATON_R_UNKNOWN_KEY);
	/* and trust is not mutual: A does not know B */
	free(tc);
	tc = mint(b);
	ck_assert_int_eq(verify(a, tc, NULL, NULL), BATON_R_UNKNOWN_KEY);
	/* the CLI against B: exit 0, allowed */
	snprintf(cmd, sizeof cmd, "%s verify %s --tool db_query --action read "
	    "--aud db --socket %s >/dev/null", BATON_CLI, ta, TB[1].sock);
	ck_assert_int_eq(system(cmd), 0);
	free(ta);
	free(tc);
	down_all();
}
END_TEST

/* ---- validity: expired bundles and keys, rotation ------------------------- */

START_TEST(test_fed_expired_bundle)
{
	char	*ta, *bun, *old;
	int	 a = up(0, NULL), b, why;
	time_t	 now = time(NULL);

	prepare(1, NULL);
	bun = bundle_of(0);
	old = bundle_set(bun, "not_after", (json_int_t)now - 5);
	write_file(TRUST[1], "a.json", old, 0644);
	b = launch(1);
	ck_assert(tb_log_has(&TB[1], "expired"));
	ta = mint(a);
	ck_assert_int_eq(verify(b, ta, NULL, NULL), BATON_R_UNKNOWN_KEY);
	/* nor is it re-signed */
	ck_assert_ptr_null(extend(b, ta, 0, 0, 0, &why));
	ck_assert_int_eq(why, BATON_R_UNKNOWN_KEY);
	free(old);

	/* valid for three more seconds: trusted, then no longer */
	now = time(NULL);
	old = bundle_set(bun, "not_after", (json_int_t)now + 3);
	write_file(TRUST[1], "a.json", old, 0644);
	reload(b, 0);
	ck_assert_int_eq(verify(b, ta, NULL, NULL), 0);
	while (time(NULL) <= now + 3)
		usleep(100000);
	ck_assert_int_eq(verify(b, ta, NULL, NULL), BATON_R_KEY_RETIRED);
	ck_assert_ptr_null(extend(b, ta, 0, 0, 0, &why));
	ck_assert_int_eq(why, BATON_R_KEY_RETIRED);
	free(old);
	free(bun);
	free(ta);
	down_all();
}
END_TEST

/*
 * B reloads its bundles on SIGHUP, under the seccomp filter where the
 * build has one: reading trusted-keys needs nothing start-up did not.
 */
#ifdef HAVE_SECCOMP
#define B_SECCOMP	"seccomp yes\n"
#else
#define B_SECCOMP	NULL
#endif

START_TEST(test_fed_rotation)
{
	struct resp	 r;
	char		*t1, *t2;
	int		 a = up(0, NULL), b, i, why;

	prepare(1, B_SECCOMP);
	trust(1, 0, "a.json");
	b = launch(1);
	for (i = 0; B_SECCOMP != NULL && i < 300 &&
	    !tb_log_has(&TB[1], "seccomp filter installed"); i++)
		usleep(10000);
	if (B_SECCOMP != NULL)
		ck_assert(tb_log_has(&TB[1], "seccomp filter installed"));
	t1 = mint(a);
	ck_assert_int_eq(simple_status(a, BATON_OP_ROTATE, &r), 0);
	resp_free(&r);
	t2 = mint(a);
	ck_assert_int_eq(verify(b, t1, NULL, NULL), 0);
	ck_assert_int_eq(verify(b, t2, NULL, NULL), BATON_R_UNKNOWN_KEY);
	/* the new bundle, then SIGHUP as an operator's cron job would */
	trust(1, 0, "a.json");
	ck_assert_int_eq(kill(TB[1].pid, SIGHUP), 0);
	for (i = 0; i < 200 && verify(b, t2, NULL, NULL) != 0; i++)
		usleep(20000);
	ck_assert_int_eq(verify(b, t2, NULL, NULL), 0);
	/* the old key is in the new bundle too, retired but verifying */
	ck_assert_int_eq(verify(b, t1, NULL, NULL), 0);
	free(t1);
	t1 = extend(b, t2, 0, 0, 0, &why);
	ck_assert_ptr_nonnull(t1);
	ck_assert_int_eq(verify(b, t1, NULL, NULL), 0);
	free(t1);
	free(t2);
	down_all();
}
END_TEST

/* ---- re-signing: attenuate and present a foreign token ------------------- */

START_TEST(test_fed_resign)
{
	struct msg	 m;
	struct resp	 r;
	struct mpr	 chain, blk, v;
	const uint8_t	*p;
	uint8_t		 ka[BATON_KID_LEN], kb[BATON_KID_LEN];
	uint8_t		 kid[BATON_KID_LEN], root[BATON_KID_LEN];
	char		*ta, *t2, *tp, *tc;
	uint32_t	 n;
	int		 a = up(0, NULL), c = up(2, NULL), b, why;

	prepare(1, NULL);
	trust(1, 0, "a.json");
	b = launch(1);
	kid_of(a, ka);
	kid_of(b, kb);
	ta = mint(a);

	/* attenuated at B: signed by B, verifies at B, names A as root */
	t2 = extend(b, ta, 0, 50, 0, &why);
	ck_assert_ptr_nonnull(t2);
	ck_assert_int_eq(verify(b, t2, kid, root), 0);
	ck_assert_mem_eq(kid, kb, BATON_KID_LEN);
	ck_assert_mem_eq(root, ka, BATON_KID_LEN);
	/* A does not trust B, so the re-signed chain is not A's any more */
	ck_assert_int_eq(verify(a, t2, NULL, NULL), BATON_R_UNKNOWN_KEY);

	/* inspect at B: verified, block 1 carries the origin */
	msg_start(&m, BATON_OP_INSPECT, 8, 1);
	pk_kv_str(&m.pk, "token", t2);
	ck_assert_int_eq(rpc(b, &m, &r), 0);
	ck_assert_int_eq(get_bool(&r.body, "verified"), 1);
	ck_assert_int_eq(map_get(&r.body, "root_kid", &v), 0);
	ck_assert_int_eq(mpr_bin_exact(&v, &p, BATON_KID_LEN), 0);
	ck_assert_mem_eq(p, ka, BATON_KID_LEN);
	ck_assert_int_eq(map_get(&r.body, "chain", &chain), 0);
	ck_assert_int_eq(mpr_array(&chain, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(map_get(&chain, "origin", &v), -1);	/* block 0 */
	ck_assert_int_eq(mpr_skip(&chain), 0);
	blk = chain;
	ck_assert_int_eq(map_get(&blk, "origin", &v), 0);
	ck_assert_int_eq(mpr_bin_exact(&v, &p, BATON_KID_LEN), 0);
	ck_assert_mem_eq(p, ka, BATON_KID_LEN);
	resp_free(&r);

	/* presented at B, from A's token directly */
	tp = extend(b, ta, 1, 0, 0, &why);
	ck_assert_ptr_nonnull(tp);
	ck_assert_int_eq(verify(b, tp, kid, root), 0);
	ck_assert_mem_eq(kid, kb, BATON_KID_LEN);
	ck_assert_mem_eq(root, ka, BATON_KID_LEN);
	free(tp);
	/* and from the re-signed one: no second origin, same root */
	tp = extend(b, t2, 1, 0, 0, &why);
	ck_assert_ptr_nonnull(tp);
	ck_assert_int_eq(verify(b, tp, kid, root), 0);
	ck_assert_mem_eq(root, ka, BATON_KID_LEN);
	free(tp);

	/* a call token cannot name its origin: refused, not laundered */
	msg_start(&m, BATON_OP_PRESENT, 3, 6);
	pk_kv_str(&m.pk, "token", ta);
	pk_kv_str(&m.pk, "as", "worker-a");
	pk_kv_str(&m.pk, "tool", "db_query");
	pk_kv_str(&m.pk, "action", "read");
	pk_kv_str(&m.pk, "aud", "db");
	pk_kv_bool(&m.pk, "minimal", 1);
	ck_assert_int_eq(rpc(b, &m, &r), 0);
	ck_assert_int_eq(r.status, BATON_WIRE_EBADREQ);
	resp_free(&r);

	/* widening through B: refused as at A */
	ck_assert_ptr_null(extend(b, ta, 0, 0, 1, &why));
	ck_assert_int_eq(why, BATON_R_WIDEN_TOOL);
	ck_assert_ptr_null(extend(b, ta, 0, 1000, 0, &why));
	ck_assert_int_eq(why, BATON_R_WIDEN_LIMIT);
	ck_assert_ptr_null(extend(b, t2, 0, 60, 0, &why));
	ck_assert_int_eq(why, BATON_R_WIDEN_LIMIT);

	/* an untrusted broker's token is never re-signed */
	tc = mint(c);
	ck_assert_ptr_null(extend(b, tc, 0, 0, 0, &why));
	ck_assert_int_eq(why, BATON_R_UNKNOWN_KEY);
	ck_assert_ptr_null(extend(b, tc, 1, 0, 0, &why));
	ck_assert_int_eq(why, BATON_R_UNKNOWN_KEY);
	free(tc);

	/* jtis survive the re-signing: revoking A's root at B kills t2 */
	msg_start(&m, BATON_OP_REVOKE, 5, 1);
	pk_kv_str(&m.pk, "token", ta);
	ck_assert_int_eq(rpc(b, &m, &r), 0);
	ck_assert_int_eq(r.status, 0);
	resp_free(&r);
	ck_assert_int_eq(verify(b, t2, NULL, NULL), BATON_R_REVOKED);
	free(t2);
	free(ta);

	/* A distrusted: what B re-signed from A dies with it */
	ta = mint(a);
	t2 = extend(b, ta, 0, 0, 0, &why);
	ck_assert_ptr_nonnull(t2);
	ck_assert_int_eq(verify(b, t2, NULL, NULL), 0);
	{
		char	path[300];

		snprintf(path, sizeof path, "%s/a.json", TRUST[1]);
		ck_assert_int_eq(unlink(path), 0);
	}
	reload(b, 0);
	ck_assert_int_eq(verify(b, ta, NULL, NULL), BATON_R_UNKNOWN_KEY);
	ck_assert_int_eq(verify(b, t2, NULL, NULL), BATON_R_UNKNOWN_KEY);
	ck_assert_ptr_null(extend(b, t2, 0, 0, 0, &why));
	ck_assert_int_eq(why, BATON_R_UNKNOWN_KEY);
	free(t2);
	free(ta);
	down_all();
}
END_TEST

/* ---- hostile bundles -------------------------------------------------------- */

enum hostile {
	H_JSON, H_KID, H_BIG, H_MODE, H_LINK, H_NO_NOT_AFTER, H_TWICE,
	H_OWN, H_FIFO, H_OWNER, H_NKINDS
};

static const struct {
	const char	*file;	/* named in the error */
	const char	*says;
} hostile_want[H_NKINDS] = {
	{ "bad.json", "bad.json:1:" },
	{ "a.json", "is not the kid of its public key" },
	{ "a.json", "over 65536 bytes" },
	{ "a.json", "group or others may write it" },
	{ "a.json", "a symbolic link" },
	{ "a.json", "\"not_after\" is required" },
	{ "z.json", "is also in" },
	{ "own.json", "this broker's own key" },
	{ "fifo.json", "not a regular file" },
	{ "a.json", "owned by uid 65534, not root or the broker's uid" },
};

/* Put hostile bundle h into broker 1's directory (A's bundle is a). */
static void
plant(int h, const char *a)
{
	char	 path[300], *s, *big;
	json_t	*doc;

	snprintf(path, sizeof path, "%s/%s", TRUST[1], hostile_want[h].file);
	switch (h) {
	case H_JSON:
		write_file(TRUST[1], "bad.json", "{\"keys\": [", 0644);
		break;
	case H_KID:
		ck_assert_ptr_nonnull(doc = json_loads(a, 0, NULL));
		json_object_set_new(json_array_get(json_object_get(doc, "keys"),
		    0), "kid", json_string("0011223344556677"));
		s = json_dumps(doc, 0);
		write_file(TRUST[1], "a.json", s, 0644);
		free(s);
		json_decref(doc);
		break;
	case H_BIG:
		big = malloc(70001);
		memset(big, ' ', 70000);
		big[70000] = '\0';
		memcpy(big, a, strlen(a));
		write_file(TRUST[1], "a.json", big, 0644);
		free(big);
		break;
	case H_MODE:
		write_file(TRUST[1], "a.json", a, 0666);
		break;
	case H_LINK:
		write_file(TRUST[1], "real", a, 0644);
		ck_assert_int_eq(symlink("real", path), 0);
		break;
	case H_NO_NOT_AFTER:
		ck_assert_ptr_nonnull(doc = json_loads(a, 0, NULL));
		json_object_del(doc, "not_after");
		s = json_dumps(doc, 0);
		write_file(TRUST[1], "a.json", s, 0644);
		free(s);
		json_decref(doc);
		break;
	case H_TWICE:
		write_file(TRUST[1], "a.json", a, 0644);
		write_file(TRUST[1], "z.json", a, 0644);
		break;
	case H_OWN:
		s = bundle_of(1);
		write_file(TRUST[1], "own.json", s, 0644);
		free(s);
		break;
	case H_FIFO:
		ck_assert_int_eq(mkfifo(path, 0644), 0);
		break;
	case H_OWNER:
		write_file(TRUST[1], "a.json", a, 0644);
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
		break;
	}
}

START_TEST(test_fed_hostile_start)
{
	char	*a;
	int	 h = _i, fd;

	if (h == H_OWNER && geteuid() != 0) {
		printf("SKIP %s: chown needs root\n", __func__);
		return;
	}
	fd = up(0, NULL);
	(void)fd;
	a = bundle_of(0);
	/* broker 1 runs once, so its own key exists for H_OWN */
	fd = up(1, NULL);
	close(fd);
	plant(h, a);
	ck_assert_int_eq(tb_stop(&TB[1]), 0);
	ck_assert_int_ne(tb_launch(&TB[1]), 0);
	ck_assert_msg(tb_log_has(&TB[1], hostile_want[h].file) &&
	    tb_log_has(&TB[1], hostile_want[h].says),
	    "case %d: the log does not say \"%s\" about %s", h,
	    hostile_want[h].says, hostile_want[h].file);
	ck_assert(tb_log_has(&TB[1], "refusing to start"));
	free(a);
	down_all();
}
END_TEST

START_TEST(test_fed_hostile_reload)
{
	char	*a, *ta;
	int	 h = _i, fd0, fd1;

	if (h == H_OWNER && geteuid() != 0) {
		printf("SKIP %s: chown needs root\n", __func__);
		return;
	}
	fd0 = up(0, NULL);
	a = bundle_of(0);
	prepare(1, NULL);
	write_file(TRUST[1], "a.json", a, 0644);
	fd1 = launch(1);
	ta = mint(fd0);
	ck_assert_int_eq(verify(fd1, ta, NULL, NULL), 0);
	if (h != H_TWICE && h != H_OWN && h != H_JSON && h != H_FIFO) {
		char	path[300];

		snprintf(path, sizeof path, "%s/a.json", TRUST[1]);
		ck_assert_int_eq(unlink(path), 0);
	}
	plant(h, a);
	/* refused, and the keys trusted before stay trusted */
	reload(fd1, BATON_WIRE_EBADREQ);
	ck_assert(tb_log_has(&TB[1], hostile_want[h].says));
	ck_assert_int_eq(verify(fd1, ta, NULL, NULL), 0);
	free(ta);
	free(a);
	down_all();
}
END_TEST

/* ---- offline, several bundles -------------------------------------------- */

static int
offline(const struct baton_keybundle *kb, const char *tok, uint64_t now,
    char *root)
{
	struct baton_verify_opts	 o = BATON_VERIFY_OPTS_INIT;
	struct baton_verify_result	*res = NULL;
	json_t				*doc;
	int				 reason, ret;

	o.tool = "db_query";
	o.action = "read";
	o.audience = "db";
	o.now = now;
	ret = baton_verify_offline(&res, kb, tok, &o);
	ck_assert_ptr_nonnull(res);
	reason = baton_verify_result_reason(res);
	ck_assert_int_eq(ret, reason == 0 ? 0 : BATON_EDENIED);
	if (root != NULL && reason == 0) {
		doc = json_loads(baton_verify_result_json(res), 0, NULL);
		ck_assert_ptr_nonnull(doc);
		snprintf(root, 17, "%s", json_string_value(json_object_get(
		    json_object_get(doc, "facts"), "root_kid")));
		json_decref(doc);
	}
	baton_verify_result_free(res);
	return (reason);
}

/* baton verify --offline with one or two --keys: its exit status. */
static int
cli_offline(const char *tok, const char *k1, const char *k2)
{
	char	cmd[BATON_MAX_TEXT + 600];
	int	st;

	snprintf(cmd, sizeof cmd, "%s verify --offline --keys %s%s%s --tool "
	    "db_query --action read --aud db %s >/dev/null 2>&1", BATON_CLI,
	    k1, k2 != NULL ? " --keys " : "", k2 != NULL ? k2 : "", tok);
	st = system(cmd);
	ck_assert(WIFEXITED(st));
	return (WEXITSTATUS(st));
}

START_TEST(test_fed_offline)
{
	struct baton_keybundle	*kb = NULL;
	uint8_t			 ka[BATON_KID_LEN];
	char			 dir[64], pa[100], pb[100], root[17], hex[17];
	char			*ta, *tb, *tab, *bun, cmd[BATON_MAX_TEXT + 200];
	json_t			*doc;
	uint64_t		 until;
	int			 a = up(0, "bundle-validity 60\n"), b, c, why;

	prepare(1, NULL);
	trust(1, 0, "a.json");
	b = launch(1);
	c = up(2, NULL);
	kid_of(a, ka);
	baton_hex(hex, ka, BATON_KID_LEN);
	ta = mint(a);
	tb = mint(b);
	tab = extend(b, ta, 0, 0, 0, &why);
	ck_assert_ptr_nonnull(tab);

	snprintf(dir, sizeof dir, "/tmp/baton-bundles.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	bun = bundle_of(0);
	ck_assert_ptr_nonnull(doc = json_loads(bun, 0, NULL));
	until = (uint64_t)json_integer_value(json_object_get(doc,
	    "not_after"));
	json_decref(doc);
	write_file(dir, "a.json", bun, 0644);
	free(bun);
	trust(1, 1, "b.json");	/* not loaded by B: no reload */
	snprintf(pa, sizeof pa, "%s/a.json", dir);
	snprintf(pb, sizeof pb, "%s/b.json", TRUST[1]);

	/* A's bundle alone */
	ck_assert_int_eq(baton_keybundle_load(&kb, pa), 0);
	ck_assert_int_eq(offline(kb, ta, 0, NULL), 0);
	ck_assert_int_eq(offline(kb, tb, 0, NULL), BATON_R_UNKNOWN_KEY);
	ck_assert_int_eq(offline(kb, tab, 0, NULL), BATON_R_UNKNOWN_KEY);
	/* plus B's: both brokers' tokens, and what B re-signed from A */
	ck_assert_int_eq(baton_keybundle_add(kb, pb), 0);
	ck_assert_uint_eq(baton_keybundle_count(kb), 2);
	ck_assert_int_eq(offline(kb, tb, 0, NULL), 0);
	ck_assert_int_eq(offline(kb, tab, 0, root), 0);
	ck_assert_str_eq(root, hex);
	/* the same bundle twice is refused, and changes nothing */
	ck_assert_int_eq(baton_keybundle_add(kb, pa), BATON_EINVAL);
	ck_assert_uint_eq(baton_keybundle_count(kb), 2);
	ck_assert_int_eq(baton_keybundle_add(kb, "/nonexistent"), BATON_EIO);
	/* past A's bundle (60 s), A's key and its re-signed chains stop */
	ck_assert_int_eq(offline(kb, ta, until + 1, NULL),
	    BATON_R_KEY_RETIRED);
	ck_assert_int_eq(offline(kb, tab, until + 1, NULL),
	    BATON_R_KEY_RETIRED);
	ck_assert_int_eq(offline(kb, tb, until + 1, NULL), 0);
	baton_keybundle_free(kb);

	/* B's bundle alone: the origin A is not trusted, so neither is tab */
	ck_assert_int_eq(baton_keybundle_load(&kb, pb), 0);
	ck_assert_int_eq(offline(kb, tb, 0, NULL), 0);
	ck_assert_int_eq(offline(kb, tab, 0, NULL), BATON_R_UNKNOWN_KEY);
	baton_keybundle_free(kb);

	/* the same through the CLI: --keys twice; exit 0 allow, 1 deny */
	ck_assert_int_eq(cli_offline(tab, pa, pb), 0);
	ck_assert_int_eq(cli_offline(tab, pb, NULL), 1);
	ck_assert_int_eq(cli_offline(tab, dir, pb), 2);	/* DIR alone */
	/* and its offline inspect names the origin of block 1 */
	snprintf(cmd, sizeof cmd, "%s inspect --json %s | grep -q "
	    "'\"origin\": \"%s\"'", BATON_CLI, tab, hex);
	ck_assert_int_eq(system(cmd), 0);

	/* a directory: A's, and C's copied next to it */
	bun = bundle_of(2);
	write_file(dir, "c.json", bun, 0644);
	write_file(dir, ".c.json.tmp", "not json", 0644);
	free(bun);
	ck_assert_int_eq(baton_keybundle_load_dir(&kb, dir), 0);
	ck_assert_uint_eq(baton_keybundle_count(kb), 2);
	ck_assert_int_eq(offline(kb, ta, 0, NULL), 0);
	ck_assert_int_eq(offline(kb, tb, 0, NULL), BATON_R_UNKNOWN_KEY);
	baton_keybundle_free(kb);
	/* one bad bundle spoils the directory */
	write_file(dir, "d.json", "{\"keys\": 1}", 0644);
	ck_assert_int_eq(baton_keybundle_load_dir(&kb, dir), BATON_EMALFORMED);
	ck_assert_ptr_null(kb);
	(void)c;
	rmtree(dir);
	free(ta);
	free(tb);
	free(tab);
	down_all();
}
END_TEST

static Suite *
federation_suite(void)
{
	Suite	*s = suite_create("federation");
	TCase	*tc = tcase_create("federation");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fed_verify);
	tcase_add_test(tc, test_fed_expired_bundle);
	tcase_add_test(tc, test_fed_rotation);
	tcase_add_test(tc, test_fed_resign);
	tcase_add_loop_test(tc, test_fed_hostile_start, 0, H_NKINDS);
	tcase_add_loop_test(tc, test_fed_hostile_reload, 0, H_NKINDS);
	tcase_add_test(tc, test_fed_offline);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	if (sodium_init() < 0)
		return (99);
	sr = srunner_create(federation_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
