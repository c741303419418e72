/*
 * check_common.c: Check suites for small common/ pieces: the arena and its
 * chunk cache, the wire packers' fast path, the base64url encoder, the
 * jti pool.
 */

#include <sys/wait.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "common.h"
#include "wire.h"

static int
all_zero(const void *p, size_t len)
{
	const unsigned char	*b = p;
	size_t			 i;

	for (i = 0; i < len; i++)
		if (b[i] != 0)
			return (0);
	return (1);
}

/* Allocate n bytes of each size in turn, check zero, scribble over them. */
static void
fill(struct baton_arena *a, const size_t *sizes, size_t n, unsigned char pat)
{
	unsigned char	*p;
	size_t		 i;

	for (i = 0; i < n; i++) {
		p = baton_arena_alloc(a, sizes[i]);
		ck_assert_ptr_nonnull(p);
		ck_assert_msg(all_zero(p, sizes[i]),
		    "allocation %zu of %zu bytes not zeroed", i, sizes[i]);
		memset(p, pat, sizes[i]);
	}
}

START_TEST(test_reuse_zeroed)
{
	static const size_t	 sizes[] = { 1, 7, 100, 1000, 1000, 900, 24 };
	struct baton_arena	*a;
	unsigned char		*first, *again;
	size_t			 before;

	before = baton_arena_cached();
	a = baton_arena_new();
	ck_assert_ptr_nonnull(a);
	first = baton_arena_alloc(a, 16);
	memset(first, 0xa5, 16);
	fill(a, sizes, sizeof(sizes) / sizeof(sizes[0]), 0x5a);
	baton_arena_free(a);
	ck_assert_uint_gt(baton_arena_cached(), before);

	/* the same chunks come back, zeroed where they were written */
	a = baton_arena_new();
	again = baton_arena_alloc(a, 16);
	ck_assert_ptr_eq(again, first);
	ck_assert(all_zero(again, 16));
	fill(a, sizes, sizeof(sizes) / sizeof(sizes[0]), 0x5a);
	baton_arena_free(a);
}
END_TEST

START_TEST(test_many_chunks)
{
	size_t			 sizes[40];
	struct baton_arena	*a;
	size_t			 i, cached;
	int			 round;

	for (i = 0; i < 40; i++)
		sizes[i] = 200 + 37 * i;	/* small and private chunks */
	for (round = 0; round < 3; round++) {
		a = baton_arena_new();
		fill(a, sizes, 40, (unsigned char)(0x11 * (round + 1)));
		baton_arena_free(a);
		cached = baton_arena_cached();
		ck_assert_uint_ge(cached, 1);
		ck_assert_uint_le(cached, 4);	/* bounded, the rest freed */
	}
}
END_TEST

START_TEST(test_large)
{
	static const size_t	 sizes[] = { 1025, 4096, 4097, 65536, 1 << 20 };
	struct baton_arena	*a;
	size_t			 i;
	char			*s;

	for (i = 0; i < 2; i++) {
		a = baton_arena_new();
		fill(a, sizes, sizeof(sizes) / sizeof(sizes[0]), 0xee);
		ck_assert_ptr_null(baton_arena_alloc(a, SIZE_MAX));
		ck_assert_ptr_null(baton_arena_alloc(a, SIZE_MAX - 8));
		s = baton_arena_strndup(a, "abcdef", 3);
		ck_assert_str_eq(s, "abc");
		baton_arena_free(a);
	}
	ck_assert_uint_le(baton_arena_cached(), 4);
}
END_TEST

/*
 * A mark and a rewind, as the broker's token cache uses them: what came
 * before the mark stays as it was (small, private and earlier chunks),
 * what came after is wiped and its chunks go, round after round.
 */
START_TEST(test_rewind)
{
	static const size_t	 pre[] = { 24, 2000, 3000, 500, 64 };
	size_t			 sizes[40], i;
	unsigned char		*keep[5], *p, *first = NULL;
	struct baton_arena	*a;
	struct baton_arena_mark	 m;
	int			 round;

	for (i = 0; i < 40; i++)
		sizes[i] = 200 + 37 * i;	/* new and private chunks */
	a = baton_arena_new();
	for (i = 0; i < 5; i++) {
		keep[i] = baton_arena_alloc(a, pre[i]);
		memset(keep[i], 0x77, pre[i]);
	}
	baton_arena_mark(a, &m);
	for (round = 0; round < 3; round++) {
		p = baton_arena_alloc(a, 100);
		ck_assert(all_zero(p, 100));
		if (first == NULL)
			first = p;
		ck_assert_ptr_eq(p, first);	/* the same place again */
		memset(p, 0xcc, 100);
		fill(a, sizes, 40, 0xcc);
		baton_arena_rewind(a, &m);
		for (i = 0; i < 5; i++)
			ck_assert_msg(memchr(keep[i], 0, pre[i]) == NULL &&
			    keep[i][pre[i] - 1] == 0x77, "allocation %zu "
			    "before the mark changed", i);
		ck_assert(all_zero(first, 100));	/* wiped */
		ck_assert_uint_le(baton_arena_cached(), 4);
	}
	/* nothing allocated since the mark: a rewind changes nothing */
	baton_arena_rewind(a, &m);
	ck_assert(keep[4][0] == 0x77);
	baton_arena_free(a);
}
END_TEST

START_TEST(test_distinct_empty)
{
	struct baton_arena	*a;
	void			*p, *q;

	a = baton_arena_new();
	p = baton_arena_alloc(a, 0);
	q = baton_arena_alloc(a, 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(q);
	ck_assert_ptr_ne(p, q);
	ck_assert_str_eq(baton_arena_strndup(a, NULL, 0), "");
	ck_assert_ptr_null(baton_arena_strndup(a, NULL, 1));
	baton_arena_free(a);
	baton_arena_free(NULL);
	ck_assert_ptr_null(baton_arena_alloc(NULL, 1));
}
END_TEST

/* Each thread has its own cache; many threads at once stay zeroed. */
static void *
worker(void *arg)
{
	static const size_t	 sizes[] = { 8, 300, 1000, 2000, 700, 3000 };
	struct baton_arena	*a;
	unsigned char		 pat = (unsigned char)(uintptr_t)arg;
	int			 i;

	if (baton_arena_cached() != 0)
		return ((void *)(uintptr_t)1);	/* starts with a cache */
	for (i = 0; i < 500; i++) {
		a = baton_arena_new();
		if (a == NULL)
			return ((void *)(uintptr_t)2);
		fill(a, sizes, sizeof(sizes) / sizeof(sizes[0]), pat);
		baton_arena_free(a);
	}
	if (baton_arena_cached() == 0)
		return ((void *)(uintptr_t)3);	/* cached nothing */
	return (NULL);
}

START_TEST(test_threads)
{
	pthread_t		 t[6];
	struct baton_arena	*a;
	size_t			 before;
	void			*res;
	int			 i;

	a = baton_arena_new();
	baton_arena_free(a);
	before = baton_arena_cached();
	ck_assert_uint_ge(before, 1);
	for (i = 0; i < 6; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker,
		    (void *)(uintptr_t)(0x31 + i)), 0);
	for (i = 0; i < 6; i++) {
		ck_assert_int_eq(pthread_join(t[i], &res), 0);
		ck_assert_msg(res == NULL, "worker failed: %d",
		    (int)(uintptr_t)res);
	}
	/* the threads' chunks went with them, not into this cache */
	ck_assert_uint_eq(baton_arena_cached(), before);
}
END_TEST


/* ---- wire packers ------------------------------------------------------ */

/*
 * Pack the same values through baton_pack_* into a wire frame (the fast
 * path writes straight into the buffer) and through plain msgpack into a
 * plain sbuffer: the bytes after the frame header must be the same.  The
 * values fill more than the buffer's first 8 KiB, so growing is crossed
 * at every alignment of the string lengths.
 */
static void
pack_all(msgpack_packer *pk, int useb, const char *buf, size_t round)
{
	size_t	len;

	for (len = 0; len < 300; len++) {
		if (useb) {
			baton_pack_strn(pk, buf, len);
			baton_pack_bin(pk, buf + round, len);
			baton_pack_bool(pk, (int)(len & 1));
		} else {
			msgpack_pack_str(pk, len);
			msgpack_pack_str_body(pk, buf, len);
			msgpack_pack_bin(pk, len);
			msgpack_pack_bin_body(pk, buf + round, len);
			if (len & 1)
				msgpack_pack_true(pk);
			else
				msgpack_pack_false(pk);
		}
	}
	if (useb)
		baton_pack_str(pk, "a plain C string");
	else {
		msgpack_pack_str(pk, 16);
		msgpack_pack_str_body(pk, "a plain C string", 16);
	}
}

START_TEST(test_pack_same_bytes)
{
	msgpack_sbuffer	 wsb, ref, plain;
	msgpack_packer	 wpk, rpk, ppk;
	char		 buf[400];
	size_t		 i, round;

	for (i = 0; i < sizeof buf; i++)
		buf[i] = (char)(i * 7 + 1);
	for (round = 0; round < 5; round++) {
		baton_wire_begin(&wsb, &wpk);
		/* a prefix of round bytes shifts where growing falls */
		for (i = 0; i < round; i++)
			baton_pack_bool(&wpk, 1);
		pack_all(&wpk, 1, buf, round);

		msgpack_sbuffer_init(&ref);
		msgpack_packer_init(&rpk, &ref, msgpack_sbuffer_write);
		for (i = 0; i < round; i++)
			msgpack_pack_true(&rpk);
		pack_all(&rpk, 0, buf, round);

		/* baton_pack_* on someone else's packer: plain msgpack */
		msgpack_sbuffer_init(&plain);
		msgpack_packer_init(&ppk, &plain, msgpack_sbuffer_write);
		for (i = 0; i < round; i++)
			baton_pack_bool(&ppk, 1);
		pack_all(&ppk, 1, buf, round);

		ck_assert_uint_gt(ref.size, 8192);
		ck_assert_uint_eq(wsb.size, BATON_WIRE_HDR + ref.size);
		ck_assert_mem_eq(wsb.data + BATON_WIRE_HDR, ref.data, ref.size);
		ck_assert_uint_eq(plain.size, ref.size);
		ck_assert_mem_eq(plain.data, ref.data, ref.size);
		msgpack_sbuffer_destroy(&wsb);
		msgpack_sbuffer_destroy(&ref);
		msgpack_sbuffer_destroy(&plain);
	}
}
END_TEST


/* ---- request heads ----------------------------------------------------- */

/* baton_wire_read_request as it was: mpr calls only. */
static int
ref_read_request(struct mpr *r, uint32_t *op, uint32_t *id)
{
	uint32_t	n;
	uint64_t	v;

	if (mpr_array(r, &n) != 0 || n != 3)
		return (BATON_EMALFORMED);
	if (mpr_uint(r, &v) != 0 || v < 1 || v > 127)
		return (BATON_EMALFORMED);
	*op = (uint32_t)v;
	if (mpr_uint(r, &v) != 0 || v > UINT32_MAX)
		return (BATON_EMALFORMED);
	*id = (uint32_t)v;
	if (mpr_peek(r) != MPR_MAP)
		return (BATON_EMALFORMED);
	return (0);
}

/*
 * Heads from pieces (array, op, id, body byte), every cut of each: the
 * in-place path must take what the mpr path takes, with the same values
 * and the reader left at the same byte, and refuse what it refuses.
 */
START_TEST(test_request_head)
{
	static const struct piece {
		size_t	len;
		uint8_t	b[9];
	} arr[] = { { 1, { 0x93 } }, { 1, { 0x92 } }, { 1, { 0x94 } },
	    { 3, { 0xdc, 0, 3 } }, { 1, { 0x83 } } },
	ops[] = { { 1, { 0 } }, { 1, { 1 } }, { 1, { 5 } }, { 1, { 127 } },
	    { 2, { 0xcc, 128 } }, { 2, { 0xcc, 5 } }, { 2, { 0xd0, 5 } },
	    { 1, { 0xff } }, { 1, { 0xc0 } } },
	ids[] = { { 1, { 0 } }, { 1, { 0x7f } }, { 2, { 0xcc, 0x80 } },
	    { 3, { 0xcd, 0x12, 0x34 } }, { 5, { 0xce, 0xff, 0xff, 0xff, 0xff } },
	    { 9, { 0xcf, 0, 0, 0, 0, 0, 0, 0, 9 } },
	    { 9, { 0xcf, 0, 0, 0, 1, 0, 0, 0, 0 } },
	    { 2, { 0xd0, 7 } }, { 1, { 0xe0 } }, { 1, { 0xc2 } },
	    { 3, { 0xd1, 0xff, 0xff } } },
	bodies[] = { { 1, { 0x80 } }, { 3, { 0x81, 0xa1, 0x61 } },
	    { 1, { 0x8f } }, { 3, { 0xde, 0, 0 } }, { 5, { 0xdf, 0, 0, 0, 0 } },
	    { 1, { 0x90 } }, { 1, { 0xc0 } }, { 1, { 0xa0 } }, { 0, { 0 } } };
	uint8_t		 buf[40];
	struct mpr	 a, b;
	uint32_t	 op1, id1, op2, id2;
	size_t		 i, j, k, l, n, cut, fast = 0;
	int		 rc1, rc2;

#define NP(x)	(sizeof (x) / sizeof (x)[0])
	for (i = 0; i < NP(arr); i++)
	for (j = 0; j < NP(ops); j++)
	for (k = 0; k < NP(ids); k++)
	for (l = 0; l < NP(bodies); l++) {
		n = 0;
		memcpy(buf + n, arr[i].b, arr[i].len);
		n += arr[i].len;
		memcpy(buf + n, ops[j].b, ops[j].len);
		n += ops[j].len;
		memcpy(buf + n, ids[k].b, ids[k].len);
		n += ids[k].len;
		memcpy(buf + n, bodies[l].b, bodies[l].len);
		n += bodies[l].len;
		for (cut = 0; cut <= n; cut++) {
			op1 = id1 = op2 = id2 = 0xdead;
			mpr_init(&a, buf, cut);
			mpr_init(&b, buf, cut);
			rc1 = baton_wire_read_request(&a, &op1, &id1);
			rc2 = ref_read_request(&b, &op2, &id2);
			ck_assert_msg((rc1 == 0) == (rc2 == 0),
			    "%zu %zu %zu %zu cut %zu: %d, was %d", i, j, k, l,
			    cut, rc1, rc2);
			if (rc1 != 0)
				continue;
			fast += i == 0 && j > 0 && j < 4 && k < 5;
			ck_assert_uint_eq(op1, op2);
			ck_assert_uint_eq(id1, id2);
			ck_assert_uint_eq(mpr_remaining(&a), mpr_remaining(&b));
		}
	}
#undef NP
	ck_assert_uint_gt(fast, 0);
}
END_TEST

/* ---- base64url --------------------------------------------------------- */

/* The table encoder writes what libsodium's constant-time one writes. */
static void
b64_same(const uint8_t *in, size_t len)
{
	size_t	 cap = sodium_base64_encoded_len(len,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char	*ref, *got;

	ck_assert_uint_eq(BATON_B64URL_LEN(len) + 1, cap);
	ref = malloc(cap);
	got = malloc(cap + 1);
	ck_assert_ptr_nonnull(ref);
	ck_assert_ptr_nonnull(got);
	got[cap] = 'Z';		/* must stay: nothing past the NUL */
	sodium_bin2base64(ref, cap, in, len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	ck_assert_uint_eq(baton_b64url_encode(got, in, len), cap - 1);
	ck_assert_msg(memcmp(got, ref, cap) == 0, "length %zu differs", len);
	ck_assert_int_eq(got[cap], 'Z');
	free(ref);
	free(got);
}

START_TEST(test_b64_random)
{
	static const size_t	 big[] = { 255, 256, 257, 1000, 65536 };
	uint8_t			*buf;
	size_t			 len, i;
	int			 round;

	ck_assert_int_ge(sodium_init(), 0);
	buf = malloc(65536);
	ck_assert_ptr_nonnull(buf);
	for (round = 0; round < 20; round++) {
		for (len = 0; len <= 100; len++) {
			randombytes_buf(buf, len);
			b64_same(buf, len);
		}
	}
	/* every byte value in every position of a group */
	for (i = 0; i < 256 * 3; i++)
		buf[i] = (uint8_t)(i / 3 + (i % 3) * 85);
	b64_same(buf, 256 * 3);
	memset(buf, 0xff, 100);
	b64_same(buf, 100);
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		randombytes_buf(buf, big[i]);
		b64_same(buf, big[i]);
	}
	free(buf);
}
END_TEST


/* ---- jtis -------------------------------------------------------------- */

static int
jti_cmp(const void *a, const void *b)
{
	return (memcmp(a, b, BATON_JTI_LEN));
}

START_TEST(test_jti_distinct)
{
	static uint8_t	jtis[1000][BATON_JTI_LEN];
	static const uint8_t zero[BATON_JTI_LEN];
	size_t		i;

	ck_assert_int_ge(sodium_init(), 0);
	for (i = 0; i < 1000; i++) {
		baton_jti_new(jtis[i]);
		ck_assert(memcmp(jtis[i], zero, BATON_JTI_LEN) != 0);
	}
	qsort(jtis, 1000, BATON_JTI_LEN, jti_cmp);
	for (i = 1; i < 1000; i++)
		ck_assert(memcmp(jtis[i - 1], jtis[i], BATON_JTI_LEN) != 0);
}
END_TEST

/*
 * After a fork, parent and child each take "the next" jti from what was
 * one pool: they must differ (the child refills from the CSPRNG).  Tried
 * at every position in the pool.
 */
START_TEST(test_jti_fork)
{
	uint8_t	mine[BATON_JTI_LEN], theirs[BATON_JTI_LEN];
	pid_t	pid;
	int	fds[2], st, k;

	ck_assert_int_ge(sodium_init(), 0);
	for (k = 0; k < 20; k++) {
		baton_jti_new(mine);	/* the pool holds some now */
		ck_assert_int_eq(pipe(fds), 0);
		if ((pid = fork()) == 0) {
			baton_jti_new(theirs);
			_exit(write(fds[1], theirs, sizeof theirs) ==
			    (ssize_t)sizeof theirs ? 0 : 1);
		}
		ck_assert_int_gt(pid, 0);
		close(fds[1]);
		ck_assert_int_eq(read(fds[0], theirs, sizeof theirs),
		    (ssize_t)sizeof theirs);
		close(fds[0]);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		baton_jti_new(mine);
		ck_assert_msg(memcmp(mine, theirs, BATON_JTI_LEN) != 0,
		    "the child handed out the parent's next jti (round %d)",
		    k);
	}
}
END_TEST

static Suite *
common_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("common");
	tc = tcase_create("cache");
	tcase_add_test(tc, test_reuse_zeroed);
	tcase_add_test(tc, test_many_chunks);
	tcase_add_test(tc, test_large);
	tcase_add_test(tc, test_rewind);
	tcase_add_test(tc, test_distinct_empty);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	tc = tcase_create("wire");
	tcase_add_test(tc, test_pack_same_bytes);
	tcase_add_test(tc, test_request_head);
	suite_add_tcase(s, tc);
	tc = tcase_create("base64");
	tcase_add_test(tc, test_b64_random);
	suite_add_tcase(s, tc);
	tc = tcase_create("jti");
	tcase_add_test(tc, test_jti_distinct);
	tcase_add_test(tc, test_jti_fork);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(common_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
