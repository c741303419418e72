/*
 * wire.h: the broker's wire protocol, shared by batond and the client
 * libraries.  doc/PROTOCOL.md is the prose specification; this header is
 * its machine form.  Numbers here are protocol: never renumber.
 *
 * A frame is a u32 big-endian length (1..BATON_WIRE_MAX_FRAME) followed by
 * that many bytes holding one msgpack array:
 *
 *   request   [op, id, body]            op 1..127, id u32, body a map
 *   response  [op | 0x80, id, status, body]
 *
 * status is 0 on success, else a BATON_WIRE_E* code; an error body holds
 * "error" (the code's name), "message" (English) and "retry" ("no",
 * "later" or "reconnect").  Body maps use string keys.  Requests may be
 * pipelined; responses carry the request's id and may come in any order.
 */
#ifndef BATON_WIRE_H
#define BATON_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "common.h"

#define BATON_WIRE_VERSION	1
#define BATON_WIRE_MAX_FRAME	65536
#define BATON_WIRE_HDR		4
#define BATON_WIRE_RESPONSE	0x80

enum baton_op {
	BATON_OP_HELLO = 1,	/* {version, client} -> {version, server, max_frame} */
	BATON_OP_MINT = 2,	/* {as?, sub?, ttl, aud?, grants, max_depth?,
				    single_use?, holder?, ctx?, nbf?} -> {token, jti, exp} */
	BATON_OP_ATTENUATE = 3,	/* {token, as?, grants?, aud?, ttl?, max_depth?,
				    single_use?, holder?, ctx?} -> {token, jti, exp} */
	BATON_OP_PRESENT = 4,	/* {token, as?, tool, action, aud, ttl?} -> {token, jti, exp} */
	BATON_OP_VERIFY = 5,	/* {token, tool, action?, aud?, args?, usage?} ->
				    {allow, reason, reason_name, facts} */
	BATON_OP_REVOKE = 6,	/* {jti} | {token} -> {revoked: [jti...]} */
	BATON_OP_INSPECT = 7,	/* {token} -> {verified, reason, chain} */
	BATON_OP_PUBKEYS = 8,	/* {} -> {keys: [{kid, pk, not_after, signing}]} */
	BATON_OP_STATUS = 9,	/* {format?} -> {counters..., text?} */
	BATON_OP_ROTATE = 10,	/* admin: {} -> {kid} */
	BATON_OP_RELOAD = 11,	/* admin: {} -> {} */
	BATON_OP_SOURCE_ACK = 12, /* admin: {source} -> {acked} */
	BATON_OP_MAX = 12
};

/*
 * Wire forms of the token facts (shared by mint, attenuate and verify):
 *   grants   "*" or {tool: {"actions": [str], "limits": {name: uint},
 *                           "where": {arg: [pred, ...]}}}
 *   pred     ["eq", v] ["in", [v...]] ["prefix", s] ["glob", s]
 *            ["range", lo, hi] ["maxlen", n]      v: str, int or bool
 *   args     {name: str | int | bool}
 *   usage    {limit name: uint}
 *   jti      bin 16, kid bin 8
 */

/* Protocol error codes (the status of a response). */
enum baton_wire_err {
	BATON_WIRE_OK = 0,
	BATON_WIRE_EBADREQ = 1,		/* malformed or invalid request: retry no */
	BATON_WIRE_EDENIED = 2,		/* refused (reason in body): retry no */
	BATON_WIRE_EUNAVAIL = 3,	/* state or key unavailable: retry later */
	BATON_WIRE_ETOOBIG = 4,		/* frame over the limit: retry no */
	BATON_WIRE_EVERSION = 5,	/* unsupported protocol version: retry no */
	BATON_WIRE_EUNKNOWNOP = 6,	/* op not known: retry no */
	BATON_WIRE_ERATELIMIT = 7,	/* rate limited: retry later */
	BATON_WIRE_EPERM = 8,		/* caller lacks the privilege: retry no */
	BATON_WIRE_EINTERNAL = 9,	/* broker fault: retry later */
	BATON_WIRE_ESHUTDOWN = 10,	/* broker draining: retry reconnect */
	BATON_WIRE_EMAX = 10
};

const char *baton_wire_err_name(int);	/* "bad_request", ... */
const char *baton_wire_err_retry(int);	/* "no", "later", "reconnect" */
const char *baton_op_name(int);		/* "mint", ... or NULL */

/*
 * Length of the frame whose 4-byte header is at hdr, or 0 if the declared
 * length is 0 or over BATON_WIRE_MAX_FRAME (the caller then drops the
 * connection before buffering anything).
 */
uint32_t baton_wire_frame_len(const uint8_t hdr[BATON_WIRE_HDR]);

/*
 * Start a frame in sbuf: reserves the length header.  Pack the message
 * with the packer, then call baton_wire_finish, which fills the header
 * and fails with BATON_ETOOBIG if the message is over the limit.
 */
void	baton_wire_begin(msgpack_sbuffer *, msgpack_packer *);
/*
 * The same in sbuf's own buffer (or a new one if it has none): what it
 * held is wiped first and the allocation kept, for a caller that reuses
 * one buffer for frame after frame.  sbuf must have been initialised.
 */
void	baton_wire_reset(msgpack_sbuffer *, msgpack_packer *);
int	baton_wire_finish(msgpack_sbuffer *);

/*
 * Writing a frame's bytes in place, for answers packed on every request:
 * baton_wire_room returns room for len more bytes at the end of a frame
 * begun with baton_wire_begin or _reset (growing it, the old buffer
 * wiped), or NULL if the packer is not a frame's or memory ran out.
 * Write at most len bytes there, then give the end of what was written
 * to baton_wire_took; the frame holds it from then on.
 */
char	*baton_wire_room(msgpack_packer *, size_t len);
void	 baton_wire_took(msgpack_packer *, const char *end);

/*
 * v at p in the smallest msgpack uint form, the bytes msgpack_pack_uint64
 * (and _uint32) write; p has room for 9.  Returns the end.
 */
static inline char *
baton_put_uint(char *p, uint64_t v)
{
	int	n;

	if (v < 128) {
		*p++ = (char)v;
		return (p);
	}
	if (v < 256) {
		*p++ = (char)0xcc;
		n = 1;
	} else if (v < 65536) {
		*p++ = (char)0xcd;
		n = 2;
	} else if (v <= UINT32_MAX) {
		*p++ = (char)0xce;
		n = 4;
	} else {
		*p++ = (char)0xcf;
		n = 8;
	}
	while (n-- > 0)
		*p++ = (char)(v >> (8 * n));
	return (p);
}

/* Packing helpers for string-keyed body maps. */
void	baton_pack_str(msgpack_packer *, const char *);
void	baton_pack_strn(msgpack_packer *, const char *, size_t);
void	baton_pack_bin(msgpack_packer *, const void *, size_t);
void	baton_pack_bool(msgpack_packer *, int);

/*
 * The "Wire forms" above, for the broker's answers and the client's
 * requests alike, so both ends write the same bytes.  A value of
 * BATON_V_NONE, or a predicate with an unknown op, packs as nil.
 */
void	baton_wire_pack_value(msgpack_packer *, const struct baton_value *);
void	baton_wire_pack_pred(msgpack_packer *, const struct baton_pred *);

/*
 * Read the head of a message: request [op, id, body] or response
 * [op|0x80, id, status, body].  On success the reader is positioned at
 * the body map.
 */
int	baton_wire_read_request(struct mpr *, uint32_t *op, uint32_t *id);
int	baton_wire_read_response(struct mpr *, uint32_t *op, uint32_t *id,
	    int *status);

#endif /* BATON_WIRE_H */
