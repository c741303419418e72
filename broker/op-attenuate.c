/* op-attenuate.c: a narrower child block, written for a checked delegator. */

#include "batond.h"

static int
op_attenuate(struct request *r)
{
	return (issue_child(r, BATON_BLOCK_ATTENUATE));
}

const struct op_entry op_attenuate_entry = {
	BATON_OP_ATTENUATE, "attenuate", 0, op_attenuate
};
