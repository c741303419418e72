/* fuzzutil.c: keyring and token exercise shared by the fuzz targets. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define MAX_ARGS	16

static struct baton_keyring	ring;
static int			ring_ready;

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

const struct baton_keyring *
fuzz_keyring(void)
{
	struct baton_key	*k;
	uint8_t			 seed[BATON_SEED_LEN], pk[32];
	size_t			 i;

	if (ring_ready)
		return (&ring);
	baton_keyring_init(&ring);
	for (i = 0; i < sizeof pk; i++)
		pk[i] = (uint8_t)(0x40 + i);
	if (baton_key_from_public(&k, pk) != 0 ||
	    baton_keyring_add(&ring, k) != 0)
		fuzz_fail(__FILE__, __LINE__, "public key");
	for (i = 0; i < sizeof seed; i++)
		seed[i] = (uint8_t)i;
	if (baton_key_from_seed(&k, seed) != 0 ||
	    baton_keyring_add(&ring, k) != 0)
		fuzz_fail(__FILE__, __LINE__, "golden key");
	ring_ready = 1;
	return (&ring);
}

const struct baton_key *
fuzz_signer(void)
{
	return (baton_keyring_signer(fuzz_keyring()));
}

/* Text the library produced must open with our key and decode. */
static void
reopen(const char *text)
{
	struct baton_token	tok;
	enum baton_reason	why;

	why = baton_token_open(&tok, text, strlen(text), fuzz_keyring(),
	    BATON_CHECK_TAG);
	if (why != BATON_R_OK)
		fprintf(stderr, "reopen: reason %d\n", (int)why);
	FUZZ_ASSERT(why == BATON_R_OK);
	baton_token_free(&tok);
}

static int
in_set(const char *s, const char **set, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return (1);
	return (0);
}

/*
 * The security property of attenuation: the child's effective grant is
 * within the parent's.  No more tools, actions, audiences or time; every
 * limit of the parent still there and no higher; less depth left.
 */
void
fuzz_check_narrower(const struct baton_token *parent,
    const struct baton_token *child)
{
	struct baton_effective	 pe, ce;
	struct baton_tool_facts	 pf, cf;
	size_t			 i, j, k;

	FUZZ_ASSERT(baton_effective(parent, &pe) == BATON_R_OK);
	FUZZ_ASSERT(baton_effective(child, &ce) == BATON_R_OK);
	FUZZ_ASSERT(pe.wildcard || !ce.wildcard);
	FUZZ_ASSERT(ce.exp <= pe.exp && ce.nbf >= pe.nbf);
	FUZZ_ASSERT(ce.depth == pe.depth + 1);
	FUZZ_ASSERT(ce.depth_left < pe.depth_left);
	if (pe.has_aud) {
		FUZZ_ASSERT(ce.has_aud);
		for (i = 0; i < ce.naud; i++)
			FUZZ_ASSERT(in_set(ce.aud[i], pe.aud, pe.naud));
	}
	for (i = 0; i < ce.ntools && !ce.wildcard; i++) {
		FUZZ_ASSERT(pe.wildcard ||
		    in_set(ce.tools[i], pe.tools, pe.ntools));
		if (baton_tool_facts(parent, ce.tools[i], &pf) != BATON_R_OK)
			continue;
		FUZZ_ASSERT(baton_tool_facts(child, ce.tools[i], &cf) ==
		    BATON_R_OK);
		if (!pf.any_action) {
			FUZZ_ASSERT(!cf.any_action);
			for (j = 0; j < cf.nactions; j++)
				FUZZ_ASSERT(in_set(cf.actions[j], pf.actions,
				    pf.nactions));
		}
		for (j = 0; j < pf.nlimits; j++) {
			for (k = 0; k < cf.nlimits; k++)
				if (strcmp(cf.limits[k].name,
				    pf.limits[j].name) == 0)
					break;
			FUZZ_ASSERT(k < cf.nlimits);
			FUZZ_ASSERT(cf.limits[k].max <= pf.limits[j].max);
		}
		FUZZ_ASSERT(cf.nwhere >= pf.nwhere);
	}
}

/* Re-encode every block and seal them again: the result must open. */
static void
reseal(const struct baton_token *tok)
{
	uint8_t		*enc[BATON_MAX_BLOCKS];
	const uint8_t	*p[BATON_MAX_BLOCKS];
	size_t		 lens[BATON_MAX_BLOCKS], i, n = 0;
	char		*text = NULL;

	for (i = 0; i < tok->nblocks; i++) {
		if (baton_block_encode(&tok->blocks[i], i == 0, &enc[i],
		    &lens[i]) != 0)
			break;
		p[i] = enc[i];
		n++;
	}
	if (n == tok->nblocks && baton_token_seal(&text, fuzz_signer(), p,
	    lens, n) == 0) {
		reopen(text);
		free(text);
	}
	for (i = 0; i < n; i++)
		free(enc[i]);
}

/* Derive a request from the facts, so evaluation gets past the tool. */
static void
evaluate(const struct baton_token *tok, const struct baton_effective *eff,
    const char *tool)
{
	struct baton_tool_facts	 facts;
	struct baton_request	 req;
	struct baton_arg	 args[MAX_ARGS];
	struct baton_usage	 usage[MAX_ARGS];
	const struct baton_pred	*pr;
	size_t			 i;
	enum baton_reason	 why;

	memset(&req, 0, sizeof req);
	req.tool = tool;
	req.now = eff->nbf;
	if (eff->has_aud && eff->naud > 0)
		req.audience = eff->aud[0];
	if (baton_tool_facts(tok, tool, &facts) == BATON_R_OK) {
		if (facts.nactions > 0)
			req.action = facts.actions[0];
		for (i = 0; i < facts.nwhere && req.nargs < MAX_ARGS; i++) {
			if (facts.where[i]->npreds == 0)
				continue;
			pr = &facts.where[i]->preds[0];
			memset(&args[req.nargs], 0, sizeof args[0]);
			args[req.nargs].name = facts.where[i]->arg;
			if (pr->nvals > 0)
				args[req.nargs].value = pr->vals[0];
			else {
				args[req.nargs].value.type = BATON_V_INT;
				args[req.nargs].value.i = pr->lo;
			}
			req.nargs++;
		}
		for (i = 0; i < facts.nlimits && i < MAX_ARGS; i++) {
			usage[i].name = facts.limits[i].name;
			usage[i].value = facts.limits[i].max;
			req.nusage++;
		}
	}
	req.args = args;
	req.usage = usage;
	why = baton_evaluate(tok, &req, NULL, &facts);
	(void)why;
	req.now = eff->exp;
	req.leeway = 30;
	if (req.nusage > 0 && usage[0].value < UINT64_MAX)
		usage[0].value++;
	why = baton_evaluate(tok, &req, NULL, NULL);
	(void)why;
}

/* One plain attenuation; the child must encode, extend and open. */
static void
attenuate(const struct baton_token *tok, const struct baton_effective *eff)
{
	struct baton_restrict	 r;
	struct baton_block	 child;
	struct baton_token	 t2;
	uint8_t			 jti[BATON_JTI_LEN], *enc = NULL;
	size_t			 enclen;
	char			*text = NULL;
	const char		*who;

	memset(&r, 0, sizeof r);
	memset(jti, 0xee, sizeof jti);
	who = eff->holder != NULL ? eff->holder : "fuzz";
	if (tok->nblocks >= BATON_MAX_BLOCKS || baton_attenuate(tok, &r, who,
	    jti, eff->nbf, &child) != BATON_R_OK)
		return;
	if (baton_block_encode(&child, 0, &enc, &enclen) != 0)
		return;
	if (baton_token_extend(&text, tok, fuzz_signer(), enc, enclen) == 0) {
		FUZZ_ASSERT(baton_token_open(&t2, text, strlen(text),
		    fuzz_keyring(), BATON_CHECK_TAG) == BATON_R_OK);
		fuzz_check_narrower(tok, &t2);
		baton_token_free(&t2);
		free(text);
	}
	free(enc);
}

void
fuzz_exercise_token(const struct baton_token *tok)
{
	struct baton_effective	 eff;
	const char		*tool = "fuzz";

	reseal(tok);
	memset(&eff, 0, sizeof eff);
	if (baton_effective(tok, &eff) != BATON_R_OK) {
		/* evaluation must refuse a chain the rules refuse */
		memset(&eff, 0, sizeof eff);
		evaluate(tok, &eff, tool);
		return;
	}
	if (!eff.wildcard && eff.ntools > 0)
		tool = eff.tools[0];
	evaluate(tok, &eff, tool);
	attenuate(tok, &eff);
}

/* ---- built-in tokens, for bodies that carry none ------------------------ */

#define NSAMPLES	4

static char	*samples[NSAMPLES];

static const char	*act_rw[] = { "read", "write" };
static const char	*act_r[] = { "read" };
static const char	*aud_both[] = { "db", "files" };
static const char	*aud_db[] = { "db" };
static struct baton_value v_tables[] = {
	{ BATON_V_STR, "orders", 6, 0 }, { BATON_V_STR, "users", 5, 0 }
};
static struct baton_value v_prefix = { BATON_V_STR, "/srv/", 5, 0 };
static struct baton_value v_glob = { BATON_V_STR, "/srv/*.txt", 10, 0 };
static struct baton_value v_seven = { BATON_V_INT, NULL, 0, 7 };
static struct baton_pred p_table[] = {
	{ BATON_P_IN, v_tables, 2, 0, 0, 0 },
	{ BATON_P_MAXLEN, NULL, 0, 0, 0, 32 }
};
static struct baton_pred p_n[] = {
	{ BATON_P_RANGE, NULL, 0, -5, 50, 0 },
	{ BATON_P_EQ, &v_seven, 1, 0, 0, 0 }
};
static struct baton_pred p_path[] = {
	{ BATON_P_PREFIX, &v_prefix, 1, 0, 0, 0 },
	{ BATON_P_GLOB, &v_glob, 1, 0, 0, 0 }
};
static struct baton_argrule w_db[] = {
	{ "n", p_n, 2 }, { "table", p_table, 2 }
};
static struct baton_argrule w_files[] = { { "path", p_path, 2 } };
static struct baton_limit l_100[] = { { "max_rows", 100 } };
static struct baton_limit l_10[] = { { "max_rows", 10 } };
static struct baton_toolgrant tg_root[] = {
	{ "db_query", act_rw, 2, l_100, 1, w_db, 2 },
	{ "files", NULL, 0, NULL, 0, w_files, 1 }
};
static struct baton_toolgrant tg_child[] = {
	{ "db_query", act_r, 1, l_10, 1, NULL, 0 }
};
static struct baton_kv ctx_root[] = { { "workflow", "wf-1" } };

static void
sample_root(struct baton_block *b, int rich)
{
	memset(b, 0, sizeof *b);
	b->version = BATON_VERSION;
	memset(b->jti, 0x11, sizeof b->jti);
	b->iat = b->nbf = 1800000000;
	b->exp = b->iat + 3600;
	b->iss = "orchestrator";
	b->sub = "alice";
	b->has_grants = 1;
	b->has_max_depth = 1;
	b->max_depth = 5;
	if (!rich) {
		b->grants.wildcard = 1;
		return;
	}
	b->grants.tools = tg_root;
	b->grants.ntools = 2;
	b->has_aud = 1;
	b->aud = aud_both;
	b->naud = 2;
	b->ctx = ctx_root;
	b->nctx = 1;
}

static char *
sample_seal(const struct baton_block *b, size_t n)
{
	uint8_t		*enc[2];
	const uint8_t	*p[2];
	size_t		 lens[2], i;
	char		*text;

	for (i = 0; i < n; i++) {
		if (baton_block_encode(&b[i], i == 0, &enc[i], &lens[i]) != 0)
			fuzz_fail(__FILE__, __LINE__, "sample encode");
		p[i] = enc[i];
	}
	if (baton_token_seal(&text, fuzz_signer(), p, lens, n) != 0)
		fuzz_fail(__FILE__, __LINE__, "sample seal");
	for (i = 0; i < n; i++)
		free(enc[i]);
	return (text);
}

const char *
fuzz_sample_token(size_t i)
{
	struct baton_block	b[2];

	if (samples[0] == NULL) {
		sample_root(&b[0], 0);
		samples[0] = sample_seal(b, 1);
		sample_root(&b[0], 1);
		samples[1] = sample_seal(b, 1);
		memset(&b[1], 0, sizeof b[1]);
		b[1].version = BATON_VERSION;
		memset(b[1].jti, 0x22, sizeof b[1].jti);
		b[1].iat = 1800000000;
		b[1].exp = b[1].iat + 600;
		b[1].delegator = "orchestrator";
		b[1].holder = "worker";
		b[1].has_grants = 1;
		b[1].grants.tools = tg_child;
		b[1].grants.ntools = 1;
		b[1].has_aud = 1;
		b[1].aud = aud_db;
		b[1].naud = 1;
		b[1].has_max_depth = 1;
		b[1].max_depth = 2;
		samples[2] = sample_seal(b, 2);
		b[0].holder = "worker";
		b[0].single_use = 1;
		samples[3] = sample_seal(b, 1);
	}
	return (samples[i % NSAMPLES]);
}
