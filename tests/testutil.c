/* testutil.c: helpers shared by baton's Check suites (see testutil.h). */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "common.h"
#include "testutil.h"

uint64_t
tu_now(void)
{
	return (TU_NOW);
}

struct baton_key *
tu_key(uint8_t pattern)
{
	struct baton_key	*k = NULL;
	uint8_t			 seed[BATON_SEED_LEN];

	memset(seed, pattern, sizeof(seed));
	ck_assert_int_eq(baton_key_from_seed(&k, seed), 0);
	ck_assert_ptr_nonnull(k);
	return (k);
}

void
tu_keyring(struct baton_keyring *kr, uint8_t pattern)
{
	baton_keyring_init(kr);
	ck_assert_int_eq(baton_keyring_add(kr, tu_key(pattern)), 0);
}

struct baton_arena *
tu_arena(void)
{
	struct baton_arena	*a;

	a = baton_arena_new();
	ck_assert_ptr_nonnull(a);
	return (a);
}

/* Arrays in the arena grow by copying: tests are small. */
static void *
grow(struct baton_arena *a, const void *old, size_t n, size_t size)
{
	void	*p;

	p = baton_arena_alloc(a, (n + 1) * size);
	ck_assert_ptr_nonnull(p);
	if (n != 0)
		memcpy(p, old, n * size);
	return (p);
}

/* Split "a,b,c" into an arena array of strings. */
static const char **
split(struct baton_arena *a, const char *csv, size_t *n)
{
	const char	**v = NULL;
	const char	 *s, *comma;
	size_t		  len;

	*n = 0;
	for (s = csv; s != NULL; s = comma == NULL ? NULL : comma + 1) {
		comma = strchr(s, ',');
		len = comma == NULL ? strlen(s) : (size_t)(comma - s);
		v = grow(a, v, *n, sizeof(*v));
		v[*n] = baton_arena_strndup(a, s, len);
		ck_assert_ptr_nonnull(v[*n]);
		(*n)++;
	}
	return (v);
}

void
tu_root(struct baton_block *b, uint8_t jti_byte, uint64_t now, uint64_t ttl)
{
	memset(b, 0, sizeof(*b));
	b->version = BATON_VERSION;
	memset(b->jti, jti_byte, sizeof(b->jti));
	b->iat = b->nbf = now;
	b->exp = now + ttl;
	b->iss = "orchestrator";
	b->sub = "alice";
	b->has_grants = 1;
	b->grants.wildcard = 1;
	b->has_max_depth = 1;
	b->max_depth = 5;
}

void
tu_child(struct baton_block *b, uint8_t jti_byte, uint64_t now, uint64_t ttl,
    const char *delegator)
{
	memset(b, 0, sizeof(*b));
	b->version = BATON_VERSION;
	memset(b->jti, jti_byte, sizeof(b->jti));
	b->iat = now;
	b->exp = now + ttl;
	b->delegator = delegator;
}

struct baton_toolgrant *
tu_tool(struct baton_arena *a, struct baton_block *b, const char *tool,
    const char *actions)
{
	struct baton_toolgrant	*tg;

	b->has_grants = 1;
	b->grants.wildcard = 0;
	b->grants.tools = grow(a, b->grants.tools, b->grants.ntools,
	    sizeof(*b->grants.tools));
	tg = &b->grants.tools[b->grants.ntools++];
	memset(tg, 0, sizeof(*tg));
	tg->tool = tool;
	if (actions != NULL)
		tg->actions = split(a, actions, &tg->nactions);
	return (tg);
}

void
tu_limit(struct baton_arena *a, struct baton_toolgrant *tg, const char *name,
    uint64_t max)
{
	tg->limits = grow(a, tg->limits, tg->nlimits, sizeof(*tg->limits));
	tg->limits[tg->nlimits].name = name;
	tg->limits[tg->nlimits].max = max;
	tg->nlimits++;
}

struct baton_argrule *
tu_where(struct baton_arena *a, struct baton_toolgrant *tg, const char *arg)
{
	struct baton_argrule	*ar;

	tg->where = grow(a, tg->where, tg->nwhere, sizeof(*tg->where));
	ar = &tg->where[tg->nwhere++];
	memset(ar, 0, sizeof(*ar));
	ar->arg = arg;
	return (ar);
}

struct baton_pred *
tu_pred(struct baton_arena *a, struct baton_argrule *ar, enum baton_pred_op op)
{
	struct baton_pred	*p;

	ar->preds = grow(a, ar->preds, ar->npreds, sizeof(*ar->preds));
	p = &ar->preds[ar->npreds++];
	memset(p, 0, sizeof(*p));
	p->op = op;
	return (p);
}

static struct baton_value *
one_value(struct baton_arena *a, struct baton_pred *p)
{
	p->vals = baton_arena_alloc(a, sizeof(*p->vals));
	ck_assert_ptr_nonnull(p->vals);
	p->nvals = 1;
	return (p->vals);
}

static void
set_str(struct baton_value *v, const char *s)
{
	v->type = BATON_V_STR;
	v->s = s;
	v->len = strlen(s);
}

void
tu_pred_eq_str(struct baton_arena *a, struct baton_argrule *ar, const char *s)
{
	set_str(one_value(a, tu_pred(a, ar, BATON_P_EQ)), s);
}

void
tu_pred_eq_int(struct baton_arena *a, struct baton_argrule *ar, int64_t i)
{
	struct baton_value	*v;

	v = one_value(a, tu_pred(a, ar, BATON_P_EQ));
	v->type = BATON_V_INT;
	v->i = i;
}

void
tu_pred_eq_bool(struct baton_arena *a, struct baton_argrule *ar, int bv)
{
	struct baton_value	*v;

	v = one_value(a, tu_pred(a, ar, BATON_P_EQ));
	v->type = BATON_V_BOOL;
	v->i = bv != 0;
}

void
tu_pred_in_str(struct baton_arena *a, struct baton_argrule *ar,
    const char *csv)
{
	struct baton_pred	 *p;
	const char		**v;
	size_t			  n, i;

	p = tu_pred(a, ar, BATON_P_IN);
	v = split(a, csv, &n);
	p->vals = baton_arena_alloc(a, n * sizeof(*p->vals));
	ck_assert_ptr_nonnull(p->vals);
	for (i = 0; i < n; i++)
		set_str(&p->vals[i], v[i]);
	p->nvals = n;
}

void
tu_pred_prefix(struct baton_arena *a, struct baton_argrule *ar, const char *s)
{
	set_str(one_value(a, tu_pred(a, ar, BATON_P_PREFIX)), s);
}

void
tu_pred_glob(struct baton_arena *a, struct baton_argrule *ar, const char *s)
{
	set_str(one_value(a, tu_pred(a, ar, BATON_P_GLOB)), s);
}

void
tu_pred_range(struct baton_arena *a, struct baton_argrule *ar, int64_t lo,
    int64_t hi)
{
	struct baton_pred	*p;

	p = tu_pred(a, ar, BATON_P_RANGE);
	p->lo = lo;
	p->hi = hi;
}

void
tu_pred_maxlen(struct baton_arena *a, struct baton_argrule *ar, uint64_t n)
{
	tu_pred(a, ar, BATON_P_MAXLEN)->maxlen = n;
}

void
tu_aud(struct baton_arena *a, struct baton_block *b, const char *csv)
{
	b->aud = split(a, csv, &b->naud);
	b->has_aud = 1;
}

void
tu_ctx(struct baton_arena *a, struct baton_block *b, const char *key,
    const char *value)
{
	b->ctx = grow(a, b->ctx, b->nctx, sizeof(*b->ctx));
	b->ctx[b->nctx].key = key;
	b->ctx[b->nctx].value = value;
	b->nctx++;
}

void
tu_encode(const struct baton_block *b, int is_root, uint8_t **out,
    size_t *outlen)
{
	ck_assert_int_eq(baton_block_encode(b, is_root, out, outlen), 0);
	ck_assert_ptr_nonnull(*out);
}

char *
tu_seal(const struct baton_key *k, const struct baton_block *blocks, size_t n)
{
	uint8_t		*p[BATON_MAX_BLOCKS];
	size_t		 len[BATON_MAX_BLOCKS], i;
	char		*text = NULL;

	ck_assert(n >= 1 && n <= BATON_MAX_BLOCKS);
	for (i = 0; i < n; i++)
		tu_encode(&blocks[i], i == 0, &p[i], &len[i]);
	ck_assert_int_eq(baton_token_seal(&text, k,
	    (const uint8_t *const *)p, len, n), 0);
	for (i = 0; i < n; i++)
		free(p[i]);
	ck_assert_ptr_nonnull(text);
	return (text);
}

void
tu_open(struct baton_token *tok, const char *text,
    const struct baton_keyring *kr)
{
	ck_assert_int_eq(baton_token_open(tok, text, strlen(text), kr,
	    BATON_CHECK_SIG), BATON_R_OK);
}

static void
str_eq(const char *what, const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		ck_assert_msg(a == b, "%s: one is NULL", what);
	else
		ck_assert_msg(strcmp(a, b) == 0, "%s: \"%s\" != \"%s\"",
		    what, a, b);
}

static void
value_eq(const struct baton_value *a, const struct baton_value *b)
{
	ck_assert_int_eq(a->type, b->type);
	if (a->type == BATON_V_STR) {
		ck_assert_uint_eq(a->len, b->len);
		ck_assert_int_eq(memcmp(a->s, b->s, a->len), 0);
	} else
		ck_assert_int_eq(a->i, b->i);
}

static void
toolgrant_eq(const struct baton_toolgrant *a, const struct baton_toolgrant *b)
{
	const struct baton_argrule	*x, *y;
	size_t				 i, j, k;

	str_eq("tool", a->tool, b->tool);
	ck_assert_uint_eq(a->nactions, b->nactions);
	for (i = 0; i < a->nactions; i++)
		str_eq("action", a->actions[i], b->actions[i]);
	ck_assert_uint_eq(a->nlimits, b->nlimits);
	for (i = 0; i < a->nlimits; i++) {
		str_eq("limit", a->limits[i].name, b->limits[i].name);
		ck_assert_uint_eq(a->limits[i].max, b->limits[i].max);
	}
	ck_assert_uint_eq(a->nwhere, b->nwhere);
	for (i = 0; i < a->nwhere; i++) {
		x = &a->where[i];
		y = &b->where[i];
		str_eq("where arg", x->arg, y->arg);
		ck_assert_uint_eq(x->npreds, y->npreds);
		for (j = 0; j < x->npreds; j++) {
			ck_assert_int_eq(x->preds[j].op, y->preds[j].op);
			ck_assert_int_eq(x->preds[j].lo, y->preds[j].lo);
			ck_assert_int_eq(x->preds[j].hi, y->preds[j].hi);
			ck_assert_uint_eq(x->preds[j].maxlen,
			    y->preds[j].maxlen);
			ck_assert_uint_eq(x->preds[j].nvals,
			    y->preds[j].nvals);
			for (k = 0; k < x->preds[j].nvals; k++)
				value_eq(&x->preds[j].vals[k],
				    &y->preds[j].vals[k]);
		}
	}
}

void
tu_assert_block_eq(const struct baton_block *a, const struct baton_block *b)
{
	size_t	i;

	ck_assert_uint_eq(a->version, b->version);
	ck_assert_int_eq(memcmp(a->jti, b->jti, BATON_JTI_LEN), 0);
	ck_assert_uint_eq(a->iat, b->iat);
	ck_assert_uint_eq(a->nbf, b->nbf);
	ck_assert_uint_eq(a->exp, b->exp);
	str_eq("iss", a->iss, b->iss);
	str_eq("sub", a->sub, b->sub);
	str_eq("delegator", a->delegator, b->delegator);
	str_eq("holder", a->holder, b->holder);
	ck_assert_int_eq(a->has_aud, b->has_aud);
	ck_assert_uint_eq(a->naud, b->naud);
	for (i = 0; i < a->naud; i++)
		str_eq("aud", a->aud[i], b->aud[i]);
	ck_assert_int_eq(a->has_grants, b->has_grants);
	ck_assert_int_eq(a->grants.wildcard, b->grants.wildcard);
	ck_assert_uint_eq(a->grants.ntools, b->grants.ntools);
	for (i = 0; i < a->grants.ntools; i++)
		toolgrant_eq(&a->grants.tools[i], &b->grants.tools[i]);
	ck_assert_int_eq(a->has_max_depth, b->has_max_depth);
	ck_assert_uint_eq(a->max_depth, b->max_depth);
	ck_assert_int_eq(a->single_use, b->single_use);
	ck_assert_int_eq(a->kind, b->kind);
	ck_assert_uint_eq(a->nctx, b->nctx);
	for (i = 0; i < a->nctx; i++) {
		str_eq("ctx key", a->ctx[i].key, b->ctx[i].key);
		str_eq("ctx value", a->ctx[i].value, b->ctx[i].value);
	}
}
