/*
 * common.h: the internal API of baton's common library (libbatoncommon),
 * shared by the broker, the client libraries and the tests.  It holds the
 * bounded msgpack reader, the token codec (doc/TOKEN.md), keys, and the pure
 * chain rules: effective grant, request evaluation and attenuation.
 *
 * Conventions: functions return 0 or a negative BATON_E* code, or an enum
 * baton_reason where they make a decision.  Nothing here prints or exits.
 */
#ifndef BATON_COMMON_H
#define BATON_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "baton/types.h"

#define BATON_WUR __attribute__((warn_unused_result))

/* ---- limits fixed by the token format ---------------------------------- */

#define BATON_FMT		1
#define BATON_VERSION		1
#define BATON_PREFIX		"bt1_"
#define BATON_PREFIX_LEN	4
#define BATON_KID_LEN		8
#define BATON_JTI_LEN		16
#define BATON_SIG_LEN		64
#define BATON_TAG_LEN		32
#define BATON_HASH_LEN		32
#define BATON_SEED_LEN		32
#define BATON_MAX_BLOCKS	16
#define BATON_MAX_PAYLOAD	4096
#define BATON_MAX_ENVELOPE	65536
/* base64url of 64 KiB without padding, plus the prefix */
#define BATON_MAX_TEXT		(BATON_PREFIX_LEN + (BATON_MAX_ENVELOPE * 4 + 2) / 3)
#define BATON_MAX_NEST		16	/* generic msgpack nesting cap */
#define BATON_PRESENT_MAX_TTL	120	/* seconds, presentation blocks */
#define BATON_SEAL_NONCE_LEN	24	/* XChaCha20-Poly1305 */
#define BATON_SEAL_MAC_LEN	16
/* nonce, u8 count, chain hash, one (jti, exp, single_use) per block, MAC */
#define BATON_SEAL_LEN(n)	(BATON_SEAL_NONCE_LEN + 1 + BATON_HASH_LEN + \
				 (n) * (BATON_JTI_LEN + 9) + BATON_SEAL_MAC_LEN)

/*
 * Matching stays cheap: string operands of where predicates (eq, in,
 * prefix, glob) add up to at most BATON_MAX_PRED_BYTES over a whole chain,
 * and a glob's stretch between stars that holds a '?' is at most
 * BATON_MAX_GLOB_WILD bytes.  Either exceeded is too_large.
 */
#define BATON_MAX_PRED_BYTES	4096
#define BATON_MAX_GLOB_WILD	256

/* ---- arena: every decoded token owns one, freed at once ---------------- */

struct baton_arena;
struct baton_arena *baton_arena_new(void);
void	*baton_arena_alloc(struct baton_arena *, size_t);	/* zeroed */
char	*baton_arena_strndup(struct baton_arena *, const char *, size_t);
void	 baton_arena_free(struct baton_arena *);	/* wipes what it gave */
size_t	 baton_arena_cached(void);	/* this thread's spare chunks (tests) */
/*
 * A point to come back to: baton_arena_rewind wipes and drops everything
 * allocated after baton_arena_mark, leaving what came before untouched
 * (the broker's token cache reuses a decoded token across requests).
 */
struct baton_arena_mark {
	void	*head;		/* opaque */
	void	*next;
	size_t	 used;
};
void	 baton_arena_mark(struct baton_arena *, struct baton_arena_mark *);
void	 baton_arena_rewind(struct baton_arena *,
	    const struct baton_arena_mark *);

/* ---- bounded msgpack reader (mpread.c) --------------------------------- */

/*
 * Reads untrusted msgpack without allocating.  Every declared length or
 * count is checked against the bytes remaining before it is believed (an
 * array of n elements needs at least n more bytes; a map 2n).  Strings and
 * binaries are returned as pointers into the input.  After the first error
 * every call fails.
 */
enum mpr_type {
	MPR_NIL, MPR_BOOL, MPR_UINT, MPR_INT, MPR_FLOAT, MPR_STR, MPR_BIN,
	MPR_ARRAY, MPR_MAP, MPR_EXT, MPR_INVALID, MPR_END
};

struct mpr {
	const uint8_t	*p;
	const uint8_t	*end;
	int		 err;	/* sticky: 0 or BATON_EMALFORMED */
};

void	mpr_init(struct mpr *, const void *, size_t);
enum mpr_type mpr_peek(const struct mpr *);
int	mpr_nil(struct mpr *);
int	mpr_bool(struct mpr *, int *);
int	mpr_uint(struct mpr *, uint64_t *);	/* non-negative integers */
int	mpr_int(struct mpr *, int64_t *);	/* any integer that fits */
int	mpr_str(struct mpr *, const char **, uint32_t *);
int	mpr_bin(struct mpr *, const uint8_t **, uint32_t *);
int	mpr_bin_exact(struct mpr *, const uint8_t **, uint32_t);
int	mpr_array(struct mpr *, uint32_t *);
int	mpr_map(struct mpr *, uint32_t *);
int	mpr_skip(struct mpr *);	/* one whole value, nesting capped */
size_t	mpr_remaining(const struct mpr *);
int	mpr_done(const struct mpr *);	/* 0 if all input used, else error */

/* ---- keys (keys.c) ----------------------------------------------------- */

/*
 * A key is an Ed25519 key pair derived from a 32-byte seed, its kid and the
 * MAC key for tags.  Public-only keys (imported bundles) have no seed, sk or
 * mac.  Secret parts live in sodium_malloc'd memory, wiped when freed.
 */
struct baton_key {
	uint8_t		 kid[BATON_KID_LEN];
	uint8_t		 pk[32];
	uint8_t		*secret;	/* sodium_malloc: seed|sk|mac, or NULL */
	uint64_t	 not_after;	/* verify-only after this (0 = none) */
	uint64_t	 trust_until;	/* imported: bundle's end (0 = none) */
	int		 can_sign;
};

int	baton_key_from_seed(struct baton_key **, const uint8_t seed[BATON_SEED_LEN]);
int	baton_key_generate(struct baton_key **);
int	baton_key_from_public(struct baton_key **, const uint8_t pk[32]);
const uint8_t *baton_key_seed(const struct baton_key *);
const uint8_t *baton_key_sk(const struct baton_key *);
const uint8_t *baton_key_mac(const struct baton_key *);
void	baton_key_free(struct baton_key *);

#define BATON_KEYRING_MAX 32
struct baton_keyring {
	struct baton_key	*keys[BATON_KEYRING_MAX];
	size_t			 nkeys;
	size_t			 signer;	/* index of the signing key */
	/*
	 * Searched by baton_keyring_find after this ring's own keys, never
	 * owned or freed by it: a broker's imported (trusted) keys.
	 */
	const struct baton_keyring *next;
};

void	baton_keyring_init(struct baton_keyring *);
/* Takes the key even on failure (frees it then); the newest signing key
 * becomes the signer.  Refuses a duplicate kid or a full ring. */
int	baton_keyring_add(struct baton_keyring *, struct baton_key *);
const struct baton_key *baton_keyring_find(const struct baton_keyring *,
	    const uint8_t kid[BATON_KID_LEN]);
const struct baton_key *baton_keyring_signer(const struct baton_keyring *);
void	baton_keyring_clear(struct baton_keyring *);

/* ---- decoded blocks ---------------------------------------------------- */

enum baton_pred_op {
	BATON_P_EQ = 1, BATON_P_IN = 2, BATON_P_PREFIX = 3, BATON_P_GLOB = 4,
	BATON_P_RANGE = 5, BATON_P_MAXLEN = 6
};

enum baton_value_type { BATON_V_NONE = 0, BATON_V_STR, BATON_V_INT, BATON_V_BOOL };

struct baton_value {
	enum baton_value_type	 type;
	const char		*s;	/* BATON_V_STR, NUL-terminated */
	size_t			 len;
	int64_t			 i;	/* BATON_V_INT, or BOOL 0/1 */
};

struct baton_pred {
	enum baton_pred_op	 op;
	struct baton_value	*vals;	/* EQ: 1; IN: n; PREFIX, GLOB: 1 str */
	size_t			 nvals;
	int64_t			 lo, hi;	/* RANGE, inclusive */
	uint64_t		 maxlen;	/* MAXLEN, bytes */
};

struct baton_argrule {
	const char		*arg;
	struct baton_pred	*preds;	/* all must hold */
	size_t			 npreds;
};

struct baton_limit {
	const char		*name;
	uint64_t		 max;
};

struct baton_toolgrant {
	const char		*tool;
	const char		**actions;	/* none = any action */
	size_t			 nactions;
	struct baton_limit	*limits;
	size_t			 nlimits;
	struct baton_argrule	*where;
	size_t			 nwhere;
};

struct baton_grants {
	int			 wildcard;	/* "*": every tool, no limits */
	struct baton_toolgrant	*tools;		/* sorted by tool name */
	size_t			 ntools;
};

struct baton_kv {
	const char		*key;
	const char		*value;
};

enum baton_block_kind { BATON_BLOCK_ATTENUATE = 0, BATON_BLOCK_PRESENT = 1 };

struct baton_block {
	uint64_t		 version;
	uint8_t			 jti[BATON_JTI_LEN];
	uint64_t		 iat, nbf, exp;	/* nbf: block 0 only */
	const char		*iss;		/* block 0 only */
	const char		*sub;		/* block 0 only */
	const char		*delegator;	/* blocks > 0 only */
	const char		*holder;	/* NULL: not set by this block */
	int			 has_aud;
	const char		**aud;
	size_t			 naud;
	int			 has_grants;	/* always 1 for block 0 */
	struct baton_grants	 grants;
	int			 has_max_depth;	/* always 1 for block 0 */
	uint64_t		 max_depth;
	int			 single_use;
	enum baton_block_kind	 kind;
	struct baton_kv		*ctx;
	size_t			 nctx;
	/*
	 * Block 0 of a call token (present --minimal) only: the sealed
	 * lineage, opaque but to the broker that wrote it (seal.c).  With
	 * it, iss and sub are optional: present only when disclosed.
	 */
	const uint8_t		*seal;
	size_t			 seallen;
	/*
	 * Blocks > 0 only: the kid the chain was signed under before the
	 * broker that wrote this block re-signed it under its own key
	 * (federation, rotation).  NULL: the chain's kid did not change.
	 */
	const uint8_t		*origin;
	/* where the encoded payload sits in the token (set by decode) */
	const uint8_t		*raw;
	size_t			 rawlen;
};

/* ---- envelope and token (token.c) -------------------------------------- */

/*
 * A parsed envelope: the raw bytes plus pointers into them.  Produced by
 * baton_envelope_parse from untrusted text; nothing in it is trusted until
 * baton_envelope_check has returned BATON_R_OK.
 */
struct baton_envelope {
	uint8_t			*buf;	/* decoded bytes, owned */
	size_t			 len;
	uint8_t			 kid[BATON_KID_LEN];
	const uint8_t		*payload[BATON_MAX_BLOCKS];
	size_t			 paylen[BATON_MAX_BLOCKS];
	size_t			 nblocks;
	uint8_t			 sig[BATON_SIG_LEN];
	uint8_t			 tag[BATON_TAG_LEN];
};

/* A token after strict decode; owns its envelope and an arena. */
struct baton_token {
	struct baton_envelope	 env;
	struct baton_block	 blocks[BATON_MAX_BLOCKS];
	size_t			 nblocks;
	struct baton_arena	*arena;
	/*
	 * not_after of the key whose tag or signature held (0: none, or not
	 * checked): baton_evaluate and baton_attenuate refuse the token
	 * once the key is past it, or if the token outlives it.
	 */
	uint64_t		 key_not_after;
	/*
	 * Trust in an imported key ends at its bundle's not_after (0: no
	 * end, or not checked); the earliest over the signing key and every
	 * origin key.  baton_evaluate refuses the token once now is past it.
	 */
	uint64_t		 key_trust_until;
};

enum baton_check_mode {
	BATON_CHECK_TAG = 1,	/* tag first, signature if the tag fails */
	BATON_CHECK_SIG = 2	/* signature only (offline verifiers) */
};

/*
 * base64url without padding of n bytes is BATON_B64URL_LEN(n) characters;
 * baton_b64url_encode writes them and a NUL (not constant time: for
 * token text only, never for keys) and returns the length.
 */
#define BATON_B64URL_LEN(n)	((n) / 3 * 4 + ((n) % 3 != 0 ? (n) % 3 + 1 : 0))
size_t	baton_b64url_encode(char *, const uint8_t *, size_t);
/*
 * 0 makes the decoder use its tables alone, where it would take the AVX2
 * path: for tests, which check both give the same bytes and refusals.
 */
extern int baton_b64_simd;

/* Text ("bt1_...") to envelope; returns a reason, fills env on OK. */
enum baton_reason baton_envelope_parse(struct baton_envelope *,
	    const char *text, size_t len) BATON_WUR;
/* Raw envelope bytes (already base64-decoded) to envelope. */
enum baton_reason baton_envelope_parse_bytes(struct baton_envelope *,
	    const uint8_t *, size_t) BATON_WUR;
void	baton_envelope_free(struct baton_envelope *);

void	baton_chain_hash(uint8_t out[BATON_HASH_LEN],
	    const uint8_t kid[BATON_KID_LEN], const uint8_t *const *payloads,
	    const size_t *lens, size_t n);
void	baton_chain_sign(uint8_t sig[BATON_SIG_LEN], const struct baton_key *,
	    const uint8_t chain[BATON_HASH_LEN], size_t n);
int	baton_chain_sig_ok(const uint8_t sig[BATON_SIG_LEN],
	    const struct baton_key *, const uint8_t chain[BATON_HASH_LEN],
	    size_t n) BATON_WUR;
void	baton_chain_tag(uint8_t tag[BATON_TAG_LEN], const struct baton_key *,
	    const uint8_t chain[BATON_HASH_LEN]);
int	baton_chain_tag_ok(const uint8_t tag[BATON_TAG_LEN],
	    const struct baton_key *, const uint8_t chain[BATON_HASH_LEN])
	    BATON_WUR;

/* Tag or signature over the envelope's chain against a trusted keyring. */
enum baton_reason baton_envelope_check(const struct baton_envelope *,
	    const struct baton_keyring *, enum baton_check_mode) BATON_WUR;

/*
 * Strict payload decode of a checked envelope.  Takes ownership of *env
 * (which is zeroed) whatever the result; on OK fills tok, which the caller
 * frees with baton_token_free.  Only blocks[0 .. nblocks) are written
 * (and wiped by baton_token_free): the blocks past nblocks are not set.
 */
enum baton_reason baton_token_decode(struct baton_token *,
	    struct baton_envelope *) BATON_WUR;

/* parse + check + decode in one step; tok is always safe to free. */
enum baton_reason baton_token_open(struct baton_token *, const char *text,
	    size_t len, const struct baton_keyring *, enum baton_check_mode)
	    BATON_WUR;

/*
 * The kid the chain's root was signed under: the origin of the first
 * block that has one, else the envelope's kid.
 */
const uint8_t *baton_token_root_kid(const struct baton_token *);

/* Decode without any key check: for offline inspection only. */
enum baton_reason baton_token_open_unchecked(struct baton_token *,
	    const char *text, size_t len) BATON_WUR;

void	baton_token_free(struct baton_token *);

/* Canonical msgpack encoding of one block (keys ascending). */
int	baton_block_encode(const struct baton_block *, int is_root,
	    uint8_t **out, size_t *outlen);

/*
 * Build a token from encoded payloads: chain hash, signature and tag with
 * the key, envelope, base64url text.  *text is malloc'd, NUL-terminated.
 */
int	baton_token_seal(char **text, const struct baton_key *,
	    const uint8_t *const *payloads, const size_t *lens, size_t n);

/* The token's text with one more encoded block appended, resealed. */
int	baton_token_extend(char **text, const struct baton_token *,
	    const struct baton_key *, const uint8_t *payload, size_t len);

/* ---- sealed lineage of a call token (seal.c) ---------------------------- */

struct baton_lineage {
	uint8_t		 chain[BATON_HASH_LEN];	/* parent's c(n-1) */
	size_t		 n;			/* parent's blocks */
	uint8_t		 jti[BATON_MAX_BLOCKS][BATON_JTI_LEN];
	uint64_t	 exp[BATON_MAX_BLOCKS];
	int		 single_use[BATON_MAX_BLOCKS];
};

/*
 * Seal a parent's lineage for the call token with this jti, under the
 * key's seed: out must be exactly BATON_SEAL_LEN(lin->n) bytes.  Returns
 * 0, BATON_EINVAL, or BATON_ENOKEY (a key without its seed).
 */
int	baton_lineage_seal(uint8_t *out, size_t outlen, const struct baton_key *,
	    const uint8_t jti[BATON_JTI_LEN], const struct baton_lineage *);
/* Open a seal; BATON_R_OK or BATON_R_BAD_SEAL (lin is then zeroed). */
enum baton_reason baton_lineage_open(struct baton_lineage *,
	    const struct baton_key *, const uint8_t jti[BATON_JTI_LEN],
	    const uint8_t *seal, size_t len) BATON_WUR;

/* ---- chain rules (grant.c): pure functions, no I/O, injectable clock --- */

struct baton_arg {
	const char		*name;
	struct baton_value	 value;
};

struct baton_usage {
	const char		*name;	/* a limit name such as "max_rows" */
	uint64_t		 value;
};

struct baton_request {
	const char		*tool;		/* required */
	const char		*action;	/* NULL: none requested */
	const char		*audience;	/* NULL: none */
	const struct baton_arg	*args;
	size_t			 nargs;
	const struct baton_usage *usage;
	size_t			 nusage;
	uint64_t		 now;		/* unix seconds */
	uint64_t		 leeway;	/* clock skew allowed, seconds */
};

/*
 * The effective grant of a whole chain: intersection over every block.
 * Strings point into the token; arrays are allocated in the token's arena,
 * so an effective grant lives as long as its token.
 */
struct baton_effective {
	int			 wildcard;	/* every block allows any tool */
	const char		**tools;	/* when !wildcard: allowed tools */
	size_t			 ntools;
	const char		**aud;		/* when has_aud */
	size_t			 naud;
	int			 has_aud;
	uint64_t		 nbf, exp;	/* exp = min over blocks */
	size_t			 exp_block;	/* index of the block giving exp */
	uint64_t		 depth;		/* nblocks - 1 */
	uint64_t		 depth_left;	/* more blocks that may follow */
	const char		*iss, *sub;
	const char		*holder;	/* latest holder set, or NULL */
	int			 presented;	/* last block is a presentation */
	const struct baton_kv	*ctx;		/* merged, later blocks win */
	size_t			 nctx;
	const uint8_t		*single_use[BATON_MAX_BLOCKS]; /* jtis */
	size_t			 nsingle_use;
};

/* Per-tool facts for one tool in an effective grant. */
struct baton_tool_facts {
	int			 any_action;
	const char		**actions;
	size_t			 nactions;
	struct baton_limit	*limits;	/* min over the chain */
	size_t			 nlimits;
	const struct baton_argrule **where;	/* every rule of every block */
	size_t			 nwhere;
};

/*
 * Compute the effective grant: BATON_R_OK, BATON_R_BAD_CHAIN, or
 * BATON_R_UNAVAILABLE when the arena is out of memory (deny, never allow).
 */
enum baton_reason baton_effective(const struct baton_token *,
	    struct baton_effective *) BATON_WUR;

/* Facts for one tool; BATON_R_TOOL_NOT_GRANTED if no block allows it. */
enum baton_reason baton_tool_facts(const struct baton_token *,
	    const char *tool, struct baton_tool_facts *) BATON_WUR;

/*
 * Evaluate a request against a decoded token: time, chain rules (depth),
 * presentation and holder binding, tool, action, audience, arguments,
 * usage against limits, in that order.  The first failing check is the
 * reason returned.  eff and facts, when not NULL, are filled as far as
 * evaluation got.  Does not look at revocation or single-use state: that
 * is the broker's.
 */
enum baton_reason baton_evaluate(const struct baton_token *,
	    const struct baton_request *, struct baton_effective *eff,
	    struct baton_tool_facts *facts) BATON_WUR;

/* Does one value satisfy one predicate? */
int	baton_pred_match(const struct baton_pred *, const struct baton_value *);
/*
 * Glob with '*' and '?' only: 1 if the whole of s matches, else 0 (also
 * when scratch memory for a long pattern cannot be had).  Time is linear
 * in slen: at most 2 steps per input byte for stretches without '?', one
 * word operation per 64 pattern bytes per input byte for those with.
 */
int	baton_glob_match(const char *pat, size_t plen, const char *s, size_t slen);
/* 1 if no stretch of pat between stars that holds '?' is over the cap. */
int	baton_glob_ok(const char *pat, size_t plen);
/* String operand bytes of one predicate, of every predicate in grants. */
size_t	baton_pred_bytes(const struct baton_pred *);
size_t	baton_grants_pred_bytes(const struct baton_grants *);

/*
 * A requested restriction: what a child block asks for.  Fields not set
 * inherit from the parent.
 */
struct baton_restrict {
	int			 has_grants;
	struct baton_grants	 grants;	/* wildcard not allowed here */
	int			 has_aud;
	const char		**aud;
	size_t			 naud;
	uint64_t		 ttl;		/* 0: parent's remaining time */
	int			 has_max_depth;
	uint64_t		 max_depth;
	int			 single_use;
	const char		*holder;
	const struct baton_kv	*ctx;
	size_t			 nctx;
	enum baton_block_kind	 kind;	/* PRESENT: one tool, action, aud */
};

/*
 * Build the child block for a verified parent, or refuse with a reason:
 * TTL longer than the parent's remaining time, tool or action not
 * granted, higher limit (an omitted limit is inherited, not dropped), wider audience, higher max_depth, no
 * depth left, or the parent already presented.  The child's strings point
 * into r or the parent; the caller supplies jti and the delegator (an
 * identity the caller has already checked).
 */
enum baton_reason baton_attenuate(const struct baton_token *parent,
	    const struct baton_restrict *r, const char *delegator,
	    const uint8_t jti[BATON_JTI_LEN], uint64_t now,
	    struct baton_block *child) BATON_WUR;

/* ---- small helpers ----------------------------------------------------- */

void	baton_hex(char *out, const uint8_t *in, size_t len); /* out: 2len+1 */
/* A fresh random jti (from a per-thread pool, safe across fork). */
void	baton_jti_new(uint8_t jti[BATON_JTI_LEN]);
int	baton_unhex(uint8_t *out, size_t outlen, const char *in);

#endif /* BATON_COMMON_H */
