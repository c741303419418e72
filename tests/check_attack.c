/* check_attack.c: the attack matrix: forged, mangled and widened tokens. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <msgpack.h>
#include <sodium.h>

#include "common.h"
#include "testutil.h"
#include "wire.h"

/*
 * Every test builds its tokens from one fixed seed and one fixed clock, so
 * every byte is the same in every run, then attacks them and expects one
 * specific reason.  Envelopes are rebuilt here with a small msgpack writer
 * of our own, never with the codec under test, so a mangled envelope is
 * exactly the bytes the test means.  Tokens that only the chain rules can
 * stop (a child claiming more than its parent) are written block by block
 * and sealed with the test key, bypassing baton_attenuate, exactly as a
 * buggy or compromised broker could.
 *
 * The count-bomb tests prove by their reason that the bounded reader
 * refused the header; that nothing was allocated for it is shown by
 * running this suite under valgrind (CK_FORK=no) and ASan, where a
 * request of gigabytes fails the run.
 */

#define NOW		((uint64_t)1800000000)	/* the fixed clock */
#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* The attack key: seed 0x00..0x1f, as in the golden vectors. */
static const uint8_t seed_main[BATON_SEED_LEN] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f
};

/* ---- a small msgpack writer, independent of the codec --------------------- */

struct buf {
	uint8_t	*p;
	size_t	 len, cap;
};

static void
buf_put(struct buf *b, const void *p, size_t n)
{
	uint8_t	*np;
	size_t	 ncap;

	if (b->len + n > b->cap) {
		ncap = b->cap == 0 ? 256 : b->cap;
		while (ncap < b->len + n)
			ncap *= 2;
		np = realloc(b->p, ncap);
		ck_assert_ptr_nonnull(np);
		b->p = np;
		b->cap = ncap;
	}
	if (n != 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
buf_byte(struct buf *b, uint8_t c)
{
	buf_put(b, &c, 1);
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Tag byte then n big-endian bytes of v. */
static void
mp_be(struct buf *b, uint8_t tag, uint64_t v, size_t n)
{
	size_t	i;

	buf_byte(b, tag);
	for (i = n; i > 0; i--)
		buf_byte(b, (uint8_t)(v >> (8 * (i - 1))));
}

static void
mp_uint(struct buf *b, uint64_t v)
{
	if (v < 0x80)
		buf_byte(b, (uint8_t)v);
	else if (v <= 0xff)
		mp_be(b, 0xcc, v, 1);
	else if (v <= 0xffff)
		mp_be(b, 0xcd, v, 2);
	else if (v <= 0xffffffffu)
		mp_be(b, 0xce, v, 4);
	else
		mp_be(b, 0xcf, v, 8);
}

static void
mp_str(struct buf *b, const char *s)
{
	size_t	n = strlen(s);

	if (n < 32)
		buf_byte(b, (uint8_t)(0xa0 | n));
	else if (n <= 0xff)
		mp_be(b, 0xd9, n, 1);
	else
		mp_be(b, 0xda, n, 2);
	buf_put(b, s, n);
}

static void
mp_bin(struct buf *b, const uint8_t *p, size_t n)
{
	if (n <= 0xff)
		mp_be(b, 0xc4, n, 1);
	else if (n <= 0xffff)
		mp_be(b, 0xc5, n, 2);
	else
		mp_be(b, 0xc6, n, 4);
	buf_put(b, p, n);
}

static void
mp_array(struct buf *b, size_t n)
{
	if (n < 16)
		buf_byte(b, (uint8_t)(0x90 | n));
	else
		mp_be(b, 0xdc, n, 2);
}

static void
mp_map(struct buf *b, size_t n)
{
	if (n < 16)
		buf_byte(b, (uint8_t)(0x80 | n));
	else
		mp_be(b, 0xde, n, 2);
}

/* ---- envelopes and text --------------------------------------------------- */

/* The parts of a token, pointing into some other buffer. */
struct parts {
	uint64_t	 fmt;
	uint8_t		 kid[BATON_KID_LEN];
	const uint8_t	*pay[BATON_MAX_BLOCKS + 2];
	size_t		 len[BATON_MAX_BLOCKS + 2];
	size_t		 n;
	uint8_t		 sig[BATON_SIG_LEN];
	uint8_t		 tag[BATON_TAG_LEN];
};

static void
env_build(struct buf *b, const struct parts *t)
{
	size_t	i;

	mp_array(b, 5);
	mp_uint(b, t->fmt);
	mp_bin(b, t->kid, BATON_KID_LEN);
	mp_array(b, t->n);
	for (i = 0; i < t->n; i++)
		mp_bin(b, t->pay[i], t->len[i]);
	mp_bin(b, t->sig, BATON_SIG_LEN);
	mp_bin(b, t->tag, BATON_TAG_LEN);
}

/* "bt1_" + base64url(bytes), malloc'd. */
static char *
to_text(const uint8_t *p, size_t n)
{
	size_t	 tlen;
	char	*t;

	tlen = BATON_PREFIX_LEN + sodium_base64_encoded_len(n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	t = malloc(tlen);
	ck_assert_ptr_nonnull(t);
	memcpy(t, BATON_PREFIX, BATON_PREFIX_LEN);
	sodium_bin2base64(t + BATON_PREFIX_LEN, tlen - BATON_PREFIX_LEN, p, n,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return (t);
}

static enum baton_reason
open_text(const char *text, size_t len, const struct baton_keyring *kr,
    enum baton_check_mode mode, struct baton_token *keep)
{
	struct baton_token	tok;
	enum baton_reason	r;

	r = baton_token_open(&tok, text, len, kr, mode);
	if (keep != NULL && r == BATON_R_OK)
		*keep = tok;
	else
		baton_token_free(&tok);
	return (r);
}

/* Open raw envelope bytes the way a verifier meets them: as text. */
static enum baton_reason
open_bytes(const uint8_t *p, size_t n, const struct baton_keyring *kr,
    enum baton_check_mode mode)
{
	enum baton_reason	 r;
	char			*t;

	t = to_text(p, n);
	r = open_text(t, strlen(t), kr, mode, NULL);
	free(t);
	return (r);
}

static enum baton_reason
open_parts(const struct parts *t, const struct baton_keyring *kr,
    enum baton_check_mode mode)
{
	struct buf		b = { 0 };
	enum baton_reason	r;

	env_build(&b, t);
	r = open_bytes(b.p, b.len, kr, mode);
	buf_free(&b);
	return (r);
}

#define ASSERT_REASON(got, want) do {					\
	enum baton_reason g_ = (got), w_ = (want);			\
	ck_assert_msg(g_ == w_, "reason %s (%d), want %s (%d)",	\
	    baton_reason_name(g_), g_, baton_reason_name(w_), w_);	\
} while (0)

/* ---- fixture: key, keyring, the base 3-block token ------------------------ */

static struct baton_arena	*A;
static struct baton_key		*K;		/* signing key (not owned) */
static struct baton_keyring	 KR;		/* holds K */
static struct baton_block	 base[3];	/* root -> attenuate -> present */
static char			*base_text;
static struct baton_envelope	 base_env;	/* base_text parsed */
static struct parts		 base_parts;

static void
parts_from_env(struct parts *t, const struct baton_envelope *env)
{
	size_t	i;

	memset(t, 0, sizeof(*t));
	t->fmt = BATON_FMT;
	memcpy(t->kid, env->kid, BATON_KID_LEN);
	for (i = 0; i < env->nblocks; i++) {
		t->pay[i] = env->payload[i];
		t->len[i] = env->paylen[i];
	}
	t->n = env->nblocks;
	memcpy(t->sig, env->sig, BATON_SIG_LEN);
	memcpy(t->tag, env->tag, BATON_TAG_LEN);
}

static void
parse_text(struct baton_envelope *env, const char *text)
{
	ASSERT_REASON(baton_envelope_parse(env, text, strlen(text)),
	    BATON_R_OK);
}

static struct baton_key *
key_main(void)
{
	struct baton_key	*k = NULL;

	ck_assert_int_eq(baton_key_from_seed(&k, seed_main), 0);
	return (k);
}

static void
setup(void)
{
	struct baton_toolgrant	*tg;

	ck_assert_int_ge(sodium_init(), 0);
	A = tu_arena();
	baton_keyring_init(&KR);
	K = key_main();
	ck_assert_int_eq(baton_keyring_add(&KR, K), 0);

	tu_root(&base[0], 0x01, NOW, 3600);
	tg = tu_tool(A, &base[0], "db_query", "read,write");
	tu_limit(A, tg, "max_rows", 100);
	tu_tool(A, &base[0], "file_read", "read");
	tu_aud(A, &base[0], "db,files");

	tu_child(&base[1], 0x02, NOW, 1800, "orchestrator");
	tg = tu_tool(A, &base[1], "db_query", "read");
	tu_limit(A, tg, "max_rows", 50);
	tu_aud(A, &base[1], "db");

	tu_child(&base[2], 0x03, NOW, 60, "worker-a");
	tu_tool(A, &base[2], "db_query", "read");
	tu_aud(A, &base[2], "db");
	base[2].single_use = 1;
	base[2].kind = BATON_BLOCK_PRESENT;

	base_text = tu_seal(K, base, 3);
	parse_text(&base_env, base_text);
	parts_from_env(&base_parts, &base_env);
}

static void
teardown(void)
{
	baton_envelope_free(&base_env);
	free(base_text);
	baton_keyring_clear(&KR);
	baton_arena_free(A);
}

/* A request for db_query/read by audience db at now. */
static void
req_init(struct baton_request *q, const char *tool, const char *action,
    const char *aud, uint64_t now)
{
	memset(q, 0, sizeof(*q));
	q->tool = tool;
	q->action = action;
	q->audience = aud;
	q->now = now;
}

static enum baton_reason
eval_text(const char *text, const struct baton_request *q)
{
	struct baton_token	tok;
	enum baton_reason	r;

	tu_open(&tok, text, &KR);
	r = baton_evaluate(&tok, q, NULL, NULL);
	baton_token_free(&tok);
	return (r);
}

START_TEST(test_base_ok)
{
	struct baton_request	q;
	struct baton_usage	u = { "max_rows", 50 };

	/* the token every attack starts from is good in both modes */
	ASSERT_REASON(open_text(base_text, strlen(base_text), &KR,
	    BATON_CHECK_SIG, NULL), BATON_R_OK);
	ASSERT_REASON(open_text(base_text, strlen(base_text), &KR,
	    BATON_CHECK_TAG, NULL), BATON_R_OK);
	ASSERT_REASON(open_parts(&base_parts, &KR, BATON_CHECK_SIG),
	    BATON_R_OK);
	req_init(&q, "db_query", "read", "db", NOW + 1);
	q.usage = &u;
	q.nusage = 1;
	ASSERT_REASON(eval_text(base_text, &q), BATON_R_OK);
}
END_TEST

/* ---- every flipped bit ---------------------------------------------------- */

/*
 * Regions of the base envelope.  The expected outcome of a flipped bit
 * depends only on where it lands:
 *   structure (array, fmt, headers): the envelope no longer parses;
 *   kid: no trusted key has that kid;
 *   payload bytes: the chain hash changes, so neither tag nor signature
 *     holds (and the payload is never decoded: bad_signature, not
 *     bad_payload, proves the order);
 *   signature bytes: bad_signature offline; accepted in TAG mode, because
 *     the tag over the unchanged chain still holds;
 *   tag bytes: accepted in both modes: offline verifiers never look at
 *     the tag, and in TAG mode the broker falls back to the signature.
 * In the two accepted cases the payloads are untouched, so the decoded
 * token is the original one: nothing was gained.
 */
enum region {
	RG_ARRAY, RG_FMT, RG_KID_HDR, RG_KID, RG_LIST_HDR, RG_PAY_HDR, RG_PAY,
	RG_SIG_HDR, RG_SIG, RG_TAG_HDR, RG_TAG, RG_MAX
};

static const char *const region_names[RG_MAX] = {
	"array", "fmt", "kid header", "kid", "payload list header",
	"payload header", "payload", "sig header", "sig", "tag header", "tag"
};

static enum region
region_of(size_t off)
{
	const struct baton_envelope	*e = &base_env;
	size_t				 i, start, end, len = e->len;

	if (off == 0)
		return (RG_ARRAY);
	if (off == 1)
		return (RG_FMT);
	if (off < 4)
		return (RG_KID_HDR);
	if (off < 4 + BATON_KID_LEN)
		return (RG_KID);
	if (off == 4 + BATON_KID_LEN)
		return (RG_LIST_HDR);
	for (i = 0; i < e->nblocks; i++) {
		start = (size_t)(e->payload[i] - e->buf);
		end = start + e->paylen[i];
		if (off < start)
			return (RG_PAY_HDR);
		if (off < end)
			return (RG_PAY);
	}
	if (off < len - BATON_TAG_LEN - 2 - BATON_SIG_LEN)
		return (RG_SIG_HDR);
	if (off < len - BATON_TAG_LEN - 2)
		return (RG_SIG);
	if (off < len - BATON_TAG_LEN)
		return (RG_TAG_HDR);
	return (RG_TAG);
}

/* Is reason r an acceptable outcome of flipping bit `bit` at off? */
static int
flip_expected(enum region rg, enum baton_check_mode mode, uint8_t orig,
    uint8_t bit, enum baton_reason r)
{
	switch (rg) {
	case RG_ARRAY:
	case RG_KID_HDR:
	case RG_LIST_HDR:
	case RG_SIG_HDR:
	case RG_TAG_HDR:
		return (r == BATON_R_MALFORMED);
	case RG_FMT:
		/* 0x01 ^ 0x80 is a fixmap: not an integer at all */
		if (((orig ^ bit) & 0x80) != 0)
			return (r == BATON_R_MALFORMED);
		return (r == BATON_R_UNKNOWN_FORMAT);
	case RG_KID:
		return (r == BATON_R_UNKNOWN_KEY);
	case RG_PAY_HDR:
		/* a payload length changes: everything after is misaligned */
		return (r == BATON_R_MALFORMED || r == BATON_R_TOO_LARGE ||
		    r == BATON_R_TRAILING_BYTES);
	case RG_PAY:
		return (r == BATON_R_BAD_SIGNATURE);
	case RG_SIG:
		return (r == (mode == BATON_CHECK_TAG ? BATON_R_OK :
		    BATON_R_BAD_SIGNATURE));
	case RG_TAG:
		return (r == BATON_R_OK);
	default:
		return (0);
	}
}

/* _i: region * 2 + (0 SIG mode, 1 TAG mode) */
START_TEST(test_flip)
{
	enum region		 rg = (enum region)(_i / 2);
	enum baton_check_mode	 mode = _i % 2 ? BATON_CHECK_TAG :
				    BATON_CHECK_SIG;
	struct baton_token	 tok;
	uint8_t			*m;
	size_t			 off, bit, hits = 0, len = base_env.len;
	enum baton_reason	 r;
	char			*t;

	m = malloc(len);
	ck_assert_ptr_nonnull(m);
	for (off = 0; off < len; off++) {
		if (region_of(off) != rg)
			continue;
		for (bit = 0; bit < 8; bit++) {
			memcpy(m, base_env.buf, len);
			m[off] ^= (uint8_t)(1u << bit);
			t = to_text(m, len);
			r = open_text(t, strlen(t), &KR, mode, &tok);
			free(t);
			ck_assert_msg(flip_expected(rg, mode, base_env.buf[off],
			    (uint8_t)(1u << bit), r),
			    "%s mode, %s byte %zu bit %zu: got %s",
			    mode == BATON_CHECK_TAG ? "TAG" : "SIG",
			    region_names[rg], off, bit, baton_reason_name(r));
			if (r == BATON_R_OK) {
				/* accepted only with the original payloads */
				ck_assert(rg == RG_SIG || rg == RG_TAG);
				ck_assert_uint_eq(tok.nblocks, 3);
				tu_assert_block_eq(&tok.blocks[0], &base[0]);
				tu_assert_block_eq(&tok.blocks[1], &base[1]);
				tu_assert_block_eq(&tok.blocks[2], &base[2]);
				baton_token_free(&tok);
			}
			hits++;
		}
	}
	free(m);
	ck_assert_msg(hits > 0, "region %s is empty", region_names[rg]);
}
END_TEST

/* The flip test really sees every byte: regions cover the envelope. */
START_TEST(test_flip_regions_cover)
{
	size_t	count[RG_MAX], off;
	int	i;

	memset(count, 0, sizeof(count));
	for (off = 0; off < base_env.len; off++)
		count[region_of(off)]++;
	ck_assert_uint_eq(count[RG_ARRAY], 1);
	ck_assert_uint_eq(count[RG_FMT], 1);
	ck_assert_uint_eq(count[RG_KID_HDR], 2);
	ck_assert_uint_eq(count[RG_KID], BATON_KID_LEN);
	ck_assert_uint_eq(count[RG_LIST_HDR], 1);
	ck_assert_uint_eq(count[RG_PAY], base_env.paylen[0] +
	    base_env.paylen[1] + base_env.paylen[2]);
	ck_assert_uint_eq(count[RG_PAY_HDR], 2 * 3);	/* bin 8 each */
	ck_assert_uint_eq(count[RG_SIG_HDR], 2);
	ck_assert_uint_eq(count[RG_SIG], BATON_SIG_LEN);
	ck_assert_uint_eq(count[RG_TAG_HDR], 2);
	ck_assert_uint_eq(count[RG_TAG], BATON_TAG_LEN);
	for (i = 0; i < RG_MAX; i++)
		ck_assert_uint_gt(count[i], 0);
}
END_TEST

/* ---- blocks dropped, swapped, spliced ------------------------------------- */

START_TEST(test_truncate_last)
{
	struct parts	t = base_parts;

	/* a prefix of the chain keeps the old signature and tag */
	t.n = 2;
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_BAD_SIGNATURE);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_TAG),
	    BATON_R_BAD_SIGNATURE);
	t.n = 1;
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_BAD_SIGNATURE);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_TAG),
	    BATON_R_BAD_SIGNATURE);
}
END_TEST

START_TEST(test_drop_middle)
{
	struct parts	t = base_parts;

	t.pay[1] = base_parts.pay[2];
	t.len[1] = base_parts.len[2];
	t.n = 2;
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_BAD_SIGNATURE);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_TAG),
	    BATON_R_BAD_SIGNATURE);
}
END_TEST

START_TEST(test_swap_blocks)
{
	struct parts	t = base_parts;

	t.pay[1] = base_parts.pay[2];
	t.len[1] = base_parts.len[2];
	t.pay[2] = base_parts.pay[1];
	t.len[2] = base_parts.len[1];
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_BAD_SIGNATURE);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_TAG),
	    BATON_R_BAD_SIGNATURE);
	/* the root moved away from position 0 */
	t = base_parts;
	t.pay[0] = base_parts.pay[1];
	t.len[0] = base_parts.len[1];
	t.pay[1] = base_parts.pay[0];
	t.len[1] = base_parts.len[0];
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_BAD_SIGNATURE);
}
END_TEST

/* The same block appended once more, keeping the signature. */
START_TEST(test_duplicate_block_unsigned)
{
	struct parts	t = base_parts;

	t.pay[3] = base_parts.pay[2];
	t.len[3] = base_parts.len[2];
	t.n = 4;
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_BAD_SIGNATURE);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_TAG),
	    BATON_R_BAD_SIGNATURE);
}
END_TEST

/*
 * Two siblings from one parent: T1 = root, A, present; T2 = root, B.
 * Moving B into T1 (in place of A, or appended) with either token's
 * signature and tag fails: the chain hash binds every block's position.
 */
START_TEST(test_splice_sibling)
{
	struct baton_block	 sib[2];
	struct baton_envelope	 e2;
	struct parts		 t2, t;
	char			*text2;
	const uint8_t		*bpay;
	size_t			 blen, v;

	sib[0] = base[0];
	tu_child(&sib[1], 0x12, NOW, 1800, "orchestrator");
	tu_tool(A, &sib[1], "file_read", "read");
	tu_aud(A, &sib[1], "files");
	text2 = tu_seal(K, sib, 2);
	parse_text(&e2, text2);
	parts_from_env(&t2, &e2);
	/* the root payload is byte-identical in both siblings */
	ck_assert_uint_eq(t2.len[0], base_parts.len[0]);
	ck_assert_int_eq(memcmp(t2.pay[0], base_parts.pay[0], t2.len[0]), 0);
	bpay = t2.pay[1];
	blen = t2.len[1];

	for (v = 0; v < 4; v++) {
		t = base_parts;
		switch (v) {
		case 0:		/* B replaces A, T1's signature */
			t.pay[1] = bpay;
			t.len[1] = blen;
			break;
		case 1:		/* B replaces A, T2's signature and tag */
			t.pay[1] = bpay;
			t.len[1] = blen;
			memcpy(t.sig, t2.sig, BATON_SIG_LEN);
			memcpy(t.tag, t2.tag, BATON_TAG_LEN);
			break;
		case 2:		/* B appended to T1 */
			t.pay[3] = bpay;
			t.len[3] = blen;
			t.n = 4;
			break;
		case 3:		/* A's presentation grafted onto T2 */
			t = t2;
			t.pay[2] = base_parts.pay[2];
			t.len[2] = base_parts.len[2];
			t.n = 3;
			break;
		}
		ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
		    BATON_R_BAD_SIGNATURE);
		ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_TAG),
		    BATON_R_BAD_SIGNATURE);
	}
	baton_envelope_free(&e2);
	free(text2);
}
END_TEST

/* ---- keys ------------------------------------------------------------------ */

START_TEST(test_untrusted_key)
{
	struct baton_key	*evil;
	char			*t;

	/* a perfectly formed token from a key nobody trusts */
	evil = tu_key(0xee);
	t = tu_seal(evil, base, 3);
	ASSERT_REASON(open_text(t, strlen(t), &KR, BATON_CHECK_SIG, NULL),
	    BATON_R_UNKNOWN_KEY);
	ASSERT_REASON(open_text(t, strlen(t), &KR, BATON_CHECK_TAG, NULL),
	    BATON_R_UNKNOWN_KEY);
	free(t);
	baton_key_free(evil);
}
END_TEST

START_TEST(test_kid_swapped_trusted)
{
	struct baton_key	*other;
	struct parts		 t = base_parts;

	/* two trusted keys; the kid is changed to name the other one */
	other = tu_key(0x77);
	memcpy(t.kid, other->kid, BATON_KID_LEN);
	ck_assert_int_eq(baton_keyring_add(&KR, other), 0);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_BAD_SIGNATURE);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_TAG),
	    BATON_R_BAD_SIGNATURE);
	/* the untouched token still opens with both keys trusted */
	ASSERT_REASON(open_parts(&base_parts, &KR, BATON_CHECK_SIG),
	    BATON_R_OK);
}
END_TEST

/*
 * A retired key (rotated out, with not_after set) verifies only what it
 * could have signed while current.  Someone holding its seed forges a
 * token that outlives it: refused, in both modes, and never re-signed by
 * attenuation.  Past not_after, nothing it signed verifies.
 */
START_TEST(test_retired_key)
{
	struct baton_block	 root, child;
	struct baton_restrict	 rs;
	struct baton_request	 q;
	struct baton_token	 tok;
	uint8_t			 jti[BATON_JTI_LEN] = { 9 };
	char			*t;

	K->not_after = NOW + 600;
	/* signed while current: ends before the key does */
	ASSERT_REASON(open_text(base_text, strlen(base_text), &KR,
	    BATON_CHECK_TAG, &tok), BATON_R_OK);
	ck_assert_uint_eq(tok.key_not_after, NOW + 600);
	req_init(&q, "db_query", "read", "db", NOW + 1);
	ASSERT_REASON(baton_evaluate(&tok, &q, NULL, NULL), BATON_R_OK);
	baton_token_free(&tok);

	/* forged after retirement: lives past the key's end */
	tu_root(&root, 0x21, NOW + 100, 7200);
	t = tu_seal(K, &root, 1);
	req_init(&q, "db_query", "read", "db", NOW + 101);
	ASSERT_REASON(open_text(t, strlen(t), &KR, BATON_CHECK_SIG, &tok),
	    BATON_R_OK);
	ASSERT_REASON(baton_evaluate(&tok, &q, NULL, NULL),
	    BATON_R_KEY_RETIRED);
	/* attenuation would launder it under the current key: refused */
	memset(&rs, 0, sizeof rs);
	rs.ttl = 60;
	ASSERT_REASON(baton_attenuate(&tok, &rs, "orchestrator", jti,
	    NOW + 101, &child), BATON_R_KEY_RETIRED);
	baton_token_free(&tok);
	free(t);

	/* short-lived, but signed after not_after: refused too */
	tu_root(&root, 0x22, NOW + 601, 30);
	t = tu_seal(K, &root, 1);
	req_init(&q, "db_query", "read", "db", NOW + 602);
	ASSERT_REASON(open_text(t, strlen(t), &KR, BATON_CHECK_TAG, &tok),
	    BATON_R_OK);
	ASSERT_REASON(baton_evaluate(&tok, &q, NULL, NULL),
	    BATON_R_KEY_RETIRED);
	baton_token_free(&tok);
	free(t);

	/* a signing key (not_after 0) has no such end */
	K->not_after = 0;
	tu_root(&root, 0x23, NOW, 7200);
	t = tu_seal(K, &root, 1);
	req_init(&q, "db_query", "read", "db", NOW + 5000);
	ASSERT_REASON(eval_text(t, &q), BATON_R_OK);
	free(t);
}
END_TEST

START_TEST(test_kid_unknown)
{
	struct parts	t = base_parts;

	memset(t.kid, 0, BATON_KID_LEN);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_UNKNOWN_KEY);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_TAG),
	    BATON_R_UNKNOWN_KEY);
	/* an empty keyring trusts nothing */
	{
		struct baton_keyring	empty;

		baton_keyring_init(&empty);
		ASSERT_REASON(open_parts(&base_parts, &empty,
		    BATON_CHECK_SIG), BATON_R_UNKNOWN_KEY);
	}
}
END_TEST

/*
 * Tag wrong, signature right: a token written by a federated broker whose
 * MAC key this broker does not have.  TAG mode falls back to the
 * signature and accepts it; SIG mode never looked at the tag.
 */
START_TEST(test_tag_wrong_sig_right)
{
	struct parts	t = base_parts;

	memset(t.tag, 0x5a, BATON_TAG_LEN);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_TAG), BATON_R_OK);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG), BATON_R_OK);
	memset(t.tag, 0, BATON_TAG_LEN);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_TAG), BATON_R_OK);
}
END_TEST

/*
 * Signature wrong, tag right: accepted in TAG mode, refused in SIG mode.
 * That is by design: the tag is a MAC under a key only the broker holds
 * (derived from its signing seed), so a right tag proves the broker wrote
 * this chain as surely as its signature does; it is the broker's own fast
 * path.  Offline verifiers have only public keys, check the signature,
 * and refuse.  A broker never emits such a token, so a right tag with a
 * wrong signature is only ever seen by the broker that made the tag.
 */
START_TEST(test_sig_wrong_tag_right)
{
	struct parts	t = base_parts;

	memset(t.sig, 0x5a, BATON_SIG_LEN);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_TAG), BATON_R_OK);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_BAD_SIGNATURE);
	/* both wrong: refused in both modes */
	memset(t.tag, 0x5a, BATON_TAG_LEN);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_TAG),
	    BATON_R_BAD_SIGNATURE);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_BAD_SIGNATURE);
}
END_TEST

/* A verifier needs only the public key. */
START_TEST(test_public_key_only)
{
	struct baton_keyring	 pub;
	struct baton_key	*pk = NULL;
	struct baton_token	 tok;
	struct parts		 t = base_parts;
	char			*out = NULL;
	const uint8_t		*p[1];
	size_t			 l[1];

	ck_assert_int_eq(baton_key_from_public(&pk, K->pk), 0);
	ck_assert_int_eq(memcmp(pk->kid, K->kid, BATON_KID_LEN), 0);
	ck_assert_int_eq(pk->can_sign, 0);
	ck_assert_ptr_null(baton_key_mac(pk));
	baton_keyring_init(&pub);
	ck_assert_int_eq(baton_keyring_add(&pub, pk), 0);

	ASSERT_REASON(open_text(base_text, strlen(base_text), &pub,
	    BATON_CHECK_SIG, &tok), BATON_R_OK);
	ck_assert_uint_eq(tok.nblocks, 3);
	tu_assert_block_eq(&tok.blocks[1], &base[1]);
	baton_token_free(&tok);
	/* without the MAC key TAG mode is the signature check */
	ASSERT_REASON(open_text(base_text, strlen(base_text), &pub,
	    BATON_CHECK_TAG, NULL), BATON_R_OK);
	memset(t.sig, 0x5a, BATON_SIG_LEN);
	ASSERT_REASON(open_parts(&t, &pub, BATON_CHECK_TAG),
	    BATON_R_BAD_SIGNATURE);
	/* and it cannot sign */
	p[0] = base_parts.pay[0];
	l[0] = base_parts.len[0];
	ck_assert_int_eq(baton_token_seal(&out, pk, p, l, 1), BATON_ENOKEY);
	ck_assert_ptr_null(out);
	baton_keyring_clear(&pub);
}
END_TEST

/* ---- children claiming more than their parents ----------------------------- */

/*
 * Root: db_query {read; max_rows 100}, aud [db], 600 s, max_depth 5.
 * The child is sealed as is, so only the chain rules stand between it and
 * a wider grant.  Each test also shows that baton_attenuate would have
 * refused to write such a child.
 */
static struct baton_block	wide[2];

static void
wide_setup(void)
{
	struct baton_toolgrant	*tg;

	tu_root(&wide[0], 0x21, NOW, 600);
	tg = tu_tool(A, &wide[0], "db_query", "read");
	tu_limit(A, tg, "max_rows", 100);
	tu_aud(A, &wide[0], "db");
	tu_child(&wide[1], 0x22, NOW, 300, "orchestrator");
}

static enum baton_reason
wide_attenuate(void)
{
	struct baton_token	 parent;
	struct baton_restrict	 r;
	struct baton_block	 child;
	enum baton_reason	 why;
	char			*t;

	t = tu_seal(K, wide, 1);
	tu_open(&parent, t, &KR);
	memset(&r, 0, sizeof(r));
	r.has_grants = wide[1].has_grants;
	r.grants = wide[1].grants;
	r.has_aud = wide[1].has_aud;
	r.aud = wide[1].aud;
	r.naud = wide[1].naud;
	r.ttl = wide[1].exp - wide[1].iat;
	r.has_max_depth = wide[1].has_max_depth;
	r.max_depth = wide[1].max_depth;
	why = baton_attenuate(&parent, &r, "orchestrator", wide[1].jti, NOW,
	    &child);
	baton_token_free(&parent);
	free(t);
	return (why);
}

static enum baton_reason
wide_eval(const struct baton_request *q)
{
	enum baton_reason	 r;
	char			*t;

	t = tu_seal(K, wide, 2);
	r = eval_text(t, q);
	free(t);
	return (r);
}

START_TEST(test_widen_tool)
{
	struct baton_request	q;

	wide_setup();
	tu_tool(A, &wide[1], "db_query", "read");
	tu_tool(A, &wide[1], "mail_send", NULL);
	ASSERT_REASON(wide_attenuate(), BATON_R_WIDEN_TOOL);
	req_init(&q, "mail_send", "send", "db", NOW + 1);
	ASSERT_REASON(wide_eval(&q), BATON_R_TOOL_NOT_GRANTED);
	req_init(&q, "db_query", "read", "db", NOW + 1);
	ASSERT_REASON(wide_eval(&q), BATON_R_OK);
}
END_TEST

START_TEST(test_widen_tool_wildcard)
{
	struct baton_request	q;

	wide_setup();
	wide[1].has_grants = 1;
	wide[1].grants.wildcard = 1;
	ASSERT_REASON(wide_attenuate(), BATON_R_WIDEN_TOOL);
	req_init(&q, "mail_send", "send", "db", NOW + 1);
	ASSERT_REASON(wide_eval(&q), BATON_R_TOOL_NOT_GRANTED);
}
END_TEST

START_TEST(test_widen_action)
{
	struct baton_request	q;

	wide_setup();
	tu_tool(A, &wide[1], "db_query", "read,write");
	ASSERT_REASON(wide_attenuate(), BATON_R_WIDEN_ACTION);
	req_init(&q, "db_query", "write", "db", NOW + 1);
	ASSERT_REASON(wide_eval(&q), BATON_R_ACTION_NOT_GRANTED);
	req_init(&q, "db_query", "read", "db", NOW + 1);
	ASSERT_REASON(wide_eval(&q), BATON_R_OK);
}
END_TEST

START_TEST(test_widen_action_any)
{
	struct baton_request	q;

	/*
	 * No actions in the child means no further restriction: the broker
	 * writes such a block (the intersection keeps the parent's actions),
	 * and it cannot widen anything.
	 */
	wide_setup();
	tu_tool(A, &wide[1], "db_query", NULL);
	ASSERT_REASON(wide_attenuate(), BATON_R_OK);
	req_init(&q, "db_query", "delete", "db", NOW + 1);
	ASSERT_REASON(wide_eval(&q), BATON_R_ACTION_NOT_GRANTED);
	req_init(&q, "db_query", NULL, "db", NOW + 1);
	ASSERT_REASON(wide_eval(&q), BATON_R_ACTION_NOT_GRANTED);
}
END_TEST

START_TEST(test_widen_limit)
{
	struct baton_request	 q;
	struct baton_usage	 u = { "max_rows", 500 };
	struct baton_token	 tok;
	struct baton_tool_facts	 f;
	struct baton_toolgrant	*tg;
	char			*t;

	wide_setup();
	tg = tu_tool(A, &wide[1], "db_query", "read");
	tu_limit(A, tg, "max_rows", 1000);
	ASSERT_REASON(wide_attenuate(), BATON_R_WIDEN_LIMIT);
	req_init(&q, "db_query", "read", "db", NOW + 1);
	q.usage = &u;
	q.nusage = 1;
	ASSERT_REASON(wide_eval(&q), BATON_R_LIMIT_EXCEEDED);
	u.value = 100;
	ASSERT_REASON(wide_eval(&q), BATON_R_OK);
	/* the facts report the parent's limit */
	t = tu_seal(K, wide, 2);
	tu_open(&tok, t, &KR);
	ASSERT_REASON(baton_evaluate(&tok, &q, NULL, &f), BATON_R_OK);
	ck_assert_uint_eq(f.nlimits, 1);
	ck_assert_str_eq(f.limits[0].name, "max_rows");
	ck_assert_uint_eq(f.limits[0].max, 100);
	baton_token_free(&tok);
	free(t);
}
END_TEST

START_TEST(test_widen_limit_dropped)
{
	struct baton_request	q;
	struct baton_usage	u = { "max_rows", 500 };

	/* a child that omits the limit inherits it, never drops it */
	wide_setup();
	tu_tool(A, &wide[1], "db_query", "read");
	req_init(&q, "db_query", "read", "db", NOW + 1);
	q.usage = &u;
	q.nusage = 1;
	ASSERT_REASON(wide_eval(&q), BATON_R_LIMIT_EXCEEDED);
}
END_TEST

START_TEST(test_widen_audience)
{
	struct baton_request	q;

	wide_setup();
	tu_aud(A, &wide[1], "db,mail");
	ASSERT_REASON(wide_attenuate(), BATON_R_WIDEN_AUDIENCE);
	req_init(&q, "db_query", "read", "mail", NOW + 1);
	ASSERT_REASON(wide_eval(&q), BATON_R_AUDIENCE_MISMATCH);
	req_init(&q, "db_query", "read", NULL, NOW + 1);
	ASSERT_REASON(wide_eval(&q), BATON_R_AUDIENCE_MISMATCH);
	req_init(&q, "db_query", "read", "db", NOW + 1);
	ASSERT_REASON(wide_eval(&q), BATON_R_OK);
}
END_TEST

START_TEST(test_widen_time)
{
	struct baton_request	 q;
	struct baton_effective	 eff;
	struct baton_token	 tok;
	char			*t;

	wide_setup();
	wide[1].exp = NOW + 7200;	/* parent ends at NOW + 600 */
	ASSERT_REASON(wide_attenuate(), BATON_R_TTL_TOO_LONG);
	req_init(&q, "db_query", "read", "db", NOW + 599);
	ASSERT_REASON(wide_eval(&q), BATON_R_OK);
	req_init(&q, "db_query", "read", "db", NOW + 600);
	ASSERT_REASON(wide_eval(&q), BATON_R_EXPIRED);
	req_init(&q, "db_query", "read", "db", NOW + 3600);
	t = tu_seal(K, wide, 2);
	tu_open(&tok, t, &KR);
	ASSERT_REASON(baton_evaluate(&tok, &q, &eff, NULL), BATON_R_EXPIRED);
	ck_assert_uint_eq(eff.exp, NOW + 600);
	ck_assert_uint_eq(eff.exp_block, 0);
	baton_token_free(&tok);
	free(t);
}
END_TEST

START_TEST(test_widen_depth)
{
	struct baton_block	 b[3];
	struct baton_request	 q;
	char			*t;

	/* root allows one hop; the child claims 15 more */
	wide_setup();
	wide[0].max_depth = 1;
	wide[1].has_max_depth = 1;
	wide[1].max_depth = 15;
	ASSERT_REASON(wide_attenuate(), BATON_R_WIDEN_DEPTH);
	b[0] = wide[0];
	b[1] = wide[1];
	tu_child(&b[2], 0x23, NOW, 100, "worker-a");
	t = tu_seal(K, b, 3);
	req_init(&q, "db_query", "read", "db", NOW + 1);
	ASSERT_REASON(eval_text(t, &q), BATON_R_DEPTH_EXCEEDED);
	free(t);
}
END_TEST

/* ---- chain rules ----------------------------------------------------------- */

START_TEST(test_depth_exceeded_root)
{
	struct baton_block	 b[3];
	struct baton_request	 q;
	char			*t;

	tu_root(&b[0], 0x31, NOW, 600);
	b[0].max_depth = 1;
	tu_child(&b[1], 0x32, NOW, 600, "orchestrator");
	tu_child(&b[2], 0x33, NOW, 600, "worker-a");
	req_init(&q, "db_query", "read", NULL, NOW + 1);
	t = tu_seal(K, b, 2);
	ASSERT_REASON(eval_text(t, &q), BATON_R_OK);	/* 1 hop: allowed */
	free(t);
	t = tu_seal(K, b, 3);
	ASSERT_REASON(eval_text(t, &q), BATON_R_DEPTH_EXCEEDED);
	free(t);
	b[0].max_depth = 0;
	t = tu_seal(K, b, 2);
	ASSERT_REASON(eval_text(t, &q), BATON_R_DEPTH_EXCEEDED);
	free(t);
}
END_TEST

START_TEST(test_depth_exceeded_middle)
{
	struct baton_block	 b[4];
	struct baton_request	 q;
	char			*t;

	tu_root(&b[0], 0x31, NOW, 600);		/* max_depth 5 */
	tu_child(&b[1], 0x32, NOW, 600, "orchestrator");
	b[1].has_max_depth = 1;
	b[1].max_depth = 1;
	tu_child(&b[2], 0x33, NOW, 600, "worker-a");
	tu_child(&b[3], 0x34, NOW, 600, "worker-b");
	req_init(&q, "db_query", "read", NULL, NOW + 1);
	t = tu_seal(K, b, 3);
	ASSERT_REASON(eval_text(t, &q), BATON_R_OK);
	free(t);
	t = tu_seal(K, b, 4);
	ASSERT_REASON(eval_text(t, &q), BATON_R_DEPTH_EXCEEDED);
	free(t);
	/* a later block cannot raise the cap back */
	b[2].has_max_depth = 1;
	b[2].max_depth = 15;
	t = tu_seal(K, b, 4);
	ASSERT_REASON(eval_text(t, &q), BATON_R_DEPTH_EXCEEDED);
	free(t);
}
END_TEST

START_TEST(test_expired_middle)
{
	struct baton_block	 b[3];
	struct baton_request	 q;
	struct baton_effective	 eff;
	struct baton_token	 tok;
	char			*t;

	tu_root(&b[0], 0x41, NOW, 3600);
	tu_child(&b[1], 0x42, NOW, 60, "orchestrator");
	tu_child(&b[2], 0x43, NOW, 3600, "worker-a");
	t = tu_seal(K, b, 3);
	req_init(&q, "db_query", "read", NULL, NOW + 59);
	ASSERT_REASON(eval_text(t, &q), BATON_R_OK);
	req_init(&q, "db_query", "read", NULL, NOW + 61);
	tu_open(&tok, t, &KR);
	ASSERT_REASON(baton_evaluate(&tok, &q, &eff, NULL), BATON_R_EXPIRED);
	ck_assert_uint_eq(eff.exp, NOW + 60);
	ck_assert_uint_eq(eff.exp_block, 1);
	baton_token_free(&tok);
	free(t);
}
END_TEST

/* A presentation block replayed: appended twice, resealed by the key. */
START_TEST(test_present_twice)
{
	struct baton_block	 b[4];
	struct baton_request	 q;
	char			*t;

	memcpy(b, base, sizeof(base));
	b[3] = base[2];
	t = tu_seal(K, b, 4);
	ASSERT_REASON(open_text(t, strlen(t), &KR, BATON_CHECK_SIG, NULL),
	    BATON_R_OK);
	req_init(&q, "db_query", "read", "db", NOW + 1);
	ASSERT_REASON(eval_text(t, &q), BATON_R_BAD_CHAIN);
	free(t);
}
END_TEST

START_TEST(test_present_not_last)
{
	struct baton_block	 b[3];
	struct baton_request	 q;
	char			*t;

	b[0] = base[0];
	b[1] = base[2];		/* the presentation */
	b[2] = base[1];		/* an attenuation after it */
	t = tu_seal(K, b, 3);
	req_init(&q, "db_query", "read", "db", NOW + 1);
	ASSERT_REASON(eval_text(t, &q), BATON_R_BAD_CHAIN);
	free(t);
}
END_TEST

/* Through the codec: present, then try to extend the presented token. */
START_TEST(test_present_then_extend)
{
	struct baton_token	 tok, tok2;
	struct baton_block	 child;
	struct baton_restrict	 r;
	struct baton_request	 q;
	uint8_t			 jti[BATON_JTI_LEN], *p;
	size_t			 plen;
	char			*t;

	tu_open(&tok, base_text, &KR);
	memset(&r, 0, sizeof(r));
	memset(jti, 0x44, sizeof(jti));
	ASSERT_REASON(baton_attenuate(&tok, &r, "worker-a", jti, NOW + 1,
	    &child), BATON_R_ALREADY_PRESENTED);
	/* appending the presentation once more, bypassing the rules */
	ck_assert_int_eq(baton_token_extend(&t, &tok, K, base_parts.pay[2],
	    base_parts.len[2]), 0);
	req_init(&q, "db_query", "read", "db", NOW + 1);
	ASSERT_REASON(eval_text(t, &q), BATON_R_BAD_CHAIN);
	tu_open(&tok2, t, &KR);
	ck_assert_uint_eq(tok2.nblocks, 4);
	baton_token_free(&tok2);
	free(t);
	/* an attenuation block after the presentation */
	tu_encode(&base[1], 0, &p, &plen);
	ck_assert_int_eq(baton_token_extend(&t, &tok, K, p, plen), 0);
	ASSERT_REASON(eval_text(t, &q), BATON_R_BAD_CHAIN);
	free(t);
	free(p);
	baton_token_free(&tok);
}
END_TEST

/* A stolen holder-bound token: used directly, or presented by another. */
START_TEST(test_holder_stolen)
{
	struct baton_block	 b[3];
	struct baton_request	 q;
	char			*t;

	memcpy(b, base, sizeof(base));
	b[1].holder = "worker-a";
	req_init(&q, "db_query", "read", "db", NOW + 1);
	/* the delegation token itself, bound in its last block */
	t = tu_seal(K, b, 2);
	ASSERT_REASON(eval_text(t, &q), BATON_R_NOT_PRESENTED);
	free(t);
	/* bound at mint */
	b[0].holder = "worker-a";
	t = tu_seal(K, b, 1);
	ASSERT_REASON(eval_text(t, &q), BATON_R_NOT_PRESENTED);
	free(t);
	/* presented by the holder: fine */
	b[0].holder = NULL;
	t = tu_seal(K, b, 3);
	ASSERT_REASON(eval_text(t, &q), BATON_R_OK);
	free(t);
	/* presented by someone else, even with a valid signature */
	b[2].delegator = "worker-evil";
	t = tu_seal(K, b, 3);
	ASSERT_REASON(eval_text(t, &q), BATON_R_HOLDER_MISMATCH);
	free(t);
}
END_TEST

/* ---- strict payload decode ------------------------------------------------- */

static const uint8_t jti_root[BATON_JTI_LEN] = {
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
	0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf
};

/*
 * A valid root payload written by hand, key by key: keys 1..7 (no nbf),
 * 11 "*", 12 5; extra fields with keys above 12 follow when the caller
 * asked for them (nextra more map entries).
 */
static void
hand_root(struct buf *b, uint64_t version, size_t nextra)
{
	mp_map(b, 8 + nextra);
	mp_uint(b, 1);
	mp_uint(b, version);
	mp_uint(b, 2);
	mp_bin(b, jti_root, sizeof(jti_root));
	mp_uint(b, 3);
	mp_uint(b, NOW);
	mp_uint(b, 5);
	mp_uint(b, NOW + 600);
	mp_uint(b, 6);
	mp_str(b, "orchestrator");
	mp_uint(b, 7);
	mp_str(b, "alice");
	mp_uint(b, 11);
	mp_str(b, "*");
	mp_uint(b, 12);
	mp_uint(b, 5);
}

/* Seal one payload with the test key and open it. */
static enum baton_reason
open_payload(const uint8_t *p, size_t n, struct baton_token *keep)
{
	const uint8_t	*pp[1] = { p };
	size_t		 ll[1] = { n };
	char		*t = NULL;
	enum baton_reason r;

	ck_assert_int_eq(baton_token_seal(&t, K, pp, ll, 1), 0);
	r = open_text(t, strlen(t), &KR, BATON_CHECK_SIG, keep);
	free(t);
	return (r);
}

static enum baton_reason
open_buf(struct buf *b)
{
	enum baton_reason	r;

	r = open_payload(b->p, b->len, NULL);
	buf_free(b);
	return (r);
}

START_TEST(test_hand_root_ok)
{
	struct buf		 b = { 0 };
	struct baton_token	 tok;
	uint8_t			*enc;
	size_t			 enclen;

	/* the hand-written payload is what the encoder writes */
	hand_root(&b, 1, 0);
	ASSERT_REASON(open_payload(b.p, b.len, &tok), BATON_R_OK);
	ck_assert_str_eq(tok.blocks[0].iss, "orchestrator");
	ck_assert_int_eq(tok.blocks[0].grants.wildcard, 1);
	ck_assert_int_eq(baton_block_encode(&tok.blocks[0], 1, &enc, &enclen),
	    0);
	ck_assert_uint_eq(enclen, b.len);
	ck_assert_int_eq(memcmp(enc, b.p, b.len), 0);
	free(enc);
	baton_token_free(&tok);
	buf_free(&b);
}
END_TEST

/* ---- caps on where predicates (matching work) ------------------------------ */

/*
 * A block granting tool "t" with one predicate [op, operand] on argument
 * "p" ([op, [operand]] for in), written by hand so the encoder's own refusal cannot hide the
 * decoder's.  Root: keys 1-3, 5-7, 11, 12; later: keys 1-3, 5, 8, 11.
 */
static void
hand_where(struct buf *b, int root, uint8_t jti_byte, uint64_t op,
    const char *operand)
{
	uint8_t	jti[BATON_JTI_LEN];

	memset(jti, jti_byte, sizeof(jti));
	mp_map(b, root ? 8 : 6);
	mp_uint(b, 1);
	mp_uint(b, 1);
	mp_uint(b, 2);
	mp_bin(b, jti, sizeof(jti));
	mp_uint(b, 3);
	mp_uint(b, NOW);
	mp_uint(b, 5);
	mp_uint(b, NOW + 600);
	if (root) {
		mp_uint(b, 6);
		mp_str(b, "orchestrator");
		mp_uint(b, 7);
		mp_str(b, "alice");
	} else {
		mp_uint(b, 8);
		mp_str(b, "orchestrator");
	}
	mp_uint(b, 11);
	mp_map(b, 1);
	mp_str(b, "t");
	mp_map(b, 1);
	mp_uint(b, 3);
	mp_map(b, 1);
	mp_str(b, "p");
	mp_array(b, 1);
	mp_array(b, 2);
	mp_uint(b, op);
	if (op == BATON_P_IN)
		mp_array(b, 1);
	mp_str(b, operand);
	if (root) {
		mp_uint(b, 12);
		mp_uint(b, 15);
	}
}

/* n blocks of hand_where, sealed with the test key, opened in SIG mode. */
static enum baton_reason
open_where_chain(size_t n, const uint64_t *ops, char *const *operands)
{
	struct buf		 b[BATON_MAX_BLOCKS];
	const uint8_t		*pp[BATON_MAX_BLOCKS] = { NULL };
	size_t			 ll[BATON_MAX_BLOCKS] = { 0 }, i;
	char			*t = NULL;
	enum baton_reason	 r;

	ck_assert_uint_le(n, BATON_MAX_BLOCKS);
	memset(b, 0, sizeof(b));
	for (i = 0; i < n; i++) {
		hand_where(&b[i], i == 0, (uint8_t)(0x60 + i), ops[i],
		    operands[i]);
		pp[i] = b[i].p;
		ll[i] = b[i].len;
	}
	ck_assert_int_eq(baton_token_seal(&t, K, pp, ll, n), 0);
	r = open_text(t, strlen(t), &KR, BATON_CHECK_SIG, NULL);
	free(t);
	for (i = 0; i < n; i++)
		buf_free(&b[i]);
	return (r);
}

/* A string of n copies of c (malloc'd, NUL-terminated). */
static char *
str_of(char c, size_t n)
{
	char	*s;

	s = malloc(n + 1);
	ck_assert_ptr_nonnull(s);
	memset(s, c, n);
	s[n] = '\0';
	return (s);
}

/*
 * The review's reproducer: ten blocks, each a glob of two stars around
 * 1990 bytes, made to cost plen * slen per verify.  Refused when opened:
 * the chain holds more pattern bytes than BATON_MAX_PRED_BYTES.
 */
START_TEST(test_glob_review_chain)
{
	uint64_t	 ops[10];
	char		*pats[10], *pat;
	size_t		 i;

	pat = str_of('a', 1992);
	pat[0] = '*';
	pat[1990] = 'b';
	pat[1991] = '*';
	for (i = 0; i < 10; i++) {
		ops[i] = BATON_P_GLOB;
		pats[i] = pat;
	}
	ASSERT_REASON(open_where_chain(10, ops, pats), BATON_R_TOO_LARGE);
	/* two of them fit */
	ASSERT_REASON(open_where_chain(2, ops, pats), BATON_R_OK);
	free(pat);
}
END_TEST

/* Operand bytes count over the whole chain, every op with a string. */
START_TEST(test_pred_bytes_chain)
{
	static const uint64_t	 opset[] = { BATON_P_EQ, BATON_P_IN,
	    BATON_P_PREFIX, BATON_P_GLOB };
	uint64_t		 ops[2];
	char			*operands[2];

	operands[0] = str_of('x', 3000);
	ops[0] = BATON_P_PREFIX;
	ops[1] = opset[_i];
	/* exactly the cap: fine */
	operands[1] = str_of('y', BATON_MAX_PRED_BYTES - 3000);
	ASSERT_REASON(open_where_chain(2, ops, operands), BATON_R_OK);
	free(operands[1]);
	/* one byte over */
	operands[1] = str_of('y', BATON_MAX_PRED_BYTES - 3000 + 1);
	ASSERT_REASON(open_where_chain(2, ops, operands), BATON_R_TOO_LARGE);
	free(operands[1]);
	free(operands[0]);
}
END_TEST

/* A '?' stretch between stars is at most BATON_MAX_GLOB_WILD bytes. */
START_TEST(test_glob_wild_too_large)
{
	uint64_t	 ops[1] = { BATON_P_GLOB };
	char		*pat[1];
	struct baton_block b;
	struct baton_argrule *ar;
	uint8_t		*out = NULL;
	size_t		 outlen = 0;

	/* "*" + 255 x "a" + "?" + "*": a stretch of 256, allowed */
	pat[0] = str_of('a', BATON_MAX_GLOB_WILD + 2);
	pat[0][0] = '*';
	pat[0][BATON_MAX_GLOB_WILD] = '?';
	pat[0][BATON_MAX_GLOB_WILD + 1] = '*';
	ASSERT_REASON(open_where_chain(1, ops, pat), BATON_R_OK);
	free(pat[0]);
	/* one more byte in it */
	pat[0] = str_of('a', BATON_MAX_GLOB_WILD + 3);
	pat[0][0] = '*';
	pat[0][BATON_MAX_GLOB_WILD] = '?';
	pat[0][BATON_MAX_GLOB_WILD + 2] = '*';
	ASSERT_REASON(open_where_chain(1, ops, pat), BATON_R_TOO_LARGE);
	/* a long stretch without '?' costs nothing extra: allowed */
	pat[0][BATON_MAX_GLOB_WILD] = 'a';
	ASSERT_REASON(open_where_chain(1, ops, pat), BATON_R_OK);
	pat[0][BATON_MAX_GLOB_WILD] = '?';

	/* and the encoder will not write either cap's breach */
	tu_root(&b, 0x61, NOW, 600);
	ar = tu_where(A, tu_tool(A, &b, "t", NULL), "p");
	tu_pred_glob(A, ar, pat[0]);
	ck_assert_int_eq(baton_block_encode(&b, 1, &out, &outlen),
	    BATON_ETOOBIG);
	ck_assert_ptr_null(out);
	free(pat[0]);
	pat[0] = str_of('z', BATON_MAX_PRED_BYTES + 1);
	tu_root(&b, 0x62, NOW, 600);
	ar = tu_where(A, tu_tool(A, &b, "t", NULL), "p");
	tu_pred_eq_str(A, ar, pat[0]);
	ck_assert_int_eq(baton_block_encode(&b, 1, &out, &outlen),
	    BATON_ETOOBIG);
	ck_assert_ptr_null(out);
	free(pat[0]);
}
END_TEST

/* Unknown top-level keys: key, then whether it must be refused. */
static const struct {
	uint64_t	key;
	int		critical;
} unknown_keys[] = {
	{ 18, 1 }, { 19, 1 }, { 31, 1 }, { 32, 1 }, { 63, 1 }, { 65, 1 },
	{ 127, 1 }, { 255, 1 }, { 0xffffffffffffffffULL, 1 },
	{ 64, 0 }, { 66, 0 }, { 128, 0 }, { 1000, 0 },
	{ 0xfffffffffffffffeULL, 0 },
};

START_TEST(test_unknown_field)
{
	struct buf	b = { 0 };

	hand_root(&b, 1, 1);
	mp_uint(&b, unknown_keys[_i].key);
	mp_str(&b, "surprise");
	ASSERT_REASON(open_buf(&b), unknown_keys[_i].critical ?
	    BATON_R_UNKNOWN_CRITICAL : BATON_R_OK);
}
END_TEST

START_TEST(test_unknown_even_nested)
{
	struct buf	b = { 0 };
	size_t		i;

	/* an ignored field may hold any well-formed value */
	hand_root(&b, 1, 2);
	mp_uint(&b, 64);
	mp_map(&b, 1);
	mp_str(&b, "k");
	mp_array(&b, 3);
	mp_uint(&b, 1);
	mp_str(&b, "x");
	buf_byte(&b, 0xc0);
	mp_uint(&b, 66);
	mp_bin(&b, jti_root, 4);
	ASSERT_REASON(open_buf(&b), BATON_R_OK);

	/* but it is skipped with the nesting cap */
	hand_root(&b, 1, 1);
	mp_uint(&b, 64);
	for (i = 0; i < 200; i++)
		mp_array(&b, 1);
	mp_uint(&b, 0);
	ASSERT_REASON(open_buf(&b), BATON_R_BAD_PAYLOAD);
}
END_TEST

START_TEST(test_unknown_toolgrant_key)
{
	struct buf	b = { 0 };

	/* key 4 inside a toolgrant: a restriction we cannot honour */
	mp_map(&b, 8);
	mp_uint(&b, 1);
	mp_uint(&b, 1);
	mp_uint(&b, 2);
	mp_bin(&b, jti_root, sizeof(jti_root));
	mp_uint(&b, 3);
	mp_uint(&b, NOW);
	mp_uint(&b, 5);
	mp_uint(&b, NOW + 600);
	mp_uint(&b, 6);
	mp_str(&b, "orchestrator");
	mp_uint(&b, 7);
	mp_str(&b, "alice");
	mp_uint(&b, 11);
	mp_map(&b, 1);
	mp_str(&b, "db_query");
	mp_map(&b, 2);
	mp_uint(&b, 1);
	mp_array(&b, 1);
	mp_str(&b, "read");
	mp_uint(&b, 4);
	mp_uint(&b, 1);
	mp_uint(&b, 12);
	mp_uint(&b, 5);
	ASSERT_REASON(open_buf(&b), BATON_R_UNKNOWN_CRITICAL);
}
END_TEST

static const uint64_t bad_versions[] = { 0, 2, 3, 127, 255, 65536,
	0xffffffffffffffffULL };

START_TEST(test_unknown_version)
{
	struct buf	b = { 0 };

	hand_root(&b, bad_versions[_i], 0);
	ASSERT_REASON(open_buf(&b), BATON_R_UNKNOWN_VERSION);
}
END_TEST

START_TEST(test_version_checked_first)
{
	struct buf	b = { 0 };

	/* version 2 followed by anything: the version decides */
	mp_map(&b, 3);
	mp_uint(&b, 1);
	mp_uint(&b, 2);
	mp_uint(&b, 99);
	mp_str(&b, "v2 field");
	buf_byte(&b, 0xc1);		/* never-used msgpack byte */
	ASSERT_REASON(open_buf(&b), BATON_R_UNKNOWN_VERSION);

	/* the version must be the first key */
	mp_map(&b, 8);
	mp_uint(&b, 2);
	mp_bin(&b, jti_root, sizeof(jti_root));
	mp_uint(&b, 1);
	mp_uint(&b, 1);
	ASSERT_REASON(open_buf(&b), BATON_R_BAD_PAYLOAD);

	/* and an unsigned integer */
	mp_map(&b, 1);
	mp_uint(&b, 1);
	mp_str(&b, "1");
	ASSERT_REASON(open_buf(&b), BATON_R_BAD_PAYLOAD);
}
END_TEST

START_TEST(test_duplicate_key)
{
	struct buf	b = { 0 };

	mp_map(&b, 9);
	mp_uint(&b, 1);
	mp_uint(&b, 1);
	mp_uint(&b, 2);
	mp_bin(&b, jti_root, sizeof(jti_root));
	mp_uint(&b, 3);
	mp_uint(&b, NOW);
	mp_uint(&b, 5);
	mp_uint(&b, NOW + 600);
	mp_uint(&b, 5);			/* exp twice: which one? neither */
	mp_uint(&b, NOW + 999999);
	mp_uint(&b, 6);
	mp_str(&b, "orchestrator");
	mp_uint(&b, 7);
	mp_str(&b, "alice");
	mp_uint(&b, 11);
	mp_str(&b, "*");
	mp_uint(&b, 12);
	mp_uint(&b, 5);
	ASSERT_REASON(open_buf(&b), BATON_R_BAD_PAYLOAD);
}
END_TEST

START_TEST(test_out_of_order_key)
{
	struct buf	b = { 0 };

	mp_map(&b, 8);
	mp_uint(&b, 1);
	mp_uint(&b, 1);
	mp_uint(&b, 2);
	mp_bin(&b, jti_root, sizeof(jti_root));
	mp_uint(&b, 3);
	mp_uint(&b, NOW);
	mp_uint(&b, 6);
	mp_str(&b, "orchestrator");
	mp_uint(&b, 5);			/* exp after iss */
	mp_uint(&b, NOW + 600);
	mp_uint(&b, 7);
	mp_str(&b, "alice");
	mp_uint(&b, 11);
	mp_str(&b, "*");
	mp_uint(&b, 12);
	mp_uint(&b, 5);
	ASSERT_REASON(open_buf(&b), BATON_R_BAD_PAYLOAD);

	/* string keys out of order inside grants: b before a */
	mp_map(&b, 8);
	mp_uint(&b, 1);
	mp_uint(&b, 1);
	mp_uint(&b, 2);
	mp_bin(&b, jti_root, sizeof(jti_root));
	mp_uint(&b, 3);
	mp_uint(&b, NOW);
	mp_uint(&b, 5);
	mp_uint(&b, NOW + 600);
	mp_uint(&b, 6);
	mp_str(&b, "orchestrator");
	mp_uint(&b, 7);
	mp_str(&b, "alice");
	mp_uint(&b, 11);
	mp_map(&b, 2);
	mp_str(&b, "b_tool");
	mp_map(&b, 0);
	mp_str(&b, "a_tool");
	mp_map(&b, 0);
	mp_uint(&b, 12);
	mp_uint(&b, 5);
	ASSERT_REASON(open_buf(&b), BATON_R_BAD_PAYLOAD);
}
END_TEST

START_TEST(test_payload_trailing)
{
	struct buf	b = { 0 };

	/* a byte after the payload's map, inside its bin */
	hand_root(&b, 1, 0);
	buf_byte(&b, 0x00);
	ASSERT_REASON(open_buf(&b), BATON_R_BAD_PAYLOAD);
	/* the payload is not a map */
	mp_array(&b, 1);
	mp_uint(&b, 1);
	ASSERT_REASON(open_buf(&b), BATON_R_BAD_PAYLOAD);
	/* an empty payload */
	ASSERT_REASON(open_payload((const uint8_t *)"", 0, NULL),
	    BATON_R_BAD_PAYLOAD);
}
END_TEST

/* ---- envelope ------------------------------------------------------------- */

START_TEST(test_unknown_format)
{
	struct parts	t = base_parts;
	struct buf	b = { 0 };

	t.fmt = 2;
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_UNKNOWN_FORMAT);
	t.fmt = 0;
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_UNKNOWN_FORMAT);
	t.fmt = 0x100000001ULL;
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_UNKNOWN_FORMAT);
	/* fmt is read first: a future format may have any shape */
	mp_array(&b, 2);
	mp_uint(&b, 2);
	mp_str(&b, "v2");
	ASSERT_REASON(open_bytes(b.p, b.len, &KR, BATON_CHECK_SIG),
	    BATON_R_UNKNOWN_FORMAT);
	buf_free(&b);
	/* but not a negative integer or a string */
	buf_put(&b, "\x95\xff", 2);
	ASSERT_REASON(open_bytes(b.p, b.len, &KR, BATON_CHECK_SIG),
	    BATON_R_MALFORMED);
	buf_free(&b);
}
END_TEST

START_TEST(test_trailing_bytes)
{
	struct buf	b = { 0 };

	env_build(&b, &base_parts);
	buf_byte(&b, 0x00);
	ASSERT_REASON(open_bytes(b.p, b.len, &KR, BATON_CHECK_SIG),
	    BATON_R_TRAILING_BYTES);
	ASSERT_REASON(open_bytes(b.p, b.len, &KR, BATON_CHECK_TAG),
	    BATON_R_TRAILING_BYTES);
	buf_free(&b);
	/* a whole second token glued on */
	env_build(&b, &base_parts);
	env_build(&b, &base_parts);
	ASSERT_REASON(open_bytes(b.p, b.len, &KR, BATON_CHECK_SIG),
	    BATON_R_TRAILING_BYTES);
	buf_free(&b);
}
END_TEST

START_TEST(test_wrong_types)
{
	struct buf	b = { 0 };
	size_t		i;

	/* kid as a str, payload as a str, sig one byte short */
	mp_array(&b, 5);
	mp_uint(&b, 1);
	buf_byte(&b, 0xa8);
	buf_put(&b, base_parts.kid, BATON_KID_LEN);
	mp_array(&b, 1);
	mp_bin(&b, base_parts.pay[0], base_parts.len[0]);
	mp_bin(&b, base_parts.sig, BATON_SIG_LEN);
	mp_bin(&b, base_parts.tag, BATON_TAG_LEN);
	ASSERT_REASON(open_bytes(b.p, b.len, &KR, BATON_CHECK_SIG),
	    BATON_R_MALFORMED);
	buf_free(&b);

	mp_array(&b, 5);
	mp_uint(&b, 1);
	mp_bin(&b, base_parts.kid, BATON_KID_LEN);
	mp_array(&b, 1);
	buf_byte(&b, 0xd9);
	buf_byte(&b, (uint8_t)base_parts.len[0]);
	buf_put(&b, base_parts.pay[0], base_parts.len[0]);
	mp_bin(&b, base_parts.sig, BATON_SIG_LEN);
	mp_bin(&b, base_parts.tag, BATON_TAG_LEN);
	ASSERT_REASON(open_bytes(b.p, b.len, &KR, BATON_CHECK_SIG),
	    BATON_R_MALFORMED);
	buf_free(&b);

	mp_array(&b, 5);
	mp_uint(&b, 1);
	mp_bin(&b, base_parts.kid, BATON_KID_LEN);
	mp_array(&b, 3);
	for (i = 0; i < 3; i++)
		mp_bin(&b, base_parts.pay[i], base_parts.len[i]);
	mp_bin(&b, base_parts.sig, BATON_SIG_LEN - 1);
	mp_bin(&b, base_parts.tag, BATON_TAG_LEN);
	ASSERT_REASON(open_bytes(b.p, b.len, &KR, BATON_CHECK_SIG),
	    BATON_R_MALFORMED);
	buf_free(&b);

	/* an array of 6: an extra element is not trailing, it is malformed */
	mp_array(&b, 6);
	mp_uint(&b, 1);
	mp_bin(&b, base_parts.kid, BATON_KID_LEN);
	mp_array(&b, 3);
	for (i = 0; i < 3; i++)
		mp_bin(&b, base_parts.pay[i], base_parts.len[i]);
	mp_bin(&b, base_parts.sig, BATON_SIG_LEN);
	mp_bin(&b, base_parts.tag, BATON_TAG_LEN);
	buf_byte(&b, 0xc0);
	ASSERT_REASON(open_bytes(b.p, b.len, &KR, BATON_CHECK_SIG),
	    BATON_R_MALFORMED);
	buf_free(&b);

	/* empty envelope */
	ASSERT_REASON(open_text("bt1_", 4, &KR, BATON_CHECK_SIG, NULL),
	    BATON_R_MALFORMED);
}
END_TEST

/*
 * Count and length bombs: headers claiming far more than the input holds.
 * The bounded reader must refuse each before believing it.
 */
static const struct {
	const char	*what;
	uint8_t		 bytes[5];
} bombs[] = {
	{ "array32 of 4278190080", { 0xdd, 0xff, 0x00, 0x00, 0x00 } },
	{ "array32 of 4294967295", { 0xdd, 0xff, 0xff, 0xff, 0xff } },
	{ "map32 of 4278190080", { 0xdf, 0xff, 0x00, 0x00, 0x00 } },
	{ "bin32 of 4294967295", { 0xc6, 0xff, 0xff, 0xff, 0xff } },
	{ "str32 of 4294967295", { 0xdb, 0xff, 0xff, 0xff, 0xff } },
	{ "ext32 of 4294967295", { 0xc9, 0xff, 0xff, 0xff, 0xff } },
};

START_TEST(test_bomb_envelope)
{
	struct baton_envelope	env;
	struct baton_token	tok;
	const uint8_t		*bb = bombs[_i].bytes;
	char			*t;

	/* as the whole envelope, raw and as text */
	ASSERT_REASON(baton_envelope_parse_bytes(&env, bb, 5),
	    BATON_R_MALFORMED);
	baton_envelope_free(&env);
	t = to_text(bb, 5);
	ASSERT_REASON(open_text(t, strlen(t), &KR, BATON_CHECK_SIG, NULL),
	    BATON_R_MALFORMED);
	ASSERT_REASON(baton_token_open_unchecked(&tok, t, strlen(t)),
	    BATON_R_MALFORMED);
	baton_token_free(&tok);
	free(t);
}
END_TEST

START_TEST(test_bomb_positions)
{
	const uint8_t	*bb = bombs[_i].bytes;
	struct buf	 b = { 0 };
	struct mpr	 r;
	uint32_t	 op, id, n;

	/* in place of the payload list */
	mp_array(&b, 5);
	mp_uint(&b, 1);
	mp_bin(&b, base_parts.kid, BATON_KID_LEN);
	buf_put(&b, bb, 5);
	mp_bin(&b, base_parts.sig, BATON_SIG_LEN);
	mp_bin(&b, base_parts.tag, BATON_TAG_LEN);
	ASSERT_REASON(open_bytes(b.p, b.len, &KR, BATON_CHECK_SIG),
	    BATON_R_MALFORMED);
	buf_free(&b);

	/* as the envelope's outer array header */
	buf_put(&b, bb, 5);
	buf_put(&b, base_env.buf + 1, base_env.len - 1);
	ASSERT_REASON(open_bytes(b.p, b.len, &KR, BATON_CHECK_SIG),
	    BATON_R_MALFORMED);
	buf_free(&b);

	/* as a whole payload, validly signed: decode refuses it */
	ASSERT_REASON(open_payload(bb, 5, NULL), BATON_R_BAD_PAYLOAD);

	/* nested inside a payload, as an ignored field's value */
	hand_root(&b, 1, 1);
	mp_uint(&b, 64);
	buf_put(&b, bb, 5);
	ASSERT_REASON(open_buf(&b), BATON_R_BAD_PAYLOAD);

	/* as a wire message, and as a wire message's body */
	mpr_init(&r, bb, 5);
	ck_assert_int_eq(baton_wire_read_request(&r, &op, &id),
	    BATON_EMALFORMED);
	mp_array(&b, 3);
	mp_uint(&b, 1);
	mp_uint(&b, 7);
	buf_put(&b, bb, 5);
	mpr_init(&r, b.p, b.len);
	if (baton_wire_read_request(&r, &op, &id) == 0)
		ck_assert_int_ne(mpr_map(&r, &n), 0);
	buf_free(&b);
}
END_TEST

/* A payload that encodes to exactly n bytes (key 64 padding), n >= 64. */
static void
padded_root(struct buf *b, size_t n)
{
	uint8_t	*pad;
	size_t	 padlen;

	hand_root(b, 1, 1);
	mp_uint(b, 64);
	/* the padding is a bin 16: a 3-byte header */
	ck_assert_uint_gt(n, b->len + 3 + 0xff);
	padlen = n - b->len - 3;
	pad = calloc(1, padlen);
	ck_assert_ptr_nonnull(pad);
	mp_bin(b, pad, padlen);
	free(pad);
	ck_assert_uint_eq(b->len, n);
}

START_TEST(test_payload_too_large)
{
	struct buf	 b = { 0 }, e = { 0 };
	struct parts	 t = base_parts;
	const uint8_t	*pp[1];
	size_t		 ll[1];
	char		*text = NULL;

	/* exactly 4096 bytes: accepted */
	padded_root(&b, BATON_MAX_PAYLOAD);
	ASSERT_REASON(open_payload(b.p, b.len, NULL), BATON_R_OK);
	buf_free(&b);

	/* 4097: the encoder and seal refuse, the parser too */
	padded_root(&b, BATON_MAX_PAYLOAD + 1);
	pp[0] = b.p;
	ll[0] = b.len;
	ck_assert_int_eq(baton_token_seal(&text, K, pp, ll, 1),
	    BATON_ETOOBIG);
	ck_assert_ptr_null(text);
	t.pay[1] = b.p;
	t.len[1] = b.len;
	env_build(&e, &t);
	ASSERT_REASON(open_bytes(e.p, e.len, &KR, BATON_CHECK_SIG),
	    BATON_R_TOO_LARGE);
	ASSERT_REASON(open_bytes(e.p, e.len, &KR, BATON_CHECK_TAG),
	    BATON_R_TOO_LARGE);
	buf_free(&e);
	buf_free(&b);
}
END_TEST

START_TEST(test_block_encode_too_large)
{
	struct baton_block	 b;
	uint8_t			*out = NULL;
	size_t			 outlen = 0;
	char			*big;

	big = malloc(BATON_MAX_PAYLOAD + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', BATON_MAX_PAYLOAD);
	big[BATON_MAX_PAYLOAD] = '\0';
	tu_root(&b, 0x51, NOW, 600);
	tu_ctx(A, &b, "blob", big);
	ck_assert_int_eq(baton_block_encode(&b, 1, &out, &outlen),
	    BATON_ETOOBIG);
	ck_assert_ptr_null(out);
	free(big);
}
END_TEST

START_TEST(test_envelope_too_large)
{
	struct buf		 b = { 0 }, e = { 0 };
	struct parts		 t;
	struct baton_envelope	 env;
	char			*text = NULL, *big;
	size_t			 i, biglen;

	/* sixteen payloads of 4 KiB: each fine, the whole over 64 KiB */
	padded_root(&b, BATON_MAX_PAYLOAD);
	memset(&t, 0, sizeof(t));
	t.fmt = 1;
	memcpy(t.kid, base_parts.kid, BATON_KID_LEN);
	for (i = 0; i < BATON_MAX_BLOCKS; i++) {
		t.pay[i] = b.p;
		t.len[i] = b.len;
	}
	t.n = BATON_MAX_BLOCKS;
	env_build(&e, &t);
	ck_assert_uint_gt(e.len, BATON_MAX_ENVELOPE);
	ASSERT_REASON(baton_envelope_parse_bytes(&env, e.p, e.len),
	    BATON_R_TOO_LARGE);
	ASSERT_REASON(open_bytes(e.p, e.len, &KR, BATON_CHECK_SIG),
	    BATON_R_TOO_LARGE);
	ck_assert_int_eq(baton_token_seal(&text, K, t.pay, t.len, t.n),
	    BATON_ETOOBIG);
	ck_assert_ptr_null(text);
	/* one byte over the cap, whatever it holds */
	ASSERT_REASON(baton_envelope_parse_bytes(&env, e.p,
	    BATON_MAX_ENVELOPE + 1), BATON_R_TOO_LARGE);
	buf_free(&e);
	buf_free(&b);

	/* text over the cap is refused before any base64 is decoded */
	biglen = BATON_MAX_TEXT + 1;
	big = malloc(biglen + 1);
	ck_assert_ptr_nonnull(big);
	memcpy(big, BATON_PREFIX, BATON_PREFIX_LEN);
	memset(big + BATON_PREFIX_LEN, '!', biglen - BATON_PREFIX_LEN);
	big[biglen] = '\0';
	ASSERT_REASON(open_text(big, biglen, &KR, BATON_CHECK_SIG, NULL),
	    BATON_R_TOO_LARGE);
	free(big);
}
END_TEST

/* Text mangled: {where, what} applied to the base token's text. */
enum b64_edit { E_APPEND, E_REPLACE, E_INSERT, E_WHOLE };

static const struct {
	const char	*what;
	enum b64_edit	 edit;
	const char	*s;
	size_t		 slen;
} b64_cases[] = {
	{ "padding =", E_APPEND, "=", 1 },
	{ "padding ==", E_APPEND, "==", 2 },
	{ "plus", E_REPLACE, "+", 1 },
	{ "slash", E_REPLACE, "/", 1 },
	{ "space inside", E_INSERT, " ", 1 },
	{ "newline inside", E_INSERT, "\n", 1 },
	{ "tab inside", E_INSERT, "\t", 1 },
	{ "trailing newline", E_APPEND, "\n", 1 },
	{ "trailing CRLF", E_APPEND, "\r\n", 2 },
	{ "NUL inside", E_INSERT, "\0", 1 },
	{ "high byte", E_REPLACE, "\xc3", 1 },
	{ "dot", E_REPLACE, ".", 1 },
	{ "dangling char", E_WHOLE, "bt1_A", 5 },
	{ "dangling char after a group", E_WHOLE, "bt1_AAAAA", 9 },
	{ "non-zero trailing bits (1 byte)", E_WHOLE, "bt1_AB", 6 },
	{ "non-zero trailing bits (2 bytes)", E_WHOLE, "bt1_AAB", 7 },
	{ "only padding", E_WHOLE, "bt1_====", 8 },
	{ "standard alphabet", E_WHOLE, "bt1_lQ+/", 8 },
};

START_TEST(test_bad_base64)
{
	enum baton_reason	 r;
	char			*t;
	size_t			 len, at, blen = strlen(base_text);

	t = malloc(blen + 8);
	ck_assert_ptr_nonnull(t);
	at = BATON_PREFIX_LEN + 10;
	switch (b64_cases[_i].edit) {
	case E_APPEND:
		memcpy(t, base_text, blen);
		memcpy(t + blen, b64_cases[_i].s, b64_cases[_i].slen);
		len = blen + b64_cases[_i].slen;
		break;
	case E_REPLACE:
		memcpy(t, base_text, blen);
		t[at] = b64_cases[_i].s[0];
		len = blen;
		break;
	case E_INSERT:
		memcpy(t, base_text, at);
		memcpy(t + at, b64_cases[_i].s, b64_cases[_i].slen);
		memcpy(t + at + b64_cases[_i].slen, base_text + at, blen - at);
		len = blen + b64_cases[_i].slen;
		break;
	default:
		memcpy(t, b64_cases[_i].s, b64_cases[_i].slen);
		len = b64_cases[_i].slen;
		break;
	}
	r = open_text(t, len, &KR, BATON_CHECK_SIG, NULL);
	ck_assert_msg(r == BATON_R_BAD_BASE64, "%s: %s", b64_cases[_i].what,
	    baton_reason_name(r));
	free(t);
}
END_TEST

/*
 * Every byte 0x80..0xff must be refused.  libsodium 1.0.18's URL-safe
 * decoder reads each of them as '_' (value 63) instead of stopping, so a
 * codec relying on it alone gives every token with a '_' in its text 128
 * more spellings that all verify: the text form is no longer canonical.
 */
START_TEST(test_base64_high_byte)
{
	enum baton_reason	 r;
	char			*t, *u;
	int			 c;

	t = strdup(base_text);
	ck_assert_ptr_nonnull(t);
	u = strchr(t + BATON_PREFIX_LEN, '_');
	ck_assert_ptr_nonnull(u);	/* the fixed token has one */
	for (c = 0x80; c <= 0xff; c++) {
		*u = (char)c;
		r = open_text(t, strlen(t), &KR, BATON_CHECK_SIG, NULL);
		ck_assert_msg(r == BATON_R_BAD_BASE64,
		    "byte 0x%02x in place of '_': %s", c, baton_reason_name(r));
	}
	free(t);
}
END_TEST

/* The canonical twins of the trailing-bit cases parse as base64. */
START_TEST(test_base64_canonical_twins)
{
	ASSERT_REASON(open_text("bt1_AA", 6, &KR, BATON_CHECK_SIG, NULL),
	    BATON_R_MALFORMED);
	ASSERT_REASON(open_text("bt1_AAA", 7, &KR, BATON_CHECK_SIG, NULL),
	    BATON_R_MALFORMED);
	/*
	 * base64url's own "-" and "_" decode: 0x95 0x0f 0xbf, an array of 5
	 * with 2 bytes left, which the bounded reader refuses outright
	 */
	ASSERT_REASON(open_text("bt1_lQ-_", 8, &KR, BATON_CHECK_SIG, NULL),
	    BATON_R_MALFORMED);
}
END_TEST

static const char *const bad_prefixes[] = {
	"", "b", "bt1", "bt1-", "bt2_", "BT1_", "Bt1_", "bt0_", " bt1_",
	"Bearer bt1_", "bt1_bt1_", "\0bt1_",
};

START_TEST(test_bad_prefix)
{
	char	*t;
	size_t	 plen, blen = strlen(base_text) - BATON_PREFIX_LEN;
	enum baton_reason r;

	plen = (size_t)_i == NITEMS(bad_prefixes) - 1 ? 5 :
	    strlen(bad_prefixes[_i]);
	t = malloc(plen + blen + 1);
	ck_assert_ptr_nonnull(t);
	memcpy(t, bad_prefixes[_i], plen);
	memcpy(t + plen, base_text + BATON_PREFIX_LEN, blen + 1);
	r = open_text(t, plen + blen, &KR, BATON_CHECK_SIG, NULL);
	/*
	 * "bt1_bt1_..." has the right prefix, and "bt1_" is valid base64url:
	 * the envelope gains three leading bytes 6e d7 5f, and 0x6e is no
	 * array
	 */
	if (strcmp(bad_prefixes[_i], "bt1_bt1_") == 0)
		ASSERT_REASON(r, BATON_R_MALFORMED);
	else
		ck_assert_msg(r == BATON_R_BAD_PREFIX, "prefix \"%s\": %s",
		    bad_prefixes[_i], baton_reason_name(r));
	/* prefix alone, cut short */
	if (plen > 0)
		ASSERT_REASON(open_text(t, plen < 4 ? plen : 3, &KR,
		    BATON_CHECK_SIG, NULL), BATON_R_BAD_PREFIX);
	free(t);
	ASSERT_REASON(open_text(NULL, 0, &KR, BATON_CHECK_SIG, NULL),
	    BATON_R_BAD_PREFIX);
}
END_TEST

START_TEST(test_chain_too_long)
{
	struct parts	 t = base_parts;
	struct buf	 b = { 0 };
	char		*text = NULL;
	size_t		 i;

	t.n = 0;
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_CHAIN_TOO_LONG);
	ck_assert_int_eq(baton_token_seal(&text, K, t.pay, t.len, 0),
	    BATON_EINVAL);
	hand_root(&b, 1, 0);
	for (i = 0; i < BATON_MAX_BLOCKS + 1; i++) {
		t.pay[i] = b.p;
		t.len[i] = b.len;
	}
	t.n = BATON_MAX_BLOCKS + 1;
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_CHAIN_TOO_LONG);
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_TAG),
	    BATON_R_CHAIN_TOO_LONG);
	ck_assert_int_eq(baton_token_seal(&text, K, t.pay, t.len, t.n),
	    BATON_ETOOBIG);
	ck_assert_ptr_null(text);
	/* 16 is structurally fine (the signature is what fails here) */
	t.n = BATON_MAX_BLOCKS;
	ASSERT_REASON(open_parts(&t, &KR, BATON_CHECK_SIG),
	    BATON_R_BAD_SIGNATURE);
	buf_free(&b);
}
END_TEST

/* ---- MCPVault defects, through the whole codec ----------------------------- */

/*
 * open the parent text, baton_attenuate, encode the child, extend and
 * reseal: what the broker does for one hop.  Returns the new text, or
 * NULL with *why set.
 */
static char *
hop(const char *text, const struct baton_restrict *r, const char *who,
    uint8_t jtib, uint64_t now, enum baton_reason *why)
{
	struct baton_token	 parent;
	struct baton_block	 child;
	uint8_t			 jti[BATON_JTI_LEN], *p;
	size_t			 plen;
	char			*out = NULL;

	memset(jti, jtib, sizeof(jti));
	tu_open(&parent, text, &KR);
	*why = baton_attenuate(&parent, r, who, jti, now, &child);
	if (*why == BATON_R_OK) {
		tu_encode(&child, 0, &p, &plen);
		ck_assert_int_eq(baton_token_extend(&out, &parent, K, p, plen),
		    0);
		free(p);
	}
	baton_token_free(&parent);
	return (out);
}

static char *
hop_ok(const char *text, const struct baton_restrict *r, const char *who,
    uint8_t jtib)
{
	enum baton_reason	 why;
	char			*t;

	t = hop(text, r, who, jtib, NOW + 1, &why);
	ASSERT_REASON(why, BATON_R_OK);
	return (t);
}

static char *
mint(const struct baton_block *root)
{
	return (tu_seal(K, root, 1));
}

/* ---- call tokens: one sealed block (present --minimal) -------------------- */

/* Does hay hold the bytes of needle anywhere? */
static int
has_bytes(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	size_t	i;

	for (i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return (1);
	return (0);
}

/* The lineage of base: its three blocks and chain hash. */
static void
base_lineage(struct baton_lineage *lin)
{
	size_t	i;

	memset(lin, 0, sizeof(*lin));
	lin->n = 3;
	for (i = 0; i < 3; i++) {
		memcpy(lin->jti[i], base[i].jti, BATON_JTI_LEN);
		lin->exp[i] = base[i].exp;
		lin->single_use[i] = base[i].single_use;
	}
	baton_chain_hash(lin->chain, base_env.kid,
	    (const uint8_t *const *)base_env.payload, base_env.paylen, 3);
}

/* A call block for db_query/read at aud db, sealed under key k. */
static void
call_block(struct baton_block *b, uint8_t jti_byte, uint8_t *seal,
    const struct baton_key *k)
{
	struct baton_lineage	 lin;

	tu_root(b, jti_byte, NOW, 60);
	b->iss = NULL;
	b->sub = NULL;
	tu_tool(A, b, "db_query", "read");
	tu_aud(A, b, "db");
	b->single_use = 1;
	b->max_depth = 0;
	b->holder = "worker-a";
	base_lineage(&lin);
	ck_assert_int_eq(baton_lineage_seal(seal, BATON_SEAL_LEN(3), k,
	    b->jti, &lin), 0);
	b->seal = seal;
	b->seallen = BATON_SEAL_LEN(3);
}

static enum baton_reason
open_lineage(const char *text, const struct baton_key *k,
    struct baton_lineage *lin)
{
	struct baton_token	tok;
	enum baton_reason	r;

	tu_open(&tok, text, &KR);
	r = baton_lineage_open(lin, k, tok.blocks[0].jti, tok.blocks[0].seal,
	    tok.blocks[0].seallen);
	baton_token_free(&tok);
	return (r);
}

START_TEST(test_call_token_ok)
{
	struct baton_block	 b;
	struct baton_lineage	 lin, want;
	struct baton_request	 q;
	struct baton_token	 tok;
	struct baton_effective	 eff;
	uint8_t			 seal[BATON_SEAL_LEN(3)];
	char			*t;

	call_block(&b, 0x41, seal, K);
	t = tu_seal(K, &b, 1);
	/* no iss, no sub, and yet a valid token: presented, depth 0 */
	req_init(&q, "db_query", "read", "db", NOW + 1);
	tu_open(&tok, t, &KR);
	ASSERT_REASON(baton_evaluate(&tok, &q, &eff, NULL), BATON_R_OK);
	ck_assert_int_eq(eff.presented, 1);
	ck_assert_ptr_null(eff.iss);
	ck_assert_ptr_null(eff.sub);
	baton_token_free(&tok);
	/* the lineage comes back exactly */
	base_lineage(&want);
	ASSERT_REASON(open_lineage(t, K, &lin), BATON_R_OK);
	ck_assert_uint_eq(lin.n, 3);
	ck_assert_mem_eq(lin.chain, want.chain, BATON_HASH_LEN);
	ck_assert_mem_eq(lin.jti, want.jti, sizeof(lin.jti));
	ck_assert_uint_eq(lin.exp[2], base[2].exp);
	ck_assert_int_eq(lin.single_use[2], 1);
	free(t);
}
END_TEST

START_TEST(test_call_token_reveals_nothing)
{
	struct baton_block	 b;
	struct baton_envelope	 env;
	uint8_t			 seal[BATON_SEAL_LEN(3)];
	const char		*secret[] = { "alice", "orchestrator",
				    "file_read", "files" };
	char			*t;
	size_t			 i;

	call_block(&b, 0x42, seal, K);
	t = tu_seal(K, &b, 1);
	parse_text(&env, t);
	for (i = 0; i < NITEMS(secret); i++)
		ck_assert_msg(!has_bytes(env.buf, env.len, secret[i],
		    strlen(secret[i])), "%s in the call token",
		    secret[i]);
	/* the jtis of the chain are not in it either */
	for (i = 0; i < 3; i++)
		ck_assert(!has_bytes(env.buf, env.len, base[i].jti,
		    BATON_JTI_LEN));
	baton_envelope_free(&env);
	free(t);
}
END_TEST

START_TEST(test_call_token_unlinkable)
{
	struct baton_block	 b1, b2;
	uint8_t			 s1[BATON_SEAL_LEN(3)], s2[BATON_SEAL_LEN(3)];
	size_t			 i;
	int			 common = 0;

	/* the same lineage twice: fresh nonces, no shared run of 8 bytes */
	call_block(&b1, 0x43, s1, K);
	call_block(&b2, 0x44, s2, K);
	for (i = 0; i + 8 <= sizeof(s1); i++)
		common += has_bytes(s2, sizeof(s2), s1 + i, 8);
	ck_assert_int_eq(common, 0);
}
END_TEST

/* Each attack on the seal; the signature is made to hold throughout. */
START_TEST(test_call_seal_attacks)
{
	struct baton_block	 b1, b2;
	struct baton_lineage	 lin;
	struct baton_key	*other, *pub;
	uint8_t			 s1[BATON_SEAL_LEN(3)], s2[BATON_SEAL_LEN(3)];
	char			*t;

	call_block(&b1, 0x45, s1, K);
	call_block(&b2, 0x46, s2, K);
	/* swapped between two call tokens: bound to the jti, so no */
	b1.seal = s2;
	t = tu_seal(K, &b1, 1);
	ASSERT_REASON(open_lineage(t, K, &lin), BATON_R_BAD_SEAL);
	ck_assert_uint_eq(lin.n, 0);
	free(t);
	/* one flipped ciphertext bit */
	b1.seal = s1;
	s1[40] ^= 1;
	t = tu_seal(K, &b1, 1);
	ASSERT_REASON(open_lineage(t, K, &lin), BATON_R_BAD_SEAL);
	free(t);
	s1[40] ^= 1;
	/* truncated by one whole entry: well-formed length, MAC fails */
	b1.seallen = BATON_SEAL_LEN(2);
	t = tu_seal(K, &b1, 1);
	ASSERT_REASON(open_lineage(t, K, &lin), BATON_R_BAD_SEAL);
	free(t);
	b1.seallen = BATON_SEAL_LEN(3);
	/* another broker's key cannot open it */
	other = tu_key(0x55);
	t = tu_seal(K, &b1, 1);
	ASSERT_REASON(open_lineage(t, other, &lin), BATON_R_BAD_SEAL);
	/* nor a public-only key (a federated broker's bundle) */
	ck_assert_int_eq(baton_key_from_public(&pub, K->pk), 0);
	ASSERT_REASON(open_lineage(t, pub, &lin), BATON_R_BAD_SEAL);
	ASSERT_REASON(open_lineage(t, NULL, &lin), BATON_R_BAD_SEAL);
	ASSERT_REASON(open_lineage(t, K, &lin), BATON_R_OK);
	free(t);
	baton_key_free(other);
	baton_key_free(pub);
}
END_TEST

/* A seal whose length is not nonce + header + whole entries + MAC. */
START_TEST(test_call_seal_bad_length)
{
	struct baton_block	 b;
	struct baton_token	 tok;
	uint8_t			 seal[BATON_SEAL_LEN(3)];
	uint8_t			*enc = NULL;
	size_t			 enclen;
	char			*t;

	call_block(&b, 0x47, seal, K);
	b.seallen = BATON_SEAL_LEN(3) - 1;
	/* the encoder refuses nothing here (length in range) ... */
	ck_assert_int_eq(baton_block_encode(&b, 1, &enc, &enclen), 0);
	free(enc);
	t = tu_seal(K, &b, 1);
	/* ... but the decoder checks the exact shape */
	ASSERT_REASON(baton_token_open(&tok, t, strlen(t), &KR,
	    BATON_CHECK_SIG), BATON_R_BAD_PAYLOAD);
	baton_token_free(&tok);
	free(t);
}
END_TEST

/*
 * Shapes no broker writes: a seal on a wider grant, a longer life, depth
 * left, reuse; a block after it; and the seal in a later block.
 */
START_TEST(test_call_shape)
{
	struct baton_block	 b, blocks[2];
	struct baton_request	 q;
	struct baton_restrict	 rs;
	struct baton_block	 child;
	struct baton_token	 tok;
	uint8_t			 seal[BATON_SEAL_LEN(3)], jti[BATON_JTI_LEN];
	char			*t;
	int			 i;

	req_init(&q, "db_query", "read", "db", NOW + 1);
	for (i = 0; i < 6; i++) {
		call_block(&b, (uint8_t)(0x50 + i), seal, K);
		switch (i) {
		case 0:	tu_tool(A, &b, "file_read", "read"); break;
		case 1: b.exp = b.iat + BATON_PRESENT_MAX_TTL + 1; break;
		case 2: b.max_depth = 1; break;
		case 3: b.single_use = 0; break;
		case 4: tu_aud(A, &b, "db,files"); break;
		case 5: b.grants.tools[0].nactions = 0; break;
		}
		t = tu_seal(K, &b, 1);
		ck_assert_msg(eval_text(t, &q) == BATON_R_BAD_CHAIN,
		    "shape %d accepted", i);
		free(t);
	}
	/* a block appended to a call token, signed: not a chain */
	call_block(&blocks[0], 0x60, seal, K);
	tu_child(&blocks[1], 0x61, NOW, 30, "worker-a");
	t = tu_seal(K, blocks, 2);
	ASSERT_REASON(eval_text(t, &q), BATON_R_BAD_CHAIN);
	free(t);
	/* and the broker refuses to attenuate one */
	call_block(&b, 0x62, seal, K);
	t = tu_seal(K, &b, 1);
	tu_open(&tok, t, &KR);
	memset(&rs, 0, sizeof rs);
	memset(jti, 7, sizeof jti);
	ASSERT_REASON(baton_attenuate(&tok, &rs, "worker-a", jti, NOW + 1,
	    &child), BATON_R_ALREADY_PRESENTED);
	baton_token_free(&tok);
	free(t);
	/* a seal in a later block is a field that block may not have */
	tu_root(&blocks[0], 0x63, NOW, 600);
	tu_child(&blocks[1], 0x64, NOW, 30, "orchestrator");
	blocks[1].seal = seal;
	blocks[1].seallen = BATON_SEAL_LEN(3);
	ck_assert_int_ne(baton_block_encode(&blocks[1], 0, &(uint8_t *){ NULL },
	    &(size_t){ 0 }), 0);
}
END_TEST

/* Without a seal, block 0 still needs iss and sub. */
START_TEST(test_root_needs_iss_without_seal)
{
	struct baton_block	 b;
	uint8_t			*enc = NULL;
	size_t			 enclen;

	tu_root(&b, 0x70, NOW, 60);
	b.iss = NULL;
	ck_assert_int_eq(baton_block_encode(&b, 1, &enc, &enclen),
	    BATON_EINVAL);
	ck_assert_ptr_null(enc);
}
END_TEST

START_TEST(test_mcpvault_depth)
{
	struct baton_block	 root;
	struct baton_restrict	 r;
	struct baton_request	 q;
	struct baton_effective	 eff;
	struct baton_token	 tok;
	enum baton_reason	 why;
	char			*t, *next;
	uint64_t		 d;
	uint8_t			*p;
	size_t			 plen;
	struct baton_block	 extra;

	tu_root(&root, 0x61, NOW, 3600);
	root.max_depth = 3;
	t = mint(&root);
	memset(&r, 0, sizeof(r));
	req_init(&q, "db_query", "read", NULL, NOW + 2);
	for (d = 0; d <= 3; d++) {
		tu_open(&tok, t, &KR);
		ASSERT_REASON(baton_evaluate(&tok, &q, &eff, NULL),
		    BATON_R_OK);
		/* depth is computed: one more per hop, from 0 at the root */
		ck_assert_uint_eq(eff.depth, d);
		ck_assert_uint_eq(eff.depth_left, 3 - d);
		baton_token_free(&tok);
		if (d == 3)
			break;
		next = hop_ok(t, &r, d == 0 ? "orchestrator" : "worker",
		    (uint8_t)(0x62 + d));
		free(t);
		t = next;
	}
	/* the cap fires: the broker refuses a fourth hop */
	ck_assert_ptr_null(hop(t, &r, "worker", 0x66, NOW + 1, &why));
	ASSERT_REASON(why, BATON_R_NO_DEPTH_LEFT);
	/* and a fourth block written anyway does not verify */
	tu_open(&tok, t, &KR);
	tu_child(&extra, 0x67, NOW + 1, 60, "worker");
	tu_encode(&extra, 0, &p, &plen);
	ck_assert_int_eq(baton_token_extend(&next, &tok, K, p, plen), 0);
	baton_token_free(&tok);
	ASSERT_REASON(eval_text(next, &q), BATON_R_DEPTH_EXCEEDED);
	free(p);
	free(next);
	free(t);
}
END_TEST

START_TEST(test_mcpvault_two_tools)
{
	struct baton_block	 root, want;
	struct baton_restrict	 r;
	struct baton_request	 q;
	struct baton_effective	 eff;
	struct baton_token	 tok;
	char			*t, *c;

	tu_root(&root, 0x71, NOW, 3600);
	tu_tool(A, &root, "db_query", NULL);
	tu_tool(A, &root, "file_read", NULL);
	tu_tool(A, &root, "mail_send", NULL);
	t = mint(&root);
	memset(&want, 0, sizeof(want));
	tu_tool(A, &want, "file_read", NULL);
	tu_tool(A, &want, "db_query", NULL);
	memset(&r, 0, sizeof(r));
	r.has_grants = 1;
	r.grants = want.grants;
	c = hop_ok(t, &r, "orchestrator", 0x72);
	req_init(&q, "db_query", "read", NULL, NOW + 2);
	ASSERT_REASON(eval_text(c, &q), BATON_R_OK);
	req_init(&q, "file_read", "read", NULL, NOW + 2);
	ASSERT_REASON(eval_text(c, &q), BATON_R_OK);
	req_init(&q, "mail_send", "send", NULL, NOW + 2);
	ASSERT_REASON(eval_text(c, &q), BATON_R_TOOL_NOT_GRANTED);
	tu_open(&tok, c, &KR);
	ASSERT_REASON(baton_effective(&tok, &eff), BATON_R_OK);
	ck_assert_int_eq(eff.wildcard, 0);
	ck_assert_uint_eq(eff.ntools, 2);
	baton_token_free(&tok);
	free(c);
	free(t);
}
END_TEST

START_TEST(test_mcpvault_actions)
{
	struct baton_block	 root, want;
	struct baton_restrict	 r;
	struct baton_request	 q;
	char			*t, *c;

	tu_root(&root, 0x81, NOW, 3600);
	tu_tool(A, &root, "db_query", "read,write,delete");
	t = mint(&root);
	memset(&want, 0, sizeof(want));
	tu_tool(A, &want, "db_query", "read");
	memset(&r, 0, sizeof(r));
	r.has_grants = 1;
	r.grants = want.grants;
	c = hop_ok(t, &r, "orchestrator", 0x82);
	req_init(&q, "db_query", "read", NULL, NOW + 2);
	ASSERT_REASON(eval_text(c, &q), BATON_R_OK);
	req_init(&q, "db_query", "write", NULL, NOW + 2);
	ASSERT_REASON(eval_text(c, &q), BATON_R_ACTION_NOT_GRANTED);
	req_init(&q, "db_query", "delete", NULL, NOW + 2);
	ASSERT_REASON(eval_text(c, &q), BATON_R_ACTION_NOT_GRANTED);
	/* the parent still allows write: only the child narrowed */
	req_init(&q, "db_query", "write", NULL, NOW + 2);
	ASSERT_REASON(eval_text(t, &q), BATON_R_OK);
	free(c);
	free(t);
}
END_TEST

START_TEST(test_mcpvault_limit)
{
	struct baton_block	 root, want;
	struct baton_toolgrant	*tg;
	struct baton_restrict	 r;
	struct baton_request	 q;
	struct baton_usage	 u = { "max_rows", 10 };
	struct baton_tool_facts	 f;
	struct baton_token	 tok;
	enum baton_reason	 why;
	char			*t, *c;

	tu_root(&root, 0x91, NOW, 3600);
	tg = tu_tool(A, &root, "db_query", "read");
	tu_limit(A, tg, "max_rows", 100);
	t = mint(&root);
	memset(&want, 0, sizeof(want));
	tg = tu_tool(A, &want, "db_query", "read");
	tu_limit(A, tg, "max_rows", 10);
	memset(&r, 0, sizeof(r));
	r.has_grants = 1;
	r.grants = want.grants;
	c = hop_ok(t, &r, "orchestrator", 0x92);
	req_init(&q, "db_query", "read", NULL, NOW + 2);
	q.usage = &u;
	q.nusage = 1;
	/* still usable, at the lower limit, which it reports */
	tu_open(&tok, c, &KR);
	ASSERT_REASON(baton_evaluate(&tok, &q, NULL, &f), BATON_R_OK);
	ck_assert_uint_eq(f.nlimits, 1);
	ck_assert_str_eq(f.limits[0].name, "max_rows");
	ck_assert_uint_eq(f.limits[0].max, 10);
	u.value = 11;
	ASSERT_REASON(baton_evaluate(&tok, &q, NULL, &f), BATON_R_LIMIT_EXCEEDED);
	baton_token_free(&tok);
	/* and the broker refuses to raise it again */
	tg->limits[0].max = 50;
	ck_assert_ptr_null(hop(c, &r, "orchestrator", 0x93, NOW + 1, &why));
	ASSERT_REASON(why, BATON_R_WIDEN_LIMIT);
	free(c);
	free(t);
}
END_TEST

/* ---- suite ------------------------------------------------------------------ */

/* ---- federation: a chain re-signed from another broker's key -------------- */

/*
 * Broker F (pattern 0x0f) minted the root; our key K re-signed it when
 * it appended block 1, which names F's kid as its origin.  Each attack
 * is a verifier's view: which keys it trusts, and until when.
 */
static char *
resigned(struct baton_key **fk)
{
	struct baton_block	b[2];

	*fk = tu_key(0x0f);
	tu_root(&b[0], 0x41, NOW, 3600);
	tu_child(&b[1], 0x42, NOW, 600, "orchestrator");
	b[1].origin = (*fk)->kid;
	return (tu_seal(K, b, 2));
}

/* F's public key as an imported bundle would give it. */
static void
trust_f(struct baton_keyring *fr, const struct baton_key *fk,
    uint64_t not_after, uint64_t until)
{
	struct baton_key	*pub;

	baton_keyring_init(fr);
	ck_assert_int_eq(baton_key_from_public(&pub, fk->pk), 0);
	pub->not_after = not_after;
	pub->trust_until = until;
	ck_assert_int_eq(baton_keyring_add(fr, pub), 0);
	KR.next = fr;
}

START_TEST(test_origin_trusted)
{
	struct baton_keyring	 fr;
	struct baton_key	*fk;
	struct baton_token	 tok;
	struct baton_request	 q;
	char			*t = resigned(&fk);

	trust_f(&fr, fk, 0, 0);
	tu_open(&tok, t, &KR);
	ck_assert_mem_eq(baton_token_root_kid(&tok), fk->kid, BATON_KID_LEN);
	req_init(&q, "db_query", "read", NULL, NOW + 1);
	ASSERT_REASON(baton_evaluate(&tok, &q, NULL, NULL), BATON_R_OK);
	baton_token_free(&tok);
	KR.next = NULL;
	baton_keyring_clear(&fr);
	baton_key_free(fk);
	free(t);
}
END_TEST

/* Signed by a trusted key, but from a key nobody here trusts: no. */
START_TEST(test_origin_untrusted)
{
	struct baton_key	*fk;
	char			*t = resigned(&fk);

	ASSERT_REASON(open_text(t, strlen(t), &KR, BATON_CHECK_SIG, NULL),
	    BATON_R_UNKNOWN_KEY);
	ASSERT_REASON(open_text(t, strlen(t), &KR, BATON_CHECK_TAG, NULL),
	    BATON_R_UNKNOWN_KEY);
	baton_key_free(fk);
	free(t);
}
END_TEST

/* The origin's bundle ended: the re-signed chain ends with it. */
START_TEST(test_origin_trust_ended)
{
	struct baton_keyring	 fr;
	struct baton_key	*fk;
	struct baton_token	 tok;
	struct baton_request	 q;
	char			*t = resigned(&fk);

	trust_f(&fr, fk, 0, NOW + 5);
	tu_open(&tok, t, &KR);
	req_init(&q, "db_query", "read", NULL, NOW + 5);
	ASSERT_REASON(baton_evaluate(&tok, &q, NULL, NULL), BATON_R_OK);
	req_init(&q, "db_query", "read", NULL, NOW + 6);
	ASSERT_REASON(baton_evaluate(&tok, &q, NULL, NULL),
	    BATON_R_KEY_RETIRED);
	baton_token_free(&tok);
	KR.next = NULL;
	baton_keyring_clear(&fr);
	baton_key_free(fk);
	free(t);
}
END_TEST

/* The origin key retired before the chain's exp: forged with its seed. */
START_TEST(test_origin_outlives_key)
{
	struct baton_keyring	 fr;
	struct baton_key	*fk;
	struct baton_token	 tok;
	struct baton_request	 q;
	char			*t = resigned(&fk);

	trust_f(&fr, fk, NOW + 300, 0);	/* the chain's exp is NOW + 600 */
	tu_open(&tok, t, &KR);
	req_init(&q, "db_query", "read", NULL, NOW + 1);
	ASSERT_REASON(baton_evaluate(&tok, &q, NULL, NULL),
	    BATON_R_KEY_RETIRED);
	baton_token_free(&tok);
	KR.next = NULL;
	baton_keyring_clear(&fr);
	baton_key_free(fk);
	free(t);
}
END_TEST

/* Block 0 is never re-signed from anything: an origin there is refused. */
START_TEST(test_origin_in_root)
{
	struct baton_block	 b;
	uint8_t			*out = NULL;
	size_t			 outlen;

	tu_root(&b, 0x43, NOW, 600);
	b.origin = K->kid;
	ck_assert_int_eq(baton_block_encode(&b, 1, &out, &outlen),
	    BATON_EINVAL);
	ck_assert_ptr_null(out);
}
END_TEST

static Suite *
attack_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("attack");

	tc = tcase_create("flip");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_base_ok);
	tcase_add_test(tc, test_flip_regions_cover);
	tcase_add_loop_test(tc, test_flip, 0, RG_MAX * 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("structure");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_truncate_last);
	tcase_add_test(tc, test_drop_middle);
	tcase_add_test(tc, test_swap_blocks);
	tcase_add_test(tc, test_duplicate_block_unsigned);
	tcase_add_test(tc, test_splice_sibling);
	suite_add_tcase(s, tc);

	tc = tcase_create("keys");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_untrusted_key);
	tcase_add_test(tc, test_kid_swapped_trusted);
	tcase_add_test(tc, test_retired_key);
	tcase_add_test(tc, test_kid_unknown);
	tcase_add_test(tc, test_tag_wrong_sig_right);
	tcase_add_test(tc, test_sig_wrong_tag_right);
	tcase_add_test(tc, test_public_key_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("widen");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_widen_tool);
	tcase_add_test(tc, test_widen_tool_wildcard);
	tcase_add_test(tc, test_widen_action);
	tcase_add_test(tc, test_widen_action_any);
	tcase_add_test(tc, test_widen_limit);
	tcase_add_test(tc, test_widen_limit_dropped);
	tcase_add_test(tc, test_widen_audience);
	tcase_add_test(tc, test_widen_time);
	tcase_add_test(tc, test_widen_depth);
	suite_add_tcase(s, tc);

	tc = tcase_create("chain");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_depth_exceeded_root);
	tcase_add_test(tc, test_depth_exceeded_middle);
	tcase_add_test(tc, test_expired_middle);
	tcase_add_test(tc, test_present_twice);
	tcase_add_test(tc, test_present_not_last);
	tcase_add_test(tc, test_present_then_extend);
	tcase_add_test(tc, test_holder_stolen);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_hand_root_ok);
	tcase_add_loop_test(tc, test_unknown_field, 0, NITEMS(unknown_keys));
	tcase_add_test(tc, test_unknown_even_nested);
	tcase_add_test(tc, test_unknown_toolgrant_key);
	tcase_add_loop_test(tc, test_unknown_version, 0, NITEMS(bad_versions));
	tcase_add_test(tc, test_version_checked_first);
	tcase_add_test(tc, test_duplicate_key);
	tcase_add_test(tc, test_out_of_order_key);
	tcase_add_test(tc, test_payload_trailing);
	tcase_add_test(tc, test_glob_review_chain);
	tcase_add_loop_test(tc, test_pred_bytes_chain, 0, 4);
	tcase_add_test(tc, test_glob_wild_too_large);
	suite_add_tcase(s, tc);

	tc = tcase_create("envelope");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_unknown_format);
	tcase_add_test(tc, test_trailing_bytes);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_loop_test(tc, test_bomb_envelope, 0, NITEMS(bombs));
	tcase_add_loop_test(tc, test_bomb_positions, 0, NITEMS(bombs));
	tcase_add_test(tc, test_payload_too_large);
	tcase_add_test(tc, test_block_encode_too_large);
	tcase_add_test(tc, test_envelope_too_large);
	tcase_add_loop_test(tc, test_bad_base64, 0, NITEMS(b64_cases));
	tcase_add_test(tc, test_base64_high_byte);
	tcase_add_test(tc, test_base64_canonical_twins);
	tcase_add_loop_test(tc, test_bad_prefix, 0, NITEMS(bad_prefixes));
	tcase_add_test(tc, test_chain_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("call");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_call_token_ok);
	tcase_add_test(tc, test_call_token_reveals_nothing);
	tcase_add_test(tc, test_call_token_unlinkable);
	tcase_add_test(tc, test_call_seal_attacks);
	tcase_add_test(tc, test_call_seal_bad_length);
	tcase_add_test(tc, test_call_shape);
	tcase_add_test(tc, test_root_needs_iss_without_seal);
	suite_add_tcase(s, tc);

	tc = tcase_create("federation");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_origin_trusted);
	tcase_add_test(tc, test_origin_untrusted);
	tcase_add_test(tc, test_origin_trust_ended);
	tcase_add_test(tc, test_origin_outlives_key);
	tcase_add_test(tc, test_origin_in_root);
	suite_add_tcase(s, tc);

	tc = tcase_create("mcpvault");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_mcpvault_depth);
	tcase_add_test(tc, test_mcpvault_two_tools);
	tcase_add_test(tc, test_mcpvault_actions);
	tcase_add_test(tc, test_mcpvault_limit);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(attack_suite());
	srunner_set_fork_status(sr, CK_FORK_GETENV);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
