/*
 * wire.c: framing, names, message heads and the packed forms of values
 * and predicates of the broker wire protocol.
 */

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wire.h"

static const char *const err_names[] = {
	"ok", "bad_request", "denied", "unavailable", "too_big", "version",
	"unknown_op", "rate_limited", "permission", "internal", "shutdown"
};

/* Retry hints: what a client should do after each code. */
static const char *const err_retry[] = {
	"no", "no", "no", "later", "no", "no", "no", "later", "no", "later",
	"reconnect"
};

static const char *const op_names[] = {
	NULL, "hello", "mint", "attenuate", "present", "verify", "revoke",
	"inspect", "pubkeys", "status", "rotate", "reload",
	"source-ack"
};

const char *
baton_wire_err_name(int e)
{
	if (e < 0 || e > BATON_WIRE_EMAX)
		return ("unknown");
	return (err_names[e]);
}

const char *
baton_wire_err_retry(int e)
{
	if (e < 0 || e > BATON_WIRE_EMAX)
		return ("no");
	return (err_retry[e]);
}

const char *
baton_op_name(int op)
{
	if (op < 1 || op > BATON_OP_MAX)
		return (NULL);
	return (op_names[op]);
}

uint32_t
baton_wire_frame_len(const uint8_t hdr[BATON_WIRE_HDR])
{
	uint32_t	len;

	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | (uint32_t)hdr[3];
	if (len == 0 || len > BATON_WIRE_MAX_FRAME)
		return (0);
	return (len);
}

/*
 * Make room for len more bytes in sb.  Growing wipes the old buffer:
 * frames carry token text, and realloc would leave copies of it in freed
 * memory.  The buffer stays malloc'd, so msgpack_sbuffer_destroy still
 * frees it.
 */
static int
wire_grow(msgpack_sbuffer *sb, size_t len)
{
	size_t	 nsize;
	char	*p;

	if (sb->alloc - sb->size >= len)
		return (0);
	nsize = sb->alloc != 0 ? sb->alloc : MSGPACK_SBUFFER_INIT_SIZE;
	while (nsize - sb->size < len) {
		if (nsize > SIZE_MAX / 2)
			return (-1);
		nsize *= 2;
	}
	if ((p = malloc(nsize)) == NULL)
		return (-1);
	if (sb->data != NULL) {
		memcpy(p, sb->data, sb->size);
		sodium_memzero(sb->data, sb->alloc);
		free(sb->data);
	}
	sb->data = p;
	sb->alloc = nsize;
	return (0);
}

/* msgpack_sbuffer_write, except that growing wipes the old buffer. */
static int
wire_write(void *data, const char *buf, size_t len)
{
	msgpack_sbuffer	*sb = data;

	if (wire_grow(sb, len) != 0)
		return (-1);
	memcpy(sb->data + sb->size, buf, len);
	sb->size += len;
	return (0);
}

void
baton_wire_begin(msgpack_sbuffer *sb, msgpack_packer *pk)
{
	static const char zero[BATON_WIRE_HDR];

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, wire_write);
	/* Placeholder for the length, filled in by baton_wire_finish. */
	wire_write(sb, zero, sizeof zero);
}

void
baton_wire_reset(msgpack_sbuffer *sb, msgpack_packer *pk)
{
	static const char zero[BATON_WIRE_HDR];

	/* Growing wiped every older buffer: only size bytes were written. */
	if (sb->data != NULL)
		sodium_memzero(sb->data, sb->size);
	sb->size = 0;
	msgpack_packer_init(pk, sb, wire_write);
	wire_write(sb, zero, sizeof zero);
}

int
baton_wire_finish(msgpack_sbuffer *sb)
{
	size_t	len;

	if (sb->data == NULL || sb->size < BATON_WIRE_HDR)
		return (BATON_ENOMEM);
	len = sb->size - BATON_WIRE_HDR;
	if (len == 0 || len > BATON_WIRE_MAX_FRAME)
		return (BATON_ETOOBIG);
	sb->data[0] = (char)(len >> 24);
	sb->data[1] = (char)(len >> 16);
	sb->data[2] = (char)(len >> 8);
	sb->data[3] = (char)len;
	return (0);
}

/*
 * Room for len more bytes in a buffer of ours, or NULL: then the caller
 * goes through msgpack, which calls wire_write and may grow the buffer.
 * Answers are packed a few bytes at a time, so writing a string's head
 * and body straight in saves two indirect calls per string.
 */
static char *
wire_room(msgpack_packer *pk, size_t len)
{
	msgpack_sbuffer	*sb = pk->data;

	if (pk->callback != wire_write || sb->alloc - sb->size < len)
		return (NULL);
	return (sb->data + sb->size);
}

/* The bytes written at p (from wire_room) now belong to the frame. */
static void
wire_took(msgpack_packer *pk, const char *end)
{
	msgpack_sbuffer	*sb = pk->data;

	sb->size = (size_t)(end - sb->data);
}

char *
baton_wire_room(msgpack_packer *pk, size_t len)
{
	msgpack_sbuffer	*sb = pk->data;

	if (pk->callback != wire_write || wire_grow(sb, len) != 0)
		return (NULL);
	return (sb->data + sb->size);
}

void
baton_wire_took(msgpack_packer *pk, const char *end)
{
	wire_took(pk, end);
}

void
baton_pack_str(msgpack_packer *pk, const char *s)
{
	baton_pack_strn(pk, s, strlen(s));
}

/* The same bytes as msgpack_pack_str and _str_body (fixstr, str 8). */
void
baton_pack_strn(msgpack_packer *pk, const char *s, size_t len)
{
	char	*p;

	if (len < 256 && (p = wire_room(pk, len + 2)) != NULL) {
		if (len < 32)
			*p++ = (char)(0xa0 | len);
		else {
			*p++ = (char)0xd9;
			*p++ = (char)len;
		}
		if (len != 0)
			memcpy(p, s, len);
		wire_took(pk, p + len);
		return;
	}
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

/* The same bytes as msgpack_pack_bin and _bin_body (bin 8). */
void
baton_pack_bin(msgpack_packer *pk, const void *v, size_t len)
{
	char	*p;

	if (len < 256 && (p = wire_room(pk, len + 2)) != NULL) {
		*p++ = (char)0xc4;
		*p++ = (char)len;
		if (len != 0)
			memcpy(p, v, len);
		wire_took(pk, p + len);
		return;
	}
	msgpack_pack_bin(pk, len);
	msgpack_pack_bin_body(pk, v, len);
}

void
baton_pack_bool(msgpack_packer *pk, int b)
{
	char	*p;

	if ((p = wire_room(pk, 1)) != NULL) {
		*p++ = (char)(b ? 0xc3 : 0xc2);
		wire_took(pk, p);
		return;
	}
	if (b)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

void
baton_wire_pack_value(msgpack_packer *pk, const struct baton_value *v)
{
	switch (v->type) {
	case BATON_V_STR:
		baton_pack_strn(pk, v->s, v->len);
		break;
	case BATON_V_INT:
		msgpack_pack_int64(pk, v->i);
		break;
	case BATON_V_BOOL:
		baton_pack_bool(pk, v->i != 0);
		break;
	default:
		msgpack_pack_nil(pk);
		break;
	}
}

void
baton_wire_pack_pred(msgpack_packer *pk, const struct baton_pred *p)
{
	size_t	i;

	switch (p->op) {
	case BATON_P_EQ:
		msgpack_pack_array(pk, 2);
		baton_pack_str(pk, "eq");
		baton_wire_pack_value(pk, &p->vals[0]);
		break;
	case BATON_P_IN:
		msgpack_pack_array(pk, 2);
		baton_pack_str(pk, "in");
		msgpack_pack_array(pk, p->nvals);
		for (i = 0; i < p->nvals; i++)
			baton_wire_pack_value(pk, &p->vals[i]);
		break;
	case BATON_P_PREFIX:
	case BATON_P_GLOB:
		msgpack_pack_array(pk, 2);
		baton_pack_str(pk, p->op == BATON_P_PREFIX ? "prefix" : "glob");
		baton_wire_pack_value(pk, &p->vals[0]);
		break;
	case BATON_P_RANGE:
		msgpack_pack_array(pk, 3);
		baton_pack_str(pk, "range");
		msgpack_pack_int64(pk, p->lo);
		msgpack_pack_int64(pk, p->hi);
		break;
	case BATON_P_MAXLEN:
		msgpack_pack_array(pk, 2);
		baton_pack_str(pk, "maxlen");
		msgpack_pack_uint64(pk, p->maxlen);
		break;
	default:
		msgpack_pack_nil(pk);
		break;
	}
}

/*
 * The head every client writes: a fixarray of 3, the op as a fixint, the
 * id as a fixint or uint 8, 16 or 32, then a map's first byte.  Read in
 * place, 1 if it is that (r then at the body), 0 to read it the long way,
 * which accepts everything this does and reads the same values.
 */
static int
head_fast(struct mpr *r, uint32_t *op, uint32_t *id)
{
	const uint8_t	*p = r->p;
	size_t		 avail, k, w;
	uint32_t	 v;

	if (r->err != 0 || p == NULL)
		return (0);
	avail = (size_t)(r->end - p);
	if (avail < 4 || p[0] != 0x93 || p[1] < 1 || p[1] > 127)
		return (0);
	if (p[2] <= 0x7f) {
		v = p[2];
		k = 3;
	} else if (p[2] >= 0xcc && p[2] <= 0xce) {
		w = (size_t)1 << (p[2] - 0xcc);
		if (avail < 3 + w + 1)
			return (0);
		for (v = 0, k = 3; k < 3 + w; k++)
			v = v << 8 | p[k];
	} else
		return (0);
	/* a map (fixmap, map 16 or 32) opens the body */
	if ((p[k] & 0xf0) != 0x80 && p[k] != 0xde && p[k] != 0xdf)
		return (0);
	*op = p[1];
	*id = v;
	r->p = p + k;
	return (1);
}

int
baton_wire_read_request(struct mpr *r, uint32_t *op, uint32_t *id)
{
	uint32_t	n;
	uint64_t	v;

	if (head_fast(r, op, id))
		return (0);
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

int
baton_wire_read_response(struct mpr *r, uint32_t *op, uint32_t *id,
    int *status)
{
	uint32_t	n;
	uint64_t	v;

	if (mpr_array(r, &n) != 0 || n != 4)
		return (BATON_EMALFORMED);
	if (mpr_uint(r, &v) != 0 || (v & BATON_WIRE_RESPONSE) == 0 ||
	    v > 0xff)
		return (BATON_EMALFORMED);
	*op = (uint32_t)(v & ~BATON_WIRE_RESPONSE);
	if (mpr_uint(r, &v) != 0 || v > UINT32_MAX)
		return (BATON_EMALFORMED);
	*id = (uint32_t)v;
	if (mpr_uint(r, &v) != 0 || v > 0xffff)
		return (BATON_EMALFORMED);
	*status = (int)v;
	if (mpr_peek(r) != MPR_MAP)
		return (BATON_EMALFORMED);
	return (0);
}
