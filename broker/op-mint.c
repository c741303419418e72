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
	char			*cause = NULL, iss[256] = "";
	uint64_t		 ttl = 0, max_ttl, start, t0 = clock_usec();
	int			 why, built = 0, rc = -1;

	memset(&blk, 0, sizeof blk);
	if (body_parse(&b, &r->body, &cause) != 0) {
		req_error(r, BATON_WIRE_EBADREQ, "%s", cause);
		goto out;
	}
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
	ttl = b.has_ttl ? b.ttl : BATOND_DEFAULT_TTL;
	if (ttl == 0) {
		req_error(r, BATON_WIRE_EBADREQ, "ttl must be positive");
		goto out;
	}
	if (ttl > max_ttl) {
		/* Refused, never clamped: the caller learns the cap. */
		req_deny(r, BATON_R_TTL_TOO_LONG);
		goto out;
	}
	if (b.has_max_depth && b.max_depth > BATON_MAX_BLOCKS - 1) {
		req_error(r, BATON_WIRE_EBADREQ, "max_depth is at most %d",
		    BATON_MAX_BLOCKS - 1);
		goto out;
	}
	/*
	 * No token may outlive now + max-ttl: key retirement after rotate
	 * relies on it.  A future nbf
	 * therefore uses up part of the ttl allowance (ttl <= max_ttl above,
	 * so the subtraction cannot wrap).
	 */
	start = b.has_nbf && b.nbf > r->now ? b.nbf : r->now;
	if (start - r->now > max_ttl - ttl) {
		req_error(r, BATON_WIRE_EBADREQ, "nbf too far in the future: "
		    "the token must expire within max-ttl (%llu s) of now",
		    (unsigned long long)max_ttl);
		goto out;
	}

	blk.version = BATON_VERSION;
	randombytes_buf(blk.jti, sizeof blk.jti);
	blk.iat = r->now;
	blk.nbf = start;
	blk.exp = start + ttl;
	blk.iss = iss;
	blk.sub = b.sub != NULL ? b.sub : iss;
	if (b.aud1 != NULL) {
		blk.has_aud = 1;
		blk.aud = &b.aud1;
		blk.naud = 1;
	} else if (b.has_aud) {
		blk.has_aud = 1;
		blk.aud = b.aud;
		blk.naud = b.naud;
	}
	blk.has_grants = 1;
	blk.grants = b.grants;
	blk.has_max_depth = 1;
	blk.max_depth = b.has_max_depth ? b.max_depth : BATOND_DEFAULT_DEPTH;
	blk.single_use = b.single_use;
	blk.holder = b.holder;
	blk.ctx = b.ctx;
	blk.nctx = b.nctx;
	blk.kind = BATON_BLOCK_ATTENUATE;
	built = 1;

	memset(&d, 0, sizeof d);
	d.service = "issue";
	d.op = BATON_OP_MINT;
	d.peer = r->peer;
	d.agent = iss;
	d.block = &blk;
	d.ttl = ttl;
	if ((why = authorize(&d)) != BATON_R_OK) {
		req_deny(r, why);
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
