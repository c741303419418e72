/*
 * stack.c: the PAM-style authorize stacks (baton-stack(5)).
 *
 * stack-dir holds verify.d/AUDIENCE, verify.d/default and issue.d/default.
 * Every file is parsed, every module loaded and every line's arguments
 * checked by its module's init when the configuration is loaded: one bad
 * line makes the whole configuration invalid, so at start batond stops,
 * and on reload the old configuration (stacks included) stays in force.
 *
 * A loaded set of stacks is reference-counted: a request takes a
 * reference for the length of one decision, so a reload that swaps the
 * configuration never frees a stack under a running request, and a
 * request sees one whole configuration, old or new, never a mix.
 *
 * The runner follows Linux-PAM's dispatcher (pam_dispatch.c) for the four
 * controls, expressed as its bracket actions:
 *   required   OK=ok   IGNORE=ignore  DENY,ERROR=bad
 *   requisite  OK=ok   IGNORE=ignore  DENY,ERROR=die
 *   sufficient OK=done IGNORE,DENY,ERROR=ignore
 *   optional   OK=ok   IGNORE,DENY,ERROR=ignore
 * and "include FILE" runs FILE as a substack: it shares the running
 * state, but done and die inside it end only the substack.
 */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batond.h"

#ifndef BATOND_STACK_DIR
#define BATOND_STACK_DIR	"/etc/baton"
#endif
#define STACK_FILE_MAX		(256 * 1024)
#define STACK_LINE_MAX		1024
#define STACK_ARGS_MAX		32
#define STACK_INCLUDE_DEPTH	8
#define STACK_MAX_FILES		1024

enum control { CTL_REQUIRED, CTL_REQUISITE, CTL_SUFFICIENT, CTL_OPTIONAL,
    CTL_INCLUDE };
enum action { ACT_IGNORE, ACT_OK, ACT_DONE, ACT_BAD, ACT_DIE };
enum impression { IMP_UNDEF, IMP_POSITIVE, IMP_NEGATIVE };

static const char *const control_names[] = {
	"required", "requisite", "sufficient", "optional", "include"
};
static const char *const answer_names[] = {
	"ok", "deny", "ignore", "error"
};
static const char *const action_names[] = {
	"ignore", "ok", "done", "bad", "die"
};

/* [control][answer]: the table in the opening comment. */
static const enum action actions[4][4] = {
	[CTL_REQUIRED] = { ACT_OK, ACT_BAD, ACT_IGNORE, ACT_BAD },
	[CTL_REQUISITE] = { ACT_OK, ACT_DIE, ACT_IGNORE, ACT_DIE },
	[CTL_SUFFICIENT] = { ACT_DONE, ACT_IGNORE, ACT_IGNORE, ACT_IGNORE },
	[CTL_OPTIONAL] = { ACT_OK, ACT_IGNORE, ACT_IGNORE, ACT_IGNORE },
};

struct stack;

struct stack_line {
	enum control		 control;
	const struct module	*mod;		/* NULL for include */
	void			*state;
	int			 inited;
	struct stack		*sub;		/* include */
	unsigned		 lineno;
};

struct stack {
	char			*name;		/* "verify.d/default" */
	struct stack_line	*lines;
	size_t			 n;
};

struct stackset {
	int			 refs;
	char			*dir;
	struct stack		*issue;		/* NULL: none */
	struct stack		**verify;	/* sorted by name */
	char			**verify_names;
	size_t			 nverify;
	struct src_chain	 sources[SRC_NDB];	/* sources.conf */
};

/* ---- traces (explain, tests) -------------------------------------------- */

void
trace_add(struct trace *t, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	if (t == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	t->lines = xreallocarray(t->lines, t->n + 1, sizeof *t->lines);
	t->lines[t->n++] = s;
}

void
trace_free(struct trace *t)
{
	size_t	i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		free(t->lines[i]);
	free(t->lines);
	t->lines = NULL;
	t->n = 0;
}

/* ---- loading ------------------------------------------------------------- */

static void
stack_free(struct stack *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		if (s->lines[i].sub != NULL)
			stack_free(s->lines[i].sub);
		else if (s->lines[i].inited && s->lines[i].mod->desc.fini)
			s->lines[i].mod->desc.fini(s->lines[i].state);
	}
	free(s->lines);
	free(s->name);
	free(s);
}

static void
stackset_free(struct stackset *ss)
{
	size_t	i;

	stack_free(ss->issue);
	for (i = 0; i < ss->nverify; i++) {
		stack_free(ss->verify[i]);
		free(ss->verify_names[i]);
	}
	free(ss->verify);
	free(ss->verify_names);
	sources_free(ss->sources);
	free(ss->dir);
	free(ss);
}

/* The chain sources.conf gives db, or NULL: files alone, as built in. */
const struct src_chain *
stacks_sources(const struct stackset *ss, enum baton_database db)
{
	if (ss == NULL || (unsigned)db >= SRC_NDB ||
	    !ss->sources[db].configured)
		return (NULL);
	return (&ss->sources[db]);
}

/* Directory and file alike: root's or ours, writable by no one else. */
static int
safe_owner(const struct stat *st)
{
	return ((st->st_uid == 0 || st->st_uid == geteuid()) &&
	    (st->st_mode & 022) == 0);
}

/* An open configuration file: regular, root's or ours, not writable. */
int
stack_file_safe(int fd)
{
	struct stat	st;

	return (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    safe_owner(&st));
}

/*
 * Read dir/name (name a bare file name) without following links.
 * Returns the text, or NULL: with *cause set on error, or with
 * *cause NULL when the file does not exist.
 */
static char *
read_stack_file(int dfd, const char *shown, const char *name, size_t *lenp,
    char **cause)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	*cause = NULL;
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd == -1) {
		if (errno != ENOENT)
			xasprintf(cause, "%s: %s", shown, errno == ELOOP ?
			    "is a symbolic link" : strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		xasprintf(cause, "%s: not a regular file", shown);
		goto fail;
	}
	if (!safe_owner(&st)) {
		xasprintf(cause, "%s: must be owned by root or uid %u and not "
		    "group- or world-writable", shown, (unsigned)geteuid());
		goto fail;
	}
	if (st.st_size > STACK_FILE_MAX) {
		xasprintf(cause, "%s: file too large", shown);
		goto fail;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			xasprintf(cause, "%s: read failed", shown);
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

static struct stack *stack_parse(int, const char *, const char *, int,
    char **);

/* One line: CONTROL MODULE [ARG...] or include FILE. */
static int
parse_line(struct stack *s, int dfd, const char *sub, char **w, int nw,
    unsigned lineno, int depth, char **cause)
{
	struct stack_line	*l;
	char			 err[512] = "", *why = NULL;
	int			 c;

	for (c = 0; c <= CTL_INCLUDE; c++)
		if (strcmp(w[0], control_names[c]) == 0)
			break;
	if (c > CTL_INCLUDE) {
		xasprintf(cause, "%s:%u: unknown control \"%.64s\" (required, "
		    "requisite, sufficient, optional or include)", s->name,
		    lineno, w[0]);
		return (-1);
	}
	if (nw < 2) {
		xasprintf(cause, "%s:%u: %s: no module named", s->name, lineno,
		    w[0]);
		return (-1);
	}
	s->lines = xreallocarray(s->lines, s->n + 1, sizeof *s->lines);
	l = &s->lines[s->n];
	memset(l, 0, sizeof *l);
	l->control = (enum control)c;
	l->lineno = lineno;
	if (c == CTL_INCLUDE) {
		if (nw != 2 || !module_name_ok(w[1])) {
			xasprintf(cause, "%s:%u: include: expected one bare "
			    "file name in the same directory", s->name, lineno);
			return (-1);
		}
		if (depth >= STACK_INCLUDE_DEPTH) {
			xasprintf(cause, "%s:%u: include: nested more than %d "
			    "deep (a loop?)", s->name, lineno,
			    STACK_INCLUDE_DEPTH);
			return (-1);
		}
		l->sub = stack_parse(dfd, sub, w[1], depth + 1, cause);
		if (l->sub == NULL) {
			if (*cause == NULL)
				xasprintf(cause, "%s:%u: include: %s/%s: no "
				    "such file", s->name, lineno, sub, w[1]);
			return (-1);
		}
		s->n++;
		return (0);
	}
	if ((l->mod = module_load(w[1], &why)) == NULL) {
		xasprintf(cause, "%s:%u: module %.64s: %s", s->name, lineno,
		    w[1], why);
		free(why);
		return (-1);
	}
	s->n++;
	if (l->mod->desc.init(&module_host, nw - 2, w + 2, &l->state, err,
	    sizeof err) != 0) {
		xasprintf(cause, "%s:%u: %s: %s", s->name, lineno, w[1],
		    err[0] != '\0' ? err : "refused its arguments");
		return (-1);
	}
	l->inited = 1;
	return (0);
}

/*
 * Parse sub/name (sub is "verify.d" or "issue.d", dfd its descriptor).
 * NULL with *cause NULL: the file does not exist.
 */
static struct stack *
stack_parse(int dfd, const char *sub, const char *name, int depth,
    char **cause)
{
	struct stack	*s;
	char		*buf, *p, *q, *line, *last;
	char		*w[STACK_ARGS_MAX + 3];	/* control, module, args, NULL */
	char		 shown[PATH_MAX];
	size_t		 len;
	unsigned	 lineno = 0;
	int		 nw;

	snprintf(shown, sizeof shown, "%s/%s", sub, name);
	if ((buf = read_stack_file(dfd, shown, name, &len, cause)) == NULL)
		return (NULL);
	s = xcalloc(1, sizeof *s);
	s->name = xstrdup(shown);
	if (memchr(buf, '\0', len) != NULL) {
		xasprintf(cause, "%s: NUL byte in file", shown);
		goto fail;
	}
	for (p = buf; p != NULL && *p != '\0'; p = q) {
		lineno++;
		line = p;
		if ((q = strchr(p, '\n')) != NULL)
			*q++ = '\0';
		if (strlen(line) > STACK_LINE_MAX) {
			xasprintf(cause, "%s:%u: line longer than %d bytes",
			    shown, lineno, STACK_LINE_MAX);
			goto fail;
		}
		if ((p = strchr(line, '#')) != NULL)
			*p = '\0';
		nw = 0;
		for (p = strtok_r(line, " \t\r", &last); p != NULL;
		    p = strtok_r(NULL, " \t\r", &last)) {
			if (nw == STACK_ARGS_MAX + 2) {
				xasprintf(cause, "%s:%u: more than %d "
				    "arguments", shown, lineno,
				    STACK_ARGS_MAX);
				goto fail;
			}
			w[nw++] = p;
		}
		if (nw == 0)
			continue;
		w[nw] = NULL;
		if (parse_line(s, dfd, sub, w, nw, lineno, depth, cause) != 0)
			goto fail;
	}
	free(buf);
	return (s);
fail:
	free(buf);
	stack_free(s);
	return (NULL);
}

/* Open dir/sub, checking it; -1 with *cause NULL when it does not exist. */
static int
open_dir(int pfd, const char *shown, const char *sub, char **cause)
{
	struct stat	st;
	int		fd;

	*cause = NULL;
	fd = openat(pfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1) {
		if (errno != ENOENT)
			xasprintf(cause, "%s: %s", shown, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) != 0 || !safe_owner(&st)) {
		xasprintf(cause, "%s: must be owned by root or uid %u and not "
		    "group- or world-writable", shown, (unsigned)geteuid());
		close(fd);
		return (-1);
	}
	return (fd);
}

static int
name_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static int
load_verify(struct stackset *ss, int vfd, char **cause)
{
	DIR		*dp;
	struct dirent	*de;
	char		**names = NULL;
	size_t		 n = 0, i;
	int		 fd, rc = -1;

	if ((fd = dup(vfd)) == -1 || (dp = fdopendir(fd)) == NULL) {
		xasprintf(cause, "verify.d: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return (-1);
	}
	while ((de = readdir(dp)) != NULL) {
		/* Editors' leftovers and dot files are not stacks. */
		if (de->d_name[0] == '.' ||
		    de->d_name[strlen(de->d_name) - 1] == '~')
			continue;
		if (n == STACK_MAX_FILES) {
			xasprintf(cause, "verify.d: more than %d files",
			    STACK_MAX_FILES);
			goto out;
		}
		names = xreallocarray(names, n + 1, sizeof *names);
		names[n++] = xstrdup(de->d_name);
	}
	if (n > 0)	/* no files: names is NULL, which qsort may not take */
		qsort(names, n, sizeof *names, name_cmp);
	ss->verify = xcalloc(n + 1, sizeof *ss->verify);
	ss->verify_names = xcalloc(n + 1, sizeof *ss->verify_names);
	for (i = 0; i < n; i++) {
		ss->verify[i] = stack_parse(vfd, "verify.d", names[i], 0,
		    cause);
		if (ss->verify[i] == NULL) {
			if (*cause == NULL)
				xasprintf(cause, "verify.d/%s: vanished",
				    names[i]);
			goto out;
		}
		ss->verify_names[i] = names[i];
		names[i] = NULL;
		ss->nverify++;
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(dp);
	return (rc);
}

/*
 * Load every stack under cfg's stack-dir into cfg->stacks (NULL when
 * there are none: the broker then behaves as without modules).
 */
int
stacks_load(struct config *cfg, char **cause)
{
	struct stackset	*ss;
	const char	*dir = cfg->stack_dir != NULL ? cfg->stack_dir :
			    BATOND_STACK_DIR;
	struct stat	 st;
	char		 shown[PATH_MAX];
	int		 dfd, vfd = -1, ifd = -1, rc = -1;

	cfg->stacks = NULL;
	*cause = NULL;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1) {
		if (errno == ENOENT && cfg->stack_dir == NULL)
			return (0);
		xasprintf(cause, "stack-dir %s: %s", dir, strerror(errno));
		return (-1);
	}
	/* Whoever may write here may add a stack: root's or ours only. */
	if (fstat(dfd, &st) != 0 || !safe_owner(&st)) {
		xasprintf(cause, "stack-dir %s: must be owned by root or uid %u "
		    "and not group- or world-writable", dir,
		    (unsigned)geteuid());
		close(dfd);
		return (-1);
	}
	ss = xcalloc(1, sizeof *ss);
	ss->refs = 1;
	ss->dir = xstrdup(dir);
	snprintf(shown, sizeof shown, "%s/verify.d", dir);
	if ((vfd = open_dir(dfd, shown, "verify.d", cause)) == -1 &&
	    *cause != NULL)
		goto out;
	snprintf(shown, sizeof shown, "%s/issue.d", dir);
	if ((ifd = open_dir(dfd, shown, "issue.d", cause)) == -1 &&
	    *cause != NULL)
		goto out;
	if (vfd != -1 && load_verify(ss, vfd, cause) != 0)
		goto out;
	if (ifd != -1 && (ss->issue = stack_parse(ifd, "issue.d", "default",
	    0, cause)) == NULL && *cause != NULL)
		goto out;
	module_settings_begin(cfg);
	if (sources_load(dfd, ss->sources, cause) != 0) {
		module_settings_end();
		goto out;
	}
	module_settings_end();
	rc = 0;
out:
	if (rc == 0 && (ss->issue != NULL || ss->nverify > 0 ||
	    ss->sources[BATON_DB_AGENTS].configured ||
	    ss->sources[BATON_DB_REVOCATION].configured ||
	    ss->sources[BATON_DB_REPLAY].configured)) {
		cfg->stacks = ss;
		log_info("stacks from %s: %zu verify, %s issue%s", dir,
		    ss->nverify, ss->issue != NULL ? "an" : "no",
		    ss->sources[BATON_DB_AGENTS].configured ||
		    ss->sources[BATON_DB_REVOCATION].configured ||
		    ss->sources[BATON_DB_REPLAY].configured ?
		    ", sources.conf" : "");
	} else
		stackset_free(ss);
	if (vfd != -1)
		close(vfd);
	if (ifd != -1)
		close(ifd);
	close(dfd);
	return (rc);
}

/* ---- references ------------------------------------------------------------ */

struct stackset *
stacks_acquire(void)
{
	struct config	*cfg;
	struct stackset	*ss;

	cfg = broker_config();
	if ((ss = cfg->stacks) != NULL)
		__atomic_add_fetch(&ss->refs, 1, __ATOMIC_RELAXED);
	broker_config_release();
	return (ss);
}

void
stacks_release(struct stackset *ss)
{
	if (ss != NULL && __atomic_sub_fetch(&ss->refs, 1,
	    __ATOMIC_ACQ_REL) == 0)
		stackset_free(ss);
}

static const struct stack *
stack_find(const struct stackset *ss, const struct decision *d)
{
	size_t	lo = 0, hi, mid;
	int	c;

	if (d->op != BATON_OP_VERIFY)
		return (ss->issue);
	/* verify.d/AUDIENCE, else verify.d/default. */
	for (c = 0; c < 2; c++) {
		const char *want = c == 0 ? d->service : "default";

		if (want == NULL)
			continue;
		lo = 0;
		hi = ss->nverify;
		while (lo < hi) {
			mid = (lo + hi) / 2;
			if (strcmp(ss->verify_names[mid], want) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < ss->nverify && strcmp(ss->verify_names[lo], want) == 0)
			return (ss->verify[lo]);
	}
	return (NULL);
}

/* ---- running -------------------------------------------------------------- */

struct run {
	enum impression	 imp;
	enum baton_answer status;
	char		*why;		/* the first failure's reason */
	size_t		 whylen;
	struct trace	*trace;
};

/* 1 when the stack (or substack) ends here: done or die. */
static int
run_stack(const struct stack *s, const struct decision *d, struct run *st)
{
	const struct stack_line	*l;
	enum baton_answer	 a;
	enum action		 act;
	char			 reason[256];
	size_t			 i;

	for (i = 0; i < s->n; i++) {
		l = &s->lines[i];
		if (l->control == CTL_INCLUDE) {
			trace_add(st->trace, "%s:%u: include %s", s->name,
			    l->lineno, l->sub->name);
			/* done and die end the substack only. */
			run_stack(l->sub, d, st);
			continue;
		}
		reason[0] = '\0';
		if (l->mod->desc.authorize == NULL)
			a = BATON_ANSWER_IGNORE;
		else
			a = l->mod->desc.authorize(l->state,
			    (const struct baton_decision *)(const void *)d,
			    reason, sizeof reason);
		if ((unsigned)a > BATON_ANSWER_ERROR)
			a = BATON_ANSWER_ERROR;	/* garbage fails closed */
		reason[sizeof reason - 1] = '\0';
		act = actions[l->control][a];
		trace_add(st->trace, "%s:%u: %s %s: %s%s%s (%s)", s->name,
		    l->lineno, control_names[l->control], l->mod->name,
		    answer_names[a], reason[0] != '\0' ? ": " : "", reason,
		    action_names[act]);
		switch (act) {
		case ACT_IGNORE:
			break;
		case ACT_OK:
		case ACT_DONE:
			if (st->imp == IMP_UNDEF ||
			    (st->imp == IMP_POSITIVE &&
			    st->status == BATON_ANSWER_OK)) {
				st->imp = IMP_POSITIVE;
				st->status = a;
			}
			/* A prior failure keeps sufficient from ending it. */
			if (act == ACT_DONE && st->imp == IMP_POSITIVE)
				return (1);
			break;
		case ACT_BAD:
		case ACT_DIE:
			if (st->imp != IMP_NEGATIVE) {
				st->imp = IMP_NEGATIVE;
				st->status = a;
				if (st->why != NULL)
					snprintf(st->why, st->whylen, "%s:%u: "
					    "%s%s%s", s->name, l->lineno,
					    l->mod->name, reason[0] != '\0' ?
					    ": " : "", reason);
			}
			if (act == ACT_DIE)
				return (1);
			break;
		}
	}
	return (0);
}

/* The stack's answer: OK, DENY or ERROR (an all-IGNORE stack denies). */
static enum authz_result
stack_run(const struct stack *s, const struct decision *d)
{
	struct run	st;

	memset(&st, 0, sizeof st);
	st.imp = IMP_UNDEF;
	st.status = BATON_ANSWER_DENY;
	st.why = d->why;
	st.whylen = d->whylen;
	st.trace = d->trace;
	run_stack(s, d, &st);
	switch (st.imp) {
	case IMP_POSITIVE:
		trace_add(st.trace, "%s: allow", s->name);
		return (AUTHZ_OK);
	case IMP_NEGATIVE:
		trace_add(st.trace, "%s: %s", s->name,
		    st.status == BATON_ANSWER_ERROR ? "error" : "deny");
		return (st.status == BATON_ANSWER_ERROR ? AUTHZ_ERROR :
		    AUTHZ_DENY);
	case IMP_UNDEF:
		break;
	}
	if (st.why != NULL)
		snprintf(st.why, st.whylen, "%s: no module allowed", s->name);
	trace_add(st.trace, "%s: deny (no module allowed)", s->name);
	return (AUTHZ_DENY);
}

/* The authorize hook: IGNORE (carry on as without modules) when no stack. */
enum authz_result
stacks_authorize(const struct decision *d)
{
	struct stackset		*ss;
	const struct stack	*s;
	enum authz_result	 r = AUTHZ_IGNORE;

	if ((ss = stacks_acquire()) == NULL) {
		trace_add(d->trace, "no stacks configured");
		return (AUTHZ_IGNORE);
	}
	if ((s = stack_find(ss, d)) != NULL)
		r = stack_run(s, d);
	else
		trace_add(d->trace, "no %s stack", d->op == BATON_OP_VERIFY ?
		    "verify.d" : "issue.d");
	stacks_release(ss);
	return (r);
}

static void
observe_stack(const struct stack *s, const struct decision *d)
{
	const struct stack_line	*l;
	size_t			 i;

	for (i = 0; i < s->n; i++) {
		l = &s->lines[i];
		if (l->sub != NULL)
			observe_stack(l->sub, d);
		else if (l->mod->desc.observe != NULL)
			l->mod->desc.observe(l->state,
			    (const struct baton_decision *)(const void *)d);
	}
}

/* Observers on the decision's stack; a dry run (explain) records nothing. */
void
stacks_observe(const struct decision *d)
{
	struct stackset		*ss;
	const struct stack	*s;

	if (d->dry_run || (ss = stacks_acquire()) == NULL)
		return;
	if ((s = stack_find(ss, d)) != NULL)
		observe_stack(s, d);
	stacks_release(ss);
}
