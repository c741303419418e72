/*
 * guard.c: baton-mcp-guard, a stdio MCP server's gatekeeper (http.c is
 * the Streamable HTTP one).  It starts
 * the server with an allow-listed environment and relays newline-
 * delimited JSON-RPC both ways through libevent bufferevents, in order,
 * handing each complete line to rpc.c, which verifies every tools/call
 * through the broker.  It stops when both sides are done or on a signal,
 * reaps the server and exits with its status.
 *
 * Exit status: the server's (128 + N when killed by signal N); 125 when
 * the guard itself fails; 126 or 127 when the server cannot be run.
 */

#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "baton/verify.h"

#include "guard.h"

extern char **environ;

/* Queued output beyond which the other side's reading pauses. */
#define OUT_HIGH	(1024 * 1024)
/* After the server exits, how long its stdout may stay open. */
#define GRACE_SEC	2

/* Variables the server gets by default; --pass-env adds others. */
static const char *const default_env[] = {
	"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", NULL
};

/* One direction's line splitter. */
struct lines {
	size_t		 scanned;	/* bytes known to hold no newline */
	int		 discarding;	/* inside an over-long line */
};

struct relay {
	struct guard		*g;
	struct event_base	*base;
	struct bufferevent	*in;	/* our stdin: the client */
	struct bufferevent	*out;	/* our stdout: the client */
	struct bufferevent	*cin;	/* the server's stdin */
	struct bufferevent	*cout;	/* the server's stdout */
	struct lines		 lin, lsrv;
	struct event		*sigs[4];
	int			 grace;		/* loop ends soon */
	int			 cin_closing;
	pid_t			 child;
	int			 status;
	int			 reaped;
	int			 nsignals;
	int			 fl0, fl1;	/* our stdin/stdout flags */
};

static const char *progname = "baton-mcp-guard";

void
guard_log(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(GUARD_EXIT_FAIL);
}

/* ---- writing ------------------------------------------------------------- */

static void
queue_line(struct bufferevent *dst, struct bufferevent *src, const char *buf,
    size_t len)
{
	struct evbuffer	*out;

	if (dst == NULL)
		return;
	out = bufferevent_get_output(dst);
	if (evbuffer_add(out, buf, len) != 0 || evbuffer_add(out, "\n", 1) != 0)
		fatalx("out of memory");
	/* the reader catches up when dst has drained (write_cb) */
	if (src != NULL && evbuffer_get_length(out) > OUT_HIGH)
		bufferevent_disable(src, EV_READ);
}

void
guard_to_server(struct guard *g, const char *buf, size_t len)
{
	struct relay	*r = g->relay;

	if (r->cin == NULL) {
		guard_log("the server's input is closed: dropped a message");
		return;
	}
	queue_line(r->cin, r->in, buf, len);
}

void
guard_to_client(struct guard *g, const char *buf, size_t len)
{
	struct relay	*r = g->relay;

	queue_line(r->out, r->cout, buf, len);
}

/* ---- ending -------------------------------------------------------------- */

static void
maybe_done(struct relay *r)
{
	if (!r->reaped)
		return;
	if (r->out != NULL &&
	    evbuffer_get_length(bufferevent_get_output(r->out)) > 0)
		return;		/* write_cb calls again */
	if (r->cout == NULL) {
		event_base_loopexit(r->base, NULL);
		return;
	}
	/* the server is gone but something still holds its stdout */
	if (!r->grace) {
		struct timeval	tv = { GRACE_SEC, 0 };

		r->grace = 1;
		event_base_loopexit(r->base, &tv);
	}
}

/* Close the server's stdin once what is queued for it is written. */
static void
close_server_input(struct relay *r)
{
	if (r->cin == NULL)
		return;
	if (evbuffer_get_length(bufferevent_get_output(r->cin)) > 0) {
		r->cin_closing = 1;
		return;		/* write_cb closes it when drained */
	}
	bufferevent_free(r->cin);
	r->cin = NULL;
}

static void
stop_reading_client(struct relay *r)
{
	if (r->in != NULL) {
		bufferevent_free(r->in);
		r->in = NULL;
	}
}

/* ---- reading lines ----------------------------------------------------- */

static void
read_lines(struct relay *r, struct bufferevent *bev, int eof)
{
	struct guard		*g = r->g;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer_ptr	 p;
	struct lines		*l;
	int			 from_client = bev == r->in;
	size_t			 n;
	char			*line;

	l = from_client ? &r->lin : &r->lsrv;
	for (;;) {
		n = evbuffer_get_length(in);
		if (n == 0)
			return;
		if (evbuffer_ptr_set(in, &p, l->scanned, EVBUFFER_PTR_SET) != 0)
			p.pos = -1;
		else
			p = evbuffer_search(in, "\n", 1, &p);
		if (p.pos < 0) {
			l->scanned = n;
			if (n > g->max_line) {
				evbuffer_drain(in, n);
				l->scanned = 0;
				if (!l->discarding)
					rpc_too_long(g, from_client);
				l->discarding = 1;
				return;
			}
			if (!eof)
				return;
			n++;	/* the last line, without its newline */
		} else
			n = (size_t)p.pos + 1;
		l->scanned = 0;
		if (l->discarding || n - 1 > g->max_line) {
			evbuffer_drain(in, n > evbuffer_get_length(in) ?
			    evbuffer_get_length(in) : n);
			if (!l->discarding)
				rpc_too_long(g, from_client);
			l->discarding = 0;
			continue;
		}
		if ((line = malloc(n)) == NULL)
			fatalx("out of memory");
		(void)evbuffer_remove(in, line, n - 1);
		if (evbuffer_get_length(in) > 0 && p.pos >= 0)
			evbuffer_drain(in, 1);
		line[n - 1] = '\0';
		if (from_client)
			rpc_from_client(g, line, n - 1);
		else
			rpc_from_server(g, line, n - 1);
		/* a client's line may carry a token */
		explicit_bzero(line, n);
		free(line);
		/* rpc_* may have closed this side */
		if ((from_client ? r->in : r->cout) != bev)
			return;
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	read_lines(arg, bev, 0);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct relay	*r = arg;

	/* drained: the side that fills this one may read again */
	if (bev == r->cin) {
		if (r->cin_closing) {
			bufferevent_free(r->cin);	/* closing */
			r->cin = NULL;
			return;
		}
		if (r->in != NULL) {
			bufferevent_enable(r->in, EV_READ);
			read_lines(r, r->in, 0);
		}
	} else if (bev == r->out) {
		if (r->cout != NULL) {
			bufferevent_enable(r->cout, EV_READ);
			read_lines(r, r->cout, 0);
		}
		maybe_done(r);
	}
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct relay	*r = arg;

	if (bev == r->in) {
		/* the client is done: so is the server's input */
		if (what & BEV_EVENT_ERROR)
			guard_log("reading the client: %s", strerror(errno));
		read_lines(r, bev, 1);
		stop_reading_client(r);
		close_server_input(r);
	} else if (bev == r->cout) {
		if (what & BEV_EVENT_ERROR)
			guard_log("reading the server: %s", strerror(errno));
		read_lines(r, bev, 1);
		bufferevent_free(r->cout);
		r->cout = NULL;
		maybe_done(r);
	} else if (bev == r->cin) {
		/* the server stopped reading: nothing more can reach it */
		bufferevent_free(r->cin);
		r->cin = NULL;
	} else if (bev == r->out) {
		/* the client went away: nobody to answer, so end the server */
		guard_log("writing to the client: %s",
		    (what & BEV_EVENT_ERROR) ? strerror(errno) : "closed");
		bufferevent_free(r->out);
		r->out = NULL;
		stop_reading_client(r);
		close_server_input(r);
		if (!r->reaped)
			(void)kill(r->child, SIGTERM);
		maybe_done(r);
	}
}

/* ---- signals ------------------------------------------------------------ */

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct relay	*r = arg;
	int		 st;
	pid_t		 pid;

	if (sig == SIGCHLD) {
		while ((pid = waitpid(r->child, &st, WNOHANG)) == -1 &&
		    errno == EINTR)
			;
		if (pid == r->child) {
			r->reaped = 1;
			r->status = st;
			maybe_done(r);
		}
		return;
	}
	if (r->reaped)
		return;
	/* first: pass it on and let the server end; second: no more waiting */
	if (r->nsignals++ == 0) {
		stop_reading_client(r);
		close_server_input(r);
		(void)kill(r->child, (int)sig);
	} else
		(void)kill(r->child, SIGKILL);
}

/* ---- the server process ---------------------------------------------- */

static int
env_allowed(char **pass, size_t npass, const char *entry)
{
	size_t	i, n = strcspn(entry, "=");

	for (i = 0; default_env[i] != NULL; i++)
		if (strlen(default_env[i]) == n &&
		    strncmp(default_env[i], entry, n) == 0)
			return 1;
	for (i = 0; i < npass; i++)
		if (strlen(pass[i]) == n && strncmp(pass[i], entry, n) == 0)
			return 1;
	return 0;
}

/*
 * Start argv with stdin and stdout on pipes.  An exec failure comes back
 * through a close-on-exec pipe, so it is reported here, not by the child.
 */
static pid_t
spawn(char **argv, char **envp, int *to_child, int *from_child)
{
	int	inp[2], outp[2], errp[2], err = 0;
	ssize_t	n;
	pid_t	pid;

	if (pipe2(inp, O_CLOEXEC) == -1 || pipe2(outp, O_CLOEXEC) == -1 ||
	    pipe2(errp, O_CLOEXEC) == -1)
		fatalx("pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		fatalx("fork: %s", strerror(errno));
	if (pid == 0) {
		sigset_t	none;
		int		fd;

		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		(void)signal(SIGPIPE, SIG_DFL);
		if (dup2(inp[0], STDIN_FILENO) == -1 ||
		    dup2(outp[1], STDOUT_FILENO) == -1)
			err = errno;
		else {
			/*
			 * Only stdin, stdout and stderr reach the server
			 * (and errp[1], close-on-exec, until exec).
			 */
			for (fd = STDERR_FILENO + 1; fd < errp[1]; fd++)
				(void)close(fd);
			closefrom(errp[1] + 1);
			(void)execvpe(argv[0], argv, envp);
			err = errno;
		}
		if (write(errp[1], &err, sizeof(err)) != sizeof(err))
			_exit(126);
		_exit(err == ENOENT ? 127 : 126);
	}
	close(inp[0]);
	close(outp[1]);
	close(errp[1]);
	while ((n = read(errp[0], &err, sizeof(err))) == -1 && errno == EINTR)
		;
	close(errp[0]);
	if (n == (ssize_t)sizeof(err)) {
		(void)waitpid(pid, NULL, 0);
		guard_log("cannot run %s: %s", argv[0], strerror(err));
		exit(err == ENOENT ? 127 : 126);
	}
	*to_child = inp[1];
	*from_child = outp[0];
	return pid;
}

/* ---- options --------------------------------------------------------------- */

static void __attribute__((noreturn))
usage(int status)
{
	FILE	*f = status == 0 ? stdout : stderr;

	fprintf(f, "usage: %s [--socket PATH] --aud AUDIENCE [options] "
	    "-- SERVER [ARGS...]\n"
	    "       %s --listen ADDR:PORT --upstream URL --aud AUDIENCE "
	    "[options]\n"
	    "options:\n"
	    "  --socket PATH          the broker's socket "
	    "(default: $BATON_SOCKET, else %s)\n"
	    "  --aud AUDIENCE         this server's audience (required)\n"
	    "  --token-key KEY        the _meta key of the token "
	    "(default %s)\n"
	    "  --action TOOL=ACTION   the action a call of TOOL performs\n"
	    "  --action-arg NAME      take the action from the argument NAME\n"
	    "  --pass-env NAME        let the variable NAME reach the server\n"
	    "  --filter-tools-list    list only the tools the token grants\n"
	    "  --allow-no-audience    accept tokens issued for no audience\n"
	    "  --max-line BYTES       longest JSON-RPC line (default %u)\n"
	    "  --timeout MS           per broker call (default 5000)\n"
	    "  --listen ADDR:PORT     HTTP mode: take requests here\n"
	    "  --upstream URL         HTTP mode: the MCP server's endpoint\n",
	    progname, progname, baton_default_socket(), GUARD_TOKEN_KEY,
	    GUARD_MAX_LINE);
	exit(status);
}

static unsigned long long
number(const char *opt, const char *s, unsigned long long lo,
    unsigned long long hi)
{
	unsigned long long	 v;
	char			*end;

	errno = 0;
	if (*s < '0' || *s > '9' ||
	    ((v = strtoull(s, &end, 10)), errno != 0) || *end != '\0' ||
	    v < lo || v > hi)
		fatalx("bad %s '%s': want %llu..%llu", opt, s, lo, hi);
	return v;
}

enum {
	O_SOCKET = 1, O_AUD, O_TOKEN_KEY, O_ACTION, O_ACTION_ARG,
	O_PASS_ENV, O_FILTER, O_MAX_LINE, O_TIMEOUT, O_NO_AUD, O_LISTEN,
	O_UPSTREAM, O_HELP, O_VERSION
};

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "aud", required_argument, NULL, O_AUD },
		{ "token-key", required_argument, NULL, O_TOKEN_KEY },
		{ "action", required_argument, NULL, O_ACTION },
		{ "action-arg", required_argument, NULL, O_ACTION_ARG },
		{ "pass-env", required_argument, NULL, O_PASS_ENV },
		{ "filter-tools-list", no_argument, NULL, O_FILTER },
		{ "max-line", required_argument, NULL, O_MAX_LINE },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "allow-no-audience", no_argument, NULL, O_NO_AUD },
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "upstream", required_argument, NULL, O_UPSTREAM },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	struct guard		 g;
	struct relay		 r;
	struct event_config	*cfg;
	struct guard_action	*a;
	static const int	 sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	char			**pass = NULL, **envp, *eq;
	const char		*listen = NULL, *upstream = NULL;
	size_t			 npass = 0, nenv, i;
	int			 ch, to_child, from_child, ret;

	memset(&g, 0, sizeof(g));
	memset(&r, 0, sizeof(r));
	g.token_key = GUARD_TOKEN_KEY;
	g.max_line = GUARD_MAX_LINE;
	g.relay = &r;
	r.g = &g;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:", lo, NULL)) != -1) {
		switch (ch) {
		case O_SOCKET:
			g.socket_path = optarg;
			break;
		case O_AUD:
			if (*optarg == '\0')
				fatalx("bad --aud ''");
			g.aud = optarg;
			break;
		case O_TOKEN_KEY:
			if (*optarg == '\0')
				fatalx("bad --token-key ''");
			g.token_key = optarg;
			break;
		case O_ACTION:
			if ((eq = strchr(optarg, '=')) == NULL ||
			    eq == optarg || eq[1] == '\0')
				fatalx("bad --action '%s': want TOOL=ACTION",
				    optarg);
			a = reallocarray(g.actions, g.nactions + 1,
			    sizeof(*a));
			if (a == NULL)
				fatalx("out of memory");
			g.actions = a;
			a = &g.actions[g.nactions++];
			if ((a->tool = strndup(optarg,
			    (size_t)(eq - optarg))) == NULL)
				fatalx("out of memory");
			a->action = eq + 1;
			break;
		case O_ACTION_ARG:
			if (*optarg == '\0')
				fatalx("bad --action-arg ''");
			g.action_arg = optarg;
			break;
		case O_PASS_ENV:
			if (*optarg == '\0' || strchr(optarg, '=') != NULL)
				fatalx("bad --pass-env '%s': want a "
				    "variable's NAME", optarg);
			/* the guard's own settings stay with the guard */
			if (strncmp(optarg, "BATON_", 6) == 0)
				fatalx("--pass-env %s: the guard's own "
				    "variables never reach the server",
				    optarg);
			if ((pass = reallocarray(pass, npass + 1,
			    sizeof(*pass))) == NULL)
				fatalx("out of memory");
			pass[npass++] = optarg;
			break;
		case O_FILTER:
			g.filter_tools = 1;
			break;
		case O_MAX_LINE:
			g.max_line = number("--max-line", optarg, 64,
			    1024ULL * 1024 * 1024);
			break;
		case O_TIMEOUT:
			g.timeout_ms = (int)number("--timeout", optarg, 1,
			    INT_MAX);
			break;
		case O_NO_AUD:
			g.allow_no_aud = 1;
			break;
		case O_LISTEN:
			listen = optarg;
			break;
		case O_UPSTREAM:
			upstream = optarg;
			break;
		case O_HELP:
			usage(0);
		case O_VERSION:
			printf("baton-mcp-guard %s\n", PACKAGE_VERSION);
			return 0;
		case ':':
			fatalx("'%s' needs an argument", argv[optind - 1]);
		default:
			fatalx("unknown option '%s' (see --help)",
			    argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;
	if (g.aud == NULL)
		fatalx("--aud AUDIENCE is required (see --help)");
	(void)signal(SIGPIPE, SIG_IGN);
	if (listen != NULL || upstream != NULL) {
		if (listen == NULL || upstream == NULL || argc > 0)
			fatalx("HTTP mode: --listen ADDR:PORT --upstream URL, "
			    "and no SERVER");
		if (g.filter_tools || npass > 0)
			fatalx("HTTP mode: no --filter-tools-list or "
			    "--pass-env");
		free(pass);
		ret = http_main(&g, listen, upstream);
		rpc_free(&g);
		return ret;
	}
	if (argc == 0)
		fatalx("no server to run: ... -- SERVER [ARGS...]");

	/* the allow-listed environment */
	for (nenv = 0; environ[nenv] != NULL; nenv++)
		;
	if ((envp = calloc(nenv + 1, sizeof(*envp))) == NULL)
		fatalx("out of memory");
	for (i = nenv = 0; environ[i] != NULL; i++)
		if (env_allowed(pass, npass, environ[i]))
			envp[nenv++] = environ[i];

	r.child = spawn(argv, envp, &to_child, &from_child);
	free(envp);
	free(pass);

	/* poll rather than epoll: stdin may be a regular file */
	if ((cfg = event_config_new()) == NULL ||
	    event_config_avoid_method(cfg, "epoll") != 0 ||
	    (r.base = event_base_new_with_config(cfg)) == NULL)
		fatalx("cannot start the event loop");
	event_config_free(cfg);

	r.fl0 = fcntl(STDIN_FILENO, F_GETFL);
	r.fl1 = fcntl(STDOUT_FILENO, F_GETFL);
	if (evutil_make_socket_nonblocking(STDIN_FILENO) != 0 ||
	    evutil_make_socket_nonblocking(STDOUT_FILENO) != 0 ||
	    evutil_make_socket_nonblocking(to_child) != 0 ||
	    evutil_make_socket_nonblocking(from_child) != 0)
		fatalx("fcntl: %s", strerror(errno));
	r.in = bufferevent_socket_new(r.base, STDIN_FILENO, 0);
	r.out = bufferevent_socket_new(r.base, STDOUT_FILENO, 0);
	r.cin = bufferevent_socket_new(r.base, to_child, BEV_OPT_CLOSE_ON_FREE);
	r.cout = bufferevent_socket_new(r.base, from_child,
	    BEV_OPT_CLOSE_ON_FREE);
	if (r.in == NULL || r.out == NULL || r.cin == NULL || r.cout == NULL)
		fatalx("out of memory");
	bufferevent_setcb(r.in, read_cb, NULL, event_cb, &r);
	bufferevent_setcb(r.cout, read_cb, NULL, event_cb, &r);
	bufferevent_setcb(r.out, NULL, write_cb, event_cb, &r);
	bufferevent_setcb(r.cin, NULL, write_cb, event_cb, &r);
	bufferevent_enable(r.in, EV_READ);
	bufferevent_enable(r.cout, EV_READ);
	bufferevent_enable(r.out, EV_WRITE);
	bufferevent_enable(r.cin, EV_WRITE);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if ((r.sigs[i] = evsignal_new(r.base, sigs[i], signal_cb,
		    &r)) == NULL || event_add(r.sigs[i], NULL) != 0)
			fatalx("cannot watch signal %d", sigs[i]);
	}
	/* the server may have exited before SIGCHLD was watched */
	signal_cb(SIGCHLD, 0, &r);

	if (event_base_dispatch(r.base) == -1)
		fatalx("event loop failed");

	if (!r.reaped) {
		/* the grace time ran out with the server still running */
		(void)kill(r.child, SIGKILL);
		while (waitpid(r.child, &r.status, 0) == -1 && errno == EINTR)
			;
	}
	if (WIFEXITED(r.status))
		ret = WEXITSTATUS(r.status);
	else if (WIFSIGNALED(r.status))
		ret = 128 + WTERMSIG(r.status);
	else
		ret = GUARD_EXIT_FAIL;

	rpc_free(&g);
	if (r.in != NULL)
		bufferevent_free(r.in);
	if (r.out != NULL)
		bufferevent_free(r.out);
	if (r.cin != NULL)
		bufferevent_free(r.cin);
	if (r.cout != NULL)
		bufferevent_free(r.cout);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		event_free(r.sigs[i]);
	event_base_free(r.base);
	for (i = 0; i < g.nactions; i++)
		free(g.actions[i].tool);
	free(g.actions);
	if (r.fl0 != -1)
		(void)fcntl(STDIN_FILENO, F_SETFL, r.fl0);
	if (r.fl1 != -1)
		(void)fcntl(STDOUT_FILENO, F_SETFL, r.fl1);
	return ret;
}
