/*
 * request.c: steps shared by several operations: reading the caller's
 * token, turning the caller's kernel identity into an agent id, and
 * writing a child block (attenuate and present).
 */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "batond.h"

/* Open a token from the request against the keyring (held by the caller). */
int
token_read(struct request *r, const struct body *b, struct baton_token *tok)
{
	const struct baton_keyring	*ring;
	enum baton_reason		 why;

	memset(tok, 0, sizeof *tok);
	if (b->token == NULL)
		return (req_error(r, BATON_WIRE_EBADREQ, "token is required"));
	ring = keystore_lock();
	why = baton_token_open(tok, b->token, b->tokenlen, ring,
	    BATON_CHECK_TAG);
	keystore_unlock();
	if (why != BATON_R_OK)
		return (req_deny(r, why));
	return (0);
}

int
token_read_cached(struct request *r, const struct body *b,
    struct tokref *ref)
{
	struct config	*cfg;
	unsigned	 cache;
	enum baton_reason why;

	memset(ref, 0, offsetof(struct tokref, own));
	if (b->token == NULL)
		return (req_error(r, BATON_WIRE_EBADREQ, "token is required"));
	cfg = broker_config();
	cache = cfg->token_cache;
	broker_config_release();
	if ((why = tokcache_open(ref, b->token, b->tokenlen, cache)) !=
	    BATON_R_OK)
		return (req_deny(r, why));
	return (0);
}

/*
 * The agent id the caller acts as: "as" if its identity may act as that
 * agent, else the first agent it maps to.  Never trusted from the request
 * alone.
 */
int
identity_resolve(struct request *r, const char *as, char *buf, size_t len)
{
	struct config	*cfg;
	int		 rc;

	cfg = broker_config();
	if (as != NULL) {
		rc = broker.src->agent_allowed(cfg, r->peer, as);
		if (rc == 0 && strlen(as) >= len)
			rc = BATON_EDENIED;
		if (rc == 0)
			snprintf(buf, len, "%s", as);
	} else
		rc = broker.src->agent_default(cfg, r->peer, buf, len);
	broker_config_release();
	if (rc == BATON_EUNAVAIL)
		return (req_error(r, BATON_WIRE_EUNAVAIL, "agents source "
		    "unavailable"));
	if (rc != 0)
		return (req_deny(r, BATON_R_IDENTITY_DENIED));
	return (0);
}

/* The jtis of every block, for the revocation source. */
size_t
token_jtis(const struct baton_token *tok, uint8_t (*out)[BATON_JTI_LEN])
{
	size_t	i;

	for (i = 0; i < tok->nblocks; i++)
		memcpy(out[i], tok->blocks[i].jti, BATON_JTI_LEN);
	return (tok->nblocks);
}

int
token_revoked(const struct baton_token *tok)
{
	uint8_t	jtis[BATON_MAX_BLOCKS][BATON_JTI_LEN];
	size_t	n;

	n = token_jtis(tok, jtis);
	return (broker.src->revoked((const uint8_t (*)[BATON_JTI_LEN])jtis,
	    n));
}

static void
reply_token(struct request *r, const char *text, const uint8_t *jti,
    uint64_t exp)
{
	req_begin(r);
	msgpack_pack_map(&r->pk, 3);
	baton_pack_str(&r->pk, "token");
	baton_pack_str(&r->pk, text);
	baton_pack_str(&r->pk, "jti");
	baton_pack_bin(&r->pk, jti, BATON_JTI_LEN);
	baton_pack_str(&r->pk, "exp");
	msgpack_pack_uint64(&r->pk, exp);
}

/* Seal the encoded blocks and answer; the signer is taken here. */
int
issue_reply(struct request *r, const struct baton_token *parent,
    const struct baton_block *blk, uint64_t exp)
{
	const struct baton_keyring	*ring;
	const struct baton_key		*key;
	struct baton_block		 nb;
	const uint8_t			*p[1];
	size_t				 lens[1];
	uint8_t				*enc = NULL;
	size_t				 enclen;
	char				*text = NULL;
	int				 rc;

	ring = keystore_lock();
	if ((key = baton_keyring_signer(ring)) == NULL) {
		keystore_unlock();
		return (req_error(r, BATON_WIRE_EUNAVAIL, "no signing key"));
	}
	/*
	 * Extending re-signs the whole chain under the signing key.  When
	 * the parent was signed under another kid (another broker's, whose
	 * signature held, or a rotated-out key of ours) the new block names
	 * it, so every verifier can still require that key's trust
	 * (doc/TOKEN.md, section 13).
	 */
	nb = *blk;
	nb.origin = parent != NULL && memcmp(parent->env.kid, key->kid,
	    BATON_KID_LEN) != 0 ? parent->env.kid : NULL;
	if (baton_block_encode(&nb, parent == NULL, &enc, &enclen) != 0) {
		keystore_unlock();
		return (req_error(r, BATON_WIRE_EBADREQ, "the block cannot be "
		    "encoded: names must be 1-255 bytes, actions lower case, "
		    "payload at most %d bytes, where operands at most %d, "
		    "a glob's '?' stretch at most %d", BATON_MAX_PAYLOAD,
		    BATON_MAX_PRED_BYTES, BATON_MAX_GLOB_WILD));
	}
	if (parent == NULL) {
		p[0] = enc;
		lens[0] = enclen;
		rc = baton_token_seal(&text, key, p, lens, 1);
	} else
		rc = baton_token_extend(&text, parent, key, enc, enclen);
	keystore_unlock();
	free(enc);
	if (rc == BATON_ETOOBIG)
		return (req_error(r, BATON_WIRE_EBADREQ, "token would be too "
		    "large"));
	if (rc != 0)
		return (req_error(r, BATON_WIRE_EINTERNAL, "cannot seal the "
		    "token: %s", baton_strerror(rc)));
	reply_token(r, text, blk->jti, exp);
	sodium_memzero(text, strlen(text));
	free(text);
	return (0);
}

/* attenuate and present: append one block to a checked parent. */
static int
issue_child_body(struct request *r, struct body *b, enum baton_block_kind kind)
{
	struct tokref		 ref;
	const struct baton_token *tok = NULL;
	struct baton_effective	 eff;
	struct baton_restrict	 rs;
	struct baton_block	 child;
	struct baton_toolgrant	 tg;
	struct decision		 d;
	char			 agent[256] = "", why_msg[256] = "";
	char			*cause = NULL;
	uint8_t			 jti[BATON_JTI_LEN];
	const char		*as = NULL;
	enum baton_reason	 why;
	int			 rc = -1, decoded = 0, restricted = 0;
	int			 built = 0, refused;
	uint64_t		 exp, t0 = clock_usec();

	memset(&ref, 0, offsetof(struct tokref, own));	/* released at out */
	memset(&rs, 0, sizeof rs);
	if ((b->minimal || b->ndisclose > 0) && kind != BATON_BLOCK_PRESENT) {
		req_error(r, BATON_WIRE_EBADREQ, "minimal and disclose are "
		    "for present only");
		goto out;
	}
	if (b->ndisclose > 0 && !b->minimal) {
		req_error(r, BATON_WIRE_EBADREQ, "disclose needs minimal: a "
		    "chained presentation shows the whole chain anyway");
		goto out;
	}
	if (token_read_cached(r, b, &ref) != 0)
		goto out;
	tok = ref.tok;
	decoded = 1;
	if ((why = baton_effective(tok, &eff)) != BATON_R_OK) {
		req_deny(r, why);
		goto out;
	}
	if ((rc = token_revoked(tok)) != 0) {
		req_deny(r, rc > 0 ? BATON_R_REVOKED : BATON_R_UNAVAILABLE);
		rc = -1;
		goto out;
	}
	rc = -1;
	/* A bound token is extended by its holder, as that holder. */
	as = b->as != NULL ? b->as : eff.holder;
	if (identity_resolve(r, as, agent, sizeof agent) != 0) {
		/* Logged as the agent asked for: that is what was refused. */
		if (as != NULL)
			snprintf(agent, sizeof agent, "%s", as);
		if (eff.holder != NULL && r->reason == BATON_R_IDENTITY_DENIED)
			req_deny(r, BATON_R_HOLDER_MISMATCH);
		goto out;
	}

	if ((refused = body_restriction(&rs, &tg, b, kind, &cause)) != 0) {
		if (refused == -1)
			req_error(r, BATON_WIRE_EBADREQ, "%s", cause);
		else
			req_deny(r, refused);
		goto out;
	}
	restricted = 1;
	/* Not child.jti: baton_attenuate clears the child before copying. */
	baton_jti_new(jti);
	why = baton_attenuate(tok, &rs, agent, jti, r->now, &child);
	if (why != BATON_R_OK) {
		req_deny(r, why);
		goto out;
	}
	built = 1;
	memset(&d, 0, sizeof d);
	d.service = "issue";
	d.op = (int)r->op;
	d.peer = r->peer;
	d.agent = agent;
	d.tok = tok;
	d.block = &child;
	d.restriction = &rs;
	d.ttl = rs.ttl;
	d.eff = &eff;
	d.why = why_msg;
	d.whylen = sizeof why_msg;
	if (kind == BATON_BLOCK_PRESENT) {
		d.tool = b->tool;
		d.action = b->action;
		d.aud1 = b->aud1;
	}
	if ((why = authorize(&d)) != BATON_R_OK) {
		req_deny_msg(r, why, why_msg);
		goto out;
	}
	exp = child.exp < eff.exp ? child.exp : eff.exp;
	if (b->minimal) {
		if (issue_call(r, tok, &eff, &child, b, agent) != 0)
			goto out;
	} else if (issue_reply(r, tok, &child, exp) != 0)
		goto out;
	rc = 0;
out:
	/* Audited allowed or refused, as verify is; see op_mint. */
	if ((rc == 0 && r->status == BATON_WIRE_OK) ||
	    r->status == BATON_WIRE_EDENIED) {
		memset(&d, 0, sizeof d);
		d.service = "issue";
		d.op = (int)r->op;
		d.peer = r->peer;
		d.agent = agent[0] != '\0' ? agent : NULL;
		d.tok = decoded ? tok : NULL;
		d.block = built ? &child : NULL;
		d.restriction = restricted ? &rs : NULL;
		d.ttl = rs.ttl;
		if (kind == BATON_BLOCK_PRESENT) {
			d.tool = b->tool;
			d.action = b->action;
			d.aud1 = b->aud1;
		}
		d.jti = rc == 0 ? child.jti : NULL;
		d.reason = rc == 0 ? BATON_R_OK : r->reason;
		d.why = why_msg;
		d.usec = clock_usec() - t0;
		observe(&d);
	}
	free(cause);
	/* child and eff point into the token's arena: last */
	tokcache_release(&ref);
	return (rc);
}

/* The whole of attenuate and present, but for the kind of block. */
int
issue_child(struct request *r, enum baton_block_kind kind)
{
	struct body	 b;
	char		*cause = NULL;
	int		 rc;

	if (body_parse(&b, &r->body, &cause) != 0) {
		req_error(r, BATON_WIRE_EBADREQ, "%s", cause);
		free(cause);
		body_free(&b);
		return (-1);
	}
	rc = issue_child_body(r, &b, kind);
	body_free(&b);
	return (rc);
}
