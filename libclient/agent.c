/* agent.c: libbaton-agent's broker operations: mint, attenuate, present... */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common.h"
#include "wire.h"
#include "client.h"
#include "grantset.h"

struct baton_issued {
	char		*token;
	char		 jti[BATON_JTI_LEN * 2 + 1];
	uint64_t	 exp;
};

const char *
baton_issued_token(const struct baton_issued *t)
{
	return t != NULL ? t->token : NULL;
}

const char *
baton_issued_jti(const struct baton_issued *t)
{
	return t != NULL ? t->jti : NULL;
}

uint64_t
baton_issued_exp(const struct baton_issued *t)
{
	return t != NULL ? t->exp : 0;
}

void
baton_issued_free(struct baton_issued *t)
{
	if (t == NULL)
		return;
	bc_free_secret(t->token);
	free(t);
}

/* A token argument: "bt1_" text of bounded size, no stray bytes. */
static int
valid_token(const char *tok)
{
	size_t	len;

	if (tok == NULL)
		return 0;
	len = strlen(tok);
	return len > BATON_PREFIX_LEN && len <= BATON_MAX_TEXT &&
	    strncmp(tok, BATON_PREFIX, BATON_PREFIX_LEN) == 0;
}

/*
 * An issue answer ({token, jti, exp}) read from its msgpack body as its
 * JSON form gives it (bc_call_raw): the last of repeated keys counts, a
 * string ends at its first NUL, a bin is its hex text (never a token:
 * hex has no '_'), an exp that is not a non-negative integer is 0.
 */
struct issue_ans {
	const uint8_t		*tok, *jti;
	size_t			 toklen, jtilen;
	int			 jtibin;
	uint64_t		 exp;
	struct baton_issued	*t;
};

/* A string value's text up to its first NUL, or NULL for another type. */
static const uint8_t *
ans_str(struct mpr *r, size_t *len)
{
	const char	*s;
	uint32_t	 n;

	if (mpr_peek(r) != MPR_STR || mpr_str(r, &s, &n) != 0)
		return NULL;
	*len = strnlen(s, n);
	return (const uint8_t *)s;
}

/* One top-level value of the answer, already checked. */
static void
field_issue(void *arg, const char *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct issue_ans	*a = arg;
	struct mpr		 r;
	const uint8_t		*b;
	uint32_t		 n;
	uint64_t		 u;
	int64_t			 si;

	mpr_init(&r, val, vlen);
	if (klen == 5 && memcmp(key, "token", 5) == 0)
		a->tok = ans_str(&r, &a->toklen);
	else if (klen == 3 && memcmp(key, "jti", 3) == 0) {
		a->jti = NULL;
		a->jtibin = mpr_peek(&r) == MPR_BIN;
		if (a->jtibin && mpr_bin(&r, &b, &n) == 0) {
			a->jti = b;
			a->jtilen = n;
		} else if (!a->jtibin)
			a->jti = ans_str(&r, &a->jtilen);
	} else if (klen == 3 && memcmp(key, "exp", 3) == 0) {
		a->exp = 0;
		if (mpr_peek(&r) == MPR_UINT && mpr_uint(&r, &u) == 0)
			a->exp = u;	/* <= INT64_MAX */
		else if (mpr_peek(&r) == MPR_INT && mpr_int(&r, &si) == 0 &&
		    si >= 0)
			a->exp = (uint64_t)si;
	}
}

/* Copy what the answer issued (under the handle's lock; then wiped). */
static int
take_issue(void *arg, const uint8_t *body, size_t len)
{
	struct issue_ans	*a = arg;
	struct baton_issued	*t;

	(void)body;
	(void)len;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return BATON_ENOMEM;
	if (a->tok != NULL && (t->token = strndup((const char *)a->tok,
	    a->toklen)) == NULL) {
		free(t);
		return BATON_ENOMEM;
	}
	if (a->jti != NULL && a->jtibin && a->jtilen == BATON_JTI_LEN)
		baton_hex(t->jti, a->jti, a->jtilen);
	else if (a->jti != NULL && !a->jtibin &&
	    a->jtilen == BATON_JTI_LEN * 2)
		memcpy(t->jti, a->jti, a->jtilen);
	t->exp = a->exp;
	a->t = t;
	return 0;
}

/* Run an op whose answer is an issued token, packed by pack. */
static int
issue(struct baton_issued **out, struct baton_client *c, uint32_t op,
    bc_pack_fn pack, const void *parg)
{
	struct issue_ans	a;
	int			ret;

	memset(&a, 0, sizeof(a));
	ret = bc_call_raw(c, op, pack, parg, field_issue, take_issue, &a,
	    NULL);
	if (ret != 0) {
		baton_issued_free(a.t);	/* NULL: take comes last */
		return ret;
	}
	if (!valid_token(a.t->token)) {
		baton_issued_free(a.t);
		bc_seterr(c, "broker answered without a token");
		return BATON_EPROTO;
	}
	*out = a.t;
	return 0;
}

/* The mint body, into the handle's request buffer (wiped as written). */
static int
pack_mint(msgpack_packer *pk, const void *arg)
{
	const struct baton_mint_opts *o = arg;
	const struct baton_grantset *gs = o->grants;
	size_t		 n;
	int		 ret;

	n = 1;	/* grants */
	n += o->ttl > 0;
	n += o->as != NULL;
	n += o->subject != NULL;
	n += gs->naud > 0;
	n += o->max_depth >= 0;
	n += o->single_use != 0;
	n += o->holder != NULL;
	n += gs->nctx > 0;
	msgpack_pack_map(pk, n);
	if (o->as != NULL) {
		baton_pack_str(pk, "as");
		baton_pack_str(pk, o->as);
	}
	if (o->subject != NULL) {
		baton_pack_str(pk, "sub");
		baton_pack_str(pk, o->subject);
	}
	if (o->ttl > 0) {
		baton_pack_str(pk, "ttl");
		msgpack_pack_uint64(pk, o->ttl);
	}
	if (gs->naud > 0) {
		baton_pack_str(pk, "aud");
		gs_pack_aud(pk, gs);
	}
	baton_pack_str(pk, "grants");
	if ((ret = gs_pack_grants(pk, gs)) != 0)
		return ret;
	if (o->max_depth >= 0) {
		baton_pack_str(pk, "max_depth");
		msgpack_pack_uint32(pk, (uint32_t)o->max_depth);
	}
	if (o->single_use) {
		baton_pack_str(pk, "single_use");
		msgpack_pack_true(pk);
	}
	if (o->holder != NULL) {
		baton_pack_str(pk, "holder");
		baton_pack_str(pk, o->holder);
	}
	if (gs->nctx > 0) {
		baton_pack_str(pk, "ctx");
		gs_pack_ctx(pk, gs);
	}
	return 0;
}

int
baton_client_mint(struct baton_issued **out, struct baton_client *c,
    const struct baton_mint_opts *o)
{
	const struct baton_grantset *gs;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (c == NULL || o == NULL || o->version != BATON_MINT_OPTS_VERSION ||
	    o->grants == NULL)
		return BATON_EINVAL;
	gs = o->grants;
	if (!gs->wildcard && gs->ntools == 0)
		return BATON_EINVAL;
	if (gs->wildcard && gs->ntools > 0)	/* as gs_pack_grants refuses */
		return BATON_EINVAL;
	return issue(out, c, BATON_OP_MINT, pack_mint, o);
}

struct attenuate_req {
	const char			*parent;
	const struct baton_attenuate_opts *o;
};

/* The attenuate body: it carries the parent token. */
static int
pack_attenuate(msgpack_packer *pk, const void *arg)
{
	const struct attenuate_req	*q = arg;
	const struct baton_attenuate_opts *o = q->o;
	const struct baton_grantset	*gs = o->grants;
	size_t				 n;
	int				 ret, grants;

	grants = gs != NULL && gs->ntools > 0;
	n = 1;	/* token */
	n += o->as != NULL;
	n += grants;
	n += gs != NULL && gs->naud > 0;
	n += o->ttl > 0;
	n += o->max_depth >= 0;
	n += o->single_use != 0;
	n += o->holder != NULL;
	n += gs != NULL && gs->nctx > 0;
	msgpack_pack_map(pk, n);
	baton_pack_str(pk, "token");
	baton_pack_str(pk, q->parent);
	if (o->as != NULL) {
		baton_pack_str(pk, "as");
		baton_pack_str(pk, o->as);
	}
	if (grants) {
		baton_pack_str(pk, "grants");
		if ((ret = gs_pack_grants(pk, gs)) != 0)
			return ret;
	}
	if (gs != NULL && gs->naud > 0) {
		baton_pack_str(pk, "aud");
		gs_pack_aud(pk, gs);
	}
	if (o->ttl > 0) {
		baton_pack_str(pk, "ttl");
		msgpack_pack_uint64(pk, o->ttl);
	}
	if (o->max_depth >= 0) {
		baton_pack_str(pk, "max_depth");
		msgpack_pack_uint32(pk, (uint32_t)o->max_depth);
	}
	if (o->single_use) {
		baton_pack_str(pk, "single_use");
		msgpack_pack_true(pk);
	}
	if (o->holder != NULL) {
		baton_pack_str(pk, "holder");
		baton_pack_str(pk, o->holder);
	}
	if (gs != NULL && gs->nctx > 0) {
		baton_pack_str(pk, "ctx");
		gs_pack_ctx(pk, gs);
	}
	return 0;
}

int
baton_client_attenuate(struct baton_issued **out, struct baton_client *c,
    const char *parent, const struct baton_attenuate_opts *o)
{
	struct baton_attenuate_opts def = BATON_ATTENUATE_OPTS_INIT;
	struct attenuate_req	 q;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (o == NULL)
		o = &def;
	if (c == NULL || o->version != BATON_ATTENUATE_OPTS_VERSION)
		return BATON_EINVAL;
	if (!valid_token(parent))
		return BATON_EMALFORMED;
	if (o->grants != NULL && o->grants->wildcard)
		return BATON_EINVAL;	/* a child can never widen to "*" */
	q.parent = parent;
	q.o = o;
	return issue(out, c, BATON_OP_ATTENUATE, pack_attenuate, &q);
}

struct present_req {
	const char			*token;
	const struct baton_present_opts	*o;
	size_t				 ndisc;
	int				 minimal;
};

/* The present body: it carries the token. */
static int
pack_present(msgpack_packer *pk, const void *arg)
{
	const struct present_req	*q = arg;
	const struct baton_present_opts	*o = q->o;
	size_t				 i;

	msgpack_pack_map(pk, 4 + (o->ttl > 0) + (o->as != NULL) +
	    q->minimal + (q->ndisc > 0));
	baton_pack_str(pk, "token");
	baton_pack_str(pk, q->token);
	baton_pack_str(pk, "tool");
	baton_pack_str(pk, o->tool);
	baton_pack_str(pk, "action");
	baton_pack_str(pk, o->action);
	baton_pack_str(pk, "aud");
	baton_pack_str(pk, o->audience);
	if (o->ttl > 0) {
		baton_pack_str(pk, "ttl");
		msgpack_pack_uint64(pk, o->ttl);
	}
	if (o->as != NULL) {
		baton_pack_str(pk, "as");
		baton_pack_str(pk, o->as);
	}
	if (q->minimal) {
		baton_pack_str(pk, "minimal");
		baton_pack_bool(pk, 1);
	}
	if (q->ndisc > 0) {
		baton_pack_str(pk, "disclose");
		msgpack_pack_array(pk, q->ndisc);
		for (i = 0; i < q->ndisc; i++)
			baton_pack_str(pk, o->disclose[i]);
	}
	return 0;
}

int
baton_client_present(struct baton_issued **out, struct baton_client *c,
    const char *token, const struct baton_present_opts *o)
{
	struct present_req	q;
	size_t			i, ndisc = 0;
	int			minimal = 0;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (c == NULL || o == NULL || o->version < 1 ||
	    o->version > BATON_PRESENT_OPTS_VERSION ||
	    o->tool == NULL || *o->tool == '\0' || o->action == NULL ||
	    *o->action == '\0' || o->audience == NULL || *o->audience == '\0')
		return BATON_EINVAL;
	/* version 1 callers' structs end before these fields */
	if (o->version >= 2) {
		minimal = o->minimal != 0;
		ndisc = o->ndisclose;
		if ((ndisc > 0 && (o->disclose == NULL || !minimal)) ||
		    ndisc > 18)
			return BATON_EINVAL;
		for (i = 0; i < ndisc; i++)
			if (o->disclose[i] == NULL)
				return BATON_EINVAL;
	}
	if (!valid_token(token))
		return BATON_EMALFORMED;
	q.token = token;
	q.o = o;
	q.ndisc = ndisc;
	q.minimal = minimal;
	return issue(out, c, BATON_OP_PRESENT, pack_present, &q);
}

/* A revoke answer: checked, nothing kept. */
static int
take_none(void *arg, const uint8_t *body, size_t len)
{
	(void)arg;
	(void)body;
	(void)len;
	return 0;
}

static int
pack_revoke_jti(msgpack_packer *pk, const void *arg)
{
	msgpack_pack_map(pk, 1);
	baton_pack_str(pk, "jti");
	baton_pack_bin(pk, arg, BATON_JTI_LEN);
	return 0;
}

/* The body carries the token: packed into the wiping request buffer. */
static int
pack_revoke_token(msgpack_packer *pk, const void *arg)
{
	msgpack_pack_map(pk, 1);
	baton_pack_str(pk, "token");
	baton_pack_str(pk, arg);
	return 0;
}

int
baton_client_revoke_jti(struct baton_client *c, const char *jti_hex)
{
	uint8_t		jti[BATON_JTI_LEN];

	if (c == NULL || jti_hex == NULL ||
	    strlen(jti_hex) != BATON_JTI_LEN * 2 ||
	    baton_unhex(jti, sizeof(jti), jti_hex) != 0)
		return BATON_EINVAL;
	return bc_call_raw(c, BATON_OP_REVOKE, pack_revoke_jti, jti, NULL,
	    take_none, NULL, NULL);
}

int
baton_client_revoke_token(struct baton_client *c, const char *token)
{
	if (c == NULL)
		return BATON_EINVAL;
	if (!valid_token(token))
		return BATON_EMALFORMED;
	return bc_call_raw(c, BATON_OP_REVOKE, pack_revoke_token, token, NULL,
	    take_none, NULL, NULL);
}

/* Run a body-less query and hand back its answer as a JSON text. */
static int
query_json(char **out, struct baton_client *c, uint32_t op,
    const msgpack_sbuffer *sb, const char *textkey)
{
	json_t		*resp = NULL;
	const char	*text;
	int		 ret;

	if ((ret = bc_call(c, op, sb, &resp)) != 0)
		return ret;
	if (textkey != NULL) {
		if ((text = bc_json_str(resp, textkey)) == NULL) {
			json_decref(resp);
			bc_seterr(c, "broker answered without %s", textkey);
			return BATON_EPROTO;
		}
		*out = strdup(text);
	} else
		*out = json_dumps(resp, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(resp);
	return *out != NULL ? 0 : BATON_ENOMEM;
}

int
baton_client_pubkeys(char **out, struct baton_client *c)
{
	json_t	*resp = NULL;
	int	 ret;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (c == NULL)
		return BATON_EINVAL;
	if ((ret = bc_call(c, BATON_OP_PUBKEYS, NULL, &resp)) != 0)
		return ret;
	if (!json_is_array(json_object_get(resp, "keys"))) {
		json_decref(resp);
		bc_seterr(c, "broker answered pubkeys without keys");
		return BATON_EPROTO;
	}
	*out = json_dumps(resp, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(resp);
	return *out != NULL ? 0 : BATON_ENOMEM;
}

int
baton_client_rotate(char **out, struct baton_client *c, int emergency)
{
	msgpack_sbuffer	sb;
	msgpack_packer	pk;
	int		ret;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (c == NULL)
		return BATON_EINVAL;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	baton_pack_str(&pk, "now");
	baton_pack_bool(&pk, emergency != 0);
	ret = query_json(out, c, BATON_OP_ROTATE, &sb, NULL);
	msgpack_sbuffer_destroy(&sb);
	return ret;
}

int
baton_client_reload(struct baton_client *c)
{
	json_t	*resp = NULL;
	int	 ret;

	if (c == NULL)
		return BATON_EINVAL;
	if ((ret = bc_call(c, BATON_OP_RELOAD, NULL, &resp)) != 0)
		return ret;
	json_decref(resp);
	return 0;
}

int
baton_client_source_ack(char **out, struct baton_client *c,
    const char *source)
{
	msgpack_sbuffer	sb;
	msgpack_packer	pk;
	int		ret;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (c == NULL || source == NULL || *source == '\0')
		return BATON_EINVAL;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	baton_pack_str(&pk, "source");
	baton_pack_str(&pk, source);
	ret = query_json(out, c, BATON_OP_SOURCE_ACK, &sb, "acked");
	msgpack_sbuffer_destroy(&sb);
	return ret;
}

int
baton_client_status(char **out, struct baton_client *c, int prometheus)
{
	msgpack_sbuffer	sb;
	msgpack_packer	pk;
	int		ret;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (c == NULL)
		return BATON_EINVAL;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, prometheus ? 1 : 0);
	if (prometheus) {
		baton_pack_str(&pk, "format");
		baton_pack_str(&pk, "prometheus");
	}
	ret = query_json(out, c, BATON_OP_STATUS, &sb,
	    prometheus ? "text" : NULL);
	msgpack_sbuffer_destroy(&sb);
	return ret;
}
