/*
 * sources.c: STACKDIR/sources.conf, nsswitch.conf for the broker's
 * lookups (baton-sources(5)).
 *
 *	agents:     SOURCE [STATUS=ACTION ...] SOURCE ...
 *	revocation: ...
 *	replay:     ...
 *
 * SOURCE is "files" (the built-in agents map and journal) or a module
 * with a lookup hook.  Each source answers SUCCESS, NOTFOUND, UNAVAIL or
 * TRYAGAIN; the action for that status says whether to return it or
 * continue with the next source.  Defaults: SUCCESS returns, NOTFOUND
 * continues, and, unlike nsswitch, UNAVAIL and TRYAGAIN return, so a
 * source that cannot answer fails closed unless the file says otherwise.
 * The answer is the status of the last source asked.
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "batond.h"

#define SOURCES_FILE_MAX	(64 * 1024)
#define SOURCES_MAX		8

static const char *const db_names[] = {
	[BATON_DB_AGENTS] = "agents",
	[BATON_DB_REVOCATION] = "revocation",
	[BATON_DB_REPLAY] = "replay",
};
static const char *const status_names[] = {
	"SUCCESS", "NOTFOUND", "UNAVAIL", "TRYAGAIN"
};

void
sources_free(struct src_chain *chains)
{
	size_t	db, i;

	for (db = 0; db < SRC_NDB; db++) {
		for (i = 0; i < chains[db].n; i++) {
			struct src_item *it = &chains[db].items[i];

			if (it->inited && it->mod->desc.fini != NULL)
				it->mod->desc.fini(it->state);
		}
		free(chains[db].items);
		memset(&chains[db], 0, sizeof chains[db]);
	}
}

/* "[!]STATUS=ACTION" items of one bracket, applied to the last source. */
static int
parse_actions(struct src_item *it, char *w, const char *where, char **cause)
{
	char	*item, *eq, *last;
	int	 s, neg, ret;

	for (item = strtok_r(w, " \t", &last); item != NULL;
	    item = strtok_r(NULL, " \t", &last)) {
		neg = item[0] == '!';
		if (neg)
			item++;
		if ((eq = strchr(item, '=')) == NULL)
			goto bad;
		*eq++ = '\0';
		for (s = 0; s < 4; s++)
			if (strcasecmp(item, status_names[s]) == 0)
				break;
		if (s == 4)
			goto bad;
		if (strcasecmp(eq, "return") == 0)
			ret = 1;
		else if (strcasecmp(eq, "continue") == 0)
			ret = 0;
		else
			goto bad;
		if (neg) {
			int o;

			for (o = 0; o < 4; o++)
				if (o != s)
					it->action[o] = (unsigned char)ret;
		} else
			it->action[s] = (unsigned char)ret;
	}
	return (0);
bad:
	xasprintf(cause, "%s: bad action item \"%.64s\" ([!]SUCCESS|NOTFOUND|"
	    "UNAVAIL|TRYAGAIN=return|continue)", where, item);
	return (-1);
}

static int
add_source(struct src_chain *c, const char *name, const char *where,
    char **cause)
{
	struct src_item	*it;
	char		 err[512] = "", *why = NULL;
	char *const	 noargs[1] = { NULL };

	if (c->n == SOURCES_MAX) {
		xasprintf(cause, "%s: more than %d sources", where,
		    SOURCES_MAX);
		return (-1);
	}
	c->items = xreallocarray(c->items, c->n + 1, sizeof *c->items);
	it = &c->items[c->n];
	memset(it, 0, sizeof *it);
	it->action[BATON_STATUS_SUCCESS] = 1;
	it->action[BATON_STATUS_NOTFOUND] = 0;
	it->action[BATON_STATUS_UNAVAIL] = 1;	/* fail closed */
	it->action[BATON_STATUS_TRYAGAIN] = 1;
	if (strcmp(name, "files") == 0) {
		c->n++;
		return (0);
	}
	if ((it->mod = module_load(name, &why)) == NULL) {
		xasprintf(cause, "%s: source %.64s: %s", where, name, why);
		free(why);
		return (-1);
	}
	if (it->mod->desc.lookup == NULL) {
		xasprintf(cause, "%s: module %s is not a source (no lookup "
		    "hook)", where, name);
		return (-1);
	}
	c->n++;
	if (it->mod->desc.init(&module_host, 0, noargs, &it->state, err,
	    sizeof err) != 0) {
		xasprintf(cause, "%s: %s: %s", where, name, err[0] != '\0' ?
		    err : "refused to start");
		return (-1);
	}
	it->inited = 1;
	return (0);
}

static int
parse_line(struct src_chain *chains, char *line, const char *where,
    char **cause)
{
	struct src_chain	*c;
	char			*colon, *p, *end, *name;
	size_t			 db;

	if ((colon = strchr(line, ':')) == NULL) {
		xasprintf(cause, "%s: expected \"DATABASE: SOURCE...\"", where);
		return (-1);
	}
	*colon = '\0';
	for (p = line; isspace((unsigned char)*p); p++)
		;
	for (end = colon; end > p && isspace((unsigned char)end[-1]); end--)
		;
	*end = '\0';
	for (db = 1; db < SRC_NDB; db++)
		if (strcmp(p, db_names[db]) == 0)
			break;
	if (db == SRC_NDB) {
		xasprintf(cause, "%s: unknown database \"%.64s\" (agents, "
		    "revocation or replay)", where, p);
		return (-1);
	}
	c = &chains[db];
	if (c->configured) {
		xasprintf(cause, "%s: %s: given twice", where, p);
		return (-1);
	}
	c->configured = 1;
	for (p = colon + 1;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		if (*p == '[') {
			if ((end = strchr(p, ']')) == NULL) {
				xasprintf(cause, "%s: unclosed '['", where);
				return (-1);
			}
			if (c->n == 0) {
				xasprintf(cause, "%s: an action needs a "
				    "source before it", where);
				return (-1);
			}
			*end = '\0';
			if (parse_actions(&c->items[c->n - 1], p + 1, where,
			    cause) != 0)
				return (-1);
			p = end + 1;
			continue;
		}
		name = p;
		while (*p != '\0' && !isspace((unsigned char)*p) && *p != '[')
			p++;
		{
			char	save = *p;

			*p = '\0';
			if (!module_name_ok(name)) {
				xasprintf(cause, "%s: bad source name "
				    "\"%.64s\"", where, name);
				return (-1);
			}
			if (add_source(c, name, where, cause) != 0)
				return (-1);
			*p = save;
		}
	}
	if (c->n == 0) {
		xasprintf(cause, "%s: %s: no source", where, db_names[db]);
		return (-1);
	}
	return (0);
}

/*
 * Read sources.conf from the stack directory dfd into chains.  A missing
 * file configures nothing (files everywhere): returns 0.
 */
int
sources_load(int dfd, struct src_chain *chains, char **cause)
{
	char		*buf, where[64], *line, *next;
	ssize_t		 n;
	size_t		 len = 0;
	unsigned	 lineno = 0;
	int		 fd, rc = -1;

	*cause = NULL;
	buf = NULL;
	n = 0;
	fd = openat(dfd, "sources.conf", O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NOCTTY);
	if (fd == -1) {
		if (errno == ENOENT)
			return (0);
		xasprintf(cause, "sources.conf: %s", errno == ELOOP ?
		    "is a symbolic link" : strerror(errno));
		return (-1);
	}
	if (!stack_file_safe(fd)) {
		xasprintf(cause, "sources.conf: must be a regular file owned "
		    "by root or uid %u and not group- or world-writable",
		    (unsigned)geteuid());
		goto out;
	}
	buf = xmalloc(SOURCES_FILE_MAX + 2);
	while (len <= SOURCES_FILE_MAX &&
	    (n = read(fd, buf + len, SOURCES_FILE_MAX + 1 - len)) > 0)
		len += (size_t)n;
	if (n == -1 || len > SOURCES_FILE_MAX) {
		xasprintf(cause, "sources.conf: %s", n == -1 ? strerror(errno) :
		    "file too large");
		goto out;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		xasprintf(cause, "sources.conf: NUL byte in file");
		goto out;
	}
	for (line = buf; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line[strcspn(line, "#\r")] = '\0';
		if (line[strspn(line, " \t")] == '\0')
			continue;
		snprintf(where, sizeof where, "sources.conf:%u", lineno);
		if (parse_line(chains, line, where, cause) != 0)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		sources_free(chains);
	free(buf);
	close(fd);
	return (rc);
}

/*
 * Walk one database's chain: each source's status, then its action.
 * files answers through the caller's callback.
 */
enum baton_status
sources_resolve(const struct src_chain *c, const struct baton_query *q,
    enum baton_status (*files)(const struct baton_query *, void *),
    void *arg)
{
	const struct src_item	*it;
	enum baton_status	 st = BATON_STATUS_UNAVAIL;
	size_t			 i;

	for (i = 0; i < c->n; i++) {
		it = &c->items[i];
		if (it->mod == NULL)
			st = files(q, arg);
		else
			st = it->mod->desc.lookup(it->state, q);
		if ((unsigned)st > BATON_STATUS_TRYAGAIN)
			st = BATON_STATUS_UNAVAIL;	/* garbage fails closed */
		if (it->action[st])
			break;
	}
	return (st);
}

/*
 * Writes (a revocation): every source of the chain that keeps state is
 * told, in order: files through the callback, a module through its
 * update hook; a module without one is not a store and is passed over.
 * A source's failure ends the walk with that status unless its action
 * says continue; the answer is SUCCESS only if some source recorded it.
 */
enum baton_status
sources_update(const struct src_chain *c, const struct baton_query *q,
    enum baton_status (*files)(const struct baton_query *, void *),
    void *arg)
{
	const struct src_item	*it;
	enum baton_status	 st, last = BATON_STATUS_UNAVAIL;
	size_t			 i;
	int			 recorded = 0;

	for (i = 0; i < c->n; i++) {
		it = &c->items[i];
		if (it->mod == NULL)
			st = files(q, arg);
		else if (it->mod->desc.update != NULL)
			st = it->mod->desc.update(it->state, q);
		else
			continue;
		if ((unsigned)st > BATON_STATUS_TRYAGAIN ||
		    st == BATON_STATUS_NOTFOUND)
			st = BATON_STATUS_UNAVAIL;	/* not recorded */
		if (st == BATON_STATUS_SUCCESS) {
			recorded = 1;
			continue;
		}
		last = st;
		if (it->action[st])
			return (st);
	}
	return (recorded ? BATON_STATUS_SUCCESS : last);
}

/* Each module source of the current sources.conf, as it sees itself. */
size_t
sources_health(struct src_health *out, size_t max)
{
	struct stackset		*ss = stacks_acquire();
	const struct src_chain	*c;
	const struct src_item	*it;
	size_t			 db, i, n = 0;

	for (db = 1; db < SRC_NDB; db++) {
		if ((c = stacks_sources(ss, (enum baton_database)db)) == NULL)
			continue;
		for (i = 0; i < c->n && n < max; i++) {
			it = &c->items[i];
			if (it->mod == NULL || it->mod->desc.health == NULL)
				continue;
			out[n].db = db_names[db];
			out[n].source = it->mod->name;
			out[n].text[0] = '\0';
			out[n].up = it->mod->desc.health(it->state,
			    out[n].text, sizeof out[n].text) == 0;
			out[n].text[sizeof out[n].text - 1] = '\0';
			n++;
		}
	}
	stacks_release(ss);
	return (n);
}

/*
 * An operator's acknowledgement for every source named name: 0 when at
 * least one took it (msg says what each did), -1 with msg saying why.
 */
int
sources_ack(const char *name, char *msg, size_t len)
{
	struct stackset		*ss = stacks_acquire();
	const struct src_chain	*c;
	const struct src_item	*it;
	char			 one[256];
	size_t			 db, i, used = 0;
	int			 found = 0, rc = 0;

	msg[0] = '\0';
	for (db = 1; db < SRC_NDB; db++) {
		if ((c = stacks_sources(ss, (enum baton_database)db)) == NULL)
			continue;
		for (i = 0; i < c->n; i++) {
			it = &c->items[i];
			if (it->mod == NULL || strcmp(it->mod->name, name) != 0)
				continue;
			found = 1;
			one[0] = '\0';
			if (it->mod->desc.ack == NULL) {
				snprintf(one, sizeof one, "nothing to "
				    "acknowledge");
			} else if (it->mod->desc.ack(it->state, one,
			    sizeof one) != 0)
				rc = -1;
			one[sizeof one - 1] = '\0';
			if (used < len)
				used += (size_t)snprintf(msg + used, len - used,
				    "%s%s: %s", used > 0 ? "; " : "",
				    db_names[db], one);
		}
	}
	stacks_release(ss);
	if (!found) {
		snprintf(msg, len, "no source %s in sources.conf", name);
		return (-1);
	}
	return (rc);
}
