/* op-inspect.c: the whole chain of a token, for people and audits. */

#include <stdlib.h>
#include <string.h>

#include "batond.h"

static void
pack_block(msgpack_packer *pk, const struct baton_block *blk, size_t i)
{
	size_t	n;

	n = 6 + (i == 0 ? 3 : 1) + (blk->holder != NULL) +
	    (blk->has_aud != 0) + (blk->has_grants != 0) +
	    (blk->has_max_depth != 0) + (blk->origin != NULL);
	msgpack_pack_map(pk, n);
	baton_pack_str(pk, "jti");
	baton_pack_bin(pk, blk->jti, BATON_JTI_LEN);
	baton_pack_str(pk, "kind");
	baton_pack_str(pk, i == 0 ? (blk->seal != NULL ? "call" : "root") :
	    blk->kind == BATON_BLOCK_PRESENT ? "present" : "attenuate");
	baton_pack_str(pk, "iat");
	msgpack_pack_uint64(pk, blk->iat);
	baton_pack_str(pk, "exp");
	msgpack_pack_uint64(pk, blk->exp);
	baton_pack_str(pk, "single_use");
	baton_pack_bool(pk, blk->single_use);
	baton_pack_str(pk, "ctx");
	pack_ctx(pk, blk->ctx, blk->nctx);
	if (i == 0) {
		baton_pack_str(pk, "nbf");
		msgpack_pack_uint64(pk, blk->nbf);
		baton_pack_str(pk, "iss");
		baton_pack_str(pk, blk->iss != NULL ? blk->iss : "");
		baton_pack_str(pk, "sub");
		baton_pack_str(pk, blk->sub != NULL ? blk->sub : "");
	} else {
		baton_pack_str(pk, "delegator");
		baton_pack_str(pk, blk->delegator != NULL ? blk->delegator : "");
	}
	if (blk->holder != NULL) {
		baton_pack_str(pk, "holder");
		baton_pack_str(pk, blk->holder);
	}
	if (blk->has_aud) {
		baton_pack_str(pk, "aud");
		pack_strs(pk, blk->aud, blk->naud);
	}
	if (blk->has_grants) {
		baton_pack_str(pk, "grants");
		pack_grants(pk, &blk->grants);
	}
	if (blk->has_max_depth) {
		baton_pack_str(pk, "max_depth");
		msgpack_pack_uint64(pk, blk->max_depth);
	}
	if (blk->origin != NULL) {
		baton_pack_str(pk, "origin");
		baton_pack_bin(pk, blk->origin, BATON_KID_LEN);
	}
}

static int
op_inspect(struct request *r)
{
	struct body			 b;
	struct baton_token		 tok;
	const struct baton_keyring	*ring;
	char				*cause = NULL;
	enum baton_reason		 why, dwhy;
	size_t				 i;
	int				 rc = -1, revoked = 0;

	memset(&tok, 0, sizeof tok);
	if (body_parse(&b, &r->body, &cause) != 0) {
		req_error(r, BATON_WIRE_EBADREQ, "%s", cause);
		goto out;
	}
	if (b.token == NULL) {
		req_error(r, BATON_WIRE_EBADREQ, "token is required");
		goto out;
	}
	ring = keystore_lock();
	why = baton_token_open(&tok, b.token, b.tokenlen, ring,
	    BATON_CHECK_TAG);
	keystore_unlock();
	dwhy = why;
	if (why != BATON_R_OK) {
		/* Show what it claims, clearly marked as unverified. */
		baton_token_free(&tok);
		memset(&tok, 0, sizeof tok);
		dwhy = baton_token_open_unchecked(&tok, b.token, b.tokenlen);
	}
	/*
	 * Revocation is looked up only for a token whose tag or signature
	 * held: answering for a forged one would let anyone ask whether a
	 * chosen jti is revoked.  A source that cannot tell shows as
	 * revoked, never as clean.
	 */
	if (why == BATON_R_OK)
		revoked = token_revoked(&tok) != 0;
	req_begin(r);
	msgpack_pack_map(&r->pk, dwhy != BATON_R_OK ? 4 :
	    why == BATON_R_OK ? 7 : 6);
	pack_reason(&r->pk, "verified", why);
	baton_pack_str(&r->pk, "chain");
	msgpack_pack_array(&r->pk, dwhy == BATON_R_OK ? tok.nblocks : 0);
	for (i = 0; dwhy == BATON_R_OK && i < tok.nblocks; i++)
		pack_block(&r->pk, &tok.blocks[i], i);
	if (dwhy == BATON_R_OK) {
		baton_pack_str(&r->pk, "kid");
		baton_pack_bin(&r->pk, tok.env.kid, BATON_KID_LEN);
		baton_pack_str(&r->pk, "root_kid");
		baton_pack_bin(&r->pk, baton_token_root_kid(&tok),
		    BATON_KID_LEN);
	}
	if (why == BATON_R_OK) {
		baton_pack_str(&r->pk, "revoked");
		baton_pack_bool(&r->pk, revoked);
	}
	rc = 0;
out:
	free(cause);
	baton_token_free(&tok);
	body_free(&b);
	return (rc);
}

const struct op_entry op_inspect_entry = {
	BATON_OP_INSPECT, "inspect", 0, op_inspect
};
