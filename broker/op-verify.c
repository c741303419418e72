/*
 * op-verify.c: the decision a tool server asks for on every call.  The
 * order is fixed (DESIGN.md section 3): envelope, tag or signature, strict
 * decode (all in baton_token_open), time, chain rules and request binding
 * (baton_evaluate), revocation, the authorize stack, consumption of
 * single-use jtis, then the decision observers.
 *
 * With "explain" set (baton explain) the same decision runs as a dry run:
 * nothing is consumed, no observer sees it, and the answer carries one
 * line per core check and per stack line.  The verifying agent may ask
 * for its audience, and root and the admin group for any.
 */

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "batond.h"

/*
 * A call token's sealed lineage: it must open with the key that signed
 * the token, and no ancestor may be revoked.
 */
static int
lineage_check(const struct baton_token *tok, struct baton_lineage *lin)
{
	const struct baton_keyring	*ring;
	const struct baton_block	*b = &tok->blocks[0];
	int				 why, rv;

	ring = keystore_lock();
	why = baton_lineage_open(lin, baton_keyring_find(ring, tok->env.kid),
	    b->jti, b->seal, b->seallen);
	keystore_unlock();
	if (why != BATON_R_OK)
		return (why);
	rv = broker.src->revoked((const uint8_t (*)[BATON_JTI_LEN])lin->jti,
	    lin->n);
	if (rv != 0)
		return (rv > 0 ? BATON_R_REVOKED : BATON_R_UNAVAILABLE);
	return (BATON_R_OK);
}

/*
 * Spend every single-use jti in the chain, and of a call token's lineage,
 * atomically, or none.  The answer waits for the records to be on disk
 * (r->ticket).  -1 when the caller is over its journal-max-per-uid: an
 * error is set, not a reason.
 */
static int
consume(struct request *r, const struct baton_token *tok,
    const struct baton_effective *eff, const struct baton_lineage *lin)
{
	uint8_t		 jtis[2 * BATON_MAX_BLOCKS][BATON_JTI_LEN];
	uint64_t	 exps[2 * BATON_MAX_BLOCKS];
	struct config	*cfg;
	struct writer	 who;
	char		*cause = NULL;
	size_t		 i, k, n;
	int		 rc, admin;

	for (i = 0; i < eff->nsingle_use; i++) {
		memcpy(jtis[i], eff->single_use[i], BATON_JTI_LEN);
		/* Remember it as long as a token holding it can verify. */
		exps[i] = eff->exp + BATOND_LEEWAY;
		for (k = 0; k < tok->nblocks; k++)
			if (memcmp(tok->blocks[k].jti, jtis[i],
			    BATON_JTI_LEN) == 0)
				exps[i] = tok->blocks[k].exp + BATOND_LEEWAY;
	}
	n = eff->nsingle_use;
	for (i = 0; lin != NULL && i < lin->n; i++) {
		if (!lin->single_use[i])
			continue;
		memcpy(jtis[n], lin->jti[i], BATON_JTI_LEN);
		exps[n++] = lin->exp[i] + BATOND_LEEWAY;
	}
	cfg = broker_config();
	who.uid = r->peer->uid;
	admin = broker_is_admin(cfg, r->peer);
	who.cap = admin ? 0 : cfg->journal_per_uid;
	broker_config_release();
	/*
	 * Spending grows the journal and costs a share of a sync: bounded
	 * with signing, not with verifies.  Root and the admin group, who
	 * have no journal cap either, are not charged.
	 */
	if (!admin && rate_charge(r, RATE_COSTLY) != 0)
		return (-1);
	/* A call token's jtis live with those of the token it came from. */
	rc = broker.src->consume((const uint8_t (*)[BATON_JTI_LEN])jtis, exps,
	    n, lin != NULL ? lin->jti[0] : tok->blocks[0].jti, &who,
	    &r->ticket, &cause);
	if (rc == BATON_EDENIED)
		return (BATON_R_REPLAYED);
	if (rc == BATON_ETOOBIG) {
		req_error(r, BATON_WIRE_ERATELIMIT, "single-use token not "
		    "spent: %s", cause);
		free(cause);
		return (-1);
	}
	if (rc != 0) {
		log_warnx("single-use state: %s", cause != NULL ? cause : "?");
		free(cause);
		return (BATON_R_UNAVAILABLE);	/* fail closed */
	}
	return (BATON_R_OK);
}

/*
 * The core checks in their fixed order, each with the reasons it gives:
 * explain prints one line per check up to the one that refused.
 */
struct core_check {
	const char	*name;
	int		 reasons[8];	/* ended by 0 */
};

static const struct core_check open_checks[] = {
	{ "size, text and envelope", { BATON_R_TOO_LARGE, BATON_R_BAD_PREFIX,
	    BATON_R_BAD_BASE64, BATON_R_MALFORMED, BATON_R_TRAILING_BYTES,
	    BATON_R_UNKNOWN_FORMAT, BATON_R_CHAIN_TOO_LONG, 0 } },
	{ "trusted key", { BATON_R_UNKNOWN_KEY, 0 } },
	{ "tag or signature", { BATON_R_BAD_SIGNATURE, 0 } },
	{ "strict decoding", { BATON_R_BAD_PAYLOAD, BATON_R_UNKNOWN_VERSION,
	    BATON_R_UNKNOWN_CRITICAL, 0 } },
	{ NULL, { 0 } }
};

static const struct core_check eval_checks[] = {
	{ "chain shape", { BATON_R_BAD_CHAIN, 0 } },
	{ "time", { BATON_R_NOT_YET_VALID, BATON_R_EXPIRED, 0 } },
	{ "key retirement", { BATON_R_KEY_RETIRED, 0 } },
	{ "depth", { BATON_R_DEPTH_EXCEEDED, 0 } },
	{ "presentation and holder", { BATON_R_NOT_PRESENTED,
	    BATON_R_HOLDER_MISMATCH, 0 } },
	{ "tool", { BATON_R_TOOL_NOT_GRANTED, 0 } },
	{ "action", { BATON_R_ACTION_NOT_GRANTED, 0 } },
	{ "audience", { BATON_R_AUDIENCE_MISMATCH, 0 } },
	{ "arguments", { BATON_R_ARGUMENT_REJECTED, 0 } },
	{ "usage limits", { BATON_R_LIMIT_EXCEEDED, 0 } },
	{ NULL, { 0 } }
};

static void
trace_core(struct trace *t, const struct core_check *c, int why)
{
	size_t	i, k, f;

	if (t == NULL)
		return;
	/* the checks run in order and stop at the first refusal */
	for (f = 0; why != BATON_R_OK && c[f].name != NULL; f++) {
		for (k = 0; c[f].reasons[k] != 0; k++)
			if (c[f].reasons[k] == why)
				break;
		if (c[f].reasons[k] == why)
			break;
	}
	for (i = 0; c[i].name != NULL && (why == BATON_R_OK || i < f); i++)
		trace_add(t, "core: %s: ok", c[i].name);
	if (why == BATON_R_OK)
		return;
	if (c[f].name != NULL)
		trace_add(t, "core: %s: %s", c[f].name, baton_reason_name(why));
	else	/* a reason no check names (out of memory): plainly */
		trace_add(t, "core: %s", baton_reason_name(why));
}

static int
op_verify(struct request *r)
{
	struct body		 b;
	struct tokref		 ref;
	const struct baton_token *tok = NULL;
	struct baton_effective	 eff, feff;
	struct baton_tool_facts	 tf, ftf;
	struct baton_request	 q;
	struct baton_lineage	 lin;
	struct decision		 d;
	struct config		*cfg;
	char			*cause = NULL, why_msg[256] = "";
	struct trace		 tr = { NULL, 0 }, *t = NULL;
	size_t			 i;
	uint64_t		 t0 = clock_usec();
	const struct baton_effective *fe = NULL;
	const struct baton_tool_facts *ft = NULL;
	int			 why, decoded = 0, evaluated = 0, lin_open = 0;
	int			 allowed, rv, rc = -1, sealed = 0, opened = 0;
	unsigned		 cache;

	lin.n = 0;	/* the rest only once a seal is opened into it */
	if (body_parse(&b, &r->body, &cause) != 0) {
		req_error(r, BATON_WIRE_EBADREQ, "%s", cause);
		goto out;
	}
	if (b.token == NULL || b.tool == NULL) {
		req_error(r, BATON_WIRE_EBADREQ, "verify needs token and tool");
		goto out;
	}
	if (b.has_aud) {
		/* A list here would silently mean "no audience". */
		req_error(r, BATON_WIRE_EBADREQ, "aud: one string (the "
		    "caller's own service)");
		goto out;
	}
	cfg = broker_config();
	allowed = broker.src->verify_allowed(cfg, r->peer, b.aud1);
	if (b.explain && allowed != 0 && broker_is_admin(cfg, r->peer))
		allowed = 0;
	cache = cfg->token_cache;
	broker_config_release();
	if (b.explain)
		t = &tr;
	if (allowed == BATON_EUNAVAIL) {
		req_error(r, BATON_WIRE_EUNAVAIL, "agents source unavailable");
		goto out;
	}
	if (allowed != 0) {
		req_error(r, BATON_WIRE_EPERM, "uid %u may not verify%s%s",
		    (unsigned)r->peer->uid, b.aud1 != NULL ? " for " : "",
		    b.aud1 != NULL ? b.aud1 : "");
		goto out;
	}

	/*
	 * Opened by this worker before, under the same keyring: the cache
	 * skips the envelope, the tag and the decode, and nothing else.
	 */
	why = tokcache_open(&ref, b.token, b.tokenlen, cache);
	tok = ref.tok;
	opened = 1;
	trace_core(t, open_checks, why);
	if (why == BATON_R_OK) {
		decoded = 1;
		memset(&q, 0, sizeof q);
		q.tool = b.tool;
		q.action = b.action;
		q.audience = b.aud1;
		q.args = b.args;
		q.nargs = b.nargs;
		q.usage = b.usage;
		q.nusage = b.nusage;
		q.now = r->now;
		q.leeway = 0;	/* our own clock wrote the times */
		why = baton_evaluate(tok, &q, &eff, &tf);
		evaluated = why == BATON_R_OK;
		trace_core(t, eval_checks, why);
	}
	if (why == BATON_R_OK) {
		if ((rv = token_revoked(tok)) != 0)
			why = rv > 0 ? BATON_R_REVOKED : BATON_R_UNAVAILABLE;
		trace_add(t, "core: revocation: %s", baton_reason_name(why));
	}
	if (why == BATON_R_OK && tok->blocks[0].seal != NULL) {
		memset(&lin, 0, sizeof lin);
		lin_open = 1;
		why = lineage_check(tok, &lin);
		sealed = lin.n > 0;	/* opened: audit sees it either way */
		trace_add(t, "core: sealed call token's lineage: %s",
		    baton_reason_name(why));
	}
	memset(&d, 0, sizeof d);
	d.service = b.aud1 != NULL ? b.aud1 : "default";
	d.op = BATON_OP_VERIFY;
	d.peer = r->peer;
	d.tok = decoded ? tok : NULL;
	d.req = decoded ? &q : NULL;
	d.lineage = sealed ? &lin : NULL;
	d.eff = evaluated ? &eff : NULL;
	d.tf = evaluated ? &tf : NULL;
	d.why = why_msg;
	d.whylen = sizeof why_msg;
	d.trace = t;
	d.dry_run = b.explain;
	if (why == BATON_R_OK)
		why = authorize(&d);
	else
		trace_add(t, "stack: not run: a core check refused");
	if (why == BATON_R_OK && eff.nsingle_use > 0) {
		if (b.explain)
			trace_add(t, "single-use: %zu block(s) would be spent "
			    "(not by explain)", eff.nsingle_use);
		else if ((why = consume(r, tok, &eff, sealed ? &lin :
		    NULL)) == -1)
			goto out;
	}
	trace_add(t, "decision: %s (%s)%s%s", why == BATON_R_OK ? "allow" :
	    "deny", baton_reason_name(why), why_msg[0] != '\0' ? ": " : "",
	    why_msg);

	/*
	 * Facts describe the token whatever the answer, once it decoded.
	 * When the evaluation went through, it already computed exactly
	 * these (baton_effective, then baton_tool_facts for this tool):
	 * reuse them rather than walk the chain twice per allowed verify.
	 */
	if (evaluated) {
		fe = &eff;
		ft = &tf;
	} else if (decoded && baton_effective(tok, &feff) == BATON_R_OK) {
		fe = &feff;
		if (baton_tool_facts(tok, b.tool, &ftf) == BATON_R_OK)
			ft = &ftf;
	} else
		decoded = 0;
	req_begin(r);
	pack_verify_answer(&r->pk, why, why_msg[0] != '\0' ? why_msg : NULL,
	    decoded ? tok : NULL, fe, ft, t != NULL);
	if (t != NULL) {
		baton_pack_str(&r->pk, "explain");
		msgpack_pack_array(&r->pk, tr.n);
		for (i = 0; i < tr.n; i++)
			baton_pack_str(&r->pk, tr.lines[i]);
	}
	d.reason = why;
	d.usec = clock_usec() - t0;
	if (!b.explain)		/* no audit record, no metrics */
		observe(&d);
	rc = 0;
out:
	if (lin_open)	/* a call token's ancestors */
		sodium_memzero(&lin, sizeof lin);
	trace_free(&tr);
	free(cause);
	if (opened)	/* after the last use of what evaluate put in it */
		tokcache_release(&ref);
	body_free(&b);
	return (rc);
}

const struct op_entry op_verify_entry = {
	BATON_OP_VERIFY, "verify", 0, op_verify
};
