/* op-rotate.c: a new signing key; the old one keeps verifying. */

#include <stdlib.h>

#include "batond.h"

static int
op_rotate(struct request *r)
{
	struct config	*cfg;
	uint8_t		 kid[BATON_KID_LEN];
	char		*cause = NULL, hex[BATON_KID_LEN * 2 + 1];
	uint64_t	 max_ttl;

	cfg = broker_config();
	max_ttl = cfg->max_ttl;
	broker_config_release();
	if (keystore_rotate(max_ttl, kid, &cause) != 0) {
		req_error(r, BATON_WIRE_EUNAVAIL, "rotate: %s", cause);
		free(cause);
		return (-1);
	}
	baton_hex(hex, kid, sizeof kid);
	log_info("rotated: new signing key %s (uid %u)", hex,
	    (unsigned)r->peer->uid);
	req_begin(r);
	msgpack_pack_map(&r->pk, 1);
	baton_pack_str(&r->pk, "kid");
	baton_pack_bin(&r->pk, kid, sizeof kid);
	return (0);
}

const struct op_entry op_rotate_entry = {
	BATON_OP_ROTATE, "rotate", 1, op_rotate
};
