/* op-mint.c: a new token, block 0, issued as a checked agent. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "batond.h"

static int
op_mint(struct request *r)
{
	struct body		 b;
	struct baton_block	 blk;
	struct config		*cfg;
	struct decision		 d;
	char			*cause = NULL, iss[256] = "", why_msg[256] = "";
	uint64_t		 ttl = 0, max_ttl, t0 = clock_usec();
	int			 why, built = 0, rc = -1;

	memset(&blk, 0, sizeof blk);
	if (body_parse(&b, &r->body, &cause) != 0) {
		req_error(r, BATON_WIRE_EBADREQ, "%s", cause);
		goto out;
	}
	/* Before the identity, so a request without grants is no decision. */
	if (!b.has_grants) {
		req_error(r, BATON_WIRE_EBADREQ, "grants is required");
		goto out;
	}
	if (identity_resolve(r, b.as, iss, sizeof iss) != 0) {
		/* Logged as the agent asked for: that is what was refused. */
		if (b.as != NULL)
			snprintf(iss, sizeof iss, "%s", b.as);
		goto out;
	}
	cfg = broker_config();
	max_ttl = cfg->max_ttl;
	broker_config_release();
	if ((why = body_root_block(&blk, &ttl, &b, iss, r->now, max_ttl,
	    &cause)) != 0) {
		if (why == -1)
			req_error(r, BATON_WIRE_EBADREQ, "%s", cause);
		else
			req_deny(r, why);
		goto out;
	}
	baton_jti_new(blk.jti);
	built = 1;

	memset(&d, 0, sizeof d);
	d.service = "issue";
	d.op = BATON_OP_MINT;
	d.peer = r->peer;
	d.agent = iss;
	d.block = &blk;
	d.ttl = ttl;
	d.why = why_msg;
	d.whylen = sizeof why_msg;
	if ((why = authorize(&d)) != BATON_R_OK) {
		req_deny_msg(r, why, why_msg);
		goto out;
	}
	if (issue_reply(r, NULL, &blk, blk.exp) != 0)
		goto out;
	rc = 0;
out:
	/*
	 * Issuance is audited like verify, allowed or refused: a denied
	 * request is a decision too.  Malformed requests are not decisions.
	 */
	if ((rc == 0 && r->status == BATON_WIRE_OK) ||
	    r->status == BATON_WIRE_EDENIED) {
		memset(&d, 0, sizeof d);
		d.service = "issue";
		d.op = BATON_OP_MINT;
		d.peer = r->peer;
		d.agent = iss[0] != '\0' ? iss : NULL;
		d.block = built ? &blk : NULL;
		d.ttl = ttl;
		d.jti = rc == 0 ? blk.jti : NULL;
		d.reason = rc == 0 ? BATON_R_OK : r->reason;
		d.why = why_msg;
		d.usec = clock_usec() - t0;
		observe(&d);
	}
	free(cause);
	body_free(&b);
	return (rc);
}

const struct op_entry op_mint_entry = {
	BATON_OP_MINT, "mint", 0, op_mint
};
