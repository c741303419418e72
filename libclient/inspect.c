/* inspect.c: offline, unverified decoding of a token for people to read. */

#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common.h"
#include "client.h"

struct ib {
	char	 kind[12];
	char	*agent;
	char	 jti[BATON_JTI_LEN * 2 + 1];
	uint64_t exp;
};

struct baton_inspect {
	char		*json;
	char		*tree;
	struct ib	 blocks[BATON_MAX_BLOCKS];
	size_t		 nblocks;
};

static const char *
kind_name(const struct baton_block *b, size_t i)
{
	if (i == 0)
		return b->seal != NULL ? "call" : "mint";
	return b->kind == BATON_BLOCK_PRESENT ? "present" : "attenuate";
}

static void
fmt_time(char *buf, size_t len, uint64_t t)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%llu", (unsigned long long)t);
}

static json_t *
block_json(const struct baton_block *b, size_t i)
{
	json_t	*o = json_object();
	char	 hex[BATON_JTI_LEN * 2 + 1];
	size_t	 k;
	json_t	*a, *ctx;

	if (o == NULL)
		return NULL;
	baton_hex(hex, b->jti, BATON_JTI_LEN);
	json_object_set_new(o, "index", json_integer((json_int_t)i));
	json_object_set_new(o, "kind", json_string(kind_name(b, i)));
	json_object_set_new(o, "version",
	    json_integer((json_int_t)b->version));
	json_object_set_new(o, "jti", json_string(hex));
	json_object_set_new(o, "iat", json_integer((json_int_t)b->iat));
	if (i == 0)
		json_object_set_new(o, "nbf", json_integer((json_int_t)b->nbf));
	json_object_set_new(o, "exp", json_integer((json_int_t)b->exp));
	if (b->iss != NULL)
		json_object_set_new(o, "iss", json_string(b->iss));
	if (b->sub != NULL)
		json_object_set_new(o, "sub", json_string(b->sub));
	if (b->delegator != NULL)
		json_object_set_new(o, "delegator", json_string(b->delegator));
	if (b->holder != NULL)
		json_object_set_new(o, "holder", json_string(b->holder));
	if (b->origin != NULL) {
		baton_hex(hex, b->origin, BATON_KID_LEN);
		json_object_set_new(o, "origin", json_string(hex));
	}
	if (b->has_aud) {
		a = json_array();
		for (k = 0; k < b->naud; k++)
			json_array_append_new(a, json_string(b->aud[k]));
		json_object_set_new(o, "aud", a);
	}
	if (b->has_grants)
		json_object_set_new(o, "grants", bc_grants_json(&b->grants));
	if (b->has_max_depth)
		json_object_set_new(o, "max_depth",
		    json_integer((json_int_t)b->max_depth));
	json_object_set_new(o, "single_use", json_boolean(b->single_use));
	if (b->nctx > 0) {
		ctx = json_object();
		for (k = 0; k < b->nctx; k++)
			json_object_set_new(ctx, b->ctx[k].key,
			    json_string(b->ctx[k].value));
		json_object_set_new(o, "ctx", ctx);
	}
	return o;
}

/* "db_query [read,write] max_rows<=100 where table:eq,..." for the tree. */
static void
grants_line(FILE *f, const struct baton_grants *g, int root)
{
	const struct baton_toolgrant	*t;
	size_t				 i, j;

	if (g->wildcard) {
		fputs("every tool (*)", f);
		return;
	}
	if (g->ntools == 0)
		fputs("no tools", f);
	for (i = 0; i < g->ntools; i++) {
		t = &g->tools[i];
		fprintf(f, "%s%s", i > 0 ? "; " : "", t->tool);
		if (t->nactions > 0) {
			fputs(" [", f);
			for (j = 0; j < t->nactions; j++)
				fprintf(f, "%s%s", j > 0 ? "," : "",
				    t->actions[j]);
			fputs("]", f);
		} else	/* a later block without actions narrows none */
			fputs(root ? " [any action]" : " [actions as before]",
			    f);
		for (j = 0; j < t->nlimits; j++)
			fprintf(f, " %s<=%llu", t->limits[j].name,
			    (unsigned long long)t->limits[j].max);
		for (j = 0; j < t->nwhere; j++)
			fprintf(f, " where(%s)", t->where[j].arg);
	}
}

static char *
tree_text(const struct baton_token *tok, const struct baton_effective *e,
    int effok)
{
	const struct baton_block	*b;
	FILE				*f;
	char				*buf = NULL, when[32], kid[17];
	size_t				 len = 0, i, k;
	int				 ind;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	baton_hex(kid, tok->env.kid, BATON_KID_LEN);
	fprintf(f, "token: %zu block%s, key %s (signature NOT checked)\n",
	    tok->nblocks, tok->nblocks == 1 ? "" : "s", kid);
	for (i = 0; i < tok->nblocks; i++) {
		b = &tok->blocks[i];
		ind = (int)(2 * i);
		fmt_time(when, sizeof(when), b->exp);
		fprintf(f, "%*s%s[%zu] %s ", ind, "", i > 0 ? "`- " : "", i,
		    kind_name(b, i));
		if (i == 0 && b->seal != NULL)
			fprintf(f, "by %s for %s (lineage sealed)",
			    b->iss ? b->iss : "(undisclosed)",
			    b->sub ? b->sub : "(undisclosed)");
		else if (i == 0)
			fprintf(f, "by %s for %s", b->iss ? b->iss : "?",
			    b->sub ? b->sub : "(no subject)");
		else
			fprintf(f, "by %s", b->delegator ? b->delegator :
			    "?");
		if (b->kind == BATON_BLOCK_PRESENT && i > 0 && b->has_aud &&
		    b->naud > 0)
			fprintf(f, " to %s, expires %s\n", b->aud[0], when);
		else
			fprintf(f, " -> %s, expires %s\n",
			    b->holder ? b->holder : "bearer", when);
		ind += i > 0 ? 3 : 0;
		fprintf(f, "%*s    grants: ", ind, "");
		if (b->has_grants)
			grants_line(f, &b->grants, i == 0);
		else
			fputs("(inherited)", f);
		fputc('\n', f);
		if (b->has_aud) {
			fprintf(f, "%*s    audience:", ind, "");
			for (k = 0; k < b->naud; k++)
				fprintf(f, " %s", b->aud[k]);
			fputc('\n', f);
		}
		if (b->has_max_depth || b->single_use) {
			fprintf(f, "%*s   ", ind, "");
			if (b->has_max_depth)
				fprintf(f, " max_depth %llu",
				    (unsigned long long)b->max_depth);
			if (b->single_use)
				fputs(" single-use", f);
			fputc('\n', f);
		}
		for (k = 0; k < b->nctx; k++)
			fprintf(f, "%*s    ctx %s=%s\n", ind, "", b->ctx[k].key,
			    b->ctx[k].value);
	}
	if (effok) {
		fmt_time(when, sizeof(when), e->exp);
		fprintf(f, "effective: depth %llu, expires %s", (unsigned long
		    long)e->depth, when);
		if (e->wildcard)
			fputs(", every tool", f);
		else {
			fputs(", tools", f);
			for (k = 0; k < e->ntools; k++)
				fprintf(f, " %s", e->tools[k]);
		}
		fputc('\n', f);
	} else
		fputs("effective: none (the blocks contradict each other)\n",
		    f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int
baton_inspect_token(struct baton_inspect **out, const char *text, int *reasonp)
{
	struct baton_token	 tok;
	struct baton_effective	 eff;
	struct baton_inspect	*in = NULL;
	enum baton_reason	 reason;
	json_t			*doc = NULL, *blocks, *ej;
	const char		*agent;
	char			 kid[17];
	size_t			 i;
	int			 ret = BATON_ENOMEM, effok;

	if (reasonp != NULL)
		*reasonp = BATON_R_OK;
	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (text == NULL)
		return BATON_EINVAL;
	/* the chain hash is BLAKE2b: libsodium must be set up first */
	if (sodium_init() < 0)
		return BATON_EIO;
	memset(&tok, 0, sizeof(tok));
	reason = baton_token_open_unchecked(&tok, text, strlen(text));
	if (reason != BATON_R_OK) {
		if (reasonp != NULL)
			*reasonp = (int)reason;
		baton_token_free(&tok);
		return BATON_EMALFORMED;
	}
	memset(&eff, 0, sizeof(eff));
	effok = baton_effective(&tok, &eff) == BATON_R_OK;
	if ((in = calloc(1, sizeof(*in))) == NULL)
		goto out;
	if ((doc = json_object()) == NULL || (blocks = json_array()) == NULL)
		goto out;
	baton_hex(kid, tok.env.kid, BATON_KID_LEN);
	json_object_set_new(doc, "kid", json_string(kid));
	json_object_set_new(doc, "verified", json_false());
	json_object_set_new(doc, "blocks", blocks);
	for (i = 0; i < tok.nblocks; i++) {
		json_array_append_new(blocks, block_json(&tok.blocks[i], i));
		snprintf(in->blocks[i].kind, sizeof(in->blocks[i].kind), "%s",
		    kind_name(&tok.blocks[i], i));
		agent = i == 0 ? tok.blocks[i].iss : tok.blocks[i].delegator;
		if ((in->blocks[i].agent = strdup(agent ? agent : "")) == NULL)
			goto out;
		baton_hex(in->blocks[i].jti, tok.blocks[i].jti, BATON_JTI_LEN);
		in->blocks[i].exp = tok.blocks[i].exp;
		in->nblocks++;
	}
	if (effok) {
		ej = bc_facts_json(&tok, &eff, NULL, NULL);
		json_object_set_new(doc, "effective", ej);
	}
	in->json = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	in->tree = tree_text(&tok, &eff, effok);
	if (in->json == NULL || in->tree == NULL)
		goto out;
	*out = in;
	in = NULL;
	ret = 0;
out:
	json_decref(doc);
	baton_inspect_free(in);
	baton_token_free(&tok);
	return ret;
}

void
baton_inspect_free(struct baton_inspect *in)
{
	size_t	i;

	if (in == NULL)
		return;
	for (i = 0; i < in->nblocks; i++)
		free(in->blocks[i].agent);
	free(in->json);
	free(in->tree);
	free(in);
}

const char *
baton_inspect_json(const struct baton_inspect *in)
{
	return in != NULL ? in->json : NULL;
}

const char *
baton_inspect_tree(const struct baton_inspect *in)
{
	return in != NULL ? in->tree : NULL;
}

size_t
baton_inspect_nblocks(const struct baton_inspect *in)
{
	return in != NULL ? in->nblocks : 0;
}

const char *
baton_inspect_block_kind(const struct baton_inspect *in, size_t i)
{
	return in != NULL && i < in->nblocks ? in->blocks[i].kind : NULL;
}

const char *
baton_inspect_block_agent(const struct baton_inspect *in, size_t i)
{
	return in != NULL && i < in->nblocks ? in->blocks[i].agent : NULL;
}

const char *
baton_inspect_block_jti(const struct baton_inspect *in, size_t i)
{
	return in != NULL && i < in->nblocks ? in->blocks[i].jti : NULL;
}

uint64_t
baton_inspect_block_exp(const struct baton_inspect *in, size_t i)
{
	return in != NULL && i < in->nblocks ? in->blocks[i].exp : 0;
}
