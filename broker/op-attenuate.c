/* op-attenuate.c: a narrower child block, written for a checked delegator. */

#include <stdlib.h>

#include "batond.h"

static int
op_attenuate(struct request *r)
{
	struct body	 b;
	char		*cause = NULL;
	int		 rc;

	if (body_parse(&b, &r->body, &cause) != 0) {
		req_error(r, BATON_WIRE_EBADREQ, "%s", cause);
		free(cause);
		body_free(&b);
		return (-1);
	}
	rc = issue_child(r, &b, BATON_BLOCK_ATTENUATE);
	body_free(&b);
	return (rc);
}

const struct op_entry op_attenuate_entry = {
	BATON_OP_ATTENUATE, "attenuate", 0, op_attenuate
};
