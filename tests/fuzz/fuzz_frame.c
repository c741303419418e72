/* fuzz_frame.c: a request frame as batond reads it: head, body, op steps. */

#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "batond.h"
#include "fuzz.h"

/* body_parse must accept what pack_grants writes, as the same grants. */
static void
grants_roundtrip(const struct baton_grants *g)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	struct mpr	 r;
	struct body	 b2;
	char		*cause = NULL;
	int		 rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	baton_pack_str(&pk, "grants");
	pack_grants(&pk, g);
	mpr_init(&r, sb.data, sb.size);
	rc = body_parse(&b2, &r, &cause);
	if (rc != 0)
		fprintf(stderr, "grants roundtrip: %s\n", cause);
	FUZZ_ASSERT(rc == 0);
	FUZZ_ASSERT(b2.has_grants && b2.grants.wildcard == g->wildcard &&
	    b2.grants.ntools == g->ntools);
	body_free(&b2);
	free(cause);
	msgpack_sbuffer_destroy(&sb);
}

/* Grants that went through encode and decode are the grants given. */
static void
same_grants(const struct baton_grants *a, const struct baton_grants *b)
{
	size_t	i;

	FUZZ_ASSERT(a->wildcard == b->wildcard && a->ntools == b->ntools);
	for (i = 0; i < a->ntools; i++) {
		FUZZ_ASSERT(strcmp(a->tools[i].tool, b->tools[i].tool) == 0);
		FUZZ_ASSERT(a->tools[i].nactions == b->tools[i].nactions);
		FUZZ_ASSERT(a->tools[i].nlimits == b->tools[i].nlimits);
		FUZZ_ASSERT(a->tools[i].nwhere == b->tools[i].nwhere);
	}
}

/* What mint does with a body: the root block, encoded and sealed. */
static void
mint(struct body *b)
{
	struct baton_block	 blk;
	struct baton_token	 tok;
	uint8_t			*enc = NULL;
	const uint8_t		*p[1];
	size_t			 len;
	uint64_t		 ttl;
	char			*cause = NULL, *text = NULL;

	/* The highest max-ttl a configuration may set: the widest check. */
	if (body_root_block(&blk, &ttl, b, b->as != NULL ? b->as : "fuzz",
	    1800000000, BATOND_MAX_TTL_CEILING, &cause) != 0)
		goto out;
	memset(blk.jti, 0xaa, sizeof blk.jti);
	if (baton_block_encode(&blk, 1, &enc, &len) != 0)
		goto out;
	p[0] = enc;
	if (baton_token_seal(&text, fuzz_signer(), p, &len, 1) == 0) {
		FUZZ_ASSERT(baton_token_open(&tok, text, strlen(text),
		    fuzz_keyring(), BATON_CHECK_TAG) == BATON_R_OK);
		same_grants(&tok.blocks[0].grants, &blk.grants);
		fuzz_exercise_token(&tok);
		baton_token_free(&tok);
	}
out:
	free(cause);
	free(text);
	free(enc);
}

/* What attenuate and present do with a body and its (opened) token. */
static void
child_of(const struct baton_token *tok, struct body *b,
    enum baton_block_kind kind)
{
	struct baton_effective	 eff;
	struct baton_restrict	 rs;
	struct baton_toolgrant	 tg;
	struct baton_block	 child;
	struct baton_token	 t2;
	uint8_t			 jti[BATON_JTI_LEN], *enc = NULL;
	size_t			 len;
	char			*cause = NULL, *text = NULL;
	const char		*as;

	if (baton_effective(tok, &eff) != BATON_R_OK)
		return;
	as = b->as != NULL ? b->as : eff.holder != NULL ? eff.holder : "fuzz";
	if (body_restriction(&rs, &tg, b, kind, &cause) != 0)
		goto out;
	memset(jti, 0xbb, sizeof jti);
	if (baton_attenuate(tok, &rs, as, jti, eff.nbf, &child) != BATON_R_OK)
		goto out;
	if (baton_block_encode(&child, 0, &enc, &len) != 0)
		goto out;
	if (baton_token_extend(&text, tok, fuzz_signer(), enc, len) == 0) {
		FUZZ_ASSERT(baton_token_open(&t2, text, strlen(text),
		    fuzz_keyring(), BATON_CHECK_TAG) == BATON_R_OK);
		/* a child the rules wrote passes them, and is narrower */
		fuzz_check_narrower(tok, &t2);
		baton_token_free(&t2);
	}
out:
	free(cause);
	free(text);
	free(enc);
}

/* What verify does: evaluate the body's request against its token. */
static void
verify(const struct baton_token *tok, struct body *b)
{
	struct baton_request	 q;
	struct baton_effective	 eff;
	struct baton_tool_facts	 tf;
	enum baton_reason	 why;

	if (b->tool == NULL || b->has_aud)
		return;
	memset(&q, 0, sizeof q);
	q.tool = b->tool;
	q.action = b->action;
	q.audience = b->aud1;
	q.args = b->args;
	q.nargs = b->nargs;
	q.usage = b->usage;
	q.nusage = b->nusage;
	q.now = tok->blocks[0].iat;
	why = baton_evaluate(tok, &q, &eff, &tf);
	(void)why;
	if (baton_effective(tok, &eff) == BATON_R_OK)
		why = baton_tool_facts(tok, b->tool, &tf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mpr		 r;
	struct body		 b;
	struct baton_token	 tok;
	uint32_t		 op, id;
	int			 status;
	char			*cause = NULL;

	/* the client side reads answers with the same reader */
	mpr_init(&r, data, size);
	if (baton_wire_read_response(&r, &op, &id, &status) == 0)
		FUZZ_ASSERT(mpr_peek(&r) == MPR_MAP);

	mpr_init(&r, data, size);
	if (baton_wire_read_request(&r, &op, &id) != 0)
		return (0);
	FUZZ_ASSERT(op >= 1 && op <= 127);
	if (body_parse(&b, &r, &cause) != 0) {
		FUZZ_ASSERT(cause != NULL);
		goto out;
	}
	FUZZ_ASSERT(cause == NULL);
	if (b.has_grants)
		grants_roundtrip(&b.grants);
	if (op == BATON_OP_MINT)
		mint(&b);
	if (b.token == NULL && op != BATON_OP_MINT) {
		/* the request id picks a built-in token */
		b.token = fuzz_sample_token(id);
		b.tokenlen = strlen(b.token);
	}
	if (b.token != NULL) {
		if (baton_token_open(&tok, b.token, b.tokenlen, fuzz_keyring(),
		    BATON_CHECK_TAG) != BATON_R_OK &&
		    baton_token_open_unchecked(&tok, b.token, b.tokenlen) !=
		    BATON_R_OK)
			goto out;
		switch (op) {
		case BATON_OP_ATTENUATE:
			child_of(&tok, &b, BATON_BLOCK_ATTENUATE);
			break;
		case BATON_OP_PRESENT:
			child_of(&tok, &b, BATON_BLOCK_PRESENT);
			break;
		default:
			verify(&tok, &b);
			break;
		}
		baton_token_free(&tok);
	}
out:
	body_free(&b);
	free(cause);
	return (0);
}
