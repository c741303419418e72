/* op-present.c: the short-lived single-use per-call block. */

#include "batond.h"

static int
op_present(struct request *r)
{
	return (issue_child(r, BATON_BLOCK_PRESENT));
}

const struct op_entry op_present_entry = {
	BATON_OP_PRESENT, "present", 0, op_present
};
