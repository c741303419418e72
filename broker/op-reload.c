/* op-reload.c: re-read the configuration, as SIGHUP does. */

#include <stdlib.h>

#include "batond.h"

static int
op_reload(struct request *r)
{
	char	*cause = NULL;

	if (broker_reload(&cause) != 0) {
		req_error(r, BATON_WIRE_EBADREQ, "reload refused, old "
		    "configuration kept: %s", cause);
		free(cause);
		return (-1);
	}
	req_begin(r);
	msgpack_pack_map(&r->pk, 0);
	return (0);
}

const struct op_entry op_reload_entry = {
	BATON_OP_RELOAD, "reload", 1, op_reload
};
