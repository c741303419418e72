/* check_mpread.c: Check suite for the bounded msgpack reader (mpread.c). */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <msgpack.h>

#include "common.h"
#include "testutil.h"

#define B(...)	((const uint8_t[]){ __VA_ARGS__ })
#define RD(r, ...) \
	mpr_init((r), B(__VA_ARGS__), sizeof(B(__VA_ARGS__)))

/* ---- scalars ------------------------------------------------------------ */

START_TEST(test_nil_bool)
{
	struct mpr	r;
	int		b = -1;

	RD(&r, 0xc0, 0xc2, 0xc3);
	ck_assert_int_eq(mpr_peek(&r), MPR_NIL);
	ck_assert_int_eq(mpr_nil(&r), 0);
	ck_assert_int_eq(mpr_peek(&r), MPR_BOOL);
	ck_assert_int_eq(mpr_bool(&r, &b), 0);
	ck_assert_int_eq(b, 0);
	ck_assert_int_eq(mpr_bool(&r, &b), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(mpr_peek(&r), MPR_END);
	ck_assert_int_eq(mpr_done(&r), 0);

	RD(&r, 0x01);
	ck_assert_int_eq(mpr_bool(&r, &b), BATON_EMALFORMED);
	RD(&r, 0xc2);
	ck_assert_int_eq(mpr_nil(&r), BATON_EMALFORMED);
}
END_TEST

struct int_case {
	uint8_t		 in[9];
	size_t		 len;
	enum mpr_type	 type;
	int		 uint_ok;
	uint64_t	 u;
	int		 int_ok;
	int64_t		 i;
};

static const struct int_case int_cases[] = {
	{ { 0x00 }, 1, MPR_UINT, 1, 0, 1, 0 },
	{ { 0x7f }, 1, MPR_UINT, 1, 127, 1, 127 },
	{ { 0xcc, 0xff }, 2, MPR_UINT, 1, 255, 1, 255 },
	{ { 0xcd, 0x01, 0x00 }, 3, MPR_UINT, 1, 256, 1, 256 },
	{ { 0xce, 0xff, 0xff, 0xff, 0xff }, 5, MPR_UINT, 1, 0xffffffffu, 1,
	    0xffffffffll },
	{ { 0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 9,
	    MPR_UINT, 1, INT64_MAX, 1, INT64_MAX },
	{ { 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 9,
	    MPR_UINT, 1, UINT64_MAX, 0, 0 },
	{ { 0xe0 }, 1, MPR_INT, 0, 0, 1, -32 },
	{ { 0xff }, 1, MPR_INT, 0, 0, 1, -1 },
	{ { 0xd0, 0x80 }, 2, MPR_INT, 0, 0, 1, -128 },
	{ { 0xd0, 0x05 }, 2, MPR_INT, 1, 5, 1, 5 },	/* non-negative */
	{ { 0xd1, 0x80, 0x00 }, 3, MPR_INT, 0, 0, 1, -32768 },
	{ { 0xd1, 0x7f, 0xff }, 3, MPR_INT, 1, 32767, 1, 32767 },
	{ { 0xd2, 0x80, 0x00, 0x00, 0x00 }, 5, MPR_INT, 0, 0, 1, INT32_MIN },
	{ { 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0 }, 9, MPR_INT, 0, 0, 1,
	    INT64_MIN },
	{ { 0xd3, 0, 0, 0, 0, 0, 0, 0, 0x2a }, 9, MPR_INT, 1, 42, 1, 42 },
};

START_TEST(test_ints)
{
	const struct int_case	*c = &int_cases[_i];
	struct mpr		 r;
	uint64_t		 u = 0;
	int64_t			 i = 0;

	mpr_init(&r, c->in, c->len);
	ck_assert_int_eq(mpr_peek(&r), c->type);
	ck_assert_int_eq(mpr_uint(&r, &u), c->uint_ok ? 0 : BATON_EMALFORMED);
	if (c->uint_ok) {
		ck_assert_uint_eq(u, c->u);
		ck_assert_int_eq(mpr_done(&r), 0);
	}
	mpr_init(&r, c->in, c->len);
	ck_assert_int_eq(mpr_int(&r, &i), c->int_ok ? 0 : BATON_EMALFORMED);
	if (c->int_ok) {
		ck_assert_int_eq(i, c->i);
		ck_assert_int_eq(mpr_done(&r), 0);
	}
	mpr_init(&r, c->in, c->len);
	ck_assert_int_eq(mpr_skip(&r), 0);
	ck_assert_int_eq(mpr_done(&r), 0);
}
END_TEST

/* Packer output for every width round-trips through the reader. */
START_TEST(test_ints_packer)
{
	static const int64_t	 vals[] = { INT64_MIN, INT32_MIN - 1LL,
	    INT32_MIN, -32769, -32768, -129, -128, -33, -32, -1, 0, 1, 127,
	    128, 255, 256, 65535, 65536, 0xffffffffLL, 0x100000000LL,
	    INT64_MAX };
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	struct mpr		 r;
	size_t			 k;
	int64_t			 i;
	uint64_t		 u;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	for (k = 0; k < sizeof(vals) / sizeof(vals[0]); k++)
		msgpack_pack_int64(&pk, vals[k]);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	mpr_init(&r, sb.data, sb.size);
	for (k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
		ck_assert_int_eq(mpr_int(&r, &i), 0);
		ck_assert_int_eq(i, vals[k]);
	}
	ck_assert_int_eq(mpr_uint(&r, &u), 0);
	ck_assert_uint_eq(u, UINT64_MAX);
	ck_assert_int_eq(mpr_done(&r), 0);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(test_float_ext_not_typed)
{
	struct mpr	r;
	uint64_t	u;
	int64_t		i;
	const char	*s;
	const uint8_t	*p;
	uint32_t	len;

	RD(&r, 0xca, 0, 0, 0, 0);
	ck_assert_int_eq(mpr_peek(&r), MPR_FLOAT);
	ck_assert_int_eq(mpr_uint(&r, &u), BATON_EMALFORMED);
	RD(&r, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0);
	ck_assert_int_eq(mpr_peek(&r), MPR_FLOAT);
	ck_assert_int_eq(mpr_int(&r, &i), BATON_EMALFORMED);
	RD(&r, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0);
	ck_assert_int_eq(mpr_skip(&r), 0);
	ck_assert_int_eq(mpr_done(&r), 0);
	RD(&r, 0xcb, 0, 0, 0, 0, 0, 0, 0);	/* one short */
	ck_assert_int_eq(mpr_skip(&r), BATON_EMALFORMED);

	RD(&r, 0xd4, 0x01, 0x02);
	ck_assert_int_eq(mpr_peek(&r), MPR_EXT);
	ck_assert_int_eq(mpr_bin(&r, &p, &len), BATON_EMALFORMED);
	RD(&r, 0xd4, 0x01, 0x02);
	ck_assert_int_eq(mpr_str(&r, &s, &len), BATON_EMALFORMED);
	RD(&r, 0xc1);
	ck_assert_int_eq(mpr_peek(&r), MPR_INVALID);
	ck_assert_int_eq(mpr_skip(&r), BATON_EMALFORMED);
}
END_TEST

/* Every ext form is skipped exactly, and a short one is refused. */
START_TEST(test_ext_skip)
{
	static const struct {
		uint8_t	hdr[6];
		size_t	hlen, body;
	} c[] = {
		{ { 0xd4, 0x01 }, 2, 1 }, { { 0xd5, 0x01 }, 2, 2 },
		{ { 0xd6, 0x01 }, 2, 4 }, { { 0xd7, 0x01 }, 2, 8 },
		{ { 0xd8, 0x01 }, 2, 16 },
		{ { 0xc7, 0x03, 0x01 }, 3, 3 },
		{ { 0xc8, 0x01, 0x00, 0x01 }, 4, 256 },
		{ { 0xc9, 0x00, 0x00, 0x00, 0x05, 0x01 }, 6, 5 },
	};
	uint8_t		buf[512];
	struct mpr	r;
	size_t		k, n;

	for (k = 0; k < sizeof(c) / sizeof(c[0]); k++) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf, c[k].hdr, c[k].hlen);
		n = c[k].hlen + c[k].body;
		buf[n] = 0xc0;
		mpr_init(&r, buf, n + 1);
		ck_assert_int_eq(mpr_peek(&r), MPR_EXT);
		ck_assert_int_eq(mpr_skip(&r), 0);
		ck_assert_int_eq(mpr_nil(&r), 0);
		ck_assert_int_eq(mpr_done(&r), 0);
		mpr_init(&r, buf, n - 1);
		ck_assert_int_eq(mpr_skip(&r), BATON_EMALFORMED);
	}
	/* ext32 claiming 4 GiB */
	RD(&r, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00);
	ck_assert_int_eq(mpr_skip(&r), BATON_EMALFORMED);
}
END_TEST

/* ---- strings and binaries --------------------------------------------- */

static const size_t blob_lens[] = { 0, 1, 31, 32, 255, 256, 65535, 65536,
    70000 };

START_TEST(test_str_widths)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	struct mpr	 r;
	char		*body;
	const char	*s;
	uint32_t	 len;
	size_t		 n = blob_lens[_i];

	body = malloc(n + 1);
	ck_assert_ptr_nonnull(body);
	memset(body, 'x', n);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_str(&pk, n);
	msgpack_pack_str_body(&pk, body, n);
	mpr_init(&r, sb.data, sb.size);
	ck_assert_int_eq(mpr_peek(&r), MPR_STR);
	ck_assert_int_eq(mpr_str(&r, &s, &len), 0);
	ck_assert_uint_eq(len, n);
	ck_assert_int_eq(memcmp(s, body, n), 0);
	ck_assert_int_eq(mpr_done(&r), 0);
	/* a str is not a bin */
	mpr_init(&r, sb.data, sb.size);
	ck_assert_int_eq(mpr_bin(&r, (const uint8_t **)&s, &len),
	    BATON_EMALFORMED);
	/* one byte short of the declared length */
	mpr_init(&r, sb.data, sb.size - 1);
	if (n > 0) {
		ck_assert_int_eq(mpr_str(&r, &s, &len), BATON_EMALFORMED);
		mpr_init(&r, sb.data, sb.size - 1);
		ck_assert_int_eq(mpr_skip(&r), BATON_EMALFORMED);
	}
	msgpack_sbuffer_destroy(&sb);
	free(body);
}
END_TEST

START_TEST(test_bin_widths)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	struct mpr	 r;
	uint8_t		*body;
	const uint8_t	*p;
	uint32_t	 len;
	size_t		 n = blob_lens[_i];

	body = malloc(n + 1);
	ck_assert_ptr_nonnull(body);
	memset(body, 0xab, n);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_bin(&pk, n);
	msgpack_pack_bin_body(&pk, body, n);
	mpr_init(&r, sb.data, sb.size);
	ck_assert_int_eq(mpr_peek(&r), MPR_BIN);
	ck_assert_int_eq(mpr_bin(&r, &p, &len), 0);
	ck_assert_uint_eq(len, n);
	ck_assert_int_eq(memcmp(p, body, n), 0);
	ck_assert_int_eq(mpr_done(&r), 0);
	mpr_init(&r, sb.data, sb.size);
	ck_assert_int_eq(mpr_bin_exact(&r, &p, (uint32_t)n), 0);
	mpr_init(&r, sb.data, sb.size);
	ck_assert_int_eq(mpr_bin_exact(&r, &p, (uint32_t)n + 1),
	    BATON_EMALFORMED);
	mpr_init(&r, sb.data, sb.size);
	ck_assert_int_eq(mpr_skip(&r), 0);
	ck_assert_int_eq(mpr_done(&r), 0);
	if (n > 0) {
		mpr_init(&r, sb.data, sb.size - 1);
		ck_assert_int_eq(mpr_bin(&r, &p, &len), BATON_EMALFORMED);
	}
	msgpack_sbuffer_destroy(&sb);
	free(body);
}
END_TEST

/* Hand-written str8 and bin8 forms, which old packers never emit. */
START_TEST(test_str8_fixstr)
{
	struct mpr	 r;
	const char	*s;
	uint32_t	 len;

	RD(&r, 0xd9, 0x02, 'h', 'i', 0xa2, 'h', 'o', 0xda, 0x00, 0x00,
	    0xdb, 0x00, 0x00, 0x00, 0x01, 'z');
	ck_assert_int_eq(mpr_str(&r, &s, &len), 0);
	ck_assert(len == 2 && memcmp(s, "hi", 2) == 0);
	ck_assert_int_eq(mpr_str(&r, &s, &len), 0);
	ck_assert(len == 2 && memcmp(s, "ho", 2) == 0);
	ck_assert_int_eq(mpr_str(&r, &s, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(mpr_str(&r, &s, &len), 0);
	ck_assert(len == 1 && s[0] == 'z');
	ck_assert_int_eq(mpr_done(&r), 0);
}
END_TEST

/* Lengths far beyond the input are refused before anything else. */
START_TEST(test_blob_bombs)
{
	struct mpr	 r;
	const char	*s;
	const uint8_t	*p;
	uint32_t	 len;

	RD(&r, 0xdb, 0xff, 0xff, 0xff, 0xff, 'a');
	ck_assert_int_eq(mpr_str(&r, &s, &len), BATON_EMALFORMED);
	RD(&r, 0xdb, 0xff, 0xff, 0xff, 0xff, 'a');
	ck_assert_int_eq(mpr_skip(&r), BATON_EMALFORMED);
	RD(&r, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00);
	ck_assert_int_eq(mpr_bin(&r, &p, &len), BATON_EMALFORMED);
	RD(&r, 0xc6, 0x80, 0x00, 0x00, 0x00);
	ck_assert_int_eq(mpr_skip(&r), BATON_EMALFORMED);
	RD(&r, 0xc5, 0xff, 0xff);
	ck_assert_int_eq(mpr_bin(&r, &p, &len), BATON_EMALFORMED);
	RD(&r, 0xda, 0x00, 0x02, 'a');
	ck_assert_int_eq(mpr_str(&r, &s, &len), BATON_EMALFORMED);
	RD(&r, 0xbf, 'a');
	ck_assert_int_eq(mpr_str(&r, &s, &len), BATON_EMALFORMED);
}
END_TEST

/* ---- containers --------------------------------------------------------- */

START_TEST(test_containers)
{
	struct mpr	r;
	uint32_t	n;

	RD(&r, 0x92, 0x01, 0x02);
	ck_assert_int_eq(mpr_peek(&r), MPR_ARRAY);
	ck_assert_int_eq(mpr_array(&r, &n), 0);
	ck_assert_uint_eq(n, 2);
	RD(&r, 0xdc, 0x00, 0x01, 0xc0);
	ck_assert_int_eq(mpr_array(&r, &n), 0);
	ck_assert_uint_eq(n, 1);
	RD(&r, 0xdd, 0x00, 0x00, 0x00, 0x02, 0xc0, 0xc0);
	ck_assert_int_eq(mpr_array(&r, &n), 0);
	ck_assert_uint_eq(n, 2);
	RD(&r, 0x81, 0x01, 0x02);
	ck_assert_int_eq(mpr_peek(&r), MPR_MAP);
	ck_assert_int_eq(mpr_map(&r, &n), 0);
	ck_assert_uint_eq(n, 1);
	RD(&r, 0xde, 0x00, 0x01, 0x01, 0x02);
	ck_assert_int_eq(mpr_map(&r, &n), 0);
	ck_assert_uint_eq(n, 1);
	RD(&r, 0xdf, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02);
	ck_assert_int_eq(mpr_map(&r, &n), 0);
	ck_assert_uint_eq(n, 1);
	/* an array is not a map and vice versa */
	RD(&r, 0x90);
	ck_assert_int_eq(mpr_map(&r, &n), BATON_EMALFORMED);
	RD(&r, 0x80);
	ck_assert_int_eq(mpr_array(&r, &n), BATON_EMALFORMED);
	RD(&r, 0x90, 0x80);
	ck_assert_int_eq(mpr_array(&r, &n), 0);
	ck_assert_int_eq(mpr_map(&r, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(mpr_done(&r), 0);
}
END_TEST

/* Counts that could make a naive unpacker allocate gigabytes. */
START_TEST(test_count_bombs)
{
	struct mpr	r;
	uint32_t	n;

	RD(&r, 0xdd, 0xff, 0x00, 0x00, 0x00);
	ck_assert_int_eq(mpr_array(&r, &n), BATON_EMALFORMED);
	RD(&r, 0xdd, 0xff, 0x00, 0x00, 0x00);
	ck_assert_int_eq(mpr_skip(&r), BATON_EMALFORMED);
	RD(&r, 0xdc, 0xff, 0xff);
	ck_assert_int_eq(mpr_array(&r, &n), BATON_EMALFORMED);
	RD(&r, 0xdf, 0xff, 0xff, 0xff, 0xff);
	ck_assert_int_eq(mpr_map(&r, &n), BATON_EMALFORMED);
	RD(&r, 0xdf, 0x7f, 0xff, 0xff, 0xff, 0x00, 0x00);
	ck_assert_int_eq(mpr_skip(&r), BATON_EMALFORMED);
	RD(&r, 0xde, 0xff, 0xff);
	ck_assert_int_eq(mpr_map(&r, &n), BATON_EMALFORMED);
	/* exactly enough bytes is fine; one fewer is not */
	RD(&r, 0x93, 0x01, 0x02, 0x03);
	ck_assert_int_eq(mpr_array(&r, &n), 0);
	RD(&r, 0x93, 0x01, 0x02);
	ck_assert_int_eq(mpr_array(&r, &n), BATON_EMALFORMED);
	/* a map needs 2n */
	RD(&r, 0x82, 0x01, 0x02, 0x03);
	ck_assert_int_eq(mpr_map(&r, &n), BATON_EMALFORMED);
	RD(&r, 0x82, 0x01, 0x02, 0x03, 0x04);
	ck_assert_int_eq(mpr_map(&r, &n), 0);
	/* a header alone, every width */
	RD(&r, 0xdc, 0x00);
	ck_assert_int_eq(mpr_array(&r, &n), BATON_EMALFORMED);
	RD(&r, 0xdd, 0x00, 0x00, 0x00);
	ck_assert_int_eq(mpr_array(&r, &n), BATON_EMALFORMED);
}
END_TEST

/* nest levels of array (or map) around a nil */
static uint8_t *
nested(size_t nest, int map, size_t *len)
{
	uint8_t	*b;
	size_t	 i, n = 0;

	b = malloc(2 * nest + 1);
	ck_assert_ptr_nonnull(b);
	for (i = 0; i < nest; i++) {
		b[n++] = map ? 0x81 : 0x91;
		if (map)
			b[n++] = 0x01;	/* key, then the nested value */
	}
	b[n++] = 0xc0;
	*len = n;
	return (b);
}

START_TEST(test_skip_nesting)
{
	struct mpr	 r;
	uint8_t		*b;
	size_t		 len;
	int		 map = _i;

	b = nested(BATON_MAX_NEST, map, &len);
	mpr_init(&r, b, len);
	ck_assert_int_eq(mpr_skip(&r), 0);
	ck_assert_int_eq(mpr_done(&r), 0);
	free(b);

	b = nested(BATON_MAX_NEST + 1, map, &len);
	mpr_init(&r, b, len);
	ck_assert_int_eq(mpr_skip(&r), BATON_EMALFORMED);
	free(b);

	/* very deep input is refused without recursion */
	b = nested(100000, map, &len);
	mpr_init(&r, b, len);
	ck_assert_int_eq(mpr_skip(&r), BATON_EMALFORMED);
	free(b);
}
END_TEST

START_TEST(test_skip_empty_too_deep)
{
	struct mpr	r;
	uint8_t		b[BATON_MAX_NEST + 1];

	/* seventeen nested arrays, the innermost empty: still too deep */
	memset(b, 0x91, sizeof(b));
	b[BATON_MAX_NEST] = 0x90;
	mpr_init(&r, b, sizeof(b));
	ck_assert_int_eq(mpr_skip(&r), BATON_EMALFORMED);
	mpr_init(&r, b + 1, sizeof(b) - 1);
	ck_assert_int_eq(mpr_skip(&r), 0);
	ck_assert_int_eq(mpr_done(&r), 0);
}
END_TEST

/* A wide and mixed value: skip consumes exactly it. */
START_TEST(test_skip_mixed)
{
	struct mpr	r;

	RD(&r, 0x84,
	    0x01, 0x93, 0xc0, 0xc3, 0xa1, 'x',
	    0xa1, 'k', 0x82, 0x01, 0xd0, 0xff, 0x02, 0xc4, 0x01, 0x00,
	    0xcc, 0x80, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xe0, 0xd4, 0x01, 0x00,
	    0x2a);
	ck_assert_int_eq(mpr_skip(&r), 0);
	ck_assert_uint_eq(mpr_remaining(&r), 1);
	ck_assert_int_eq(mpr_done(&r), BATON_EMALFORMED);
}
END_TEST

/* ---- truncation, stickiness, trailing bytes ----------------------------- */

START_TEST(test_truncation_every_offset)
{
	static const uint8_t	v[] = { 0x85,
	    0x01, 0xcd, 0x01, 0x00,
	    0x02, 0xc4, 0x03, 'a', 'b', 'c',
	    0x03, 0x92, 0xd9, 0x02, 'h', 'i', 0xd1, 0x80, 0x00,
	    0x04, 0xcf, 1, 2, 3, 4, 5, 6, 7, 8,
	    0x05, 0xc7, 0x02, 0x05, 0xaa, 0xbb };
	struct mpr		r;
	size_t			k;

	for (k = 0; k < sizeof(v); k++) {
		mpr_init(&r, v, k);
		ck_assert_msg(mpr_skip(&r) == BATON_EMALFORMED,
		    "prefix of %zu bytes accepted", k);
	}
	mpr_init(&r, v, sizeof(v));
	ck_assert_int_eq(mpr_skip(&r), 0);
	ck_assert_int_eq(mpr_done(&r), 0);
}
END_TEST

/* Truncated scalars fail in the typed readers too. */
START_TEST(test_truncated_typed)
{
	static const uint8_t	u64[] = { 0xcf, 1, 2, 3, 4, 5, 6, 7, 8 };
	static const uint8_t	i32[] = { 0xd2, 0x80, 0, 0, 1 };
	static const uint8_t	s16[] = { 0xda, 0x00, 0x02, 'o', 'k' };
	struct mpr		r;
	uint64_t		u;
	int64_t			i;
	const char		*s;
	uint32_t		len;
	size_t			k;

	for (k = 0; k < sizeof(u64); k++) {
		mpr_init(&r, u64, k);
		ck_assert_int_eq(mpr_uint(&r, &u), BATON_EMALFORMED);
	}
	for (k = 0; k < sizeof(i32); k++) {
		mpr_init(&r, i32, k);
		ck_assert_int_eq(mpr_int(&r, &i), BATON_EMALFORMED);
	}
	for (k = 0; k < sizeof(s16); k++) {
		mpr_init(&r, s16, k);
		ck_assert_int_eq(mpr_str(&r, &s, &len), BATON_EMALFORMED);
	}
}
END_TEST

/*
 * Every str and bin header width, holding "ok": read whole, then cut at
 * every byte (refused, sticky), and as the other kind (refused).
 */
START_TEST(test_truncated_blobs)
{
	static const uint8_t	 blobs[][8] = {
		{ 0xa2, 'o', 'k' },
		{ 0xd9, 0x02, 'o', 'k' },
		{ 0xda, 0x00, 0x02, 'o', 'k' },
		{ 0xdb, 0x00, 0x00, 0x00, 0x02, 'o', 'k' },
		{ 0xc4, 0x02, 'o', 'k' },
		{ 0xc5, 0x00, 0x02, 'o', 'k' },
		{ 0xc6, 0x00, 0x00, 0x00, 0x02, 'o', 'k' },
	};
	static const size_t	 sizes[] = { 3, 4, 5, 7, 4, 5, 7 };
	struct mpr		 r;
	const uint8_t		*p;
	uint32_t		 len;
	size_t			 i, k;
	int			 str;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		str = i < 4;
		mpr_init(&r, blobs[i], sizes[i]);
		ck_assert_int_eq(str ? mpr_str(&r, (const char **)&p, &len) :
		    mpr_bin(&r, &p, &len), 0);
		ck_assert_uint_eq(len, 2);
		ck_assert_ptr_eq(p, blobs[i] + sizes[i] - 2);
		ck_assert_int_eq(mpr_done(&r), 0);
		mpr_init(&r, blobs[i], sizes[i]);
		ck_assert_int_eq(str ? mpr_bin(&r, &p, &len) :
		    mpr_str(&r, (const char **)&p, &len), BATON_EMALFORMED);
		for (k = 0; k < sizes[i]; k++) {
			mpr_init(&r, blobs[i], k);
			ck_assert_int_eq(str ?
			    mpr_str(&r, (const char **)&p, &len) :
			    mpr_bin(&r, &p, &len), BATON_EMALFORMED);
			ck_assert_int_eq(r.err, BATON_EMALFORMED);
			ck_assert_uint_eq(mpr_remaining(&r), 0);
		}
	}
}
END_TEST

START_TEST(test_sticky)
{
	struct mpr	r;
	uint64_t	u;
	const char	*s;
	uint32_t	len;

	RD(&r, 0xa1, 'x', 0x01, 0xc0);
	ck_assert_int_eq(mpr_uint(&r, &u), BATON_EMALFORMED);	/* a str */
	ck_assert_int_eq(r.err, BATON_EMALFORMED);
	ck_assert_int_eq(mpr_peek(&r), MPR_INVALID);
	ck_assert_int_eq(mpr_str(&r, &s, &len), BATON_EMALFORMED);
	ck_assert_int_eq(mpr_uint(&r, &u), BATON_EMALFORMED);
	ck_assert_int_eq(mpr_nil(&r), BATON_EMALFORMED);
	ck_assert_int_eq(mpr_skip(&r), BATON_EMALFORMED);
	ck_assert_uint_eq(mpr_remaining(&r), 0);
	ck_assert_int_eq(mpr_done(&r), BATON_EMALFORMED);
}
END_TEST

START_TEST(test_done_trailing)
{
	struct mpr	r;
	uint64_t	u;

	RD(&r, 0x01, 0x02);
	ck_assert_int_eq(mpr_uint(&r, &u), 0);
	ck_assert_uint_eq(mpr_remaining(&r), 1);
	ck_assert_int_eq(mpr_done(&r), BATON_EMALFORMED);
	ck_assert_int_eq(mpr_uint(&r, &u), 0);
	ck_assert_int_eq(mpr_done(&r), 0);

	mpr_init(&r, NULL, 0);
	ck_assert_int_eq(mpr_peek(&r), MPR_END);
	ck_assert_int_eq(mpr_done(&r), 0);
	ck_assert_int_eq(mpr_skip(&r), BATON_EMALFORMED);	/* nothing */
	mpr_init(&r, NULL, 1);
	ck_assert_int_eq(mpr_done(&r), BATON_EMALFORMED);
}
END_TEST

static Suite *
mpread_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("mpread");

	tc = tcase_create("scalars");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_nil_bool);
	tcase_add_loop_test(tc, test_ints, 0,
	    sizeof(int_cases) / sizeof(int_cases[0]));
	tcase_add_test(tc, test_ints_packer);
	tcase_add_test(tc, test_float_ext_not_typed);
	tcase_add_test(tc, test_ext_skip);
	suite_add_tcase(s, tc);

	tc = tcase_create("blobs");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_str_widths, 0,
	    sizeof(blob_lens) / sizeof(blob_lens[0]));
	tcase_add_loop_test(tc, test_bin_widths, 0,
	    sizeof(blob_lens) / sizeof(blob_lens[0]));
	tcase_add_test(tc, test_str8_fixstr);
	tcase_add_test(tc, test_blob_bombs);
	suite_add_tcase(s, tc);

	tc = tcase_create("containers");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_containers);
	tcase_add_test(tc, test_count_bombs);
	tcase_add_loop_test(tc, test_skip_nesting, 0, 2);
	tcase_add_test(tc, test_skip_empty_too_deep);
	tcase_add_test(tc, test_skip_mixed);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_truncation_every_offset);
	tcase_add_test(tc, test_truncated_typed);
	tcase_add_test(tc, test_truncated_blobs);
	tcase_add_test(tc, test_sticky);
	tcase_add_test(tc, test_done_trailing);
	suite_add_tcase(s, tc);

	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(mpread_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
