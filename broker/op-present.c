/*
 * op-present.c: the short-lived single-use per-call token.
 *
 * By default a presentation appends one block to the chain.  With
 * "minimal" the broker instead issues a call token: one fresh block that
 * shows the tool server only the call (one tool, one action with the
 * chain's effective limits and argument constraints, one audience, the
 * holder, at most 120 s, single use) and what the presenter chose to
 * disclose, with the chain sealed inside it for this broker alone
 * (common/seal.c).  The checks are those of any presentation: the child
 * block is built and refused exactly as for the chained form first.
 */

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "batond.h"

#define CALL_MAX_PREDS	8	/* per argument rule: doc/TOKEN.md section 10 */

static int
op_present(struct request *r)
{
	return (issue_child(r, BATON_BLOCK_PRESENT));
}

/* Every constraint of the chain on one tool, one rule per argument. */
static int
merge_where(struct baton_arena *a, const struct baton_tool_facts *tf,
    struct baton_argrule **out, size_t *nout, const char **bad)
{
	struct baton_argrule	*rules;
	const struct baton_argrule *w;
	size_t			 i, j, k, n = 0;

	*out = NULL;
	*nout = 0;
	if (tf->nwhere == 0)
		return (0);
	rules = baton_arena_alloc(a, tf->nwhere * sizeof(*rules));
	if (rules == NULL)
		return (-1);
	for (i = 0; i < tf->nwhere; i++) {
		w = tf->where[i];
		for (j = 0; j < n; j++)
			if (strcmp(rules[j].arg, w->arg) == 0)
				break;
		if (j == n) {
			rules[n].arg = w->arg;
			rules[n].npreds = 0;
			rules[n].preds = baton_arena_alloc(a,
			    CALL_MAX_PREDS * sizeof(*rules[n].preds));
			if (rules[n].preds == NULL)
				return (-1);
			n++;
		}
		for (k = 0; k < w->npreds; k++) {
			if (rules[j].npreds == CALL_MAX_PREDS) {
				*bad = w->arg;
				return (-1);
			}
			rules[j].preds[rules[j].npreds++] = w->preds[k];
		}
	}
	*out = rules;
	*nout = n;
	return (0);
}

/* The claims asked for, from the verified chain; -1 after req_error. */
static int
disclose(struct request *r, const struct body *b,
    const struct baton_effective *eff, struct baton_arena *a,
    struct baton_block *call)
{
	const char	*d;
	size_t		 i, k;

	if (b->ndisclose > 0 && (call->ctx = baton_arena_alloc(a,
	    b->ndisclose * sizeof(*call->ctx))) == NULL)
		return (req_error(r, BATON_WIRE_EINTERNAL, "out of memory"));
	for (i = 0; i < b->ndisclose; i++) {
		d = b->disclose[i];
		if (strcmp(d, "iss") == 0)
			call->iss = eff->iss;
		else if (strcmp(d, "sub") == 0)
			call->sub = eff->sub;
		else if (strncmp(d, "ctx.", 4) == 0 && d[4] != '\0') {
			for (k = 0; k < eff->nctx; k++)
				if (strcmp(eff->ctx[k].key, d + 4) == 0)
					break;
			if (k == eff->nctx)
				return (req_error(r, BATON_WIRE_EBADREQ,
				    "disclose: the token has no ctx \"%s\"",
				    d + 4));
			for (k = 0; k < call->nctx; k++)
				if (strcmp(call->ctx[k].key, d + 4) == 0)
					break;
			if (k < call->nctx)
				return (req_error(r, BATON_WIRE_EBADREQ,
				    "disclose: %s given twice", d));
			for (k = 0; k < eff->nctx; k++)
				if (strcmp(eff->ctx[k].key, d + 4) == 0)
					call->ctx[call->nctx++] = eff->ctx[k];
		} else
			return (req_error(r, BATON_WIRE_EBADREQ, "disclose: "
			    "\"%s\": want iss, sub or ctx.KEY", d));
	}
	return (0);
}

int
issue_call(struct request *r, const struct baton_token *tok,
    const struct baton_effective *eff, const struct baton_block *child,
    const struct body *b, const char *agent)
{
	const struct baton_keyring	*ring;
	const struct baton_key		*key;
	struct baton_tool_facts		 tf;
	struct baton_toolgrant		 tg;
	struct baton_block		 call;
	struct baton_lineage		 lin;
	struct baton_arena		*a;
	const char			*action[1], *aud[1], *bad = NULL;
	const uint8_t			*p[1];
	size_t				 lens[1], i, k, enclen = 0;
	uint8_t				 seal[BATON_SEAL_LEN(BATON_MAX_BLOCKS)];
	uint8_t				*enc = NULL;
	char				*text = NULL;
	int				 rc = -1, err;

	if ((a = baton_arena_new()) == NULL)
		fatalx("arena");
	memset(&call, 0, sizeof call);
	if (baton_tool_facts(tok, b->tool, &tf) != BATON_R_OK) {
		req_deny(r, BATON_R_TOOL_NOT_GRANTED);
		goto out;
	}
	if (merge_where(a, &tf, &tg.where, &tg.nwhere, &bad) != 0) {
		req_error(r, BATON_WIRE_EBADREQ, "%s%s%s", bad != NULL ?
		    "more than 8 constraints on argument " : "out of memory",
		    bad != NULL ? bad : "", bad != NULL ? " in the chain: "
		    "present it without --minimal" : "");
		goto out;
	}
	tg.tool = b->tool;
	action[0] = b->action;
	tg.actions = action;
	tg.nactions = 1;
	tg.limits = tf.limits;
	tg.nlimits = tf.nlimits;
	aud[0] = b->aud1;

	call.version = BATON_VERSION;
	memcpy(call.jti, child->jti, BATON_JTI_LEN);
	call.iat = call.nbf = child->iat;
	call.exp = child->exp < eff->exp ? child->exp : eff->exp;
	call.holder = agent;
	call.has_aud = 1;
	call.aud = aud;
	call.naud = 1;
	call.has_grants = 1;
	call.grants.tools = &tg;
	call.grants.ntools = 1;
	call.has_max_depth = 1;
	call.max_depth = 0;
	call.single_use = 1;
	if (disclose(r, b, eff, a, &call) != 0)
		goto out;

	memset(&lin, 0, sizeof lin);
	lin.n = tok->nblocks;
	for (i = 0; i < tok->nblocks; i++) {
		memcpy(lin.jti[i], tok->blocks[i].jti, BATON_JTI_LEN);
		lin.exp[i] = tok->blocks[i].exp;
		lin.single_use[i] = tok->blocks[i].single_use;
	}
	baton_chain_hash(lin.chain, tok->env.kid,
	    (const uint8_t *const *)tok->env.payload, tok->env.paylen,
	    tok->env.nblocks);

	ring = keystore_lock();
	if ((key = baton_keyring_signer(ring)) == NULL) {
		keystore_unlock();
		req_error(r, BATON_WIRE_EUNAVAIL, "no signing key");
		goto out;
	}
	/*
	 * A call token has one block and so no room to name the keys its
	 * lineage came from: only a chain of this broker's own keys may
	 * become one, never a federated or re-signed one (it would outlive
	 * the trust in its origin).  ring->keys holds only our own.
	 */
	for (i = 1; i < tok->nblocks; i++)
		if (tok->blocks[i].origin != NULL)
			break;
	for (k = 0; i == tok->nblocks && k < ring->nkeys; k++)
		if (memcmp(tok->env.kid, ring->keys[k]->kid,
		    BATON_KID_LEN) == 0)
			break;
	if (i < tok->nblocks || k == ring->nkeys) {
		keystore_unlock();
		req_error(r, BATON_WIRE_EBADREQ, "--minimal: the chain was "
		    "signed by another broker's key (federated or re-signed); "
		    "present it without --minimal");
		goto out;
	}
	call.seal = seal;
	call.seallen = BATON_SEAL_LEN(lin.n);
	err = baton_lineage_seal(seal, call.seallen, key, call.jti, &lin);
	if (err == 0)
		err = baton_block_encode(&call, 1, &enc, &enclen);
	if (err == 0) {
		p[0] = enc;
		lens[0] = enclen;
		err = baton_token_seal(&text, key, p, lens, 1);
	}
	keystore_unlock();
	if (err == BATON_ETOOBIG || err == BATON_EINVAL) {
		req_error(r, BATON_WIRE_EBADREQ, "the call token cannot be "
		    "encoded (payload at most %d bytes)", BATON_MAX_PAYLOAD);
		goto out;
	}
	if (err != 0) {
		req_error(r, BATON_WIRE_EINTERNAL, "cannot seal the call "
		    "token: %s", baton_strerror(err));
		goto out;
	}
	req_begin(r);
	msgpack_pack_map(&r->pk, 3);
	baton_pack_str(&r->pk, "token");
	baton_pack_str(&r->pk, text);
	baton_pack_str(&r->pk, "jti");
	baton_pack_bin(&r->pk, call.jti, BATON_JTI_LEN);
	baton_pack_str(&r->pk, "exp");
	msgpack_pack_uint64(&r->pk, call.exp);
	rc = 0;
out:
	if (text != NULL) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	free(enc);
	sodium_memzero(&lin, sizeof lin);
	baton_arena_free(a);
	return (rc);
}

const struct op_entry op_present_entry = {
	BATON_OP_PRESENT, "present", 0, op_present
};
