/* verify.c: libbaton-verify: decisions through the broker or offline. */

#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common.h"
#include "wire.h"
#include "client.h"

#define KB_MAX_FILE	(1024 * 1024)
#define KB_MAX_DIR	256		/* bundles in one directory */

/*
 * A decision.  Through the broker, the answer's msgpack body is kept and
 * its JSON form (doc) built only when something asks for the facts or
 * the JSON: a tool server that reads allowed and reason never pays for
 * it.  Offline results keep the decoded token (and what evaluation
 * computed from it) instead, and build the same doc from it on first use.
 */
struct bc_offline {
	struct baton_token	 tok;
	struct baton_effective	 eff;
	struct baton_tool_facts	 tf;
	int			 reason;	/* baton_evaluate's */
	int			 has_eff;	/* eff complete: facts */
	int			 has_tf;	/* tf for the tool asked for */
};

struct baton_verify_result {
	json_t		*doc;		/* {allow, reason, reason_name, facts} */
	const char	*tool;		/* the tool that was asked for, or NULL */
	char		*json;		/* doc dumped, lazily */
	int		 allow;
	int		 reason;
	int		 doc_reason;	/* without body: the reason doc holds */
	const uint8_t	*body;		/* the broker's answer body, or NULL */
	size_t		 bodylen;
	struct bc_offline *off;		/* offline: the token, or NULL */
	/* the body's bytes and the tool's name follow, in one allocation */
};

struct baton_keybundle {
	struct baton_keyring	 ring;
};

/* ---- results -------------------------------------------------------------- */

/*
 * A result with room for a body of bodylen bytes and a copy of tool,
 * whose length (without its NUL) is toollen.
 */
static struct baton_verify_result *
result_alloc_len(size_t bodylen, const char *tool, size_t toollen)
{
	struct baton_verify_result	*r;
	size_t				 tlen = tool != NULL ? toollen + 1 : 0;
	uint8_t				*p;

	if ((r = malloc(sizeof(*r) + bodylen + tlen)) == NULL)
		return NULL;
	memset(r, 0, sizeof(*r));
	p = (uint8_t *)(r + 1);
	if (bodylen > 0) {
		r->body = p;
		r->bodylen = bodylen;
	}
	if (tool != NULL) {
		memcpy(p + bodylen, tool, tlen);
		r->tool = (const char *)(p + bodylen);
	}
	return r;
}

static struct baton_verify_result *
result_alloc(size_t bodylen, const char *tool)
{
	return result_alloc_len(bodylen, tool, tool != NULL ? strlen(tool) : 0);
}

/* allow only on an explicit true with reason ok: fail closed */
static void
result_decide(struct baton_verify_result *r, int allow, int reason)
{
	r->reason = reason;
	r->allow = allow && reason == BATON_R_OK;
	if (!r->allow && r->reason == BATON_R_OK)
		r->reason = BATON_R_POLICY_DENIED;
}

/* What every decision document holds: facts (an object) and reason_name. */
static void
doc_finish(json_t *doc, int reason)
{
	if (!json_is_object(json_object_get(doc, "facts")))
		json_object_set_new(doc, "facts", json_object());
	if (json_object_get(doc, "reason_name") == NULL)
		json_object_set_new(doc, "reason_name",
		    json_string(baton_reason_name(reason)));
}

/*
 * An offline decision's document.  Facts come from the complete effective
 * grant: what evaluation filled in before a deny may be partial, so a
 * denial's was computed afresh (and without tool facts).  Reads only.
 */
static json_t *
offline_doc(const struct bc_offline *off, const char *tool)
{
	json_t	*doc, *facts;

	if ((doc = json_object()) == NULL)
		return NULL;
	json_object_set_new(doc, "allow",
	    json_boolean(off->reason == BATON_R_OK));
	json_object_set_new(doc, "reason", json_integer(off->reason));
	json_object_set_new(doc, "offline", json_true());
	if (off->has_eff && (facts = bc_facts_json(&off->tok, &off->eff,
	    off->has_tf ? &off->tf : NULL, off->has_tf ? tool : NULL)) !=
	    NULL)
		json_object_set_new(doc, "facts", facts);
	return doc;
}

/*
 * The decision document, built on first use.  Results are read through
 * const pointers, possibly from several threads: the first complete doc
 * is published atomically, and a thread that lost the race drops its own.
 * NULL only when out of memory (every accessor then reads "absent").
 */
static json_t *
result_doc(const struct baton_verify_result *cr)
{
	struct baton_verify_result	*r;
	json_t				*doc, *none = NULL;

	if (cr == NULL)
		return NULL;
	r = (struct baton_verify_result *)(uintptr_t)cr;
	if ((doc = __atomic_load_n(&r->doc, __ATOMIC_ACQUIRE)) != NULL)
		return doc;
	if (r->body != NULL) {
		/* checked by bc_mpr_check already: fails only on ENOMEM */
		if (bc_mp_to_json(r->body, r->bodylen, &doc) != 0)
			return NULL;
	} else if (r->off != NULL) {
		if ((doc = offline_doc(r->off, r->tool)) == NULL)
			return NULL;
	} else {
		if ((doc = json_object()) == NULL)
			return NULL;
		json_object_set_new(doc, "allow", json_false());
		json_object_set_new(doc, "reason",
		    json_integer(r->doc_reason));
	}
	doc_finish(doc, r->reason);
	if (!__atomic_compare_exchange_n(&r->doc, &none, doc, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		json_decref(doc);
		doc = none;
	}
	return doc;
}

static json_t *
result_facts(const struct baton_verify_result *r)
{
	return json_object_get(result_doc(r), "facts");
}

/* A decision with no facts: the reason alone. */
static int
result_deny(struct baton_verify_result **out, int reason, const char *tool)
{
	struct baton_verify_result	*r;

	if ((r = result_alloc(0, tool)) == NULL)
		return BATON_ENOMEM;
	r->doc_reason = reason;
	result_decide(r, 0, reason);
	*out = r;
	return r->allow ? 0 : BATON_EDENIED;
}

void
baton_verify_result_free(struct baton_verify_result *r)
{
	if (r == NULL)
		return;
	json_decref(r->doc);
	free(r->json);
	if (r->off != NULL) {
		baton_token_free(&r->off->tok);
		free(r->off);
	}
	free(r);
}

int
baton_verify_result_allowed(const struct baton_verify_result *r)
{
	return r != NULL && r->allow;
}

int
baton_verify_result_reason(const struct baton_verify_result *r)
{
	return r != NULL ? r->reason : BATON_R_UNAVAILABLE;
}

const char *
baton_verify_result_reason_name(const struct baton_verify_result *r)
{
	return baton_reason_name(baton_verify_result_reason(r));
}

const char *
baton_verify_result_iss(const struct baton_verify_result *r)
{
	return r != NULL ? bc_json_str(result_facts(r), "iss") : NULL;
}

const char *
baton_verify_result_sub(const struct baton_verify_result *r)
{
	return r != NULL ? bc_json_str(result_facts(r), "sub") : NULL;
}

uint64_t
baton_verify_result_exp(const struct baton_verify_result *r)
{
	return r != NULL ? bc_json_u64(result_facts(r), "exp") : 0;
}

uint64_t
baton_verify_result_depth(const struct baton_verify_result *r)
{
	return r != NULL ? bc_json_u64(result_facts(r), "depth") : 0;
}

int
baton_verify_result_wildcard(const struct baton_verify_result *r)
{
	return r != NULL && json_is_true(json_object_get(result_facts(r),
	    "wildcard"));
}

/* tools may come as a list of names or as a map name -> facts */
size_t
baton_verify_result_ntools(const struct baton_verify_result *r)
{
	json_t	*t;

	if (r == NULL)
		return 0;
	t = json_object_get(result_facts(r), "tools");
	if (json_is_array(t))
		return json_array_size(t);
	if (json_is_object(t))
		return json_object_size(t);
	return 0;
}

const char *
baton_verify_result_tool(const struct baton_verify_result *r, size_t i)
{
	json_t		*t;
	const char	*key;
	json_t		*v;
	size_t		 n = 0;

	if (r == NULL)
		return NULL;
	t = json_object_get(result_facts(r), "tools");
	if (json_is_array(t))
		return json_string_value(json_array_get(t, i));
	if (json_is_object(t)) {
		json_object_foreach(t, key, v) {
			if (n++ == i)
				return key;
		}
	}
	return NULL;
}

int
baton_verify_result_limit(const struct baton_verify_result *r,
    const char *name, uint64_t *max)
{
	json_t	*lim, *tools, *v;

	if (r == NULL || name == NULL || max == NULL)
		return BATON_EINVAL;
	lim = json_object_get(result_facts(r), "limits");
	if (!json_is_object(lim) && r->tool != NULL) {
		tools = json_object_get(result_facts(r), "tools");
		if (json_is_object(tools))
			lim = json_object_get(json_object_get(tools, r->tool),
			    "limits");
	}
	v = json_object_get(lim, name);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return BATON_EINVAL;
	*max = (uint64_t)json_integer_value(v);
	return 0;
}

const char *
baton_verify_result_ctx(const struct baton_verify_result *r, const char *key)
{
	if (r == NULL || key == NULL)
		return NULL;
	return bc_json_str(json_object_get(result_facts(r), "ctx"), key);
}

size_t
baton_verify_result_chain_len(const struct baton_verify_result *r)
{
	return r != NULL ? json_array_size(json_object_get(result_facts(r),
	    "delegators")) : 0;
}

const char *
baton_verify_result_chain_agent(const struct baton_verify_result *r, size_t i)
{
	if (r == NULL)
		return NULL;
	return json_string_value(json_array_get(json_object_get(result_facts(r),
	    "delegators"), i));
}

const char *
baton_verify_result_chain_jti(const struct baton_verify_result *r, size_t i)
{
	if (r == NULL)
		return NULL;
	return json_string_value(json_array_get(json_object_get(result_facts(r),
	    "jtis"), i));
}

const char *
baton_verify_result_json(const struct baton_verify_result *r)
{
	struct baton_verify_result	*w;
	json_t				*doc;

	if (r == NULL)
		return NULL;
	/* dumped on first use; the cache is not part of the value */
	w = (struct baton_verify_result *)(uintptr_t)r;
	if (w->json == NULL && (doc = result_doc(r)) != NULL)
		w->json = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	return r->json;
}

/* ---- request arguments ---------------------------------------------------- */

int
baton_call_arg_parse(struct baton_call_arg *arg, char *kv)
{
	char		*eq, *v, *end;
	long long	 n;

	if (arg == NULL || kv == NULL || (eq = strchr(kv, '=')) == NULL ||
	    eq == kv)
		return BATON_EINVAL;
	*eq = '\0';
	v = eq + 1;
	memset(arg, 0, sizeof(*arg));
	arg->name = kv;
	if (isdigit((unsigned char)v[0]) ||
	    (v[0] == '-' && isdigit((unsigned char)v[1]))) {
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno == 0 && *end == '\0') {
			arg->type = BATON_ARG_INT;
			arg->num = n;
			return 0;
		}
	}
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0) {
		arg->type = BATON_ARG_BOOL;
		arg->num = v[0] == 't';
		return 0;
	}
	arg->type = BATON_ARG_STR;
	arg->str = v;
	return 0;
}

static int
check_opts(const struct baton_verify_opts *o)
{
	size_t	i;

	if (o == NULL || o->version != BATON_VERIFY_OPTS_VERSION ||
	    o->tool == NULL || *o->tool == '\0' ||
	    (o->nargs > 0 && o->args == NULL) ||
	    (o->nusage > 0 && o->usage == NULL))
		return BATON_EINVAL;
	for (i = 0; i < o->nargs; i++)
		if (o->args[i].name == NULL || (o->args[i].type ==
		    BATON_ARG_STR && o->args[i].str == NULL))
			return BATON_EINVAL;
	for (i = 0; i < o->nusage; i++)
		if (o->usage[i].name == NULL)
			return BATON_EINVAL;
	return 0;
}

/* ---- through the broker ------------------------------------------------- */

struct verify_req {
	const char			*token;
	size_t				 toklen;
	size_t				 toollen;
	const struct baton_verify_opts	*o;
	int				 explain;
};

/* Bytes of a msgpack str of len bytes, head and body. */
static size_t
str_size(size_t len)
{
	return len + (len < 32 ? 1 : len < 256 ? 2 : len < 65536 ? 3 : 5);
}

/* A msgpack str as baton_pack_strn writes it, at p; the end. */
static uint8_t *
put_str(uint8_t *p, const char *s, size_t len)
{
	if (len < 32)
		*p++ = (uint8_t)(0xa0 | len);
	else if (len < 256) {
		*p++ = 0xd9;
		*p++ = (uint8_t)len;
	} else if (len < 65536) {
		*p++ = 0xda;
		*p++ = (uint8_t)(len >> 8);
		*p++ = (uint8_t)len;
	} else {
		*p++ = 0xdb;
		*p++ = (uint8_t)(len >> 24);
		*p++ = (uint8_t)(len >> 16);
		*p++ = (uint8_t)(len >> 8);
		*p++ = (uint8_t)len;
	}
	memcpy(p, s, len);
	return p + len;
}

/* A key that is a short literal, its fixstr head included. */
#define PUT_KEY(p, k)	(memcpy((p), (k), sizeof(k) - 1), (p) + sizeof(k) - 1)

/*
 * The verify request body, written straight into the handle's buffer:
 * its size is known before anything is written, so the strings that
 * every request has go in with one reservation; args and usage follow
 * through the packer.
 */
static int
pack_verify(msgpack_packer *pk, const void *arg)
{
	const struct verify_req		*v = arg;
	const struct baton_verify_opts	*o = v->o;
	size_t				 i, n, need, alen = 0, aulen = 0;
	uint8_t				*p;

	n = 2 + (o->action != NULL) + (o->audience != NULL) +
	    (o->nargs > 0) + (o->nusage > 0) + (v->explain != 0);
	need = 1 + 6 + str_size(v->toklen) + 5 + str_size(v->toollen);
	if (v->explain)
		need += 8 + 1;
	if (o->action != NULL)
		need += 7 + str_size(alen = strlen(o->action));
	if (o->audience != NULL)
		need += 4 + str_size(aulen = strlen(o->audience));
	if ((p = bc_pack_room(pk, need)) == NULL)
		return BATON_ENOMEM;
	*p++ = (uint8_t)(0x80 | n);		/* n <= 7: a fixmap */
	if (v->explain) {
		p = PUT_KEY(p, "\xa7" "explain");
		*p++ = 0xc3;
	}
	p = PUT_KEY(p, "\xa5" "token");
	p = put_str(p, v->token, v->toklen);
	p = PUT_KEY(p, "\xa4" "tool");
	p = put_str(p, o->tool, v->toollen);
	if (o->action != NULL) {
		p = PUT_KEY(p, "\xa6" "action");
		p = put_str(p, o->action, alen);
	}
	if (o->audience != NULL) {
		p = PUT_KEY(p, "\xa3" "aud");
		p = put_str(p, o->audience, aulen);
	}
	if (o->nargs > 0) {
		baton_pack_str(pk, "args");
		msgpack_pack_map(pk, o->nargs);
		for (i = 0; i < o->nargs; i++) {
			baton_pack_str(pk, o->args[i].name);
			switch (o->args[i].type) {
			case BATON_ARG_INT:
				msgpack_pack_int64(pk, o->args[i].num);
				break;
			case BATON_ARG_BOOL:
				baton_pack_bool(pk, o->args[i].num != 0);
				break;
			default:
				baton_pack_str(pk, o->args[i].str);
				break;
			}
		}
	}
	if (o->nusage > 0) {
		baton_pack_str(pk, "usage");
		msgpack_pack_map(pk, o->nusage);
		for (i = 0; i < o->nusage; i++) {
			baton_pack_str(pk, o->usage[i].name);
			msgpack_pack_uint64(pk, o->usage[i].value);
		}
	}
	return 0;
}

/*
 * What a verify answer decides, read from its msgpack body exactly as its
 * JSON form gives it: the last of repeated keys counts, allow must be a
 * boolean, and a reason that is not an integer is none.
 */
struct verify_ans {
	const char			*tool;
	size_t				 toollen;
	struct baton_verify_result	*r;
	int				 have_allow;
	int				 allow;
	int				 reason;
};

/*
 * An integer of the answer as its JSON form reads it; 0, or -1 if val is
 * not an integer.  val is one whole value that bc_mpr_check_map passed,
 * so its bytes are all there and a uint is at most INT64_MAX.
 */
static int
answer_int(const uint8_t *val, size_t vlen, int64_t *out)
{
	uint64_t	u = 0;
	size_t		w, i;
	uint8_t		b = val[0];

	if (b <= 0x7f || b >= 0xe0) {
		*out = (int8_t)b;
		return 0;
	}
	if (b >= 0xcc && b <= 0xcf)
		w = (size_t)1 << (b - 0xcc);
	else if (b >= 0xd0 && b <= 0xd3)
		w = (size_t)1 << (b - 0xd0);
	else
		return -1;
	if (vlen != w + 1)
		return -1;
	for (i = 1; i <= w; i++)
		u = (u << 8) | val[i];
	if (b <= 0xcf)
		*out = (int64_t)u;
	else if (w == 1)
		*out = (int8_t)(uint8_t)u;
	else if (w == 2)
		*out = (int16_t)(uint16_t)u;
	else if (w == 4)
		*out = (int32_t)(uint32_t)u;
	else
		*out = (int64_t)u;
	return 0;
}

/* One top-level value of the answer, already checked (bc_call_raw). */
static void
field_verify(void *arg, const char *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct verify_ans	*a = arg;
	int64_t			 i;

	if (klen == 5 && memcmp(key, "allow", 5) == 0) {
		a->have_allow = vlen == 1 && (val[0] == 0xc2 || val[0] == 0xc3);
		a->allow = a->have_allow && val[0] == 0xc3;
	} else if (klen == 6 && memcmp(key, "reason", 6) == 0) {
		a->reason = BATON_R_BAD_CHAIN;
		if (answer_int(val, vlen, &i) == 0)
			a->reason = (int)i;
	}
}

/* The answer's body, copied into a new result (under the handle's lock). */
static int
take_verify(void *arg, const uint8_t *body, size_t len)
{
	struct verify_ans	*a = arg;

	if ((a->r = result_alloc_len(len, a->tool, a->toollen)) == NULL)
		return BATON_ENOMEM;
	memcpy((uint8_t *)(uintptr_t)a->r->body, body, len);
	return 0;
}

static int
verify_call(struct baton_verify_result **out, struct baton_client *c,
    const char *token, const struct baton_verify_opts *o, int explain)
{
	struct verify_req	 v;
	struct verify_ans	 a;
	int			 ret, reason;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (c == NULL || token == NULL || check_opts(o) != 0)
		return BATON_EINVAL;
	if ((v.toklen = strlen(token)) > BATON_MAX_TEXT)
		return result_deny(out, BATON_R_TOO_LARGE, o->tool);
	v.token = token;
	v.toollen = strlen(o->tool);
	v.o = o;
	v.explain = explain;
	memset(&a, 0, sizeof(a));
	a.tool = o->tool;
	a.toollen = v.toollen;
	a.reason = BATON_R_BAD_CHAIN;
	ret = bc_call_raw(c, BATON_OP_VERIFY, pack_verify, &v, field_verify,
	    take_verify, &a, &reason);
	if (ret == BATON_EDENIED)	/* a refusal as a protocol error */
		return result_deny(out, reason, o->tool);
	if (ret != 0) {
		baton_verify_result_free(a.r);	/* NULL: take comes last */
		return ret;
	}
	if (!a.have_allow) {
		baton_verify_result_free(a.r);
		return BATON_EPROTO;
	}
	result_decide(a.r, a.allow, a.reason);
	*out = a.r;
	return a.r->allow ? 0 : BATON_EDENIED;
}

int
baton_verify(struct baton_verify_result **out, struct baton_client *c,
    const char *token, const struct baton_verify_opts *o)
{
	return verify_call(out, c, token, o, 0);
}

int
baton_explain(struct baton_verify_result **out, struct baton_client *c,
    const char *token, const struct baton_verify_opts *o)
{
	return verify_call(out, c, token, o, 1);
}

/* ---- key bundles ------------------------------------------------------------ */

/*
 * Add one bundle's keys to kb; on error kb is as it was.  The bundle's
 * own not_after (absent in bundles of older brokers: no end) ends the
 * trust in each of its keys, which evaluation checks against its clock.
 */
static int
kb_add_json(struct baton_keybundle *kb, const char *text, size_t len)
{
	struct baton_key	*key;
	json_t			*doc, *keys, *k, *na;
	json_error_t		 jerr;
	const char		*pkhex, *kidhex;
	uint8_t			 pk[32], kid[BATON_KID_LEN];
	uint64_t		 until = 0;
	size_t			 i, n0 = kb->ring.nkeys;
	int			 ret = BATON_EMALFORMED;

	if (len > KB_MAX_FILE)
		return BATON_ETOOBIG;
	/* offline users may never open a client, which would init libsodium */
	if (sodium_init() < 0)
		return BATON_EIO;
	if ((doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL)
		return BATON_EMALFORMED;
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys))
		goto out;
	if ((na = json_object_get(doc, "not_after")) != NULL) {
		if (!json_is_integer(na) || json_integer_value(na) <= 0)
			goto out;
		until = (uint64_t)json_integer_value(na);
	}
	json_array_foreach(keys, i, k) {
		pkhex = bc_json_str(k, "pk");
		kidhex = bc_json_str(k, "kid");
		if (pkhex == NULL || strlen(pkhex) != 64 ||
		    baton_unhex(pk, sizeof(pk), pkhex) != 0)
			goto out;
		if ((ret = baton_key_from_public(&key, pk)) != 0)
			goto out;
		/* a kid that does not match its key is a corrupt bundle */
		if (kidhex != NULL && (strlen(kidhex) != 16 ||
		    baton_unhex(kid, sizeof(kid), kidhex) != 0 ||
		    memcmp(kid, key->kid, sizeof(kid)) != 0)) {
			baton_key_free(key);
			ret = BATON_EMALFORMED;
			goto out;
		}
		key->not_after = bc_json_u64(k, "not_after");
		key->trust_until = until;
		/* refuses a kid already there, from this bundle or another */
		if ((ret = baton_keyring_add(&kb->ring, key)) != 0)
			goto out;
		ret = BATON_EMALFORMED;
	}
	ret = kb->ring.nkeys > n0 ? 0 : BATON_ENOKEY;
out:
	/* all or nothing: drop what this bundle added before failing */
	while (ret != 0 && kb->ring.nkeys > n0)
		baton_key_free(kb->ring.keys[--kb->ring.nkeys]);
	json_decref(doc);
	return ret;
}

static int
kb_new(struct baton_keybundle **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return BATON_ENOMEM;
	baton_keyring_init(&(*out)->ring);
	return 0;
}

int
baton_keybundle_parse(struct baton_keybundle **out, const char *text,
    size_t len)
{
	struct baton_keybundle	*kb = NULL;
	int			 ret;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (text == NULL)
		return BATON_EINVAL;
	if (len > KB_MAX_FILE)
		return BATON_ETOOBIG;
	if ((ret = kb_new(&kb)) != 0)
		return ret;
	if ((ret = kb_add_json(kb, text, len)) != 0) {
		baton_keybundle_free(kb);
		return ret;
	}
	*out = kb;
	return 0;
}

/* A whole bundle file, at most KB_MAX_FILE bytes; *buf is malloc'd. */
static int
kb_read(const char *path, char **bufp, size_t *lenp)
{
	FILE	*f;
	char	*buf;
	size_t	 n;
	int	 ret = 0;

	*bufp = NULL;
	if ((f = fopen(path, "re")) == NULL)
		return BATON_EIO;
	if ((buf = malloc(KB_MAX_FILE + 1)) == NULL) {
		fclose(f);
		return BATON_ENOMEM;
	}
	n = fread(buf, 1, KB_MAX_FILE + 1, f);
	if (ferror(f))
		ret = BATON_EIO;
	else if (n > KB_MAX_FILE)
		ret = BATON_ETOOBIG;
	fclose(f);
	if (ret != 0) {
		free(buf);
		return ret;
	}
	*bufp = buf;
	*lenp = n;
	return 0;
}

int
baton_keybundle_load(struct baton_keybundle **out, const char *path)
{
	char	*buf;
	size_t	 n;
	int	 ret;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (path == NULL)
		return BATON_EINVAL;
	if ((ret = kb_read(path, &buf, &n)) != 0)
		return ret;
	ret = baton_keybundle_parse(out, buf, n);
	free(buf);
	return ret;
}

int
baton_keybundle_add(struct baton_keybundle *kb, const char *path)
{
	char	*buf;
	size_t	 n;
	int	 ret;

	if (kb == NULL || path == NULL)
		return BATON_EINVAL;
	if ((ret = kb_read(path, &buf, &n)) != 0)
		return ret;
	ret = kb_add_json(kb, buf, n);
	free(buf);
	return ret;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
baton_keybundle_load_dir(struct baton_keybundle **out, const char *dir)
{
	struct baton_keybundle	*kb = NULL;
	struct dirent		*de;
	DIR			*d;
	char			**names = NULL, **nn, *path;
	size_t			 n = 0, i, len;
	int			 ret;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (dir == NULL)
		return BATON_EINVAL;
	if ((d = opendir(dir)) == NULL)
		return BATON_EIO;
	ret = BATON_ENOMEM;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		/* as batond's trusted-keys: NAME.json, no dot files */
		if (de->d_name[0] == '.' || len <= 5 ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (n == KB_MAX_DIR) {
			ret = BATON_ETOOBIG;
			goto out;
		}
		if ((nn = realloc(names, (n + 1) * sizeof(*names))) == NULL)
			goto out;
		names = nn;
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto out;
		n++;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	if ((ret = kb_new(&kb)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		len = strlen(dir) + strlen(names[i]) + 2;
		if ((path = malloc(len)) == NULL) {
			ret = BATON_ENOMEM;
			goto out;
		}
		snprintf(path, len, "%s/%s", dir, names[i]);
		ret = baton_keybundle_add(kb, path);
		free(path);
		if (ret != 0)
			goto out;
	}
	if (kb->ring.nkeys == 0) {
		ret = BATON_ENOKEY;
		goto out;
	}
	*out = kb;
	kb = NULL;
	ret = 0;
out:
	baton_keybundle_free(kb);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return ret;
}

size_t
baton_keybundle_count(const struct baton_keybundle *kb)
{
	return kb != NULL ? kb->ring.nkeys : 0;
}

void
baton_keybundle_free(struct baton_keybundle *kb)
{
	if (kb == NULL)
		return;
	baton_keyring_clear(&kb->ring);
	free(kb);
}

/* ---- offline ------------------------------------------------------------------ */

int
baton_verify_offline(struct baton_verify_result **out,
    const struct baton_keybundle *kb, const char *token,
    const struct baton_verify_opts *o)
{
	struct baton_verify_result *r;
	struct bc_offline	*off;
	struct baton_request	 req;
	struct baton_arg	*args = NULL;
	struct baton_usage	*usage = NULL;
	enum baton_reason	 reason;
	size_t			 i;
	int			 ret;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (kb == NULL || token == NULL || check_opts(o) != 0)
		return BATON_EINVAL;
	if (sodium_init() < 0)
		return BATON_EIO;
	/*
	 * The result keeps the token: its facts are built on first use.
	 * baton_token_open sets all of tok, whatever it returns.
	 */
	if ((off = malloc(sizeof(*off))) == NULL)
		return BATON_ENOMEM;
	memset(&off->eff, 0, sizeof(off->eff));
	memset(&off->tf, 0, sizeof(off->tf));
	off->reason = off->has_eff = off->has_tf = 0;
	reason = baton_token_open(&off->tok, token, strlen(token), &kb->ring,
	    BATON_CHECK_SIG);
	if (reason != BATON_R_OK) {
		baton_token_free(&off->tok);
		free(off);
		return result_deny(out, (int)reason, o->tool);
	}
	ret = BATON_ENOMEM;
	if ((o->nargs > 0 && (args = calloc(o->nargs, sizeof(*args))) ==
	    NULL) || (o->nusage > 0 &&
	    (usage = calloc(o->nusage, sizeof(*usage))) == NULL))
		goto out;
	for (i = 0; i < o->nargs; i++) {
		args[i].name = o->args[i].name;
		switch (o->args[i].type) {
		case BATON_ARG_INT:
			args[i].value.type = BATON_V_INT;
			args[i].value.i = o->args[i].num;
			break;
		case BATON_ARG_BOOL:
			args[i].value.type = BATON_V_BOOL;
			args[i].value.i = o->args[i].num != 0;
			break;
		default:
			args[i].value.type = BATON_V_STR;
			args[i].value.s = o->args[i].str;
			args[i].value.len = strlen(o->args[i].str);
			break;
		}
	}
	for (i = 0; i < o->nusage; i++) {
		usage[i].name = o->usage[i].name;
		usage[i].value = o->usage[i].value;
	}
	memset(&req, 0, sizeof(req));
	req.tool = o->tool;
	req.action = o->action;
	req.audience = o->audience;
	req.args = args;
	req.nargs = o->nargs;
	req.usage = usage;
	req.nusage = o->nusage;
	req.now = o->now != 0 ? o->now : (uint64_t)time(NULL);
	req.leeway = o->leeway;
	reason = baton_evaluate(&off->tok, &req, &off->eff, &off->tf);
	if ((r = result_alloc(0, o->tool)) == NULL)
		goto out;
	/* a denial's facts come from the complete grant, computed afresh */
	off->reason = (int)reason;
	off->has_tf = reason == BATON_R_OK;
	if (reason != BATON_R_OK) {
		memset(&off->eff, 0, sizeof(off->eff));
		memset(&off->tf, 0, sizeof(off->tf));
		off->has_eff = baton_effective(&off->tok, &off->eff) ==
		    BATON_R_OK;
	} else
		off->has_eff = 1;
	r->off = off;
	off = NULL;
	result_decide(r, reason == BATON_R_OK, (int)reason);
	*out = r;
	ret = r->allow ? 0 : BATON_EDENIED;
out:
	free(args);
	free(usage);
	if (off != NULL) {
		baton_token_free(&off->tok);
		free(off);
	}
	return ret;
}
