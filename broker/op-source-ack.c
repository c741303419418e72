/*
 * op-source-ack.c: an operator acknowledges what a lookup source refuses
 * to pass over alone (admin only), e.g. a Redis that came back empty
 * while entries should still be live (baton_redis(8)).  The source's ack
 * hook decides what that means; the broker only routes it and logs it.
 */

#include <stdlib.h>

#include "batond.h"

static int
op_source_ack(struct request *r)
{
	struct body	 b;
	char		*cause = NULL, msg[1024];

	if (body_parse(&b, &r->body, &cause) != 0) {
		req_error(r, BATON_WIRE_EBADREQ, "%s", cause);
		free(cause);
		body_free(&b);
		return (-1);
	}
	if (b.source == NULL) {
		req_error(r, BATON_WIRE_EBADREQ, "source-ack needs source");
		body_free(&b);
		return (-1);
	}
	if (sources_ack(b.source, msg, sizeof msg) != 0) {
		log_warnx("source-ack %s by uid %u refused: %s", b.source,
		    (unsigned)r->peer->uid, msg);
		req_error(r, BATON_WIRE_EUNAVAIL, "source-ack %s: %s",
		    b.source, msg);
		body_free(&b);
		return (-1);
	}
	log_warnx("source-ack %s by uid %u: %s", b.source,
	    (unsigned)r->peer->uid, msg);
	req_begin(r);
	msgpack_pack_map(&r->pk, 1);
	baton_pack_str(&r->pk, "acked");
	baton_pack_str(&r->pk, msg);
	body_free(&b);
	return (0);
}

const struct op_entry op_source_ack_entry = {
	BATON_OP_SOURCE_ACK, "source-ack", 1, op_source_ack
};
