/*
 * policy.c: baton_policy(8), allow and deny rules on agent, tool and
 * action with per-rule caps (baton-policy(5)), the same rules at issue
 * time and at verify time.
 *
 * Deny rules win; without an allow rule whose caps hold, the answer is
 * DENY.  At issue time every (tool, action) pair of the grant about to be
 * signed must be allowed: a granted wildcard is covered only by a rule
 * naming "*", and any deny rule that could touch it refuses it.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <baton/module.h>

#define RULES_FILE_MAX	(1024 * 1024)
#define RULE_WORDS_MAX	32
#define RULE_CAPS_MAX	16

struct cap_limit {
	char		*name;
	unsigned long long max;
};

struct rule {
	int		 allow;
	char		*agent;		/* "*": any */
	char		*tool;		/* "*": any */
	char		**actions;	/* NULL: "*" */
	size_t		 nactions;
	int		 has_max_ttl, has_max_depth;
	unsigned long long max_ttl, max_depth;
	struct cap_limit *limits;
	size_t		 nlimits;
	char		**aud;
	size_t		 naud;
	unsigned	 lineno;
	char		*text;		/* the rule as written, for reasons */
};

struct policy {
	const struct baton_host	*host;
	char			*path;
	struct rule		*rules;
	size_t			 nrules;
};

static void
policy_free(struct policy *p)
{
	size_t	i, k;

	if (p == NULL)
		return;
	for (i = 0; i < p->nrules; i++) {
		struct rule *r = &p->rules[i];

		free(r->agent);
		free(r->tool);
		for (k = 0; k < r->nactions; k++)
			free(r->actions[k]);
		free(r->actions);
		for (k = 0; k < r->nlimits; k++)
			free(r->limits[k].name);
		free(r->limits);
		for (k = 0; k < r->naud; k++)
			free(r->aud[k]);
		free(r->aud);
		free(r->text);
	}
	free(p->rules);
	free(p->path);
	free(p);
}

static int
parse_u64(const char *s, unsigned long long *out)
{
	char	*ep;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	*out = strtoull(s, &ep, 10);
	return (errno != 0 || *ep != '\0' ? -1 : 0);
}

static int
name_ok(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > 255)
		return (0);
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || *s == 0x7f || *s == ',')
			return (0);
	return (1);
}

static int
parse_actions(struct rule *r, char *list, char *err, size_t errlen,
    const char *where)
{
	char	*a, *p, whole[256];

	if (strcmp(list, "*") == 0)
		return (0);
	snprintf(whole, sizeof whole, "%s", list);	/* strsep cuts list */
	for (p = list; (a = strsep(&p, ",")) != NULL;) {
		const char *c;

		if (!name_ok(a) || strcmp(a, "*") == 0) {
			snprintf(err, errlen, "%s: bad action \"%.64s\" in "
			    "\"%.128s\"", where, a, whole);
			return (-1);
		}
		for (c = a; *c != '\0'; c++)
			if (*c >= 'A' && *c <= 'Z') {
				snprintf(err, errlen, "%s: action \"%.64s\": "
				    "actions are lower case", where, a);
				return (-1);
			}
		r->actions = realloc(r->actions, (r->nactions + 1) *
		    sizeof *r->actions);
		if (r->actions == NULL || (r->actions[r->nactions] =
		    strdup(a)) == NULL)
			abort();
		r->nactions++;
	}
	return (0);
}

static int
parse_cap(struct rule *r, const char *w, char *err, size_t errlen,
    const char *where)
{
	const char		*eq;
	unsigned long long	 v;

	if (r->nlimits + r->naud >= RULE_CAPS_MAX) {
		snprintf(err, errlen, "%s: more than %d caps", where,
		    RULE_CAPS_MAX);
		return (-1);
	}
	if (strncmp(w, "max-ttl=", 8) == 0 && !r->has_max_ttl) {
		if (parse_u64(w + 8, &v) != 0 || v == 0)
			goto bad;
		r->max_ttl = v;
		r->has_max_ttl = 1;
	} else if (strncmp(w, "max-depth=", 10) == 0 && !r->has_max_depth) {
		if (parse_u64(w + 10, &v) != 0 || v > 16)
			goto bad;
		r->max_depth = v;
		r->has_max_depth = 1;
	} else if (strncmp(w, "limit.", 6) == 0 &&
	    (eq = strchr(w + 6, '=')) != NULL && eq > w + 6) {
		if (parse_u64(eq + 1, &v) != 0)
			goto bad;
		r->limits = realloc(r->limits, (r->nlimits + 1) *
		    sizeof *r->limits);
		if (r->limits == NULL || (r->limits[r->nlimits].name =
		    strndup(w + 6, (size_t)(eq - (w + 6)))) == NULL)
			abort();
		r->limits[r->nlimits++].max = v;
	} else if (strncmp(w, "aud=", 4) == 0) {
		if (!name_ok(w + 4))
			goto bad;
		r->aud = realloc(r->aud, (r->naud + 1) * sizeof *r->aud);
		if (r->aud == NULL || (r->aud[r->naud] = strdup(w + 4)) == NULL)
			abort();
		r->naud++;
	} else
		goto bad;
	return (0);
bad:
	snprintf(err, errlen, "%s: bad or repeated cap \"%.64s\" (max-ttl="
	    "SECONDS, max-depth=N, limit.NAME=MAX, aud=AUDIENCE)", where, w);
	return (-1);
}

static int
parse_rule(struct policy *p, char **w, int nw, unsigned lineno, char *err,
    size_t errlen)
{
	struct rule	*r;
	char		 where[300];
	size_t		 len = 0;
	int		 i;

	snprintf(where, sizeof where, "%s:%u", p->path, lineno);
	if (strcmp(w[0], "allow") != 0 && strcmp(w[0], "deny") != 0) {
		snprintf(err, errlen, "%s: expected allow or deny, not "
		    "\"%.64s\"", where, w[0]);
		return (-1);
	}
	if (nw < 4 || !name_ok(w[1]) || !name_ok(w[2])) {
		snprintf(err, errlen, "%s: expected \"allow|deny AGENT TOOL "
		    "ACTIONS [CAP...]\"", where);
		return (-1);
	}
	if (nw > 4 && strcmp(w[0], "deny") == 0) {
		snprintf(err, errlen, "%s: caps belong on allow rules", where);
		return (-1);
	}
	p->rules = realloc(p->rules, (p->nrules + 1) * sizeof *p->rules);
	if (p->rules == NULL)
		abort();
	r = &p->rules[p->nrules++];
	memset(r, 0, sizeof *r);
	r->allow = strcmp(w[0], "allow") == 0;
	r->lineno = lineno;
	for (i = 0; i < nw; i++)
		len += strlen(w[i]) + 1;
	if ((r->text = malloc(len)) == NULL)
		abort();
	r->text[0] = '\0';
	for (i = 0; i < nw; i++) {
		if (i > 0)
			strcat(r->text, " ");
		strcat(r->text, w[i]);
	}
	if ((r->agent = strdup(w[1])) == NULL ||
	    (r->tool = strdup(w[2])) == NULL)
		abort();
	if (parse_actions(r, w[3], err, errlen, where) != 0)
		return (-1);
	for (i = 4; i < nw; i++)
		if (parse_cap(r, w[i], err, errlen, where) != 0)
			return (-1);
	return (0);
}

static char *
read_rules(const char *path, char *err, size_t errlen)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	/* Whoever can write the rules decides: root or the broker only. */
	if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & 022) != 0) {
		snprintf(err, errlen, "%s: must be owned by root or uid %u and "
		    "not group- or world-writable", path, (unsigned)geteuid());
		goto fail;
	}
	if (st.st_size > RULES_FILE_MAX) {
		snprintf(err, errlen, "%s: file too large", path);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		abort();
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: read failed", path);
			goto fail;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		snprintf(err, errlen, "%s: NUL byte in file", path);
		goto fail;
	}
	close(fd);
	return (buf);
fail:
	free(buf);
	close(fd);
	return (NULL);
}

static int
policy_init(const struct baton_host *host, int argc, char *const *argv,
    void **state, char *err, size_t errlen)
{
	struct policy	*p;
	char		*buf = NULL, *line, *next, *c, *w[RULE_WORDS_MAX], *last;
	unsigned	 lineno = 0;
	int		 i, nw;

	if ((p = calloc(1, sizeof *p)) == NULL)
		abort();
	p->host = host;
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "rules=", 6) == 0 && p->path == NULL &&
		    argv[i][6] == '/') {
			if ((p->path = strdup(argv[i] + 6)) == NULL)
				abort();
			continue;
		}
		snprintf(err, errlen, "bad argument \"%.64s\" (expected "
		    "rules=/ABSOLUTE/PATH once)", argv[i]);
		goto fail;
	}
	if (p->path == NULL) {
		snprintf(err, errlen, "rules=/ABSOLUTE/PATH is required");
		goto fail;
	}
	if ((buf = read_rules(p->path, err, errlen)) == NULL)
		goto fail;
	for (line = buf; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((c = strchr(line, '#')) != NULL)
			*c = '\0';
		nw = 0;
		for (c = strtok_r(line, " \t\r", &last); c != NULL;
		    c = strtok_r(NULL, " \t\r", &last)) {
			if (nw == RULE_WORDS_MAX) {
				snprintf(err, errlen, "%s:%u: too many words",
				    p->path, lineno);
				goto fail;
			}
			w[nw++] = c;
		}
		if (nw > 0 && parse_rule(p, w, nw, lineno, err, errlen) != 0)
			goto fail;
	}
	free(buf);
	*state = p;
	return (0);
fail:
	free(buf);
	policy_free(p);
	return (-1);
}

static int
matches(const char *pattern, const char *value)
{
	return (strcmp(pattern, "*") == 0 ||
	    (value != NULL && strcmp(pattern, value) == 0));
}

static int
has_action(const struct rule *r, const char *action)
{
	size_t	i;

	if (r->actions == NULL)
		return (1);
	for (i = 0; action != NULL && i < r->nactions; i++)
		if (strcmp(r->actions[i], action) == 0)
			return (1);
	return (0);
}

/* Do the allow rule's caps hold for this tool?  0, or -1 with why. */
static int
caps_hold(const struct policy *p, const struct rule *r,
    const struct baton_decision *d, const char *tool, char *why, size_t len)
{
	const struct baton_host	*h = p->host;
	const char *const	*aud;
	const char		*want;
	unsigned long long	 v;
	uint64_t		 max;
	size_t			 naud, i, k;

	if (r->has_max_ttl && (v = h->lifetime(d)) > r->max_ttl) {
		snprintf(why, len, "lifetime %llus over max-ttl=%llu", v,
		    r->max_ttl);
		return (-1);
	}
	if (r->has_max_depth &&
	    (v = h->depth(d) + h->depth_left(d)) > r->max_depth) {
		snprintf(why, len, "delegation depth %llu over max-depth=%llu",
		    v, r->max_depth);
		return (-1);
	}
	for (i = 0; i < r->nlimits; i++) {
		if (tool == NULL || h->grant_limit(d, tool, r->limits[i].name,
		    &max) != 0) {
			snprintf(why, len, "no limit %s (cap limit.%s=%llu)",
			    r->limits[i].name, r->limits[i].name,
			    r->limits[i].max);
			return (-1);
		}
		if (max > r->limits[i].max) {
			snprintf(why, len, "limit %s=%llu over limit.%s=%llu",
			    r->limits[i].name, (unsigned long long)max,
			    r->limits[i].name, r->limits[i].max);
			return (-1);
		}
	}
	if (r->naud == 0)
		return (0);
	if (h->grant_audiences(d, &aud, &naud) != 0) {
		snprintf(why, len, "token not confined to an audience (cap "
		    "aud=%s)", r->aud[0]);
		return (-1);
	}
	for (i = 0; i <= naud; i++) {
		want = i < naud ? aud[i] : h->audience(d);
		if (i == naud && h->phase(d) != BATON_PHASE_VERIFY)
			break;
		for (k = 0; want != NULL && k < r->naud; k++)
			if (strcmp(r->aud[k], want) == 0)
				break;
		if (want == NULL || k == r->naud) {
			snprintf(why, len, "audience %s not allowed by aud= "
			    "caps", want != NULL ? want : "(none)");
			return (-1);
		}
	}
	return (0);
}

/*
 * One (tool, action) pair for agent; tool or action NULL means "every"
 * (a wildcard grant, any action).  OK or DENY, with the deciding rule.
 */
static enum baton_answer
check_pair(const struct policy *p, const struct baton_decision *d,
    const char *agent, const char *tool, const char *action, char *reason,
    size_t len)
{
	const struct rule	*r, *capped = NULL;
	char			 why[200] = "", scratch[200];
	size_t			 i;

	for (i = 0; i < p->nrules; i++) {
		r = &p->rules[i];
		if (r->allow || !matches(r->agent, agent))
			continue;
		/* A deny rule touching any part of a wildcard refuses it. */
		if ((tool == NULL || matches(r->tool, tool)) &&
		    (action == NULL || has_action(r, action))) {
			snprintf(reason, len, "%s:%u: %s", p->path, r->lineno,
			    r->text);
			return (BATON_ANSWER_DENY);
		}
	}
	for (i = 0; i < p->nrules; i++) {
		r = &p->rules[i];
		if (!r->allow || !matches(r->agent, agent))
			continue;
		if (tool == NULL ? strcmp(r->tool, "*") != 0 :
		    !matches(r->tool, tool))
			continue;
		if (action == NULL ? r->actions != NULL : !has_action(r, action))
			continue;
		if (caps_hold(p, r, d, tool, capped == NULL ? why : scratch,
		    sizeof why) == 0) {
			snprintf(reason, len, "%s:%u: %s", p->path, r->lineno,
			    r->text);
			return (BATON_ANSWER_OK);
		}
		if (capped == NULL)
			capped = r;
	}
	if (capped != NULL)
		snprintf(reason, len, "%s:%u: %s: %s", p->path,
		    capped->lineno, capped->text, why);
	else
		snprintf(reason, len, "%s: no rule allows %s %s %s", p->path,
		    agent != NULL ? agent : "(unknown agent)",
		    tool != NULL ? tool : "*", action != NULL ? action : "*");
	return (BATON_ANSWER_DENY);
}

static enum baton_answer
policy_authorize(void *state, const struct baton_decision *d, char *reason,
    size_t len)
{
	const struct policy	*p = state;
	const struct baton_host	*h = p->host;
	const char *const	*acts;
	const char		*agent = h->agent(d), *tool;
	enum baton_answer	 a = BATON_ANSWER_OK;
	size_t			 i, k, nacts, ntools;

	if (h->phase(d) == BATON_PHASE_VERIFY)
		return (check_pair(p, d, agent, h->tool(d), h->action(d),
		    reason, len));
	if (h->grant_wildcard(d))
		return (check_pair(p, d, agent, NULL, NULL, reason, len));
	if ((ntools = h->grant_ntools(d)) == 0) {
		snprintf(reason, len, "%s: nothing granted", p->path);
		return (BATON_ANSWER_DENY);
	}
	/* Every pair must pass; the first refusal names its rule. */
	for (i = 0; i < ntools && a == BATON_ANSWER_OK; i++) {
		tool = h->grant_tool(d, i);
		if (h->grant_actions(d, tool, &acts, &nacts)) {
			a = check_pair(p, d, agent, tool, NULL, reason, len);
			continue;
		}
		for (k = 0; k < nacts && a == BATON_ANSWER_OK; k++)
			a = check_pair(p, d, agent, tool, acts[k], reason, len);
	}
	return (a);
}

static void
policy_fini(void *state)
{
	policy_free(state);
}

static const struct baton_module policy = {
	.magic = BATON_MODULE_MAGIC,
	.abi = BATON_MODULE_ABI,
	.size = sizeof(struct baton_module),
	.name = "policy",
	.init = policy_init,
	.authorize = policy_authorize,
	.fini = policy_fini,
};

BATON_MODULE_EXPORT const struct baton_module *baton_module_entry(void);

const struct baton_module *
baton_module_entry(void)
{
	return (&policy);
}
