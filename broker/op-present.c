/* op-present.c: the short-lived single-use per-call block. */

#include <stdlib.h>

#include "batond.h"

static int
op_present(struct request *r)
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
	rc = issue_child(r, &b, BATON_BLOCK_PRESENT);
	body_free(&b);
	return (rc);
}

const struct op_entry op_present_entry = {
	BATON_OP_PRESENT, "present", 0, op_present
};
