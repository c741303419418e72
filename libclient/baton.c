/* baton.c: the baton command: the broker's operations for shells and people. */

#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "baton/agent.h"
#include "baton/verify.h"
#include "cmd.h"

/* Exit codes: scripts rely on them (DESIGN.md section 5). */
#define EX_ALLOW	0
#define EX_DENY		1
#define EX_ERROR	2

/* base64url of a 64 KiB envelope plus the prefix, and some slack */
#define MAX_TOKEN_TEXT	(4 + (65536 * 4 + 2) / 3 + 16)
#define MAX_LIST	64

struct cmd {
	const char	*name;
	int		(*fn)(int, char **);
	const char	*usage;
	const char	*help;
};

static const struct cmd *cur;

static void __attribute__((format(printf, 1, 2)))
warnx_(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "baton%s%s: ", cur ? " " : "", cur ? cur->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A usage error: say what was wrong and how to get help; exit 2. */
static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "baton%s%s: ", cur ? " " : "", cur ? cur->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: baton %s\nTry 'baton %s --help'.\n",
	    cur ? cur->usage : "COMMAND ...", cur ? cur->name : "");
	return EX_ERROR;
}

/*
 * getopt_long's complaint, in our words: optstrings start with ':' so that
 * a missing argument (':') is told apart from an unknown option ('?').
 */
static int
bad_option(int ch, char **argv)
{
	const char	*opt = optind > 0 ? argv[optind - 1] : "?";

	if (ch == ':')
		return usage_error("option '%s' needs an argument", opt);
	return usage_error("unknown option '%s'", opt);
}

static int
help(void)
{
	printf("usage: baton %s\n\n%s", cur->usage, cur->help);
	return EX_ALLOW;
}

/* ---- common options ------------------------------------------------------ */

struct common {
	const char	*socket;
	int		 timeout_ms;
	int		 json;
};

/* --socket and --timeout given before the command (baton --socket P verify). */
static struct common	 global;

enum {
	O_SOCKET = 1000, O_TIMEOUT, O_JSON, O_HELP, O_TOOL, O_TTL, O_AUD,
	O_SUBJECT, O_AS, O_MAXDEPTH, O_LIMIT, O_WHERE, O_SINGLE, O_HOLDER,
	O_CTX, O_ACTION, O_ARG, O_USAGE, O_OFFLINE, O_KEYS, O_JTI, O_PROM,
	O_NOW, O_MINIMAL, O_DISCLOSE
};

static int
parse_u64(const char *s, uint64_t *out)
{
	char			*end;
	unsigned long long	 v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/*
 * An option the command did not take itself: one every command takes
 * (0), or a usage error, told here, whose exit code is returned.
 */
static int
common_opt(struct common *co, int ch, char **argv)
{
	uint64_t	v;

	switch (ch) {
	case O_SOCKET:
		co->socket = optarg;
		return 0;
	case O_TIMEOUT:
		if (parse_u64(optarg, &v) != 0 || v == 0 || v > INT_MAX)
			return usage_error("bad --timeout '%s': want "
			    "milliseconds > 0", optarg);
		co->timeout_ms = (int)v;
		return 0;
	case O_JSON:
		co->json = 1;
		return 0;
	default:
		return bad_option(ch, argv);
	}
}

static int
open_client(struct baton_client **c, const struct common *co)
{
	struct baton_client_opts	o = BATON_CLIENT_OPTS_INIT;
	const char			*path;
	int				 ret;

	/* after the command wins over before it, as with git -C */
	o.socket_path = co->socket != NULL ? co->socket : global.socket;
	o.timeout_ms = co->timeout_ms != 0 ? co->timeout_ms : global.timeout_ms;
	o.client_name = "baton";
	if ((ret = baton_client_open(c, &o)) == 0)
		return 0;
	/* the path the library tried, for the message: the same rules */
	path = o.socket_path;
	if (path == NULL || *path == '\0')
		path = getenv("BATON_SOCKET");
	if (path == NULL || *path == '\0')
		path = baton_default_socket();
	if (ret == BATON_EUNAVAIL)
		warnx_("cannot reach the broker at %s (%s): start batond, or "
		    "point --socket or BATON_SOCKET at its socket", path,
		    baton_strerror(ret));
	else if (ret == BATON_ETIMEOUT)
		warnx_("the broker at %s did not answer in time: it may be "
		    "overloaded or stuck; retry, or raise --timeout", path);
	else if (ret == BATON_EPROTO)
		warnx_("the socket %s does not speak the baton protocol: "
		    "point --socket or BATON_SOCKET at batond's socket", path);
	else
		warnx_("cannot talk to the broker at %s: %s", path,
		    baton_strerror(ret));
	return EX_ERROR;
}

/* A failed broker call: denials exit 1 with the reason, all else 2. */
static int
call_error(struct baton_client *c, int ret, const char *what)
{
	int	reason;

	if (ret == BATON_EDENIED) {
		reason = baton_client_last_reason(c);
		warnx_("denied: %s (%s)", baton_reason_name(reason),
		    baton_reason_text(reason));
		return EX_DENY;
	}
	if (ret == BATON_EPERM) {
		warnx_("%s not permitted: %s", what,
		    *baton_client_last_error(c) ? baton_client_last_error(c) :
		    baton_strerror(ret));
		return EX_DENY;
	}
	warnx_("%s failed: %s%s%s", what, baton_strerror(ret),
	    *baton_client_last_error(c) ? "; " : "",
	    baton_client_last_error(c));
	if (ret == BATON_EUNAVAIL || ret == BATON_ETIMEOUT)
		fprintf(stderr, "Check that batond is running and "
		    "answering on %s.\n", baton_client_socket(c));
	return EX_ERROR;
}

/*
 * The token: the argument, or stdin when it is "-" or absent, so tokens
 * need never appear in argv (where ps shows them).
 */
static char *
read_token(int argc, char **argv, int *err)
{
	char	*buf, *p;
	size_t	 n = 0, r;

	*err = 0;
	if (argc > 1) {
		*err = usage_error("one token at most");
		return NULL;
	}
	if (argc == 1 && strcmp(argv[0], "-") != 0) {
		if ((buf = strdup(argv[0])) == NULL)
			*err = EX_ERROR;
		return buf;
	}
	if ((buf = malloc(MAX_TOKEN_TEXT + 1)) == NULL) {
		*err = EX_ERROR;
		return NULL;
	}
	while (n <= MAX_TOKEN_TEXT &&
	    (r = fread(buf + n, 1, MAX_TOKEN_TEXT + 1 - n, stdin)) > 0)
		n += r;
	if (ferror(stdin) || n > MAX_TOKEN_TEXT) {
		if (ferror(stdin))
			warnx_("cannot read the token from stdin: %s",
			    strerror(errno));
		else
			warnx_("the token on stdin is over %d bytes, "
			    "larger than any token", MAX_TOKEN_TEXT);
		explicit_bzero(buf, n);
		free(buf);
		*err = EX_ERROR;
		return NULL;
	}
	buf[n] = '\0';
	/* one line: trailing newline and blanks are not part of it */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	p = buf;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p == '\0') {
		free(buf);
		*err = usage_error("no token on stdin: give TOKEN, or pipe "
		    "one in");
		return NULL;
	}
	/*
	 * Two tokens, or a token and more text, are a mistake in the pipe
	 * that led here (cat of a whole file): refuse it rather than send
	 * a guess to the broker.
	 */
	if (strpbrk(p, "\n\r") != NULL) {
		explicit_bzero(buf, n);
		free(buf);
		*err = usage_error("stdin holds more than one line; give "
		    "exactly one token");
		return NULL;
	}
	if (p != buf)
		memmove(buf, p, strlen(p) + 1);
	return buf;
}

static void
free_token(char *t)
{
	if (t != NULL) {
		explicit_bzero(t, strlen(t));
		free(t);
	}
}

static void
fmt_time(char *buf, size_t len, uint64_t t)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%" PRIu64, t);
}

/* ---- restriction options shared by mint and attenuate ------------------ */

struct restrict_opts {
	struct baton_grantset	*gs;
	uint64_t		 ttl;
	const char		*subject;
	const char		*as;
	int			 max_depth;
	int			 single_use;
	const char		*holder;
	int			 ntools;
	int			 wildcard;	/* --tool '*' seen */
	/* tools named by --tool, and by --limit and --where (in argv) */
	const char		*tools[MAX_LIST];
	const char		*refs[MAX_LIST];
	int			 nrefs;
};

/* --tool NAME[:ACTION,...] */
static int
opt_tool(struct restrict_opts *ro, char *arg)
{
	char	*colon = strchr(arg, ':');

	if (colon != NULL)
		*colon++ = '\0';
	if (ro->ntools == MAX_LIST)
		return -1;
	if (strcmp(arg, "*") == 0)
		ro->wildcard = 1;
	ro->tools[ro->ntools++] = arg;
	return baton_grantset_add_tool(ro->gs, arg, colon);
}

/*
 * The library adds a tool that --limit or --where names if no --tool did;
 * on the command line that would silently grant "--limit shell.max_calls=1"
 * the whole of shell, so every such tool must also be given with --tool.
 */
static int
check_refs(const struct restrict_opts *ro)
{
	int	i, j;

	if (ro->wildcard && ro->ntools > 1)
		return usage_error("--tool '*' grants every tool: give no "
		    "other --tool with it");
	for (i = 0; i < ro->nrefs; i++) {
		for (j = 0; j < ro->ntools; j++)
			if (strcmp(ro->refs[i], ro->tools[j]) == 0)
				break;
		if (j == ro->ntools)
			return usage_error("--limit or --where names tool "
			    "'%s', which no --tool grants: add --tool %s%s",
			    ro->refs[i], ro->refs[i], ro->wildcard ?
			    " instead of --tool '*'" : "");
	}
	return 0;
}

/* Split "TOOL.NAME=VALUE": the name is after the last dot before '='. */
static int
split_dotted(char *arg, char **tool, char **name, char **value)
{
	char	*eq, *dot;

	if ((eq = strchr(arg, '=')) == NULL)
		return -1;
	*eq = '\0';
	if ((dot = strrchr(arg, '.')) == NULL || dot == arg ||
	    dot[1] == '\0')
		return -1;
	*dot = '\0';
	*tool = arg;
	*name = dot + 1;
	*value = eq + 1;
	return 0;
}

/* What a --where predicate of this kind should look like. */
static const char *
where_hint(const char *pred)
{
	static const struct {
		const char	*kind;
		const char	*hint;
	} hints[] = {
		{ "eq:", "eq:V wants a value" },
		{ "in:", "in:A,B,... wants one or more values" },
		{ "prefix:", "prefix:P wants a string" },
		{ "glob:", "glob:G wants a pattern ('*' and '?')" },
		{ "range:", "range:LO..HI wants two integers, LO <= HI" },
		{ "maxlen:", "maxlen:N wants an integer >= 0" },
	};
	size_t	i;

	for (i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
		if (strncmp(pred, hints[i].kind, strlen(hints[i].kind)) == 0)
			return hints[i].hint;
	return "PRED is one of eq:V in:A,B,... prefix:P glob:G "
	    "range:LO..HI maxlen:N";
}

/* 1: handled, 0: not a restriction option, -1: bad value (message given) */
static int
restrict_opt(struct restrict_opts *ro, int ch, char *arg)
{
	char		*tool, *name, *value, *eq;
	char		 orig[256];
	uint64_t	 v;

	/* split_dotted cuts arg up: keep the text for the message */
	snprintf(orig, sizeof(orig), "%s", arg);

	switch (ch) {
	case O_TOOL:
		if (opt_tool(ro, arg) != 0) {
			usage_error("bad --tool '%s': want NAME or "
			    "NAME:ACTION,... (lowercase actions)", orig);
			return -1;
		}
		return 1;
	case O_TTL:
		if (parse_u64(arg, &v) != 0 || v == 0) {
			usage_error("bad --ttl '%s': want seconds > 0", arg);
			return -1;
		}
		ro->ttl = v;
		return 1;
	case O_AUD:
		if (baton_grantset_add_audience(ro->gs, arg) != 0) {
			usage_error("bad --aud '%s': want 1 to 128 printable "
			    "characters", arg);
			return -1;
		}
		return 1;
	case O_SUBJECT:
		ro->subject = arg;
		return 1;
	case O_AS:
		ro->as = arg;
		return 1;
	case O_MAXDEPTH:
		if (parse_u64(arg, &v) != 0 || v > 15) {
			usage_error("bad --max-depth '%s': want 0..15", arg);
			return -1;
		}
		ro->max_depth = (int)v;
		return 1;
	case O_LIMIT:
		if (split_dotted(arg, &tool, &name, &value) != 0 ||
		    parse_u64(value, &v) != 0 ||
		    baton_grantset_add_limit(ro->gs, tool, name, v) != 0) {
			usage_error("bad --limit '%s': want TOOL.NAME=MAX "
			    "with MAX an unsigned integer, e.g. "
			    "db_query.max_rows=100", orig);
			return -1;
		}
		if (ro->nrefs == MAX_LIST) {
			usage_error("too many --limit and --where");
			return -1;
		}
		ro->refs[ro->nrefs++] = tool;
		return 1;
	case O_WHERE:
		if (split_dotted(arg, &tool, &name, &value) != 0) {
			usage_error("bad --where '%s': want TOOL.ARG=PRED, "
			    "e.g. db_query.table=in:orders,users", orig);
			return -1;
		}
		if (baton_grantset_add_where(ro->gs, tool, name, value) != 0) {
			usage_error("bad --where '%s': %s", orig,
			    where_hint(value));
			return -1;
		}
		if (ro->nrefs == MAX_LIST) {
			usage_error("too many --limit and --where");
			return -1;
		}
		ro->refs[ro->nrefs++] = tool;
		return 1;
	case O_SINGLE:
		ro->single_use = 1;
		return 1;
	case O_HOLDER:
		ro->holder = arg;
		return 1;
	case O_CTX:
		if ((eq = strchr(arg, '=')) == NULL || eq == arg) {
			usage_error("bad --ctx '%s': want KEY=VALUE", arg);
			return -1;
		}
		*eq = '\0';
		if (baton_grantset_add_ctx(ro->gs, arg, eq + 1) != 0) {
			usage_error("bad --ctx '%s': the key must be 1 to 128 "
			    "printable characters", orig);
			return -1;
		}
		return 1;
	default:
		return 0;
	}
}

#define COMMON_LONGOPTS \
	{ "socket", required_argument, NULL, O_SOCKET }, \
	{ "timeout", required_argument, NULL, O_TIMEOUT }, \
	{ "json", no_argument, NULL, O_JSON }, \
	{ "help", no_argument, NULL, O_HELP }

#define RESTRICT_LONGOPTS \
	{ "tool", required_argument, NULL, O_TOOL }, \
	{ "ttl", required_argument, NULL, O_TTL }, \
	{ "aud", required_argument, NULL, O_AUD }, \
	{ "as", required_argument, NULL, O_AS }, \
	{ "max-depth", required_argument, NULL, O_MAXDEPTH }, \
	{ "limit", required_argument, NULL, O_LIMIT }, \
	{ "where", required_argument, NULL, O_WHERE }, \
	{ "single-use", no_argument, NULL, O_SINGLE }, \
	{ "holder", required_argument, NULL, O_HOLDER }, \
	{ "ctx", required_argument, NULL, O_CTX }

/*
 * The options of mint and attenuate, into co and ro.  0 to go on, else
 * -1 with the exit code (help's too) in *ret.  ro->gs is the caller's to
 * free either way.
 */
static int
restrict_getopt(struct common *co, struct restrict_opts *ro, int argc,
    char **argv, const struct option *lo, int *ret)
{
	int	ch, r;

	memset(ro, 0, sizeof(*ro));
	ro->max_depth = -1;
	*ret = EX_ERROR;
	if (baton_grantset_new(&ro->gs) != 0)
		return -1;
	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		if (ch == O_HELP) {
			*ret = help();
			return -1;
		}
		if ((r = restrict_opt(ro, ch, optarg)) == 1)
			continue;
		if (r < 0)
			return -1;	/* restrict_opt told why */
		if ((*ret = common_opt(co, ch, argv)) != 0)
			return -1;
	}
	return 0;
}

/* Print an issued token: the token alone on one line, or JSON. */
static int
print_issued(const struct baton_issued *t, int json)
{
	json_t	*o;
	char	*s;

	if (!json) {
		printf("%s\n", baton_issued_token(t));
		return fflush(stdout) == 0 ? EX_ALLOW : EX_ERROR;
	}
	o = json_pack("{s:s, s:s, s:I}", "token", baton_issued_token(t),
	    "jti", baton_issued_jti(t), "exp",
	    (json_int_t)baton_issued_exp(t));
	if (o == NULL || (s = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return EX_ERROR;
	}
	printf("%s\n", s);
	explicit_bzero(s, strlen(s));
	free(s);
	json_decref(o);
	return fflush(stdout) == 0 ? EX_ALLOW : EX_ERROR;
}

/* ---- mint ------------------------------------------------------------------ */

static int
cmd_mint(int argc, char **argv)
{
	static const struct option lo[] = {
		COMMON_LONGOPTS, RESTRICT_LONGOPTS,
		{ "subject", required_argument, NULL, O_SUBJECT },
		{ NULL, 0, NULL, 0 }
	};
	struct common		 co = { NULL, 0, 0 };
	struct restrict_opts	 ro;
	struct baton_mint_opts	 mo = BATON_MINT_OPTS_INIT;
	struct baton_client	*c = NULL;
	struct baton_issued	*t = NULL;
	int			 r, ret = EX_ERROR;

	if (restrict_getopt(&co, &ro, argc, argv, lo, &ret) != 0)
		goto out;
	if (optind != argc) {
		ret = usage_error("mint takes no arguments");
		goto out;
	}
	if (ro.ntools == 0) {
		ret = usage_error("at least one --tool is needed");
		goto out;
	}
	if ((ret = check_refs(&ro)) != 0)
		goto out;
	mo.grants = ro.gs;
	mo.as = ro.as;
	mo.subject = ro.subject;
	mo.ttl = ro.ttl;
	mo.max_depth = ro.max_depth;
	mo.single_use = ro.single_use;
	mo.holder = ro.holder;
	if ((ret = open_client(&c, &co)) != 0)
		goto out;
	if ((r = baton_client_mint(&t, c, &mo)) != 0)
		ret = call_error(c, r, "mint");
	else
		ret = print_issued(t, co.json);
out:
	baton_issued_free(t);
	baton_client_free(c);
	baton_grantset_free(ro.gs);
	return ret;
}

/* ---- attenuate ------------------------------------------------------------- */

static int
cmd_attenuate(int argc, char **argv)
{
	static const struct option lo[] = {
		COMMON_LONGOPTS, RESTRICT_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct common		 co = { NULL, 0, 0 };
	struct restrict_opts	 ro;
	struct baton_attenuate_opts ao = BATON_ATTENUATE_OPTS_INIT;
	struct baton_client	*c = NULL;
	struct baton_issued	*t = NULL;
	char			*tok = NULL;
	int			 r, ret = EX_ERROR;

	if (restrict_getopt(&co, &ro, argc, argv, lo, &ret) != 0)
		goto out;
	if (ro.wildcard) {
		ret = usage_error("--tool '*' cannot narrow a token: name the "
		    "tools the child keeps");
		goto out;
	}
	if ((ret = check_refs(&ro)) != 0)
		goto out;
	if ((tok = read_token(argc - optind, argv + optind, &ret)) == NULL)
		goto out;
	ao.grants = ro.gs;
	ao.as = ro.as;
	ao.ttl = ro.ttl;
	ao.max_depth = ro.max_depth;
	ao.single_use = ro.single_use;
	ao.holder = ro.holder;
	if ((ret = open_client(&c, &co)) != 0)
		goto out;
	if ((r = baton_client_attenuate(&t, c, tok, &ao)) != 0)
		ret = r == BATON_EMALFORMED ? (warnx_("not a baton token"),
		    EX_DENY) : call_error(c, r, "attenuate");
	else
		ret = print_issued(t, co.json);
out:
	free_token(tok);
	baton_issued_free(t);
	baton_client_free(c);
	baton_grantset_free(ro.gs);
	return ret;
}

/* ---- present ------------------------------------------------------------------ */

static int
cmd_present(int argc, char **argv)
{
	static const struct option lo[] = {
		COMMON_LONGOPTS,
		{ "tool", required_argument, NULL, O_TOOL },
		{ "action", required_argument, NULL, O_ACTION },
		{ "aud", required_argument, NULL, O_AUD },
		{ "ttl", required_argument, NULL, O_TTL },
		{ "as", required_argument, NULL, O_AS },
		{ "minimal", no_argument, NULL, O_MINIMAL },
		{ "disclose", required_argument, NULL, O_DISCLOSE },
		{ NULL, 0, NULL, 0 }
	};
	struct common		 co = { NULL, 0, 0 };
	struct baton_client	*c = NULL;
	struct baton_issued	*t = NULL;
	struct baton_present_opts po = BATON_PRESENT_OPTS_INIT;
	const char		*disc[18];
	char			*tok = NULL;
	int			 ch, r, ret = EX_ERROR;

	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		switch (ch) {
		case O_HELP:
			return help();
		case O_TOOL:
			po.tool = optarg;
			continue;
		case O_ACTION:
			po.action = optarg;
			continue;
		case O_AUD:
			po.audience = optarg;
			continue;
		case O_AS:
			po.as = optarg;
			continue;
		case O_MINIMAL:
			po.minimal = 1;
			continue;
		case O_DISCLOSE:
			if (strcmp(optarg, "iss") != 0 &&
			    strcmp(optarg, "sub") != 0 &&
			    (strncmp(optarg, "ctx.", 4) != 0 || optarg[4] == '\0'))
				return usage_error("bad --disclose '%s': want "
				    "iss, sub or ctx.KEY", optarg);
			if (po.ndisclose == sizeof(disc) / sizeof(disc[0]))
				return usage_error("too many --disclose");
			disc[po.ndisclose++] = optarg;
			po.disclose = disc;
			continue;
		case O_TTL:
			if (parse_u64(optarg, &po.ttl) != 0 || po.ttl == 0 ||
			    po.ttl > 120)
				return usage_error("bad --ttl: want 1..120 "
				    "seconds");
			continue;
		}
		if ((ret = common_opt(&co, ch, argv)) != 0)
			return ret;
	}
	if (po.tool == NULL || po.action == NULL || po.audience == NULL)
		return usage_error("--tool, --action and --aud are required");
	if (po.ndisclose > 0 && !po.minimal)
		return usage_error("--disclose needs --minimal");
	if ((tok = read_token(argc - optind, argv + optind, &ret)) == NULL)
		return ret;
	if ((ret = open_client(&c, &co)) != 0)
		goto out;
	if ((r = baton_client_present(&t, c, tok, &po)) != 0)
		ret = r == BATON_EMALFORMED ? (warnx_("not a baton token"),
		    EX_DENY) : call_error(c, r, "present");
	else
		ret = print_issued(t, co.json);
out:
	free_token(tok);
	baton_issued_free(t);
	baton_client_free(c);
	return ret;
}

/* ---- verify ------------------------------------------------------------------- */

static void
print_facts(const struct baton_verify_result *res)
{
	char		when[32];
	size_t		i, n;
	const char	*s;

	printf("allow\n");
	if (baton_verify_result_wildcard(res))
		printf("tools: * (every tool)\n");
	else if ((n = baton_verify_result_ntools(res)) > 0) {
		printf("tools:");
		for (i = 0; i < n; i++)
			printf(" %s", baton_verify_result_tool(res, i));
		printf("\n");
	}
	/* a call token (present --minimal) shows them only if disclosed */
	if ((s = baton_verify_result_iss(res)) != NULL)
		printf("issuer: %s\n", *s ? s : "(not disclosed)");
	if ((s = baton_verify_result_sub(res)) != NULL)
		printf("subject: %s\n", *s ? s : "(not disclosed)");
	printf("depth: %" PRIu64 "\n", baton_verify_result_depth(res));
	if ((n = baton_verify_result_chain_len(res)) > 0) {
		printf("chain:");
		for (i = 0; i < n; i++) {
			s = baton_verify_result_chain_agent(res, i);
			printf("%s%s", i ? " -> " : " ", s != NULL && *s ? s :
			    "(not disclosed)");
		}
		printf("\n");
	}
	fmt_time(when, sizeof(when), baton_verify_result_exp(res));
	printf("expires: %s\n", when);
}

static void
print_limits(const char *json)
{
	json_t		*doc, *lim, *v;
	const char	*k;

	if ((doc = json_loads(json, 0, NULL)) == NULL)
		return;
	lim = json_object_get(json_object_get(doc, "facts"), "limits");
	json_object_foreach(lim, k, v)
		if (json_is_integer(v))
			printf("limit %s: %" JSON_INTEGER_FORMAT "\n", k,
			    json_integer_value(v));
	json_decref(doc);
}

/* baton explain: the broker's lines, one per check and stack line. */
static void
print_explain(const char *json)
{
	json_t	*doc, *lines;
	size_t	 i;

	if ((doc = json_loads(json, 0, NULL)) == NULL)
		return;
	lines = json_object_get(doc, "explain");
	for (i = 0; i < json_array_size(lines); i++)
		if (json_is_string(json_array_get(lines, i)))
			printf("%s\n", json_string_value(json_array_get(lines,
			    i)));
	json_decref(doc);
}

static int
cmd_verify(int argc, char **argv)
{
	static const struct option lo[] = {
		COMMON_LONGOPTS,
		{ "tool", required_argument, NULL, O_TOOL },
		{ "action", required_argument, NULL, O_ACTION },
		{ "aud", required_argument, NULL, O_AUD },
		{ "arg", required_argument, NULL, O_ARG },
		{ "usage", required_argument, NULL, O_USAGE },
		{ "offline", no_argument, NULL, O_OFFLINE },
		{ "keys", required_argument, NULL, O_KEYS },
		{ "now", required_argument, NULL, O_NOW },
		{ NULL, 0, NULL, 0 }
	};
	struct common		 co = { NULL, 0, 0 };
	struct baton_verify_opts vo = BATON_VERIFY_OPTS_INIT;
	struct baton_call_arg	 args[MAX_LIST];
	struct baton_call_usage	 usage[MAX_LIST];
	struct baton_client	*c = NULL;
	struct baton_keybundle	*kb = NULL;
	struct baton_verify_result *res = NULL;
	const char		*keys = NULL, *keyv[16];
	struct stat		 st;
	char			*tok = NULL, *eq;
	size_t			 nkeys = 0, i;
	int			 ch, r, ret = EX_ERROR, offline = 0;
	/* baton explain: the same call as a traced dry run. */
	int			 explain = strcmp(cur->name, "explain") == 0;

	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		switch (ch) {
		case O_HELP:
			return help();
		case O_TOOL:
			vo.tool = optarg;
			continue;
		case O_ACTION:
			vo.action = optarg;
			continue;
		case O_AUD:
			vo.audience = optarg;
			continue;
		case O_ARG:
			if (vo.nargs == MAX_LIST)
				return usage_error("too many --arg");
			if (baton_call_arg_parse(&args[vo.nargs], optarg) != 0)
				return usage_error("bad --arg '%s': want K=V "
				    "with a non-empty K", optarg);
			vo.nargs++;
			continue;
		case O_USAGE:
			if (vo.nusage == MAX_LIST)
				return usage_error("too many --usage");
			if ((eq = strchr(optarg, '=')) == NULL ||
			    eq == optarg ||
			    parse_u64(eq + 1, &usage[vo.nusage].value) != 0)
				return usage_error("bad --usage '%s': want "
				    "NAME=N with N an unsigned integer",
				    optarg);
			*eq = '\0';
			usage[vo.nusage].name = optarg;
			vo.nusage++;
			continue;
		case O_OFFLINE:
			offline = 1;
			continue;
		case O_KEYS:
			/* several brokers: one bundle each, or a directory */
			if (nkeys == sizeof keyv / sizeof keyv[0])
				return usage_error("too many --keys");
			keys = keyv[nkeys++] = optarg;
			continue;
		case O_NOW:
			if (parse_u64(optarg, &vo.now) != 0)
				return usage_error("bad --now: want unix "
				    "seconds");
			continue;
		}
		if ((ret = common_opt(&co, ch, argv)) != 0)
			return ret;
	}
	vo.args = args;
	vo.usage = usage;
	if (vo.tool == NULL)
		return usage_error("--tool is required");
	if (offline != (keys != NULL))
		return usage_error("--offline and --keys FILE go together");
	if (explain && offline)
		return usage_error("explain asks the broker: no --offline");
	if (vo.now != 0 && !offline)
		return usage_error("--now only applies with --offline");
	if ((tok = read_token(argc - optind, argv + optind, &ret)) == NULL)
		return ret;
	ret = EX_ERROR;		/* until a decision says otherwise */
	if (offline) {
		errno = 0;
		r = 0;
		for (i = 0; i < nkeys && r == 0; i++) {
			keys = keyv[i];
			if (stat(keys, &st) == 0 && S_ISDIR(st.st_mode)) {
				if (nkeys > 1) {
					ret = usage_error("--keys DIR: the "
					    "only --keys, or give files");
					goto out;
				}
				r = baton_keybundle_load_dir(&kb, keys);
			} else if (i == 0)
				r = baton_keybundle_load(&kb, keys);
			else
				r = baton_keybundle_add(kb, keys);
		}
		if (r != 0) {
			/* for a file that cannot be read, errno says why */
			warnx_("cannot use the key bundle %s: %s; write one "
			    "with 'baton pubkeys --json > FILE'", keys,
			    r == BATON_EIO && errno != 0 ? strerror(errno) :
			    baton_strerror(r));
			ret = EX_ERROR;
			goto out;
		}
		r = baton_verify_offline(&res, kb, tok, &vo);
	} else {
		if ((ret = open_client(&c, &co)) != 0)
			goto out;
		r = explain ? baton_explain(&res, c, tok, &vo) :
		    baton_verify(&res, c, tok, &vo);
	}
	if (r != 0 && r != BATON_EDENIED) {
		/* no decision was made, so never exit 1: that means deny */
		if (c != NULL)
			(void)call_error(c, r, "verify");
		else
			warnx_("verify failed: %s", baton_strerror(r));
		ret = EX_ERROR;
		goto out;
	}
	if (co.json)
		printf("%s\n", baton_verify_result_json(res));
	else if (explain)
		print_explain(baton_verify_result_json(res));
	if (r == 0) {
		if (!co.json) {
			print_facts(res);
			print_limits(baton_verify_result_json(res));
		}
		ret = EX_ALLOW;
	} else {
		warnx_("denied: %s (%s)", baton_verify_result_reason_name(res),
		    baton_reason_text(baton_verify_result_reason(res)));
		ret = EX_DENY;
	}
	if (fflush(stdout) != 0)
		ret = EX_ERROR;
out:
	free_token(tok);
	baton_verify_result_free(res);
	baton_keybundle_free(kb);
	baton_client_free(c);
	return ret;
}

/* ---- revoke ------------------------------------------------------------------- */

static int
cmd_revoke(int argc, char **argv)
{
	static const struct option lo[] = {
		COMMON_LONGOPTS,
		{ "jti", required_argument, NULL, O_JTI },
		{ NULL, 0, NULL, 0 }
	};
	struct common		 co = { NULL, 0, 0 };
	struct baton_client	*c = NULL;
	const char		*jti = NULL;
	char			*tok = NULL;
	int			 ch, r, ret = EX_ERROR;

	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		if (ch == O_HELP)
			return help();
		if (ch == O_JTI) {
			jti = optarg;
			continue;
		}
		if ((ret = common_opt(&co, ch, argv)) != 0)
			return ret;
	}
	if (jti != NULL && optind != argc)
		return usage_error("give --jti or a token, not both");
	if (jti != NULL && (strlen(jti) != 32 ||
	    strspn(jti, "0123456789abcdefABCDEF") != 32))
		return usage_error("bad --jti '%s': want 32 hex digits",
		    jti);
	if (jti == NULL &&
	    (tok = read_token(argc - optind, argv + optind, &ret)) == NULL)
		return ret;
	if ((ret = open_client(&c, &co)) != 0)
		goto out;
	r = jti != NULL ? baton_client_revoke_jti(c, jti) :
	    baton_client_revoke_token(c, tok);
	if (r == BATON_EINVAL && jti != NULL)
		ret = usage_error("bad --jti: want 32 hex digits");
	else if (r == BATON_EMALFORMED)
		ret = (warnx_("not a baton token"), EX_DENY);
	else if (r != 0)
		ret = call_error(c, r, "revoke");
	else {
		if (co.json)
			printf("{\"revoked\": true}\n");
		ret = EX_ALLOW;
	}
out:
	free_token(tok);
	baton_client_free(c);
	return ret;
}

/* ---- inspect ----------------------------------------------------------------- */

static int
cmd_inspect(int argc, char **argv)
{
	static const struct option lo[] = {
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct common		 co = { NULL, 0, 0 };
	struct baton_inspect	*in = NULL;
	char			*tok;
	int			 ch, r, ret, reason;

	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		if (ch == O_HELP)
			return help();
		if ((ret = common_opt(&co, ch, argv)) != 0)
			return ret;
	}
	if ((tok = read_token(argc - optind, argv + optind, &ret)) == NULL)
		return ret;
	r = baton_inspect_token(&in, tok, &reason);
	free_token(tok);
	if (r == BATON_EMALFORMED) {
		warnx_("not a valid token: %s (%s)", baton_reason_name(reason),
		    baton_reason_text(reason));
		return EX_DENY;
	}
	if (r != 0) {
		warnx_("inspect failed: %s", baton_strerror(r));
		return EX_ERROR;
	}
	if (co.json)
		printf("%s\n", baton_inspect_json(in));
	else
		fputs(baton_inspect_tree(in), stdout);	/* ends in newline */
	baton_inspect_free(in);
	return fflush(stdout) == 0 ? EX_ALLOW : EX_ERROR;
}

/* ---- pubkeys, status ------------------------------------------------------------ */

static int
cmd_pubkeys(int argc, char **argv)
{
	static const struct option lo[] = {
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct common		 co = { NULL, 0, 0 };
	struct baton_client	*c = NULL;
	json_t			*doc = NULL, *k;
	char			*s = NULL, when[32];
	size_t			 i;
	int			 ch, r, ret;

	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		if (ch == O_HELP)
			return help();
		if ((ret = common_opt(&co, ch, argv)) != 0)
			return ret;
	}
	if (optind != argc)
		return usage_error("pubkeys takes no arguments");
	if ((ret = open_client(&c, &co)) != 0)
		return ret;
	if ((r = baton_client_pubkeys(&s, c)) != 0) {
		ret = call_error(c, r, "pubkeys");
		goto out;
	}
	if (co.json) {
		printf("%s\n", s);
	} else if ((doc = json_loads(s, 0, NULL)) != NULL) {
		printf("%-16s  %-64s  %-20s  %s\n", "KID", "PUBLIC KEY",
		    "NOT AFTER", "SIGNING");
		json_array_foreach(json_object_get(doc, "keys"), i, k) {
			if (json_integer_value(json_object_get(k,
			    "not_after")) > 0)
				fmt_time(when, sizeof(when),
				    (uint64_t)json_integer_value(
				    json_object_get(k, "not_after")));
			else
				snprintf(when, sizeof(when), "-");
			printf("%-16s  %-64s  %-20s  %s\n",
			    json_string_value(json_object_get(k, "kid")),
			    json_string_value(json_object_get(k, "pk")), when,
			    json_is_true(json_object_get(k, "signing")) ?
			    "yes" : "no");
		}
	}
	ret = fflush(stdout) == 0 ? EX_ALLOW : EX_ERROR;
out:
	json_decref(doc);
	baton_string_free(s);
	baton_client_free(c);
	return ret;
}

static void
print_flat(const char *prefix, json_t *v)
{
	const char	*k;
	json_t		*e;
	char		 name[256];
	char		*s;

	if (json_is_object(v)) {
		json_object_foreach(v, k, e) {
			snprintf(name, sizeof(name), "%s%s%s", prefix,
			    *prefix ? "." : "", k);
			print_flat(name, e);
		}
		return;
	}
	if ((s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT)) != NULL) {
		printf("%s: %s\n", prefix, s);
		free(s);
	}
}

static int
cmd_status(int argc, char **argv)
{
	static const struct option lo[] = {
		COMMON_LONGOPTS,
		{ "prometheus", no_argument, NULL, O_PROM },
		{ NULL, 0, NULL, 0 }
	};
	struct common		 co = { NULL, 0, 0 };
	struct baton_client	*c = NULL;
	json_t			*doc;
	char			*s = NULL;
	int			 ch, r, ret, prom = 0;

	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		if (ch == O_HELP)
			return help();
		if (ch == O_PROM) {
			prom = 1;
			continue;
		}
		if ((ret = common_opt(&co, ch, argv)) != 0)
			return ret;
	}
	if (optind != argc)
		return usage_error("status takes no arguments");
	if (prom && co.json)
		return usage_error("--json and --prometheus exclude each "
		    "other");
	if ((ret = open_client(&c, &co)) != 0)
		return ret;
	if ((r = baton_client_status(&s, c, prom)) != 0) {
		ret = call_error(c, r, "status");
		goto out;
	}
	if (prom || co.json)
		fputs(s, stdout);
	if (co.json)
		fputc('\n', stdout);
	if (!prom && !co.json && (doc = json_loads(s, 0, NULL)) != NULL) {
		print_flat("", doc);
		json_decref(doc);
	}
	ret = fflush(stdout) == 0 ? EX_ALLOW : EX_ERROR;
out:
	baton_string_free(s);
	baton_client_free(c);
	return ret;
}

/* ---- admin: rotate, reload ----------------------------------------------- */

static int
cmd_rotate(int argc, char **argv)
{
	static const struct option lo[] = {
		COMMON_LONGOPTS,
		{ "now", no_argument, NULL, O_NOW },
		{ NULL, 0, NULL, 0 }
	};
	struct common		 co = { NULL, 0, 0 };
	struct baton_client	*c = NULL;
	json_t			*doc = NULL;
	char			*s = NULL;
	int			 ch, r, ret, now = 0;

	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		if (ch == O_HELP)
			return help();
		if (ch == O_NOW) {
			now = 1;
			continue;
		}
		if ((ret = common_opt(&co, ch, argv)) != 0)
			return ret;
	}
	if (optind != argc)
		return usage_error("rotate takes no arguments");
	if ((ret = open_client(&c, &co)) != 0)
		return ret;
	if ((r = baton_client_rotate(&s, c, now)) != 0) {
		ret = call_error(c, r, "rotate");
		goto out;
	}
	if (co.json)
		printf("%s\n", s);
	else if ((doc = json_loads(s, 0, NULL)) != NULL) {
		printf("new signing key %s\n",
		    json_string_value(json_object_get(doc, "kid")));
		if (now)
			printf("distrusted and deleted %lld older key(s): "
			    "every token they signed is now refused\n",
			    (long long)json_integer_value(json_object_get(doc,
			    "distrusted")));
		else
			printf("the previous key verifies its tokens until "
			    "they expire (see 'baton pubkeys')\n");
	}
	ret = fflush(stdout) == 0 ? EX_ALLOW : EX_ERROR;
out:
	json_decref(doc);
	baton_string_free(s);
	baton_client_free(c);
	return ret;
}

static int
cmd_reload(int argc, char **argv)
{
	static const struct option lo[] = {
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct common		 co = { NULL, 0, 0 };
	struct baton_client	*c = NULL;
	int			 ch, r, ret;

	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		if (ch == O_HELP)
			return help();
		if ((ret = common_opt(&co, ch, argv)) != 0)
			return ret;
	}
	if (optind != argc)
		return usage_error("reload takes no arguments");
	if ((ret = open_client(&c, &co)) != 0)
		return ret;
	if ((r = baton_client_reload(c)) != 0) {
		if (r == BATON_EINVAL) {
			/* the broker's message names the file and line */
			warnx_("%s", baton_client_last_error(c));
			ret = EX_DENY;
		} else
			ret = call_error(c, r, "reload");
		goto out;
	}
	if (co.json)
		printf("{\"reloaded\": true}\n");
	ret = fflush(stdout) == 0 ? EX_ALLOW : EX_ERROR;
out:
	baton_client_free(c);
	return ret;
}

/* baton redis-ack: the operator accepts that Redis lost its data. */
static int
cmd_redis_ack(int argc, char **argv)
{
	static const struct option lo[] = {
		COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	struct common		 co = { NULL, 0, 0 };
	struct baton_client	*c = NULL;
	char			*s = NULL;
	int			 ch, r, ret;

	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		if (ch == O_HELP)
			return help();
		if ((ret = common_opt(&co, ch, argv)) != 0)
			return ret;
	}
	if (optind != argc)
		return usage_error("redis-ack takes no arguments");
	if ((ret = open_client(&c, &co)) != 0)
		return ret;
	if ((r = baton_client_source_ack(&s, c, "redis")) != 0) {
		ret = call_error(c, r, "redis-ack");
		goto out;
	}
	if (co.json) {
		json_t	*o = json_pack("{s:s}", "acked", s);

		if (o != NULL) {
			json_dumpf(o, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(o);
		}
	} else
		printf("%s\n", s);
	ret = fflush(stdout) == 0 ? EX_ALLOW : EX_ERROR;
out:
	baton_string_free(s);
	baton_client_free(c);
	return ret;
}

/* ---- the table ------------------------------------------------------------ */

#define COMMON_HELP \
"  --socket PATH      the broker's socket (default: $BATON_SOCKET, else\n" \
"                     the build-time default)\n" \
"  --timeout MS       give up on the broker after MS milliseconds\n" \
"  --help             this text\n"

#define RESTRICT_HELP \
"  --tool NAME[:ACTION,...]  grant a tool, optionally only some actions\n" \
"  --ttl SECONDS      lifetime\n" \
"  --aud AUD          restrict to an audience (repeatable)\n" \
"  --as AGENT         act as this agent id\n" \
"  --max-depth N      how many more delegations may follow\n" \
"  --limit TOOL.NAME=MAX   cap a resource of a tool given with --tool,\n" \
"                     e.g. db_query.max_rows=100\n" \
"  --where TOOL.ARG=PRED   constrain an argument of a --tool; PRED is one\n" \
"                     of eq:V in:A,B,... prefix:P glob:G range:LO..HI\n" \
"                     maxlen:N\n" \
"  --single-use       the token (or its descendants) may be used once\n" \
"  --holder AGENT     bind to an agent, which must present it\n" \
"  --ctx KEY=VALUE    correlation context (signed, not a decision input)\n" \
"  --json             print {token, jti, exp} as JSON\n"

static const struct cmd cmds[] = {
	{ "explain", cmd_verify,
	  "explain [TOKEN|-] --tool NAME [--action A] [--aud AUD] [--arg K=V]"
	  "... [--usage N=V]... [--json]",
	  "Ask the broker to run a verify decision without spending anything\n"
	  "or writing audit records, and print each core check and each\n"
	  "authorize stack line with its module's answer, then the decision.\n"
	  "Exit codes as verify.  The verifying agent may ask for its\n"
	  "audience; root and the admin group for any.\n\n" COMMON_HELP },
	{ "audit-check", cmd_audit_check, "audit-check FILE",
	  "Follow the hash chain of a baton_audit(8) trail: exit 0 when it\n"
	  "holds, 1 naming the first line that breaks it.\n" },
	{ "mint", cmd_mint,
	  "mint --tool NAME[:ACTION,...] ... [--ttl SECONDS] [--aud AUD]... "
	  "[--subject S] [--as AGENT] [--max-depth N] [--limit TOOL.NAME=MAX]"
	  "... [--where TOOL.ARG=PRED]... [--single-use] [--holder AGENT] "
	  "[--ctx KEY=VALUE]... [--json]",
	  "Mint a root token and print it on one line.\n\n"
	  RESTRICT_HELP
	  "  --subject S        the principal on whose behalf\n"
	  COMMON_HELP },
	{ "attenuate", cmd_attenuate,
	  "attenuate [TOKEN|-] [--tool NAME[:ACTION,...]]... [--ttl SECONDS] "
	  "[--aud AUD]... [--as AGENT] [--max-depth N] [--limit TOOL.NAME=MAX]"
	  "... [--where TOOL.ARG=PRED]... [--single-use] [--holder AGENT] "
	  "[--ctx KEY=VALUE]... [--json]",
	  "Delegate a narrower token.  The token is read from stdin when it\n"
	  "is '-' or absent.  Widening is refused (exit 1), never clamped.\n\n"
	  RESTRICT_HELP COMMON_HELP },
	{ "present", cmd_present,
	  "present [TOKEN|-] --tool NAME --action ACTION --aud AUD [--ttl S] "
	  "[--as AGENT] [--minimal [--disclose iss|sub|ctx.KEY]...] [--json]",
	  "Make a per-call token: single use, at most 120 s, bound to one\n"
	  "tool, action and audience.\n\n"
	  "  --minimal          a call token showing the tool server only this\n"
	  "                     call: the chain travels sealed for the broker\n"
	  "  --disclose CLAIM   with --minimal, also show iss, sub or ctx.KEY\n"
	  COMMON_HELP },
	{ "verify", cmd_verify,
	  "verify [TOKEN|-] --tool NAME [--action A] [--aud AUD] [--arg K=V]..."
	  " [--usage NAME=N]... [--json] [--offline --keys FILE|DIR]...",
	  "Decide whether the token allows this call.  Exit 0 allow, 1 deny\n"
	  "(reason on stderr), 2 usage or broker error.\n\n"
	  "  --arg K=V          a call argument; V is sent as an integer when\n"
	  "                     it is one, as a boolean for true/false\n"
	  "  --usage NAME=N     usage to check against a limit\n"
	  "  --json             print the decision and effective facts\n"
	  "  --offline --keys FILE  verify locally against a bundle from\n"
	  "                     'baton pubkeys --json' (no revocation or\n"
	  "                     replay checks); repeat it for several\n"
	  "                     brokers, or give a directory of NAME.json\n"
	  "  --now SECONDS      offline only: the time to check against\n"
	  COMMON_HELP },
	{ "revoke", cmd_revoke,
	  "revoke (--jti HEX | TOKEN | -)",
	  "Revoke a block, and every token that contains it.  With a token,\n"
	  "its last block; with --jti, any block (admin).\n\n" COMMON_HELP },
	{ "inspect", cmd_inspect,
	  "inspect [TOKEN|-] [--json]",
	  "Show the delegation chain, offline and WITHOUT checking the\n"
	  "signature: who delegated what to whom, and when it expires.\n\n"
	  "  --json             the whole chain as JSON\n" COMMON_HELP },
	{ "pubkeys", cmd_pubkeys,
	  "pubkeys [--json]",
	  "List the broker's trusted public keys.  --json writes the bundle\n"
	  "that 'baton verify --offline --keys FILE' reads.\n\n" COMMON_HELP },
	{ "status", cmd_status,
	  "status [--json|--prometheus]",
	  "Show the broker's status and metrics.\n\n"
	  "  --prometheus       Prometheus text format\n" COMMON_HELP },
	{ "rotate", cmd_rotate,
	  "rotate [--now] [--json]",
	  "Make a new signing key (root or the admin group).  The old key\n"
	  "keeps verifying the tokens it signed until they expire.\n\n"
	  "  --now              emergency: distrust and delete every older key\n"
	  "                     at once; every token they signed is refused\n"
	  COMMON_HELP },
	{ "reload", cmd_reload,
	  "reload [--json]",
	  "Re-read the broker's configuration, as SIGHUP does (root or the\n"
	  "admin group).  A bad file is refused, exit 1, and the old\n"
	  "configuration stays in force.\n\n" COMMON_HELP },
	{ "redis-ack", cmd_redis_ack,
	  "redis-ack [--json]",
	  "Accept that the shared Redis lost its data (root or the admin\n"
	  "group): the redis source adopts what Redis holds now, writes back\n"
	  "what this broker still knows, and answers again (baton_redis(8)).\n"
	  "\n" COMMON_HELP },
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void
main_usage(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: baton [--socket PATH] [--timeout MS] COMMAND "
	    "[OPTIONS]\n\ncommands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  baton %s\n", cmds[i].usage);
	fprintf(f, "\n'baton COMMAND --help' explains one command.\n");
}

/*
 * The options every command takes may also come before the command, as
 * git and systemctl users expect: baton --socket PATH verify ...  Returns
 * how many arguments they used, or -1 after a usage error.
 */
static int
global_opts(int argc, char **argv)
{
	uint64_t	 v;
	const char	*name, *val;
	size_t		 nlen;
	int		 i = 1, used;

	while (i < argc && strncmp(argv[i], "--", 2) == 0) {
		if (strncmp(argv[i], "--socket", 8) == 0)
			name = "--socket";
		else if (strncmp(argv[i], "--timeout", 9) == 0)
			name = "--timeout";
		else
			break;
		nlen = strlen(name);
		if (argv[i][nlen] == '=') {
			val = argv[i] + nlen + 1;
			used = 1;
		} else if (argv[i][nlen] == '\0') {
			if (i + 1 >= argc) {
				fprintf(stderr, "baton: %s wants a value\n",
				    name);
				return -1;
			}
			val = argv[i + 1];
			used = 2;
		} else
			break;
		if (name[2] == 's')
			global.socket = val;
		else {
			if (parse_u64(val, &v) != 0 || v == 0 || v > INT_MAX) {
				fprintf(stderr, "baton: bad --timeout '%s': "
				    "want milliseconds > 0\n", val);
				return -1;
			}
			global.timeout_ms = (int)v;
		}
		i += used;
	}
	return i - 1;
}

int
main(int argc, char **argv)
{
	size_t	i;
	int	n;

	if ((n = global_opts(argc, argv)) < 0)
		return EX_ERROR;
	/* the command becomes argv[1], as if no global option was given */
	if (n > 0) {
		argv[n] = argv[0];
		argv += n;
		argc -= n;
	}
	if (argc < 2) {
		main_usage(stderr);
		return EX_ERROR;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		if (argc > 2)
			for (i = 0; i < NCMDS; i++)
				if (strcmp(argv[2], cmds[i].name) == 0) {
					cur = &cmds[i];
					return help();
				}
		main_usage(stdout);
		return EX_ALLOW;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("baton %s\n", baton_version());
		return EX_ALLOW;
	}
	for (i = 0; i < NCMDS; i++) {
		if (strcmp(argv[1], cmds[i].name) == 0) {
			cur = &cmds[i];
			return cmds[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "baton: unknown command '%s'\n", argv[1]);
	main_usage(stderr);
	return EX_ERROR;
}
