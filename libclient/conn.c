/* conn.c: the broker connection of libclient: framing, timeouts, reconnect. */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common.h"
#include "wire.h"
#include "client.h"

#ifndef BATON_DEFAULT_SOCKET
#define BATON_DEFAULT_SOCKET "/run/baton/batond.sock"
#endif

/*
 * Internal results.  BC_EBROKEN: the connection broke before the whole
 * request reached the broker (or the broker said it is shutting down), so
 * the broker cannot have acted on it and it may be sent again.  BC_ELOST:
 * the connection broke after the whole request was sent, so the broker may
 * have carried it out; repeating it could spend a single-use token twice.
 */
#define BC_EBROKEN	(-1000)
#define BC_ELOST	(-1001)

const char *
baton_default_socket(void)
{
	return BATON_DEFAULT_SOCKET;
}

const char *
baton_version(void)
{
	return PACKAGE_VERSION;
}

void
bc_seterr(struct baton_client *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

void
bc_free_secret(char *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

void
baton_string_free(char *s)
{
	bc_free_secret(s);
}

const char *
bc_json_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

uint64_t
bc_json_u64(const json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return 0;
	return (uint64_t)json_integer_value(v);
}

/* ---- msgpack to JSON, bounded: the broker's answers are still input ---- */

int
bc_mpr_to_json(struct mpr *r, int depth, json_t **out)
{
	json_t		*v = NULL, *e;
	const char	*s;
	const uint8_t	*b;
	uint32_t	 n, i, klen;
	uint64_t	 u;
	int64_t		 si;
	int		 bo;
	char		*hex, *key;

	*out = NULL;
	if (depth > BATON_MAX_NEST)
		return BATON_EPROTO;
	switch (mpr_peek(r)) {
	case MPR_NIL:
		if (mpr_nil(r) != 0)
			return BATON_EPROTO;
		v = json_null();
		break;
	case MPR_BOOL:
		if (mpr_bool(r, &bo) != 0)
			return BATON_EPROTO;
		v = json_boolean(bo);
		break;
	case MPR_UINT:
		if (mpr_uint(r, &u) != 0 || u > INT64_MAX)
			return BATON_EPROTO;
		v = json_integer((json_int_t)u);
		break;
	case MPR_INT:
		if (mpr_int(r, &si) != 0)
			return BATON_EPROTO;
		v = json_integer((json_int_t)si);
		break;
	case MPR_STR:
		if (mpr_str(r, &s, &n) != 0)
			return BATON_EPROTO;
		/* jansson checks UTF-8 and refuses what it cannot hold */
		if ((v = json_stringn(s, n)) == NULL)
			return BATON_EPROTO;
		break;
	case MPR_BIN:
		if (mpr_bin(r, &b, &n) != 0)
			return BATON_EPROTO;
		if ((hex = malloc((size_t)n * 2 + 1)) == NULL)
			return BATON_ENOMEM;
		baton_hex(hex, b, n);
		v = json_string(hex);
		free(hex);
		break;
	case MPR_ARRAY:
		if (mpr_array(r, &n) != 0)
			return BATON_EPROTO;
		if ((v = json_array()) == NULL)
			return BATON_ENOMEM;
		for (i = 0; i < n; i++) {
			if (bc_mpr_to_json(r, depth + 1, &e) != 0 ||
			    json_array_append_new(v, e) != 0)
				goto bad;
		}
		break;
	case MPR_MAP:
		if (mpr_map(r, &n) != 0)
			return BATON_EPROTO;
		if ((v = json_object()) == NULL)
			return BATON_ENOMEM;
		for (i = 0; i < n; i++) {
			if (mpr_peek(r) == MPR_UINT) {
				char	num[24];

				if (mpr_uint(r, &u) != 0)
					goto bad;
				snprintf(num, sizeof(num), "%llu",
				    (unsigned long long)u);
				key = strdup(num);
			} else {
				if (mpr_str(r, &s, &klen) != 0 ||
				    memchr(s, '\0', klen) != NULL)
					goto bad;
				key = strndup(s, klen);
			}
			if (key == NULL)
				goto bad;
			if (bc_mpr_to_json(r, depth + 1, &e) != 0) {
				free(key);
				goto bad;
			}
			if (json_object_set_new(v, key, e) != 0) {
				free(key);
				goto bad;
			}
			free(key);
		}
		break;
	case MPR_FLOAT:
	case MPR_EXT:
		/* nothing baton sends; keep the place so arrays stay aligned */
		if (mpr_skip(r) != 0)
			return BATON_EPROTO;
		v = json_null();
		break;
	default:
		return BATON_EPROTO;
	}
	if (v == NULL)
		return BATON_ENOMEM;
	*out = v;
	return 0;
bad:
	json_decref(v);
	return BATON_EPROTO;
}

/*
 * UTF-8 as jansson checks it (utf8_check_string): no overlong forms, no
 * surrogates, nothing past U+10FFFF.  NUL is a character in a value
 * (nul_ok), not in a key.
 */
static int
utf8_valid(const uint8_t *s, size_t len, int nul_ok)
{
	size_t		i = 0, n, j;
	uint32_t	cp, min;
	uint64_t	w;

	while (i < len) {
		/* ASCII eight bytes at a time: most answers are all ASCII */
		if (len - i >= 8) {
			memcpy(&w, s + i, 8);
			if ((w & 0x8080808080808080ULL) == 0 && (nul_ok ||
			    ((w - 0x0101010101010101ULL) &
			    0x8080808080808080ULL) == 0)) {
				i += 8;
				continue;
			}
		}
		if (s[i] < 0x80) {
			if (s[i] == 0 && !nul_ok)
				return 0;
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 1;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (j = 1; j <= n; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/*
 * The verify path checks every answer it does not convert, so this runs
 * on each call: it reads the bytes directly rather than through the mpr
 * calls, with the same bounds (every length and count against the bytes
 * left, as mpread.c) and the same refusals as bc_mpr_to_json, which
 * tests/check_clientlib.c holds it to.
 */

/* 8 bytes at p as a number whose low byte is p[0]. */
static inline uint64_t
le64(const uint8_t *p)
{
	uint64_t	w;

	memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

/*
 * utf8_valid for the strings of an answer, which are ASCII: the string s
 * of n bytes, read as whole words from the buffer [base, end) that holds
 * it (a short string's neighbours are read and masked off).  Only a
 * string that is all ASCII (without NUL unless nul_ok) passes here; every
 * other goes through the strict check, so both refuse the same strings.
 */
static int
str_valid(const uint8_t *s, size_t n, const uint8_t *base,
    const uint8_t *end, int nul_ok)
{
	uint64_t	w, m, hi, z;
	size_t		i;

	if (n >= 8) {
		hi = z = 0;
		for (i = 0; i + 8 < n; i += 8) {
			w = le64(s + i);
			hi |= w;
			z |= (w - ONES) & ~w;	/* high bit set: a NUL byte */
		}
		w = le64(s + n - 8);		/* the last eight, overlapping */
		hi |= w;
		z |= (w - ONES) & ~w;
	} else if (n == 0)
		return 1;
	else {
		if ((size_t)(end - s) >= 8) {
			w = le64(s);
			m = ~0ULL >> (64 - 8 * n);
		} else if ((size_t)(s + n - base) >= 8) {
			w = le64(s + n - 8);
			m = ~0ULL << (64 - 8 * n);
		} else
			return utf8_valid(s, n, nul_ok);
		hi = w & m;
		w |= ~m;			/* neighbours: 0xff, not NUL */
		z = (w - ONES) & ~w;
	}
	if ((hi & HIGHS) == 0 && (nul_ok || (z & HIGHS) == 0))
		return 1;
	return utf8_valid(s, n, nul_ok);
}

/*
 * str_valid, with the usual cases inline: 8 to 16 bytes (two words that
 * may overlap), or 1 to 7 not at the end of the buffer.
 */
static inline int
str_ok(const uint8_t *s, size_t n, const uint8_t *base, const uint8_t *end,
    int nul_ok)
{
	uint64_t	w, x, m;

	if (n - 8 <= 8) {
		w = le64(s);
		x = le64(s + n - 8);
		if (((w | x) & HIGHS) == 0 && (nul_ok ||
		    ((((w - ONES) & ~w) | ((x - ONES) & ~x)) & HIGHS) == 0))
			return 1;
	} else if (n - 1 < 7 && (size_t)(end - s) >= 8) {
		m = ~0ULL >> (64 - 8 * n);
		w = le64(s) | ~m;
		if ((w & m & HIGHS) == 0 &&
		    (nul_ok || ((w - ONES) & ~w & HIGHS) == 0))
			return 1;
	}
	return str_valid(s, n, base, end, nul_ok);
}
#undef ONES
#undef HIGHS

#define NEED(n)	do {						\
	if ((uint64_t)(end - p) < (uint64_t)(n))		\
		return BATON_EPROTO;				\
} while (0)

static uint64_t
be_num(const uint8_t *p, size_t w)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < w; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * The key of a map pair at *pp: a uint (any), or a string that jansson
 * takes as a key, UTF-8 without NUL (*k, *klen; *k NULL for a uint).
 */
static inline int
check_key(const uint8_t **pp, const uint8_t *base, const uint8_t *end,
    const uint8_t **k, uint64_t *klen)
{
	const uint8_t	*p = *pp;
	uint64_t	 n;
	size_t		 w;
	uint8_t		 b;

	NEED(1);
	b = *p++;
	if (b >= 0xa0 && b <= 0xbf)
		n = b & 0x1f;
	else if (b <= 0x7f) {
		*k = NULL;
		*pp = p;
		return 0;
	} else if (b >= 0xcc && b <= 0xcf) {
		w = (size_t)1 << (b - 0xcc);
		NEED(w);
		*k = NULL;
		*pp = p + w;
		return 0;
	} else if (b >= 0xd9 && b <= 0xdb) {
		w = (size_t)1 << (b - 0xd9);
		NEED(w);
		n = be_num(p, w);
		p += w;
	} else
		return BATON_EPROTO;
	NEED(n);
	if (!str_ok(p, (size_t)n, base, end, 0))
		return BATON_EPROTO;
	*k = p;
	*klen = n;
	*pp = p + n;
	return 0;
}

/*
 * One value at *pp at depth; *pp moves past it.  No recursion: the
 * containers being read are a stack of how many values each has left
 * (left[], the innermost in cnt) and whether a key comes before each.
 * Depth is checked where it grows: a container at BATON_MAX_NEST may be
 * empty, as bc_mpr_to_json refuses only the values inside.
 */
static int
check_value(const uint8_t **pp, const uint8_t *base, const uint8_t *end,
    int depth)
{
	uint64_t	 left[BATON_MAX_NEST + 1], cnt = 1, n;
	uint8_t		 map[BATON_MAX_NEST + 1];
	const uint8_t	*p = *pp, *k;
	size_t		 w;
	uint8_t		 b;
	int		 sp = 0, ismap = 0, nested;

	if (depth > BATON_MAX_NEST)
		return BATON_EPROTO;
	for (;;) {
		if (ismap && check_key(&p, base, end, &k, &n) != 0)
			return BATON_EPROTO;
		NEED(1);
		b = *p++;
		switch (b >> 4) {
		case 0x0: case 0x1: case 0x2: case 0x3:	/* fixints */
		case 0x4: case 0x5: case 0x6: case 0x7:
		case 0xe: case 0xf:
			goto done;
		case 0x8:				/* fixmap */
		case 0x9:				/* fixarray */
			n = b & 0x0f;
			nested = b <= 0x8f;
			goto open;
		case 0xa:				/* fixstr */
		case 0xb:
			n = b & 0x1f;
			goto str;
		default:
			break;
		}
		switch (b) {
		case 0xc0:				/* nil, booleans */
		case 0xc2: case 0xc3:
			goto done;
		case 0xc4: case 0xc5: case 0xc6:	/* bin */
			w = (size_t)1 << (b - 0xc4);
			NEED(w);
			n = be_num(p, w);
			p += w;
			NEED(n);
			p += n;
			goto done;
		case 0xc7: case 0xc8: case 0xc9:	/* ext: a type byte, data */
			w = (size_t)1 << (b - 0xc7);
			NEED(w);
			n = be_num(p, w);
			p += w;
			NEED(n + 1);
			p += n + 1;
			goto done;
		case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
			n = (uint64_t)1 << (b - 0xd4);	/* fixext */
			NEED(n + 1);
			p += n + 1;
			goto done;
		case 0xca:				/* floats */
		case 0xcb:
			w = b == 0xca ? 4 : 8;
			NEED(w);
			p += w;
			goto done;
		case 0xcc: case 0xcd: case 0xce: case 0xcf:
			w = (size_t)1 << (b - 0xcc);
			NEED(w);
			/* JSON integers are signed */
			if (be_num(p, w) > INT64_MAX)
				return BATON_EPROTO;
			p += w;
			goto done;
		case 0xd0: case 0xd1: case 0xd2: case 0xd3:
			w = (size_t)1 << (b - 0xd0);
			NEED(w);
			p += w;
			goto done;
		case 0xd9: case 0xda: case 0xdb:
			w = (size_t)1 << (b - 0xd9);
			NEED(w);
			n = be_num(p, w);
			p += w;
			goto str;
		case 0xdc: case 0xdd:
		case 0xde: case 0xdf:
			w = b == 0xdc || b == 0xde ? 2 : 4;
			NEED(w);
			n = be_num(p, w);
			p += w;
			nested = b >= 0xde;
			goto open;
		default:				/* 0xc1 */
			return BATON_EPROTO;
		}
str:
		NEED(n);
		/* jansson refuses what is not UTF-8 */
		if (!str_ok(p, (size_t)n, base, end, 1))
			return BATON_EPROTO;
		p += n;
		goto done;
open:
		/* every value is at least one byte, every pair two */
		if (n > (uint64_t)(end - p) >> nested)
			return BATON_EPROTO;
		if (n > 0) {
			if (depth >= BATON_MAX_NEST || sp == BATON_MAX_NEST + 1)
				return BATON_EPROTO;
			left[sp] = cnt;
			map[sp] = (uint8_t)ismap;
			sp++;
			cnt = n;
			ismap = nested;
			depth++;
			continue;
		}
done:
		/* a value is complete, and with it maybe its containers */
		while (--cnt == 0) {
			if (sp == 0) {
				*pp = p;
				return 0;
			}
			sp--;
			cnt = left[sp];
			ismap = map[sp];
			depth--;
		}
	}
}

/*
 * bc_mpr_to_json without building anything: the same refusals (depth,
 * integers past INT64_MAX, strings jansson would refuse, keys that are
 * neither uints nor NUL-free strings), so that the verify path, which
 * builds its JSON only when asked, fails exactly when bc_call would.
 */
int
bc_mpr_check(struct mpr *r, int depth)
{
	const uint8_t	*p = r->p;

	if (r->err != 0 || p == NULL || depth < 0 ||
	    check_value(&p, p, r->end, depth) != 0) {
		r->err = BATON_EMALFORMED;
		return BATON_EPROTO;
	}
	r->p = p;
	return 0;
}

/* field, if set, sees each value with a string key once it has passed. */
int
bc_mpr_check_map(struct mpr *r, bc_field_fn field, void *arg)
{
	const uint8_t	*p = r->p, *base = r->p, *end = r->end, *k, *v;
	uint64_t	 n, i, klen;
	size_t		 w;
	uint8_t		 b;

	if (r->err != 0 || p == NULL || p == end)
		goto bad;
	b = *p++;
	if (b >= 0x80 && b <= 0x8f)
		n = b & 0x0f;
	else if (b == 0xde || b == 0xdf) {
		w = b == 0xde ? 2 : 4;
		if ((size_t)(end - p) < w)
			goto bad;
		n = be_num(p, w);
		p += w;
	} else
		goto bad;
	if (n > (uint64_t)(end - p) / 2)
		goto bad;
	for (i = 0; i < n; i++) {
		if (check_key(&p, base, end, &k, &klen) != 0)
			goto bad;
		v = p;
		if (check_value(&p, base, end, 1) != 0)
			goto bad;
		if (field != NULL && k != NULL)
			field(arg, (const char *)k, (size_t)klen, v,
			    (size_t)(p - v));
	}
	r->p = p;
	return 0;
bad:
	r->err = BATON_EMALFORMED;
	return BATON_EPROTO;
}
#undef NEED

int
bc_mp_to_json(const void *buf, size_t len, json_t **out)
{
	struct mpr	r;
	int		ret;

	mpr_init(&r, buf, len);
	if ((ret = bc_mpr_to_json(&r, 0, out)) != 0)
		return ret;
	if (mpr_done(&r) != 0) {
		json_decref(*out);
		*out = NULL;
		return BATON_EPROTO;
	}
	return 0;
}

/* ---- sockets with deadlines -------------------------------------------- */

/*
 * A round trip costs a send and a recv, as on a bare socket: the socket
 * blocks, and SO_SNDTIMEO and SO_RCVTIMEO keep the deadline.  Both are
 * set to the handle's timeout at connect, which is within BC_TIMEO_SLACK
 * of the time left when a call starts, so the hot path never touches
 * them.  When less time is left than the socket would wait (a second recv
 * for a long answer, a send into a full socket), the option is lowered to
 * what is left; a wait that a lowered option cut short (EAGAIN before the
 * deadline) raises it again.  EAGAIN thus only ever means: look at the
 * clock.  connect() alone still waits with poll (a full listen backlog).
 */
#define BC_TIMEO_SLACK	10	/* ms a wait may outlast the deadline */

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events until the deadline; 0, or BATON_ETIMEOUT / BATON_EIO. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd	pfd;
	int64_t		left;
	int		n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return BATON_ETIMEOUT;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return BATON_EIO;
	}
}

/* Set the socket option opt (SO_RCVTIMEO or SO_SNDTIMEO) to ms. */
static int
set_timeo(int fd, int opt, int64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/*
 * Before a blocking send or recv: make the socket's timeout opt (*cur ms)
 * end the wait by the deadline.  late: the last wait ended (EAGAIN) with
 * a timeout that may have been lowered below the time left.  0, or
 * BATON_ETIMEOUT once the deadline has passed, or BATON_EIO.
 */
static int
sock_timeo(struct baton_client *c, int opt, int *cur, int64_t deadline,
    int late)
{
	int64_t	left;

	if ((left = deadline - now_ms()) <= 0)
		return BATON_ETIMEOUT;
	if (!late && *cur <= left + BC_TIMEO_SLACK)
		return 0;
	if (left > INT_MAX)
		left = INT_MAX;
	if (set_timeo(c->fd, opt, left) == -1)
		return BATON_EIO;
	*cur = (int)left;
	return 0;
}

static int
write_all(struct baton_client *c, const uint8_t *p, size_t len,
    int64_t deadline)
{
	ssize_t	n;
	int	ret, late = 0;

	while (len > 0) {
		if ((ret = sock_timeo(c, SO_SNDTIMEO, &c->sndto, deadline,
		    late)) != 0)
			return ret;
		late = 0;
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			late = 1;
			continue;
		}
		return BC_EBROKEN;
	}
	return 0;
}

/*
 * len bytes of the answer into p: first what the last recv read ahead,
 * then from the socket, into c->rbuf when the rest would fit there (so
 * one recv brings a header and its body), else straight into p.
 */
static int
read_exact(struct baton_client *c, uint8_t *p, size_t len, int64_t deadline)
{
	ssize_t	n;
	size_t	k;
	int	ret, late = 0;

	while (len > 0) {
		if (c->roff < c->rlen) {
			k = c->rlen - c->roff < len ? c->rlen - c->roff : len;
			memcpy(p, c->rbuf + c->roff, k);
			c->roff += k;
			p += k;
			len -= k;
			if (c->roff == c->rlen) {
				sodium_memzero(c->rbuf, c->rlen);
				c->roff = c->rlen = 0;
			}
			continue;
		}
		if ((ret = sock_timeo(c, SO_RCVTIMEO, &c->rcvto, deadline,
		    late)) != 0)
			return ret;
		late = 0;
		if (len < sizeof(c->rbuf)) {
			n = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);
			if (n > 0) {
				c->rlen = (size_t)n;
				continue;
			}
		} else
			n = recv(c->fd, p, len, 0);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return BC_EBROKEN;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			late = 1;
			continue;
		}
		return BC_EBROKEN;
	}
	return 0;
}

/*
 * The body of the next frame, flen bytes: in place in c->rbuf when the
 * last recv brought all of it (the usual case), else read into c->abuf,
 * kept for the next long answer.  Release it with frame_done().
 */
static int
frame_read(struct baton_client *c, uint32_t flen, const uint8_t **body,
    int64_t deadline)
{
	uint8_t	*p;
	int	 ret;

	if (c->rlen - c->roff >= flen) {
		*body = c->rbuf + c->roff;
		c->roff += flen;
		return 0;
	}
	if (c->acap < flen) {
		/* abuf holds nothing: it is wiped after every use */
		if ((p = malloc(flen)) == NULL)
			return BATON_ENOMEM;
		free(c->abuf);
		c->abuf = p;
		c->acap = flen;
	}
	if ((ret = read_exact(c, c->abuf, flen, deadline)) != 0) {
		sodium_memzero(c->abuf, flen);
		return ret;
	}
	*body = c->abuf;
	return 0;
}

/* Wipe a frame body from frame_read, and the read-ahead once all used. */
static void
frame_done(struct baton_client *c, const uint8_t *body, uint32_t flen)
{
	if (body == c->abuf)
		sodium_memzero(c->abuf, flen);
	if (c->rlen > 0 && c->roff == c->rlen) {
		sodium_memzero(c->rbuf, c->rlen);
		c->roff = c->rlen = 0;
	}
}

static void
disconnect(struct baton_client *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	sodium_memzero(c->rbuf, c->rlen);
	c->roff = c->rlen = 0;
}

static int
connect_socket(struct baton_client *c, int64_t deadline)
{
	struct sockaddr_un	sun;
	socklen_t		slen;
	int			fd, ret, err;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(c->path) >= sizeof(sun.sun_path)) {
		bc_seterr(c, "socket path too long: %s", c->path);
		return BATON_EINVAL;
	}
	memcpy(sun.sun_path, c->path, strlen(c->path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		bc_seterr(c, "socket: %s", strerror(errno));
		return BATON_EIO;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		goto done;
	if (errno != EAGAIN && errno != EINPROGRESS && errno != EINTR) {
		bc_seterr(c, "cannot connect to the broker at %s: %s; "
		    "is batond running (or set BATON_SOCKET)?", c->path,
		    strerror(errno));
		close(fd);
		return BATON_EUNAVAIL;
	}
	/* a full listen backlog: wait for the broker, within the deadline */
	if ((ret = wait_fd(fd, POLLOUT, deadline)) != 0) {
		bc_seterr(c, "timed out connecting to the broker at %s",
		    c->path);
		close(fd);
		return ret;
	}
	err = 0;
	slen = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &slen) == -1 ||
	    err != 0) {
		bc_seterr(c, "cannot connect to the broker at %s: %s",
		    c->path, strerror(err ? err : errno));
		close(fd);
		return BATON_EUNAVAIL;
	}
done:
	/*
	 * From here the socket blocks, and its timeouts keep the deadline
	 * (see above): one recv waits for an answer and reads it.
	 */
	if (fcntl(fd, F_SETFL, 0) == -1 ||
	    set_timeo(fd, SO_SNDTIMEO, c->timeout_ms) == -1 ||
	    set_timeo(fd, SO_RCVTIMEO, c->timeout_ms) == -1) {
		bc_seterr(c, "socket options: %s", strerror(errno));
		close(fd);
		return BATON_EIO;
	}
	c->sndto = c->rcvto = c->timeout_ms;
	c->fd = fd;
	return 0;
}

/* Map a wire error status and its body to a BATON_E* code and a message. */
static int
map_status(struct baton_client *c, int status, const json_t *body)
{
	const char	*msg = bc_json_str(body, "message");
	const char	*name = bc_json_str(body, "error");
	json_t		*reason = json_object_get(body, "reason");

	if (name == NULL)
		name = baton_wire_err_name(status);
	bc_seterr(c, "broker: %s%s%s", name ? name : "error",
	    msg ? ": " : "", msg ? msg : "");
	switch (status) {
	case BATON_WIRE_EBADREQ:
		return BATON_EINVAL;
	case BATON_WIRE_EDENIED:
		if (json_is_integer(reason))
			c->last_reason = (int)json_integer_value(reason);
		if (c->last_reason == BATON_R_OK)
			c->last_reason = BATON_R_POLICY_DENIED;
		return BATON_EDENIED;
	case BATON_WIRE_ETOOBIG:
		return BATON_ETOOBIG;
	case BATON_WIRE_EVERSION:
	case BATON_WIRE_EUNKNOWNOP:
		return BATON_EPROTO;
	case BATON_WIRE_EPERM:
		return BATON_EPERM;
	case BATON_WIRE_EUNAVAIL:
	case BATON_WIRE_ERATELIMIT:
	case BATON_WIRE_EINTERNAL:
		return BATON_EUNAVAIL;
	case BATON_WIRE_ESHUTDOWN:
		return BC_EBROKEN;
	default:
		return BATON_EPROTO;
	}
}

/* ---- requests and answers ------------------------------------------------ */

/*
 * The msgpack writer into c->wbuf.  As the wire code's own: growing wipes
 * the old buffer, which may hold a token (realloc would leave a copy of
 * it in freed memory).  A failure is remembered in c->wfail, as the
 * packing helpers do not report it.
 */
static uint8_t *
wbuf_room(struct baton_client *c, size_t len)
{
	msgpack_sbuffer	*sb = &c->wbuf;
	size_t		 nsize;
	char		*p;

	if (sb->alloc - sb->size < len) {
		nsize = sb->alloc != 0 ? sb->alloc : 1024;
		while (nsize - sb->size < len) {
			if (nsize > SIZE_MAX / 2)
				goto fail;
			nsize *= 2;
		}
		if ((p = malloc(nsize)) == NULL)
			goto fail;
		if (sb->data != NULL) {
			memcpy(p, sb->data, sb->size);
			sodium_memzero(sb->data, sb->size);
			free(sb->data);
		}
		sb->data = p;
		sb->alloc = nsize;
	}
	p = sb->data + sb->size;
	sb->size += len;
	return (uint8_t *)p;
fail:
	c->wfail = 1;
	return NULL;
}

static int
wbuf_write(void *data, const char *buf, size_t len)
{
	uint8_t	*p;

	if ((p = wbuf_room(data, len)) == NULL)
		return -1;
	memcpy(p, buf, len);
	return 0;
}

uint8_t *
bc_pack_room(msgpack_packer *pk, size_t len)
{
	if (pk->callback != wbuf_write)
		return NULL;
	return wbuf_room(pk->data, len);
}

/* One request: its op, its body (packed already, or by pack), its answer. */
struct bc_req {
	uint32_t		 op;
	const msgpack_sbuffer	*body;		/* NULL: an empty map */
	bc_pack_fn		 pack;		/* else body */
	const void		*parg;
	bc_field_fn		 field;		/* a successful answer, raw */
	bc_take_fn		 take;
	void			*targ;
	json_t			**resp;		/* else as JSON */
};

/*
 * baton_wire_read_response, with the head batond writes (op and status in
 * a byte, the id as a uint of its size) read here; any other goes there.
 */
int
bc_read_head(struct mpr *r, uint32_t *op, uint32_t *id, int *status)
{
	const uint8_t	*p = r->p;
	uint32_t	 v;
	size_t		 w;

	/* [op | 0x80 (uint 8), id, status (fixint), {... */
	if (r->err != 0 || r->end - p < 10 || p[0] != 0x94 || p[1] != 0xcc ||
	    (p[2] & BATON_WIRE_RESPONSE) == 0)
		goto slow;
	if (p[3] <= 0x7f) {
		v = p[3];
		w = 0;
	} else if (p[3] >= 0xcc && p[3] <= 0xce) {
		w = (size_t)1 << (p[3] - 0xcc);
		v = (uint32_t)be_num(p + 4, w);
	} else
		goto slow;
	if (p[4 + w] > 0x7f || !((p[5 + w] >= 0x80 && p[5 + w] <= 0x8f) ||
	    p[5 + w] == 0xde || p[5 + w] == 0xdf))
		goto slow;
	*op = p[2] & ~BATON_WIRE_RESPONSE;
	*id = v;
	*status = p[4 + w];
	r->p = p + 5 + w;
	return 0;
slow:
	return baton_wire_read_response(r, op, id, status);
}

/* One round trip on the current connection, no retry. */
static int
call_once(struct baton_client *c, const struct bc_req *q, int64_t deadline)
{
	msgpack_packer		 pk;
	struct mpr		 r;
	const uint8_t		*body = NULL, *m;
	uint8_t			 hdr[BATON_WIRE_HDR], *h;
	char			*hp;
	uint32_t		 id, flen = 0, rop, rid;
	size_t			 mlen;
	int			 ret, status;
	json_t			*j = NULL;

	if (q->resp != NULL)
		*q->resp = NULL;
	id = c->next_id++;
	c->wbuf.size = 0;
	c->wfail = 0;
	msgpack_packer_init(&pk, c, wbuf_write);
	/* the length (baton_wire_finish), then [op, id, */
	if ((h = wbuf_room(c, BATON_WIRE_HDR + 1 + 2 * 9)) == NULL) {
		ret = BATON_ENOMEM;
		goto out;
	}
	memset(h, 0, BATON_WIRE_HDR);
	hp = (char *)h + BATON_WIRE_HDR;
	*hp++ = (char)0x93;
	hp = baton_put_uint(hp, q->op);
	hp = baton_put_uint(hp, id);
	c->wbuf.size = (size_t)(hp - c->wbuf.data);
	ret = 0;
	if (q->pack != NULL)
		ret = q->pack(&pk, q->parg);
	else if (q->body != NULL && q->body->size > 0)
		(void)wbuf_write(c, q->body->data, q->body->size);
	else
		msgpack_pack_map(&pk, 0);
	if (ret == 0 && c->wfail)
		ret = BATON_ENOMEM;
	if (ret != 0)
		goto out;
	if (baton_wire_finish(&c->wbuf) != 0) {
		bc_seterr(c, "request larger than %d bytes",
		    BATON_WIRE_MAX_FRAME);
		ret = BATON_ETOOBIG;
		goto out;
	}
	if ((ret = write_all(c, (const uint8_t *)c->wbuf.data, c->wbuf.size,
	    deadline)) != 0)
		goto out;
	/* The request holds a token: wipe it as soon as it is sent. */
	sodium_memzero(c->wbuf.data, c->wbuf.size);
	c->wbuf.size = 0;
	for (;;) {
		/* from here on the broker may have acted on the request */
		if ((ret = read_exact(c, hdr, sizeof(hdr), deadline)) != 0) {
			if (ret == BC_EBROKEN)
				ret = BC_ELOST;
			goto out;
		}
		if ((flen = baton_wire_frame_len(hdr)) == 0) {
			bc_seterr(c, "broker sent a bad frame length");
			ret = BATON_EPROTO;
			goto out;
		}
		if ((ret = frame_read(c, flen, &body, deadline)) != 0) {
			if (ret == BC_EBROKEN)
				ret = BC_ELOST;
			goto out;
		}
		mpr_init(&r, body, flen);
		if (bc_read_head(&r, &rop, &rid, &status) != 0) {
			bc_seterr(c, "broker sent a malformed response");
			ret = BATON_EPROTO;
			goto out;
		}
		/*
		 * An answer to an earlier, abandoned request: skip it.  Id 0
		 * with an error is the broker refusing a frame it could not
		 * read (PROTOCOL.md section 2): that is our answer.
		 */
		if (rid == 0 && rid != id && status != BATON_WIRE_OK)
			rop = q->op;
		else if (rid != id) {
			frame_done(c, body, flen);
			body = NULL;
			continue;
		}
		if (rop != q->op) {	/* read_response strips the 0x80 */
			bc_seterr(c, "broker answered the wrong operation");
			ret = BATON_EPROTO;
			goto out;
		}
		break;
	}
	if (status == BATON_WIRE_OK && q->take != NULL) {
		/* checked as bc_mpr_to_json would convert it, not converted */
		m = r.p;
		mlen = mpr_remaining(&r);
		if (bc_mpr_check_map(&r, q->field, q->targ) != 0 ||
		    mpr_done(&r) != 0) {
			bc_seterr(c, "broker sent a malformed response body");
			ret = BATON_EPROTO;
			goto out;
		}
		if ((ret = q->take(q->targ, m, mlen)) != 0)
			goto out;
	} else {
		if ((ret = bc_mpr_to_json(&r, 0, &j)) != 0 ||
		    mpr_done(&r) != 0) {
			bc_seterr(c, "broker sent a malformed response body");
			ret = BATON_EPROTO;
			goto out;
		}
		if (status != BATON_WIRE_OK) {
			ret = map_status(c, status, j);
			goto out;
		}
		*q->resp = j;
		j = NULL;
	}
	ret = 0;
	c->last_ms = now_ms();
out:
	/* the frames carry tokens (requests and issued answers): wipe them */
	if (body != NULL)
		frame_done(c, body, flen);
	if (c->wbuf.size > 0) {
		sodium_memzero(c->wbuf.data, c->wbuf.size);
		c->wbuf.size = 0;
	}
	/* a timed-out or garbled stream cannot be resynchronized */
	if (ret == BATON_ETIMEOUT || ret == BATON_EPROTO)
		disconnect(c);
	if (ret == BATON_ETIMEOUT)
		bc_seterr(c, "the broker did not answer within %d ms",
		    c->timeout_ms);
	json_decref(j);
	return ret;
}

static int
hello(struct baton_client *c, int64_t deadline)
{
	struct bc_req	 q;
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	json_t		*resp = NULL;
	int		 ret;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	baton_pack_str(&pk, "version");
	msgpack_pack_uint32(&pk, BATON_WIRE_VERSION);
	baton_pack_str(&pk, "client");
	baton_pack_str(&pk, c->name);
	memset(&q, 0, sizeof(q));
	q.op = BATON_OP_HELLO;
	q.body = &sb;
	q.resp = &resp;
	ret = call_once(c, &q, deadline);
	msgpack_sbuffer_destroy(&sb);
	if (ret == 0 && bc_json_u64(resp, "version") != BATON_WIRE_VERSION) {
		bc_seterr(c, "broker speaks protocol version %llu, not %d",
		    (unsigned long long)bc_json_u64(resp, "version"),
		    BATON_WIRE_VERSION);
		ret = BATON_EPROTO;
	}
	json_decref(resp);
	if (ret != 0)
		disconnect(c);
	if (ret == BC_EBROKEN) {
		bc_seterr(c, "the broker at %s closed the connection",
		    c->path);
		ret = BATON_EUNAVAIL;
	}
	return ret;
}

static int
reconnect(struct baton_client *c, int64_t deadline)
{
	int	ret;

	disconnect(c);
	if ((ret = connect_socket(c, deadline)) != 0)
		return ret;
	return hello(c, deadline);
}

/* Has the broker closed an idle connection (restart, idle timeout)? */
static int
stale(struct baton_client *c)
{
	struct pollfd	pfd;
	char		b;

	pfd.fd = c->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (pfd.revents & (POLLHUP | POLLERR))
		return 1;
	return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/*
 * Operations the broker may carry out twice with the same effect.  mint,
 * attenuate and present would issue a second token and lose the first;
 * verify may consume a single-use block.
 */
static int
idempotent(uint32_t op)
{
	switch (op) {
	case BATON_OP_HELLO:
	case BATON_OP_REVOKE:
	case BATON_OP_INSPECT:
	case BATON_OP_PUBKEYS:
	case BATON_OP_STATUS:
	case BATON_OP_RELOAD:
		return 1;
	default:
		return 0;
	}
}

/*
 * A request with its deadline, under the handle's lock: reconnects an
 * idle connection the broker closed, and retries once when that is safe.
 */
static int
call(struct baton_client *c, const struct bc_req *q, int *reason)
{
	int64_t	deadline;
	int	ret, attempt;

	if (reason != NULL)
		*reason = BATON_R_OK;
	pthread_mutex_lock(&c->mu);
	c->err[0] = '\0';
	c->last_reason = BATON_R_OK;
	deadline = now_ms() + c->timeout_ms;
	ret = 0;
	/*
	 * A connection used within the last second cannot have met the
	 * broker's idle timeout (1 s at least); one closed otherwise (a
	 * restart) fails the send with EPIPE, before the broker could act,
	 * and is retried below.  So the probe's poll and recv are spent
	 * only on a connection that has been idle.
	 */
	if (c->fd != -1 && c->rlen == 0 && deadline - c->timeout_ms -
	    c->last_ms >= 1000 && stale(c))
		disconnect(c);
	if (c->fd == -1)
		ret = reconnect(c, deadline);
	/*
	 * Retry once on a broken connection, but only when the broker cannot
	 * have acted on the request (it never got all of it), or when acting
	 * twice does no harm.  A verify whose answer was lost is not
	 * repeated: the first one may have spent a single-use token, and
	 * the repeat would report "replayed" for a call that was allowed.
	 */
	for (attempt = 0; ret == 0; attempt++) {
		ret = call_once(c, q, deadline);
		if (ret == BC_ELOST && idempotent(q->op))
			ret = BC_EBROKEN;
		if (ret != BC_EBROKEN || attempt > 0)
			break;
		ret = reconnect(c, deadline);
	}
	if (ret == BC_EBROKEN) {
		disconnect(c);
		bc_seterr(c, "the broker at %s closed the connection; "
		    "is batond running?", c->path);
		ret = BATON_EUNAVAIL;
	} else if (ret == BC_ELOST) {
		disconnect(c);
		bc_seterr(c, "the broker at %s closed the connection after "
		    "receiving the request, which may have been carried out; "
		    "not repeated", c->path);
		ret = BATON_EUNAVAIL;
	}
	/* read under the lock: another thread may use the handle next */
	if (reason != NULL && ret == BATON_EDENIED)
		*reason = c->last_reason;
	pthread_mutex_unlock(&c->mu);
	return ret;
}

int
bc_call(struct baton_client *c, uint32_t op, const msgpack_sbuffer *body,
    json_t **resp)
{
	return bc_call_reason(c, op, body, resp, NULL);
}

int
bc_call_reason(struct baton_client *c, uint32_t op,
    const msgpack_sbuffer *body, json_t **resp, int *reason)
{
	struct bc_req	q;

	*resp = NULL;
	memset(&q, 0, sizeof(q));
	q.op = op;
	q.body = body;
	q.resp = resp;
	return call(c, &q, reason);
}

int
bc_call_raw(struct baton_client *c, uint32_t op, bc_pack_fn pack,
    const void *parg, bc_field_fn field, bc_take_fn take, void *targ,
    int *reason)
{
	struct bc_req	q;

	memset(&q, 0, sizeof(q));
	q.op = op;
	q.pack = pack;
	q.parg = parg;
	q.field = field;
	q.take = take;
	q.targ = targ;
	return call(c, &q, reason);
}

int
baton_client_open(struct baton_client **out,
    const struct baton_client_opts *opts)
{
	struct baton_client	*c;
	const char		*path = NULL, *name = NULL;
	int			 ret;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (opts != NULL && opts->version != BATON_CLIENT_OPTS_VERSION)
		return BATON_EINVAL;
	if (opts != NULL && opts->timeout_ms < 0)
		return BATON_EINVAL;
	if (sodium_init() < 0)
		return BATON_EIO;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return BATON_ENOMEM;
	c->fd = -1;
	c->timeout_ms = BC_DEFAULT_TIMEOUT_MS;
	if (opts != NULL) {
		path = opts->socket_path;
		name = opts->client_name;
		if (opts->timeout_ms > 0)
			c->timeout_ms = opts->timeout_ms;
	}
	if (path == NULL || *path == '\0')
		path = getenv("BATON_SOCKET");
	if (path == NULL || *path == '\0')
		path = BATON_DEFAULT_SOCKET;
	c->path = strdup(path);
	c->name = strdup(name != NULL ? name : "libbaton");
	randombytes_buf(&c->next_id, sizeof(c->next_id));
	if (c->path == NULL || c->name == NULL ||
	    pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c->path);
		free(c->name);
		free(c);
		return BATON_ENOMEM;
	}
	if ((ret = reconnect(c, now_ms() + c->timeout_ms)) != 0) {
		baton_client_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

void
baton_client_free(struct baton_client *c)
{
	if (c == NULL)
		return;
	disconnect(c);
	pthread_mutex_destroy(&c->mu);
	/* wiped after every call: nothing of a token is left in them */
	free(c->wbuf.data);
	free(c->abuf);
	free(c->path);
	free(c->name);
	free(c);
}

const char *
baton_client_socket(const struct baton_client *c)
{
	return c != NULL ? c->path : NULL;
}

const char *
baton_client_last_error(const struct baton_client *c)
{
	return c != NULL ? c->err : "";
}

int
baton_client_last_reason(const struct baton_client *c)
{
	return c != NULL ? c->last_reason : BATON_R_OK;
}
