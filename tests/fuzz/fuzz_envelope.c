/* fuzz_envelope.c: raw envelope bytes through parse, check and decode. */

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct baton_envelope	env;
	struct baton_token	tok;
	enum baton_reason	why;
	size_t			i;

	if (baton_envelope_parse_bytes(&env, data, size) != BATON_R_OK) {
		/* a refused envelope owns nothing */
		FUZZ_ASSERT(env.buf == NULL && env.nblocks == 0);
		return (0);
	}
	FUZZ_ASSERT(env.nblocks >= 1 && env.nblocks <= BATON_MAX_BLOCKS);
	for (i = 0; i < env.nblocks; i++) {
		FUZZ_ASSERT(env.paylen[i] <= BATON_MAX_PAYLOAD);
		FUZZ_ASSERT(env.payload[i] >= env.buf && env.payload[i] +
		    env.paylen[i] <= env.buf + env.len);
	}
	why = baton_envelope_check(&env, fuzz_keyring(), BATON_CHECK_TAG);
	(void)why;
	why = baton_token_decode(&tok, &env);
	FUZZ_ASSERT(env.buf == NULL);
	if (why == BATON_R_OK) {
		FUZZ_ASSERT(tok.nblocks == tok.env.nblocks);
		fuzz_exercise_token(&tok);
	}
	baton_token_free(&tok);
	return (0);
}
