/* fuzz.h: what baton's fuzz targets and their replay driver share. */
#ifndef BATON_FUZZ_H
#define BATON_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* The libFuzzer entry point every target defines. */
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Stop hard on a broken invariant, so the fuzzer records the input. */
#define FUZZ_ASSERT(x) do {						\
	if (!(x))							\
		fuzz_fail(__FILE__, __LINE__, #x);			\
} while (0)

void	fuzz_fail(const char *, int, const char *)
	    __attribute__((noreturn));

/*
 * The fixed keyring: the golden-vector key (seed 00 01 .. 1f) as signer,
 * so tokens from tests/data/golden-v1.txt verify, plus a public-only key.
 */
const struct baton_keyring *fuzz_keyring(void);
const struct baton_key *fuzz_signer(void);

/*
 * Everything the chain rules do with a decoded token: effective grant,
 * tool facts, evaluation of requests derived from the token itself,
 * re-encoding and resealing of its blocks, and one attenuation.  Any
 * output the library produces must open again.
 */
void	fuzz_exercise_token(const struct baton_token *);

/* Assert that child (parent plus one block) grants no more than parent. */
void	fuzz_check_narrower(const struct baton_token *,
	    const struct baton_token *);

/*
 * Built-in tokens signed by the fixed signer (a wildcard root, a rich
 * root, a holder-bound chain, a holder-bound root), chosen by i modulo
 * their number: mutation rarely keeps a token inside a body intact.
 */
const char *fuzz_sample_token(size_t);

#endif /* BATON_FUZZ_H */
