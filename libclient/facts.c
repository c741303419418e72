/* facts.c: decoded tokens and effective grants as JSON, computed locally. */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "client.h"

static json_t *
value_json(const struct baton_value *v)
{
	switch (v->type) {
	case BATON_V_STR:
		return json_stringn(v->s, v->len);
	case BATON_V_INT:
		return json_integer((json_int_t)v->i);
	case BATON_V_BOOL:
		return json_boolean(v->i);
	default:
		return json_null();
	}
}

static json_t *
pred_json(const struct baton_pred *p)
{
	json_t	*a = json_array(), *vals;
	size_t	 i;

	if (a == NULL)
		return NULL;
	switch (p->op) {
	case BATON_P_EQ:
		json_array_append_new(a, json_string("eq"));
		if (p->nvals > 0)
			json_array_append_new(a, value_json(&p->vals[0]));
		break;
	case BATON_P_IN:
		json_array_append_new(a, json_string("in"));
		vals = json_array();
		for (i = 0; i < p->nvals; i++)
			json_array_append_new(vals, value_json(&p->vals[i]));
		json_array_append_new(a, vals);
		break;
	case BATON_P_PREFIX:
	case BATON_P_GLOB:
		json_array_append_new(a, json_string(p->op == BATON_P_PREFIX ?
		    "prefix" : "glob"));
		if (p->nvals > 0)
			json_array_append_new(a, value_json(&p->vals[0]));
		break;
	case BATON_P_RANGE:
		json_array_append_new(a, json_string("range"));
		json_array_append_new(a, json_integer((json_int_t)p->lo));
		json_array_append_new(a, json_integer((json_int_t)p->hi));
		break;
	case BATON_P_MAXLEN:
		json_array_append_new(a, json_string("maxlen"));
		json_array_append_new(a, json_integer((json_int_t)p->maxlen));
		break;
	}
	return a;
}

static json_t *
strs_json(const char *const *s, size_t n)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(s[i]));
	return a;
}

static json_t *
limits_json(const struct baton_limit *l, size_t n)
{
	json_t	*o = json_object();
	size_t	 i;

	for (i = 0; o != NULL && i < n; i++)
		json_object_set_new(o, l[i].name,
		    json_integer((json_int_t)l[i].max));
	return o;
}

static json_t *
rule_json(const struct baton_argrule *w)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; a != NULL && i < w->npreds; i++)
		json_array_append_new(a, pred_json(&w->preds[i]));
	return a;
}

json_t *
bc_grants_json(const void *vg)
{
	const struct baton_grants	*g = vg;
	const struct baton_toolgrant	*t;
	json_t				*o, *to, *wo;
	size_t				 i, j;

	if (g->wildcard)
		return json_string("*");
	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; i < g->ntools; i++) {
		t = &g->tools[i];
		to = json_object();
		if (t->nactions > 0)
			json_object_set_new(to, "actions",
			    strs_json(t->actions, t->nactions));
		if (t->nlimits > 0)
			json_object_set_new(to, "limits",
			    limits_json(t->limits, t->nlimits));
		if (t->nwhere > 0) {
			wo = json_object();
			for (j = 0; j < t->nwhere; j++)
				json_object_set_new(wo, t->where[j].arg,
				    rule_json(&t->where[j]));
			json_object_set_new(to, "where", wo);
		}
		json_object_set_new(o, t->tool, to);
	}
	return o;
}

static json_t *
ctx_json(const struct baton_kv *kv, size_t n)
{
	json_t	*o = json_object();
	size_t	 i;

	for (i = 0; o != NULL && i < n; i++)
		json_object_set_new(o, kv[i].key, json_string(kv[i].value));
	return o;
}

static json_t *
jti_json(const uint8_t jti[BATON_JTI_LEN])
{
	char	hex[BATON_JTI_LEN * 2 + 1];

	baton_hex(hex, jti, BATON_JTI_LEN);
	return json_string(hex);
}

/*
 * The facts of a decoded token in the shape of the broker's verify answer
 * (doc/PROTOCOL.md, verify), so offline and online results read the same.
 */
json_t *
bc_facts_json(const struct baton_token *tok, const struct baton_effective *e,
    const struct baton_tool_facts *tf, const char *tool)
{
	const struct baton_block	*b;
	json_t				*f, *dels, *jtis;
	char				 kid[BATON_KID_LEN * 2 + 1];
	size_t				 i;

	if ((f = json_object()) == NULL)
		return NULL;
	json_object_set_new(f, "wildcard", json_boolean(e->wildcard));
	json_object_set_new(f, "tools", strs_json(e->tools, e->ntools));
	if (tf != NULL && tool != NULL) {
		json_object_set_new(f, "any_action",
		    json_boolean(tf->any_action));
		json_object_set_new(f, "actions", tf->any_action ?
		    json_array() : strs_json(tf->actions, tf->nactions));
		json_object_set_new(f, "limits",
		    limits_json(tf->limits, tf->nlimits));
	}
	json_object_set_new(f, "depth", json_integer((json_int_t)e->depth));
	if (e->iss != NULL)
		json_object_set_new(f, "iss", json_string(e->iss));
	if (e->sub != NULL)
		json_object_set_new(f, "sub", json_string(e->sub));
	if (e->holder != NULL)
		json_object_set_new(f, "holder", json_string(e->holder));
	if (e->has_aud)
		json_object_set_new(f, "aud", strs_json(e->aud, e->naud));
	json_object_set_new(f, "exp", json_integer((json_int_t)e->exp));
	baton_hex(kid, tok->env.kid, BATON_KID_LEN);
	json_object_set_new(f, "kid", json_string(kid));
	baton_hex(kid, baton_token_root_kid(tok), BATON_KID_LEN);
	json_object_set_new(f, "root_kid", json_string(kid));
	dels = json_array();
	jtis = json_array();
	for (i = 0; i < tok->nblocks; i++) {
		b = &tok->blocks[i];
		json_array_append_new(dels, json_string(i == 0 ?
		    (b->iss != NULL ? b->iss : "") : b->delegator));
		json_array_append_new(jtis, jti_json(b->jti));
	}
	json_object_set_new(f, "delegators", dels);
	json_object_set_new(f, "jtis", jtis);
	json_object_set_new(f, "ctx", ctx_json(e->ctx, e->nctx));
	return f;
}
