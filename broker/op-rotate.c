/*
 * op-rotate.c: a new signing key.  The old one keeps verifying what it
 * signed until rotation time + max-ttl, unless the caller asks for an
 * emergency rotation ("now"), which distrusts every older key at once.
 */

#include <stdlib.h>

#include "batond.h"

static int
op_rotate(struct request *r)
{
	struct body	 b;
	struct config	*cfg;
	uint8_t		 kid[BATON_KID_LEN];
	char		*cause = NULL, hex[BATON_KID_LEN * 2 + 1];
	uint64_t	 max_ttl;
	size_t		 dropped = 0;
	int		 rc = -1;

	if (body_parse(&b, &r->body, &cause) != 0) {
		req_error(r, BATON_WIRE_EBADREQ, "%s", cause);
		goto out;
	}
	cfg = broker_config();
	max_ttl = cfg->max_ttl;
	broker_config_release();
	if (keystore_rotate(max_ttl, b.now, kid, &dropped, &cause) != 0) {
		req_error(r, BATON_WIRE_EUNAVAIL, "rotate: %s", cause);
		goto out;
	}
	baton_hex(hex, kid, sizeof kid);
	if (b.now)
		log_warnx("emergency rotation: new signing key %s, %zu older "
		    "key(s) distrusted and deleted (uid %u)", hex, dropped,
		    (unsigned)r->peer->uid);
	else
		log_info("rotated: new signing key %s (uid %u)", hex,
		    (unsigned)r->peer->uid);
	req_begin(r);
	msgpack_pack_map(&r->pk, 2);
	baton_pack_str(&r->pk, "kid");
	baton_pack_bin(&r->pk, kid, sizeof kid);
	baton_pack_str(&r->pk, "distrusted");
	msgpack_pack_uint64(&r->pk, dropped);
	rc = 0;
out:
	free(cause);
	body_free(&b);
	return (rc);
}

const struct op_entry op_rotate_entry = {
	BATON_OP_ROTATE, "rotate", 1, op_rotate
};
