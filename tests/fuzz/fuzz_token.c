/* fuzz_token.c: token text through open (both modes), unchecked, rules. */

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct baton_keyring	*kr = fuzz_keyring();
	struct baton_token		 tok;
	enum baton_reason		 why, why_tag, why_sig;
	const char			*text = (const char *)data;
	int				 opened;

	why_tag = baton_token_open(&tok, text, size, kr, BATON_CHECK_TAG);
	opened = why_tag == BATON_R_OK;
	if (opened)
		fuzz_exercise_token(&tok);
	baton_token_free(&tok);

	why_sig = baton_token_open(&tok, text, size, kr, BATON_CHECK_SIG);
	/* tag mode falls back to the signature, never the other way */
	FUZZ_ASSERT(why_sig != BATON_R_OK || opened);
	baton_token_free(&tok);

	why = baton_token_open_unchecked(&tok, text, size);
	/* a token that opens checked must open unchecked */
	FUZZ_ASSERT(!opened || why == BATON_R_OK);
	if (why == BATON_R_OK && !opened)
		fuzz_exercise_token(&tok);
	baton_token_free(&tok);
	return (0);
}
