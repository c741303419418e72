/* check_golden.c: token format v1 golden vectors, checked byte for byte. */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <sodium.h>

#include "common.h"
#include "testutil.h"

/*
 * tests/data/golden-v1.txt holds every intermediate value of two tokens
 * built from a fixed seed, fixed clock and fixed jtis: a 1-block root
 * token and a 3-block chain (root -> attenuation with limits, where and
 * aud -> presentation).  This suite rebuilds each value from the seed and
 * the blocks below and compares it with the file, byte for byte.  The
 * cryptographic steps are recomputed twice, once with the codec's
 * functions and once straight from libsodium following doc/TOKEN.md, and
 * the envelope is also written with a msgpack writer of this file's own.
 *
 * `check_golden --write FILE` writes the file (only ever needed again if
 * the format changes, which it must not).
 */

#ifndef TEST_DATADIR
#define TEST_DATADIR "tests/data"
#endif
#define GOLDEN_FILE	TEST_DATADIR "/golden-v1.txt"

#define IAT	((uint64_t)1800000000)

static const uint8_t golden_seed[BATON_SEED_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f
};

/* jti of block i is 16 bytes base + 0 .. base + 15 */
static void
set_jti(struct baton_block *b, uint8_t base)
{
	size_t	i;

	for (i = 0; i < BATON_JTI_LEN; i++)
		b->jti[i] = (uint8_t)(base + i);
}

/* ---- the fixed blocks --------------------------------------------------- */

/*
 * Token "root", one block:
 *   {1: 1, 2: a0..af, 3: 1800000000, 5: 1800003600, 6: "orchestrator",
 *    7: "alice", 11: {"db_query": {1: ["read"], 2: {"max_rows": 100}}},
 *    12: 2}
 */
static void
build_root(struct baton_arena *a, struct baton_block *b)
{
	struct baton_toolgrant	*tg;

	tu_root(b, 0, IAT, 3600);
	set_jti(b, 0xa0);
	b->max_depth = 2;
	tg = tu_tool(a, b, "db_query", "read");
	tu_limit(a, tg, "max_rows", 100);
}

/*
 * Token "chain", three blocks:
 *   0 root: nbf iat+30, aud [db, files], db_query {read, write;
 *     max_rows 1000}, file_read {read}, max_depth 3, ctx {workflow: wf-7}
 *   1 attenuation by orchestrator, bound to holder worker-a: aud [db],
 *     db_query {read; max_rows 100; where path glob+maxlen, query prefix,
 *     rows range -1..100, table in [orders, users], verbose eq false},
 *     max_depth 1, ctx {step: 2}
 *   2 presentation by worker-a: 60 s, db_query {read}, aud [db],
 *     single use
 */
static void
build_chain(struct baton_arena *a, struct baton_block b[3])
{
	struct baton_toolgrant	*tg;
	struct baton_argrule	*ar;

	tu_root(&b[0], 0, IAT, 3600);
	set_jti(&b[0], 0xb0);
	b[0].nbf = IAT + 30;
	b[0].max_depth = 3;
	tu_aud(a, &b[0], "db,files");
	tg = tu_tool(a, &b[0], "db_query", "read,write");
	tu_limit(a, tg, "max_rows", 1000);
	tu_tool(a, &b[0], "file_read", "read");
	tu_ctx(a, &b[0], "workflow", "wf-7");

	tu_child(&b[1], 0, IAT + 60, 1740, "orchestrator");
	set_jti(&b[1], 0xc0);
	b[1].holder = "worker-a";
	tu_aud(a, &b[1], "db");
	tg = tu_tool(a, &b[1], "db_query", "read");
	tu_limit(a, tg, "max_rows", 100);
	ar = tu_where(a, tg, "path");
	tu_pred_glob(a, ar, "/srv/data/*.csv");
	tu_pred_maxlen(a, ar, 64);
	ar = tu_where(a, tg, "query");
	tu_pred_prefix(a, ar, "SELECT ");
	ar = tu_where(a, tg, "rows");
	tu_pred_range(a, ar, -1, 100);
	ar = tu_where(a, tg, "table");
	tu_pred_in_str(a, ar, "orders,users");
	ar = tu_where(a, tg, "verbose");
	tu_pred_eq_bool(a, ar, 0);
	b[1].has_max_depth = 1;
	b[1].max_depth = 1;
	tu_ctx(a, &b[1], "step", "2");

	tu_child(&b[2], 0, IAT + 120, 60, "worker-a");
	set_jti(&b[2], 0xd0);
	tu_aud(a, &b[2], "db");
	tu_tool(a, &b[2], "db_query", "read");
	b[2].single_use = 1;
	b[2].kind = BATON_BLOCK_PRESENT;
}

/* ---- independent computation ------------------------------------------- */

struct gbuf {
	uint8_t	p[8192];
	size_t	len;
};

static void
g_put(struct gbuf *b, const void *p, size_t n)
{
	ck_assert_uint_le(b->len + n, sizeof(b->p));
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
g_byte(struct gbuf *b, uint8_t c)
{
	g_put(b, &c, 1);
}

static void
g_bin(struct gbuf *b, const uint8_t *p, size_t n)
{
	if (n <= 0xff) {
		g_byte(b, 0xc4);
		g_byte(b, (uint8_t)n);
	} else {
		g_byte(b, 0xc5);
		g_byte(b, (uint8_t)(n >> 8));
		g_byte(b, (uint8_t)n);
	}
	g_put(b, p, n);
}

/* Everything a token is made of, computed step by step. */
struct vec {
	uint8_t		*pay[BATON_MAX_BLOCKS];
	size_t		 len[BATON_MAX_BLOCKS];
	uint8_t		 chain[BATON_MAX_BLOCKS][BATON_HASH_LEN];
	size_t		 n;
	uint8_t		 sigmsg[12 + 1 + BATON_HASH_LEN];
	uint8_t		 sig[BATON_SIG_LEN];
	uint8_t		 tag[BATON_TAG_LEN];
	struct gbuf	 env;
	char		*text;
};

/* Straight from the spec with libsodium, not through the codec. */
static void
spec_chain(uint8_t out[BATON_HASH_LEN], const uint8_t *kid,
    const uint8_t *prev, const uint8_t *p, size_t len)
{
	crypto_generichash_state	st;
	uint8_t				be[4];

	be[0] = (uint8_t)(len >> 24);
	be[1] = (uint8_t)(len >> 16);
	be[2] = (uint8_t)(len >> 8);
	be[3] = (uint8_t)len;
	crypto_generichash_init(&st, NULL, 0, BATON_HASH_LEN);
	if (prev == NULL) {
		crypto_generichash_update(&st,
		    (const unsigned char *)"baton/v1/chain0", 15);
		crypto_generichash_update(&st, kid, BATON_KID_LEN);
	} else {
		crypto_generichash_update(&st,
		    (const unsigned char *)"baton/v1/chain", 14);
		crypto_generichash_update(&st, prev, BATON_HASH_LEN);
	}
	crypto_generichash_update(&st, be, 4);
	crypto_generichash_update(&st, p, len);
	crypto_generichash_final(&st, out, BATON_HASH_LEN);
}

static void
vec_build(struct vec *v, const struct baton_key *k,
    const struct baton_block *b, size_t n)
{
	uint8_t		c[BATON_HASH_LEN], sig2[BATON_SIG_LEN];
	uint8_t		tag2[BATON_TAG_LEN];
	uint8_t		tagmsg[12 + BATON_HASH_LEN];
	size_t		i;
	int		rc;

	memset(v, 0, sizeof(*v));
	v->n = n;
	for (i = 0; i < n; i++) {
		tu_encode(&b[i], i == 0, &v->pay[i], &v->len[i]);
		/* codec's chain hash of the prefix, and the spec's */
		baton_chain_hash(v->chain[i], k->kid,
		    (const uint8_t *const *)v->pay, v->len, i + 1);
		spec_chain(c, k->kid, i == 0 ? NULL : v->chain[i - 1],
		    v->pay[i], v->len[i]);
		ck_assert_int_eq(memcmp(c, v->chain[i], BATON_HASH_LEN), 0);
	}
	memcpy(v->sigmsg, "baton/v1/sig", 12);
	v->sigmsg[12] = (uint8_t)n;
	memcpy(v->sigmsg + 13, v->chain[n - 1], BATON_HASH_LEN);

	baton_chain_sign(v->sig, k, v->chain[n - 1], n);
	crypto_sign_detached(sig2, NULL, v->sigmsg, sizeof(v->sigmsg),
	    baton_key_sk(k));
	ck_assert_int_eq(memcmp(sig2, v->sig, BATON_SIG_LEN), 0);
	ck_assert_int_eq(crypto_sign_verify_detached(v->sig, v->sigmsg,
	    sizeof(v->sigmsg), k->pk), 0);

	baton_chain_tag(v->tag, k, v->chain[n - 1]);
	memcpy(tagmsg, "baton/v1/tag", 12);
	memcpy(tagmsg + 12, v->chain[n - 1], BATON_HASH_LEN);
	crypto_generichash(tag2, sizeof(tag2), tagmsg, sizeof(tagmsg),
	    baton_key_mac(k), 32);
	ck_assert_int_eq(memcmp(tag2, v->tag, BATON_TAG_LEN), 0);

	/* envelope: [1, kid, [payloads], sig, tag] */
	g_byte(&v->env, 0x95);
	g_byte(&v->env, 0x01);
	g_bin(&v->env, k->kid, BATON_KID_LEN);
	ck_assert_uint_lt(n, 16);
	g_byte(&v->env, (uint8_t)(0x90 | n));
	for (i = 0; i < n; i++)
		g_bin(&v->env, v->pay[i], v->len[i]);
	g_bin(&v->env, v->sig, BATON_SIG_LEN);
	g_bin(&v->env, v->tag, BATON_TAG_LEN);

	rc = baton_token_seal(&v->text, k, (const uint8_t *const *)v->pay,
	    v->len, n);
	ck_assert_int_eq(rc, 0);
}

static void
vec_free(struct vec *v)
{
	size_t	i;

	for (i = 0; i < v->n; i++)
		free(v->pay[i]);
	free(v->text);
	memset(v, 0, sizeof(*v));
}

/* ---- the file ------------------------------------------------------------ */

static void
put_hex(FILE *f, const char *name, const uint8_t *p, size_t n)
{
	char	*h;

	h = malloc(2 * n + 1);
	ck_assert_ptr_nonnull(h);
	baton_hex(h, p, n);
	fprintf(f, "%s = %s\n", name, h);
	free(h);
}

static void
put_vec(FILE *f, const char *pfx, const struct vec *v)
{
	char	name[64];
	size_t	i;

	for (i = 0; i < v->n; i++) {
		snprintf(name, sizeof(name), "%s.payload%zu", pfx, i);
		put_hex(f, name, v->pay[i], v->len[i]);
	}
	for (i = 0; i < v->n; i++) {
		snprintf(name, sizeof(name), "%s.chain%zu", pfx, i);
		put_hex(f, name, v->chain[i], BATON_HASH_LEN);
	}
	snprintf(name, sizeof(name), "%s.sigmsg", pfx);
	put_hex(f, name, v->sigmsg, sizeof(v->sigmsg));
	snprintf(name, sizeof(name), "%s.sig", pfx);
	put_hex(f, name, v->sig, BATON_SIG_LEN);
	snprintf(name, sizeof(name), "%s.tag", pfx);
	put_hex(f, name, v->tag, BATON_TAG_LEN);
	snprintf(name, sizeof(name), "%s.envelope", pfx);
	put_hex(f, name, v->env.p, v->env.len);
	fprintf(f, "%s.text = %s\n", pfx, v->text);
}

/* The value of `name = value` in the golden file, malloc'd. */
static char *
golden(const char *name)
{
	FILE	*f;
	char	*line = NULL, *val = NULL, *eq;
	size_t	 cap = 0, nlen = strlen(name);
	ssize_t	 len;

	f = fopen(GOLDEN_FILE, "r");
	ck_assert_msg(f != NULL, "%s: %s", GOLDEN_FILE, strerror(errno));
	while ((len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (line[0] == '#' || (size_t)len < nlen + 3)
			continue;
		if (strncmp(line, name, nlen) != 0 ||
		    strncmp(line + nlen, " = ", 3) != 0)
			continue;
		eq = line + nlen + 3;
		val = strdup(eq);
		ck_assert_ptr_nonnull(val);
		break;
	}
	free(line);
	fclose(f);
	ck_assert_msg(val != NULL, "%s: no %s", GOLDEN_FILE, name);
	return (val);
}

static void
check_hex(const char *name, const uint8_t *p, size_t n)
{
	char	*want, *got;

	want = golden(name);
	got = malloc(2 * n + 1);
	ck_assert_ptr_nonnull(got);
	baton_hex(got, p, n);
	ck_assert_msg(strcmp(want, got) == 0, "%s:\n want %s\n got  %s", name,
	    want, got);
	free(got);
	free(want);
}

static void
check_vec(const char *pfx, const struct vec *v)
{
	char	 name[64], *want;
	size_t	 i;

	for (i = 0; i < v->n; i++) {
		snprintf(name, sizeof(name), "%s.payload%zu", pfx, i);
		check_hex(name, v->pay[i], v->len[i]);
		snprintf(name, sizeof(name), "%s.chain%zu", pfx, i);
		check_hex(name, v->chain[i], BATON_HASH_LEN);
	}
	snprintf(name, sizeof(name), "%s.sigmsg", pfx);
	check_hex(name, v->sigmsg, sizeof(v->sigmsg));
	snprintf(name, sizeof(name), "%s.sig", pfx);
	check_hex(name, v->sig, BATON_SIG_LEN);
	snprintf(name, sizeof(name), "%s.tag", pfx);
	check_hex(name, v->tag, BATON_TAG_LEN);
	snprintf(name, sizeof(name), "%s.envelope", pfx);
	check_hex(name, v->env.p, v->env.len);
	snprintf(name, sizeof(name), "%s.text", pfx);
	want = golden(name);
	ck_assert_str_eq(v->text, want);
	free(want);
}

/* ---- tests --------------------------------------------------------------- */

static struct baton_key		*K;
static struct baton_keyring	 KR;
static struct baton_arena	*A;

static void
setup(void)
{
	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_int_eq(baton_key_from_seed(&K, golden_seed), 0);
	baton_keyring_init(&KR);
	ck_assert_int_eq(baton_keyring_add(&KR, K), 0);
	A = tu_arena();
}

static void
teardown(void)
{
	baton_keyring_clear(&KR);
	baton_arena_free(A);
}

START_TEST(test_key)
{
	uint8_t	pk[32], sk[64], h[32], mac[32];

	check_hex("seed", golden_seed, sizeof(golden_seed));
	check_hex("public_key", K->pk, 32);
	check_hex("kid", K->kid, BATON_KID_LEN);
	check_hex("mac_key", baton_key_mac(K), 32);
	/* the same three from the spec, with libsodium alone */
	crypto_sign_seed_keypair(pk, sk, golden_seed);
	ck_assert_int_eq(memcmp(pk, K->pk, 32), 0);
	crypto_generichash(h, 32, pk, 32, NULL, 0);
	ck_assert_int_eq(memcmp(h, K->kid, BATON_KID_LEN), 0);
	crypto_generichash(mac, 32, (const unsigned char *)"baton/v1/mac", 12,
	    golden_seed, sizeof(golden_seed));
	ck_assert_int_eq(memcmp(mac, baton_key_mac(K), 32), 0);
	sodium_memzero(sk, sizeof(sk));
}
END_TEST

START_TEST(test_root_bytes)
{
	struct baton_block	b;
	struct vec		v;

	build_root(A, &b);
	vec_build(&v, K, &b, 1);
	check_vec("root", &v);
	vec_free(&v);
}
END_TEST

START_TEST(test_chain_bytes)
{
	struct baton_block	b[3];
	struct vec		v;

	build_chain(A, b);
	vec_build(&v, K, b, 3);
	check_vec("chain", &v);
	vec_free(&v);
}
END_TEST

/* The text decodes to the envelope bytes, and the envelope parses. */
START_TEST(test_text_is_envelope)
{
	static const char *const pfx[] = { "root", "chain" };
	struct baton_envelope	 env;
	char			 name[64], *text, *hex, *h;
	size_t			 i;

	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s.text", pfx[i]);
		text = golden(name);
		snprintf(name, sizeof(name), "%s.envelope", pfx[i]);
		hex = golden(name);
		ck_assert_int_eq(baton_envelope_parse(&env, text, strlen(text)),
		    BATON_R_OK);
		h = malloc(2 * env.len + 1);
		ck_assert_ptr_nonnull(h);
		baton_hex(h, env.buf, env.len);
		ck_assert_str_eq(h, hex);
		ck_assert_int_eq(memcmp(env.kid, K->kid, BATON_KID_LEN), 0);
		ck_assert_uint_eq(env.nblocks, i == 0 ? 1 : 3);
		free(h);
		baton_envelope_free(&env);
		free(hex);
		free(text);
	}
}
END_TEST

START_TEST(test_open_root)
{
	struct baton_token	 tok;
	struct baton_block	 b;
	const struct baton_block *d;
	char			*text;
	size_t			 i;

	build_root(A, &b);
	text = golden("root.text");
	ck_assert_int_eq(baton_token_open(&tok, text, strlen(text), &KR,
	    BATON_CHECK_TAG), BATON_R_OK);
	ck_assert_uint_eq(tok.nblocks, 1);
	d = &tok.blocks[0];
	tu_assert_block_eq(d, &b);
	ck_assert_uint_eq(d->version, 1);
	for (i = 0; i < BATON_JTI_LEN; i++)
		ck_assert_uint_eq(d->jti[i], 0xa0 + i);
	ck_assert_uint_eq(d->iat, 1800000000);
	ck_assert_uint_eq(d->nbf, 1800000000);
	ck_assert_uint_eq(d->exp, 1800003600);
	ck_assert_str_eq(d->iss, "orchestrator");
	ck_assert_str_eq(d->sub, "alice");
	ck_assert_ptr_null(d->delegator);
	ck_assert_int_eq(d->has_aud, 0);
	ck_assert_uint_eq(d->grants.ntools, 1);
	ck_assert_str_eq(d->grants.tools[0].tool, "db_query");
	ck_assert_uint_eq(d->grants.tools[0].nactions, 1);
	ck_assert_str_eq(d->grants.tools[0].actions[0], "read");
	ck_assert_str_eq(d->grants.tools[0].limits[0].name, "max_rows");
	ck_assert_uint_eq(d->grants.tools[0].limits[0].max, 100);
	ck_assert_uint_eq(d->max_depth, 2);
	ck_assert_int_eq(d->single_use, 0);
	ck_assert_uint_eq(d->rawlen, tok.env.paylen[0]);
	baton_token_free(&tok);
	free(text);
}
END_TEST

START_TEST(test_open_chain)
{
	struct baton_token	 tok;
	struct baton_block	 b[3];
	struct baton_request	 q;
	struct baton_effective	 eff;
	struct baton_tool_facts	 f;
	struct baton_arg	 args[5];
	struct baton_usage	 u = { "max_rows", 100 };
	const struct baton_block *d;
	const struct baton_toolgrant *tg;
	char			*text;
	size_t			 i;

	build_chain(A, b);
	text = golden("chain.text");
	ck_assert_int_eq(baton_token_open(&tok, text, strlen(text), &KR,
	    BATON_CHECK_SIG), BATON_R_OK);
	ck_assert_uint_eq(tok.nblocks, 3);
	for (i = 0; i < 3; i++)
		tu_assert_block_eq(&tok.blocks[i], &b[i]);

	d = &tok.blocks[0];
	ck_assert_uint_eq(d->nbf, 1800000030);
	ck_assert_uint_eq(d->naud, 2);
	ck_assert_str_eq(d->aud[0], "db");
	ck_assert_str_eq(d->aud[1], "files");
	ck_assert_str_eq(d->grants.tools[0].tool, "db_query");
	ck_assert_str_eq(d->grants.tools[1].tool, "file_read");
	ck_assert_str_eq(d->ctx[0].key, "workflow");
	ck_assert_str_eq(d->ctx[0].value, "wf-7");

	d = &tok.blocks[1];
	ck_assert_uint_eq(d->jti[0], 0xc0);
	ck_assert_uint_eq(d->iat, 1800000060);
	ck_assert_uint_eq(d->exp, 1800001800);
	ck_assert_str_eq(d->delegator, "orchestrator");
	ck_assert_str_eq(d->holder, "worker-a");
	ck_assert_uint_eq(d->max_depth, 1);
	tg = &d->grants.tools[0];
	ck_assert_uint_eq(tg->nwhere, 5);
	ck_assert_str_eq(tg->where[0].arg, "path");
	ck_assert_int_eq(tg->where[0].preds[0].op, BATON_P_GLOB);
	ck_assert_str_eq(tg->where[0].preds[0].vals[0].s, "/srv/data/*.csv");
	ck_assert_int_eq(tg->where[0].preds[1].op, BATON_P_MAXLEN);
	ck_assert_uint_eq(tg->where[0].preds[1].maxlen, 64);
	ck_assert_int_eq(tg->where[2].preds[0].op, BATON_P_RANGE);
	ck_assert_int_eq(tg->where[2].preds[0].lo, -1);
	ck_assert_int_eq(tg->where[2].preds[0].hi, 100);
	ck_assert_int_eq(tg->where[3].preds[0].op, BATON_P_IN);
	ck_assert_uint_eq(tg->where[3].preds[0].nvals, 2);
	ck_assert_int_eq(tg->where[4].preds[0].vals[0].type, BATON_V_BOOL);

	d = &tok.blocks[2];
	ck_assert_int_eq(d->kind, BATON_BLOCK_PRESENT);
	ck_assert_int_eq(d->single_use, 1);
	ck_assert_str_eq(d->delegator, "worker-a");

	/* the call the presentation was made for is allowed */
	memset(args, 0, sizeof(args));
	args[0].name = "path";
	args[0].value.type = BATON_V_STR;
	args[0].value.s = "/srv/data/q1.csv";
	args[0].value.len = strlen(args[0].value.s);
	args[1].name = "query";
	args[1].value.type = BATON_V_STR;
	args[1].value.s = "SELECT id FROM users";
	args[1].value.len = strlen(args[1].value.s);
	args[2].name = "rows";
	args[2].value.type = BATON_V_INT;
	args[2].value.i = 10;
	args[3].name = "table";
	args[3].value.type = BATON_V_STR;
	args[3].value.s = "users";
	args[3].value.len = 5;
	args[4].name = "verbose";
	args[4].value.type = BATON_V_BOOL;
	args[4].value.i = 0;
	memset(&q, 0, sizeof(q));
	q.tool = "db_query";
	q.action = "read";
	q.audience = "db";
	q.args = args;
	q.nargs = 5;
	q.usage = &u;
	q.nusage = 1;
	q.now = 1800000130;
	ck_assert_int_eq(baton_evaluate(&tok, &q, &eff, &f), BATON_R_OK);
	ck_assert_uint_eq(eff.depth, 2);
	ck_assert_uint_eq(eff.exp, 1800000180);
	ck_assert_uint_eq(eff.nbf, 1800000030);
	ck_assert_int_eq(eff.presented, 1);
	ck_assert_str_eq(eff.holder, "worker-a");
	ck_assert_uint_eq(eff.nsingle_use, 1);
	ck_assert_uint_eq(eff.naud, 1);
	ck_assert_str_eq(eff.aud[0], "db");
	ck_assert_uint_eq(f.nlimits, 1);
	ck_assert_uint_eq(f.limits[0].max, 100);
	ck_assert_uint_eq(f.nactions, 1);
	ck_assert_str_eq(f.actions[0], "read");
	/* and the golden token still says no where it should */
	q.action = "write";
	ck_assert_int_eq(baton_evaluate(&tok, &q, NULL, NULL),
	    BATON_R_ACTION_NOT_GRANTED);
	q.action = "read";
	args[3].value.s = "salaries";
	args[3].value.len = 8;
	ck_assert_int_eq(baton_evaluate(&tok, &q, NULL, NULL),
	    BATON_R_ARGUMENT_REJECTED);
	args[3].value.s = "users";
	args[3].value.len = 5;
	q.now = 1800000180;
	ck_assert_int_eq(baton_evaluate(&tok, &q, NULL, NULL),
	    BATON_R_EXPIRED);
	baton_token_free(&tok);
	free(text);
}
END_TEST

/* A public-key-only verifier accepts the golden chain too. */
START_TEST(test_open_public)
{
	struct baton_keyring	 pub;
	struct baton_key	*pk = NULL;
	struct baton_token	 tok;
	uint8_t			 raw[32];
	char			*hex, *text;

	hex = golden("public_key");
	ck_assert_int_eq(baton_unhex(raw, sizeof(raw), hex), 0);
	ck_assert_int_eq(baton_key_from_public(&pk, raw), 0);
	baton_keyring_init(&pub);
	ck_assert_int_eq(baton_keyring_add(&pub, pk), 0);
	text = golden("chain.text");
	ck_assert_int_eq(baton_token_open(&tok, text, strlen(text), &pub,
	    BATON_CHECK_SIG), BATON_R_OK);
	baton_token_free(&tok);
	baton_keyring_clear(&pub);
	free(text);
	free(hex);
}
END_TEST

/* ---- writer and main ------------------------------------------------------ */

static const char	*write_path;

/* The writer runs as a Check test too, since the helpers assert. */
/*
 * The sealed lineage of a call token (doc/TOKEN.md section 12), with a
 * fixed nonce: built here from libsodium alone following the text, pinned
 * byte for byte, and opened by the codec.  Inputs: the golden seed; jti
 * 16 x 0x11; lineage of two blocks, chain hash 32 x 0xcc, (16 x 0xa1, exp
 * 1800003600, reusable) and (16 x 0xa2, exp 1800001800, single use);
 * nonce 00 01 .. 17.
 */
static const char golden_seal[] =
    "000102030405060708090a0b0c0d0e0f1011121314151617aa38611a4e9ca63d"
    "db1847ad3ddd550ec9ffda29ab6bd05df17303071bd2030f25c391f9f145dec2"
    "eb1e1fc9e3f2841cd256675050ca10180325e0a9dc9c814bf0ddd5f085a7e684"
    "a90ead06b1debf4391e3b26818bb6f33ad61e139bd8fa23c03397e";

START_TEST(test_seal_vector)
{
	uint8_t			 key[32], ad[13 + BATON_KID_LEN + BATON_JTI_LEN];
	uint8_t			 pt[1 + 32 + 2 * 25], seal[BATON_SEAL_LEN(2)];
	uint8_t			 jti[BATON_JTI_LEN];
	unsigned long long	 clen;
	struct baton_lineage	 lin;
	char			 hex[2 * sizeof(seal) + 1];
	size_t			 i;

	memset(jti, 0x11, sizeof(jti));
	crypto_generichash(key, 32, (const unsigned char *)"baton/v1/seal", 13,
	    golden_seed, sizeof(golden_seed));
	memcpy(ad, "baton/v1/seal", 13);
	memcpy(ad + 13, K->kid, BATON_KID_LEN);
	memcpy(ad + 13 + BATON_KID_LEN, jti, BATON_JTI_LEN);
	pt[0] = 2;
	memset(pt + 1, 0xcc, 32);
	memset(pt + 33, 0xa1, 16);
	for (i = 0; i < 8; i++)
		pt[49 + i] = (uint8_t)((uint64_t)1800003600 >> (56 - 8 * i));
	pt[57] = 0;
	memset(pt + 58, 0xa2, 16);
	for (i = 0; i < 8; i++)
		pt[74 + i] = (uint8_t)((uint64_t)1800001800 >> (56 - 8 * i));
	pt[82] = 1;
	for (i = 0; i < BATON_SEAL_NONCE_LEN; i++)
		seal[i] = (uint8_t)i;
	crypto_aead_xchacha20poly1305_ietf_encrypt(seal + BATON_SEAL_NONCE_LEN,
	    &clen, pt, sizeof(pt), ad, sizeof(ad), NULL, seal, key);
	ck_assert_uint_eq(BATON_SEAL_NONCE_LEN + clen, sizeof(seal));
	baton_hex(hex, seal, sizeof(seal));
	ck_assert_msg(strcmp(hex, golden_seal) == 0, "seal %s", hex);
	/* the codec opens it to exactly those values */
	ck_assert_int_eq(baton_lineage_open(&lin, K, jti, seal, sizeof(seal)),
	    BATON_R_OK);
	ck_assert_uint_eq(lin.n, 2);
	ck_assert_uint_eq(lin.exp[0], 1800003600);
	ck_assert_uint_eq(lin.exp[1], 1800001800);
	ck_assert_int_eq(lin.single_use[0], 0);
	ck_assert_int_eq(lin.single_use[1], 1);
	ck_assert_uint_eq(lin.jti[1][15], 0xa2);
	ck_assert_uint_eq(lin.chain[31], 0xcc);
	sodium_memzero(key, sizeof(key));
}
END_TEST

START_TEST(test_write)
{
	struct baton_block	 root, chain[3];
	struct vec		 v;
	FILE			*f;

	f = fopen(write_path, "w");
	ck_assert_msg(f != NULL, "%s: %s", write_path, strerror(errno));
	fprintf(f, "# golden-v1.txt: baton token format v1 test vectors "
	    "(doc/TOKEN.md).\n");
	fprintf(f, "# name = value; bytes in lower-case hex, text as is.  "
	    "Generated by\n# tests/check_golden --write, checked byte for "
	    "byte by tests/check_golden.\n");
	fprintf(f, "# Clock: iat 1800000000.  Blocks: see build_root and "
	    "build_chain in\n# tests/check_golden.c and the walkthrough in "
	    "doc/TOKEN.md.\n");
	put_hex(f, "seed", golden_seed, sizeof(golden_seed));
	put_hex(f, "public_key", K->pk, 32);
	put_hex(f, "kid", K->kid, BATON_KID_LEN);
	put_hex(f, "mac_key", baton_key_mac(K), 32);
	build_root(A, &root);
	vec_build(&v, K, &root, 1);
	put_vec(f, "root", &v);
	vec_free(&v);
	build_chain(A, chain);
	vec_build(&v, K, chain, 3);
	put_vec(f, "chain", &v);
	vec_free(&v);
	ck_assert_int_eq(fclose(f), 0);
}
END_TEST

static Suite *
golden_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("golden");
	if (write_path != NULL) {
		tc = tcase_create("write");
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_add_test(tc, test_write);
		suite_add_tcase(s, tc);
		return (s);
	}
	tc = tcase_create("bytes");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_key);
	tcase_add_test(tc, test_root_bytes);
	tcase_add_test(tc, test_chain_bytes);
	tcase_add_test(tc, test_text_is_envelope);
	suite_add_tcase(s, tc);

	tc = tcase_create("open");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_open_root);
	tcase_add_test(tc, test_open_chain);
	tcase_add_test(tc, test_open_public);
	tcase_add_test(tc, test_seal_vector);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(int argc, char *argv[])
{
	SRunner	*sr;
	int	 failed;

	if (argc == 3 && strcmp(argv[1], "--write") == 0)
		write_path = argv[2];
	else if (argc != 1) {
		fprintf(stderr, "usage: check_golden [--write FILE]\n");
		return (2);
	}
	sr = srunner_create(golden_suite());
	srunner_set_fork_status(sr, CK_FORK_GETENV);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
