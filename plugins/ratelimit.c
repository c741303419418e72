/*
 * ratelimit.c: baton_ratelimit(8), token buckets keyed by agent, tool,
 * audience or subject: OK while the key's bucket holds a token, DENY
 * once it is empty, refilling at the rate given on the stack line.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <baton/module.h>

#define RL_BUCKETS	1024		/* hash chains */
#define RL_MAX_KEYS	65536		/* tracked keys, then sweep */

enum rl_key { KEY_AGENT, KEY_TOOL, KEY_AUDIENCE, KEY_SUBJECT };

static const char *const key_names[] = {
	"agent", "tool", "audience", "subject"
};

struct bucket {
	struct bucket	*next;
	double		 tokens;
	uint64_t	 last;		/* usec */
	char		 key[];
};

struct ratelimit {
	const struct baton_host	*host;
	enum rl_key		 key;
	double			 rate;		/* tokens per microsecond */
	double			 burst;
	unsigned long		 per, n;	/* for messages: n per 'per' s */
	pthread_mutex_t		 lock;
	struct bucket		*table[RL_BUCKETS];
	size_t			 nkeys;
};

static uint32_t
hash(const char *s)
{
	uint32_t	h = 2166136261U;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619U;
	return (h);
}

static int
parse_ulong(const char *s, unsigned long lo, unsigned long hi,
    unsigned long *out, char **end)
{
	char	*ep;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	*out = strtoul(s, &ep, 10);
	if (errno != 0 || *out < lo || *out > hi)
		return (-1);
	if (end != NULL)
		*end = ep;
	else if (*ep != '\0')
		return (-1);
	return (0);
}

static int
rl_init(const struct baton_host *host, int argc, char *const *argv,
    void **state, char *err, size_t errlen)
{
	struct ratelimit	*rl;
	unsigned long		 burst = 0;
	char			*ep;
	int			 i, k, have_key = 0, have_rate = 0;

	if ((rl = calloc(1, sizeof *rl)) == NULL)
		abort();
	rl->host = host;
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "key=", 4) == 0 && !have_key) {
			for (k = 0; k < 4; k++)
				if (strcmp(argv[i] + 4, key_names[k]) == 0)
					break;
			if (k == 4)
				goto bad;
			rl->key = (enum rl_key)k;
			have_key = 1;
		} else if (strncmp(argv[i], "rate=", 5) == 0 && !have_rate) {
			if (parse_ulong(argv[i] + 5, 1, 1000000, &rl->n,
			    &ep) != 0 || ep[0] != '/' || ep[1] == '\0' ||
			    ep[2] != '\0')
				goto bad;
			if (ep[1] == 's')
				rl->per = 1;
			else if (ep[1] == 'm')
				rl->per = 60;
			else if (ep[1] == 'h')
				rl->per = 3600;
			else
				goto bad;
			have_rate = 1;
		} else if (strncmp(argv[i], "burst=", 6) == 0 && burst == 0) {
			if (parse_ulong(argv[i] + 6, 1, 10000000, &burst,
			    NULL) != 0)
				goto bad;
		} else
			goto bad;
	}
	if (!have_key || !have_rate) {
		snprintf(err, errlen, "key=agent|tool|audience|subject and "
		    "rate=N/s|N/m|N/h are required");
		free(rl);
		return (-1);
	}
	rl->rate = (double)rl->n / ((double)rl->per * 1e6);
	rl->burst = burst != 0 ? (double)burst : (double)rl->n;
	pthread_mutex_init(&rl->lock, NULL);
	*state = rl;
	return (0);
bad:
	snprintf(err, errlen, "bad or repeated argument \"%.64s\" (key=agent|"
	    "tool|audience|subject rate=N/s|N/m|N/h [burst=N])", argv[i]);
	free(rl);
	return (-1);
}

/* Forget keys whose buckets have refilled: they hold no history. */
static void
sweep(struct ratelimit *rl, uint64_t now)
{
	struct bucket	**bp, *b;
	size_t		  i;

	for (i = 0; i < RL_BUCKETS; i++) {
		for (bp = &rl->table[i]; (b = *bp) != NULL;) {
			if (b->tokens + (double)(now - b->last) * rl->rate >=
			    rl->burst) {
				*bp = b->next;
				free(b);
				rl->nkeys--;
			} else
				bp = &b->next;
		}
	}
}

static enum baton_answer
rl_authorize(void *state, const struct baton_decision *d, char *reason,
    size_t len)
{
	struct ratelimit	*rl = state;
	const struct baton_host	*h = rl->host;
	struct bucket		*b;
	const char		*key;
	uint64_t		 now = h->clock_usec();
	uint32_t		 slot;
	size_t			 klen;
	enum baton_answer	 a = BATON_ANSWER_OK;

	switch (rl->key) {
	case KEY_AGENT:
		key = h->agent(d);
		break;
	case KEY_TOOL:
		key = h->tool(d);
		break;
	case KEY_AUDIENCE:
		key = h->audience(d);
		break;
	default:
		key = h->subject(d);
		break;
	}
	if (key == NULL)
		key = "";	/* one shared bucket for "none" */
	slot = hash(key) % RL_BUCKETS;
	pthread_mutex_lock(&rl->lock);
	for (b = rl->table[slot]; b != NULL; b = b->next)
		if (strcmp(b->key, key) == 0)
			break;
	if (b == NULL) {
		if (rl->nkeys >= RL_MAX_KEYS)
			sweep(rl, now);
		if (rl->nkeys >= RL_MAX_KEYS) {
			pthread_mutex_unlock(&rl->lock);
			snprintf(reason, len, "too many %s keys tracked",
			    key_names[rl->key]);
			return (BATON_ANSWER_ERROR);
		}
		klen = strlen(key);
		if ((b = calloc(1, sizeof *b + klen + 1)) == NULL)
			abort();
		memcpy(b->key, key, klen + 1);
		b->tokens = rl->burst;
		b->last = now;
		b->next = rl->table[slot];
		rl->table[slot] = b;
		rl->nkeys++;
	}
	b->tokens += (double)(now - b->last) * rl->rate;
	if (b->tokens > rl->burst)
		b->tokens = rl->burst;
	b->last = now;
	if (b->tokens >= 1.0)
		b->tokens -= 1.0;
	else {
		snprintf(reason, len, "rate of %lu/%s for %s %.64s exceeded",
		    rl->n, rl->per == 1 ? "s" : rl->per == 60 ? "m" : "h",
		    key_names[rl->key], key[0] != '\0' ? key : "(none)");
		a = BATON_ANSWER_DENY;
	}
	pthread_mutex_unlock(&rl->lock);
	return (a);
}

static void
rl_fini(void *state)
{
	struct ratelimit	*rl = state;
	struct bucket		*b, *next;
	size_t			 i;

	for (i = 0; i < RL_BUCKETS; i++)
		for (b = rl->table[i]; b != NULL; b = next) {
			next = b->next;
			free(b);
		}
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

static const struct baton_module ratelimit = {
	.magic = BATON_MODULE_MAGIC,
	.abi = BATON_MODULE_ABI,
	.size = sizeof(struct baton_module),
	.name = "ratelimit",
	.init = rl_init,
	.authorize = rl_authorize,
	.fini = rl_fini,
};

BATON_MODULE_EXPORT const struct baton_module *baton_module_entry(void);

const struct baton_module *
baton_module_entry(void)
{
	return (&ratelimit);
}
