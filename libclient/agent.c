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

/* Turn a {token, jti, exp} answer into an issued token. */
static int
issued_from(struct baton_issued **out, struct baton_client *c, json_t *resp)
{
	struct baton_issued	*t;
	const char		*tok = bc_json_str(resp, "token");
	const char		*jti = bc_json_str(resp, "jti");

	if (!valid_token(tok)) {
		bc_seterr(c, "broker answered without a token");
		return BATON_EPROTO;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return BATON_ENOMEM;
	if ((t->token = strdup(tok)) == NULL) {
		free(t);
		return BATON_ENOMEM;
	}
	if (jti != NULL && strlen(jti) == BATON_JTI_LEN * 2)
		memcpy(t->jti, jti, sizeof(t->jti));
	t->exp = bc_json_u64(resp, "exp");
	*out = t;
	return 0;
}

/* Run an op whose answer is an issued token; wipes the request buffer. */
static int
issue(struct baton_issued **out, struct baton_client *c, uint32_t op,
    msgpack_sbuffer *sb)
{
	json_t	*resp = NULL;
	int	 ret;

	ret = bc_call(c, op, sb, &resp);
	/* requests can carry a parent token: do not leave it in the heap */
	if (sb->data != NULL)
		sodium_memzero(sb->data, sb->alloc);
	msgpack_sbuffer_destroy(sb);
	if (ret == 0)
		ret = issued_from(out, c, resp);
	if (resp != NULL) {
		/* wipe the token text jansson holds before releasing it */
		json_t	*tok = json_object_get(resp, "token");

		if (json_is_string(tok))
			sodium_memzero((char *)(uintptr_t)json_string_value(tok),
			    json_string_length(tok));
	}
	json_decref(resp);
	return ret;
}

int
baton_client_mint(struct baton_issued **out, struct baton_client *c,
    const struct baton_mint_opts *o)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	const struct baton_grantset *gs;
	size_t		 n;
	int		 ret;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (c == NULL || o == NULL || o->version != BATON_MINT_OPTS_VERSION ||
	    o->grants == NULL)
		return BATON_EINVAL;
	gs = o->grants;
	if (!gs->wildcard && gs->ntools == 0)
		return BATON_EINVAL;
	n = 1;	/* grants */
	n += o->ttl > 0;
	n += o->as != NULL;
	n += o->subject != NULL;
	n += gs->naud > 0;
	n += o->max_depth >= 0;
	n += o->single_use != 0;
	n += o->holder != NULL;
	n += gs->nctx > 0;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, n);
	if (o->as != NULL) {
		baton_pack_str(&pk, "as");
		baton_pack_str(&pk, o->as);
	}
	if (o->subject != NULL) {
		baton_pack_str(&pk, "sub");
		baton_pack_str(&pk, o->subject);
	}
	if (o->ttl > 0) {
		baton_pack_str(&pk, "ttl");
		msgpack_pack_uint64(&pk, o->ttl);
	}
	if (gs->naud > 0) {
		baton_pack_str(&pk, "aud");
		gs_pack_aud(&pk, gs);
	}
	baton_pack_str(&pk, "grants");
	if ((ret = gs_pack_grants(&pk, gs)) != 0) {
		msgpack_sbuffer_destroy(&sb);
		return ret;
	}
	if (o->max_depth >= 0) {
		baton_pack_str(&pk, "max_depth");
		msgpack_pack_uint32(&pk, (uint32_t)o->max_depth);
	}
	if (o->single_use) {
		baton_pack_str(&pk, "single_use");
		msgpack_pack_true(&pk);
	}
	if (o->holder != NULL) {
		baton_pack_str(&pk, "holder");
		baton_pack_str(&pk, o->holder);
	}
	if (gs->nctx > 0) {
		baton_pack_str(&pk, "ctx");
		gs_pack_ctx(&pk, gs);
	}
	return issue(out, c, BATON_OP_MINT, &sb);
}

int
baton_client_attenuate(struct baton_issued **out, struct baton_client *c,
    const char *parent, const struct baton_attenuate_opts *o)
{
	struct baton_attenuate_opts def = BATON_ATTENUATE_OPTS_INIT;
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	const struct baton_grantset *gs;
	size_t		 n;
	int		 ret, grants;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (o == NULL)
		o = &def;
	if (c == NULL || o->version != BATON_ATTENUATE_OPTS_VERSION)
		return BATON_EINVAL;
	if (!valid_token(parent))
		return BATON_EMALFORMED;
	gs = o->grants;
	if (gs != NULL && gs->wildcard)
		return BATON_EINVAL;	/* a child can never widen to "*" */
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
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, n);
	baton_pack_str(&pk, "token");
	baton_pack_str(&pk, parent);
	if (o->as != NULL) {
		baton_pack_str(&pk, "as");
		baton_pack_str(&pk, o->as);
	}
	if (grants) {
		baton_pack_str(&pk, "grants");
		if ((ret = gs_pack_grants(&pk, gs)) != 0) {
			sodium_memzero(sb.data, sb.alloc);
			msgpack_sbuffer_destroy(&sb);
			return ret;
		}
	}
	if (gs != NULL && gs->naud > 0) {
		baton_pack_str(&pk, "aud");
		gs_pack_aud(&pk, gs);
	}
	if (o->ttl > 0) {
		baton_pack_str(&pk, "ttl");
		msgpack_pack_uint64(&pk, o->ttl);
	}
	if (o->max_depth >= 0) {
		baton_pack_str(&pk, "max_depth");
		msgpack_pack_uint32(&pk, (uint32_t)o->max_depth);
	}
	if (o->single_use) {
		baton_pack_str(&pk, "single_use");
		msgpack_pack_true(&pk);
	}
	if (o->holder != NULL) {
		baton_pack_str(&pk, "holder");
		baton_pack_str(&pk, o->holder);
	}
	if (gs != NULL && gs->nctx > 0) {
		baton_pack_str(&pk, "ctx");
		gs_pack_ctx(&pk, gs);
	}
	return issue(out, c, BATON_OP_ATTENUATE, &sb);
}

int
baton_client_present(struct baton_issued **out, struct baton_client *c,
    const char *token, const struct baton_present_opts *o)
{
	msgpack_sbuffer	sb;
	msgpack_packer	pk;
	size_t		i, ndisc = 0;
	int		minimal = 0;

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
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4 + (o->ttl > 0) + (o->as != NULL) + minimal +
	    (ndisc > 0));
	baton_pack_str(&pk, "token");
	baton_pack_str(&pk, token);
	baton_pack_str(&pk, "tool");
	baton_pack_str(&pk, o->tool);
	baton_pack_str(&pk, "action");
	baton_pack_str(&pk, o->action);
	baton_pack_str(&pk, "aud");
	baton_pack_str(&pk, o->audience);
	if (o->ttl > 0) {
		baton_pack_str(&pk, "ttl");
		msgpack_pack_uint64(&pk, o->ttl);
	}
	if (o->as != NULL) {
		baton_pack_str(&pk, "as");
		baton_pack_str(&pk, o->as);
	}
	if (minimal) {
		baton_pack_str(&pk, "minimal");
		baton_pack_bool(&pk, 1);
	}
	if (ndisc > 0) {
		baton_pack_str(&pk, "disclose");
		msgpack_pack_array(&pk, ndisc);
		for (i = 0; i < ndisc; i++)
			baton_pack_str(&pk, o->disclose[i]);
	}
	return issue(out, c, BATON_OP_PRESENT, &sb);
}

static int
revoke(struct baton_client *c, msgpack_sbuffer *sb)
{
	json_t	*resp = NULL;
	int	 ret;

	ret = bc_call(c, BATON_OP_REVOKE, sb, &resp);
	sodium_memzero(sb->data, sb->alloc);
	msgpack_sbuffer_destroy(sb);
	json_decref(resp);
	return ret;
}

int
baton_client_revoke_jti(struct baton_client *c, const char *jti_hex)
{
	msgpack_sbuffer	sb;
	msgpack_packer	pk;
	uint8_t		jti[BATON_JTI_LEN];

	if (c == NULL || jti_hex == NULL ||
	    strlen(jti_hex) != BATON_JTI_LEN * 2 ||
	    baton_unhex(jti, sizeof(jti), jti_hex) != 0)
		return BATON_EINVAL;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	baton_pack_str(&pk, "jti");
	baton_pack_bin(&pk, jti, sizeof(jti));
	return revoke(c, &sb);
}

int
baton_client_revoke_token(struct baton_client *c, const char *token)
{
	msgpack_sbuffer	sb;
	msgpack_packer	pk;

	if (c == NULL)
		return BATON_EINVAL;
	if (!valid_token(token))
		return BATON_EMALFORMED;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	baton_pack_str(&pk, "token");
	baton_pack_str(&pk, token);
	return revoke(c, &sb);
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
