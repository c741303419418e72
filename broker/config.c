/* config.c: strict parsers for baton.conf(5) and the agents map. */

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batond.h"

#define CONFIG_FILE_MAX	(1024 * 1024)

struct config *
config_default(void)
{
	struct config	*cfg;

	cfg = xcalloc(1, sizeof *cfg);
	cfg->socket_path = xstrdup(BATOND_SOCKET);
	cfg->state_dir = xstrdup(BATOND_STATE_DIR);
	cfg->max_conns = 1024;
	cfg->max_conns_per_uid = 256;
	/*
	 * Finite by default: one busy or hostile local client must not
	 * starve the others of signing time.  The bucket holds one second's
	 * worth unless rate-burst says otherwise.  Verifies and the other
	 * reads have a bucket of their own, far above what a tool server
	 * asks (bench/RESULTS.md): they sign nothing and store nothing.
	 */
	cfg->rate_limit = BATOND_RATE_LIMIT;
	cfg->rate_burst = 0;
	cfg->verify_rate_limit = BATOND_VERIFY_RATE_LIMIT;
	cfg->idle_timeout = 60;
	cfg->slow_timeout = 10;
	cfg->write_timeout = 10;
	cfg->max_ttl = 86400;
	cfg->bundle_validity = BATOND_BUNDLE_VALIDITY;
	cfg->workers = 2;
	cfg->token_cache = BATOND_TOKEN_CACHE;
	cfg->cgroup_root = xstrdup(cgroup_root_default());
	cfg->journal_per_uid = BATOND_JOURNAL_PER_UID;
	cfg->compact_interval = BATOND_COMPACT_INTERVAL;
	return (cfg);
}

void
agents_free(struct agents *a)
{
	size_t	i, j;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		free(a->list[i].id);
		free(a->list[i].exe);
		free(a->list[i].cgroup);
		for (j = 0; j < a->list[i].nverify; j++)
			free(a->list[i].verify[j]);
		free(a->list[i].verify);
	}
	free(a->list);
	free(a);
}

void
config_free(struct config *cfg)
{
	size_t	i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nsettings; i++) {
		free(cfg->settings[i].name);
		free(cfg->settings[i].value);
	}
	free(cfg->settings);
	free(cfg->path);
	free(cfg->socket_path);
	free(cfg->state_dir);
	free(cfg->agents_file);
	free(cfg->cgroup_root);
	free(cfg->stack_dir);
	free(cfg->trusted_keys);
	agents_free(cfg->agents);
	free(cfg);
}

/* Read a whole small file; rejects non-regular and oversized files. */
static char *
read_file(const char *path, size_t *lenp, char **cause)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		xasprintf(cause, "%s: not a regular file", path);
		goto fail;
	}
	/*
	 * The agents map says who may act as whom: a file another user can
	 * write hands them every identity, so refuse it the way sshd does.
	 */
	if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & 022) != 0) {
		xasprintf(cause, "%s: must be owned by root or uid %u and not "
		    "group- or world-writable", path, (unsigned)geteuid());
		goto fail;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		xasprintf(cause, "%s: file too large", path);
		goto fail;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			xasprintf(cause, "%s: read failed", path);
			goto fail;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	*lenp = len;
	return (buf);

fail:
	free(buf);
	close(fd);
	return (NULL);
}

/*
 * Split a buffer into lines and the lines into words; calls fn for each
 * non-empty, non-comment line.  Rejects NUL bytes and long lines.
 */
typedef int (*line_fn)(void *, char **, int, const char *, unsigned,
    char **);

#define MAX_WORDS	16

static int
parse_lines(const char *buf, size_t len, const char *name, line_fn fn,
    void *arg, char **cause)
{
	char		 line[BATOND_LINE_MAX + 1], *words[MAX_WORDS], *p, *last;
	const char	*s = buf, *end = buf + len, *nl;
	size_t		 ll;
	unsigned	 lineno = 0;
	int		 nwords;

	if (memchr(buf, '\0', len) != NULL) {
		for (nl = buf; nl < end && *nl != '\0'; nl++)
			if (*nl == '\n')
				lineno++;
		xasprintf(cause, "%s:%u: NUL byte in file", name, lineno + 1);
		return (-1);
	}
	while (s < end) {
		lineno++;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		ll = (size_t)(nl - s);
		if (ll > BATOND_LINE_MAX) {
			xasprintf(cause, "%s:%u: line longer than %d bytes",
			    name, lineno, BATOND_LINE_MAX);
			return (-1);
		}
		memcpy(line, s, ll);
		line[ll] = '\0';
		s = nl < end ? nl + 1 : end;	/* no end + 1 past the last line */
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		nwords = 0;
		for (p = strtok_r(line, " \t\r", &last); p != NULL;
		    p = strtok_r(NULL, " \t\r", &last)) {
			if (nwords == MAX_WORDS) {
				xasprintf(cause, "%s:%u: too many words", name,
				    lineno);
				return (-1);
			}
			words[nwords++] = p;
		}
		if (nwords == 0)
			continue;
		if (fn(arg, words, nwords, name, lineno, cause) != 0)
			return (-1);
	}
	return (0);
}

static int
parse_number(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	unsigned long long	 v;
	char			*ep;

	if (!isdigit((unsigned char)*s))
		return (-1);
	errno = 0;
	v = strtoull(s, &ep, 10);
	if (errno != 0 || *ep != '\0' || v < lo || v > hi)
		return (-1);
	*out = v;
	return (0);
}

static int
check_name(const char *s)
{
	size_t	len = strlen(s);

	if (len == 0 || len > 255)
		return (-1);
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x21 || *s == 0x7f || *s == ',')
			return (-1);
	}
	return (0);
}

static const struct {
	const char	*name;
	uint64_t	 lo, hi;
	size_t		 off;
	int		 wide;
} numbers[] = {
	{ "max-connections", 1, 1000000,
	    offsetof(struct config, max_conns), 0 },
	{ "max-connections-per-uid", 1, 1000000,
	    offsetof(struct config, max_conns_per_uid), 0 },
	{ "rate-limit", 0, 1000000, offsetof(struct config, rate_limit), 0 },
	{ "rate-burst", 1, 10000000, offsetof(struct config, rate_burst), 0 },
	{ "verify-rate-limit", 0, 10000000,
	    offsetof(struct config, verify_rate_limit), 0 },
	{ "idle-timeout", 1, 86400, offsetof(struct config, idle_timeout), 0 },
	{ "slow-timeout", 1, 3600, offsetof(struct config, slow_timeout), 0 },
	{ "write-timeout", 1, 3600, offsetof(struct config, write_timeout), 0 },
	{ "max-ttl", 1, BATOND_MAX_TTL_CEILING, offsetof(struct config, max_ttl),
	    1 },
	{ "workers", 1, 64, offsetof(struct config, workers), 0 },
	{ "token-cache", 0, BATOND_TOKEN_CACHE_MAX,
	    offsetof(struct config, token_cache), 0 },
	{ "journal-max-per-uid", 0, 100000000,
	    offsetof(struct config, journal_per_uid), 0 },
	{ "compact-interval", 1, 86400,
	    offsetof(struct config, compact_interval), 0 },
	{ "bundle-validity", 60, BATOND_MAX_TTL_CEILING,
	    offsetof(struct config, bundle_validity), 1 },
};

/* ---- redis-*: the redis source's connection (baton_redis(8)) ----------- */

/* unix:/PATH, or HOST:PORT with [V6]:PORT: NULL when fine, else why not. */
static const char *
check_redis_address(const char *s)
{
	const char	*colon, *host_end;
	uint64_t	 port;

	if (strncmp(s, "unix:", 5) == 0) {
		if (s[5] != '/' || strlen(s + 5) >= 108)
			return ("unix: needs an absolute path shorter than 108 "
			    "bytes");
		return (NULL);
	}
	if (s[0] == '[') {
		if ((host_end = strchr(s, ']')) == NULL || host_end == s + 1 ||
		    host_end[1] != ':')
			return ("expected unix:PATH, HOST:PORT or [V6]:PORT");
		colon = host_end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL || colon == s ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			return ("expected unix:PATH, HOST:PORT or [V6]:PORT");
	}
	if ((size_t)(colon - s) > 253)
		return ("host name too long");
	if (parse_number(colon + 1, 1, 65535, &port) != 0)
		return ("port must be 1 to 65535");
	return (NULL);
}

static const char *
check_redis_prefix(const char *s)
{
	size_t	len = strlen(s);

	/* Braces would move the hash tag off the chain (Cluster slots). */
	if (len == 0 || len > 64 || strpbrk(s, "{}") != NULL)
		return ("1 to 64 bytes, no { or }");
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return ("1 to 64 bytes, no { or }");
	return (NULL);
}

static const char *
check_abs_path(const char *s)
{
	if (s[0] != '/' || strlen(s) >= 4096)
		return ("need an absolute path");
	return (NULL);
}

static const struct {
	const char	*name;
	const char	*(*check)(const char *);
	uint64_t	 lo, hi;	/* numbers, when check is NULL */
} redis_keys[] = {
	{ "redis-address", check_redis_address, 0, 0 },
	{ "redis-database", NULL, 0, 65535 },
	{ "redis-prefix", check_redis_prefix, 0, 0 },
	{ "redis-password-file", check_abs_path, 0, 0 },
	{ "redis-connect-timeout", NULL, 1, 60000 },	/* milliseconds */
	{ "redis-timeout", NULL, 1, 60000 },		/* milliseconds */
	{ "redis-retry-max", NULL, 1, 60000 },		/* milliseconds */
	{ "redis-local-cache", NULL, 0, 10000000 },	/* entries, 0: off */
};

/* 1 if w[0] is a redis-* keyword (checked, stored or refused), else 0. */
static int
redis_line(struct config *cfg, char **w, const char *name, unsigned lineno,
    char **cause, int *rc)
{
	const char	*why;
	uint64_t	 v;
	size_t		 i;

	if (strncmp(w[0], "redis-", 6) != 0)
		return (0);
	*rc = -1;
	if (strcmp(w[0], "redis-tls") == 0 ||
	    strncmp(w[0], "redis-tls-", 10) == 0) {
		xasprintf(cause, "%s:%u: %s: the hiredis this broker is built "
		    "with has no TLS; use a Unix socket or a local TLS tunnel "
		    "(see baton_redis(8))", name, lineno, w[0]);
		return (1);
	}
	for (i = 0; i < sizeof redis_keys / sizeof redis_keys[0]; i++)
		if (strcmp(w[0], redis_keys[i].name) == 0)
			break;
	if (i == sizeof redis_keys / sizeof redis_keys[0]) {
		xasprintf(cause, "%s:%u: unknown keyword \"%.64s\"", name,
		    lineno, w[0]);
		return (1);
	}
	if (redis_keys[i].check != NULL)
		why = redis_keys[i].check(w[1]);
	else if (parse_number(w[1], redis_keys[i].lo, redis_keys[i].hi,
	    &v) != 0) {
		xasprintf(cause, "%s:%u: %s: bad number \"%.64s\" (%llu to "
		    "%llu)", name, lineno, w[0], w[1],
		    (unsigned long long)redis_keys[i].lo,
		    (unsigned long long)redis_keys[i].hi);
		return (1);
	} else
		why = NULL;
	if (why != NULL) {
		xasprintf(cause, "%s:%u: %s: bad value \"%.64s\": %s", name,
		    lineno, w[0], w[1], why);
		return (1);
	}
	for (i = 0; i < cfg->nsettings; i++) {
		if (strcmp(cfg->settings[i].name, w[0]) == 0) {
			xasprintf(cause, "%s:%u: %s: given twice", name,
			    lineno, w[0]);
			return (1);
		}
	}
	cfg->settings = xreallocarray(cfg->settings, cfg->nsettings + 1,
	    sizeof *cfg->settings);
	cfg->settings[cfg->nsettings].name = xstrdup(w[0]);
	cfg->settings[cfg->nsettings].value = xstrdup(w[1]);
	cfg->nsettings++;
	*rc = 0;
	return (1);
}

static int
config_line(void *arg, char **w, int nw, const char *name, unsigned lineno,
    char **cause)
{
	struct config	*cfg = arg;
	struct group	*gr;
	uint64_t	 v;
	size_t		 i;
	char		**sp = NULL;
	int		 rc;

	if (nw != 2) {
		xasprintf(cause, "%s:%u: expected \"keyword value\"", name,
		    lineno);
		return (-1);
	}
	if (redis_line(cfg, w, name, lineno, cause, &rc))
		return (rc);
	for (i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
		if (strcmp(w[0], numbers[i].name) != 0)
			continue;
		if (parse_number(w[1], numbers[i].lo, numbers[i].hi, &v) != 0) {
			xasprintf(cause, "%s:%u: %s: bad number \"%s\" "
			    "(%llu to %llu)", name, lineno, w[0], w[1],
			    (unsigned long long)numbers[i].lo,
			    (unsigned long long)numbers[i].hi);
			return (-1);
		}
		if (numbers[i].wide)
			*(uint64_t *)(void *)((char *)cfg + numbers[i].off) = v;
		else
			*(unsigned *)(void *)((char *)cfg + numbers[i].off) =
			    (unsigned)v;
		return (0);
	}
	if (strcmp(w[0], "socket") == 0)
		sp = &cfg->socket_path;
	else if (strcmp(w[0], "state-dir") == 0)
		sp = &cfg->state_dir;
	else if (strcmp(w[0], "agents-file") == 0)
		sp = &cfg->agents_file;
	else if (strcmp(w[0], "cgroup-root") == 0)
		sp = &cfg->cgroup_root;
	else if (strcmp(w[0], "stack-dir") == 0)
		sp = &cfg->stack_dir;
	else if (strcmp(w[0], "trusted-keys") == 0)
		sp = &cfg->trusted_keys;
	if (sp != NULL) {
		if (w[1][0] != '/' || strlen(w[1]) >= 108) {
			xasprintf(cause, "%s:%u: %s: need an absolute path "
			    "shorter than 108 bytes", name, lineno, w[0]);
			return (-1);
		}
		free(*sp);
		*sp = xstrdup(w[1]);
		return (0);
	}
	if (strcmp(w[0], "admin-group") == 0) {
		if (parse_number(w[1], 0, INT_MAX, &v) == 0)
			cfg->admin_gid = (gid_t)v;
		else if ((gr = getgrnam(w[1])) != NULL)
			cfg->admin_gid = gr->gr_gid;
		else {
			xasprintf(cause, "%s:%u: admin-group: unknown group "
			    "\"%s\"", name, lineno, w[1]);
			return (-1);
		}
		cfg->has_admin_gid = 1;
		return (0);
	}
	if (strcmp(w[0], "allow-shared-uid") == 0) {
		if (strcmp(w[1], "yes") == 0)
			cfg->allow_shared_uid = 1;
		else if (strcmp(w[1], "no") == 0)
			cfg->allow_shared_uid = 0;
		else {
			xasprintf(cause, "%s:%u: allow-shared-uid: expected "
			    "yes or no", name, lineno);
			return (-1);
		}
		return (0);
	}
	if (strcmp(w[0], "development-mode") == 0) {
		if (strcmp(w[1], "yes") == 0)
			cfg->development_mode = 1;
		else if (strcmp(w[1], "no") == 0)
			cfg->development_mode = 0;
		else {
			xasprintf(cause, "%s:%u: development-mode: expected "
			    "yes or no", name, lineno);
			return (-1);
		}
		return (0);
	}
	if (strcmp(w[0], "seccomp") == 0) {
		if (strcmp(w[1], "yes") == 0)
			cfg->seccomp = 1;
		else if (strcmp(w[1], "no") == 0)
			cfg->seccomp = 0;
		else {
			xasprintf(cause, "%s:%u: seccomp: expected yes or no",
			    name, lineno);
			return (-1);
		}
		return (0);
	}
	if (strcmp(w[0], "log") == 0) {
		if (strcmp(w[1], "syslog") == 0)
			cfg->log_syslog = 1;
		else if (strcmp(w[1], "stderr") == 0)
			cfg->log_syslog = 0;
		else {
			xasprintf(cause, "%s:%u: log: expected syslog or "
			    "stderr", name, lineno);
			return (-1);
		}
		return (0);
	}
	xasprintf(cause, "%s:%u: unknown keyword \"%.64s\"", name, lineno,
	    w[0]);
	return (-1);
}

int
config_parse(struct config *cfg, const char *buf, size_t len,
    const char *name, char **cause)
{
	return (parse_lines(buf, len, name, config_line, cfg, cause));
}

struct config *
config_load(const char *path, char **cause)
{
	struct config	*cfg;
	char		*buf;
	size_t		 len;

	cfg = config_default();
	if (path != NULL) {
		if ((buf = read_file(path, &len, cause)) == NULL)
			goto fail;
		if (config_parse(cfg, buf, len, path, cause) != 0) {
			free(buf);
			goto fail;
		}
		free(buf);
		cfg->path = xstrdup(path);
		/*
		 * A configuration file is a deployment: development mode
		 * (the broker's uid and root act as any agent, every uid may
		 * verify) must then be asked for, never fallen into by
		 * forgetting a line.  Only running with no file at all gets
		 * it implicitly.
		 */
		if (cfg->agents_file == NULL && !cfg->development_mode) {
			xasprintf(cause, "%s: no agents-file: add \"agents-file "
			    "/etc/baton/agents\" (see baton.conf(5)), or "
			    "\"development-mode yes\" to let the broker's uid "
			    "and root act as any agent", path);
			goto fail;
		}
		if (cfg->agents_file != NULL && cfg->development_mode) {
			xasprintf(cause, "%s: development-mode yes and "
			    "agents-file exclude each other", path);
			goto fail;
		}
	}
	if (cfg->agents_file != NULL &&
	    (cfg->agents = agents_load(cfg->agents_file, cause)) == NULL)
		goto fail;
	if (cfg->agents != NULL && agents_check(cfg, cause) != 0)
		goto fail;
	return (cfg);

fail:
	config_free(cfg);
	return (NULL);
}

static int
agents_line(void *arg, char **w, int nw, const char *name, unsigned lineno,
    char **cause)
{
	struct agents	*a = arg;
	struct agent	*ag;
	struct passwd	*pw;
	uint64_t	 v;
	char		*p, *q, *copy;
	int		 i, have_uid = 0;

	if (strcmp(w[0], "agent") != 0) {
		xasprintf(cause, "%s:%u: unknown keyword \"%.64s\"", name,
		    lineno, w[0]);
		return (-1);
	}
	if (nw < 3 || check_name(w[1]) != 0) {
		xasprintf(cause, "%s:%u: expected \"agent ID uid=N|user=NAME "
		    "[exe=PATH] [cgroup=PATH] [verify=AUD,...]\"", name,
		    lineno);
		return (-1);
	}
	a->list = xreallocarray(a->list, a->n + 1, sizeof *a->list);
	ag = &a->list[a->n++];
	memset(ag, 0, sizeof *ag);
	ag->id = xstrdup(w[1]);
	ag->line = lineno;
	for (i = 2; i < nw; i++) {
		if (strncmp(w[i], "uid=", 4) == 0 && !have_uid) {
			if (parse_number(w[i] + 4, 0, INT_MAX, &v) != 0)
				goto bad;
			ag->uid = (uid_t)v;
			have_uid = 1;
		} else if (strncmp(w[i], "user=", 5) == 0 && !have_uid) {
			if ((pw = getpwnam(w[i] + 5)) == NULL) {
				xasprintf(cause, "%s:%u: unknown user \"%s\"",
				    name, lineno, w[i] + 5);
				return (-1);
			}
			ag->uid = pw->pw_uid;
			have_uid = 1;
		} else if (strncmp(w[i], "exe=", 4) == 0 && ag->exe == NULL) {
			if (w[i][4] != '/')
				goto bad;
			ag->exe = xstrdup(w[i] + 4);
		} else if (strncmp(w[i], "cgroup=", 7) == 0 &&
		    ag->cgroup == NULL) {
			/* As /proc/PID/cgroup names it: "/system.slice/x". */
			if (w[i][7] != '/')
				goto bad;
			ag->cgroup = xstrdup(w[i] + 7);
		} else if (strncmp(w[i], "verify=", 7) == 0 &&
		    ag->verify == NULL) {
			/* strsep cuts what it splits: keep w[i] whole for errors. */
			copy = p = xstrdup(w[i] + 7);
			ag->verify = xcalloc(BATOND_MAX_VERIFY,
			    sizeof *ag->verify);
			while ((q = strsep(&p, ",")) != NULL) {
				if (check_name(q) != 0 ||
				    ag->nverify == BATOND_MAX_VERIFY) {
					free(copy);
					goto bad;
				}
				ag->verify[ag->nverify++] = xstrdup(q);
			}
			free(copy);
		} else
			goto bad;
	}
	if (!have_uid) {
		xasprintf(cause, "%s:%u: agent %s: uid= or user= is required",
		    name, lineno, w[1]);
		return (-1);
	}
	return (0);

bad:
	xasprintf(cause, "%s:%u: bad or repeated attribute \"%.64s\"", name,
	    lineno, w[i]);
	return (-1);
}

int
agents_parse(struct agents *a, const char *buf, size_t len, const char *name,
    char **cause)
{
	return (parse_lines(buf, len, name, agents_line, a, cause));
}

/*
 * Only the uid, and a cgroup that uid cannot write, tell two agents apart:
 * any process of a uid can get a connection the broker attributes to
 * another of its executables (LD_PRELOAD into the real binary, a forked
 * child inheriting the socket, SCM_RIGHTS, ptrace), and can move itself
 * into a cgroup it may write.  So a line that shares its uid with another
 * agent id and leans on exe= or on such a cgroup= for the difference
 * promises a separation the kernel does not give: refuse the file, or with
 * "allow-shared-uid yes" say so loudly and go on.
 */
int
agents_check(const struct config *cfg, char **cause)
{
	const struct agents	*as = cfg->agents;
	const struct agent	*a, *b;
	char			 why[512], *msg;
	size_t			 i, j;

	for (i = 0; i < as->n; i++) {
		a = &as->list[i];
		if (a->exe == NULL && a->cgroup == NULL)
			continue;
		for (j = 0; j < as->n; j++) {
			b = &as->list[j];
			if (b->uid == a->uid && strcmp(b->id, a->id) != 0)
				break;
		}
		if (j == as->n)
			continue;	/* the uid alone tells it apart */
		if (a->cgroup != NULL && cgroup_protected(cfg->cgroup_root,
		    a->cgroup, a->uid, why, sizeof why))
			continue;
		if (a->cgroup == NULL)
			snprintf(why, sizeof why, "exe= is no boundary: any "
			    "process of uid %u can pass for that executable "
			    "(LD_PRELOAD, ptrace, an inherited or passed "
			    "socket)", (unsigned)a->uid);
		xasprintf(&msg, "%s:%u: agent %s shares uid %u with agent %s "
		    "(line %u) and is told apart only by %s: %s; give it its "
		    "own uid, or a cgroup= that uid cannot write (see "
		    "baton.conf(5)), or set \"allow-shared-uid yes\" to run "
		    "anyway", cfg->agents_file, a->line, a->id,
		    (unsigned)a->uid, b->id, b->line,
		    a->cgroup != NULL ? "cgroup=" : "exe=", why);
		if (!cfg->allow_shared_uid) {
			*cause = msg;
			return (-1);
		}
		log_warnx("WARNING: %s (allow-shared-uid yes: accepted)", msg);
		free(msg);
	}
	return (0);
}

struct agents *
agents_load(const char *path, char **cause)
{
	struct agents	*a;
	char		*buf;
	size_t		 len;

	if ((buf = read_file(path, &len, cause)) == NULL)
		return (NULL);
	a = xcalloc(1, sizeof *a);
	if (agents_parse(a, buf, len, path, cause) != 0) {
		agents_free(a);
		a = NULL;
	}
	free(buf);
	return (a);
}
