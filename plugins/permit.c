/* permit.c: baton_permit(8), the module that always allows. */

#include <stdio.h>

#include <baton/module.h>

static int
permit_init(const struct baton_host *host, int argc, char *const *argv,
    void **state, char *err, size_t errlen)
{
	(void)host;
	(void)state;
	if (argc != 0) {
		snprintf(err, errlen, "takes no arguments (got \"%.64s\")",
		    argv[0]);
		return (-1);
	}
	return (0);
}

static enum baton_answer
permit_authorize(void *state, const struct baton_decision *d, char *reason,
    size_t len)
{
	(void)state;
	(void)d;
	(void)reason;
	(void)len;
	return (BATON_ANSWER_OK);
}

static const struct baton_module permit = {
	.magic = BATON_MODULE_MAGIC,
	.abi = BATON_MODULE_ABI,
	.size = sizeof(struct baton_module),
	.name = "permit",
	.init = permit_init,
	.authorize = permit_authorize,
};

BATON_MODULE_EXPORT const struct baton_module *baton_module_entry(void);

const struct baton_module *
baton_module_entry(void)
{
	return (&permit);
}
