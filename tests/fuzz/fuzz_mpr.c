/* fuzz_mpr.c: the bounded msgpack reader on arbitrary bytes, vs msgpack-c. */

#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "fuzz.h"

#define WALK_DEPTH	64

struct walk {
	struct mpr	 r;
	const uint8_t	*buf, *end;
	uint32_t	 rng;
};

/* Decisions come from the first input byte, stretched by an LCG. */
static unsigned
pick(struct walk *w, unsigned n)
{
	w->rng = w->rng * 1103515245u + 12345u;
	return ((w->rng >> 16) % n);
}

static void
in_input(struct walk *w, const void *p, uint32_t len)
{
	const uint8_t	*q = p;

	FUZZ_ASSERT(len == 0 || (q >= w->buf && q + len <= w->end));
}

/* After the first error every call fails and nothing moves. */
static void
check_sticky(struct mpr *r)
{
	const uint8_t	*p0 = r->p;
	const char	*s;
	const uint8_t	*b;
	uint64_t	 u;
	int64_t		 i;
	uint32_t	 n;
	int		 v;

	FUZZ_ASSERT(r->err != 0);
	FUZZ_ASSERT(mpr_peek(r) == MPR_INVALID);
	FUZZ_ASSERT(mpr_remaining(r) == 0);
	FUZZ_ASSERT(mpr_done(r) != 0);
	FUZZ_ASSERT(mpr_nil(r) != 0 && mpr_bool(r, &v) != 0);
	FUZZ_ASSERT(mpr_uint(r, &u) != 0 && mpr_int(r, &i) != 0);
	FUZZ_ASSERT(mpr_str(r, &s, &n) != 0 && mpr_bin(r, &b, &n) != 0);
	FUZZ_ASSERT(mpr_array(r, &n) != 0 && mpr_map(r, &n) != 0);
	FUZZ_ASSERT(mpr_skip(r) != 0 && mpr_bin_exact(r, &b, 16) != 0);
	FUZZ_ASSERT(r->p == p0);
}

/* Read one value with the reader its type calls for (or a wrong one). */
static int
read_one(struct walk *w, uint64_t *children)
{
	struct mpr	*r = &w->r;
	enum mpr_type	 t = mpr_peek(r);
	size_t		 before = mpr_remaining(r);
	const char	*s;
	const uint8_t	*b;
	uint64_t	 u;
	int64_t		 i;
	uint32_t	 n;
	int		 v, rc;

	*children = 0;
	if (pick(w, 16) == 0)
		/* now and then, the wrong reader for the type */
		t = (enum mpr_type)pick(w, MPR_INVALID);
	switch (t) {
	case MPR_NIL:
		rc = mpr_nil(r);
		break;
	case MPR_BOOL:
		rc = mpr_bool(r, &v);
		break;
	case MPR_UINT:
		rc = mpr_uint(r, &u);
		break;
	case MPR_INT:
		rc = mpr_int(r, &i);
		break;
	case MPR_STR:
		if ((rc = mpr_str(r, &s, &n)) == 0) {
			in_input(w, s, n);
			FUZZ_ASSERT(n < before);
		}
		break;
	case MPR_BIN:
		if (pick(w, 4) == 0) {
			n = pick(w, 20);
			rc = mpr_bin_exact(r, &b, n);
		} else
			rc = mpr_bin(r, &b, &n);
		if (rc == 0)
			in_input(w, b, n);
		break;
	case MPR_ARRAY:
		if ((rc = mpr_array(r, &n)) == 0) {
			FUZZ_ASSERT(n <= mpr_remaining(r));
			*children = n;
		}
		break;
	case MPR_MAP:
		if ((rc = mpr_map(r, &n)) == 0) {
			FUZZ_ASSERT(2 * (uint64_t)n <= mpr_remaining(r));
			*children = 2 * (uint64_t)n;
		}
		break;
	default:
		rc = mpr_skip(r);
		break;
	}
	if (rc != 0)
		check_sticky(r);
	else
		FUZZ_ASSERT(mpr_remaining(r) < before);
	return (rc);
}

/* A generic walk: descend or skip at random, up to WALK_DEPTH levels. */
static void
walk(struct walk *w)
{
	uint64_t	left[WALK_DEPTH], kids;
	int		d = 0;

	left[0] = 1;
	while (d >= 0) {
		if (left[d] == 0) {
			d--;
			continue;
		}
		left[d]--;
		if (mpr_peek(&w->r) == MPR_END)
			return;
		if (pick(w, 4) == 0) {
			if (mpr_skip(&w->r) != 0) {
				check_sticky(&w->r);
				return;
			}
			continue;
		}
		if (read_one(w, &kids) != 0)
			return;
		if (kids > 0) {
			if (d + 1 == WALK_DEPTH)
				return;
			left[++d] = kids;
		}
	}
}

/*
 * Where the bounded reader accepts a value, msgpack-c (safe to call then:
 * every count has been checked against the input) must read the same
 * number of bytes.
 */
static void
compare(const uint8_t *buf, size_t len)
{
	struct mpr		r;
	msgpack_unpacked	u;
	msgpack_unpack_return	ret;
	size_t			off = 0, used;

	mpr_init(&r, buf, len);
	if (mpr_skip(&r) != 0)
		return;
	used = len - mpr_remaining(&r);
	msgpack_unpacked_init(&u);
	ret = msgpack_unpack_next(&u, (const char *)buf, len, &off);
	FUZZ_ASSERT(ret == MSGPACK_UNPACK_SUCCESS);
	FUZZ_ASSERT(off == used);
	msgpack_unpacked_destroy(&u);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct walk	w;

	if (size < 1)
		return (0);
	w.rng = data[0];
	w.buf = data + 1;
	w.end = data + size;
	mpr_init(&w.r, w.buf, size - 1);
	walk(&w);
	compare(data + 1, size - 1);
	return (0);
}
