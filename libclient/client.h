/*
 * client.h: the internal header of libclient, shared by libbaton-agent,
 * libbaton-verify and the baton CLI.  Nothing here is exported.
 */
#ifndef BATON_CLIENT_H
#define BATON_CLIENT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <msgpack.h>

#include "baton/agent.h"
#include "baton/verify.h"

#define BC_DEFAULT_TIMEOUT_MS	5000
#define BC_ERRLEN		256

struct baton_client {
	pthread_mutex_t	 mu;
	char		*path;
	char		*name;
	int		 fd;		/* -1: not connected */
	int		 timeout_ms;
	uint32_t	 next_id;
	int		 last_reason;
	char		 err[BC_ERRLEN];
	/*
	 * Bytes read ahead of the frame being parsed: one recv usually
	 * brings a whole answer, header and body.  Wiped once used (an
	 * answer may hold a token).
	 */
	uint8_t		 rbuf[4096];
	size_t		 roff, rlen;
	int64_t		 last_ms;	/* end of the last round trip */
	/*
	 * Kept from call to call so that a round trip allocates nothing:
	 * the request frame being sent and an answer frame too long for
	 * rbuf.  Both carry tokens: what was written is wiped after use.
	 */
	msgpack_sbuffer	 wbuf;
	int		 wfail;		/* a write to wbuf failed (ENOMEM) */
	uint8_t		*abuf;
	size_t		 acap;
	/*
	 * The socket blocks, with SO_RCVTIMEO and SO_SNDTIMEO as the
	 * deadline's clock (ms currently set), so that one recv both waits
	 * and reads (see conn.c).
	 */
	int		 rcvto, sndto;
};

/*
 * One request/response round trip: op with the packed body map (the bytes
 * of one msgpack map, or NULL for an empty map).  On 0, *resp is the
 * response body as JSON (bin values as lowercase hex), owned by the
 * caller.  Takes the handle's mutex; reconnects once on a broken
 * connection when the broker cannot have acted on the request, or the
 * operation is idempotent (see conn.c).  Sets the handle's last error and
 * reason.
 */
int	bc_call(struct baton_client *, uint32_t op, const msgpack_sbuffer *body,
	    json_t **resp);
/* The same, and on BATON_EDENIED the decision reason, read under the lock. */
int	bc_call_reason(struct baton_client *, uint32_t op,
	    const msgpack_sbuffer *body, json_t **resp, int *reason);

/*
 * The hot path (verify), without JSON.  pack, called under the handle's
 * lock (on a retry again), writes the request body, one msgpack map.
 * The body of a successful answer is checked to convert to JSON exactly
 * as bc_call would convert it (bc_mpr_check_map), and field sees each of
 * its top-level values with a string key on the way; then take gets the
 * whole body and must copy what it keeps: the bytes are wiped when it
 * returns.  take returns 0 or BATON_ENOMEM.  Errors as bc_call_reason.
 */
typedef int	(*bc_pack_fn)(msgpack_packer *, const void *arg);
typedef void	(*bc_field_fn)(void *arg, const char *key, size_t klen,
		    const uint8_t *val, size_t vlen);
typedef int	(*bc_take_fn)(void *arg, const uint8_t *body, size_t len);
int	bc_call_raw(struct baton_client *, uint32_t op, bc_pack_fn,
	    const void *parg, bc_field_fn, bc_take_fn, void *targ,
	    int *reason);
/*
 * In a bc_pack_fn: room for len more bytes of the request, which the
 * caller writes in full, or NULL when out of memory (the call then fails
 * with BATON_ENOMEM).
 */
uint8_t	*bc_pack_room(msgpack_packer *, size_t len);

/*
 * baton_wire_read_response, with the head batond writes read in place:
 * the same results, the same refusals.
 */
int	bc_read_head(struct mpr *, uint32_t *op, uint32_t *id, int *status);

/* A response body or one msgpack value, bounded, to JSON. */
int	bc_mp_to_json(const void *, size_t, json_t **);
struct mpr;
int	bc_mpr_to_json(struct mpr *, int depth, json_t **);
/*
 * 0 if bc_mpr_to_json would convert the value at r (given enough memory),
 * else BATON_EPROTO; consumes the value as it would.  Allocates nothing.
 * depth is at least 0.
 */
int	bc_mpr_check(struct mpr *, int depth);
/* The same for a map at depth 0, with field as for bc_call_raw. */
int	bc_mpr_check_map(struct mpr *, bc_field_fn field, void *arg);

/* Set the handle's error text (printf-style). */
void	bc_seterr(struct baton_client *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

/* Small JSON getters that tolerate absence. */
const char *bc_json_str(const json_t *, const char *key);
uint64_t bc_json_u64(const json_t *, const char *key);

/* Wipe and free a NUL-terminated secret string. */
void	bc_free_secret(char *);

/* The verify result (verify.c), built from a JSON decision. */
int	bc_result_from_json(struct baton_verify_result **, json_t *decision);

/* Offline facts of a decoded token as JSON (facts.c). */
struct baton_token;
struct baton_effective;
struct baton_tool_facts;
json_t	*bc_facts_json(const struct baton_token *,
	    const struct baton_effective *, const struct baton_tool_facts *,
	    const char *tool);
json_t	*bc_grants_json(const void *grants);	/* struct baton_grants */

#endif /* BATON_CLIENT_H */
