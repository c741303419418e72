/*
 * answer.c: a module for tests only: answers what its stack line says
 * (answer=ok|deny|ignore|error, after sleep=MS), or refuses its
 * arguments.  Built again with -DBAD_MAGIC, -DBAD_ABI, -DBAD_SIZE and
 * -DEXTRA_SYMBOL into the broken modules the loader must refuse, and with
 * -DLOOKUP=STATUS into sources that always answer STATUS.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <baton/module.h>

struct answer {
	enum baton_answer	answer;
	long			sleep_ms;
};

static int
answer_init(const struct baton_host *host, int argc, char *const *argv,
    void **state, char *err, size_t errlen)
{
	static const char *const names[] = { "ok", "deny", "ignore", "error" };
	struct answer	*a;
	int		 i, k;

	(void)host;
	if ((a = calloc(1, sizeof *a)) == NULL)
		abort();
	a->answer = BATON_ANSWER_IGNORE;
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "answer=", 7) == 0) {
			for (k = 0; k < 4; k++)
				if (strcmp(argv[i] + 7, names[k]) == 0)
					break;
			if (k == 4)
				goto bad;
			a->answer = (enum baton_answer)k;
		} else if (strncmp(argv[i], "sleep=", 6) == 0)
			a->sleep_ms = atol(argv[i] + 6);
		else
			goto bad;
	}
	*state = a;
	return (0);
bad:
	snprintf(err, errlen, "bad argument \"%s\"", argv[i]);
	free(a);
	return (-1);
}

static enum baton_answer
answer_authorize(void *state, const struct baton_decision *d, char *reason,
    size_t len)
{
	struct answer	*a = state;
	struct timespec	 ts;

	(void)d;
	if (a->sleep_ms > 0) {
		ts.tv_sec = a->sleep_ms / 1000;
		ts.tv_nsec = (a->sleep_ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}
	if (a->answer == BATON_ANSWER_DENY)
		snprintf(reason, len, "told to deny");
	return (a->answer);
}

#ifdef LOOKUP
static enum baton_status
answer_lookup(void *state, const struct baton_query *q)
{
	(void)state;
	(void)q;
	return (LOOKUP);
}
#endif

#ifdef OLD_SIZE
/* Past the descriptor's size: the broker must never call it. */
static enum baton_status
answer_update_junk(void *state, const struct baton_query *q)
{
	(void)state;
	(void)q;
	abort();
}
#endif

static void
answer_fini(void *state)
{
	free(state);
}

static const struct baton_module answer = {
#ifdef BAD_MAGIC
	.magic = 0xdeadbeefU,
#else
	.magic = BATON_MODULE_MAGIC,
#endif
#ifdef BAD_ABI
	.abi = BATON_MODULE_ABI + 1,
#else
	.abi = BATON_MODULE_ABI,
#endif
#ifdef BAD_SIZE
	.size = 8,
#elif defined(OLD_SIZE)
	/* Built before update, health and ack: what it sets there is junk. */
	.size = BATON_MODULE_SIZE_1,
	.update = answer_update_junk,
#else
	.size = sizeof(struct baton_module),
#endif
	.name = "answer",
	.init = answer_init,
	.authorize = answer_authorize,
	.fini = answer_fini,
#ifdef LOOKUP
	.lookup = answer_lookup,
#endif
};

BATON_MODULE_EXPORT const struct baton_module *baton_module_entry(void);

const struct baton_module *
baton_module_entry(void)
{
	return (&answer);
}

#ifdef EXTRA_SYMBOL
/* Exported without a version script: the loader must refuse the file. */
BATON_MODULE_EXPORT int answer_extra(void);

int
answer_extra(void)
{
	return (42);
}
#endif
