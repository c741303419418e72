/*
 * body.c: request bodies from untrusted msgpack (through the bounded
 * reader only), the pure steps from a body to a block or restriction,
 * and the packing of grants and facts into answers.  Nothing here does
 * I/O or takes a lock, so the fuzz targets link this file and run the
 * same code as batond.
 */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "batond.h"

#define MAX_TOOLS	64
#define MAX_LIST	32
#define MAX_VALS	16
#define MAX_NAME	255

struct bctx {
	struct mpr		*r;
	struct body		*b;
	char			**cause;
};

static int
fail(struct bctx *c, const char *what)
{
	if (*c->cause == NULL)
		xasprintf(c->cause, "%s", what);
	return (-1);
}

/*
 * The body's arena, made on first use: a verify's few strings fit in the
 * body's own buffer (body_str) and need none.
 */
static struct baton_arena *
arena(struct bctx *c)
{
	if (c->b->arena == NULL && (c->b->arena = baton_arena_new()) == NULL)
		fatalx("arena");
	return (c->b->arena);
}

static void *
alloc(struct bctx *c, size_t n, size_t size)
{
	void	*p;

	if ((p = baton_arena_alloc(arena(c), n * size == 0 ? 1 : n * size)) ==
	    NULL)
		fatalx("arena allocation");
	return (p);
}

/* A copy of s[0..len) with a NUL after it, in the body's buffer if room. */
static const char *
body_str(struct bctx *c, const char *s, size_t len)
{
	struct body	*b = c->b;
	char		*p;

	if (len < sizeof b->strbuf - b->strused) {
		p = b->strbuf + b->strused;
		b->strused += len + 1;
		memcpy(p, s, len);
		p[len] = '\0';
		return (p);
	}
	if ((p = baton_arena_strndup(arena(c), s, len)) == NULL)
		fatalx("arena allocation");
	return (p);
}

/*
 * Any control character (C0 or DEL)?  Eight bytes at a time: a byte
 * below 0x20 borrows into its top bit, and so does a 0x7f once xored to
 * zero (exact for "any", whichever byte it was).
 */
static int
has_ctl(const char *s, size_t len)
{
	const uint64_t	ones = 0x0101010101010101ULL;
	const uint64_t	tops = 0x8080808080808080ULL;
	uint64_t	w, x;
	size_t		i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, s + i, 8);
		x = w ^ (0x7f * ones);
		if ((((w - 0x20 * ones) & ~w) | ((x - ones) & ~x)) & tops)
			return (1);
	}
	for (; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return (1);
	return (0);
}

/*
 * A string copied into the arena; NUL bytes inside are refused.  A value
 * (an argument, a predicate operand) may be anything else, "" included,
 * as in the token format itself; names and ctx values must be non-empty
 * and free of control characters, which the token format refuses in
 * them because people see them (inspect, logs).
 */
static int
get_str_any(struct bctx *c, const char **out, size_t max, int value,
    const char *what)
{
	const char	*s;
	uint32_t	 len;

	/* has_ctl refuses NUL too: only a value needs the memchr */
	if (mpr_str(c->r, &s, &len) != 0 || len > max ||
	    (value ? memchr(s, '\0', len) != NULL :
	    len == 0 || has_ctl(s, len)))
		return (fail(c, what));
	*out = body_str(c, s, len);
	return (0);
}

static int
get_str(struct bctx *c, const char **out, size_t max, const char *what)
{
	return (get_str_any(c, out, max, 0, what));
}

static int
get_text(struct bctx *c, const char **out, size_t max, const char *what)
{
	return (get_str_any(c, out, max, 1, what));
}

/*
 * A name given twice is refused, not resolved: the caller and the broker
 * could each pick a different one of the two values (a parser
 * differential), so an argument checked here would not be the one used.
 */
static int
dup_name(const char *name, const void *base, size_t size, size_t from,
    size_t to)
{
	const char	*const *p;
	size_t		 i;

	for (i = from; i < to; i++) {
		p = (const char *const *)(const void *)((const char *)base +
		    i * size);
		if (strcmp(*p, name) == 0)
			return (1);
	}
	return (0);
}

static int
get_strs(struct bctx *c, const char ***out, size_t *n, size_t max,
    const char *what)
{
	uint32_t	cnt, i;

	if (mpr_array(c->r, &cnt) != 0 || cnt > max)
		return (fail(c, what));
	*out = alloc(c, cnt, sizeof **out);
	for (i = 0; i < cnt; i++)
		if (get_str(c, &(*out)[i], MAX_NAME, what) != 0)
			return (-1);
	*n = cnt;
	return (0);
}

static int
get_value(struct bctx *c, struct baton_value *v, const char *what)
{
	int	b;

	switch (mpr_peek(c->r)) {
	case MPR_STR:
		v->type = BATON_V_STR;
		if (get_text(c, &v->s, 4096, what) != 0)
			return (-1);
		v->len = strlen(v->s);
		return (0);
	case MPR_UINT:
	case MPR_INT:
		v->type = BATON_V_INT;
		if (mpr_int(c->r, &v->i) != 0)
			return (fail(c, what));
		return (0);
	case MPR_BOOL:
		v->type = BATON_V_BOOL;
		if (mpr_bool(c->r, &b) != 0)
			return (fail(c, what));
		v->i = b != 0;
		return (0);
	default:
		return (fail(c, what));
	}
}

static int
get_pred(struct bctx *c, struct baton_pred *p)
{
	const char	*op;
	uint32_t	 n, i;
	uint64_t	 u;

	if (mpr_array(c->r, &n) != 0 || n < 2 || n > 3 ||
	    get_str(c, &op, 16, "where: bad predicate") != 0)
		return (fail(c, "where: bad predicate"));
	if (strcmp(op, "eq") == 0 && n == 2) {
		p->op = BATON_P_EQ;
		p->vals = alloc(c, 1, sizeof *p->vals);
		p->nvals = 1;
		return (get_value(c, &p->vals[0], "where: bad eq value"));
	}
	if (strcmp(op, "in") == 0 && n == 2) {
		p->op = BATON_P_IN;
		if (mpr_array(c->r, &n) != 0 || n == 0 || n > MAX_VALS)
			return (fail(c, "where: bad in list"));
		p->vals = alloc(c, n, sizeof *p->vals);
		p->nvals = n;
		for (i = 0; i < n; i++)
			if (get_value(c, &p->vals[i], "where: bad in value"))
				return (-1);
		return (0);
	}
	if ((strcmp(op, "prefix") == 0 || strcmp(op, "glob") == 0) && n == 2) {
		p->op = op[0] == 'p' ? BATON_P_PREFIX : BATON_P_GLOB;
		p->vals = alloc(c, 1, sizeof *p->vals);
		p->nvals = 1;
		p->vals[0].type = BATON_V_STR;
		if (get_text(c, &p->vals[0].s, 4096, "where: bad pattern"))
			return (-1);
		p->vals[0].len = strlen(p->vals[0].s);
		return (0);
	}
	if (strcmp(op, "range") == 0 && n == 3) {
		p->op = BATON_P_RANGE;
		if (mpr_int(c->r, &p->lo) != 0 || mpr_int(c->r, &p->hi) != 0 ||
		    p->lo > p->hi)
			return (fail(c, "where: bad range"));
		return (0);
	}
	if (strcmp(op, "maxlen") == 0 && n == 2) {
		p->op = BATON_P_MAXLEN;
		if (mpr_uint(c->r, &u) != 0)
			return (fail(c, "where: bad maxlen"));
		p->maxlen = u;
		return (0);
	}
	return (fail(c, "where: unknown predicate"));
}

static int
get_toolgrant(struct bctx *c, struct baton_toolgrant *tg)
{
	const char		*key;
	struct baton_argrule	*ar;
	uint32_t		 n, i, k, np;
	uint64_t		 u;

	if (mpr_map(c->r, &n) != 0)
		return (fail(c, "grants: tool entry must be a map"));
	for (i = 0; i < n; i++) {
		if (get_str(c, &key, 16, "grants: bad key") != 0)
			return (-1);
		if (strcmp(key, "actions") == 0) {
			if (get_strs(c, &tg->actions, &tg->nactions, MAX_LIST,
			    "grants: bad actions") != 0)
				return (-1);
		} else if (strcmp(key, "limits") == 0) {
			if (mpr_map(c->r, &k) != 0 || k > MAX_LIST)
				return (fail(c, "grants: bad limits"));
			tg->limits = alloc(c, k, sizeof *tg->limits);
			tg->nlimits = k;
			while (k-- > 0) {
				if (get_str(c, &tg->limits[k].name, MAX_NAME,
				    "grants: bad limit name") != 0 ||
				    mpr_uint(c->r, &u) != 0)
					return (fail(c, "grants: bad limit"));
				tg->limits[k].max = u;
			}
		} else if (strcmp(key, "where") == 0) {
			if (mpr_map(c->r, &k) != 0 || k > MAX_LIST)
				return (fail(c, "grants: bad where"));
			tg->where = alloc(c, k, sizeof *tg->where);
			tg->nwhere = k;
			while (k-- > 0) {
				ar = &tg->where[k];
				if (get_str(c, &ar->arg, MAX_NAME,
				    "where: bad argument name") != 0)
					return (-1);
				if (mpr_array(c->r, &np) != 0 || np == 0 ||
				    np > MAX_VALS)
					return (fail(c, "where: bad rule"));
				ar->preds = alloc(c, np, sizeof *ar->preds);
				ar->npreds = np;
				while (np-- > 0)
					if (get_pred(c, &ar->preds[np]) != 0)
						return (-1);
			}
		} else
			return (fail(c, "grants: unknown key in a tool entry"));
	}
	return (0);
}

static int
cmp_tool(const void *a, const void *b)
{
	return (strcmp(((const struct baton_toolgrant *)a)->tool,
	    ((const struct baton_toolgrant *)b)->tool));
}

static int
get_grants(struct bctx *c, struct baton_grants *g)
{
	const char	*s;
	uint32_t	 n, i;

	if (mpr_peek(c->r) == MPR_STR) {
		if (get_str(c, &s, 1, "grants: bad wildcard") != 0 ||
		    strcmp(s, "*") != 0)
			return (fail(c, "grants: a string grant must be \"*\""));
		g->wildcard = 1;
		return (0);
	}
	if (mpr_map(c->r, &n) != 0 || n == 0 || n > MAX_TOOLS)
		return (fail(c, "grants: need \"*\" or a map of 1 to 64 tools"));
	g->tools = alloc(c, n, sizeof *g->tools);
	g->ntools = n;
	for (i = 0; i < n; i++) {
		if (get_str(c, &g->tools[i].tool, MAX_NAME,
		    "grants: bad tool name") != 0 ||
		    get_toolgrant(c, &g->tools[i]) != 0)
			return (-1);
	}
	qsort(g->tools, n, sizeof *g->tools, cmp_tool);
	for (i = 1; i < n; i++)
		if (strcmp(g->tools[i - 1].tool, g->tools[i].tool) == 0)
			return (fail(c, "grants: duplicate tool"));
	return (0);
}

static int
get_bool(struct bctx *c, int *out, const char *what)
{
	if (mpr_bool(c->r, out) != 0)
		return (fail(c, what));
	return (0);
}

static int
get_uint(struct bctx *c, uint64_t *out, int *has, const char *what)
{
	if (mpr_uint(c->r, out) != 0)
		return (fail(c, what));
	if (has != NULL)
		*has = 1;
	return (0);
}

/* The known keys, in the order of enum body_key. */
enum body_key {
	K_TOKEN, K_AS, K_SUB, K_TOOL, K_ACTION, K_HOLDER, K_FORMAT, K_CLIENT,
	K_AUD, K_TTL, K_NBF, K_MAX_DEPTH, K_BLOCK, K_VERSION, K_SINGLE_USE,
	K_GRANTS, K_CTX, K_ARGS, K_USAGE, K_JTI, K_NOW, K_MINIMAL, K_DISCLOSE,
	K_EXPLAIN, K_SOURCE
};
static const struct {
	const char	*name;
	size_t		 len;
} known[] = {
#define K(s)	{ s, sizeof(s) - 1 }
	K("token"), K("as"), K("sub"), K("tool"), K("action"), K("holder"),
	K("format"), K("client"), K("aud"), K("ttl"), K("nbf"),
	K("max_depth"), K("block"), K("version"), K("single_use"),
	K("grants"), K("ctx"), K("args"), K("usage"), K("jti"), K("now"),
	K("minimal"), K("disclose"), K("explain"), K("source")
#undef K
};
#define NKNOWN	(sizeof known / sizeof known[0])
_Static_assert(NKNOWN == K_SOURCE + 1, "known[] and enum body_key differ");
_Static_assert(NKNOWN <= 32, "seen is a 32-bit mask");

/*
 * The known keys by length, each list ended by NKNOWN.  A key listed
 * under the wrong length is never found: tests/check_body sends each
 * known key twice and expects the duplicate refused.
 */
#define KEY_LENS	11
static const uint8_t by_len[KEY_LENS][9] = {
	[0] = { NKNOWN }, [1] = { NKNOWN },
	[2] = { K_AS, NKNOWN },
	[3] = { K_SUB, K_AUD, K_TTL, K_NBF, K_CTX, K_JTI, K_NOW, NKNOWN },
	[4] = { K_TOOL, K_ARGS, NKNOWN },
	[5] = { K_TOKEN, K_BLOCK, K_USAGE, NKNOWN },
	[6] = { K_ACTION, K_HOLDER, K_FORMAT, K_CLIENT, K_GRANTS, K_SOURCE,
	    NKNOWN },
	[7] = { K_VERSION, K_MINIMAL, K_EXPLAIN, NKNOWN },
	[8] = { K_DISCLOSE, NKNOWN },
	[9] = { K_MAX_DEPTH, NKNOWN },
	[10] = { K_SINGLE_USE, NKNOWN },
};

/*
 * A body key, read in place (keys are only compared, never kept): the
 * same checks as get_str, then its index in known[], or NKNOWN.
 */
static int
get_key(struct bctx *c, uint32_t *k)
{
	const uint8_t	*p;
	const char	*s;
	uint32_t	 len;

	*k = NKNOWN;
	if (mpr_str(c->r, &s, &len) != 0)
		return (fail(c, "body keys must be strings"));
	/* A known key has no control character: the checks are for others. */
	if (len < KEY_LENS) {
		for (p = by_len[len]; *p != NKNOWN; p++)
			if (known[*p].name[0] == s[0] &&
			    memcmp(known[*p].name, s, len) == 0) {
				*k = *p;
				return (0);
			}
	}
	if (len > 64 || len == 0 || has_ctl(s, len))
		return (fail(c, "body keys must be strings"));
	return (0);
}

int
body_parse(struct body *b, struct mpr *r, char **cause)
{
	struct bctx	 c = { r, b, cause };
	const char	*s;
	const uint8_t	*bin;
	uint32_t	 n, i, k, key, len, seen = 0;
	int		 rc = -1;

	/* strbuf is not cleared: strused says how much of it holds data */
	memset(b, 0, offsetof(struct body, strbuf));
	b->strused = 0;
	c.b = b;
	*cause = NULL;
	if (mpr_map(r, &n) != 0)
		return (fail(&c, "body must be a map"));
	for (i = 0; i < n; i++) {
		if (get_key(&c, &key) != 0)
			goto out;
		/* Known keys once each: which of two would a client expect? */
		k = key;
		if (k < NKNOWN) {
			if (seen & (1U << k)) {
				fail(&c, "duplicate key in the body");
				goto out;
			}
			seen |= 1U << k;
		}
		if (key == K_TOKEN) {
			if (mpr_str(r, &s, &len) != 0 || len == 0 ||
			    len > BATON_MAX_TEXT) {
				fail(&c, "token must be a string");
				goto out;
			}
			b->token = s;
			b->tokenlen = len;
		} else if (key == K_AS) {
			if (get_str(&c, &b->as, MAX_NAME, "as: bad agent id"))
				goto out;
		} else if (key == K_SUB) {
			if (get_str(&c, &b->sub, MAX_NAME, "sub: bad subject"))
				goto out;
		} else if (key == K_TOOL) {
			if (get_str(&c, &b->tool, MAX_NAME, "tool: bad name"))
				goto out;
		} else if (key == K_ACTION) {
			if (get_str(&c, &b->action, MAX_NAME, "action: bad"))
				goto out;
		} else if (key == K_HOLDER) {
			if (get_str(&c, &b->holder, MAX_NAME, "holder: bad"))
				goto out;
		} else if (key == K_FORMAT) {
			if (get_str(&c, &b->format, 32, "format: bad"))
				goto out;
		} else if (key == K_SOURCE) {
			if (get_str(&c, &b->source, MAX_NAME, "source: bad"))
				goto out;
		} else if (key == K_CLIENT) {
			if (get_str(&c, &s, MAX_NAME, "client: bad"))
				goto out;
		} else if (key == K_AUD) {
			if (mpr_peek(r) == MPR_STR) {
				if (get_str(&c, &b->aud1, MAX_NAME, "aud: bad"))
					goto out;
			} else {
				if (get_strs(&c, &b->aud, &b->naud, MAX_VALS,
				    "aud: need a string or a list of strings"))
					goto out;
				b->has_aud = 1;
			}
		} else if (key == K_TTL) {
			if (get_uint(&c, &b->ttl, &b->has_ttl, "ttl: bad"))
				goto out;
		} else if (key == K_NBF) {
			if (get_uint(&c, &b->nbf, &b->has_nbf, "nbf: bad"))
				goto out;
		} else if (key == K_MAX_DEPTH) {
			if (get_uint(&c, &b->max_depth, &b->has_max_depth,
			    "max_depth: bad"))
				goto out;
		} else if (key == K_BLOCK) {
			if (get_uint(&c, &b->block, &b->has_block,
			    "block: bad"))
				goto out;
		} else if (key == K_VERSION) {
			if (get_uint(&c, &b->version, &b->has_version,
			    "version: bad"))
				goto out;
		} else if (key == K_SINGLE_USE) {
			if (get_bool(&c, &b->single_use, "single_use: bad"))
				goto out;
			b->has_single_use = 1;
		} else if (key == K_NOW) {
			if (get_bool(&c, &b->now, "now: bad"))
				goto out;
		} else if (key == K_MINIMAL) {
			if (get_bool(&c, &b->minimal, "minimal: bad"))
				goto out;
		} else if (key == K_DISCLOSE) {
			if (get_strs(&c, &b->disclose, &b->ndisclose,
			    18, "disclose: need a list of "
			    "\"iss\", \"sub\" or \"ctx.KEY\""))
				goto out;
		} else if (key == K_EXPLAIN) {
			if (get_bool(&c, &b->explain, "explain: bad"))
				goto out;
		} else if (key == K_GRANTS) {
			if (get_grants(&c, &b->grants) != 0)
				goto out;
			b->has_grants = 1;
		} else if (key == K_CTX) {
			if (mpr_map(r, &k) != 0 || k > MAX_VALS) {
				fail(&c, "ctx: need a map of strings");
				goto out;
			}
			b->ctx = alloc(&c, k, sizeof *b->ctx);
			b->nctx = k;
			while (k-- > 0)
				if (get_str(&c, &b->ctx[k].key, MAX_NAME,
				    "ctx: bad key") || get_str(&c,
				    &b->ctx[k].value, 1024, "ctx: bad value"))
					goto out;
		} else if (key == K_ARGS) {
			if (mpr_map(r, &k) != 0 || k > MAX_LIST) {
				fail(&c, "args: need a map");
				goto out;
			}
			b->args = alloc(&c, k, sizeof *b->args);
			b->nargs = k;
			while (k-- > 0) {
				if (get_str(&c, &b->args[k].name, MAX_NAME,
				    "args: bad name") || get_value(&c,
				    &b->args[k].value, "args: bad value"))
					goto out;
				if (dup_name(b->args[k].name, b->args,
				    sizeof *b->args, k + 1, b->nargs)) {
					fail(&c, "args: duplicate name");
					goto out;
				}
			}
		} else if (key == K_USAGE) {
			if (mpr_map(r, &k) != 0 || k > MAX_LIST) {
				fail(&c, "usage: need a map");
				goto out;
			}
			b->usage = alloc(&c, k, sizeof *b->usage);
			b->nusage = k;
			while (k-- > 0) {
				if (get_str(&c, &b->usage[k].name, MAX_NAME,
				    "usage: bad name") || get_uint(&c,
				    &b->usage[k].value, NULL, "usage: bad value"))
					goto out;
				if (dup_name(b->usage[k].name, b->usage,
				    sizeof *b->usage, k + 1, b->nusage)) {
					fail(&c, "usage: duplicate name");
					goto out;
				}
			}
		} else if (key == K_JTI) {
			if (mpr_bin_exact(r, &bin, BATON_JTI_LEN) != 0) {
				fail(&c, "jti: need 16 bytes of bin");
				goto out;
			}
			b->jti = bin;
		} else if (mpr_skip(r) != 0) {
			fail(&c, "malformed body");
			goto out;
		}
	}
	if (mpr_done(r) != 0) {
		fail(&c, "trailing bytes after the message");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && *cause == NULL)
		xasprintf(cause, "malformed body");
	return (rc);
}

void
body_free(struct body *b)
{
	sodium_memzero(b->strbuf, b->strused);
	b->strused = 0;
	baton_arena_free(b->arena);
	b->arena = NULL;
}

/*
 * Block 0 for mint.  The ttl is refused above max_ttl, never clamped,
 * and no token may outlive now + max_ttl (key retirement after rotate
 * relies on it), so a future nbf uses up part of the ttl allowance.
 */
int
body_root_block(struct baton_block *blk, uint64_t *ttl, struct body *b,
    const char *iss, uint64_t now, uint64_t max_ttl, char **cause)
{
	uint64_t	start;

	memset(blk, 0, sizeof *blk);
	*cause = NULL;
	*ttl = b->has_ttl ? b->ttl : BATOND_DEFAULT_TTL;
	if (!b->has_grants) {
		xasprintf(cause, "grants is required");
		return (-1);
	}
	if (*ttl == 0) {
		xasprintf(cause, "ttl must be positive");
		return (-1);
	}
	if (*ttl > max_ttl)
		return (BATON_R_TTL_TOO_LONG);
	if (b->has_max_depth && b->max_depth > BATON_MAX_BLOCKS - 1) {
		xasprintf(cause, "max_depth is at most %d",
		    BATON_MAX_BLOCKS - 1);
		return (-1);
	}
	/* *ttl <= max_ttl above, so the subtraction cannot wrap. */
	start = b->has_nbf && b->nbf > now ? b->nbf : now;
	if (start - now > max_ttl - *ttl) {
		xasprintf(cause, "nbf too far in the future: the token must "
		    "expire within max-ttl (%llu s) of now",
		    (unsigned long long)max_ttl);
		return (-1);
	}

	blk->version = BATON_VERSION;
	blk->iat = now;
	blk->nbf = start;
	blk->exp = start + *ttl;
	blk->iss = iss;
	blk->sub = b->sub != NULL ? b->sub : iss;
	if (b->aud1 != NULL) {
		blk->has_aud = 1;
		blk->aud = &b->aud1;
		blk->naud = 1;
	} else if (b->has_aud) {
		blk->has_aud = 1;
		blk->aud = b->aud;
		blk->naud = b->naud;
	}
	blk->has_grants = 1;
	blk->grants = b->grants;
	blk->has_max_depth = 1;
	blk->max_depth = b->has_max_depth ? b->max_depth :
	    BATOND_DEFAULT_DEPTH;
	blk->single_use = b->single_use;
	blk->holder = b->holder;
	blk->ctx = b->ctx;
	blk->nctx = b->nctx;
	blk->kind = BATON_BLOCK_ATTENUATE;
	return (0);
}

/*
 * What a child block asks for.  present narrows to the one tool, action
 * and audience named, through *tg; attenuate takes what the body gives
 * and lets the rest inherit.
 */
int
body_restriction(struct baton_restrict *rs, struct baton_toolgrant *tg,
    struct body *b, enum baton_block_kind kind, char **cause)
{
	memset(rs, 0, sizeof *rs);
	*cause = NULL;
	rs->kind = kind;
	rs->ttl = b->has_ttl ? b->ttl : 0;
	if (b->has_ttl && b->ttl == 0) {
		xasprintf(cause, "ttl must be positive");
		return (-1);
	}
	if (kind == BATON_BLOCK_PRESENT) {
		if (b->tool == NULL || b->action == NULL || b->aud1 == NULL ||
		    b->has_aud) {
			xasprintf(cause, "present needs tool, action and aud "
			    "(one string)");
			return (-1);
		}
		memset(tg, 0, sizeof *tg);
		tg->tool = b->tool;
		tg->actions = &b->action;
		tg->nactions = 1;
		rs->has_grants = 1;
		rs->grants.tools = tg;
		rs->grants.ntools = 1;
		rs->has_aud = 1;
		rs->aud = &b->aud1;
		rs->naud = 1;
		return (0);
	}
	if (b->aud1 != NULL) {
		rs->has_aud = 1;
		rs->aud = &b->aud1;
		rs->naud = 1;
	} else if (b->has_aud) {
		rs->has_aud = 1;
		rs->aud = b->aud;
		rs->naud = b->naud;
	}
	if (b->has_grants) {
		/* A child may narrow a grant, never reopen it to "*". */
		if (b->grants.wildcard)
			return (BATON_R_BAD_RESTRICTION);
		rs->has_grants = 1;
		rs->grants = b->grants;
	}
	rs->has_max_depth = b->has_max_depth;
	rs->max_depth = b->max_depth;
	rs->single_use = b->single_use;
	rs->holder = b->holder;
	rs->ctx = b->ctx;
	rs->nctx = b->nctx;
	return (0);
}

void
pack_strs(msgpack_packer *pk, const char *const *v, size_t n)
{
	size_t	i;

	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++)
		baton_pack_str(pk, v[i]);
}

void
pack_ctx(msgpack_packer *pk, const struct baton_kv *kv, size_t n)
{
	size_t	i;

	msgpack_pack_map(pk, n);
	for (i = 0; i < n; i++) {
		baton_pack_str(pk, kv[i].key);
		baton_pack_str(pk, kv[i].value);
	}
}

/*
 * The answers every verify writes, packed in place: a cursor into the
 * frame's buffer (baton_wire_room), checked for room before each item,
 * writing the same bytes msgpack-c writes (the smallest form of each
 * header and integer).  Keys are literals, so their headers and copies
 * fold into a few stores.  A packer that is not a frame's gets the bytes
 * from a frame of our own, wiped after.
 */
struct put {
	msgpack_packer	*pk;
	char		*p, *end;
};

#define PUT_CHUNK	512

static void
put_grow(struct put *w, size_t len)
{
	char	*p;

	baton_wire_took(w->pk, w->p);
	if (len < PUT_CHUNK)
		len = PUT_CHUNK;
	if ((p = baton_wire_room(w->pk, len)) == NULL)
		fatalx("answer buffer");
	w->p = p;
	w->end = p + len;
}

static inline char *
put_need(struct put *w, size_t len)
{
	if ((size_t)(w->end - w->p) < len)
		put_grow(w, len);
	return (w->p);
}

static inline void
put_be(char *p, uint64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (char)v;
		v >>= 8;
	}
}

/* A map or array head: fix (0x80 or 0x90 | n), 16 or 32 bits. */
static inline void
put_head(struct put *w, uint32_t n, int fix, int h16)
{
	char	*p = put_need(w, 5);

	if (n < 16)
		*p++ = (char)(fix | n);
	else if (n < 65536) {
		*p++ = (char)h16;
		put_be(p, n, 2);
		p += 2;
	} else {
		*p++ = (char)(h16 + 1);
		put_be(p, n, 4);
		p += 4;
	}
	w->p = p;
}

static inline void
put_map(struct put *w, size_t n)
{
	put_head(w, (uint32_t)n, 0x80, 0xde);
}

static inline void
put_array(struct put *w, size_t n)
{
	put_head(w, (uint32_t)n, 0x90, 0xdc);
}

static inline void
put_uint(struct put *w, uint64_t v)
{
	w->p = baton_put_uint(put_need(w, 9), v);
}

static inline void
put_bool(struct put *w, int b)
{
	*put_need(w, 1) = (char)(b ? 0xc3 : 0xc2);
	w->p++;
}

/* A string or bin head (fix only for strings), then its bytes. */
static inline void
put_bytes(struct put *w, const void *s, size_t len, int fix, int h8)
{
	char	*p = put_need(w, len + 5);

	if (fix && len < 32)
		*p++ = (char)(0xa0 | len);
	else if (len < 256) {
		*p++ = (char)h8;
		*p++ = (char)len;
	} else if (len < 65536) {
		*p++ = (char)(h8 + 1);
		put_be(p, len, 2);
		p += 2;
	} else {
		*p++ = (char)(h8 + 2);
		put_be(p, len, 4);
		p += 4;
	}
	memcpy(p, s, len);
	w->p = p + len;
}

static inline void
put_strn(struct put *w, const char *s, size_t len)
{
	put_bytes(w, s, len, 1, 0xd9);
}

static inline void
put_str(struct put *w, const char *s)
{
	put_strn(w, s, strlen(s));
}

static inline void
put_bin(struct put *w, const void *v, size_t len)
{
	put_bytes(w, v, len, 0, 0xc4);
}

/* A literal key (under 32 bytes): a fixstr, its length known here. */
#define PUT_KEY(w, lit) do {						\
	_Static_assert(sizeof(lit) - 1 < 32, "a fixstr key");		\
	char *p_ = put_need((w), sizeof(lit));				\
	*p_++ = (char)(0xa0 | (sizeof(lit) - 1));			\
	memcpy(p_, (lit), sizeof(lit) - 1);				\
	(w)->p = p_ + sizeof(lit) - 1;					\
} while (0)

static void
put_strs(struct put *w, const char *const *v, size_t n)
{
	size_t	i;

	put_array(w, n);
	for (i = 0; i < n; i++)
		put_str(w, v[i]);
}

/*
 * Start writing at the end of pk's frame; a packer that is not a frame's
 * (a test's plain sbuffer) gets a frame of ours, in *own.
 */
static void
put_begin(struct put *w, msgpack_packer *pk, msgpack_sbuffer *own,
    msgpack_packer *opk)
{
	w->pk = pk;
	if ((w->p = baton_wire_room(pk, PUT_CHUNK)) == NULL) {
		baton_wire_begin(own, opk);
		w->pk = opk;
		if ((w->p = baton_wire_room(opk, PUT_CHUNK)) == NULL)
			fatalx("answer buffer");
	}
	w->end = w->p + PUT_CHUNK;
}

static void
put_end(struct put *w, msgpack_packer *pk, msgpack_sbuffer *own)
{
	baton_wire_took(w->pk, w->p);
	if (w->pk == pk)
		return;
	/* the bytes after our frame's header, then wiped */
	pk->callback(pk->data, own->data + BATON_WIRE_HDR,
	    own->size - BATON_WIRE_HDR);
	sodium_memzero(own->data, own->size);
	msgpack_sbuffer_destroy(own);
}

/*
 * How verify and inspect open their answers: key ("allow", "verified")
 * true only for BATON_R_OK, then the reason as a number and a name.
 */
static void
put_reason(struct put *w, const char *key, enum baton_reason why)
{
	put_str(w, key);
	put_bool(w, why == BATON_R_OK);
	PUT_KEY(w, "reason");
	put_uint(w, (uint32_t)why);
	PUT_KEY(w, "reason_name");
	put_str(w, baton_reason_name(why));
}

void
pack_reason(msgpack_packer *pk, const char *key, enum baton_reason why)
{
	msgpack_sbuffer	own;
	msgpack_packer	opk;
	struct put	w;

	put_begin(&w, pk, &own, &opk);
	put_reason(&w, key, why);
	put_end(&w, pk, &own);
}

static void
put_facts(struct put *w, const struct baton_token *tok,
    const struct baton_effective *eff, const struct baton_tool_facts *tf)
{
	const struct baton_block	*b;
	size_t				 i;

	put_map(w, 15 + (eff->holder != NULL) + (eff->has_aud != 0));
	PUT_KEY(w, "wildcard");
	put_bool(w, eff->wildcard);
	PUT_KEY(w, "tools");
	put_strs(w, eff->tools, eff->wildcard ? 0 : eff->ntools);
	PUT_KEY(w, "any_action");
	put_bool(w, tf != NULL && tf->any_action);
	PUT_KEY(w, "actions");
	put_strs(w, tf != NULL ? tf->actions : NULL,
	    tf != NULL ? tf->nactions : 0);
	PUT_KEY(w, "limits");
	put_map(w, tf != NULL ? tf->nlimits : 0);
	for (i = 0; tf != NULL && i < tf->nlimits; i++) {
		put_str(w, tf->limits[i].name);
		put_uint(w, tf->limits[i].max);
	}
	PUT_KEY(w, "depth");
	put_uint(w, tok->nblocks - 1);
	PUT_KEY(w, "iss");
	put_str(w, eff->iss != NULL ? eff->iss : "");
	PUT_KEY(w, "sub");
	put_str(w, eff->sub != NULL ? eff->sub : "");
	if (eff->holder != NULL) {
		PUT_KEY(w, "holder");
		put_str(w, eff->holder);
	}
	if (eff->has_aud) {
		PUT_KEY(w, "aud");
		put_strs(w, eff->aud, eff->naud);
	}
	PUT_KEY(w, "exp");
	put_uint(w, eff->exp);
	PUT_KEY(w, "kid");
	put_bin(w, tok->env.kid, BATON_KID_LEN);
	PUT_KEY(w, "root_kid");
	put_bin(w, baton_token_root_kid(tok), BATON_KID_LEN);
	PUT_KEY(w, "delegators");
	put_array(w, tok->nblocks);
	for (i = 0; i < tok->nblocks; i++) {
		b = &tok->blocks[i];
		if (i == 0)
			put_str(w, b->iss != NULL ? b->iss : "");
		else
			put_str(w, b->delegator);
	}
	PUT_KEY(w, "jtis");
	put_array(w, tok->nblocks);
	for (i = 0; i < tok->nblocks; i++)
		put_bin(w, tok->blocks[i].jti, BATON_JTI_LEN);
	PUT_KEY(w, "ctx");
	put_map(w, eff->nctx);
	for (i = 0; i < eff->nctx; i++) {
		put_str(w, eff->ctx[i].key);
		put_str(w, eff->ctx[i].value);
	}
	PUT_KEY(w, "presented");
	put_bool(w, eff->presented);
}

/*
 * What a verify answer says about a token that decoded: the effective
 * grant, the facts for the tool asked about (tf, NULL when the token
 * does not grant it) and the chain.  doc/PROTOCOL.md lists the keys.
 */
void
pack_facts(msgpack_packer *pk, const struct baton_token *tok,
    const struct baton_effective *eff, const struct baton_tool_facts *tf)
{
	msgpack_sbuffer	own;
	msgpack_packer	opk;
	struct put	w;

	put_begin(&w, pk, &own, &opk);
	put_facts(&w, tok, eff, tf);
	put_end(&w, pk, &own);
}

/*
 * The whole head of a verify answer's body: its map, the decision, the
 * stack's message if any, and the facts if the token decoded (tok not
 * NULL); nexplain more entries follow, packed by the caller.
 */
void
pack_verify_answer(msgpack_packer *pk, enum baton_reason why,
    const char *message, const struct baton_token *tok,
    const struct baton_effective *eff, const struct baton_tool_facts *tf,
    size_t nexplain)
{
	msgpack_sbuffer	own;
	msgpack_packer	opk;
	struct put	w;

	put_begin(&w, pk, &own, &opk);
	put_map(&w, 3 + (tok != NULL) + (message != NULL) + nexplain);
	put_reason(&w, "allow", why);
	if (message != NULL) {
		/* The stack line that refused, and its module's reason. */
		PUT_KEY(&w, "message");
		put_str(&w, message);
	}
	if (tok != NULL) {
		PUT_KEY(&w, "facts");
		put_facts(&w, tok, eff, tf);
	}
	put_end(&w, pk, &own);
}

void
pack_grants(msgpack_packer *pk, const struct baton_grants *g)
{
	const struct baton_toolgrant	*tg;
	size_t				 i, k, p;

	if (g->wildcard) {
		baton_pack_str(pk, "*");
		return;
	}
	msgpack_pack_map(pk, g->ntools);
	for (i = 0; i < g->ntools; i++) {
		tg = &g->tools[i];
		baton_pack_str(pk, tg->tool);
		msgpack_pack_map(pk, 3);
		baton_pack_str(pk, "actions");
		pack_strs(pk, tg->actions, tg->nactions);
		baton_pack_str(pk, "limits");
		msgpack_pack_map(pk, tg->nlimits);
		for (k = 0; k < tg->nlimits; k++) {
			baton_pack_str(pk, tg->limits[k].name);
			msgpack_pack_uint64(pk, tg->limits[k].max);
		}
		baton_pack_str(pk, "where");
		msgpack_pack_map(pk, tg->nwhere);
		for (k = 0; k < tg->nwhere; k++) {
			baton_pack_str(pk, tg->where[k].arg);
			msgpack_pack_array(pk, tg->where[k].npreds);
			for (p = 0; p < tg->where[k].npreds; p++)
				baton_wire_pack_pred(pk,
				    &tg->where[k].preds[p]);
		}
	}
}
