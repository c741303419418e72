/*
 * check_clientlib.c: libclient internals that the public API cannot reach
 * directly.  The verify path checks a broker answer without converting it
 * to JSON (bc_mpr_check) and converts it only when asked
 * (bc_mpr_to_json): both must refuse exactly the same answers, or a
 * verify would succeed on an answer whose facts then read as absent.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "wire.h"
#include "client.h"

/* A verify answer as batond writes it (op-verify.c), with some variety. */
static size_t
sample_answer(uint8_t *out, size_t cap)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	static const uint8_t jti[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
	    12, 13, 14, 15, 16 };
	size_t		 n;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 5);
	baton_pack_str(&pk, "allow");
	baton_pack_bool(&pk, 1);
	baton_pack_str(&pk, "reason");
	msgpack_pack_uint32(&pk, 0);
	baton_pack_str(&pk, "reason_name");
	baton_pack_str(&pk, "ok");
	baton_pack_str(&pk, "facts");
	msgpack_pack_map(&pk, 8);
	baton_pack_str(&pk, "wildcard");
	baton_pack_bool(&pk, 0);
	baton_pack_str(&pk, "tools");
	msgpack_pack_array(&pk, 2);
	baton_pack_str(&pk, "db_query");
	baton_pack_str(&pk, "caf\xc3\xa9_\xe2\x82\xac_\xf0\x9f\x98\x80");
	baton_pack_str(&pk, "limits");
	msgpack_pack_map(&pk, 1);
	baton_pack_str(&pk, "max_rows");
	msgpack_pack_uint64(&pk, 1000);
	baton_pack_str(&pk, "depth");
	msgpack_pack_int64(&pk, -1);
	baton_pack_str(&pk, "jtis");
	msgpack_pack_array(&pk, 1);
	baton_pack_bin(&pk, jti, sizeof(jti));
	baton_pack_str(&pk, "ctx");
	msgpack_pack_map(&pk, 1);
	msgpack_pack_uint8(&pk, 7);		/* a number as a key */
	msgpack_pack_nil(&pk);
	baton_pack_str(&pk, "f");
	msgpack_pack_double(&pk, 1.5);
	baton_pack_str(&pk, "e");
	msgpack_pack_ext(&pk, 2, 1);
	msgpack_pack_ext_body(&pk, "ab", 2);
	baton_pack_str(&pk, "explain");
	msgpack_pack_array(&pk, 1);
	baton_pack_strn(&pk, "a\0b", 3);	/* NUL inside a value: JSON holds it */
	ck_assert_uint_le(sb.size, cap);
	memcpy(out, sb.data, sb.size);
	n = sb.size;
	msgpack_sbuffer_destroy(&sb);
	return n;
}

/* 1 if bc_mpr_check takes buf as one whole value, else 0. */
static int
checks(const uint8_t *buf, size_t len)
{
	struct mpr	r;

	mpr_init(&r, buf, len);
	return bc_mpr_check(&r, 0) == 0 && mpr_done(&r) == 0;
}

/* 1 if bc_mp_to_json converts buf, else 0. */
static int
converts(const uint8_t *buf, size_t len)
{
	json_t	*j = NULL;
	int	 ok;

	ok = bc_mp_to_json(buf, len, &j) == 0;
	ck_assert_int_eq(ok, j != NULL);
	json_decref(j);
	return ok;
}

static void
same(const uint8_t *buf, size_t len, const char *what, size_t pos, int b)
{
	int	c = checks(buf, len), j = converts(buf, len);

	ck_assert_msg(c == j, "%s at %zu (0x%02x): check %d, json %d", what,
	    pos, b, c, j);
}

START_TEST(test_check_sample)
{
	uint8_t	buf[1024];
	size_t	n = sample_answer(buf, sizeof(buf));

	ck_assert_int_eq(checks(buf, n), 1);
	ck_assert_int_eq(converts(buf, n), 1);
}
END_TEST

/* Every byte of the sample set to bytes that matter to a reader. */
START_TEST(test_check_mutations)
{
	static const uint8_t	 vals[] = { 0x00, 0x01, 0x1f, 0x7f, 0x80,
	    0x81, 0x8f, 0x90, 0x9f, 0xa0, 0xa1, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3,
	    0xc4, 0xc7, 0xca, 0xcb, 0xcc, 0xcf, 0xd0, 0xd3, 0xd4, 0xd9, 0xdc,
	    0xdd, 0xde, 0xdf, 0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0xff };
	uint8_t			 buf[1024], m[1024];
	size_t			 n = sample_answer(buf, sizeof(buf)), i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < sizeof(vals); k++) {
			memcpy(m, buf, n);
			m[i] = vals[k];
			same(m, n, "byte", i, vals[k]);
		}
		/* and every truncation */
		same(buf, i, "truncated", i, 0);
	}
	/* then a few bytes at once, reproducibly */
	srand(1);
	for (i = 0; i < 50000; i++) {
		memcpy(m, buf, n);
		for (k = 0; k < 3; k++)
			m[(size_t)rand() % n] = (uint8_t)rand();
		same(m, n, "random", i, m[0]);
	}
}
END_TEST

/* The refusals one by one, each against an answer that passes. */
START_TEST(test_check_cases)
{
	static const struct {
		const char	*name;
		const char	*bytes;
		size_t		 len;
		int		 ok;
	} cases[] = {
#define C(n, b, ok)	{ n, b, sizeof(b) - 1, ok }
		C("empty map", "\x80", 1),
		C("utf-8 value", "\x81\xa1k\xa2\xc3\xa9", 1),
		C("overlong value", "\x81\xa1k\xa2\xc0\x80", 0),
		C("surrogate value", "\x81\xa1k\xa3\xed\xa0\x80", 0),
		C("past U+10FFFF", "\x81\xa1k\xa4\xf4\x90\x80\x80", 0),
		C("lone continuation", "\x81\xa1k\xa1\x80", 0),
		C("cut sequence", "\x81\xa1k\xa1\xe2", 0),
		C("NUL in value", "\x81\xa1k\xa1\x00", 1),
		C("NUL in key", "\x81\xa2k\x00\xc0", 0),
		C("bad utf-8 key", "\x81\xa1\xff\xc0", 0),
		C("long key", "\x81\xaa" "0123456789\xc0", 1),
		C("NUL in a long key", "\x81\xaa" "01234\x00" "6789\xc0", 0),
		C("NUL in a long value", "\x81\xa1k\xaa" "01234\x00" "6789", 1),
		C("long ascii", "\x81\xa1k\xb0" "0123456789abcdef", 1),
		C("long ascii, bad tail", "\x81\xa1k\xb1" "0123456789abcdef\xff",
		    0),
		C("uint value past INT64_MAX",
		    "\x81\xa1k\xcf\x80\x00\x00\x00\x00\x00\x00\x00", 0),
		C("uint key past INT64_MAX",
		    "\x81\xcf\x80\x00\x00\x00\x00\x00\x00\x00\xc0", 1),
		C("int key", "\x81\xd0\x05\xc0", 0),
		C("bin key", "\x81\xc4\x01k\xc0", 0),
		C("int64 min", "\x91\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 1),
		C("float", "\x91\xca\x00\x00\x00\x00", 1),
		C("cut float", "\x91\xcb\x00\x00\x00\x00", 0),
		C("fixext", "\x91\xd4\x01\x02", 1),
		C("0xc1", "\x91\xc1", 0),
		C("array too long", "\x92\xc0", 0),
		C("trailing byte", "\x80\xc0", 0),
#undef C
	};
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(checks((const uint8_t *)cases[i].bytes,
		    cases[i].len) == cases[i].ok, "%s: check", cases[i].name);
		ck_assert_msg(converts((const uint8_t *)cases[i].bytes,
		    cases[i].len) == cases[i].ok, "%s: json", cases[i].name);
	}
}
END_TEST

/* Nesting: both stop at the same depth. */
START_TEST(test_check_depth)
{
	uint8_t	buf[64];
	size_t	d;

	for (d = 1; d < 40; d++) {
		memset(buf, 0x91, d);		/* d nested one-element arrays */
		buf[d] = 0xc0;
		same(buf, d + 1, "depth", d, 0x91);
		memset(buf, 0x90, 1);
		same(buf, 1, "depth", d, 0x90);
	}
	memset(buf, 0x91, BATON_MAX_NEST);
	buf[BATON_MAX_NEST] = 0xc0;
	ck_assert_int_eq(checks(buf, BATON_MAX_NEST + 1), 1);
	memset(buf, 0x91, BATON_MAX_NEST + 1);
	buf[BATON_MAX_NEST + 1] = 0xc0;
	ck_assert_int_eq(checks(buf, BATON_MAX_NEST + 2), 0);
}
END_TEST

/*
 * UTF-8 in strings of every length, as values (last in the answer, or
 * followed by more) and as keys: each class of invalid sequence at every
 * offset in an ASCII string, across the word boundaries of the fast path,
 * against the table and against jansson.
 */
START_TEST(test_check_utf8_table)
{
	static const struct {
		const char	*name;
		const char	*seq;
		size_t		 len;
		int		 ok;		/* in a value */
		int		 key_ok;	/* in a key */
	} cls[] = {
#define U(n, s, ok, kok)	{ n, s, sizeof(s) - 1, ok, kok }
		U("ascii", "a", 1, 1),
		U("NUL", "\x00", 1, 0),
		U("DEL", "\x7f", 1, 1),
		U("2-byte", "\xc3\xa9", 1, 1),
		U("2-byte lowest", "\xc2\x80", 1, 1),
		U("3-byte", "\xe2\x82\xac", 1, 1),
		U("3-byte lowest", "\xe0\xa0\x80", 1, 1),
		U("below surrogates", "\xed\x9f\xbf", 1, 1),
		U("above surrogates", "\xee\x80\x80", 1, 1),
		U("U+FFFF", "\xef\xbf\xbf", 1, 1),
		U("4-byte", "\xf0\x9f\x98\x80", 1, 1),
		U("4-byte lowest", "\xf0\x90\x80\x80", 1, 1),
		U("U+10FFFF", "\xf4\x8f\xbf\xbf", 1, 1),
		U("lone continuation", "\x80", 0, 0),
		U("last continuation", "\xbf", 0, 0),
		U("overlong 2 (c0)", "\xc0\x80", 0, 0),
		U("overlong 2 (c1)", "\xc1\xbf", 0, 0),
		U("overlong 3", "\xe0\x80\x80", 0, 0),
		U("overlong 3 high", "\xe0\x9f\xbf", 0, 0),
		U("overlong 4", "\xf0\x80\x80\x80", 0, 0),
		U("overlong 4 high", "\xf0\x8f\xbf\xbf", 0, 0),
		U("surrogate low", "\xed\xa0\x80", 0, 0),
		U("surrogate high", "\xed\xbf\xbf", 0, 0),
		U("past U+10FFFF", "\xf4\x90\x80\x80", 0, 0),
		U("lead f5", "\xf5\x80\x80\x80", 0, 0),
		U("lead fe", "\xfe", 0, 0),
		U("lead ff", "\xff", 0, 0),
		U("2-byte cut", "\xc3", 0, 0),
		U("3-byte cut after 1", "\xe2", 0, 0),
		U("3-byte cut after 2", "\xe2\x82", 0, 0),
		U("4-byte cut after 3", "\xf0\x9f\x98", 0, 0),
		U("2-byte, ascii second", "\xc3\x41", 0, 0),
		U("3-byte, ascii third", "\xe2\x82\x41", 0, 0),
		U("4-byte, 2-byte lead fourth", "\xf0\x9f\x98\xc3", 0, 0),
#undef U
	};
	uint8_t		 buf[128], *p;
	char		 msg[96];
	size_t		 c, off, t, pad, form, slen, i;
	static const size_t tails[] = { 0, 1, 2, 9 };
	int		 want, got;

	for (c = 0; c < sizeof(cls) / sizeof(cls[0]); c++)
	for (off = 0; off < 16; off++)
	for (t = 0; t < sizeof(tails) / sizeof(tails[0]); t++)
	for (pad = 0; pad <= 5; pad += 5)
	for (form = 0; form < 3; form++) {
		/* the string: off ASCII bytes, the sequence, a tail */
		slen = off + cls[c].len + tails[t];
		p = buf;
		*p++ = (uint8_t)(0x80 | (form == 1 ? 3 : 2));
		*p++ = 0xa1;
		*p++ = 'p';			/* a pad, to vary alignment */
		*p++ = (uint8_t)(0xa0 | pad);
		memset(p, 'x', pad);
		p += pad;
		if (form == 2) {		/* as a key */
			*p++ = (uint8_t)(0xa0 | slen);
		} else {
			*p++ = 0xa1;
			*p++ = 'k';
			*p++ = (uint8_t)(0xa0 | slen);
		}
		for (i = 0; i < off; i++)
			*p++ = (uint8_t)('a' + i);
		memcpy(p, cls[c].seq, cls[c].len);
		p += cls[c].len;
		memset(p, 'y', tails[t]);
		p += tails[t];
		if (form == 2)
			*p++ = 0xc0;		/* the key's value */
		else if (form == 1) {
			*p++ = 0xa1;		/* a pair after the string */
			*p++ = 'z';
			*p++ = 0xc0;
		}
		want = form == 2 ? cls[c].key_ok : cls[c].ok;
		snprintf(msg, sizeof(msg), "%s at %zu, tail %zu, pad %zu, "
		    "form %zu", cls[c].name, off, tails[t], pad, form);
		got = checks(buf, (size_t)(p - buf));
		ck_assert_msg(got == want, "%s: check %d", msg, got);
		got = converts(buf, (size_t)(p - buf));
		ck_assert_msg(got == want, "%s: json %d", msg, got);
	}
}
END_TEST

struct seen {
	char	keys[8][16];
	size_t	n;
};

static void
field(void *arg, const char *key, size_t klen, const uint8_t *val,
    size_t vlen)
{
	struct seen	*s = arg;
	struct mpr	 r;

	ck_assert_uint_lt(s->n, 8);
	ck_assert_uint_lt(klen, sizeof(s->keys[0]));
	memcpy(s->keys[s->n], key, klen);
	s->keys[s->n][klen] = '\0';
	s->n++;
	/* the value handed over is exactly one whole value */
	mpr_init(&r, val, vlen);
	ck_assert_int_eq(mpr_skip(&r), 0);
	ck_assert_int_eq(mpr_done(&r), 0);
}

/* The top-level walk shows every string-keyed value, in order. */
START_TEST(test_check_map_fields)
{
	struct seen	s;
	struct mpr	r;
	uint8_t		buf[1024];
	size_t		n = sample_answer(buf, sizeof(buf));

	memset(&s, 0, sizeof(s));
	mpr_init(&r, buf, n);
	ck_assert_int_eq(bc_mpr_check_map(&r, field, &s), 0);
	ck_assert_int_eq(mpr_done(&r), 0);
	ck_assert_uint_eq(s.n, 5);
	ck_assert_str_eq(s.keys[0], "allow");
	ck_assert_str_eq(s.keys[3], "facts");
	ck_assert_str_eq(s.keys[4], "explain");
	/* not a map at the top */
	mpr_init(&r, "\x91\xc0", 2);
	ck_assert_int_ne(bc_mpr_check_map(&r, field, &s), 0);
}
END_TEST

/* bc_read_head and baton_wire_read_response on len bytes of buf. */
static void
same_head(const uint8_t *buf, size_t len, const char *what, size_t pos)
{
	struct mpr	r1, r2;
	uint32_t	op1 = 1, id1 = 2, op2 = 1, id2 = 2;
	int		st1 = 3, st2 = 3, ret1, ret2;

	mpr_init(&r1, buf, len);
	mpr_init(&r2, buf, len);
	ret1 = bc_read_head(&r1, &op1, &id1, &st1);
	ret2 = baton_wire_read_response(&r2, &op2, &id2, &st2);
	ck_assert_msg(ret1 == ret2, "%s at %zu: %d, not %d", what, pos, ret1,
	    ret2);
	if (ret1 != 0)
		return;
	ck_assert_msg(op1 == op2 && id1 == id2 && st1 == st2 && r1.p == r2.p,
	    "%s at %zu: op %u id %u status %d, not op %u id %u status %d",
	    what, pos, op1, id1, st1, op2, id2, st2);
}

/* The answer head read in place: as the wire code reads it, always. */
START_TEST(test_read_head)
{
	static const struct {
		const char	*bytes;
		size_t		 len;
	} heads[] = {
#define H(b)	{ b, sizeof(b) - 1 }
		H("\x94\xcc\x85\x05\x00\x81\xa1k\xc0\xc0\xc0\xc0"),
		H("\x94\xcc\x85\xcc\xf0\x00\x80\xc0\xc0\xc0\xc0"),
		H("\x94\xcc\x85\xcd\x12\x34\x02\x80\xc0\xc0\xc0"),
		H("\x94\xcc\x85\xce\x6f\x11\xfd\xbc\x00\xde\x00\x01"
		    "\xa1k\xc0"),
		H("\x94\xcc\x85\xce\xff\xff\xff\xff\x7f\xdf\x00\x00"
		    "\x00\x00"),
		H("\x94\xcc\x85\xcf\x00\x00\x00\x00\x00\x00\x00\x09"
		    "\x00\x80"),
		H("\x94\xcc\x85\xd0\x05\x00\x80\xc0\xc0\xc0\xc0"),
		H("\x94\xcc\x85\x05\xcc\x80\x80\xc0\xc0\xc0\xc0"),
		H("\x94\xcc\x85\x05\x00\x90\xc0\xc0\xc0\xc0\xc0"),
		H("\x94\x05\x05\x00\x80"),
#undef H
	};
	static const uint8_t	 vals[] = { 0x00, 0x05, 0x7f, 0x80, 0x85,
	    0x8f, 0x90, 0x93, 0x94, 0x95, 0xc0, 0xcc, 0xcd, 0xce, 0xcf, 0xd0,
	    0xd3, 0xde, 0xdf, 0xe0, 0xff };
	uint8_t			 m[32];
	size_t			 h, i, k, n;

	for (h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
		n = heads[h].len;
		ck_assert_uint_le(n, sizeof(m));
		for (i = 0; i <= n; i++)
			same_head((const uint8_t *)heads[h].bytes, i,
			    "truncated", i);
		for (i = 0; i < n; i++) {
			for (k = 0; k < sizeof(vals); k++) {
				memcpy(m, heads[h].bytes, n);
				m[i] = vals[k];
				same_head(m, n, "byte", i);
			}
		}
	}
}
END_TEST

static Suite *
clientlib_suite(void)
{
	Suite	*s = suite_create("clientlib");
	TCase	*tc = tcase_create("answers");

	/* the mutation loops, under a sanitizer on a loaded machine */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_check_sample);
	tcase_add_test(tc, test_check_mutations);
	tcase_add_test(tc, test_check_cases);
	tcase_add_test(tc, test_check_depth);
	tcase_add_test(tc, test_check_utf8_table);
	tcase_add_test(tc, test_check_map_fields);
	tcase_add_test(tc, test_read_head);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(clientlib_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
