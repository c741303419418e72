/* testutil.h: helpers shared by baton's Check suites (keys, blocks, tokens). */
#ifndef BATON_TESTUTIL_H
#define BATON_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

/*
 * Every helper here asserts with Check on failure (ck_assert), so a test
 * never has to check their results.  Nothing is global: blocks built with
 * the builder keep their arrays in an arena the test creates with
 * tu_arena() and frees with baton_arena_free(); strings passed in are
 * referenced, not copied, except where a comma-separated list is split.
 */

/* The fixed clock: 2025-01-01T00:00:00Z. */
#define TU_NOW		((uint64_t)1735689600)
uint64_t tu_now(void);

/*
 * A signing key whose seed is 32 bytes of the given pattern (0x01, 0x02,
 * ...): the same key in every run, so golden vectors stay golden.
 * Caller frees with baton_key_free().
 */
struct baton_key *tu_key(uint8_t pattern);

/* A keyring holding the key of that pattern as its only, signing key. */
void	tu_keyring(struct baton_keyring *, uint8_t pattern);

/* A new arena (asserted non-NULL). */
struct baton_arena *tu_arena(void);

/*
 * Block builder.  tu_root fills a valid block 0: version 1, jti of 16
 * bytes of jti_byte, iat = now, exp = now + ttl, iss "orchestrator", sub
 * "alice", grants "*", max_depth 5.  tu_child fills a valid later block
 * with the given delegator that inherits everything else.  Change any
 * field afterwards as needed.
 */
void	tu_root(struct baton_block *, uint8_t jti_byte, uint64_t now,
	    uint64_t ttl);
void	tu_child(struct baton_block *, uint8_t jti_byte, uint64_t now,
	    uint64_t ttl, const char *delegator);

/*
 * Add a tool to a block's grants (clears the wildcard, sets has_grants).
 * actions: comma-separated ("read,write") or NULL for any action.
 */
struct baton_toolgrant *tu_tool(struct baton_arena *, struct baton_block *,
	    const char *tool, const char *actions);
void	tu_limit(struct baton_arena *, struct baton_toolgrant *,
	    const char *name, uint64_t max);
/* Add an argument rule; then add predicates to it. */
struct baton_argrule *tu_where(struct baton_arena *, struct baton_toolgrant *,
	    const char *arg);
void	tu_pred_eq_str(struct baton_arena *, struct baton_argrule *,
	    const char *);
void	tu_pred_eq_int(struct baton_arena *, struct baton_argrule *, int64_t);
void	tu_pred_eq_bool(struct baton_arena *, struct baton_argrule *, int);
void	tu_pred_in_str(struct baton_arena *, struct baton_argrule *,
	    const char *csv);
void	tu_pred_prefix(struct baton_arena *, struct baton_argrule *,
	    const char *);
void	tu_pred_glob(struct baton_arena *, struct baton_argrule *,
	    const char *);
void	tu_pred_range(struct baton_arena *, struct baton_argrule *, int64_t lo,
	    int64_t hi);
void	tu_pred_maxlen(struct baton_arena *, struct baton_argrule *, uint64_t);
/* A zeroed predicate appended to the rule, for anything else. */
struct baton_pred *tu_pred(struct baton_arena *, struct baton_argrule *,
	    enum baton_pred_op);

/* Set aud from a comma-separated list ("db,files"). */
void	tu_aud(struct baton_arena *, struct baton_block *, const char *csv);
/* Append one ctx entry. */
void	tu_ctx(struct baton_arena *, struct baton_block *, const char *key,
	    const char *value);

/* Encode one block (asserted to succeed); caller frees *out with free(). */
void	tu_encode(const struct baton_block *, int is_root, uint8_t **out,
	    size_t *outlen);

/*
 * Encode blocks[0] as root and the rest as later blocks, seal them with
 * the key and return the token text (malloc'd; free with free()).
 */
char	*tu_seal(const struct baton_key *, const struct baton_block *,
	    size_t n);

/*
 * Assert two blocks are equal field by field (strings by content, arrays
 * element by element, in order; raw/rawlen are not compared).
 */
void	tu_assert_block_eq(const struct baton_block *,
	    const struct baton_block *);

/* Open text with the keyring in SIG mode, asserting BATON_R_OK. */
void	tu_open(struct baton_token *, const char *text,
	    const struct baton_keyring *);

#endif /* BATON_TESTUTIL_H */
