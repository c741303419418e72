/* check_token.c: Check suite for the token codec (token.c, keys.c). */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <msgpack.h>
#include <sodium.h>

#include "common.h"
#include "testutil.h"

/*
 * One suite function per area (roundtrip, seal, envelope, payload); each
 * adds its tcases.  Attack matrix and golden vectors go in suites of
 * their own, added to main() below.
 */

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* "bt1_" + base64url of raw envelope bytes; free() the result. */
static char *
text_of(const uint8_t *buf, size_t len)
{
	size_t	 n;
	char	*t;

	n = sodium_base64_encoded_len(len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	t = malloc(BATON_PREFIX_LEN + n);
	ck_assert_ptr_nonnull(t);
	memcpy(t, BATON_PREFIX, BATON_PREFIX_LEN);
	sodium_bin2base64(t + BATON_PREFIX_LEN, n, buf, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return (t);
}

/* Reason from opening text against the keyring of pattern 1. */
static enum baton_reason
open_reason(const char *text, size_t len, enum baton_check_mode mode)
{
	struct baton_keyring	kr;
	struct baton_token	tok;
	enum baton_reason	reason;

	tu_keyring(&kr, 1);
	reason = baton_token_open(&tok, text, len, &kr, mode);
	baton_token_free(&tok);
	baton_keyring_clear(&kr);
	return (reason);
}

/* ---- roundtrip: encode, seal, open, compare ----------------------------- */

/* A block 0 using every field and every predicate type. */
static void
full_root(struct baton_arena *a, struct baton_block *b)
{
	struct baton_toolgrant	*tg;
	struct baton_argrule	*ar;

	tu_root(b, 0x11, TU_NOW, 3600);
	b->nbf = TU_NOW + 10;
	b->iss = "orchestrator";
	b->sub = "alice@example.org";
	b->holder = "agent-a";
	tu_aud(a, b, "db.example,files.example");
	tg = tu_tool(a, b, "db_query", "read,write");
	tu_limit(a, tg, "max_calls", 50);
	tu_limit(a, tg, "max_rows", 100);
	ar = tu_where(a, tg, "n");
	tu_pred_range(a, ar, -5, 1000000000000LL);
	tu_pred_eq_int(a, ar, -3);
	tu_pred_eq_bool(a, ar, 1);
	ar = tu_where(a, tg, "query");
	tu_pred_glob(a, ar, "SELECT * FROM t?");
	tu_pred_maxlen(a, ar, 256);
	ar = tu_where(a, tg, "table");
	tu_pred_eq_str(a, ar, "orders");
	tu_pred_in_str(a, ar, "orders,users,\xc3\xa9t\xc3\xa9");
	tu_pred_prefix(a, ar, "");
	tu_tool(a, b, "file_read", NULL);
	tu_tool(a, b, "z.tool", "execute");
	b->max_depth = 3;
	b->single_use = 1;
	tu_ctx(a, b, "correlation", "c-1");
	tu_ctx(a, b, "step", "");
	tu_ctx(a, b, "workflow", "wf-9");
}

static void
full_child(struct baton_arena *a, struct baton_block *b)
{
	struct baton_toolgrant	*tg;

	tu_child(b, 0x22, TU_NOW + 5, 60, "agent-a");
	b->holder = "agent-b";
	tu_aud(a, b, "db.example");
	tg = tu_tool(a, b, "db_query", "read");
	tu_limit(a, tg, "max_rows", 10);
	tu_pred_prefix(a, tu_where(a, tg, "table"), "ord");
	b->has_max_depth = 1;
	b->max_depth = 0;
	b->single_use = 1;
	b->kind = BATON_BLOCK_PRESENT;
	tu_ctx(a, b, "step", "2");
}

/* Seal blocks, open them with the key, compare every block. */
static void
roundtrip(const struct baton_block *blocks, size_t n)
{
	struct baton_keyring	 kr;
	struct baton_token	 tok;
	uint8_t			*p;
	size_t			 len, i;
	char			*text;

	tu_keyring(&kr, 1);
	text = tu_seal(kr.keys[0], blocks, n);
	tu_open(&tok, text, &kr);
	ck_assert_uint_eq(tok.nblocks, n);
	for (i = 0; i < n; i++) {
		tu_assert_block_eq(&blocks[i], &tok.blocks[i]);
		/* raw is the carried payload, and it is canonical */
		tu_encode(&blocks[i], i == 0, &p, &len);
		ck_assert_uint_eq(tok.blocks[i].rawlen, len);
		ck_assert_ptr_eq(tok.blocks[i].raw, tok.env.payload[i]);
		ck_assert_int_eq(memcmp(tok.blocks[i].raw, p, len), 0);
		free(p);
	}
	baton_token_free(&tok);
	free(text);
	baton_keyring_clear(&kr);
}

START_TEST(test_rt_root_full)
{
	struct baton_arena	*a = tu_arena();
	struct baton_block	 b;

	full_root(a, &b);
	roundtrip(&b, 1);
	baton_arena_free(a);
}
END_TEST

START_TEST(test_rt_root_minimal)
{
	struct baton_block	b;

	tu_root(&b, 0x01, TU_NOW, 60);
	roundtrip(&b, 1);	/* nbf == iat: omitted, decoded as iat */
	b.nbf = 0;		/* explicit nbf before iat survives */
	roundtrip(&b, 1);
}
END_TEST

START_TEST(test_rt_child_full)
{
	struct baton_arena	*a = tu_arena();
	struct baton_block	 b[2];

	full_root(a, &b[0]);
	full_child(a, &b[1]);
	roundtrip(b, 2);
	baton_arena_free(a);
}
END_TEST

START_TEST(test_rt_child_minimal)
{
	struct baton_block	b[BATON_MAX_BLOCKS];
	size_t			i;

	tu_root(&b[0], 0x01, TU_NOW, 600);
	for (i = 1; i < BATON_MAX_BLOCKS; i++)
		tu_child(&b[i], (uint8_t)(0x01 + i), TU_NOW + i, 60,
		    "agent");
	roundtrip(b, 2);
	roundtrip(b, BATON_MAX_BLOCKS);
}
END_TEST

/* Unsorted input is encoded sorted; decode sees the sorted version. */
START_TEST(test_rt_sorting)
{
	struct baton_arena	*a = tu_arena(), *a2 = tu_arena();
	struct baton_block	 in, want;
	struct baton_toolgrant	*tg;
	struct baton_keyring	 kr;
	struct baton_token	 tok;
	char			*text;

	tu_root(&in, 0x01, TU_NOW, 60);
	tg = tu_tool(a, &in, "zeta", "write,read,delete");
	tu_limit(a, tg, "b", 2);
	tu_limit(a, tg, "a", 1);
	tu_pred_eq_str(a, tu_where(a, tg, "y"), "1");
	tu_pred_eq_str(a, tu_where(a, tg, "x"), "2");
	tu_tool(a, &in, "alpha", NULL);
	tu_aud(a, &in, "zz,aa,m");
	tu_ctx(a, &in, "k2", "v2");
	tu_ctx(a, &in, "k1", "v1");

	tu_root(&want, 0x01, TU_NOW, 60);
	tu_tool(a2, &want, "alpha", NULL);
	tg = tu_tool(a2, &want, "zeta", "delete,read,write");
	tu_limit(a2, tg, "a", 1);
	tu_limit(a2, tg, "b", 2);
	tu_pred_eq_str(a2, tu_where(a2, tg, "x"), "2");
	tu_pred_eq_str(a2, tu_where(a2, tg, "y"), "1");
	tu_aud(a2, &want, "aa,m,zz");
	tu_ctx(a2, &want, "k1", "v1");
	tu_ctx(a2, &want, "k2", "v2");

	tu_keyring(&kr, 1);
	text = tu_seal(kr.keys[0], &in, 1);
	tu_open(&tok, text, &kr);
	tu_assert_block_eq(&want, &tok.blocks[0]);
	baton_token_free(&tok);
	free(text);
	baton_keyring_clear(&kr);
	baton_arena_free(a);
	baton_arena_free(a2);
}
END_TEST

/* Blocks the decoder would refuse are refused by the encoder. */
enum bad_block {
	BB_EXP_EQ_IAT, BB_EMPTY_ISS, BB_NO_SUB, BB_ROOT_DELEGATOR,
	BB_ROOT_KIND, BB_NO_GRANTS, BB_DEPTH16, BB_VERSION2, BB_DUP_TOOL,
	BB_DUP_ACTION, BB_UPPER_ACTION, BB_DUP_AUD, BB_AUD17, BB_EMPTY_AUD,
	BB_DUP_CTX, BB_CTX17, BB_BAD_UTF8, BB_CTL_SUB, BB_CTL_CTX, BB_STAR_TOOL,
	BB_RANGE, BB_NOPREDS,
	BB_IN_EMPTY, BB_EMPTY_HOLDER, BB_CHILD_NO_DELEGATOR, BB_CHILD_ISS,
	BB_WILDCARD_TOOLS, BB_BAD_KIND, BB_MAX
};

START_TEST(test_encode_refuses)
{
	struct baton_arena	*a = tu_arena();
	struct baton_block	 b;
	struct baton_toolgrant	*tg;
	struct baton_pred	*p;
	uint8_t			*out = (uint8_t *)1;
	size_t			 len = 1, i;
	int			 root = 1;

	tu_root(&b, 0x01, TU_NOW, 60);
	switch (_i) {
	case BB_EXP_EQ_IAT:
		b.exp = b.iat;
		break;
	case BB_EMPTY_ISS:
		b.iss = "";
		break;
	case BB_NO_SUB:
		b.sub = NULL;
		break;
	case BB_ROOT_DELEGATOR:
		b.delegator = "x";
		break;
	case BB_ROOT_KIND:
		b.kind = BATON_BLOCK_PRESENT;
		break;
	case BB_NO_GRANTS:
		b.has_grants = 0;
		break;
	case BB_DEPTH16:
		b.max_depth = 16;
		break;
	case BB_VERSION2:
		b.version = 2;
		break;
	case BB_DUP_TOOL:
		tu_tool(a, &b, "t", NULL);
		tu_tool(a, &b, "t", NULL);
		break;
	case BB_DUP_ACTION:
		tu_tool(a, &b, "t", "read,read");
		break;
	case BB_UPPER_ACTION:
		tu_tool(a, &b, "t", "Read");
		break;
	case BB_DUP_AUD:
		tu_aud(a, &b, "x,x");
		break;
	case BB_AUD17:
		tu_aud(a, &b, "a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q");
		break;
	case BB_EMPTY_AUD:
		b.has_aud = 1;
		break;
	case BB_DUP_CTX:
		tu_ctx(a, &b, "k", "1");
		tu_ctx(a, &b, "k", "2");
		break;
	case BB_CTX17:
		for (i = 0; i < 17; i++)
			tu_ctx(a, &b, baton_arena_strndup(a,
			    &"abcdefghijklmnopq"[i], 1), "v");
		break;
	case BB_BAD_UTF8:
		b.sub = "\xc0\xaf";	/* overlong '/' */
		break;
	case BB_CTL_SUB:
		b.sub = "bob\x1b]0;pwned\a";	/* a terminal escape */
		break;
	case BB_CTL_CTX:
		tu_ctx(a, &b, "step", "x\neffective: every tool");
		break;
	case BB_STAR_TOOL:
		tu_tool(a, &b, "*", NULL);
		break;
	case BB_RANGE:
		tg = tu_tool(a, &b, "t", NULL);
		tu_pred_range(a, tu_where(a, tg, "n"), 5, 4);
		break;
	case BB_NOPREDS:
		tg = tu_tool(a, &b, "t", NULL);
		tu_where(a, tg, "n");
		break;
	case BB_IN_EMPTY:
		tg = tu_tool(a, &b, "t", NULL);
		p = tu_pred(a, tu_where(a, tg, "n"), BATON_P_IN);
		(void)p;
		break;
	case BB_EMPTY_HOLDER:
		b.holder = "";
		break;
	case BB_CHILD_NO_DELEGATOR:
		tu_child(&b, 0x02, TU_NOW, 60, NULL);
		root = 0;
		break;
	case BB_CHILD_ISS:
		tu_child(&b, 0x02, TU_NOW, 60, "d");
		b.iss = "x";
		root = 0;
		break;
	case BB_WILDCARD_TOOLS:
		tu_tool(a, &b, "t", NULL);
		b.grants.wildcard = 1;
		break;
	case BB_BAD_KIND:
		tu_child(&b, 0x02, TU_NOW, 60, "d");
		b.kind = (enum baton_block_kind)2;
		root = 0;
		break;
	}
	ck_assert_int_eq(baton_block_encode(&b, root, &out, &len),
	    BATON_EINVAL);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(len, 0);
	baton_arena_free(a);
}
END_TEST

START_TEST(test_encode_too_big)
{
	struct baton_arena	*a = tu_arena();
	struct baton_block	 b;
	uint8_t			*out;
	size_t			 len;
	char			*big;

	big = baton_arena_alloc(a, BATON_MAX_PAYLOAD + 1);
	memset(big, 'v', BATON_MAX_PAYLOAD);
	tu_root(&b, 0x01, TU_NOW, 60);
	tu_ctx(a, &b, "k", big);
	ck_assert_int_eq(baton_block_encode(&b, 1, &out, &len),
	    BATON_ETOOBIG);
	ck_assert_ptr_null(out);
	/* just under the cap is fine */
	big[BATON_MAX_PAYLOAD - 200] = '\0';
	ck_assert_int_eq(baton_block_encode(&b, 1, &out, &len), 0);
	ck_assert_uint_le(len, BATON_MAX_PAYLOAD);
	free(out);
	baton_arena_free(a);
}
END_TEST

static Suite *
roundtrip_suite(void)
{
	Suite	*s = suite_create("token-roundtrip");
	TCase	*tc;

	tc = tcase_create("roundtrip");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_rt_root_full);
	tcase_add_test(tc, test_rt_root_minimal);
	tcase_add_test(tc, test_rt_child_full);
	tcase_add_test(tc, test_rt_child_minimal);
	tcase_add_test(tc, test_rt_sorting);
	suite_add_tcase(s, tc);

	tc = tcase_create("encode-refuses");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_encode_refuses, 0, BB_MAX);
	tcase_add_test(tc, test_encode_too_big);
	suite_add_tcase(s, tc);
	return (s);
}

/* ---- seal and open: keys, tag and signature modes, extend ---------------- */

START_TEST(test_keys)
{
	struct baton_key	*k, *pub;
	struct baton_keyring	 kr;
	uint8_t			 seed[BATON_SEED_LEN], h[32], mac[32];
	uint8_t			 pk[32], sk[64];

	memset(seed, 1, sizeof(seed));
	k = tu_key(1);
	ck_assert(k->can_sign);
	crypto_sign_seed_keypair(pk, sk, seed);
	ck_assert_int_eq(memcmp(k->pk, pk, 32), 0);
	ck_assert_int_eq(memcmp(baton_key_sk(k), sk, 64), 0);
	ck_assert_int_eq(memcmp(baton_key_seed(k), seed, 32), 0);
	crypto_generichash(h, 32, pk, 32, NULL, 0);
	ck_assert_int_eq(memcmp(k->kid, h, BATON_KID_LEN), 0);
	crypto_generichash(mac, 32, (const unsigned char *)"baton/v1/mac",
	    12, seed, 32);
	ck_assert_int_eq(memcmp(baton_key_mac(k), mac, 32), 0);

	ck_assert_int_eq(baton_key_from_public(&pub, k->pk), 0);
	ck_assert(!pub->can_sign);
	ck_assert_ptr_null(baton_key_mac(pub));
	ck_assert_ptr_null(baton_key_sk(pub));
	ck_assert_int_eq(memcmp(pub->kid, k->kid, BATON_KID_LEN), 0);

	baton_keyring_init(&kr);
	ck_assert_int_eq(baton_keyring_add(&kr, k), 0);
	ck_assert_ptr_eq(baton_keyring_signer(&kr), k);
	/* same kid again: refused, and the key is freed with the refusal */
	ck_assert_int_eq(baton_keyring_add(&kr, pub), BATON_EINVAL);
	ck_assert_uint_eq(kr.nkeys, 1);
	ck_assert_ptr_eq(baton_keyring_find(&kr, k->kid), k);
	ck_assert_int_eq(baton_keyring_add(&kr, tu_key(2)), 0);
	ck_assert_ptr_eq(baton_keyring_signer(&kr), kr.keys[1]);
	baton_keyring_clear(&kr);
	ck_assert_uint_eq(kr.nkeys, 0);
	ck_assert_ptr_null(baton_keyring_signer(&kr));

	ck_assert_int_eq(baton_key_generate(&k), 0);
	ck_assert(k->can_sign);
	baton_key_free(k);
	baton_key_free(NULL);
}
END_TEST

START_TEST(test_hex)
{
	static const uint8_t	in[] = { 0x00, 0x9f, 0xa0, 0xff };
	uint8_t			out[4];
	char			hex[9];

	baton_hex(hex, in, sizeof(in));
	ck_assert_str_eq(hex, "009fa0ff");
	ck_assert_int_eq(baton_unhex(out, 4, "009FA0ff"), 0);
	ck_assert_int_eq(memcmp(out, in, 4), 0);
	ck_assert_int_eq(baton_unhex(out, 4, "009fa0f"), BATON_EINVAL);
	ck_assert_int_eq(baton_unhex(out, 4, "009fa0ff0"), BATON_EINVAL);
	ck_assert_int_eq(baton_unhex(out, 4, "009fa0fg"), BATON_EINVAL);
	ck_assert_int_eq(baton_unhex(out, 4, " 09fa0ff"), BATON_EINVAL);
	ck_assert_int_eq(baton_unhex(out, 0, ""), 0);
}
END_TEST

static char *
simple_token(const struct baton_key *k, size_t n)
{
	struct baton_block	b[BATON_MAX_BLOCKS];
	size_t			i;

	tu_root(&b[0], 0x01, TU_NOW, 600);
	for (i = 1; i < n; i++)
		tu_child(&b[i], (uint8_t)(i + 1), TU_NOW, 60, "agent");
	return (tu_seal(k, b, n));
}

START_TEST(test_open_modes)
{
	struct baton_keyring	 kr, pubkr, other;
	struct baton_key	*pub;
	struct baton_token	 tok;
	char			*text;
	size_t			 len;

	tu_keyring(&kr, 1);
	tu_keyring(&other, 2);
	baton_keyring_init(&pubkr);
	ck_assert_int_eq(baton_key_from_public(&pub, kr.keys[0]->pk), 0);
	ck_assert_int_eq(baton_keyring_add(&pubkr, pub), 0);
	text = simple_token(kr.keys[0], 3);
	len = strlen(text);

	ck_assert_int_eq(baton_token_open(&tok, text, len, &kr,
	    BATON_CHECK_TAG), BATON_R_OK);
	ck_assert_uint_eq(tok.nblocks, 3);
	baton_token_free(&tok);
	ck_assert_int_eq(baton_token_open(&tok, text, len, &kr,
	    BATON_CHECK_SIG), BATON_R_OK);
	baton_token_free(&tok);
	/* a verifier needs only the public key, in either mode */
	ck_assert_int_eq(baton_token_open(&tok, text, len, &pubkr,
	    BATON_CHECK_SIG), BATON_R_OK);
	baton_token_free(&tok);
	ck_assert_int_eq(baton_token_open(&tok, text, len, &pubkr,
	    BATON_CHECK_TAG), BATON_R_OK);
	baton_token_free(&tok);
	/* untrusted key */
	ck_assert_int_eq(baton_token_open(&tok, text, len, &other,
	    BATON_CHECK_TAG), BATON_R_UNKNOWN_KEY);
	baton_token_free(&tok);
	/* unchecked open still decodes */
	ck_assert_int_eq(baton_token_open_unchecked(&tok, text, len),
	    BATON_R_OK);
	ck_assert_uint_eq(tok.nblocks, 3);
	ck_assert_str_eq(tok.blocks[0].iss, "orchestrator");
	baton_token_free(&tok);
	baton_token_free(&tok);		/* twice is harmless */
	baton_token_free(NULL);

	free(text);
	baton_keyring_clear(&kr);
	baton_keyring_clear(&pubkr);
	baton_keyring_clear(&other);
}
END_TEST

/* Tag wrong, signature right: TAG mode falls back; the reverse fails SIG. */
START_TEST(test_tag_sig_fallback)
{
	struct baton_keyring	 kr;
	struct baton_envelope	 env;
	uint8_t			 chain[BATON_HASH_LEN];
	char			*text;

	tu_keyring(&kr, 1);
	text = simple_token(kr.keys[0], 2);
	ck_assert_int_eq(baton_envelope_parse(&env, text, strlen(text)),
	    BATON_R_OK);
	baton_chain_hash(chain, env.kid, env.payload, env.paylen,
	    env.nblocks);
	ck_assert(baton_chain_tag_ok(env.tag, kr.keys[0], chain));
	ck_assert(baton_chain_sig_ok(env.sig, kr.keys[0], chain, 2));
	ck_assert(!baton_chain_sig_ok(env.sig, kr.keys[0], chain, 1));

	env.tag[0] ^= 1;
	ck_assert_int_eq(baton_envelope_check(&env, &kr, BATON_CHECK_TAG),
	    BATON_R_OK);
	ck_assert_int_eq(baton_envelope_check(&env, &kr, BATON_CHECK_SIG),
	    BATON_R_OK);
	env.tag[0] ^= 1;
	env.sig[10] ^= 0x40;
	ck_assert_int_eq(baton_envelope_check(&env, &kr, BATON_CHECK_TAG),
	    BATON_R_OK);
	ck_assert_int_eq(baton_envelope_check(&env, &kr, BATON_CHECK_SIG),
	    BATON_R_BAD_SIGNATURE);
	env.tag[0] ^= 1;
	ck_assert_int_eq(baton_envelope_check(&env, &kr, BATON_CHECK_TAG),
	    BATON_R_BAD_SIGNATURE);
	baton_envelope_free(&env);
	free(text);
	baton_keyring_clear(&kr);
}
END_TEST

START_TEST(test_extend)
{
	struct baton_keyring	 kr;
	struct baton_token	 parent, child;
	struct baton_block	 b;
	uint8_t			*p;
	size_t			 len, i;
	char			*text, *text2;

	tu_keyring(&kr, 1);
	ck_assert_int_eq(baton_keyring_add(&kr, tu_key(2)), 0);
	text = simple_token(kr.keys[0], 2);
	tu_open(&parent, text, &kr);
	tu_child(&b, 0x33, TU_NOW + 1, 30, "agent-b");
	tu_encode(&b, 0, &p, &len);
	/* sealed by another trusted key: the chain is re-hashed for it */
	ck_assert_int_eq(baton_token_extend(&text2, &parent, kr.keys[1], p,
	    len), 0);
	ck_assert_int_eq(baton_token_open(&child, text2, strlen(text2), &kr,
	    BATON_CHECK_TAG), BATON_R_OK);
	ck_assert_uint_eq(child.nblocks, 3);
	ck_assert_int_eq(memcmp(child.env.kid, kr.keys[1]->kid,
	    BATON_KID_LEN), 0);
	for (i = 0; i < 2; i++) {
		ck_assert_uint_eq(child.env.paylen[i], parent.env.paylen[i]);
		ck_assert_int_eq(memcmp(child.env.payload[i],
		    parent.env.payload[i], parent.env.paylen[i]), 0);
	}
	tu_assert_block_eq(&b, &child.blocks[2]);
	baton_token_free(&child);
	free(text2);
	/* no signing key, no extension */
	ck_assert_int_eq(baton_token_extend(&text2, &parent, NULL, p, len),
	    BATON_ENOKEY);
	ck_assert_ptr_null(text2);
	free(text);
	free(p);
	baton_token_free(&parent);
	baton_keyring_clear(&kr);
}
END_TEST

START_TEST(test_extend_full_chain)
{
	struct baton_keyring	 kr;
	struct baton_token	 tok;
	uint8_t			 p[1] = { 0x80 };
	char			*text, *text2;

	tu_keyring(&kr, 1);
	text = simple_token(kr.keys[0], BATON_MAX_BLOCKS);
	tu_open(&tok, text, &kr);
	ck_assert_int_eq(baton_token_extend(&text2, &tok, kr.keys[0], p, 1),
	    BATON_ETOOBIG);
	baton_token_free(&tok);
	free(text);
	baton_keyring_clear(&kr);
}
END_TEST

START_TEST(test_seal_args)
{
	struct baton_key	*k = tu_key(1), *pub;
	static uint8_t		 big[BATON_MAX_PAYLOAD + 1];
	const uint8_t		*p[BATON_MAX_BLOCKS + 1];
	size_t			 len[BATON_MAX_BLOCKS + 1], i;
	char			*text = (char *)1;

	for (i = 0; i <= BATON_MAX_BLOCKS; i++) {
		p[i] = big;
		len[i] = 1;
	}
	ck_assert_int_eq(baton_token_seal(&text, k, p, len, 0),
	    BATON_EINVAL);
	ck_assert_ptr_null(text);
	ck_assert_int_eq(baton_token_seal(&text, k, p, len,
	    BATON_MAX_BLOCKS + 1), BATON_ETOOBIG);
	len[0] = BATON_MAX_PAYLOAD + 1;
	ck_assert_int_eq(baton_token_seal(&text, k, p, len, 1),
	    BATON_ETOOBIG);
	len[0] = BATON_MAX_PAYLOAD;
	ck_assert_int_eq(baton_token_seal(&text, k, p, len, 1), 0);
	free(text);
	ck_assert_int_eq(baton_key_from_public(&pub, k->pk), 0);
	ck_assert_int_eq(baton_token_seal(&text, pub, p, len, 1),
	    BATON_ENOKEY);
	baton_key_free(pub);
	baton_key_free(k);
}
END_TEST

static Suite *
seal_suite(void)
{
	Suite	*s = suite_create("token-seal");
	TCase	*tc;

	tc = tcase_create("keys");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_hex);
	suite_add_tcase(s, tc);

	tc = tcase_create("open");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_open_modes);
	tcase_add_test(tc, test_tag_sig_fallback);
	tcase_add_test(tc, test_extend);
	tcase_add_test(tc, test_extend_full_chain);
	tcase_add_test(tc, test_seal_args);
	suite_add_tcase(s, tc);
	return (s);
}

/* ---- envelope: text form and structure ---------------------------------- */

/* What to build: a valid envelope by default, with one thing changed. */
struct espec {
	const char	*name;
	int		 items;		/* array count; 0 means 5 */
	uint64_t	 fmt;		/* 0 means 1 */
	int		 fmt_str;	/* fmt as a str */
	size_t		 kidlen;	/* 0 means 8 */
	int		 nblocks;	/* -1 means 0; 0 means 1 */
	size_t		 paylen;	/* 0 means a valid 1-byte payload */
	size_t		 siglen, taglen;
	int		 payloads_map;	/* payloads as a map */
	int		 payload_str;	/* payload as a str */
	int		 trailing;	/* bytes after the array */
	enum baton_reason want;
};

static const struct espec especs[] = {
	{ "valid", .want = BATON_R_OK },
	{ "fmt 2", .fmt = 2, .want = BATON_R_UNKNOWN_FORMAT },
	{ "fmt 2 with 6 items", .fmt = 2, .items = 6,
	    .want = BATON_R_UNKNOWN_FORMAT },
	{ "fmt str", .fmt_str = 1, .want = BATON_R_MALFORMED },
	{ "4 items", .items = 4, .want = BATON_R_MALFORMED },
	{ "6 items", .items = 6, .want = BATON_R_MALFORMED },
	{ "kid 7", .kidlen = 7, .want = BATON_R_MALFORMED },
	{ "kid 9", .kidlen = 9, .want = BATON_R_MALFORMED },
	{ "no blocks", .nblocks = -1, .want = BATON_R_CHAIN_TOO_LONG },
	{ "17 blocks", .nblocks = 17, .want = BATON_R_CHAIN_TOO_LONG },
	{ "16 blocks", .nblocks = 16, .want = BATON_R_OK },
	{ "payload 4097", .paylen = 4097, .want = BATON_R_TOO_LARGE },
	{ "payload 4096", .paylen = 4096, .want = BATON_R_OK },
	{ "total over 64k", .nblocks = 16, .paylen = 4096,
	    .want = BATON_R_TOO_LARGE },
	{ "sig 63", .siglen = 63, .want = BATON_R_MALFORMED },
	{ "tag 33", .taglen = 33, .want = BATON_R_MALFORMED },
	{ "payloads map", .payloads_map = 1, .want = BATON_R_MALFORMED },
	{ "payload str", .payload_str = 1, .want = BATON_R_MALFORMED },
	{ "trailing", .trailing = 1, .want = BATON_R_TRAILING_BYTES },
};

static void
espec_build(const struct espec *e, msgpack_sbuffer *sb)
{
	msgpack_packer	pk;
	static uint8_t	zero[5000];
	int		items = e->items ? e->items : 5, i, n;
	size_t		plen = e->paylen ? e->paylen : 1;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, items);
	if (e->fmt_str) {
		msgpack_pack_str(&pk, 1);
		msgpack_pack_str_body(&pk, "1", 1);
	} else
		msgpack_pack_uint64(&pk, e->fmt ? e->fmt : 1);
	if (items >= 2) {
		msgpack_pack_bin(&pk, e->kidlen ? e->kidlen : 8);
		msgpack_pack_bin_body(&pk, zero, e->kidlen ? e->kidlen : 8);
	}
	if (items >= 3) {
		n = e->nblocks < 0 ? 0 : e->nblocks ? e->nblocks : 1;
		if (e->payloads_map)
			msgpack_pack_map(&pk, 0);
		else
			msgpack_pack_array(&pk, n);
		for (i = 0; !e->payloads_map && i < n; i++) {
			if (e->payload_str) {
				msgpack_pack_str(&pk, plen);
				msgpack_pack_str_body(&pk, zero, plen);
			} else {
				msgpack_pack_bin(&pk, plen);
				msgpack_pack_bin_body(&pk, zero, plen);
			}
		}
	}
	if (items >= 4) {
		msgpack_pack_bin(&pk, e->siglen ? e->siglen : 64);
		msgpack_pack_bin_body(&pk, zero, e->siglen ? e->siglen : 64);
	}
	if (items >= 5) {
		msgpack_pack_bin(&pk, e->taglen ? e->taglen : 32);
		msgpack_pack_bin_body(&pk, zero, e->taglen ? e->taglen : 32);
	}
	for (i = 5; i < items; i++)
		msgpack_pack_nil(&pk);
	if (e->trailing)
		msgpack_pack_nil(&pk);
}

START_TEST(test_envelope_table)
{
	const struct espec	*e = &especs[_i];
	struct baton_envelope	 env;
	msgpack_sbuffer		 sb;
	enum baton_reason	 r;
	char			*text;

	espec_build(e, &sb);
	r = baton_envelope_parse_bytes(&env, (const uint8_t *)sb.data,
	    sb.size);
	ck_assert_msg(r == e->want, "%s: bytes gave %d, want %d", e->name,
	    r, e->want);
	if (r == BATON_R_OK)
		ck_assert_uint_eq(env.len, sb.size);
	baton_envelope_free(&env);
	text = text_of((const uint8_t *)sb.data, sb.size);
	r = baton_envelope_parse(&env, text, strlen(text));
	ck_assert_msg(r == e->want, "%s: text gave %d, want %d", e->name,
	    r, e->want);
	baton_envelope_free(&env);
	free(text);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Raw byte inputs: count bombs and junk. */
START_TEST(test_envelope_bombs)
{
	static const struct {
		uint8_t		 b[16];
		size_t		 len;
		enum baton_reason want;
	} c[] = {
		{ { 0xdd, 0xff, 0x00, 0x00, 0x00 }, 5, BATON_R_MALFORMED },
		{ { 0xdc, 0xff, 0xff }, 3, BATON_R_MALFORMED },
		{ { 0xdf, 0xff, 0xff, 0xff, 0xff }, 5, BATON_R_MALFORMED },
		{ { 0x95, 0x01, 0xc4, 0x08, 0, 0, 0, 0, 0, 0, 0, 0,
		    0xdd, 0xff, 0xff, 0xff }, 16, BATON_R_MALFORMED },
		{ { 0x95, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff }, 7,
		    BATON_R_MALFORMED },
		{ { 0x90 }, 1, BATON_R_MALFORMED },
		{ { 0xc0 }, 1, BATON_R_MALFORMED },
		{ { 0 }, 0, BATON_R_MALFORMED },
	};
	struct baton_envelope	env;
	size_t			i;
	char			*text;

	for (i = 0; i < NELEM(c); i++) {
		ck_assert_int_eq(baton_envelope_parse_bytes(&env, c[i].b,
		    c[i].len), c[i].want);
		ck_assert_ptr_null(env.buf);
		text = text_of(c[i].b, c[i].len);
		ck_assert_int_eq(open_reason(text, strlen(text),
		    BATON_CHECK_TAG), c[i].want);
		free(text);
	}
}
END_TEST

/* Text-level failures, with a valid token as the starting point. */
START_TEST(test_text_form)
{
	struct baton_key	*k = tu_key(1);
	char			*text, *t;
	size_t			 len, i;
	static const char	 alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	const char		*pos;

	text = simple_token(k, 1);
	len = strlen(text);
	t = malloc(len + 2);
	ck_assert_ptr_nonnull(t);

	ck_assert_int_eq(open_reason(text, len, BATON_CHECK_TAG),
	    BATON_R_OK);
	ck_assert_int_eq(open_reason("", 0, BATON_CHECK_TAG),
	    BATON_R_BAD_PREFIX);
	ck_assert_int_eq(open_reason("bt1", 3, BATON_CHECK_TAG),
	    BATON_R_BAD_PREFIX);
	ck_assert_int_eq(open_reason("bt1_", 4, BATON_CHECK_TAG),
	    BATON_R_MALFORMED);
	memcpy(t, text, len + 1);
	t[2] = '2';
	ck_assert_int_eq(open_reason(t, len, BATON_CHECK_TAG),
	    BATON_R_BAD_PREFIX);
	t[2] = '1';
	t[0] = 'B';
	ck_assert_int_eq(open_reason(t, len, BATON_CHECK_TAG),
	    BATON_R_BAD_PREFIX);

	/* characters outside base64url, each at a few positions */
	for (i = 0; i < 5; i++) {
		static const char bad[] = "+/= .";

		memcpy(t, text, len + 1);
		t[len / 2] = bad[i];
		ck_assert_int_eq(open_reason(t, len, BATON_CHECK_TAG),
		    BATON_R_BAD_BASE64);
	}
	/* padding appended */
	memcpy(t, text, len);
	t[len] = '=';
	ck_assert_int_eq(open_reason(t, len + 1, BATON_CHECK_TAG),
	    BATON_R_BAD_BASE64);
	/* embedded NUL */
	memcpy(t, text, len + 1);
	t[10] = '\0';
	ck_assert_int_eq(open_reason(t, len, BATON_CHECK_TAG),
	    BATON_R_BAD_BASE64);
	/* an impossible length (4k + 1 characters) */
	if ((len - BATON_PREFIX_LEN) % 4 != 0) {
		memcpy(t, text, len);
		ck_assert_int_eq(open_reason(t, len -
		    (len - BATON_PREFIX_LEN) % 4 + 1, BATON_CHECK_TAG),
		    BATON_R_BAD_BASE64);
	}
	/* non-zero unused bits in the last character: not canonical */
	if ((len - BATON_PREFIX_LEN) % 4 != 0) {
		memcpy(t, text, len + 1);
		pos = strchr(alpha, t[len - 1]);
		ck_assert_ptr_nonnull(pos);
		t[len - 1] = alpha[(pos - alpha) | 1];
		ck_assert_int_eq(open_reason(t, len, BATON_CHECK_TAG),
		    BATON_R_BAD_BASE64);
	}
	/* a flipped payload byte is a bad signature, not a crash */
	memcpy(t, text, len + 1);
	t[30] = t[30] == 'A' ? 'B' : 'A';
	ck_assert_int_ne(open_reason(t, len, BATON_CHECK_TAG), BATON_R_OK);

	free(t);
	free(text);
	baton_key_free(k);
}
END_TEST

/*
 * The table decoder against libsodium's constant-time one, which it
 * replaced: for texts of every length mod 4, with every byte value put
 * at the first, a middle and the last position, both refuse the same
 * texts (libsodium 1.0.18 reads bytes 0x80-0xff as '_', so those are
 * refused by the alphabet), and what both accept parses exactly as the
 * bytes libsodium decoded.
 */
static enum baton_reason
sodium_reason(const char *b64, size_t len)
{
	struct baton_envelope	 env;
	uint8_t			 bin[128];
	const char		*end = NULL;
	size_t			 binlen = 0, i;
	enum baton_reason	 why;

	for (i = 0; i < len; i++)
		if ((unsigned char)b64[i] >= 0x80)
			return (BATON_R_BAD_BASE64);
	if (sodium_base642bin(bin, sizeof bin, b64, len, NULL, &binlen, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != b64 + len)
		return (BATON_R_BAD_BASE64);
	why = baton_envelope_parse_bytes(&env, bin, binlen);
	baton_envelope_free(&env);
	return (why);
}

START_TEST(test_base64_table)
{
	struct baton_envelope	 env;
	uint8_t			 raw[48];
	char			 t[4 + 80];
	size_t			 n, len, p, k;
	int			 c, refused = 0;

	for (n = 0; n <= 40; n++) {
		randombytes_buf(raw, n);
		memcpy(t, BATON_PREFIX, BATON_PREFIX_LEN);
		sodium_bin2base64(t + 4, sizeof t - 4, raw, n,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		len = strlen(t + 4);
		for (k = 0; k < 3 && len > 0; k++) {
			p = k == 0 ? 0 : k == 1 ? len / 2 : len - 1;
			for (c = 0; c < 256; c++) {
				char	keep = t[4 + p];

				t[4 + p] = (char)c;
				ck_assert_int_eq(baton_envelope_parse(&env, t,
				    4 + len), sodium_reason(t + 4, len));
				baton_envelope_free(&env);
				refused += sodium_reason(t + 4, len) ==
				    BATON_R_BAD_BASE64;
				t[4 + p] = keep;
			}
		}
		/* and one character too many or too few */
		ck_assert_int_eq(baton_envelope_parse(&env, t, 4 + len + 1 -
		    (len == 0)), sodium_reason(t + 4, len + 1 - (len == 0)));
		baton_envelope_free(&env);
	}
	ck_assert_int_gt(refused, 0);
}
END_TEST

/*
 * A well-formed envelope of n bytes (n >= 115) around one payload of
 * random bytes, so its text can be checked byte for byte after decoding.
 */
static size_t
envelope_of_len(uint8_t *buf, size_t n)
{
	size_t	plen = n - 115, i = 0;

	buf[i++] = 0x95;	/* array of 5 */
	buf[i++] = 0x01;	/* fmt */
	buf[i++] = 0xc4;
	buf[i++] = BATON_KID_LEN;
	randombytes_buf(buf + i, BATON_KID_LEN);
	i += BATON_KID_LEN;
	buf[i++] = 0x91;	/* one payload */
	buf[i++] = 0xc4;
	buf[i++] = (uint8_t)plen;
	randombytes_buf(buf + i, plen);
	i += plen;
	buf[i++] = 0xc4;
	buf[i++] = BATON_SIG_LEN;
	randombytes_buf(buf + i, BATON_SIG_LEN);
	i += BATON_SIG_LEN;
	buf[i++] = 0xc4;
	buf[i++] = BATON_TAG_LEN;
	randombytes_buf(buf + i, BATON_TAG_LEN);
	i += BATON_TAG_LEN;
	return (i);
}

/*
 * The decoder works eight characters at a time: for envelopes of every
 * length mod 6 (so texts of every length mod 8 that base64 allows), the
 * bytes come out exactly; every byte outside the alphabet is refused at
 * every position of the text; and the last character is accepted only
 * with its unused bits zero.
 */
/* Every case below with the AVX2 path, where there is one... */
static void
base64_exact(void)
{
	static const char	 alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	struct baton_envelope	 env;
	uint8_t			 raw[160];
	char			*t;
	size_t			 n, len, p, v;
	int			 c;

	for (n = 115; n < 115 + 12; n++) {
		ck_assert_uint_eq(envelope_of_len(raw, n), n);
		t = text_of(raw, n);
		len = strlen(t);
		ck_assert_int_eq(baton_envelope_parse(&env, t, len),
		    BATON_R_OK);
		ck_assert_uint_eq(env.len, n);
		ck_assert_mem_eq(env.buf, raw, n);
		ck_assert_mem_eq(env.payload[0], raw + 15, n - 115);
		baton_envelope_free(&env);
		for (p = BATON_PREFIX_LEN; p < len; p++) {
			char	keep = t[p];

			for (c = 0; c < 256; c++) {
				if (c != 0 && strchr(alpha, c) != NULL)
					continue;
				t[p] = (char)c;
				ck_assert_msg(baton_envelope_parse(&env, t,
				    len) == BATON_R_BAD_BASE64,
				    "n %zu byte 0x%02x at %zu", n, c, p);
				baton_envelope_free(&env);
			}
			t[p] = keep;
		}
		/* the last character: only its used bits may be set */
		if (n % 3 != 0) {
			for (v = 0; v < 64; v++) {
				int	unused = n % 3 == 1 ? (v & 0x0f) != 0 :
				    (v & 0x03) != 0;

				t[len - 1] = alpha[v];
				ck_assert_int_eq(baton_envelope_parse(&env, t,
				    len), unused ? BATON_R_BAD_BASE64 :
				    BATON_R_OK);
				baton_envelope_free(&env);
			}
		}
		free(t);
	}
}

START_TEST(test_base64_exact)
{
	base64_exact();
}
END_TEST

/* ...and with the tables alone, as on a processor without AVX2. */
START_TEST(test_base64_exact_tables)
{
	baton_b64_simd = 0;
	base64_exact();
	baton_b64_simd = 1;
}
END_TEST

START_TEST(test_text_too_long)
{
	char	*t;
	size_t	 n = BATON_MAX_TEXT + 1;

	t = malloc(n);
	ck_assert_ptr_nonnull(t);
	memset(t, 'A', n);
	memcpy(t, BATON_PREFIX, BATON_PREFIX_LEN);
	ck_assert_int_eq(open_reason(t, n, BATON_CHECK_TAG),
	    BATON_R_TOO_LARGE);
	/* exactly at the cap it is decoded (and found malformed) */
	ck_assert_int_eq(open_reason(t, n - 1, BATON_CHECK_TAG),
	    BATON_R_MALFORMED);
	free(t);
}
END_TEST

static Suite *
envelope_suite(void)
{
	Suite	*s = suite_create("token-envelope");
	TCase	*tc;

	tc = tcase_create("structure");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_envelope_table, 0, NELEM(especs));
	tcase_add_test(tc, test_envelope_bombs);
	suite_add_tcase(s, tc);

	tc = tcase_create("text");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_text_form);
	tcase_add_test(tc, test_text_too_long);
	tcase_add_test(tc, test_base64_table);
	tcase_add_test(tc, test_base64_exact);
	tcase_add_test(tc, test_base64_exact_tables);
	suite_add_tcase(s, tc);
	return (s);
}

/* ---- strict payload decode ---------------------------------------------- */

/*
 * Payloads written field by field with the packer, so a test can put in
 * exactly what the encoder would never write.  F_RAW takes the value as
 * raw msgpack bytes.
 */
enum ftype { F_UINT = 1, F_STR, F_JTI, F_RAW };

struct field {
	uint64_t	 key;
	enum ftype	 t;
	uint64_t	 u;
	const char	*s;	/* F_STR: NUL-terminated; F_RAW: bytes */
	size_t		 len;	/* F_RAW */
};

#define FU(k, v)	{ (k), F_UINT, (v), NULL, 0 }
#define FS(k, v)	{ (k), F_STR, 0, (v), 0 }
#define FJ		{ 2, F_JTI, 0, NULL, 0 }
#define FR(k, v)	{ (k), F_RAW, 0, (v), sizeof(v) - 1 }
#define MAXF		20

/* A valid block 0 and block 1, as field lists. */
#define ROOT_HEAD	FU(1, 1), FJ, FU(3, 1000), FU(5, 2000)
#define ROOT_TAIL	FS(6, "iss"), FS(7, "sub"), FS(11, "*"), FU(12, 3)
#define CHILD_BASE	FU(1, 1), FJ, FU(3, 1000), FU(5, 2000), FS(8, "d")

struct pcase {
	const char		*name;
	int			 child;	/* the fields are block 1 */
	struct field		 f[MAXF];
	enum baton_reason	 want;
};

static const struct pcase pcases[] = {
	{ "valid root", 0, { ROOT_HEAD, ROOT_TAIL }, BATON_R_OK },
	{ "valid child", 1, { CHILD_BASE }, BATON_R_OK },
	{ "version 2", 0, { FU(1, 2), FJ, FU(16, 0) },
	    BATON_R_UNKNOWN_VERSION },
	{ "version 0", 1, { FU(1, 0) }, BATON_R_UNKNOWN_VERSION },
	{ "version str", 0, { FS(1, "1"), FJ, FU(3, 1000), FU(5, 2000),
	    ROOT_TAIL }, BATON_R_BAD_PAYLOAD },
	{ "version missing", 0, { FJ, FU(3, 1000), FU(5, 2000), ROOT_TAIL },
	    BATON_R_BAD_PAYLOAD },
	{ "empty map", 0, { { 0 } }, BATON_R_BAD_PAYLOAD },
	/* 16 is a call token's seal: a bin of an exact length, else bad */
	{ "key 16 (seal) not a bin", 0, { ROOT_HEAD, ROOT_TAIL, FU(16, 0) },
	    BATON_R_BAD_PAYLOAD },
	{ "key 16 (seal) in a later block", 1, { CHILD_BASE, FU(16, 0) },
	    BATON_R_BAD_PAYLOAD },
	/* 17 is origin, the kid of a re-signed chain: a bin 8, blocks > 0 */
	{ "key 17 (origin)", 1, { CHILD_BASE, FR(17, "\xc4\x08" "12345678") },
	    BATON_R_UNKNOWN_KEY },	/* well-formed; nobody trusts that kid */
	{ "key 17 (origin) in block 0", 0, { ROOT_HEAD, ROOT_TAIL,
	    FR(17, "\xc4\x08" "12345678") }, BATON_R_BAD_PAYLOAD },
	{ "key 17 (origin) of 7 bytes", 1, { CHILD_BASE,
	    FR(17, "\xc4\x07" "1234567") }, BATON_R_BAD_PAYLOAD },
	{ "key 17 (origin) not a bin", 1, { CHILD_BASE,
	    FS(17, "12345678") }, BATON_R_BAD_PAYLOAD },
	{ "key 18", 0, { ROOT_HEAD, ROOT_TAIL, FU(18, 0) },
	    BATON_R_UNKNOWN_CRITICAL },
	{ "key 63", 1, { CHILD_BASE, FU(63, 0) }, BATON_R_UNKNOWN_CRITICAL },
	{ "key 65", 0, { ROOT_HEAD, ROOT_TAIL, FU(65, 0) },
	    BATON_R_UNKNOWN_CRITICAL },
	{ "key 64 ignored", 0, { ROOT_HEAD, ROOT_TAIL,
	    FR(64, "\x92\x81\xa1k\x91\xc0\xcb\0\0\0\0\0\0\0\0") },
	    BATON_R_OK },
	{ "key 2^63 ignored", 1, { CHILD_BASE, FU(1ULL << 63, 7) },
	    BATON_R_OK },
	{ "key 64 too deep", 0, { ROOT_HEAD, ROOT_TAIL,
	    FR(64, "\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91\x91"
	    "\x91\x91\x91\x91\xc0") }, BATON_R_BAD_PAYLOAD },
	{ "keys out of order", 0, { FU(1, 1), FU(3, 1000), FJ, FU(5, 2000),
	    ROOT_TAIL }, BATON_R_BAD_PAYLOAD },
	{ "duplicate key", 0, { ROOT_HEAD, FU(5, 2000), ROOT_TAIL },
	    BATON_R_BAD_PAYLOAD },
	{ "no jti", 0, { FU(1, 1), FU(3, 1000), FU(5, 2000), ROOT_TAIL },
	    BATON_R_BAD_PAYLOAD },
	{ "jti 15", 0, { FU(1, 1), FR(2, "\xc4\x0f" "123456789012345"),
	    FU(3, 1000), FU(5, 2000), ROOT_TAIL }, BATON_R_BAD_PAYLOAD },
	{ "jti as str", 0, { FU(1, 1), FS(2, "1234567890123456"),
	    FU(3, 1000), FU(5, 2000), ROOT_TAIL }, BATON_R_BAD_PAYLOAD },
	{ "exp == iat", 0, { FU(1, 1), FJ, FU(3, 1000), FU(5, 1000),
	    ROOT_TAIL }, BATON_R_BAD_PAYLOAD },
	{ "iat negative", 0, { FU(1, 1), FJ, FR(3, "\xff"), FU(5, 1000),
	    ROOT_TAIL }, BATON_R_BAD_PAYLOAD },
	{ "iat int16 encoding", 1, { FU(1, 1), FJ, FR(3, "\xd1\x03\xe8"),
	    FU(5, 2000), FS(8, "d") }, BATON_R_OK },
	{ "root no iss", 0, { ROOT_HEAD, FS(7, "sub"), FS(11, "*"),
	    FU(12, 3) }, BATON_R_BAD_PAYLOAD },
	{ "root no grants", 0, { ROOT_HEAD, FS(6, "i"), FS(7, "s"),
	    FU(12, 3) }, BATON_R_BAD_PAYLOAD },
	{ "root no max_depth", 0, { ROOT_HEAD, FS(6, "i"), FS(7, "s"),
	    FS(11, "*") }, BATON_R_BAD_PAYLOAD },
	{ "root delegator", 0, { ROOT_HEAD, FS(6, "i"), FS(7, "s"),
	    FS(8, "d"), FS(11, "*"), FU(12, 3) }, BATON_R_BAD_PAYLOAD },
	{ "root kind", 0, { ROOT_HEAD, ROOT_TAIL, FU(14, 0) },
	    BATON_R_BAD_PAYLOAD },
	{ "child iss", 1, { FU(1, 1), FJ, FU(3, 1000), FU(5, 2000),
	    FS(6, "i"), FS(8, "d") }, BATON_R_BAD_PAYLOAD },
	{ "child nbf", 1, { FU(1, 1), FJ, FU(3, 1000), FU(4, 1000),
	    FU(5, 2000), FS(8, "d") }, BATON_R_BAD_PAYLOAD },
	{ "child no delegator", 1, { FU(1, 1), FJ, FU(3, 1000),
	    FU(5, 2000) }, BATON_R_BAD_PAYLOAD },
	{ "child kind 2", 1, { CHILD_BASE, FU(14, 2) }, BATON_R_BAD_PAYLOAD },
	{ "empty iss", 0, { ROOT_HEAD, FS(6, ""), FS(7, "s"), FS(11, "*"),
	    FU(12, 3) }, BATON_R_BAD_PAYLOAD },
	{ "NUL in sub", 0, { ROOT_HEAD, FS(6, "i"), FR(7, "\xa3" "a\0b"),
	    FS(11, "*"), FU(12, 3) }, BATON_R_BAD_PAYLOAD },
	{ "bad utf8 sub", 0, { ROOT_HEAD, FS(6, "i"), FS(7, "\xed\xa0\x80"),
	    FS(11, "*"), FU(12, 3) }, BATON_R_BAD_PAYLOAD },
	{ "escape in sub", 0, { ROOT_HEAD, FS(6, "i"), FS(7, "a\x1b[2J"),
	    FS(11, "*"), FU(12, 3) }, BATON_R_BAD_PAYLOAD },
	{ "newline in iss", 0, { ROOT_HEAD, FS(6, "i\nx"), FS(7, "s"),
	    FS(11, "*"), FU(12, 3) }, BATON_R_BAD_PAYLOAD },
	{ "DEL in delegator", 1, { FU(1, 1), FJ, FU(3, 1000), FU(5, 2000),
	    FS(8, "d\x7f") }, BATON_R_BAD_PAYLOAD },
	{ "newline in ctx value", 1, { CHILD_BASE,
	    FR(15, "\x81\xa1k\xa3" "a\nb") }, BATON_R_BAD_PAYLOAD },
	{ "grants **", 0, { ROOT_HEAD, FS(6, "i"), FS(7, "s"),
	    FS(11, "**"), FU(12, 3) }, BATON_R_BAD_PAYLOAD },
	{ "max_depth 16", 0, { ROOT_HEAD, FS(6, "i"), FS(7, "s"),
	    FS(11, "*"), FU(12, 16) }, BATON_R_BAD_PAYLOAD },
	{ "tools unsorted", 1, { CHILD_BASE,
	    FR(11, "\x82\xa1" "b\x80\xa1" "a\x80") }, BATON_R_BAD_PAYLOAD },
	{ "tool *", 1, { CHILD_BASE, FR(11, "\x81\xa1*\x80") },
	    BATON_R_BAD_PAYLOAD },
	{ "toolgrant key 4", 1, { CHILD_BASE,
	    FR(11, "\x81\xa1t\x81\x04\xc0") }, BATON_R_UNKNOWN_CRITICAL },
	{ "action upper", 1, { CHILD_BASE,
	    FR(11, "\x81\xa1t\x81\x01\x91\xa1R") }, BATON_R_BAD_PAYLOAD },
	{ "actions dup", 1, { CHILD_BASE,
	    FR(11, "\x81\xa1t\x81\x01\x92\xa1r\xa1r") },
	    BATON_R_BAD_PAYLOAD },
	{ "limit negative", 1, { CHILD_BASE,
	    FR(11, "\x81\xa1t\x81\x02\x81\xa1m\xff") }, BATON_R_BAD_PAYLOAD },
	{ "pred unknown op", 1, { CHILD_BASE,
	    FR(11, "\x81\xa1t\x81\x03\x81\xa1" "a\x91\x92\x07\xc0") },
	    BATON_R_BAD_PAYLOAD },
	{ "pred range lo>hi", 1, { CHILD_BASE,
	    FR(11, "\x81\xa1t\x81\x03\x81\xa1" "a\x91\x93\x05\x02\x01") },
	    BATON_R_BAD_PAYLOAD },
	{ "pred eq float", 1, { CHILD_BASE,
	    FR(11, "\x81\xa1t\x81\x03\x81\xa1" "a\x91\x92\x01"
	    "\xca\0\0\0\0") }, BATON_R_BAD_PAYLOAD },
	{ "pred eq nil", 1, { CHILD_BASE,
	    FR(11, "\x81\xa1t\x81\x03\x81\xa1" "a\x91\x92\x01\xc0") },
	    BATON_R_BAD_PAYLOAD },
	{ "pred in empty", 1, { CHILD_BASE,
	    FR(11, "\x81\xa1t\x81\x03\x81\xa1" "a\x91\x92\x02\x90") },
	    BATON_R_BAD_PAYLOAD },
	{ "pred eq arity 3", 1, { CHILD_BASE,
	    FR(11, "\x81\xa1t\x81\x03\x81\xa1" "a\x91\x93\x01\x01\x01") },
	    BATON_R_BAD_PAYLOAD },
	{ "no preds", 1, { CHILD_BASE,
	    FR(11, "\x81\xa1t\x81\x03\x81\xa1" "a\x90") },
	    BATON_R_BAD_PAYLOAD },
	{ "aud empty", 1, { CHILD_BASE, FR(10, "\x90") },
	    BATON_R_BAD_PAYLOAD },
	{ "aud unsorted", 1, { CHILD_BASE, FR(10, "\x92\xa1" "b\xa1" "a") },
	    BATON_R_BAD_PAYLOAD },
	{ "aud prefix order", 1, { CHILD_BASE,
	    FR(10, "\x92\xa1" "a\xa2" "ab") }, BATON_R_OK },
	{ "single_use as 1", 1, { CHILD_BASE, FU(13, 1) },
	    BATON_R_BAD_PAYLOAD },
	{ "ctx value int", 1, { CHILD_BASE, FR(15, "\x81\xa1k\x01") },
	    BATON_R_BAD_PAYLOAD },
	{ "trailing in payload", 1, { CHILD_BASE, FR(9, "\xa1h\xc0") },
	    BATON_R_BAD_PAYLOAD },
};

static void
pack_fields(msgpack_sbuffer *sb, const struct field *f)
{
	msgpack_packer	pk;
	static const uint8_t jti[BATON_JTI_LEN] = { 0x77 };
	size_t		n, i;

	for (n = 0; n < MAXF && f[n].t != 0; n++)
		;
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, n);
	for (i = 0; i < n; i++) {
		msgpack_pack_uint64(&pk, f[i].key);
		switch (f[i].t) {
		case F_UINT:
			msgpack_pack_uint64(&pk, f[i].u);
			break;
		case F_STR:
			msgpack_pack_str(&pk, strlen(f[i].s));
			msgpack_pack_str_body(&pk, f[i].s, strlen(f[i].s));
			break;
		case F_JTI:
			msgpack_pack_bin(&pk, sizeof(jti));
			msgpack_pack_bin_body(&pk, jti, sizeof(jti));
			break;
		case F_RAW:
			msgpack_sbuffer_write(sb, f[i].s, f[i].len);
			break;
		}
	}
}

START_TEST(test_payload_table)
{
	const struct pcase	*c = &pcases[_i];
	static const struct field root[MAXF] = { ROOT_HEAD, ROOT_TAIL };
	struct baton_key	*k = tu_key(1);
	msgpack_sbuffer		 sb[2];
	const uint8_t		*p[2];
	size_t			 len[2], n = 0;
	char			*text;
	enum baton_reason	 r;

	if (c->child) {
		pack_fields(&sb[n], root);
		n++;
	}
	pack_fields(&sb[n], c->f);
	n++;
	p[0] = (const uint8_t *)sb[0].data;
	len[0] = sb[0].size;
	if (n == 2) {
		p[1] = (const uint8_t *)sb[1].data;
		len[1] = sb[1].size;
	}
	ck_assert_int_eq(baton_token_seal(&text, k, p, len, n), 0);
	r = open_reason(text, strlen(text), BATON_CHECK_TAG);
	ck_assert_msg(r == c->want, "%s: got %d, want %d", c->name, r,
	    c->want);
	free(text);
	while (n > 0)
		msgpack_sbuffer_destroy(&sb[--n]);
	baton_key_free(k);
}
END_TEST

/*
 * Strings are screened a word (eight bytes) at a time before the exact
 * UTF-8 and control-character checks: every class of byte sequence, at
 * every offset mod 8 and with every length of tail after it, in a fixstr
 * and a str 8, in a name (delegator), shown text (a ctx value) and an
 * operand (an eq predicate), is accepted or refused as the exact checks
 * say, and what is accepted decodes to the same bytes.
 */
static const struct {
	const char	*b;
	size_t		 len;
	int		 text_ok;	/* as an operand */
	int		 name_ok;	/* as a name or ctx value */
} uclasses[] = {
	{ "a", 1, 1, 1 },
	{ " ", 1, 1, 1 },
	{ "~", 1, 1, 1 },
	{ "\xc3\xa9", 2, 1, 1 },		/* U+00E9 */
	{ "\xe2\x82\xac", 3, 1, 1 },		/* U+20AC */
	{ "\xef\xbf\xbf", 3, 1, 1 },		/* U+FFFF */
	{ "\xf0\x9f\x98\x80", 4, 1, 1 },	/* U+1F600 */
	{ "\xf4\x8f\xbf\xbf", 4, 1, 1 },	/* U+10FFFF */
	{ "\xc0\xaf", 2, 0, 0 },		/* overlong */
	{ "\xe0\x80\xaf", 3, 0, 0 },		/* overlong */
	{ "\xf0\x80\x80\xaf", 4, 0, 0 },	/* overlong */
	{ "\xed\xa0\x80", 3, 0, 0 },		/* surrogate */
	{ "\xf4\x90\x80\x80", 4, 0, 0 },	/* past U+10FFFF */
	{ "\x80", 1, 0, 0 },			/* lone continuation */
	{ "\xc3", 1, 0, 0 },			/* lead without its tail */
	{ "\xf8\x88\x80\x80\x80", 5, 0, 0 },	/* five bytes */
	{ "\xff", 1, 0, 0 },
	{ "\0", 1, 0, 0 },
	{ "\x01", 1, 1, 0 },
	{ "\x1f", 1, 1, 0 },
	{ "\n", 1, 1, 0 },
	{ "\x7f", 1, 1, 0 },
};

/*
 * Open the n payloads in sb (destroyed here) as a token signed by
 * nobody, unchecked: for the decoder alone.
 */
static enum baton_reason
open_sb_unchecked(struct baton_token *tok, msgpack_sbuffer *sb, size_t n)
{
	static const uint8_t	 z[BATON_SIG_LEN];
	msgpack_sbuffer		 env;
	msgpack_packer		 pk;
	enum baton_reason	 r;
	char			*text;
	size_t			 i;

	msgpack_sbuffer_init(&env);
	msgpack_packer_init(&pk, &env, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, 5);
	msgpack_pack_uint64(&pk, BATON_FMT);
	msgpack_pack_bin(&pk, BATON_KID_LEN);
	msgpack_pack_bin_body(&pk, z, BATON_KID_LEN);
	msgpack_pack_array(&pk, n);
	for (i = 0; i < n; i++) {
		msgpack_pack_bin(&pk, sb[i].size);
		msgpack_pack_bin_body(&pk, sb[i].data, sb[i].size);
		msgpack_sbuffer_destroy(&sb[i]);
	}
	msgpack_pack_bin(&pk, BATON_SIG_LEN);
	msgpack_pack_bin_body(&pk, z, BATON_SIG_LEN);
	msgpack_pack_bin(&pk, BATON_TAG_LEN);
	msgpack_pack_bin_body(&pk, z, BATON_TAG_LEN);
	text = text_of((const uint8_t *)env.data, env.size);
	r = baton_token_open_unchecked(tok, text, strlen(text));
	free(text);
	msgpack_sbuffer_destroy(&env);
	return (r);
}

/* Open block 0 and a block 1 holding str (kind 0 delegator, 1 ctx, 2 eq). */
static enum baton_reason
open_with_str(struct baton_token *tok, int kind, const char *str,
    size_t len)
{
	static const struct field root[MAXF] = { ROOT_HEAD, ROOT_TAIL };
	static const uint8_t	 z[BATON_JTI_LEN];
	msgpack_sbuffer		 sb[2];
	msgpack_packer		 pk;

	pack_fields(&sb[0], root);
	msgpack_sbuffer_init(&sb[1]);
	msgpack_packer_init(&pk, &sb[1], msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 6);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, 2);
	msgpack_pack_bin(&pk, BATON_JTI_LEN);
	msgpack_pack_bin_body(&pk, z, BATON_JTI_LEN);
	msgpack_pack_uint64(&pk, 3);
	msgpack_pack_uint64(&pk, 1000);
	msgpack_pack_uint64(&pk, 5);
	msgpack_pack_uint64(&pk, 2000);
	msgpack_pack_uint64(&pk, 8);
	msgpack_pack_str(&pk, kind == 0 ? len : 1);
	msgpack_pack_str_body(&pk, kind == 0 ? str : "d", kind == 0 ? len : 1);
	if (kind == 2) {	/* {t: {3: {a: [[1, str]]}}} */
		msgpack_pack_uint64(&pk, 11);
		msgpack_pack_map(&pk, 1);
		msgpack_pack_str(&pk, 1);
		msgpack_pack_str_body(&pk, "t", 1);
		msgpack_pack_map(&pk, 1);
		msgpack_pack_uint64(&pk, 3);
		msgpack_pack_map(&pk, 1);
		msgpack_pack_str(&pk, 1);
		msgpack_pack_str_body(&pk, "a", 1);
		msgpack_pack_array(&pk, 1);
		msgpack_pack_array(&pk, 2);
		msgpack_pack_uint64(&pk, 1);
	} else {		/* {k: str} or, for kind 0, {k: v} */
		msgpack_pack_uint64(&pk, 15);
		msgpack_pack_map(&pk, 1);
		msgpack_pack_str(&pk, 1);
		msgpack_pack_str_body(&pk, "k", 1);
	}
	if (kind == 0) {
		msgpack_pack_str(&pk, 1);
		msgpack_pack_str_body(&pk, "v", 1);
	} else {
		msgpack_pack_str(&pk, len);
		msgpack_pack_str_body(&pk, str, len);
	}
	return (open_sb_unchecked(tok, sb, 2));
}

START_TEST(test_utf8_offsets)
{
	struct baton_token	 tok;
	const struct baton_block *b;
	char			 str[64];
	const char		*got;
	size_t			 off, tail, len, gotlen;
	int			 kind, ok, c;

	for (c = 0; c < (int)NELEM(uclasses); c++)
	for (kind = 0; kind < 3; kind++)
	for (off = 0; off < 40; off += off == 15 ? 17 : 1)	/* 0-15, 32-39 */
	for (tail = 0; tail <= 8; tail++) {
		len = off + uclasses[c].len + tail;
		memset(str, 'a', sizeof(str));
		memcpy(str + off, uclasses[c].b, uclasses[c].len);
		ok = kind == 2 ? uclasses[c].text_ok : uclasses[c].name_ok;
		ck_assert_msg(open_with_str(&tok, kind, str, len) ==
		    (ok ? BATON_R_OK : BATON_R_BAD_PAYLOAD),
		    "class %d kind %d off %zu tail %zu", c, kind, off, tail);
		if (ok) {
			b = &tok.blocks[1];
			if (kind == 0) {
				got = b->delegator;
				gotlen = strlen(got);
			} else if (kind == 1) {
				got = b->ctx[0].value;
				gotlen = strlen(got);
			} else {
				got = b->grants.tools[0].where[0].preds[0].
				    vals[0].s;
				gotlen = b->grants.tools[0].where[0].preds[0].
				    vals[0].len;
				ck_assert_uint_eq(strlen(got), gotlen);
			}
			ck_assert_uint_eq(gotlen, len);
			ck_assert_mem_eq(got, str, len);
		}
		baton_token_free(&tok);
	}
}
END_TEST

/*
 * Integers and jtis are read in place for their common encodings (fixint,
 * uint 8/16/32, bin 8/16): each encoding decodes to its value, and each
 * cut short by the end of the payload is refused.
 */
static const struct {
	const char	*name;
	struct field	 f[MAXF];
	enum baton_reason want;
	uint64_t	 iat, exp;
} icases[] = {
	{ "fixint", { FU(1, 1), FJ, FR(3, "\x05"), FR(5, "\x7f"),
	    FS(8, "d") }, BATON_R_OK, 5, 127 },
	{ "uint 8", { FU(1, 1), FJ, FR(3, "\xcc\x05"), FR(5, "\xcc\xff"),
	    FS(8, "d") }, BATON_R_OK, 5, 255 },
	{ "uint 16", { FU(1, 1), FJ, FR(3, "\xcd\x01\x02"),
	    FR(5, "\xcd\xff\xfe"), FS(8, "d") }, BATON_R_OK, 0x102, 0xfffe },
	{ "uint 32", { FU(1, 1), FJ, FR(3, "\xce\x01\x02\x03\x04"),
	    FR(5, "\xce\xfe\xfd\xfc\xfb"), FS(8, "d") }, BATON_R_OK,
	    0x01020304, 0xfefdfcfb },
	{ "uint 64", { FU(1, 1), FJ, FR(3, "\xcf\0\0\0\x01\x02\x03\x04\x05"),
	    FR(5, "\xcf\xff\0\0\0\0\0\0\x01"), FS(8, "d") }, BATON_R_OK,
	    0x0102030405, 0xff00000000000001ULL },
	{ "jti bin 16", { FU(1, 1),
	    FR(2, "\xc5\x00\x10" "0123456789abcdef"), FU(3, 5), FU(5, 6),
	    FS(8, "d") }, BATON_R_OK, 5, 6 },
	{ "jti bin 16 of 15", { FU(1, 1),
	    FR(2, "\xc5\x00\x0f" "0123456789abcde"), FU(3, 5), FU(5, 6),
	    FS(8, "d") }, BATON_R_BAD_PAYLOAD, 0, 0 },
	{ "jti bin 8 of 17", { FU(1, 1),
	    FR(2, "\xc4\x11" "0123456789abcdefg"), FU(3, 5), FU(5, 6),
	    FS(8, "d") }, BATON_R_BAD_PAYLOAD, 0, 0 },
	{ "uint 8 cut", { FU(1, 1), FJ, FU(3, 5), FU(5, 6), FS(8, "d"),
	    FR(12, "\xcc") }, BATON_R_BAD_PAYLOAD, 0, 0 },
	{ "uint 16 cut", { FU(1, 1), FJ, FU(3, 5), FU(5, 6), FS(8, "d"),
	    FR(12, "\xcd\x01") }, BATON_R_BAD_PAYLOAD, 0, 0 },
	{ "uint 32 cut", { FU(1, 1), FJ, FU(3, 5), FU(5, 6), FS(8, "d"),
	    FR(12, "\xce\x01\x02\x03") }, BATON_R_BAD_PAYLOAD, 0, 0 },
	{ "jti cut", { FU(1, 1), FR(2, "\xc4\x10" "0123456789abcde") },
	    BATON_R_BAD_PAYLOAD, 0, 0 },
	{ "jti bin 16 cut", { FU(1, 1), FR(2, "\xc5\x00") },
	    BATON_R_BAD_PAYLOAD, 0, 0 },
};

START_TEST(test_int_encodings)
{
	static const struct field root[MAXF] = { ROOT_HEAD, ROOT_TAIL };
	struct baton_token	 tok;
	msgpack_sbuffer		 sb[2];
	enum baton_reason	 r;

	pack_fields(&sb[0], root);
	pack_fields(&sb[1], icases[_i].f);
	r = open_sb_unchecked(&tok, sb, 2);
	ck_assert_msg(r == icases[_i].want, "%s: got %d", icases[_i].name, r);
	if (r == BATON_R_OK) {
		ck_assert_uint_eq(tok.blocks[1].iat, icases[_i].iat);
		ck_assert_uint_eq(tok.blocks[1].exp, icases[_i].exp);
	}
	baton_token_free(&tok);
}
END_TEST

/*
 * Decode writes the blocks one by one and free wipes those: after a
 * good token and after one refused in its third block, every block that
 * was written is zero again, and so is the rest of the token but the
 * blocks never written.
 */
START_TEST(test_token_wiped)
{
	static const struct field root[MAXF] = { ROOT_HEAD, ROOT_TAIL };
	static const struct field child[MAXF] = { CHILD_BASE,
	    FS(15, "x") };	/* ctx not a map: refused */
	static const struct field good[MAXF] = { CHILD_BASE };
	static const uint8_t	 zero[sizeof(struct baton_block)];
	struct baton_token	*tok;
	msgpack_sbuffer		 sb[3];
	size_t			 i;
	int			 bad;

	tok = malloc(sizeof(*tok));
	ck_assert_ptr_nonnull(tok);
	for (bad = 0; bad < 2; bad++) {
		memset(tok, 0xa5, sizeof(*tok));
		pack_fields(&sb[0], root);
		pack_fields(&sb[1], good);
		pack_fields(&sb[2], bad ? child : good);
		ck_assert_int_eq(open_sb_unchecked(tok, sb, 3),
		    bad ? BATON_R_BAD_PAYLOAD : BATON_R_OK);
		if (!bad) {
			ck_assert_uint_eq(tok->nblocks, 3);
			ck_assert_str_eq(tok->blocks[2].delegator, "d");
			baton_token_free(tok);
		}
		for (i = 0; i < 3; i++)
			ck_assert_msg(memcmp(&tok->blocks[i], zero,
			    sizeof(zero)) == 0, "block %zu not wiped", i);
		ck_assert_uint_eq(tok->blocks[3].version, 0xa5a5a5a5a5a5a5a5ULL);
		ck_assert_uint_eq(tok->nblocks, 0);
		ck_assert_ptr_null(tok->arena);
		ck_assert_ptr_null(tok->env.buf);
		ck_assert_uint_eq(tok->env.len, 0);
		ck_assert_uint_eq(tok->key_not_after, 0);
		ck_assert_uint_eq(tok->key_trust_until, 0);
		/* and free again is harmless */
		baton_token_free(tok);
	}
	free(tok);
}
END_TEST

/* decode takes the envelope in every case and leaves tok freeable */
START_TEST(test_decode_ownership)
{
	struct baton_keyring	 kr;
	struct baton_envelope	 env;
	struct baton_token	 tok;
	uint8_t			 bad[1] = { 0xc0 };
	const uint8_t		*p[1] = { bad };
	size_t			 len[1] = { 1 };
	char			*text;

	tu_keyring(&kr, 1);
	ck_assert_int_eq(baton_token_seal(&text, kr.keys[0], p, len, 1), 0);
	ck_assert_int_eq(baton_envelope_parse(&env, text, strlen(text)),
	    BATON_R_OK);
	ck_assert_int_eq(baton_envelope_check(&env, &kr, BATON_CHECK_TAG),
	    BATON_R_OK);
	ck_assert_int_eq(baton_token_decode(&tok, &env), BATON_R_BAD_PAYLOAD);
	ck_assert_ptr_null(env.buf);
	ck_assert_ptr_null(tok.env.buf);
	ck_assert_ptr_null(tok.arena);
	baton_token_free(&tok);
	free(text);
	baton_keyring_clear(&kr);
}
END_TEST

static Suite *
payload_suite(void)
{
	Suite	*s = suite_create("token-payload");
	TCase	*tc;

	tc = tcase_create("strict");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_payload_table, 0, NELEM(pcases));
	tcase_add_test(tc, test_decode_ownership);
	tcase_add_test(tc, test_utf8_offsets);
	tcase_add_loop_test(tc, test_int_encodings, 0, NELEM(icases));
	tcase_add_test(tc, test_token_wiped);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	if (sodium_init() < 0)
		return (EXIT_FAILURE);
	sr = srunner_create(roundtrip_suite());
	srunner_add_suite(sr, seal_suite());
	srunner_add_suite(sr, envelope_suite());
	srunner_add_suite(sr, payload_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
