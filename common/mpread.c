/* mpread.c: bounded, allocation-free reader for untrusted msgpack. */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common.h"

/*
 * msgpack-c's unpacker believes whatever a header claims (an array header
 * of five bytes can make it allocate ~96 GB), so untrusted bytes only ever
 * go through this reader.  Each declared length is compared with the bytes
 * that are really left before it is used: a string or binary must fit, an
 * array of n values needs at least n bytes (every value is at least one
 * byte), a map 2n.  The first error is sticky, so a decoder may check once
 * at the end of a run of calls and cannot act on a half-read value.
 *
 * Integers: mpr_peek reports MPR_UINT for the unsigned encodings (positive
 * fixint, uint 8..64) and MPR_INT for the signed ones (negative fixint,
 * int 8..64), whatever the value.  mpr_uint and mpr_int accept both kinds
 * of encoding whenever the value fits the result.
 */

static int
mpr_fail(struct mpr *r)
{
	r->err = BATON_EMALFORMED;
	return (BATON_EMALFORMED);
}

static uint64_t
be_read(const uint8_t *p, size_t n)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return (v);
}

/* Consume n bytes, or fail if fewer are left. */
static int
mpr_take(struct mpr *r, size_t n, const uint8_t **out)
{
	if (r->err != 0)
		return (r->err);
	if ((size_t)(r->end - r->p) < n)
		return (mpr_fail(r));
	if (out != NULL)
		*out = r->p;
	r->p += n;
	return (0);
}

/* Consume an n-byte big-endian number. */
static int
mpr_take_be(struct mpr *r, size_t n, uint64_t *v)
{
	const uint8_t	*p;

	if (mpr_take(r, n, &p) != 0)
		return (r->err);
	*v = be_read(p, n);
	return (0);
}

static int
mpr_byte(struct mpr *r, uint8_t *b)
{
	const uint8_t	*p;

	if (mpr_take(r, 1, &p) != 0)
		return (r->err);
	*b = *p;
	return (0);
}

void
mpr_init(struct mpr *r, const void *buf, size_t len)
{
	r->err = 0;
	if (buf == NULL) {
		/* no arithmetic on NULL, even + 0 */
		r->p = r->end = NULL;
		if (len != 0)
			r->err = BATON_EMALFORMED;
		return;
	}
	r->p = buf;
	r->end = r->p + len;
}

size_t
mpr_remaining(const struct mpr *r)
{
	if (r->err != 0)
		return (0);
	return ((size_t)(r->end - r->p));
}

int
mpr_done(const struct mpr *r)
{
	if (r->err != 0)
		return (r->err);
	if (r->p != r->end)
		return (BATON_EMALFORMED);
	return (0);
}

enum mpr_type
mpr_peek(const struct mpr *r)
{
	uint8_t	b;

	if (r->err != 0)
		return (MPR_INVALID);
	if (r->p == r->end)
		return (MPR_END);
	b = *r->p;
	if (b <= 0x7f)
		return (MPR_UINT);
	if (b <= 0x8f)
		return (MPR_MAP);
	if (b <= 0x9f)
		return (MPR_ARRAY);
	if (b <= 0xbf)
		return (MPR_STR);
	if (b >= 0xe0)
		return (MPR_INT);
	switch (b) {
	case 0xc0:
		return (MPR_NIL);
	case 0xc2:
	case 0xc3:
		return (MPR_BOOL);
	case 0xc4:
	case 0xc5:
	case 0xc6:
		return (MPR_BIN);
	case 0xc7:
	case 0xc8:
	case 0xc9:
	case 0xd4:
	case 0xd5:
	case 0xd6:
	case 0xd7:
	case 0xd8:
		return (MPR_EXT);
	case 0xca:
	case 0xcb:
		return (MPR_FLOAT);
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf:
		return (MPR_UINT);
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3:
		return (MPR_INT);
	case 0xd9:
	case 0xda:
	case 0xdb:
		return (MPR_STR);
	case 0xdc:
	case 0xdd:
		return (MPR_ARRAY);
	case 0xde:
	case 0xdf:
		return (MPR_MAP);
	}
	return (MPR_INVALID);	/* 0xc1, never used */
}

int
mpr_nil(struct mpr *r)
{
	uint8_t	b;

	if (mpr_byte(r, &b) != 0)
		return (r->err);
	if (b != 0xc0)
		return (mpr_fail(r));
	return (0);
}

int
mpr_bool(struct mpr *r, int *v)
{
	uint8_t	b;

	if (mpr_byte(r, &b) != 0)
		return (r->err);
	if (b != 0xc2 && b != 0xc3)
		return (mpr_fail(r));
	*v = (b == 0xc3);
	return (0);
}

/*
 * Any integer encoding.  Unsigned encodings come back in *u with *neg 0;
 * signed ones in *s with *neg set to whether the value is negative (a
 * non-negative value in a signed encoding is also stored in *u).
 */
static int
mpr_integer(struct mpr *r, uint64_t *u, int64_t *s, int *neg)
{
	uint8_t		b;
	uint64_t	v;
	size_t		width;

	if (mpr_byte(r, &b) != 0)
		return (r->err);
	*neg = 0;
	if (b <= 0x7f) {
		*u = b;
		return (0);
	}
	if (b >= 0xe0) {
		*s = (int8_t)b;
		*neg = 1;
		return (0);
	}
	switch (b) {
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
		if (mpr_take_be(r, (size_t)1 << (b - 0xcc), u) != 0)
			return (r->err);
		return (0);
	case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		width = (size_t)1 << (b - 0xd0);
		if (mpr_take_be(r, width, &v) != 0)
			return (r->err);
		/* sign-extend from width bytes */
		switch (width) {
		case 1:
			*s = (int8_t)(uint8_t)v;
			break;
		case 2:
			*s = (int16_t)(uint16_t)v;
			break;
		case 4:
			*s = (int32_t)(uint32_t)v;
			break;
		default:
			*s = (int64_t)v;
			break;
		}
		if (*s < 0)
			*neg = 1;
		else
			*u = (uint64_t)*s;
		return (0);
	}
	return (mpr_fail(r));
}

int
mpr_uint(struct mpr *r, uint64_t *out)
{
	uint64_t	u = 0;
	int64_t		s = 0;
	int		neg;

	if (mpr_integer(r, &u, &s, &neg) != 0)
		return (r->err);
	if (neg)
		return (mpr_fail(r));
	*out = u;
	return (0);
}

int
mpr_int(struct mpr *r, int64_t *out)
{
	uint64_t	u = 0;
	int64_t		s = 0;
	int		neg;

	if (mpr_integer(r, &u, &s, &neg) != 0)
		return (r->err);
	if (neg) {
		*out = s;
		return (0);
	}
	if (u > INT64_MAX)
		return (mpr_fail(r));
	*out = (int64_t)u;
	return (0);
}

/*
 * Length of a str (want_str) or bin header; the body must be there.
 * Every string of a request and a token comes through here, so it works
 * on the pointers directly: header, length and body are each checked
 * against what is left before anything is read.
 */
static int
mpr_blob(struct mpr *r, int want_str, const uint8_t **p, uint32_t *len)
{
	const uint8_t	*q = r->p;
	uint64_t	 n = 0;
	size_t		 width, left;
	uint8_t		 b;

	if (r->err != 0)
		return (r->err);
	left = (size_t)(r->end - q);
	if (left == 0)
		return (mpr_fail(r));
	b = q[0];
	if (want_str && b >= 0xa0 && b <= 0xbf) {
		n = b & 0x1f;
		width = 0;
	} else if (want_str && b >= 0xd9 && b <= 0xdb)
		width = (size_t)1 << (b - 0xd9);
	else if (!want_str && b >= 0xc4 && b <= 0xc6)
		width = (size_t)1 << (b - 0xc4);
	else
		return (mpr_fail(r));
	if (width >= left)		/* the header is 1 + width bytes */
		return (mpr_fail(r));
	if (width != 0)
		n = be_read(q + 1, width);
	q += 1 + width;
	left -= 1 + width;
	if (n > left)
		return (mpr_fail(r));
	*p = q;
	*len = (uint32_t)n;
	r->p = q + n;
	return (0);
}

int
mpr_str(struct mpr *r, const char **s, uint32_t *len)
{
	const uint8_t	*p;

	if (mpr_blob(r, 1, &p, len) != 0)
		return (r->err);
	*s = (const char *)p;
	return (0);
}

int
mpr_bin(struct mpr *r, const uint8_t **p, uint32_t *len)
{
	return (mpr_blob(r, 0, p, len));
}

int
mpr_bin_exact(struct mpr *r, const uint8_t **p, uint32_t want)
{
	uint32_t	len;

	if (mpr_blob(r, 0, p, &len) != 0)
		return (r->err);
	if (len != want)
		return (mpr_fail(r));
	return (0);
}

/*
 * Container header.  The count is believed only if that many one-byte
 * values (times per_entry) could still follow.
 */
static int
mpr_container(struct mpr *r, int map, uint32_t *count)
{
	uint8_t		b;
	uint64_t	n;

	if (mpr_byte(r, &b) != 0)
		return (r->err);
	if (!map && b >= 0x90 && b <= 0x9f)
		n = b & 0x0f;
	else if (map && b >= 0x80 && b <= 0x8f)
		n = b & 0x0f;
	else if ((!map && b == 0xdc) || (map && b == 0xde)) {
		if (mpr_take_be(r, 2, &n) != 0)
			return (r->err);
	} else if ((!map && b == 0xdd) || (map && b == 0xdf)) {
		if (mpr_take_be(r, 4, &n) != 0)
			return (r->err);
	} else
		return (mpr_fail(r));
	if ((map ? 2 * n : n) > (uint64_t)(r->end - r->p))
		return (mpr_fail(r));
	*count = (uint32_t)n;
	return (0);
}

int
mpr_array(struct mpr *r, uint32_t *n)
{
	return (mpr_container(r, 0, n));
}

int
mpr_map(struct mpr *r, uint32_t *n)
{
	return (mpr_container(r, 1, n));
}

/*
 * Skip one whole value without recursion: left[d] counts the values still
 * to skip at nesting level d.  Opening a container deeper than
 * BATON_MAX_NEST levels fails, even an empty one.
 */
int
mpr_skip(struct mpr *r)
{
	uint64_t	left[BATON_MAX_NEST + 1];
	uint64_t	n;
	uint32_t	len, cnt;
	const uint8_t	*p;
	const char	*sp;
	int		d = 0;
	int64_t		s;
	int		b;
	uint8_t		t;

	if (r->err != 0)
		return (r->err);
	left[0] = 1;
	while (d >= 0) {
		if (left[d] == 0) {
			d--;
			continue;
		}
		left[d]--;
		switch (mpr_peek(r)) {
		case MPR_NIL:
			if (mpr_nil(r) != 0)
				return (r->err);
			break;
		case MPR_BOOL:
			if (mpr_bool(r, &b) != 0)
				return (r->err);
			break;
		case MPR_UINT:
			if (mpr_uint(r, &n) != 0)
				return (r->err);
			break;
		case MPR_INT:
			/* a signed encoding may hold a non-negative value */
			if (mpr_int(r, &s) != 0)
				return (r->err);
			break;
		case MPR_FLOAT:
			if (mpr_take(r, *r->p == 0xca ? 5 : 9, NULL) != 0)
				return (r->err);
			break;
		case MPR_STR:
			if (mpr_str(r, &sp, &len) != 0)
				return (r->err);
			break;
		case MPR_BIN:
			if (mpr_bin(r, &p, &len) != 0)
				return (r->err);
			break;
		case MPR_EXT:
			if (mpr_byte(r, &t) != 0)
				return (r->err);
			if (t >= 0xd4 && t <= 0xd8)
				n = (uint64_t)1 << (t - 0xd4);
			else if (mpr_take_be(r, (size_t)1 << (t - 0xc7),
			    &n) != 0)
				return (r->err);
			/* one type byte, then the data */
			if (n > UINT64_MAX - 1 ||
			    n + 1 > (uint64_t)(r->end - r->p))
				return (mpr_fail(r));
			if (mpr_take(r, (size_t)n + 1, NULL) != 0)
				return (r->err);
			break;
		case MPR_ARRAY:
		case MPR_MAP:
			if (d + 1 > BATON_MAX_NEST)
				return (mpr_fail(r));
			if (mpr_peek(r) == MPR_ARRAY) {
				if (mpr_array(r, &cnt) != 0)
					return (r->err);
				n = cnt;
			} else {
				if (mpr_map(r, &cnt) != 0)
					return (r->err);
				n = 2 * (uint64_t)cnt;
			}
			left[++d] = n;
			break;
		default:
			return (mpr_fail(r));
		}
	}
	return (0);
}
