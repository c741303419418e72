/*
 * fuzz_modargs.c: a stack line's arguments through a module's init, as
 * the broker hands them over: the first byte picks the module, each
 * further line is one argument, in a buffer of its own exact size.
 */

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzzmod.h"

#define MAX_ARGS	34	/* a stack line's words past the module name */

static const char *const	 acts[] = { "read", "write" };
static const char *const	*tool_acts[] = { acts, NULL };
static const size_t		 tool_nacts[] = { 2, 0 };
static const char *const	 tools[] = { "db_query", "files" };
static const char *const	 auds[] = { "db" };

/* What the module says about two decisions: verify, then issue. */
static void
decide(const struct baton_module *m, void *state)
{
	struct fuzz_decision	d;
	char			reason[256];
	enum baton_answer	a;

	memset(&d, 0, sizeof d);
	d.phase = BATON_PHASE_VERIFY;
	d.op = "verify";
	d.service = "db";
	d.agent = "worker";
	d.subject = "alice";
	d.tool = "db_query";
	d.action = "read";
	d.audience = "db";
	d.tools = tools;
	d.actions = tool_acts;
	d.nactions = tool_nacts;
	d.ntools = 2;
	d.limit_name = "max_rows";
	d.limit_max = 100;
	d.aud = auds;
	d.naud = 1;
	d.lifetime = 600;
	d.depth = 1;
	d.depth_left = 2;
	reason[0] = '\0';
	a = m->authorize(state, (const struct baton_decision *)&d, reason,
	    sizeof reason);
	FUZZ_ASSERT(a <= BATON_ANSWER_ERROR);
	FUZZ_ASSERT(memchr(reason, '\0', sizeof reason) != NULL);
	d.phase = BATON_PHASE_ISSUE;
	d.op = "mint";
	d.service = "issue";
	d.agent = "orchestrator";
	d.ttl = 600;
	a = m->authorize(state, (const struct baton_decision *)&d, reason,
	    sizeof reason);
	FUZZ_ASSERT(a <= BATON_ANSWER_ERROR);
	FUZZ_ASSERT(memchr(reason, '\0', sizeof reason) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct baton_module	*m;
	const uint8_t			*p, *end, *nl;
	char				*argv[MAX_ARGS + 1], err[512];
	void				*state = NULL;
	size_t				 n, nmods;
	int				 argc = 0, i, rc;

	if (size == 0)
		return (0);
	for (nmods = 0; fuzz_module_names[nmods] != NULL; nmods++)
		;
	m = fuzz_module(fuzz_module_names[data[0] % nmods]);
	FUZZ_ASSERT(m != NULL);
	for (p = data + 1, end = data + size; p < end && argc < MAX_ARGS;
	    p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		/* a stack line's words: no NUL, no blank inside */
		if (memchr(p, '\0', n) != NULL || memchr(p, ' ', n) != NULL ||
		    memchr(p, '\t', n) != NULL)
			goto out;
		if ((argv[argc] = malloc(n + 1)) == NULL)
			abort();
		memcpy(argv[argc], p, n);
		argv[argc++][n] = '\0';
	}
	argv[argc] = NULL;
	memset(err, 0, sizeof err);
	rc = m->init(fuzz_host(), argc, argv, &state, err, sizeof err);
	FUZZ_ASSERT(rc == 0 || rc == -1);
	FUZZ_ASSERT(memchr(err, '\0', sizeof err) != NULL);
	if (rc != 0) {
		FUZZ_ASSERT(err[0] != '\0');	/* a message for each */
		goto out;
	}
	if (m->authorize != NULL)
		decide(m, state);
	if (m->fini != NULL)
		m->fini(state);
out:
	for (i = 0; i < argc; i++)
		free(argv[i]);
	return (0);
}
