/* token.c: the token codec: envelope, chain hash, signature, tag, payloads. */

/*
 * Token format v1 (DESIGN.md section 2; doc/TOKEN.md is written from this).
 *
 * Text:      "bt1_" + base64url without padding of the envelope.  Text
 *            longer than BATON_MAX_TEXT is refused before decoding; the
 *            base64 must be canonical (no ignored characters, zero unused
 *            bits).
 * Envelope:  msgpack array of exactly 5:
 *              [fmt uint = 1, kid bin 8, payloads array of 1..16 bin,
 *               sig bin 64, tag bin 32]
 *            at most 64 KiB in all, each payload at most 4 KiB, nothing
 *            after the array.  fmt is read first: fmt != 1 is
 *            unknown_format whatever follows.
 * Chain:     c0 = BLAKE2b-256("baton/v1/chain0" || kid || u32be(len p0)
 *                             || p0)
 *            ci = BLAKE2b-256("baton/v1/chain" || c(i-1) || u32be(len pi)
 *                             || pi)
 * Signature: Ed25519(sk, "baton/v1/sig" || u8 n || c(n-1)), detached
 * Tag:       BLAKE2b-256(key = mac, "baton/v1/tag" || c(n-1))
 *            (domain strings without their NUL)
 *
 * PAYLOAD LAYOUT.  Each payload is one msgpack map whose keys are unsigned
 * integers in strictly ascending order (out of order or duplicate:
 * bad_payload).  Values:
 *
 *   1  v           uint, required, must be 1 (else unknown_version; this is
 *                  checked before anything else in the payload)
 *   2  jti         bin 16, required
 *   3  iat         uint, required
 *   4  nbf         uint, block 0 only, optional (default iat; the encoder
 *                  writes it only when it differs from iat)
 *   5  exp         uint, required, must be > iat
 *   6  iss         str, required in block 0, forbidden later
 *   7  sub         str, required in block 0, forbidden later
 *   8  delegator   str, required in blocks > 0, forbidden in block 0
 *   9  holder      str, optional
 *   10 aud         array of 1..16 str, strictly ascending bytewise, optional
 *                  (absent in a later block: inherit)
 *   11 grants      the str "*", or a map tool (str, strictly ascending) ->
 *                  toolgrant; required in block 0, optional later (absent:
 *                  inherit)
 *   12 max_depth   uint <= 15; required in block 0, optional later
 *   13 single_use  bool, optional (the encoder writes it only when true)
 *   14 kind        uint: 0 attenuate, 1 present; forbidden in block 0; the
 *                  encoder writes it only when 1
 *   15 ctx         map str (strictly ascending) -> str, at most 16 entries,
 *                  optional
 *   16 seal        bin, a call token's sealed lineage (seal.c); block 0
 *                  only; with it iss and sub are optional
 *   17 origin      bin 8, blocks > 0 only: the kid the chain was signed
 *                  under before this block's writer re-signed it
 *
 *   toolgrant  map with uint keys in strictly ascending order, each
 *              optional (any other key: unknown_critical):
 *                1 actions  array of str, strictly ascending, each
 *                           non-empty lowercase [a-z0-9_.-]; empty or
 *                           absent = any action
 *                2 limits   map name (str, strictly ascending) -> uint
 *                3 where    map argument (str, strictly ascending) ->
 *                           array of 1..8 predicates, all must hold
 *   predicate  array [op uint, operands...], exact length per op:
 *                [1 eq, v]  [2 in, [v, ...1..32]]  [3 prefix, str]
 *                [4 glob, str]  [5 range, int lo, int hi] (lo <= hi)
 *                [6 maxlen, uint]
 *              v is a str, an int (any msgpack integer that fits int64) or
 *              a bool; any other op: bad_payload.
 *
 * Unknown keys 17..63 and unknown odd keys >= 64 are critical
 * (unknown_critical).  Unknown even keys >= 64 are skipped (bounded skip,
 * nesting capped).  Key 0 is bad_payload.
 *
 * Strings: valid UTF-8 without NUL.  Identifiers (iss, sub, delegator,
 * holder, aud entries, tool names, actions, limit names, argument names,
 * ctx keys) must also be non-empty, and a tool may not be named "*".
 * Identifiers and ctx values may hold no control character (C0 or DEL).
 * Predicate operands and ctx values may be empty.  Wrong types, missing
 * required fields and forbidden fields are bad_payload.
 *
 * Integers may use any msgpack encoding that holds the value; the encoder
 * uses the shortest, and nothing is ever re-encoded to be checked.
 *
 * The decoder copies every string into the token's arena (NUL-terminated),
 * so a decoded token does not depend on any input buffer but its own.  A
 * decoded block > 0 has nbf 0.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "common.h"

#define D_CHAIN0	"baton/v1/chain0"
#define D_CHAIN		"baton/v1/chain"
#define D_SIG		"baton/v1/sig"
#define D_TAG		"baton/v1/tag"
#define DLEN(s)		(sizeof(s) - 1)

/* payload map keys */
enum {
	K_V = 1, K_JTI, K_IAT, K_NBF, K_EXP, K_ISS, K_SUB, K_DELEGATOR,
	K_HOLDER, K_AUD, K_GRANTS, K_MAX_DEPTH, K_SINGLE_USE, K_KIND, K_CTX,
	K_SEAL, K_ORIGIN
};
enum { TG_ACTIONS = 1, TG_LIMITS, TG_WHERE };

#define MAX_AUD		16
#define MAX_CTX		16
#define MAX_PREDS	8
#define MAX_IN		32
#define MAX_DEPTH	15

/* ---- envelope ---------------------------------------------------------- */

void
baton_envelope_free(struct baton_envelope *env)
{
	if (env == NULL)
		return;
	if (env->buf != NULL)	/* the token, in binary */
		sodium_memzero(env->buf, env->len);
	free(env->buf);
	memset(env, 0, sizeof(*env));
}

/*
 * A bin 8 or bin 16 whose body is there, read in place: 1, else 0 with
 * nothing read (mpr_bin then decides).  The envelope and the jtis are
 * all bins of these two kinds.
 */
static inline int
bin_fast(struct mpr *r, const uint8_t **p, uint32_t *len)
{
	size_t	left = (size_t)(r->end - r->p), n;

	if (r->err != 0 || left < 2)
		return (0);
	if (r->p[0] == 0xc4)
		n = r->p[1];
	else if (r->p[0] == 0xc5 && left >= 3)
		n = (size_t)r->p[1] << 8 | r->p[2];
	else
		return (0);
	if (n > left - 2 - (r->p[0] == 0xc5))
		return (0);
	r->p += 2 + (r->p[0] == 0xc5);
	*p = r->p;
	*len = (uint32_t)n;
	r->p += n;
	return (1);
}

/* Parse env->buf / env->len (already owned by env) in place. */
static enum baton_reason
envelope_parse_owned(struct baton_envelope *env)
{
	struct mpr	 r;
	const uint8_t	*p;
	uint32_t	 n, len, i;
	uint64_t	 fmt;

	if (env->len > BATON_MAX_ENVELOPE)
		return (BATON_R_TOO_LARGE);
	mpr_init(&r, env->buf, env->len);
	if (mpr_array(&r, &n) != 0 || n < 1)
		return (BATON_R_MALFORMED);
	if (mpr_uint(&r, &fmt) != 0)
		return (BATON_R_MALFORMED);
	if (fmt != BATON_FMT)
		return (BATON_R_UNKNOWN_FORMAT);
	if (n != 5)
		return (BATON_R_MALFORMED);
	if (mpr_bin_exact(&r, &p, BATON_KID_LEN) != 0)
		return (BATON_R_MALFORMED);
	memcpy(env->kid, p, BATON_KID_LEN);
	if (mpr_array(&r, &n) != 0)
		return (BATON_R_MALFORMED);
	if (n == 0 || n > BATON_MAX_BLOCKS)
		return (BATON_R_CHAIN_TOO_LONG);
	for (i = 0; i < n; i++) {
		if (!bin_fast(&r, &p, &len) && mpr_bin(&r, &p, &len) != 0)
			return (BATON_R_MALFORMED);
		if (len > BATON_MAX_PAYLOAD)
			return (BATON_R_TOO_LARGE);
		env->payload[i] = p;
		env->paylen[i] = len;
	}
	env->nblocks = n;
	if (mpr_bin_exact(&r, &p, BATON_SIG_LEN) != 0)
		return (BATON_R_MALFORMED);
	memcpy(env->sig, p, BATON_SIG_LEN);
	if (mpr_bin_exact(&r, &p, BATON_TAG_LEN) != 0)
		return (BATON_R_MALFORMED);
	memcpy(env->tag, p, BATON_TAG_LEN);
	if (mpr_done(&r) != 0)
		return (BATON_R_TRAILING_BYTES);
	return (BATON_R_OK);
}

enum baton_reason
baton_envelope_parse_bytes(struct baton_envelope *env, const uint8_t *buf,
    size_t len)
{
	enum baton_reason	reason;

	memset(env, 0, sizeof(*env));
	if (buf == NULL && len != 0)
		return (BATON_R_MALFORMED);
	if (len > BATON_MAX_ENVELOPE)
		return (BATON_R_TOO_LARGE);
	if ((env->buf = malloc(len == 0 ? 1 : len)) == NULL)
		return (BATON_R_MALFORMED);	/* fail closed */
	if (len != 0)
		memcpy(env->buf, buf, len);
	env->len = len;
	if ((reason = envelope_parse_owned(env)) != BATON_R_OK)
		baton_envelope_free(env);
	return (reason);
}

/*
 * base64url (RFC 4648 section 5) without padding, by table.
 *
 * Tokens are not decoded in constant time.  The decoder's timing could
 * tell only what the text already shows its sender, and the token's
 * secret parts (tag, signature) are checked after decoding, the tag in
 * constant time; a constant-time decoder was a sixth of a verify's
 * cycles in the broker (bench/RESULTS.md).  Key material is never held
 * in base64 (keys are files of raw bytes, public keys hex).
 *
 * B64V is a character's value, -1 outside the alphabet.  The decoder
 * reads four tables made from it, one per position in a quantum of four
 * characters, each holding the character's bits already shifted to
 * their place in the quantum's 24; outside the alphabet an entry is
 * B64_BAD, whose top byte survives any OR of the four, so one test per
 * quantum refuses every bad character.
 */
#define B64V(c) \
	((c) >= 'A' && (c) <= 'Z' ? (c) - 'A' : \
	 (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26 : \
	 (c) >= '0' && (c) <= '9' ? (c) - '0' + 52 : \
	 (c) == '-' ? 62 : (c) == '_' ? 63 : -1)
#define B64_BAD		0xff000000U
#define B64E(c, sh)	(B64V(c) < 0 ? B64_BAD : (uint32_t)B64V(c) << (sh))
#define B64R4(c, sh)	B64E(c, sh), B64E((c) + 1, sh), B64E((c) + 2, sh), \
			B64E((c) + 3, sh)
#define B64R16(c, sh)	B64R4(c, sh), B64R4((c) + 4, sh), B64R4((c) + 8, sh), \
			B64R4((c) + 12, sh)
#define B64R64(c, sh)	B64R16(c, sh), B64R16((c) + 16, sh), \
			B64R16((c) + 32, sh), B64R16((c) + 48, sh)
#define B64TABLE(sh)	{ B64R64(0, sh), B64R64(64, sh), B64R64(128, sh), \
			B64R64(192, sh) }

static const uint32_t b64url_d0[256] = B64TABLE(18);
static const uint32_t b64url_d1[256] = B64TABLE(12);
static const uint32_t b64url_d2[256] = B64TABLE(6);
static const uint32_t b64url_d3[256] = B64TABLE(0);

static const char b64url_chars[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/*
 * Encode len bytes of in as base64url without padding, by table, into
 * out (room for BATON_B64URL_LEN(len) + 1), NUL-terminated: the same
 * text as sodium_bin2base64 with sodium_base64_VARIANT_URLSAFE_NO_PADDING,
 * which works in constant time, a price only secrets need to pay; for
 * this table encoder's users see the decoder's comment above.
 * Returns the length of the text.
 */
size_t
baton_b64url_encode(char *out, const uint8_t *in, size_t len)
{
	char		*o = out;
	size_t		 i;
	uint32_t	 v;

	for (i = 0; len - i >= 3; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		*o++ = b64url_chars[v >> 18];
		*o++ = b64url_chars[(v >> 12) & 63];
		*o++ = b64url_chars[(v >> 6) & 63];
		*o++ = b64url_chars[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		*o++ = b64url_chars[v >> 18];
		*o++ = b64url_chars[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*o++ = b64url_chars[v >> 18];
		*o++ = b64url_chars[(v >> 12) & 63];
		*o++ = b64url_chars[(v >> 6) & 63];
	}
	*o = '\0';
	return ((size_t)(o - out));
}

/* One quantum of four characters as 24 bits; B64_BAD set if any is bad. */
static inline uint32_t
b64url_quantum(const uint8_t *p)
{
	return (b64url_d0[p[0]] | b64url_d1[p[1]] | b64url_d2[p[2]] |
	    b64url_d3[p[3]]);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define B64_AVX2	1

/*
 * AVX2, where the processor has it: 32 characters a round.  Each byte
 * is classified by range (signed compares: bytes >= 0x80 fall in none),
 * and a round with any byte in no range is refused, so it accepts
 * exactly what the tables do; the ranges' offsets turn characters into
 * values, which are packed (two multiply-adds, a shuffle, a permute) to
 * 24 bytes, stored as 32, the last 8 zero.  Returns the characters
 * consumed (a multiple of 32, at most full), or (size_t)-1 on a bad one;
 * *o advances by three quarters of what was consumed.
 */
__attribute__((target("avx2"))) static size_t
b64url_decode_avx2(uint8_t **o, const uint8_t *p, size_t full)
{
	const __m256i	 pack1 = _mm256_set1_epi32(0x01400140);
	const __m256i	 pack2 = _mm256_set1_epi32(0x00011000);
	const __m256i	 order = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8,
	    14, 13, 12, -1, -1, -1, -1, 2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13,
	    12, -1, -1, -1, -1);
	const __m256i	 join = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7);
	__m256i		 x, up, lo, dg, dash, und, ok, delta;
	size_t		 i;

	for (i = 0; full - i >= 32; i += 32) {
		x = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
		up = _mm256_and_si256(
		    _mm256_cmpgt_epi8(x, _mm256_set1_epi8('A' - 1)),
		    _mm256_cmpgt_epi8(_mm256_set1_epi8('Z' + 1), x));
		lo = _mm256_and_si256(
		    _mm256_cmpgt_epi8(x, _mm256_set1_epi8('a' - 1)),
		    _mm256_cmpgt_epi8(_mm256_set1_epi8('z' + 1), x));
		dg = _mm256_and_si256(
		    _mm256_cmpgt_epi8(x, _mm256_set1_epi8('0' - 1)),
		    _mm256_cmpgt_epi8(_mm256_set1_epi8('9' + 1), x));
		dash = _mm256_cmpeq_epi8(x, _mm256_set1_epi8('-'));
		und = _mm256_cmpeq_epi8(x, _mm256_set1_epi8('_'));
		ok = _mm256_or_si256(_mm256_or_si256(up, lo),
		    _mm256_or_si256(dg, _mm256_or_si256(dash, und)));
		if (_mm256_movemask_epi8(ok) != -1)
			return ((size_t)-1);
		delta = _mm256_or_si256(
		    _mm256_or_si256(
		    _mm256_and_si256(up, _mm256_set1_epi8(-'A')),
		    _mm256_and_si256(lo, _mm256_set1_epi8(26 - 'a'))),
		    _mm256_or_si256(
		    _mm256_and_si256(dg, _mm256_set1_epi8(52 - '0')),
		    _mm256_or_si256(
		    _mm256_and_si256(dash, _mm256_set1_epi8(62 - '-')),
		    _mm256_and_si256(und, _mm256_set1_epi8(63 - '_')))));
		x = _mm256_add_epi8(x, delta);
		/* pairs to 12 bits, then pairs of those to 24 per lane */
		x = _mm256_maddubs_epi16(x, pack1);
		x = _mm256_madd_epi16(x, pack2);
		x = _mm256_shuffle_epi8(x, order);
		x = _mm256_permutevar8x32_epi32(x, join);
		_mm256_storeu_si256((__m256i *)(void *)*o, x);
		*o += 24;
	}
	return (i);
}
#endif

/*
 * Decode len characters of s into out (room for len / 4 * 3 + 8 bytes:
 * rounds store a few bytes more than they decode, zeroes the next round
 * overwrites); 0 and the length in *outlen, or -1 if the text is not the
 * canonical form of some bytes: a byte outside the alphabet, a length of
 * 4k + 1, or non-zero unused bits in the last character.  So every
 * envelope has exactly one text form.
 */
int	baton_b64_simd = 1;

static int
b64url_decode(uint8_t *out, const char *s, size_t len, size_t *outlen)
{
	const uint8_t	*p = (const uint8_t *)s;
	uint8_t		*o = out;
	uint64_t	 v;
	uint32_t	 x, y;
	size_t		 i = 0, full = len / 4 * 4;

#ifdef B64_AVX2
	if (full >= 32 && baton_b64_simd && __builtin_cpu_supports("avx2") &&
	    (i = b64url_decode_avx2(&o, p, full)) == (size_t)-1)
		return (-1);
#endif
	for (; full - i >= 8; i += 8) {
		x = b64url_quantum(p + i);
		y = b64url_quantum(p + i + 4);
		if (((x | y) & B64_BAD) != 0)
			return (-1);
		/* 48 bits, big-endian, in the top of a word of 64 */
		v = ((uint64_t)x << 40) | ((uint64_t)y << 16);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		v = __builtin_bswap64(v);
		memcpy(o, &v, sizeof(v));
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		memcpy(o, &v, sizeof(v));
#else
		o[0] = (uint8_t)(v >> 56);
		o[1] = (uint8_t)(v >> 48);
		o[2] = (uint8_t)(v >> 40);
		o[3] = (uint8_t)(v >> 32);
		o[4] = (uint8_t)(v >> 24);
		o[5] = (uint8_t)(v >> 16);
#endif
		o += 6;
	}
	if (i < full) {
		if (((x = b64url_quantum(p + i)) & B64_BAD) != 0)
			return (-1);
		*o++ = (uint8_t)(x >> 16);
		*o++ = (uint8_t)(x >> 8);
		*o++ = (uint8_t)x;
		i += 4;
	}
	switch (len - full) {
	case 0:
		break;
	case 2:
		x = b64url_d0[p[i]] | b64url_d1[p[i + 1]];
		if ((x & B64_BAD) != 0 || (x & 0xffff) != 0)
			return (-1);
		*o++ = (uint8_t)(x >> 16);
		break;
	case 3:
		x = b64url_d0[p[i]] | b64url_d1[p[i + 1]] |
		    b64url_d2[p[i + 2]];
		if ((x & B64_BAD) != 0 || (x & 0xff) != 0)
			return (-1);
		*o++ = (uint8_t)(x >> 16);
		*o++ = (uint8_t)(x >> 8);
		break;
	default:
		return (-1);
	}
	*outlen = (size_t)(o - out);
	return (0);
}

enum baton_reason
baton_envelope_parse(struct baton_envelope *env, const char *text,
    size_t len)
{
	const char		*b64;
	size_t			 b64len, cap, binlen = 0;
	enum baton_reason	 reason;

	memset(env, 0, sizeof(*env));
	if (text == NULL)
		return (BATON_R_BAD_PREFIX);
	/* bound the work before touching the base64 */
	if (len > BATON_MAX_TEXT)
		return (BATON_R_TOO_LARGE);
	if (len < BATON_PREFIX_LEN ||
	    memcmp(text, BATON_PREFIX, BATON_PREFIX_LEN) != 0)
		return (BATON_R_BAD_PREFIX);
	b64 = text + BATON_PREFIX_LEN;
	b64len = len - BATON_PREFIX_LEN;
	cap = b64len / 4 * 3 + 8;
	if ((env->buf = malloc(cap)) == NULL)
		return (BATON_R_MALFORMED);
	if (b64url_decode(env->buf, b64, b64len, &binlen) != 0) {
		/* what was decoded before the bad character is a token too */
		env->len = cap;
		reason = BATON_R_BAD_BASE64;
		goto out;
	}
	env->len = binlen;
	reason = envelope_parse_owned(env);
out:
	if (reason != BATON_R_OK)
		baton_envelope_free(env);
	return (reason);
}

/* ---- chain, signature, tag --------------------------------------------- */

static void
put_u32be(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/*
 * Every link starts from the same unkeyed BLAKE2b-256 state, so it is
 * set up once and copied, and the link's header (domain, kid or previous
 * link, length) goes in as one piece: what a depth-8 chain costs beyond
 * its eight compressions was as much again in init and update calls.
 */
void
baton_chain_hash(uint8_t out[BATON_HASH_LEN],
    const uint8_t kid[BATON_KID_LEN], const uint8_t *const *payloads,
    const size_t *lens, size_t n)
{
	crypto_generichash_state	start, st;
	uint8_t				c[BATON_HASH_LEN];
	uint8_t				hdr[DLEN(D_CHAIN) + BATON_HASH_LEN + 4];
	size_t				i, h;

	memset(c, 0, sizeof(c));
	if (n > 0)
		crypto_generichash_init(&start, NULL, 0, sizeof(c));
	for (i = 0; i < n; i++) {
		st = start;
		if (i == 0) {
			memcpy(hdr, D_CHAIN0, DLEN(D_CHAIN0));
			memcpy(hdr + DLEN(D_CHAIN0), kid, BATON_KID_LEN);
			h = DLEN(D_CHAIN0) + BATON_KID_LEN;
		} else {
			memcpy(hdr, D_CHAIN, DLEN(D_CHAIN));
			memcpy(hdr + DLEN(D_CHAIN), c, sizeof(c));
			h = DLEN(D_CHAIN) + sizeof(c);
		}
		put_u32be(hdr + h, (uint32_t)lens[i]);
		crypto_generichash_update(&st, hdr, h + 4);
		crypto_generichash_update(&st, payloads[i], lens[i]);
		crypto_generichash_final(&st, c, sizeof(c));
	}
	memcpy(out, c, sizeof(c));
}

/*
 * Ed25519 signs a message, not a hash state (Ed25519ph would be another
 * algorithm), so the 45-byte message is assembled on the stack.
 */
#define SIGMSG_LEN	(DLEN(D_SIG) + 1 + BATON_HASH_LEN)

static void
sig_message(uint8_t m[SIGMSG_LEN], const uint8_t chain[BATON_HASH_LEN],
    size_t n)
{
	memcpy(m, D_SIG, DLEN(D_SIG));
	m[DLEN(D_SIG)] = (uint8_t)n;
	memcpy(m + DLEN(D_SIG) + 1, chain, BATON_HASH_LEN);
}

void
baton_chain_sign(uint8_t sig[BATON_SIG_LEN], const struct baton_key *k,
    const uint8_t chain[BATON_HASH_LEN], size_t n)
{
	uint8_t	m[SIGMSG_LEN];

	memset(sig, 0, BATON_SIG_LEN);
	if (k == NULL || baton_key_sk(k) == NULL)
		return;
	sig_message(m, chain, n);
	crypto_sign_detached(sig, NULL, m, sizeof(m), baton_key_sk(k));
}

int
baton_chain_sig_ok(const uint8_t sig[BATON_SIG_LEN], const struct baton_key *k,
    const uint8_t chain[BATON_HASH_LEN], size_t n)
{
	uint8_t	m[SIGMSG_LEN];

	if (k == NULL || n == 0 || n > BATON_MAX_BLOCKS)
		return (0);
	sig_message(m, chain, n);
	return (crypto_sign_verify_detached(sig, m, sizeof(m), k->pk) == 0);
}

void
baton_chain_tag(uint8_t tag[BATON_TAG_LEN], const struct baton_key *k,
    const uint8_t chain[BATON_HASH_LEN])
{
	crypto_generichash_state	st;

	memset(tag, 0, BATON_TAG_LEN);
	if (k == NULL || baton_key_mac(k) == NULL)
		return;
	crypto_generichash_init(&st, baton_key_mac(k), 32, BATON_TAG_LEN);
	crypto_generichash_update(&st, (const unsigned char *)D_TAG,
	    DLEN(D_TAG));
	crypto_generichash_update(&st, chain, BATON_HASH_LEN);
	crypto_generichash_final(&st, tag, BATON_TAG_LEN);
	sodium_memzero(&st, sizeof(st));
}

int
baton_chain_tag_ok(const uint8_t tag[BATON_TAG_LEN], const struct baton_key *k,
    const uint8_t chain[BATON_HASH_LEN])
{
	uint8_t	want[BATON_TAG_LEN];
	int	ok;

	if (k == NULL || baton_key_mac(k) == NULL)
		return (0);
	baton_chain_tag(want, k, chain);
	ok = sodium_memcmp(want, tag, BATON_TAG_LEN) == 0;
	sodium_memzero(want, sizeof(want));
	return (ok);
}

enum baton_reason
baton_envelope_check(const struct baton_envelope *env,
    const struct baton_keyring *kr, enum baton_check_mode mode)
{
	const struct baton_key	*k;
	uint8_t			 chain[BATON_HASH_LEN];

	if (env == NULL || env->nblocks == 0 || env->nblocks > BATON_MAX_BLOCKS)
		return (BATON_R_MALFORMED);
	if ((k = baton_keyring_find(kr, env->kid)) == NULL)
		return (BATON_R_UNKNOWN_KEY);
	baton_chain_hash(chain, env->kid, env->payload, env->paylen,
	    env->nblocks);
	/* a tag that does not match is not an error: it may be federated */
	if (mode == BATON_CHECK_TAG && baton_chain_tag_ok(env->tag, k, chain))
		return (BATON_R_OK);
	if (baton_chain_sig_ok(env->sig, k, chain, env->nblocks))
		return (BATON_R_OK);
	return (BATON_R_BAD_SIGNATURE);
}

/* ---- strict payload decode --------------------------------------------- */

struct dec {
	struct mpr		 r;
	struct baton_arena	*arena;
	enum baton_reason	 reason;	/* first failure */
	size_t			*predbytes;	/* so far in the chain */
	char			*pool;		/* the block's string copies */
	size_t			 poolleft;
};

/* Record a failure; the first one wins. */
static int
dec_fail(struct dec *d, enum baton_reason reason)
{
	if (d->reason == BATON_R_OK)
		d->reason = reason;
	return (-1);
}

static int
dec_bad(struct dec *d)
{
	return (dec_fail(d, BATON_R_BAD_PAYLOAD));
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int
utf8_ok(const uint8_t *s, size_t len)
{
	size_t		i = 0, n, j;
	uint32_t	cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			if (s[i] == 0)
				return (0);
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return (0);
		if (len - i - 1 < n)
			return (0);
		for (j = 1; j <= n; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return (0);
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return (0);
		i += n + 1;
	}
	return (1);
}

/*
 * Word-at-a-time screen for the common case, text that is all ASCII
 * without NUL (and, for names and shown text, without control
 * characters): 1 when every byte is surely acceptable, 0 when some byte
 * needs the exact checks (has_ctl, utf8_ok), which then decide.  So this
 * may only ever say 1 for text those checks accept: a byte >= 0x80, a
 * NUL, or with ctl a byte < 0x20 or 0x7f, makes it say 0.
 */
#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

static inline int
word_clean(uint64_t w, int ctl)
{
	/* with no high bit set, w - ONES * n borrows into a high bit
	 * exactly when some byte is below n (n <= 0x80) */
	if ((w & HIGHS) != 0)
		return (0);
	if (ctl)
		return (((w - ONES * 0x20) & HIGHS) == 0 &&
		    (((w ^ (ONES * 0x7f)) - ONES) & HIGHS) == 0);
	return (((w - ONES) & HIGHS) == 0);
}

static inline int
ascii_clean(const uint8_t *s, size_t len, int ctl)
{
	uint64_t	w;
	size_t		i;

	for (i = 0; len - i >= 8; i += 8) {
		memcpy(&w, s + i, sizeof(w));
		if (!word_clean(w, ctl))
			return (0);
	}
	/* the last few bytes one by one, by the same rules */
	for (; i < len; i++) {
		if (s[i] >= 0x80 || s[i] == 0 ||
		    (ctl && (s[i] < 0x20 || s[i] == 0x7f)))
			return (0);
	}
	return (1);
}

/*
 * Copy a short string without a call: two overlapping words cover 8 to
 * 16 bytes, two half words 4 to 8.
 */
static inline void
copy_short(char *dst, const char *src, size_t len)
{
	uint64_t	a, b;
	uint32_t	c, e;

	if (len >= 8 && len <= 16) {
		memcpy(&a, src, 8);
		memcpy(&b, src + len - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + len - 8, &b, 8);
	} else if (len >= 4 && len < 8) {
		memcpy(&c, src, 4);
		memcpy(&e, src + len - 4, 4);
		memcpy(dst, &c, 4);
		memcpy(dst + len - 4, &e, 4);
	} else
		memcpy(dst, src, len);
}

/* Bytewise order of two strings, shorter first on a common prefix. */
static int
strcmp_len(const char *a, size_t alen, const char *b, size_t blen)
{
	int	c;

	c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return (c);
	return (alen < blen ? -1 : alen > blen);
}

/*
 * Any C0 control character or DEL?  Names and ctx values are shown to
 * people (inspect, logs): an escape sequence or a newline in one could
 * drive their terminal or forge a line, so they may hold none.
 */
static int
has_ctl(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return (1);
	return (0);
}

/*
 * A string value copied into the arena.  ident 1: a name, non-empty and
 * without control characters; 2: shown text (ctx values), may be empty,
 * no control characters; 0: an operand, any text.
 */
/* dec_str is most of a decode's calls: no call frame for it */
#if defined(__GNUC__)
#define DEC_INLINE	inline __attribute__((always_inline))
#else
#define DEC_INLINE	inline
#endif

static DEC_INLINE int
dec_str(struct dec *d, int ident, const char **out, size_t *outlen)
{
	struct mpr	*r = &d->r;
	const char	*s;
	uint32_t	 len;
	char		*copy;

	/* a fixstr that fits is read here, anything else by mpr_str */
	if (r->err == 0 && r->p != r->end && (*r->p & 0xe0) == 0xa0 &&
	    (size_t)(*r->p & 0x1f) < (size_t)(r->end - r->p)) {
		len = *r->p & 0x1f;
		s = (const char *)r->p + 1;
		r->p += 1 + len;
	} else if (mpr_peek(r) != MPR_STR || mpr_str(r, &s, &len) != 0)
		return (dec_bad(d));
	if (ident == 1 && len == 0)
		return (dec_bad(d));
	if (!ascii_clean((const uint8_t *)s, len, ident != 0) &&
	    ((ident != 0 && has_ctl(s, len)) ||
	    !utf8_ok((const uint8_t *)s, len)))
		return (dec_bad(d));
	/*
	 * Copies go to the block's pool: each string took at least its
	 * length and a header byte of the payload, so a pool of the
	 * payload's size holds them all with their NULs.
	 */
	if ((size_t)len < d->poolleft) {
		copy = d->pool;
		copy_short(copy, s, len);
		copy[len] = '\0';
		d->pool += (size_t)len + 1;
		d->poolleft -= (size_t)len + 1;
	} else if ((copy = baton_arena_strndup(d->arena, s, len)) == NULL)
		return (dec_bad(d));
	*out = copy;
	if (outlen != NULL)
		*outlen = len;
	return (0);
}

static inline int
dec_uint(struct dec *d, uint64_t *v)
{
	struct mpr	*r = &d->r;

	const uint8_t	*p = r->p;
	size_t		 left = (size_t)(r->end - p);

	/* a fixint or uint 8, 16, 32 here, anything else by mpr_uint */
	if (r->err == 0 && left > 0) {
		if (*p < 0x80) {
			*v = *p;
			r->p = p + 1;
			return (0);
		}
		if (*p == 0xce && left >= 5) {
			*v = (uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 |
			    (uint64_t)p[3] << 8 | p[4];
			r->p = p + 5;
			return (0);
		}
		if (*p == 0xcd && left >= 3) {
			*v = (uint64_t)p[1] << 8 | p[2];
			r->p = p + 3;
			return (0);
		}
		if (*p == 0xcc && left >= 2) {
			*v = p[1];
			r->p = p + 2;
			return (0);
		}
	}
	if (mpr_uint(r, v) != 0)
		return (dec_bad(d));
	return (0);
}

static void *
dec_alloc(struct dec *d, size_t n, size_t size)
{
	void	*p;

	if (n != 0 && size > SIZE_MAX / n) {
		dec_bad(d);
		return (NULL);
	}
	if ((p = baton_arena_alloc(d->arena, n * size)) == NULL)
		dec_bad(d);
	return (p);
}

/* Array header with its count in [min, max]. */
/*
 * A fixarray (per 1) or fixmap (per 2) header whose entries could still
 * follow, read here: 1 and the count in *n; else 0 and nothing read.
 */
static inline int
fix_container(struct mpr *r, uint8_t type, size_t per, uint32_t *n)
{
	if (r->err != 0 || r->p == r->end || (*r->p & 0xf0) != type ||
	    per * (*r->p & 0x0f) >= (size_t)(r->end - r->p))
		return (0);
	*n = *r->p++ & 0x0f;
	return (1);
}

/* Array header with its count in [min, max]. */
static inline int
dec_array(struct dec *d, uint32_t min, uint32_t max, uint32_t *n)
{
	if (!fix_container(&d->r, 0x90, 1, n) &&
	    (mpr_peek(&d->r) != MPR_ARRAY || mpr_array(&d->r, n) != 0))
		return (dec_bad(d));
	if (*n < min || *n > max)
		return (dec_bad(d));
	return (0);
}

static inline int
dec_map(struct dec *d, uint32_t *n)
{
	if (!fix_container(&d->r, 0x80, 2, n) &&
	    (mpr_peek(&d->r) != MPR_MAP || mpr_map(&d->r, n) != 0))
		return (dec_bad(d));
	return (0);
}

/*
 * A list of identifiers in strictly ascending bytewise order (map keys or
 * array entries).  Checks the order against the previous one.
 */
static DEC_INLINE int
dec_sorted_ident(struct dec *d, const char **prev, size_t *prevlen,
    const char **out)
{
	size_t	len = 0;

	if (dec_str(d, 1, out, &len) != 0)
		return (-1);
	if (*prev != NULL && strcmp_len(*prev, *prevlen, *out, len) >= 0)
		return (dec_bad(d));
	*prev = *out;
	*prevlen = len;
	return (0);
}

static int
action_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		    *s == '_' || *s == '.' || *s == '-'))
			return (0);
	}
	return (1);
}

static int
dec_value(struct dec *d, struct baton_value *v)
{
	int	b;

	switch (mpr_peek(&d->r)) {
	case MPR_STR:
		v->type = BATON_V_STR;
		return (dec_str(d, 0, &v->s, &v->len));
	case MPR_UINT:
	case MPR_INT:
		v->type = BATON_V_INT;
		if (mpr_int(&d->r, &v->i) != 0)
			return (dec_bad(d));
		return (0);
	case MPR_BOOL:
		v->type = BATON_V_BOOL;
		if (mpr_bool(&d->r, &b) != 0)
			return (dec_bad(d));
		v->i = b;
		return (0);
	default:
		return (dec_bad(d));
	}
}

static int
dec_pred(struct dec *d, struct baton_pred *p)
{
	uint32_t	n, i;
	uint64_t	op;

	if (dec_array(d, 2, 3, &n) != 0 || dec_uint(d, &op) != 0)
		return (-1);
	switch (op) {
	case BATON_P_EQ:
		if (n != 2 || (p->vals = dec_alloc(d, 1, sizeof(*p->vals))) ==
		    NULL)
			return (dec_bad(d));
		p->nvals = 1;
		if (dec_value(d, &p->vals[0]) != 0)
			return (-1);
		break;
	case BATON_P_IN:
		if (n != 2 || dec_array(d, 1, MAX_IN, &n) != 0)
			return (dec_bad(d));
		if ((p->vals = dec_alloc(d, n, sizeof(*p->vals))) == NULL)
			return (-1);
		p->nvals = n;
		for (i = 0; i < n; i++) {
			if (dec_value(d, &p->vals[i]) != 0)
				return (-1);
		}
		break;
	case BATON_P_PREFIX:
	case BATON_P_GLOB:
		if (n != 2 || (p->vals = dec_alloc(d, 1, sizeof(*p->vals))) ==
		    NULL)
			return (dec_bad(d));
		p->nvals = 1;
		p->vals[0].type = BATON_V_STR;
		if (dec_str(d, 0, &p->vals[0].s, &p->vals[0].len) != 0)
			return (-1);
		break;
	case BATON_P_RANGE:
		if (n != 3 || mpr_int(&d->r, &p->lo) != 0 ||
		    mpr_int(&d->r, &p->hi) != 0 || p->lo > p->hi)
			return (dec_bad(d));
		break;
	case BATON_P_MAXLEN:
		if (n != 2 || dec_uint(d, &p->maxlen) != 0)
			return (dec_bad(d));
		break;
	default:
		return (dec_bad(d));
	}
	p->op = (enum baton_pred_op)op;
	/* the caps that keep matching cheap: too_large, like a payload */
	if (p->op == BATON_P_GLOB &&
	    !baton_glob_ok(p->vals[0].s, p->vals[0].len))
		return (dec_fail(d, BATON_R_TOO_LARGE));
	if (baton_pred_bytes(p) > BATON_MAX_PRED_BYTES - *d->predbytes)
		return (dec_fail(d, BATON_R_TOO_LARGE));
	*d->predbytes += baton_pred_bytes(p);
	return (0);
}

static int
dec_actions(struct dec *d, struct baton_toolgrant *tg)
{
	const char	*prev = NULL;
	size_t		 prevlen = 0;
	uint32_t	 n, i;

	if (dec_array(d, 0, UINT32_MAX, &n) != 0)
		return (-1);
	if ((tg->actions = dec_alloc(d, n, sizeof(*tg->actions))) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		if (dec_sorted_ident(d, &prev, &prevlen, &tg->actions[i]) != 0)
			return (-1);
		if (!action_ok(tg->actions[i]))
			return (dec_bad(d));
	}
	tg->nactions = n;
	return (0);
}

static int
dec_limits(struct dec *d, struct baton_toolgrant *tg)
{
	const char	*prev = NULL;
	size_t		 prevlen = 0;
	uint32_t	 n, i;

	if (dec_map(d, &n) != 0)
		return (-1);
	if ((tg->limits = dec_alloc(d, n, sizeof(*tg->limits))) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		if (dec_sorted_ident(d, &prev, &prevlen,
		    &tg->limits[i].name) != 0 ||
		    dec_uint(d, &tg->limits[i].max) != 0)
			return (-1);
	}
	tg->nlimits = n;
	return (0);
}

static int
dec_where(struct dec *d, struct baton_toolgrant *tg)
{
	struct baton_argrule	*ar;
	const char		*prev = NULL;
	size_t			 prevlen = 0;
	uint32_t		 n, i, np, j;

	if (dec_map(d, &n) != 0)
		return (-1);
	if ((tg->where = dec_alloc(d, n, sizeof(*tg->where))) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		ar = &tg->where[i];
		if (dec_sorted_ident(d, &prev, &prevlen, &ar->arg) != 0 ||
		    dec_array(d, 1, MAX_PREDS, &np) != 0)
			return (-1);
		if ((ar->preds = dec_alloc(d, np, sizeof(*ar->preds))) == NULL)
			return (-1);
		ar->npreds = np;
		for (j = 0; j < np; j++) {
			if (dec_pred(d, &ar->preds[j]) != 0)
				return (-1);
		}
	}
	tg->nwhere = n;
	return (0);
}

static int
dec_toolgrant(struct dec *d, struct baton_toolgrant *tg)
{
	uint32_t	n, i;
	uint64_t	key, prev = 0;

	if (dec_map(d, &n) != 0)
		return (-1);
	for (i = 0; i < n; i++) {
		if (dec_uint(d, &key) != 0)
			return (-1);
		if (key <= prev)
			return (dec_bad(d));
		prev = key;
		switch (key) {
		case TG_ACTIONS:
			if (dec_actions(d, tg) != 0)
				return (-1);
			break;
		case TG_LIMITS:
			if (dec_limits(d, tg) != 0)
				return (-1);
			break;
		case TG_WHERE:
			if (dec_where(d, tg) != 0)
				return (-1);
			break;
		default:
			/* a new restriction we do not know must not be lost */
			return (dec_fail(d, BATON_R_UNKNOWN_CRITICAL));
		}
	}
	return (0);
}

static int
dec_grants(struct dec *d, struct baton_grants *g)
{
	const char	*s, *prev = NULL;
	size_t		 prevlen = 0;
	uint32_t	 n, i, len;

	/* fixstr, str 8, 16, 32: a str, which may only be "*" */
	if (d->r.err == 0 && d->r.p != d->r.end &&
	    ((*d->r.p & 0xe0) == 0xa0 || (*d->r.p >= 0xd9 && *d->r.p <= 0xdb))) {
		if (mpr_str(&d->r, &s, &len) != 0 || len != 1 || s[0] != '*')
			return (dec_bad(d));
		g->wildcard = 1;
		return (0);
	}
	if (dec_map(d, &n) != 0)
		return (-1);
	if ((g->tools = dec_alloc(d, n, sizeof(*g->tools))) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		if (dec_sorted_ident(d, &prev, &prevlen,
		    &g->tools[i].tool) != 0)
			return (-1);
		if (prevlen == 1 && g->tools[i].tool[0] == '*')
			return (dec_bad(d));
		if (dec_toolgrant(d, &g->tools[i]) != 0)
			return (-1);
	}
	g->ntools = n;
	return (0);
}

static int
dec_aud(struct dec *d, struct baton_block *b)
{
	const char	*prev = NULL;
	size_t		 prevlen = 0;
	uint32_t	 n, i;

	if (dec_array(d, 1, MAX_AUD, &n) != 0)
		return (-1);
	if ((b->aud = dec_alloc(d, n, sizeof(*b->aud))) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		if (dec_sorted_ident(d, &prev, &prevlen, &b->aud[i]) != 0)
			return (-1);
	}
	b->naud = n;
	b->has_aud = 1;
	return (0);
}

static int
dec_ctx(struct dec *d, struct baton_block *b)
{
	const char	*prev = NULL;
	size_t		 prevlen = 0;
	uint32_t	 n, i;

	if (dec_map(d, &n) != 0)
		return (-1);
	if (n > MAX_CTX)
		return (dec_bad(d));
	if ((b->ctx = dec_alloc(d, n, sizeof(*b->ctx))) == NULL)
		return (-1);
	for (i = 0; i < n; i++) {
		if (dec_sorted_ident(d, &prev, &prevlen, &b->ctx[i].key) != 0 ||
		    dec_str(d, 2, &b->ctx[i].value, NULL) != 0)
			return (-1);
	}
	b->nctx = n;
	return (0);
}

/* One field of a block; key order and version are handled by the caller. */
static int
dec_field(struct dec *d, uint64_t key, int is_root, struct baton_block *b)
{
	const uint8_t	*p;
	uint64_t	 v;
	uint32_t	 len;
	int		 bv;

	switch (key) {
	case K_JTI:
		if (bin_fast(&d->r, &p, &len)) {
			if (len != BATON_JTI_LEN)
				return (dec_bad(d));
		} else if (mpr_bin_exact(&d->r, &p, BATON_JTI_LEN) != 0)
			return (dec_bad(d));
		memcpy(b->jti, p, BATON_JTI_LEN);
		return (0);
	case K_IAT:
		return (dec_uint(d, &b->iat));
	case K_NBF:
		if (!is_root)
			return (dec_bad(d));
		return (dec_uint(d, &b->nbf));
	case K_EXP:
		return (dec_uint(d, &b->exp));
	case K_ISS:
		if (!is_root)
			return (dec_bad(d));
		return (dec_str(d, 1, &b->iss, NULL));
	case K_SUB:
		if (!is_root)
			return (dec_bad(d));
		return (dec_str(d, 1, &b->sub, NULL));
	case K_DELEGATOR:
		if (is_root)
			return (dec_bad(d));
		return (dec_str(d, 1, &b->delegator, NULL));
	case K_HOLDER:
		return (dec_str(d, 1, &b->holder, NULL));
	case K_AUD:
		return (dec_aud(d, b));
	case K_GRANTS:
		b->has_grants = 1;
		return (dec_grants(d, &b->grants));
	case K_MAX_DEPTH:
		if (dec_uint(d, &b->max_depth) != 0)
			return (-1);
		if (b->max_depth > MAX_DEPTH)
			return (dec_bad(d));
		b->has_max_depth = 1;
		return (0);
	case K_SINGLE_USE:
		if (mpr_peek(&d->r) != MPR_BOOL || mpr_bool(&d->r, &bv) != 0)
			return (dec_bad(d));
		b->single_use = bv;
		return (0);
	case K_KIND:
		if (is_root || dec_uint(d, &v) != 0)
			return (dec_bad(d));
		if (v != BATON_BLOCK_ATTENUATE && v != BATON_BLOCK_PRESENT)
			return (dec_bad(d));
		b->kind = (enum baton_block_kind)v;
		return (0);
	case K_CTX:
		return (dec_ctx(d, b));
	case K_SEAL:
		if (!is_root || mpr_peek(&d->r) != MPR_BIN ||
		    mpr_bin(&d->r, &p, &len) != 0 ||
		    len < BATON_SEAL_LEN(1) ||
		    len > BATON_SEAL_LEN(BATON_MAX_BLOCKS) ||
		    (len - BATON_SEAL_LEN(0)) % (BATON_JTI_LEN + 9) != 0)
			return (dec_bad(d));
		b->seal = p;
		b->seallen = len;
		return (0);
	case K_ORIGIN:
		if (is_root || mpr_peek(&d->r) != MPR_BIN ||
		    mpr_bin_exact(&d->r, &p, BATON_KID_LEN) != 0)
			return (dec_bad(d));
		b->origin = p;
		return (0);
	}
	if (key == 0)
		return (dec_bad(d));
	if (key < 64 || (key & 1) != 0)
		return (dec_fail(d, BATON_R_UNKNOWN_CRITICAL));
	/* even keys >= 64 are safe to ignore by definition */
	if (mpr_skip(&d->r) != 0)
		return (dec_bad(d));
	return (0);
}

static enum baton_reason
block_decode(struct baton_arena *arena, const uint8_t *buf, size_t len,
    int is_root, struct baton_block *b, size_t *predbytes)
{
	struct dec	d;
	uint32_t	n, i;
	uint64_t	key, prev = 0, v;
	int		have_nbf = 0;
	uint32_t	seen = 0;

	memset(b, 0, sizeof(*b));
	mpr_init(&d.r, buf, len);
	d.arena = arena;
	d.reason = BATON_R_OK;
	d.predbytes = predbytes;
	/* the pool for dec_str; without it strings go one by one */
	d.pool = NULL;
	d.poolleft = 0;
	if (len > 0 && (d.pool = baton_arena_alloc(arena, len)) != NULL)
		d.poolleft = len;

	if (dec_map(&d, &n) != 0)
		goto out;
	/* the version comes first and is checked before anything else */
	if (n == 0 || dec_uint(&d, &key) != 0 || key != K_V) {
		dec_bad(&d);
		goto out;
	}
	if (dec_uint(&d, &v) != 0)
		goto out;
	if (v != BATON_VERSION) {
		dec_fail(&d, BATON_R_UNKNOWN_VERSION);
		goto out;
	}
	b->version = v;
	prev = K_V;
	for (i = 1; i < n; i++) {
		if (dec_uint(&d, &key) != 0)
			goto out;
		if (key <= prev) {
			dec_bad(&d);
			goto out;
		}
		prev = key;
		if (dec_field(&d, key, is_root, b) != 0)
			goto out;
		if (key < 32)
			seen |= 1U << key;
	}
	if (mpr_done(&d.r) != 0) {
		dec_bad(&d);
		goto out;
	}
	have_nbf = (seen & (1U << K_NBF)) != 0;
	if (!(seen & (1U << K_JTI)) || !(seen & (1U << K_IAT)) ||
	    !(seen & (1U << K_EXP)) || b->exp <= b->iat) {
		dec_bad(&d);
		goto out;
	}
	if (is_root) {
		/* a call token names issuer and subject only if disclosed */
		if (((!(seen & (1U << K_ISS)) || !(seen & (1U << K_SUB))) &&
		    b->seal == NULL) || !(seen & (1U << K_GRANTS)) ||
		    !(seen & (1U << K_MAX_DEPTH))) {
			dec_bad(&d);
			goto out;
		}
		if (!have_nbf)
			b->nbf = b->iat;
	} else if (!(seen & (1U << K_DELEGATOR))) {
		dec_bad(&d);
		goto out;
	}
	b->raw = buf;
	b->rawlen = len;
out:
	return (d.reason);
}

/*
 * A token is wiped as far as it was written: its blocks up to nblocks
 * (decode counts the block it is writing), then everything but the
 * blocks.  The blocks past nblocks were never written, and zeroing all
 * sixteen was a sizeable part of a short token's decode.
 */
void
baton_token_free(struct baton_token *tok)
{
	size_t	n;

	if (tok == NULL)
		return;
	baton_envelope_free(&tok->env);
	baton_arena_free(tok->arena);
	n = tok->nblocks <= BATON_MAX_BLOCKS ? tok->nblocks : BATON_MAX_BLOCKS;
	memset(tok->blocks, 0, n * sizeof(tok->blocks[0]));
	tok->nblocks = 0;
	tok->arena = NULL;
	tok->key_not_after = tok->key_trust_until = 0;
}

enum baton_reason
baton_token_decode(struct baton_token *tok, struct baton_envelope *env)
{
	enum baton_reason	reason = BATON_R_MALFORMED;
	size_t			i, n, predbytes = 0;

	/* the blocks are set one by one below; see baton_token_free */
	tok->nblocks = 0;
	tok->arena = NULL;
	tok->key_not_after = tok->key_trust_until = 0;
	if (env == NULL) {
		memset(&tok->env, 0, sizeof(tok->env));
		return (BATON_R_MALFORMED);
	}
	tok->env = *env;
	memset(env, 0, sizeof(*env));
	n = tok->env.nblocks;
	if (n == 0 || n > BATON_MAX_BLOCKS)
		goto out;
	if ((tok->arena = baton_arena_new()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		tok->nblocks = i + 1;	/* block_decode zeroes it first */
		reason = block_decode(tok->arena, tok->env.payload[i],
		    tok->env.paylen[i], i == 0, &tok->blocks[i], &predbytes);
		if (reason != BATON_R_OK)
			goto out;
	}
	reason = BATON_R_OK;
out:
	if (reason != BATON_R_OK)
		baton_token_free(tok);
	return (reason);
}

enum baton_reason
baton_token_open(struct baton_token *tok, const char *text, size_t len,
    const struct baton_keyring *kr, enum baton_check_mode mode)
{
	struct baton_envelope	 env;
	const struct baton_key	*k;
	enum baton_reason	 reason;
	size_t			 i;

	/* decode sets tok as it fills it; the failures before it zero it */
	if ((reason = baton_envelope_parse(&env, text, len)) != BATON_R_OK) {
		memset(tok, 0, sizeof(*tok));
		return (reason);
	}
	if ((reason = baton_envelope_check(&env, kr, mode)) != BATON_R_OK) {
		baton_envelope_free(&env);
		memset(tok, 0, sizeof(*tok));
		return (reason);
	}
	k = baton_keyring_find(kr, env.kid);
	/* decode owns env from here, whatever happens */
	if ((reason = baton_token_decode(tok, &env)) != BATON_R_OK)
		return (reason);
	if (k != NULL) {
		tok->key_not_after = k->not_after;
		tok->key_trust_until = k->trust_until;
	}
	/*
	 * A re-signed chain is only as good as every key it came from: each
	 * origin must still be trusted here, so a bundle that expired or was
	 * removed takes the tokens re-signed from it along (doc/TOKEN.md,
	 * section 13).  The earliest end of any of them applies.
	 */
	for (i = 1; i < tok->nblocks; i++) {
		if (tok->blocks[i].origin == NULL)
			continue;
		if ((k = baton_keyring_find(kr, tok->blocks[i].origin)) ==
		    NULL) {
			baton_token_free(tok);
			return (BATON_R_UNKNOWN_KEY);
		}
		if (k->not_after != 0 && (tok->key_not_after == 0 ||
		    k->not_after < tok->key_not_after))
			tok->key_not_after = k->not_after;
		if (k->trust_until != 0 && (tok->key_trust_until == 0 ||
		    k->trust_until < tok->key_trust_until))
			tok->key_trust_until = k->trust_until;
	}
	return (BATON_R_OK);
}

const uint8_t *
baton_token_root_kid(const struct baton_token *tok)
{
	size_t	i;

	for (i = 1; i < tok->nblocks; i++)
		if (tok->blocks[i].origin != NULL)
			return (tok->blocks[i].origin);
	return (tok->env.kid);
}

enum baton_reason
baton_token_open_unchecked(struct baton_token *tok, const char *text,
    size_t len)
{
	struct baton_envelope	env;
	enum baton_reason	reason;

	if ((reason = baton_envelope_parse(&env, text, len)) != BATON_R_OK) {
		memset(tok, 0, sizeof(*tok));
		return (reason);
	}
	return (baton_token_decode(tok, &env));
}

/* ---- encode ------------------------------------------------------------ */

/*
 * Encoding works on sorted copies of every string-keyed list, so a caller
 * may build a block in any order; duplicates are refused since decode
 * would refuse them.  The sorted copies are pointer arrays into the
 * caller's block, freed before return.
 */

struct enc {
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	int		 err;
};

static void
enc_uint(struct enc *e, uint64_t v)
{
	e->err |= msgpack_pack_uint64(&e->pk, v);
}

static void
enc_int(struct enc *e, int64_t v)
{
	e->err |= msgpack_pack_int64(&e->pk, v);
}

static void
enc_str(struct enc *e, const char *s, size_t len)
{
	e->err |= msgpack_pack_str(&e->pk, len);
	e->err |= msgpack_pack_str_body(&e->pk, s, len);
}

static void
enc_cstr(struct enc *e, const char *s)
{
	enc_str(e, s, strlen(s));
}

static void
enc_bin(struct enc *e, const uint8_t *p, size_t len)
{
	e->err |= msgpack_pack_bin(&e->pk, len);
	e->err |= msgpack_pack_bin_body(&e->pk, p, len);
}

static void
enc_array(struct enc *e, size_t n)
{
	e->err |= msgpack_pack_array(&e->pk, n);
}

static void
enc_map(struct enc *e, size_t n)
{
	e->err |= msgpack_pack_map(&e->pk, n);
}

static int
ident_ok(const char *s)
{
	return (s != NULL && *s != '\0' && !has_ctl(s, strlen(s)) &&
	    utf8_ok((const uint8_t *)s, strlen(s)));
}

static int
text_ok(const char *s, size_t len)
{
	return (s != NULL && strnlen(s, len) == len &&
	    utf8_ok((const uint8_t *)s, len));
}

/* qsort comparators over pointers to the structures being sorted */
static int
cmp_cstr(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

static int
cmp_tool(const void *a, const void *b)
{
	const struct baton_toolgrant *const *x = a, *const *y = b;

	return (strcmp((*x)->tool, (*y)->tool));
}

static int
cmp_limit(const void *a, const void *b)
{
	const struct baton_limit *const *x = a, *const *y = b;

	return (strcmp((*x)->name, (*y)->name));
}

static int
cmp_argrule(const void *a, const void *b)
{
	const struct baton_argrule *const *x = a, *const *y = b;

	return (strcmp((*x)->arg, (*y)->arg));
}

static int
cmp_kv(const void *a, const void *b)
{
	const struct baton_kv *const *x = a, *const *y = b;

	return (strcmp((*x)->key, (*y)->key));
}

/*
 * Sorted copy of an array of n elements of the given size, as an array of
 * pointers; NULL with *rc set on error.  The key of each element must be
 * a valid identifier and unique.  strcmp order on NUL-free UTF-8 is the
 * bytewise order the decoder checks.
 */
static const void **
sorted_ptrs(const void *base, size_t n, size_t size,
    const char *(*key)(const void *), int (*cmp)(const void *, const void *),
    int *rc)
{
	const void	**v;
	size_t		  i;

	if (n == 0)
		return (NULL);
	if (base == NULL) {
		*rc = BATON_EINVAL;
		return (NULL);
	}
	if ((v = calloc(n, sizeof(*v))) == NULL) {
		*rc = BATON_ENOMEM;
		return (NULL);
	}
	for (i = 0; i < n; i++) {
		v[i] = (const char *)base + i * size;
		if (!ident_ok(key(v[i]))) {
			*rc = BATON_EINVAL;
			goto fail;
		}
	}
	qsort(v, n, sizeof(*v), cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(key(v[i - 1]), key(v[i])) == 0) {
			*rc = BATON_EINVAL;
			goto fail;
		}
	}
	return (v);
fail:
	free(v);
	return (NULL);
}

static const char *
key_cstr(const void *p)
{
	return (*(const char *const *)p);
}

static const char *
key_tool(const void *p)
{
	return (((const struct baton_toolgrant *)p)->tool);
}

static const char *
key_limit(const void *p)
{
	return (((const struct baton_limit *)p)->name);
}

static const char *
key_argrule(const void *p)
{
	return (((const struct baton_argrule *)p)->arg);
}

static const char *
key_kv(const void *p)
{
	return (((const struct baton_kv *)p)->key);
}

/*
 * sorted_ptrs hands back element pointers; these sort the element
 * pointers themselves, so the comparators see pointers to pointers.
 */
static int
cmp_elem_cstr(const void *a, const void *b)
{
	return (cmp_cstr(*(const void *const *)a, *(const void *const *)b));
}

static int
enc_value(struct enc *e, const struct baton_value *v)
{
	switch (v->type) {
	case BATON_V_STR:
		if (!text_ok(v->s, v->len))
			return (BATON_EINVAL);
		enc_str(e, v->s, v->len);
		return (0);
	case BATON_V_INT:
		enc_int(e, v->i);
		return (0);
	case BATON_V_BOOL:
		if (v->i != 0 && v->i != 1)
			return (BATON_EINVAL);
		if (v->i)
			e->err |= msgpack_pack_true(&e->pk);
		else
			e->err |= msgpack_pack_false(&e->pk);
		return (0);
	default:
		return (BATON_EINVAL);
	}
}

static int
enc_pred(struct enc *e, const struct baton_pred *p)
{
	size_t	i;
	int	rc;

	switch (p->op) {
	case BATON_P_EQ:
		if (p->nvals != 1 || p->vals == NULL)
			return (BATON_EINVAL);
		enc_array(e, 2);
		enc_uint(e, p->op);
		return (enc_value(e, &p->vals[0]));
	case BATON_P_IN:
		if (p->nvals < 1 || p->nvals > MAX_IN || p->vals == NULL)
			return (BATON_EINVAL);
		enc_array(e, 2);
		enc_uint(e, p->op);
		enc_array(e, p->nvals);
		for (i = 0; i < p->nvals; i++) {
			if ((rc = enc_value(e, &p->vals[i])) != 0)
				return (rc);
		}
		return (0);
	case BATON_P_PREFIX:
	case BATON_P_GLOB:
		if (p->nvals != 1 || p->vals == NULL ||
		    p->vals[0].type != BATON_V_STR)
			return (BATON_EINVAL);
		if (p->op == BATON_P_GLOB &&
		    !baton_glob_ok(p->vals[0].s, p->vals[0].len))
			return (BATON_ETOOBIG);
		enc_array(e, 2);
		enc_uint(e, p->op);
		return (enc_value(e, &p->vals[0]));
	case BATON_P_RANGE:
		if (p->lo > p->hi)
			return (BATON_EINVAL);
		enc_array(e, 3);
		enc_uint(e, p->op);
		enc_int(e, p->lo);
		enc_int(e, p->hi);
		return (0);
	case BATON_P_MAXLEN:
		enc_array(e, 2);
		enc_uint(e, p->op);
		enc_uint(e, p->maxlen);
		return (0);
	}
	return (BATON_EINVAL);
}

static int
enc_toolgrant(struct enc *e, const struct baton_toolgrant *tg)
{
	const void			**acts = NULL, **lims = NULL;
	const void			**rules = NULL;
	const struct baton_limit	 *l;
	const struct baton_argrule	 *ar;
	size_t				  i, j, n;
	int				  rc = 0;

	acts = sorted_ptrs(tg->actions, tg->nactions, sizeof(*tg->actions),
	    key_cstr, cmp_elem_cstr, &rc);
	if (rc != 0)
		goto out;
	for (i = 0; i < tg->nactions; i++) {
		if (!action_ok(key_cstr(acts[i]))) {
			rc = BATON_EINVAL;
			goto out;
		}
	}
	lims = sorted_ptrs(tg->limits, tg->nlimits, sizeof(*tg->limits),
	    key_limit, cmp_limit, &rc);
	if (rc != 0)
		goto out;
	rules = sorted_ptrs(tg->where, tg->nwhere, sizeof(*tg->where),
	    key_argrule, cmp_argrule, &rc);
	if (rc != 0)
		goto out;

	n = (tg->nactions != 0) + (tg->nlimits != 0) + (tg->nwhere != 0);
	enc_map(e, n);
	if (tg->nactions != 0) {
		enc_uint(e, TG_ACTIONS);
		enc_array(e, tg->nactions);
		for (i = 0; i < tg->nactions; i++)
			enc_cstr(e, key_cstr(acts[i]));
	}
	if (tg->nlimits != 0) {
		enc_uint(e, TG_LIMITS);
		enc_map(e, tg->nlimits);
		for (i = 0; i < tg->nlimits; i++) {
			l = lims[i];
			enc_cstr(e, l->name);
			enc_uint(e, l->max);
		}
	}
	if (tg->nwhere != 0) {
		enc_uint(e, TG_WHERE);
		enc_map(e, tg->nwhere);
		for (i = 0; i < tg->nwhere; i++) {
			ar = rules[i];
			if (ar->npreds < 1 || ar->npreds > MAX_PREDS ||
			    ar->preds == NULL) {
				rc = BATON_EINVAL;
				goto out;
			}
			enc_cstr(e, ar->arg);
			enc_array(e, ar->npreds);
			for (j = 0; j < ar->npreds; j++) {
				if ((rc = enc_pred(e, &ar->preds[j])) != 0)
					goto out;
			}
		}
	}
out:
	free(acts);
	free(lims);
	free(rules);
	return (rc);
}

static int
enc_grants(struct enc *e, const struct baton_grants *g)
{
	const void	**tools = NULL;
	size_t		  i;
	int		  rc = 0;

	if (g->wildcard) {
		if (g->ntools != 0)
			return (BATON_EINVAL);
		enc_cstr(e, "*");
		return (0);
	}
	tools = sorted_ptrs(g->tools, g->ntools, sizeof(*g->tools), key_tool,
	    cmp_tool, &rc);
	if (rc != 0)
		goto out;
	enc_map(e, g->ntools);
	for (i = 0; i < g->ntools; i++) {
		const struct baton_toolgrant *tg = tools[i];

		if (strcmp(tg->tool, "*") == 0) {
			rc = BATON_EINVAL;
			goto out;
		}
		enc_cstr(e, tg->tool);
		if ((rc = enc_toolgrant(e, tg)) != 0)
			goto out;
	}
out:
	free(tools);
	return (rc);
}

int
baton_block_encode(const struct baton_block *b, int is_root, uint8_t **out,
    size_t *outlen)
{
	struct enc	  e;
	const void	**aud = NULL, **ctx = NULL;
	size_t		  n, i;
	int		  rc = 0, wnbf, wkind;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (b == NULL || out == NULL || outlen == NULL)
		return (BATON_EINVAL);
	msgpack_sbuffer_init(&e.sb);
	msgpack_packer_init(&e.pk, &e.sb, msgpack_sbuffer_write);
	e.err = 0;

	/* refuse what decode would refuse */
	rc = BATON_EINVAL;
	if (b->version != 0 && b->version != BATON_VERSION)
		goto out;
	if (b->exp <= b->iat)
		goto out;
	if (b->kind != BATON_BLOCK_ATTENUATE && b->kind != BATON_BLOCK_PRESENT)
		goto out;
	if (b->holder != NULL && !ident_ok(b->holder))
		goto out;
	if (is_root) {
		if (((!ident_ok(b->iss) || !ident_ok(b->sub)) &&
		    b->seal == NULL) ||
		    (b->iss != NULL && !ident_ok(b->iss)) ||
		    (b->sub != NULL && !ident_ok(b->sub)) ||
		    (b->seal != NULL && (b->seallen < BATON_SEAL_LEN(1) ||
		    b->seallen > BATON_SEAL_LEN(BATON_MAX_BLOCKS))) ||
		    b->delegator != NULL || !b->has_grants ||
		    !b->has_max_depth || b->kind != BATON_BLOCK_ATTENUATE)
			goto out;
	} else {
		if (!ident_ok(b->delegator) || b->iss != NULL ||
		    b->sub != NULL || b->seal != NULL)
			goto out;
	}
	if (is_root && b->origin != NULL)
		goto out;
	if (b->has_max_depth && b->max_depth > MAX_DEPTH)
		goto out;
	if (b->has_aud && (b->naud < 1 || b->naud > MAX_AUD))
		goto out;
	if (b->nctx > MAX_CTX)
		goto out;
	rc = BATON_ETOOBIG;
	if (b->has_grants &&
	    baton_grants_pred_bytes(&b->grants) > BATON_MAX_PRED_BYTES)
		goto out;
	rc = 0;
	if (b->has_aud) {
		aud = sorted_ptrs(b->aud, b->naud, sizeof(*b->aud), key_cstr,
		    cmp_elem_cstr, &rc);
		if (rc != 0)
			goto out;
	}
	ctx = sorted_ptrs(b->ctx, b->nctx, sizeof(*b->ctx), key_kv, cmp_kv,
	    &rc);
	if (rc != 0)
		goto out;
	for (i = 0; i < b->nctx; i++) {
		const struct baton_kv *kv = ctx[i];

		if (kv->value == NULL ||
		    !text_ok(kv->value, strlen(kv->value)) ||
		    has_ctl(kv->value, strlen(kv->value))) {
			rc = BATON_EINVAL;
			goto out;
		}
	}

	wnbf = is_root && b->nbf != b->iat;
	wkind = !is_root && b->kind == BATON_BLOCK_PRESENT;
	n = 4 + (size_t)wnbf + (is_root ? (b->iss != NULL) + (b->sub != NULL) :
	    1) + (b->seal != NULL) + (b->holder != NULL) +
	    (b->has_aud != 0) + (is_root || b->has_grants) +
	    (is_root || b->has_max_depth) + (b->single_use != 0) +
	    (size_t)wkind + (b->nctx != 0) + (b->origin != NULL);
	enc_map(&e, n);
	enc_uint(&e, K_V);
	enc_uint(&e, BATON_VERSION);
	enc_uint(&e, K_JTI);
	enc_bin(&e, b->jti, BATON_JTI_LEN);
	enc_uint(&e, K_IAT);
	enc_uint(&e, b->iat);
	if (wnbf) {
		enc_uint(&e, K_NBF);
		enc_uint(&e, b->nbf);
	}
	enc_uint(&e, K_EXP);
	enc_uint(&e, b->exp);
	if (is_root) {
		if (b->iss != NULL) {
			enc_uint(&e, K_ISS);
			enc_cstr(&e, b->iss);
		}
		if (b->sub != NULL) {
			enc_uint(&e, K_SUB);
			enc_cstr(&e, b->sub);
		}
	} else {
		enc_uint(&e, K_DELEGATOR);
		enc_cstr(&e, b->delegator);
	}
	if (b->holder != NULL) {
		enc_uint(&e, K_HOLDER);
		enc_cstr(&e, b->holder);
	}
	if (b->has_aud) {
		enc_uint(&e, K_AUD);
		enc_array(&e, b->naud);
		for (i = 0; i < b->naud; i++)
			enc_cstr(&e, key_cstr(aud[i]));
	}
	if (is_root || b->has_grants) {
		enc_uint(&e, K_GRANTS);
		if ((rc = enc_grants(&e, &b->grants)) != 0)
			goto out;
	}
	if (is_root || b->has_max_depth) {
		enc_uint(&e, K_MAX_DEPTH);
		enc_uint(&e, b->max_depth);
	}
	if (b->single_use) {
		enc_uint(&e, K_SINGLE_USE);
		e.err |= msgpack_pack_true(&e.pk);
	}
	if (wkind) {
		enc_uint(&e, K_KIND);
		enc_uint(&e, BATON_BLOCK_PRESENT);
	}
	if (b->nctx != 0) {
		enc_uint(&e, K_CTX);
		enc_map(&e, b->nctx);
		for (i = 0; i < b->nctx; i++) {
			const struct baton_kv *kv = ctx[i];

			enc_cstr(&e, kv->key);
			enc_cstr(&e, kv->value);
		}
	}
	if (b->seal != NULL) {
		enc_uint(&e, K_SEAL);
		enc_bin(&e, b->seal, b->seallen);
	}
	if (b->origin != NULL) {
		enc_uint(&e, K_ORIGIN);
		enc_bin(&e, b->origin, BATON_KID_LEN);
	}
	if (e.err != 0) {
		rc = BATON_ENOMEM;
		goto out;
	}
	if (e.sb.size > BATON_MAX_PAYLOAD) {
		rc = BATON_ETOOBIG;
		goto out;
	}
	*outlen = e.sb.size;
	*out = (uint8_t *)msgpack_sbuffer_release(&e.sb);
	rc = 0;
out:
	free(aud);
	free(ctx);
	msgpack_sbuffer_destroy(&e.sb);
	return (rc);
}

/* ---- seal and extend --------------------------------------------------- */

int
baton_token_seal(char **text, const struct baton_key *k,
    const uint8_t *const *payloads, const size_t *lens, size_t n)
{
	struct enc	 e;
	uint8_t		 chain[BATON_HASH_LEN], sig[BATON_SIG_LEN];
	uint8_t		 tag[BATON_TAG_LEN];
	char		*t = NULL;
	size_t		 i, tlen, cap;
	int		 rc;

	if (text != NULL)
		*text = NULL;
	msgpack_sbuffer_init(&e.sb);
	msgpack_packer_init(&e.pk, &e.sb, msgpack_sbuffer_write);
	e.err = 0;

	rc = BATON_EINVAL;
	if (text == NULL || payloads == NULL || lens == NULL)
		goto out;
	if (n == 0 || n > BATON_MAX_BLOCKS) {
		rc = n == 0 ? BATON_EINVAL : BATON_ETOOBIG;
		goto out;
	}
	if (k == NULL || !k->can_sign || baton_key_sk(k) == NULL) {
		rc = BATON_ENOKEY;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (payloads[i] == NULL) {
			rc = BATON_EINVAL;
			goto out;
		}
		if (lens[i] > BATON_MAX_PAYLOAD) {
			rc = BATON_ETOOBIG;
			goto out;
		}
	}

	/*
	 * The envelope is a bearer credential: size its buffer up front so
	 * the packer never reallocates and leaves copies behind, and wipe
	 * it on the way out.
	 */
	cap = 128;
	for (i = 0; i < n; i++)
		cap += lens[i] + 5;
	if ((e.sb.data = malloc(cap)) == NULL) {
		rc = BATON_ENOMEM;
		goto out;
	}
	e.sb.alloc = cap;

	baton_chain_hash(chain, k->kid, payloads, lens, n);
	baton_chain_sign(sig, k, chain, n);
	baton_chain_tag(tag, k, chain);

	enc_array(&e, 5);
	enc_uint(&e, BATON_FMT);
	enc_bin(&e, k->kid, BATON_KID_LEN);
	enc_array(&e, n);
	for (i = 0; i < n; i++)
		enc_bin(&e, payloads[i], lens[i]);
	enc_bin(&e, sig, BATON_SIG_LEN);
	enc_bin(&e, tag, BATON_TAG_LEN);
	if (e.err != 0) {
		rc = BATON_ENOMEM;
		goto out;
	}
	if (e.sb.size > BATON_MAX_ENVELOPE) {
		rc = BATON_ETOOBIG;
		goto out;
	}

	tlen = BATON_PREFIX_LEN + BATON_B64URL_LEN(e.sb.size) + 1;
	if ((t = malloc(tlen)) == NULL) {
		rc = BATON_ENOMEM;
		goto out;
	}
	memcpy(t, BATON_PREFIX, BATON_PREFIX_LEN);
	baton_b64url_encode(t + BATON_PREFIX_LEN,
	    (const uint8_t *)e.sb.data, e.sb.size);
	*text = t;
	t = NULL;
	rc = 0;
out:
	free(t);
	sodium_memzero(tag, sizeof(tag));
	if (e.sb.data != NULL)
		sodium_memzero(e.sb.data, e.sb.alloc);
	msgpack_sbuffer_destroy(&e.sb);
	return (rc);
}

int
baton_token_extend(char **text, const struct baton_token *parent,
    const struct baton_key *k, const uint8_t *payload, size_t len)
{
	const uint8_t	*payloads[BATON_MAX_BLOCKS];
	size_t		 lens[BATON_MAX_BLOCKS], i, n;

	if (text != NULL)
		*text = NULL;
	if (text == NULL || parent == NULL || payload == NULL)
		return (BATON_EINVAL);
	n = parent->env.nblocks;
	if (n == 0)
		return (BATON_EINVAL);
	if (n >= BATON_MAX_BLOCKS)
		return (BATON_ETOOBIG);
	/* the parent's payloads exactly as carried, never re-encoded */
	for (i = 0; i < n; i++) {
		payloads[i] = parent->env.payload[i];
		lens[i] = parent->env.paylen[i];
	}
	payloads[n] = payload;
	lens[n] = len;
	return (baton_token_seal(text, k, payloads, lens, n + 1));
}
