/*
 * check_body.c: broker/body.c in process: the verify answer packed in
 * place against the same answer packed through plain msgpack-c (the
 * bytes batond wrote before), body_parse's refusals, and log.c's masking
 * of control bytes.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "batond.h"

/* ---- the answer, the old way ---------------------------------------- */

static void
ref_str(msgpack_packer *pk, const char *s)
{
	size_t	len = strlen(s);

	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

static void
ref_bin(msgpack_packer *pk, const void *v, size_t len)
{
	msgpack_pack_bin(pk, len);
	msgpack_pack_bin_body(pk, v, len);
}

static void
ref_strs(msgpack_packer *pk, const char *const *v, size_t n)
{
	size_t	i;

	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++)
		ref_str(pk, v[i]);
}

/* pack_facts as op-verify.c wrote it, through msgpack-c only. */
static void
ref_facts(msgpack_packer *pk, const struct baton_token *tok,
    const struct baton_effective *eff, const struct baton_tool_facts *tf)
{
	size_t	i, n;

	n = 15 + (eff->holder != NULL) + (eff->has_aud != 0);
	msgpack_pack_map(pk, n);
	ref_str(pk, "wildcard");
	eff->wildcard ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	ref_str(pk, "tools");
	ref_strs(pk, eff->wildcard ? NULL : eff->tools,
	    eff->wildcard ? 0 : eff->ntools);
	ref_str(pk, "any_action");
	tf != NULL && tf->any_action ? msgpack_pack_true(pk) :
	    msgpack_pack_false(pk);
	ref_str(pk, "actions");
	ref_strs(pk, tf != NULL ? tf->actions : NULL,
	    tf != NULL ? tf->nactions : 0);
	ref_str(pk, "limits");
	msgpack_pack_map(pk, tf != NULL ? tf->nlimits : 0);
	for (i = 0; tf != NULL && i < tf->nlimits; i++) {
		ref_str(pk, tf->limits[i].name);
		msgpack_pack_uint64(pk, tf->limits[i].max);
	}
	ref_str(pk, "depth");
	msgpack_pack_uint64(pk, tok->nblocks - 1);
	ref_str(pk, "iss");
	ref_str(pk, eff->iss != NULL ? eff->iss : "");
	ref_str(pk, "sub");
	ref_str(pk, eff->sub != NULL ? eff->sub : "");
	if (eff->holder != NULL) {
		ref_str(pk, "holder");
		ref_str(pk, eff->holder);
	}
	if (eff->has_aud) {
		ref_str(pk, "aud");
		ref_strs(pk, eff->aud, eff->naud);
	}
	ref_str(pk, "exp");
	msgpack_pack_uint64(pk, eff->exp);
	ref_str(pk, "kid");
	ref_bin(pk, tok->env.kid, BATON_KID_LEN);
	ref_str(pk, "root_kid");
	ref_bin(pk, baton_token_root_kid(tok), BATON_KID_LEN);
	ref_str(pk, "delegators");
	msgpack_pack_array(pk, tok->nblocks);
	for (i = 0; i < tok->nblocks; i++)
		ref_str(pk, i == 0 ? (tok->blocks[0].iss != NULL ?
		    tok->blocks[0].iss : "") : tok->blocks[i].delegator);
	ref_str(pk, "jtis");
	msgpack_pack_array(pk, tok->nblocks);
	for (i = 0; i < tok->nblocks; i++)
		ref_bin(pk, tok->blocks[i].jti, BATON_JTI_LEN);
	ref_str(pk, "ctx");
	msgpack_pack_map(pk, eff->nctx);
	for (i = 0; i < eff->nctx; i++) {
		ref_str(pk, eff->ctx[i].key);
		ref_str(pk, eff->ctx[i].value);
	}
	ref_str(pk, "presented");
	eff->presented ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
}

/* The head of op_verify's answer body as it was packed. */
static void
ref_answer(msgpack_packer *pk, enum baton_reason why, const char *message,
    const struct baton_token *tok, const struct baton_effective *eff,
    const struct baton_tool_facts *tf, size_t nexplain)
{
	msgpack_pack_map(pk, (tok != NULL ? 4 : 3) + (message != NULL) +
	    nexplain);
	ref_str(pk, "allow");
	why == BATON_R_OK ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
	ref_str(pk, "reason");
	msgpack_pack_uint32(pk, (uint32_t)why);
	ref_str(pk, "reason_name");
	ref_str(pk, baton_reason_name(why));
	if (message != NULL) {
		ref_str(pk, "message");
		ref_str(pk, message);
	}
	if (tok != NULL) {
		ref_str(pk, "facts");
		ref_facts(pk, tok, eff, tf);
	}
}

/* ---- facts to pack ---------------------------------------------------- */

/* String lengths on both sides of every msgpack head size. */
static const size_t lens[] = { 0, 1, 31, 32, 255, 256, 65535, 65536, 7 };
#define NLENS	(sizeof lens / sizeof lens[0])

/* Unsigned values on both sides of every msgpack integer size. */
static const uint64_t uints[] = {
	0, 127, 128, 255, 256, 65535, 65536, 4294967295ULL, 4294967296ULL,
	UINT64_MAX
};
#define NUINTS	(sizeof uints / sizeof uints[0])

/*
 * Counts on both sides of the fixarray/fixmap and 16-bit heads; only the
 * tools list of one round in six is 64 Ki long (a 32-bit head).
 */
static const size_t counts[] = { 0, 1, 15, 16, 300, 65536 };
#define SMALL(k)	counts[(k) % 5]

struct world {
	char			*strs[NLENS];
	const char		**names;	/* counts[] max, rotating */
	struct baton_limit	*limits;
	struct baton_kv		*ctx;
	struct baton_token	*tok;
	struct baton_effective	 eff;
	struct baton_tool_facts	 tf;
};

static char *
str_of(size_t len, int salt)
{
	char	*s = malloc(len + 1);
	size_t	 i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < len; i++)
		s[i] = (char)('a' + (i * 7 + (size_t)salt) % 26);
	s[len] = '\0';
	return (s);
}

static void
world_init(struct world *w)
{
	size_t	i, max = 65536;

	memset(w, 0, sizeof *w);
	for (i = 0; i < NLENS; i++)
		w->strs[i] = str_of(lens[i], (int)i);
	w->names = calloc(max + 2, sizeof *w->names);
	w->limits = calloc(max + 2, sizeof *w->limits);
	w->ctx = calloc(max + 2, sizeof *w->ctx);
	w->tok = calloc(1, sizeof *w->tok);
	ck_assert_ptr_nonnull(w->names);
	ck_assert_ptr_nonnull(w->limits);
	ck_assert_ptr_nonnull(w->ctx);
	ck_assert_ptr_nonnull(w->tok);
	/* every length among the first names, then short ones: 64 Ki of them */
	for (i = 0; i < max + 2; i++)
		w->names[i] = i < NLENS ? w->strs[i] : w->strs[1 + i % 4];
	for (i = 0; i < max + 2; i++) {
		w->limits[i].name = w->names[(i + 1) % (max + 2)];
		w->limits[i].max = uints[i % NUINTS];
		w->ctx[i].key = w->names[(i + 2) % (max + 2)];
		w->ctx[i].value = w->names[(i + 3) % (max + 2)];
	}
}

static void
world_free(struct world *w)
{
	size_t	i;

	for (i = 0; i < NLENS; i++)
		free(w->strs[i]);
	free(w->names);
	free(w->limits);
	free(w->ctx);
	free(w->tok);
}

/* Round k: a token and facts with k's choice of every shape. */
static void
world_round(struct world *w, size_t k)
{
	struct baton_token	*tok = w->tok;
	size_t			 i, n = counts[k % 6];

	memset(tok, 0, sizeof *tok);
	tok->nblocks = k % 3 == 0 ? 1 : k % 3 == 1 ? 2 : BATON_MAX_BLOCKS;
	for (i = 0; i < BATON_KID_LEN; i++)
		tok->env.kid[i] = (uint8_t)(k + i);
	for (i = 0; i < tok->nblocks; i++) {
		memset(tok->blocks[i].jti, (int)(i + k), BATON_JTI_LEN);
		tok->blocks[i].iss = k % 4 == 3 ? NULL : w->strs[(i + k) % NLENS];
		tok->blocks[i].delegator = w->strs[(i + k + 1) % NLENS];
	}
	/* a foreign origin's kid, from a federated hop */
	if (tok->nblocks > 1 && k % 2 == 0)
		tok->blocks[1].origin = tok->blocks[0].jti;

	memset(&w->eff, 0, sizeof w->eff);
	w->eff.wildcard = k % 5 == 0;
	w->eff.tools = w->names;
	w->eff.ntools = n;
	w->eff.iss = k % 7 == 0 ? NULL : w->strs[k % NLENS];
	w->eff.sub = k % 11 == 0 ? NULL : w->strs[(k + 3) % NLENS];
	w->eff.holder = k % 2 ? w->strs[(k + 4) % NLENS] : NULL;
	w->eff.has_aud = k % 3 != 0;
	w->eff.aud = w->names + 1;
	w->eff.naud = SMALL(k + 1) > 0 ? SMALL(k + 1) - 1 : 0;
	w->eff.exp = uints[k % NUINTS];
	w->eff.ctx = w->ctx;
	w->eff.nctx = SMALL(k + 2);
	w->eff.presented = k % 4 == 1;

	memset(&w->tf, 0, sizeof w->tf);
	w->tf.any_action = k % 2 == 0;
	w->tf.actions = w->names + 2;
	w->tf.nactions = SMALL(k + 3) > 2 ? SMALL(k + 3) - 2 : 0;
	w->tf.limits = w->limits;
	w->tf.nlimits = SMALL(k + 4);
}

static const char *
pos_of(const char *a, const char *b, size_t n)
{
	static char	msg[64];
	size_t		i;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	snprintf(msg, sizeof msg, "first difference at byte %zu of %zu", i, n);
	return (msg);
}

#define NROUNDS	30

/*
 * Every shape of facts, packed into a wire frame (the in-place path),
 * into someone else's plain sbuffer (the fallback), and the old way:
 * the same bytes each time.
 */
START_TEST(test_answer_same_bytes)
{
	static const char *const msgs[] = { NULL, "policy: line 3: no",
	    NULL };
	struct world		 w;
	msgpack_sbuffer		 wsb, ref, plain;
	msgpack_packer		 wpk, rpk, ppk;
	const struct baton_tool_facts *tf;
	const struct baton_token *tok;
	enum baton_reason	 why;
	size_t			 k, pre;

	world_init(&w);
	for (k = 0; k < NROUNDS; k++) {
		world_round(&w, k);
		tf = k % 5 == 4 ? NULL : &w.tf;
		tok = k % 9 == 8 ? NULL : w.tok;
		why = k % 4 == 0 ? BATON_R_OK : (enum baton_reason)(k % 30);
		baton_wire_begin(&wsb, &wpk);
		msgpack_sbuffer_init(&ref);
		msgpack_packer_init(&rpk, &ref, msgpack_sbuffer_write);
		msgpack_sbuffer_init(&plain);
		msgpack_packer_init(&ppk, &plain, msgpack_sbuffer_write);
		/* a prefix of k bytes shifts where the buffer grows */
		for (pre = 0; pre < k; pre++) {
			baton_pack_bool(&wpk, 1);
			msgpack_pack_true(&rpk);
			msgpack_pack_true(&ppk);
		}

		pack_verify_answer(&wpk, why, msgs[k % 3], tok, &w.eff, tf,
		    k % 2);
		pack_facts(&wpk, w.tok, &w.eff, tf);
		pack_reason(&wpk, "verified", why);
		ref_answer(&rpk, why, msgs[k % 3], tok, &w.eff, tf, k % 2);
		ref_facts(&rpk, w.tok, &w.eff, tf);
		ref_str(&rpk, "verified");
		why == BATON_R_OK ? msgpack_pack_true(&rpk) :
		    msgpack_pack_false(&rpk);
		ref_str(&rpk, "reason");
		msgpack_pack_uint32(&rpk, (uint32_t)why);
		ref_str(&rpk, "reason_name");
		ref_str(&rpk, baton_reason_name(why));
		pack_verify_answer(&ppk, why, msgs[k % 3], tok, &w.eff, tf,
		    k % 2);
		pack_facts(&ppk, w.tok, &w.eff, tf);
		pack_reason(&ppk, "verified", why);

		ck_assert_uint_eq(wsb.size, BATON_WIRE_HDR + ref.size);
		ck_assert_msg(memcmp(wsb.data + BATON_WIRE_HDR, ref.data,
		    ref.size) == 0, "round %zu: %s", k,
		    pos_of(wsb.data + BATON_WIRE_HDR, ref.data, ref.size));
		ck_assert_uint_eq(plain.size, ref.size);
		ck_assert_msg(memcmp(plain.data, ref.data, ref.size) == 0,
		    "round %zu, plain: %s", k,
		    pos_of(plain.data, ref.data, ref.size));
		msgpack_sbuffer_destroy(&wsb);
		msgpack_sbuffer_destroy(&ref);
		msgpack_sbuffer_destroy(&plain);
	}
	world_free(&w);
}
END_TEST

/* ---- body_parse ------------------------------------------------------- */

static const char *const known_keys[] = {
	"token", "as", "sub", "tool", "action", "holder", "format", "client",
	"aud", "ttl", "nbf", "max_depth", "block", "version", "single_use",
	"grants", "ctx", "args", "usage", "jti", "now", "minimal", "disclose",
	"explain", "source"
};
#define NKEYS	(sizeof known_keys / sizeof known_keys[0])

struct msg {
	msgpack_sbuffer	sb;
	msgpack_packer	pk;
};

static msgpack_packer *
msg_new(struct msg *m, size_t nkeys)
{
	msgpack_sbuffer_init(&m->sb);
	msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
	msgpack_pack_map(&m->pk, nkeys);
	return (&m->pk);
}

static void
put_strn(msgpack_packer *pk, const char *s, size_t len)
{
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

static void
put_s(msgpack_packer *pk, const char *s)
{
	put_strn(pk, s, strlen(s));
}

/* A value each known key accepts, as body_parse reads it. */
static void
put_value_for(msgpack_packer *pk, const char *key)
{
	static const uint8_t	jti[BATON_JTI_LEN];

	if (strcmp(key, "ttl") == 0 || strcmp(key, "nbf") == 0 ||
	    strcmp(key, "max_depth") == 0 || strcmp(key, "block") == 0 ||
	    strcmp(key, "version") == 0)
		msgpack_pack_uint64(pk, 1);
	else if (strcmp(key, "single_use") == 0 || strcmp(key, "now") == 0 ||
	    strcmp(key, "minimal") == 0 || strcmp(key, "explain") == 0)
		msgpack_pack_true(pk);
	else if (strcmp(key, "grants") == 0)
		put_s(pk, "*");
	else if (strcmp(key, "ctx") == 0 || strcmp(key, "args") == 0 ||
	    strcmp(key, "usage") == 0)
		msgpack_pack_map(pk, 0);
	else if (strcmp(key, "disclose") == 0)
		msgpack_pack_array(pk, 0);
	else if (strcmp(key, "jti") == 0) {
		msgpack_pack_bin(pk, sizeof jti);
		msgpack_pack_bin_body(pk, jti, sizeof jti);
	} else
		put_s(pk, "x");
}

/* body_parse on m's bytes: its cause, or NULL if it parsed. */
static char *
parse(struct msg *m, struct body *b)
{
	struct mpr	 r;
	char		*cause = NULL;

	mpr_init(&r, m->sb.data, m->sb.size);
	if (body_parse(b, &r, &cause) == 0) {
		ck_assert_ptr_null(cause);
		return (NULL);
	}
	ck_assert_ptr_nonnull(cause);
	return (cause);
}

static void
refused(struct msg *m, const char *expect)
{
	struct body	 b;
	char		*cause;

	cause = parse(m, &b);
	ck_assert_msg(cause != NULL, "accepted, expected \"%s\"", expect);
	ck_assert_str_eq(cause, expect);
	free(cause);
	body_free(&b);
	msgpack_sbuffer_destroy(&m->sb);
}

/* Every known key is known: given twice, the second is refused. */
START_TEST(test_known_keys_once)
{
	struct msg	 m;
	struct body	 b;
	char		*cause;
	size_t		 i;

	for (i = 0; i < NKEYS; i++) {
		msg_new(&m, 1);
		put_s(&m.pk, known_keys[i]);
		put_value_for(&m.pk, known_keys[i]);
		cause = parse(&m, &b);
		ck_assert_msg(cause == NULL, "%s: %s", known_keys[i], cause);
		body_free(&b);
		msgpack_sbuffer_destroy(&m.sb);

		msg_new(&m, 2);
		put_s(&m.pk, known_keys[i]);
		put_value_for(&m.pk, known_keys[i]);
		put_s(&m.pk, known_keys[i]);
		put_value_for(&m.pk, known_keys[i]);
		refused(&m, "duplicate key in the body");
	}
}
END_TEST

/* Unknown keys are skipped, whatever their value; bad keys are not. */
START_TEST(test_keys)
{
	static const char *const bad[] = { "", "to\tken", "a\x7f", "x\n" };
	struct msg	 m;
	struct body	 b;
	char		 key[66];
	size_t		 i;

	/* near misses of known keys, and a 64-byte one: unknown, skipped */
	msg_new(&m, 6);
	put_s(&m.pk, "tokens");
	put_s(&m.pk, "x");
	put_s(&m.pk, "Token");
	msgpack_pack_array(&m.pk, 1);
	msgpack_pack_nil(&m.pk);
	put_s(&m.pk, "tooL");
	msgpack_pack_uint64(&m.pk, 5);
	put_s(&m.pk, "n");
	msgpack_pack_true(&m.pk);
	memset(key, 'k', 64);
	put_strn(&m.pk, key, 64);
	msgpack_pack_map(&m.pk, 0);
	put_s(&m.pk, "tool");
	put_s(&m.pk, "db_query");
	ck_assert_ptr_null(parse(&m, &b));
	ck_assert_str_eq(b.tool, "db_query");
	ck_assert_ptr_null(b.token);
	body_free(&b);
	msgpack_sbuffer_destroy(&m.sb);

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		msg_new(&m, 1);
		put_s(&m.pk, bad[i]);
		put_s(&m.pk, "x");
		refused(&m, "body keys must be strings");
	}
	/* NUL inside a key, known or not; a key over 64 bytes */
	msg_new(&m, 1);
	put_strn(&m.pk, "tool\0", 5);
	put_s(&m.pk, "x");
	refused(&m, "body keys must be strings");
	msg_new(&m, 1);
	put_strn(&m.pk, "to\0l", 4);
	put_s(&m.pk, "x");
	refused(&m, "body keys must be strings");
	msg_new(&m, 1);
	memset(key, 'k', 65);
	put_strn(&m.pk, key, 65);
	put_s(&m.pk, "x");
	refused(&m, "body keys must be strings");
	msg_new(&m, 1);
	msgpack_pack_uint64(&m.pk, 1);
	put_s(&m.pk, "x");
	refused(&m, "body keys must be strings");
}
END_TEST

/* Names: non-empty, at most 255 bytes, no NUL or control character. */
START_TEST(test_names)
{
	struct msg	 m;
	struct body	 b;
	char		 name[257];

	memset(name, 'n', sizeof name);
	msg_new(&m, 1);
	put_s(&m.pk, "tool");
	put_strn(&m.pk, name, 255);
	ck_assert_ptr_null(parse(&m, &b));
	ck_assert_uint_eq(strlen(b.tool), 255);
	body_free(&b);
	msgpack_sbuffer_destroy(&m.sb);

	msg_new(&m, 1);
	put_s(&m.pk, "tool");
	put_strn(&m.pk, name, 256);
	refused(&m, "tool: bad name");
	msg_new(&m, 1);
	put_s(&m.pk, "tool");
	put_s(&m.pk, "");
	refused(&m, "tool: bad name");
	msg_new(&m, 1);
	put_s(&m.pk, "action");
	put_strn(&m.pk, "re\0d", 4);
	refused(&m, "action: bad");
	msg_new(&m, 1);
	put_s(&m.pk, "aud");
	put_s(&m.pk, "d\x1b");
	refused(&m, "aud: bad");
	msg_new(&m, 1);
	put_s(&m.pk, "tool");
	msgpack_pack_uint64(&m.pk, 1);
	refused(&m, "tool: bad name");
}
END_TEST

/* Every byte value at every place of a name: refused iff C0 or DEL. */
START_TEST(test_name_bytes)
{
	struct msg	 m;
	struct body	 b;
	char		 name[21], *cause;
	size_t		 at, len;
	int		 c;

	for (len = 1; len <= sizeof name; len += 6)
		for (at = 0; at < len; at++)
			for (c = 0; c < 256; c++) {
				memset(name, 'a', sizeof name);
				name[at] = (char)c;
				msg_new(&m, 1);
				put_s(&m.pk, "tool");
				put_strn(&m.pk, name, len);
				cause = parse(&m, &b);
				if (c < 0x20 || c == 0x7f) {
					ck_assert_msg(cause != NULL, "byte %#x "
					    "at %zu of %zu taken", c, at, len);
					ck_assert_str_eq(cause,
					    "tool: bad name");
				} else
					ck_assert_msg(cause == NULL, "byte %#x "
					    "at %zu of %zu: %s", c, at, len,
					    cause);
				free(cause);
				body_free(&b);
				msgpack_sbuffer_destroy(&m.sb);
			}
}
END_TEST

/* Values may be empty or hold control characters, never a NUL. */
START_TEST(test_values)
{
	struct msg	 m;
	struct body	 b;

	msg_new(&m, 1);
	put_s(&m.pk, "args");
	msgpack_pack_map(&m.pk, 2);
	put_s(&m.pk, "path");
	put_s(&m.pk, "a\tb\x7f");
	put_s(&m.pk, "q");
	put_s(&m.pk, "");
	ck_assert_ptr_null(parse(&m, &b));
	ck_assert_uint_eq(b.nargs, 2);
	ck_assert_str_eq(b.args[1].name, "path");
	ck_assert_str_eq(b.args[1].value.s, "a\tb\x7f");
	ck_assert_uint_eq(b.args[1].value.len, 4);
	ck_assert_str_eq(b.args[0].value.s, "");
	body_free(&b);
	msgpack_sbuffer_destroy(&m.sb);

	msg_new(&m, 1);
	put_s(&m.pk, "args");
	msgpack_pack_map(&m.pk, 1);
	put_s(&m.pk, "path");
	put_strn(&m.pk, "a\0b", 3);
	refused(&m, "args: bad value");
}
END_TEST

/*
 * More strings than the body's own buffer holds: the rest go to the
 * arena, and every one reads back as sent.
 */
START_TEST(test_many_strings)
{
	struct msg	 m;
	struct body	 b;
	char		 name[8][200];
	size_t		 i;

	msg_new(&m, 3);
	put_s(&m.pk, "tool");
	put_s(&m.pk, "t");
	put_s(&m.pk, "args");
	msgpack_pack_map(&m.pk, 8);
	for (i = 0; i < 8; i++) {
		memset(name[i], (int)('a' + i), sizeof name[i] - 1);
		name[i][sizeof name[i] - 1 - i] = '\0';
		put_s(&m.pk, name[i]);
		put_s(&m.pk, name[i]);
	}
	put_s(&m.pk, "action");
	put_s(&m.pk, "read");
	ck_assert_ptr_null(parse(&m, &b));
	ck_assert_ptr_nonnull(b.arena);
	ck_assert_str_eq(b.tool, "t");
	ck_assert_str_eq(b.action, "read");
	for (i = 0; i < 8; i++) {
		ck_assert_str_eq(b.args[7 - i].name, name[i]);
		ck_assert_str_eq(b.args[7 - i].value.s, name[i]);
	}
	body_free(&b);
	msgpack_sbuffer_destroy(&m.sb);

	/* a verify's body needs no arena at all */
	msg_new(&m, 3);
	put_s(&m.pk, "tool");
	put_s(&m.pk, "db_query");
	put_s(&m.pk, "action");
	put_s(&m.pk, "read");
	put_s(&m.pk, "aud");
	put_s(&m.pk, "db");
	ck_assert_ptr_null(parse(&m, &b));
	ck_assert_ptr_null(b.arena);
	ck_assert_str_eq(b.aud1, "db");
	body_free(&b);
	ck_assert_uint_eq(b.strused, 0);
	msgpack_sbuffer_destroy(&m.sb);
}
END_TEST

/* ---- log lines (log.c, linked here for fatalx) ------------------------- */

/*
 * Control bytes in a logged message are masked as '?', whatever the
 * byte and wherever it stands in the word-at-a-time scan; the rest of
 * the line is as given.
 */
START_TEST(test_log_masks)
{
	char	 msg[40], want[64], got[4096];
	FILE	*f;
	size_t	 len, at, n;
	int	 c, saved;

	ck_assert_ptr_nonnull(f = tmpfile());
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(dup2(fileno(f), STDERR_FILENO), STDERR_FILENO);
	log_open(0, 0);
	for (len = 1; len < sizeof msg; len += 5)
		for (at = 0; at < len; at++)
			for (c = 1; c < 256; c = c < 0x22 ? c + 1 :
			    c < 0x7e ? 0x7e : c < 0x81 ? c + 1 : c + 0x3f) {
				memset(msg, 'm', len);
				msg[at] = (char)c;
				msg[len] = '\0';
				ck_assert_int_eq(ftruncate(fileno(f), 0), 0);
				ck_assert_int_eq(lseek(STDERR_FILENO, 0,
				    SEEK_SET), 0);
				log_info_str(msg);
				n = (size_t)pread(fileno(f), got, sizeof got,
				    0);
				if (c < 0x20 || c == 0x7f)
					msg[at] = '?';
				snprintf(want, sizeof want, "batond: %s\n",
				    msg);
				ck_assert_uint_eq(n, strlen(want));
				ck_assert_msg(memcmp(got, want, n) == 0,
				    "byte %#x at %zu of %zu", c, at, len);
			}
	ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	fclose(f);
}
END_TEST

static Suite *
body_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("body");
	tc = tcase_create("answer");
	tcase_add_test(tc, test_answer_same_bytes);
	suite_add_tcase(s, tc);
	tc = tcase_create("parse");
	tcase_add_test(tc, test_known_keys_once);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_name_bytes);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_many_strings);
	suite_add_tcase(s, tc);
	tc = tcase_create("log");
	tcase_add_test(tc, test_log_masks);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(body_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
