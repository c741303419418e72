/*
 * tokcache.c: each worker thread's cache of the tokens it has opened.
 *
 * A tool server presents the same token on every call of an agent's
 * session, and opening it (base64, the tag's BLAKE2b, the strict decode)
 * is two fifths of a verify.  So a worker keeps what baton_token_open
 * made of a text, and the next request with the same text skips it.
 * The rules, which doc/SECURITY.md repeats:
 *
 * - The key is the whole text.  A cheap hash of its length and last 16
 *   bytes (the tag, when it is a token) picks a set of two entries; a hit
 *   needs the same hash, the same length and the same bytes, compared in
 *   full and in constant time (the entry holds another caller's bearer
 *   token; the hash compare can only tell a caller that its text's 64-bit
 *   hash is that of an entry).  Texts an attacker chooses can only cause
 *   misses and evictions.
 * - Only an open that succeeded is kept; a failure never is, so it is
 *   checked again every time.  A text is opened aside and moved into an
 *   entry only once it held, so junk evicts nothing.
 * - baton_token_open depends on the text and on the keyring alone (own
 *   keys, their not_after, the trusted keys of other brokers and their
 *   bundle's end: tag first, signature fallback, key_not_after,
 *   key_trust_until).  keystore.c bumps a generation under every write
 *   lock of the ring; an entry remembers the generation it was opened
 *   under, read under the same read lock, and any other is a miss.  So
 *   rotation, retirement, emergency distrust, reload of trusted bundles
 *   and shutdown each invalidate every entry of every worker.
 * - Only the open is skipped.  Time (exp, the key's not_after, the trust
 *   bundle's end), chain rules and this request's binding
 *   (baton_evaluate), revocation, lineage, the stack and single-use
 *   consumption run on every request, hit or miss.
 * - An entry is read-only once in: the request gets a const token.
 *   baton_effective and its kin allocate their results in the token's
 *   arena, so the arena is marked after the decode and rewound (what
 *   came after wiped) when the request releases the token.
 * - Bounded: token-cache entries (default 64) per worker, texts up to
 *   TOKCACHE_TEXT_MAX bytes; longer ones are opened every time.  An entry
 *   owns its text, envelope and arena, all wiped as far as written when
 *   it is evicted, resized away, when its thread ends, and all stale
 *   entries at once at the first request after the generation moved.
 * - Per thread, never shared: no lock but the keyring's read lock, which
 *   every open took anyway.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "batond.h"

#define TOKCACHE_TEXT_MAX	4096	/* a 1-block token is ~300 bytes */
#define TOKCACHE_TEXT_MIN	16	/* the hash reads the last 16 */

struct tokentry {
	char			*text;	/* the key, cap bytes of room */
	size_t			 len, cap;
	uint64_t		 hash;	/* hash_of(text) */
	uint64_t		 gen;	/* keyring generation; 0: empty */
	uint64_t		 used;	/* tick of its last use */
	int			 busy;	/* lent to a request */
	struct baton_token	 tok;
	struct baton_arena_mark	 mark;	/* the arena as decode left it */
};

static _Thread_local struct tokentry	*tc;
static _Thread_local size_t		 tc_size;	/* token-cache */
static _Thread_local size_t		 tc_sets, tc_ways;
static _Thread_local uint64_t		 tc_tick;
static _Thread_local uint64_t		 tc_gen;	/* the ring's, last seen */

static uint64_t
hash_of(const char *text, size_t len)
{
	uint64_t	a, b, h;

	memcpy(&a, text + len - 16, 8);
	memcpy(&b, text + len - 8, 8);
	h = (a ^ (uint64_t)len) * 0x9e3779b97f4a7c15ULL;
	h = (h ^ b ^ (h >> 29)) * 0xbf58476d1ce4e5b9ULL;
	return (h ^ (h >> 32));
}

/* Equal bytes, in time that depends on the length only. */
static int
text_eq(const char *a, const char *b, size_t len)
{
	uint64_t	x, y, d = 0;
	size_t		i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		d |= x ^ y;
	}
	for (; i < len; i++)
		d |= (uint8_t)(a[i] ^ b[i]);
	return (d == 0);
}

/*
 * baton_token_free, but the 4.4 KB struct is wiped as far as decode wrote
 * it: the envelope, the blocks in use and what follows them.  decode sets
 * the header and each block as it fills them.
 */
_Static_assert(offsetof(struct baton_token, env) == 0 &&
    offsetof(struct baton_token, blocks) >= sizeof(struct baton_envelope) &&
    offsetof(struct baton_token, nblocks) ==
    offsetof(struct baton_token, blocks) +
    sizeof(((struct baton_token *)NULL)->blocks),
    "struct baton_token: env, blocks, then the rest");
static void
tok_wipe(struct baton_token *t)
{
	size_t	n = t->nblocks <= BATON_MAX_BLOCKS ? t->nblocks :
		    BATON_MAX_BLOCKS;

	baton_envelope_free(&t->env);
	baton_arena_free(t->arena);
	sodium_memzero(t->blocks, n * sizeof t->blocks[0]);
	sodium_memzero(&t->nblocks, sizeof *t -
	    offsetof(struct baton_token, nblocks));
}

/*
 * The token in *from now belongs to *to (the arena and the envelope's
 * buffer move with the pointers); what was copied out of *from is wiped.
 */
static void
tok_move(struct baton_token *to, struct baton_token *from)
{
	size_t	n = from->nblocks <= BATON_MAX_BLOCKS ? from->nblocks :
		    BATON_MAX_BLOCKS;

	to->env = from->env;
	memcpy(to->blocks, from->blocks, n * sizeof from->blocks[0]);
	memcpy(&to->nblocks, &from->nblocks, sizeof *to -
	    offsetof(struct baton_token, nblocks));
	sodium_memzero(&from->env, sizeof from->env);
	sodium_memzero(from->blocks, n * sizeof from->blocks[0]);
	sodium_memzero(&from->nblocks, sizeof *from -
	    offsetof(struct baton_token, nblocks));
}

static void
entry_wipe(struct tokentry *e)
{
	if (e->gen == 0)
		return;
	sodium_memzero(e->text, e->len);
	tok_wipe(&e->tok);
	e->len = 0;
	e->gen = 0;
}

static void
cache_free(void)
{
	size_t	i, n = tc_sets * tc_ways;

	for (i = 0; i < n; i++) {
		entry_wipe(&tc[i]);
		free(tc[i].text);	/* wiped as far as ever written */
	}
	free(tc);
	tc = NULL;
	tc_size = tc_sets = tc_ways = 0;
}

/* Follow the token-cache setting; not while an entry is lent. */
static void
cache_resize(size_t size)
{
	size_t	i;

	for (i = 0; i < tc_sets * tc_ways; i++)
		if (tc[i].busy)
			return;
	cache_free();
	if (size == 0)
		return;
	tc_ways = size >= 2 ? 2 : 1;
	tc_sets = size / tc_ways;
	tc = xcalloc(tc_sets * tc_ways, sizeof *tc);
	tc_size = size;
}

/* Opened where the cache cannot hold it: the request owns it. */
static enum baton_reason
open_own(struct tokref *ref, const char *text, size_t len)
{
	const struct baton_keyring	*ring;
	enum baton_reason		 why;

	ring = keystore_lock();
	why = baton_token_open(&ref->own, text, len, ring, BATON_CHECK_TAG);
	keystore_unlock();
	ref->owned = 1;
	if (why == BATON_R_OK)
		ref->tok = &ref->own;
	return (why);
}

enum baton_reason
tokcache_open(struct tokref *ref, const char *text, size_t len,
    unsigned size)
{
	const struct baton_keyring	*ring;
	struct tokentry			*set, *e, *victim = NULL;
	enum baton_reason		 why;
	uint64_t			 gen, h;
	size_t				 i;

	ref->tok = NULL;
	ref->ent = NULL;
	ref->owned = 0;
	if (size != tc_size)
		cache_resize(size);
	if (tc == NULL || text == NULL || len < TOKCACHE_TEXT_MIN ||
	    len > TOKCACHE_TEXT_MAX)
		return (open_own(ref, text, len));

	h = hash_of(text, len);
	set = &tc[(size_t)(h % tc_sets) * tc_ways];
	ring = keystore_lock_gen(&gen);
	if (gen != tc_gen) {
		/* the keys changed: nothing opened before is kept */
		for (i = 0; i < tc_sets * tc_ways; i++)
			if (!tc[i].busy && tc[i].gen != gen)
				entry_wipe(&tc[i]);
		tc_gen = gen;
	}
	for (i = 0; i < tc_ways; i++) {
		e = &set[i];
		if (e->busy)
			continue;
		/* the hash only spares a full compare on a miss */
		if (e->gen == gen && e->hash == h && e->len == len &&
		    text_eq(e->text, text, len)) {
			keystore_unlock();
			e->busy = 1;
			e->used = ++tc_tick;
			ref->ent = e;
			ref->tok = &e->tok;
			metrics_token_cache(1);
			return (BATON_R_OK);
		}
		/* empty or stale first, else the least recently used */
		if (victim == NULL || (victim->gen == gen &&
		    (e->gen != gen || e->used < victim->used)))
			victim = e;
	}
	metrics_token_cache(0);
	if (victim == NULL) {
		/* every way lent to this same request: no room */
		keystore_unlock();
		return (open_own(ref, text, len));
	}
	/*
	 * Opened aside and moved in only if it holds, so a text that fails
	 * (anyone's junk) evicts nothing.
	 */
	why = baton_token_open(&ref->own, text, len, ring, BATON_CHECK_TAG);
	keystore_unlock();
	if (why != BATON_R_OK)
		return (why);	/* never kept; ref->own is zero */
	entry_wipe(victim);
	tok_move(&victim->tok, &ref->own);
	if (victim->cap < len) {
		free(victim->text);	/* wiped by entry_wipe */
		victim->text = xmalloc(len);
		victim->cap = len;
	}
	memcpy(victim->text, text, len);
	victim->len = len;
	victim->hash = h;
	victim->gen = gen;
	victim->used = ++tc_tick;
	victim->busy = 1;
	baton_arena_mark(victim->tok.arena, &victim->mark);
	ref->ent = victim;
	ref->tok = &victim->tok;
	return (BATON_R_OK);
}

void
tokcache_release(struct tokref *ref)
{
	struct tokentry	*e = ref->ent;

	if (e != NULL) {
		baton_arena_rewind(e->tok.arena, &e->mark);
		e->busy = 0;
	} else if (ref->owned)
		baton_token_free(&ref->own);
	ref->tok = NULL;
	ref->ent = NULL;
	ref->owned = 0;
}

void
tokcache_thread_end(void)
{
	cache_free();
}
