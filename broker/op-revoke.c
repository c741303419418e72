/*
 * op-revoke.c: revoke one block's jti, and with it every token holding
 * that block.  Durable before the answer.
 *
 * Who may revoke what (admins: anything, and only admins a bare jti):
 * holding a token proves only that the caller may use it, so on its own
 * it allows revoking the token's last block, which kills this token and
 * its descendants and nothing else.  An earlier block i is shared with
 * siblings (block 0 is the orchestrator's whole tree), so revoking it
 * takes a caller whose kernel-attested identity may act as the iss or as
 * the delegator of some block j <= i: someone who wrote that branch.
 *
 * A jti already revoked for as long is answered at once, without a new
 * record; others count against the caller's journal-max-per-uid.
 */

#include <stdlib.h>
#include <string.h>

#include "batond.h"

/* 0 if this peer may revoke block idx of tok, else an error answered. */
static int
may_revoke(struct request *r, const struct baton_token *tok, size_t idx)
{
	struct config	*cfg;
	const char	*who;
	size_t		 j;
	int		 rc = BATON_EDENIED;

	if (idx == tok->nblocks - 1)
		return (0);
	cfg = broker_config();
	for (j = 0; j <= idx && rc == BATON_EDENIED; j++) {
		who = j == 0 ? tok->blocks[0].iss : tok->blocks[j].delegator;
		if (who != NULL)
			rc = broker.src->agent_allowed(cfg, r->peer, who);
	}
	broker_config_release();
	if (rc == 0)
		return (0);
	if (rc == BATON_EUNAVAIL)
		return (req_error(r, BATON_WIRE_EUNAVAIL, "agents source "
		    "unavailable"));
	return (req_error(r, BATON_WIRE_EPERM, "revoking block %zu of %zu "
	    "needs root, the admin group, or an identity that may act as "
	    "the issuer or a delegator of block 0 to %zu; any holder may "
	    "revoke the last block", idx, tok->nblocks, idx));
}

static int
op_revoke(struct request *r)
{
	struct body		 b;
	struct baton_token	 tok;
	struct config		*cfg;
	struct writer		 who;
	const uint8_t		*jti;
	uint8_t			 buf[BATON_JTI_LEN];
	char			*cause = NULL;
	uint64_t		 exp;
	size_t			 idx;
	int			 admin, rc = -1, err;

	memset(&tok, 0, sizeof tok);
	if (body_parse(&b, &r->body, &cause) != 0) {
		req_error(r, BATON_WIRE_EBADREQ, "%s", cause);
		goto out;
	}
	cfg = broker_config();
	admin = broker_is_admin(cfg, r->peer);
	who.uid = r->peer->uid;
	who.cap = admin ? 0 : cfg->journal_per_uid;
	broker_config_release();
	if (b.token != NULL) {
		/* Expired tokens may be revoked too: no time check here. */
		if (token_read(r, &b, &tok) != 0)
			goto out;
		idx = b.has_block ? (size_t)b.block : tok.nblocks - 1;
		if (!b.has_block || b.block < tok.nblocks) {
			if (!admin && may_revoke(r, &tok, idx) != 0)
				goto out;
			memcpy(buf, tok.blocks[idx].jti, BATON_JTI_LEN);
			jti = buf;
			/* Descendants of a block never outlive it. */
			exp = tok.blocks[idx].exp + BATOND_LEEWAY;
		} else {
			req_error(r, BATON_WIRE_EBADREQ, "block %llu: the "
			    "token has %zu blocks", (unsigned long long)b.block,
			    tok.nblocks);
			goto out;
		}
	} else if (b.jti != NULL) {
		if (!admin) {
			req_error(r, BATON_WIRE_EPERM, "revoking a bare jti "
			    "needs root or the admin group; send the token");
			goto out;
		}
		jti = b.jti;
		/*
		 * Unknown lifetime.  Not now + max-ttl: a token minted before
		 * max-ttl was lowered (by reload or restart) could outlive
		 * that, and a forgotten revocation would bring it back.  No
		 * token outlives the highest max-ttl the broker accepts, and
		 * bare-jti revocations are rare admin acts, cheap to keep.
		 */
		exp = r->now + BATOND_MAX_TTL_CEILING + BATOND_LEEWAY;
	} else {
		req_error(r, BATON_WIRE_EBADREQ, "revoke needs jti or token");
		goto out;
	}
	err = broker.src->revoke(jti, exp, &who, &r->ticket, &cause);
	if (err == BATON_ETOOBIG) {
		req_error(r, BATON_WIRE_ERATELIMIT, "revocation not recorded: "
		    "%s", cause != NULL ? cause : baton_strerror(err));
		goto out;
	}
	if (err != 0) {
		req_error(r, BATON_WIRE_EUNAVAIL, "revocation not recorded: %s",
		    cause != NULL ? cause : baton_strerror(err));
		goto out;
	}
	metrics_count("revoked");
	req_begin(r);
	msgpack_pack_map(&r->pk, 1);
	baton_pack_str(&r->pk, "revoked");
	msgpack_pack_array(&r->pk, 1);
	baton_pack_bin(&r->pk, jti, BATON_JTI_LEN);
	rc = 0;
out:
	free(cause);
	baton_token_free(&tok);
	body_free(&b);
	return (rc);
}

const struct op_entry op_revoke_entry = {
	BATON_OP_REVOKE, "revoke", 0, op_revoke
};
