/*
 * body.c: request bodies from untrusted msgpack (through the bounded
 * reader only), the pure steps from a body to a block or restriction,
 * and the packing of grants and facts into answers.  Nothing here does
 * I/O or takes a lock, so the fuzz targets link this file and run the
 * same code as batond.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batond.h"

#define MAX_TOOLS	64
#define MAX_LIST	32
#define MAX_VALS	16
#define MAX_NAME	255

struct bctx {
	struct mpr		*r;
	struct baton_arena	*a;
	char			**cause;
};

static int
fail(struct bctx *c, const char *what)
{
	if (*c->cause == NULL)
		xasprintf(c->cause, "%s", what);
	return (-1);
}

static void *
alloc(struct bctx *c, size_t n, size_t size)
{
	void	*p;

	if ((p = baton_arena_alloc(c->a, n * size == 0 ? 1 : n * size)) == NULL)
		fatalx("arena allocation");
	return (p);
}

/* Any control character (C0 or DEL)? */
static int
has_ctl(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
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

	if (mpr_str(c->r, &s, &len) != 0 || len > max ||
	    memchr(s, '\0', len) != NULL ||
	    (!value && (len == 0 || has_ctl(s, len))))
		return (fail(c, what));
	if ((*out = baton_arena_strndup(c->a, s, len)) == NULL)
		fatalx("arena allocation");
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
 * A body key, read in place (keys are only compared, never kept): the
 * same checks as get_str, then its index in known[], or NKNOWN.
 */
static int
get_key(struct bctx *c, uint32_t *k)
{
	const char	*s;
	uint32_t	 len;

	*k = NKNOWN;
	if (mpr_str(c->r, &s, &len) != 0 || len > 64 || len == 0 ||
	    memchr(s, '\0', len) != NULL || has_ctl(s, len))
		return (fail(c, "body keys must be strings"));
	for (*k = 0; *k < NKNOWN; (*k)++)
		if (known[*k].len == len && memcmp(known[*k].name, s, len) == 0)
			break;
	return (0);
}

int
body_parse(struct body *b, struct mpr *r, char **cause)
{
	struct bctx	 c = { r, NULL, cause };
	const char	*s;
	const uint8_t	*bin;
	uint32_t	 n, i, k, key, len, seen = 0;
	int		 rc = -1;

	memset(b, 0, sizeof *b);
	if ((b->arena = baton_arena_new()) == NULL)
		fatalx("arena");
	c.a = b->arena;
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
 * How verify and inspect open their answers: key ("allow", "verified")
 * true only for BATON_R_OK, then the reason as a number and a name.
 */
void
pack_reason(msgpack_packer *pk, const char *key, enum baton_reason why)
{
	baton_pack_str(pk, key);
	baton_pack_bool(pk, why == BATON_R_OK);
	baton_pack_str(pk, "reason");
	msgpack_pack_uint32(pk, (uint32_t)why);
	baton_pack_str(pk, "reason_name");
	baton_pack_str(pk, baton_reason_name(why));
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
