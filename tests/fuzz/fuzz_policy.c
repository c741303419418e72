/*
 * fuzz_policy.c: a baton-policy(5) rules file through the policy
 * module's init, then its answers on a verify and three issue decisions.
 * The same rules with "deny * * *" added must deny all four.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzzmod.h"

#define NDECISIONS	4

static const char *const	 acts[] = { "read", "write" };
static const char *const	*tool_acts[] = { acts, NULL };
static const size_t		 tool_nacts[] = { 2, 0 };
static const char *const	 tools[] = { "db_query", "files" };
static const char *const	 auds[] = { "db", "files" };

static void
decision(struct fuzz_decision *d, int i)
{
	memset(d, 0, sizeof *d);
	d->agent = i == 2 ? "orchestrator" : "worker";
	d->subject = "alice";
	d->tools = tools;
	d->actions = tool_acts;
	d->nactions = tool_nacts;
	d->ntools = 2;
	d->limit_name = "max_rows";
	d->limit_max = 100;
	d->aud = auds;
	d->naud = i == 3 ? 1 : 2;
	d->lifetime = 600;
	d->depth = 1;
	d->depth_left = (uint64_t)i;
	switch (i) {
	case 0:
		d->phase = BATON_PHASE_VERIFY;
		d->op = "verify";
		d->service = d->audience = "db";
		d->tool = "db_query";
		d->action = "read";
		break;
	case 1:		/* a wildcard grant */
		d->wildcard = 1;
		d->ntools = 0;
		d->aud = NULL;
		/* FALLTHROUGH */
	default:
		d->phase = BATON_PHASE_ISSUE;
		d->op = i == 3 ? "attenuate" : "mint";
		d->service = "issue";
		d->ttl = 600;
		break;
	}
}

/* Rules text into DIR/rules, then init; the state, or NULL. */
static void *
load(const struct baton_module *m, const uint8_t *data, size_t size,
    const char *extra)
{
	char	path[256], arg[262], *argv[2], err[512];
	void	*state = NULL;
	uint8_t	*buf;
	size_t	 n = strlen(extra);
	int	 rc;

	if ((buf = malloc(size + n + 1)) == NULL)
		abort();
	memcpy(buf, data, size);
	memcpy(buf + size, extra, n);
	snprintf(path, sizeof path, "%s/rules", fuzz_dir());
	if (fuzz_write_file(fuzz_dir(), "rules", buf, size + n) != 0)
		abort();
	free(buf);
	snprintf(arg, sizeof arg, "rules=%s", path);
	argv[0] = arg;
	argv[1] = NULL;
	memset(err, 0, sizeof err);
	rc = m->init(fuzz_host(), 1, argv, &state, err, sizeof err);
	FUZZ_ASSERT(rc == 0 || rc == -1);
	FUZZ_ASSERT(memchr(err, '\0', sizeof err) != NULL);
	FUZZ_ASSERT(rc == 0 || err[0] != '\0');
	return (rc == 0 ? state : NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct baton_module	*m = fuzz_entry_policy();
	struct fuzz_decision		 d;
	enum baton_answer		 a;
	char				 reason[256];
	void				*state;
	int				 i;

	if ((state = load(m, data, size, "")) == NULL)
		return (0);
	for (i = 0; i < NDECISIONS; i++) {
		decision(&d, i);
		memset(reason, 0, sizeof reason);
		a = m->authorize(state, (const struct baton_decision *)&d,
		    reason, sizeof reason);
		FUZZ_ASSERT(a == BATON_ANSWER_OK || a == BATON_ANSWER_DENY);
		FUZZ_ASSERT(memchr(reason, '\0', sizeof reason) != NULL);
		FUZZ_ASSERT(reason[0] != '\0');	/* names its rule */
	}
	m->fini(state);
	/* a deny rule for everything wins over any allow */
	if ((state = load(m, data, size, "\ndeny * * *\n")) == NULL)
		return (0);
	for (i = 0; i < NDECISIONS; i++) {
		decision(&d, i);
		a = m->authorize(state, (const struct baton_decision *)&d,
		    reason, sizeof reason);
		FUZZ_ASSERT(a == BATON_ANSWER_DENY);
	}
	m->fini(state);
	return (0);
}
