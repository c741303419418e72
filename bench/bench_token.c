/*
 * bench_token.c: microbenchmarks of the token codec against its physical
 * floor (raw Ed25519 and BLAKE2b from libsodium) and against a peer
 * (libmacaroons, when built with it), printed with their ratios.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#ifdef HAVE_MACAROONS
#include <macaroons.h>
#endif

#include "common.h"

#define NOW 1800000000ULL

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench_token: %s\n", what);
	exit(1);
}

/* Run fn n times after a warm-up, return microseconds per call. */
#define TIME(n, body) __extension__ ({					\
	double t0_;							\
	for (size_t w_ = 0; w_ < (n) / 10 + 1; w_++) { body; }		\
	t0_ = now_us();							\
	for (size_t i_ = 0; i_ < (n); i_++) { body; }			\
	(now_us() - t0_) / (double)(n);					\
})

static volatile int sink;

static void
root_block(struct baton_block *b, struct baton_toolgrant *tg,
    struct baton_limit *lim, const char **acts)
{
	memset(b, 0, sizeof(*b));
	b->version = 1;
	randombytes_buf(b->jti, sizeof(b->jti));
	b->iat = b->nbf = NOW;
	b->exp = NOW + 3600;
	b->iss = "orchestrator";
	b->sub = "root";
	b->has_grants = 1;
	acts[0] = "read";
	lim->name = "max_rows";
	lim->max = 1000;
	tg->tool = "db_query";
	tg->actions = acts;
	tg->nactions = 1;
	tg->limits = lim;
	tg->nlimits = 1;
	b->grants.tools = tg;
	b->grants.ntools = 1;
	b->has_max_depth = 1;
	b->max_depth = 5;
}

static char *
attenuate(const struct baton_keyring *kr, const char *text, uint64_t ttl,
    uint64_t rows, int *reasonp)
{
	struct baton_token parent;
	struct baton_restrict r;
	struct baton_toolgrant tg;
	struct baton_limit lim;
	struct baton_block child;
	uint8_t jti[BATON_JTI_LEN], *p = NULL;
	size_t plen;
	char *out = NULL;
	enum baton_reason why;

	memset(&parent, 0, sizeof(parent));
	memset(&r, 0, sizeof(r));
	memset(&tg, 0, sizeof(tg));
	why = baton_token_open(&parent, text, strlen(text), kr, BATON_CHECK_TAG);
	if (why != BATON_R_OK)
		goto out;
	lim.name = "max_rows";
	lim.max = rows;
	tg.tool = "db_query";
	tg.limits = &lim;
	tg.nlimits = 1;
	r.has_grants = 1;
	r.grants.tools = &tg;
	r.grants.ntools = 1;
	r.ttl = ttl;
	randombytes_buf(jti, sizeof(jti));
	why = baton_attenuate(&parent, &r, "worker", jti, NOW + 10, &child);
	if (why != BATON_R_OK)
		goto out;
	if (baton_block_encode(&child, 0, &p, &plen) != 0 ||
	    baton_token_extend(&out, &parent, baton_keyring_signer(kr), p,
	    plen) != 0)
		why = BATON_R_MALFORMED;
out:
	free(p);
	baton_token_free(&parent);
	*reasonp = why;
	return out;
}

/*
 * Worst-case glob matching, in microseconds per KiB of argument: a 64 KiB
 * run of 'a' against "*" + a^1989 b + "*" (the review's pattern: a long
 * literal that nearly matches everywhere) when wild is 0, else against a
 * '?' stretch as wide as BATON_MAX_GLOB_WILD allows, alive at every byte.
 */
#define GLOB_SLEN 65536

static double
bench_glob(size_t n, int wild)
{
	static char s[GLOB_SLEN], pat[BATON_MAX_PRED_BYTES];
	size_t pl = 0, k;
	double us;

	memset(s, 'a', sizeof(s));
	pat[pl++] = '*';
	if (wild) {
		for (k = 0; k < BATON_MAX_GLOB_WILD - 1; k++)
			pat[pl++] = k % 2 ? '?' : 'a';
	} else {
		memset(pat + pl, 'a', 1989);
		pl += 1989;
	}
	pat[pl++] = 'b';
	pat[pl++] = '*';
	us = TIME(n, {
		sink = baton_glob_match(pat, pl, s, sizeof(s));
	});
	if (sink != 0)
		die("glob matched");
	return us / (GLOB_SLEN / 1024);
}

#ifdef HAVE_MACAROONS
/* A macaroon with a root and three caveats, verified with exact checks. */
static int
mac_accept(void *f, const unsigned char *pred, size_t len)
{
	(void)f;
	(void)pred;
	(void)len;
	return 0;
}

static double
bench_macaroons(size_t n, double *create_us)
{
	enum macaroon_returncode err;
	const unsigned char key[32] = { 1 };
	const char *loc = "baton", *id = "root-0001";
	const char *cav[3] = { "tool = db_query", "expires < 1800003600",
	    "max_rows <= 100" };
	struct macaroon *m = NULL, *m2;
	struct macaroon_verifier *v;
	double us;
	size_t i;

	*create_us = TIME(n, {
		struct macaroon *c = macaroon_create((const unsigned char *)loc,
		    strlen(loc), key, sizeof(key), (const unsigned char *)id,
		    strlen(id), &err);
		for (i = 0; i < 3; i++) {
			m2 = macaroon_add_first_party_caveat(c,
			    (const unsigned char *)cav[i], strlen(cav[i]), &err);
			macaroon_destroy(c);
			c = m2;
		}
		if (m != NULL)
			macaroon_destroy(m);
		m = c;
	});
	v = macaroon_verifier_create();
	macaroon_verifier_satisfy_general(v, mac_accept, NULL, &err);
	us = TIME(n, {
		sink = macaroon_verify(v, m, key, sizeof(key), NULL, 0, &err);
	});
	if (sink != 0)
		die("macaroon_verify failed");
	macaroon_verifier_destroy(v);
	macaroon_destroy(m);
	return us;
}
#endif

int
main(int argc, char **argv)
{
	struct baton_keyring kr;
	struct baton_key *key;
	struct baton_block root;
	struct baton_toolgrant tg;
	struct baton_limit lim;
	const char *acts[1];
	struct baton_envelope env;
	struct baton_token tok;
	struct baton_request rq;
	uint8_t seed[BATON_SEED_LEN], chain[BATON_HASH_LEN];
	uint8_t *p0 = NULL, msg[64];
	size_t p0len, n = 20000;
	char *t0 = NULL, *t1 = NULL, *t2 = NULL;
	double d_decode, d_hash, d_tag, d_sig, d_att, d_raw, d_eval, d_open;
	double d_blake, d_glob_lit, d_glob_wild;
	int why;

	if (argc > 1)
		n = strtoul(argv[1], NULL, 10);
	if (n == 0 || sodium_init() < 0)
		die("usage: bench_token [iterations]");
	memset(seed, 7, sizeof(seed));
	baton_keyring_init(&kr);
	if (baton_key_from_seed(&key, seed) != 0 ||
	    baton_keyring_add(&kr, key) != 0)
		die("key");
	root_block(&root, &tg, &lim, acts);
	if (baton_block_encode(&root, 1, &p0, &p0len) != 0)
		die("encode");
	if (baton_token_seal(&t0, key, (const uint8_t *const *)&p0, &p0len,
	    1) != 0)
		die("seal");
	if ((t1 = attenuate(&kr, t0, 1800, 100, &why)) == NULL ||
	    (t2 = attenuate(&kr, t1, 900, 50, &why)) == NULL)
		die(baton_reason_name(why));

	/* 3-block token: envelope parse + strict decode, without crypto */
	d_decode = TIME(n, {
		if (baton_envelope_parse(&env, t2, strlen(t2)) != BATON_R_OK)
			die("parse");
		memset(&tok, 0, sizeof(tok));
		if (baton_token_decode(&tok, &env) != BATON_R_OK)
			die("decode");
		baton_token_free(&tok);
	});
	if (baton_envelope_parse(&env, t2, strlen(t2)) != BATON_R_OK)
		die("parse");
	d_hash = TIME(n, {
		baton_chain_hash(chain, env.kid, (const uint8_t *const *)env.payload,
		    env.paylen, env.nblocks);
	});
	d_tag = TIME(n, {
		sink = baton_chain_tag_ok(env.tag, key, chain);
	});
	d_sig = TIME(n / 4 + 1, {
		sink = baton_chain_sig_ok(env.sig, key, chain, env.nblocks);
	});
	memset(msg, 3, sizeof(msg));
	d_raw = TIME(n / 4 + 1, {
		sink = crypto_sign_verify_detached(env.sig, msg, sizeof(msg),
		    key->pk);
	});
	d_blake = TIME(n, {
		crypto_generichash(chain, sizeof(chain), msg, sizeof(msg),
		    NULL, 0);
	});
	baton_envelope_free(&env);
	d_open = TIME(n, {
		memset(&tok, 0, sizeof(tok));
		if (baton_token_open(&tok, t2, strlen(t2), &kr,
		    BATON_CHECK_TAG) != BATON_R_OK)
			die("open");
		baton_token_free(&tok);
	});
	memset(&tok, 0, sizeof(tok));
	if (baton_token_open(&tok, t2, strlen(t2), &kr, BATON_CHECK_TAG) !=
	    BATON_R_OK)
		die("open");
	memset(&rq, 0, sizeof(rq));
	rq.tool = "db_query";
	rq.action = "read";
	rq.now = NOW + 60;
	d_eval = TIME(n, {
		sink = baton_evaluate(&tok, &rq, NULL, NULL);
	});
	if (sink != BATON_R_OK)
		die(baton_reason_name(sink));
	baton_token_free(&tok);
	d_att = TIME(n / 4 + 1, {
		char *t = attenuate(&kr, t1, 900, 50, &why);
		if (t == NULL)
			die("attenuate");
		free(t);
	});

	d_glob_lit = bench_glob(n / 1000 + 1, 0);
	d_glob_wild = bench_glob(n / 1000 + 1, 1);

	printf("baton token microbenchmarks (%zu iterations, 3-block token of "
	    "%zu chars)\n", n, strlen(t2));
	printf("%-44s %9s %9s\n", "operation", "us/op", "x floor");
	printf("%-44s %9.3f %9s\n", "raw crypto_sign_verify_detached (floor)",
	    d_raw, "1.00");
	printf("%-44s %9.3f %9s\n", "raw BLAKE2b-256 of 64 bytes", d_blake,
	    "-");
	printf("%-44s %9.3f %9.2f\n", "signature check (chain)", d_sig,
	    d_sig / d_raw);
	printf("%-44s %9.3f %9.2f\n", "chain hash, 3 blocks", d_hash,
	    d_hash / d_blake);
	printf("%-44s %9.3f %9.3f\n", "tag check (constant time)", d_tag,
	    d_tag / d_raw);
	printf("%-44s %9.3f %9.3f\n", "parse + strict decode, 3 blocks",
	    d_decode, d_decode / d_raw);
	printf("%-44s %9.3f %9.3f\n", "open (parse, tag, decode)", d_open,
	    d_open / d_raw);
	printf("%-44s %9.3f %9.3f\n", "evaluate request", d_eval,
	    d_eval / d_raw);
	printf("%-44s %9.3f %9.2f\n", "attenuate (open, rules, encode, sign)",
	    d_att, d_att / d_raw);
	printf("%-44s %9.3f %9s\n", "glob worst case, literal, per KiB of arg",
	    d_glob_lit, "-");
	printf("%-44s %9.3f %9s\n", "glob worst case, '?' stretch, per KiB",
	    d_glob_wild, "-");
#ifdef HAVE_MACAROONS
	{
		double mc, mv;

		mv = bench_macaroons(n / 4 + 1, &mc);
		printf("%-44s %9.3f %9.3f\n",
		    "peer: libmacaroons create + 3 caveats", mc, mc / d_raw);
		printf("%-44s %9.3f %9.3f\n", "peer: libmacaroons verify",
		    mv, mv / d_raw);
		printf("ratio baton open / macaroon verify: %.2f\n",
		    d_open / mv);
	}
#endif
	free(p0);
	free(t0);
	free(t1);
	free(t2);
	baton_keyring_clear(&kr);
	return 0;
}
