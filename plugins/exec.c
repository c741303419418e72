/*
 * exec.c: baton_exec(8), ask an external program.  The decision's facts
 * go to its standard input as one JSON object; exit 0 allows, 1 denies
 * (the first line of its output is the reason), anything else, a crash,
 * more output than allowed, or outliving the timeout (it is killed) is
 * ERROR, which fails closed.
 *
 *	exec program=/ABSOLUTE/PATH [timeout=MS] [max-output=BYTES]
 */

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <baton/module.h>

#define EXEC_TIMEOUT	1000		/* ms */
#define EXEC_OUTPUT	4096		/* bytes */

struct execmod {
	const struct baton_host	*host;
	char			*program;
	long			 timeout_ms;
	long			 max_output;
};

static int
exec_init(const struct baton_host *host, int argc, char *const *argv,
    void **state, char *err, size_t errlen)
{
	struct execmod	*e;
	struct stat	 st;
	char		*ep;
	int		 i;

	if ((e = calloc(1, sizeof *e)) == NULL)
		abort();
	e->host = host;
	e->timeout_ms = EXEC_TIMEOUT;
	e->max_output = EXEC_OUTPUT;
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "program=", 8) == 0 &&
		    e->program == NULL && argv[i][8] == '/') {
			if ((e->program = strdup(argv[i] + 8)) == NULL)
				abort();
		} else if (strncmp(argv[i], "timeout=", 8) == 0) {
			e->timeout_ms = strtol(argv[i] + 8, &ep, 10);
			if (*ep != '\0' || e->timeout_ms < 1 ||
			    e->timeout_ms > 60000)
				goto bad;
		} else if (strncmp(argv[i], "max-output=", 11) == 0) {
			e->max_output = strtol(argv[i] + 11, &ep, 10);
			if (*ep != '\0' || e->max_output < 1 ||
			    e->max_output > 1048576)
				goto bad;
		} else
			goto bad;
	}
	if (e->program == NULL) {
		snprintf(err, errlen, "program=/ABSOLUTE/PATH is required");
		goto fail;
	}
	/* Whoever can change the program decides: root or the broker only. */
	if (stat(e->program, &st) != 0) {
		snprintf(err, errlen, "%s: %s", e->program, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0 ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & 022) != 0) {
		snprintf(err, errlen, "%s: must be an executable file owned by "
		    "root or uid %u and not group- or world-writable",
		    e->program, (unsigned)geteuid());
		goto fail;
	}
	*state = e;
	return (0);
bad:
	snprintf(err, errlen, "bad or repeated argument \"%.64s\" (program="
	    "/PATH [timeout=MS] [max-output=BYTES])", argv[i]);
fail:
	free(e->program);
	free(e);
	return (-1);
}

static void
json_str(FILE *f, const char *s)
{
	if (s == NULL) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void
json_kv(FILE *f, const char *k, const char *v)
{
	fprintf(f, ",\"%s\":", k);
	json_str(f, v);
}

/* The facts, as one JSON object (the program's standard input). */
static char *
facts(const struct baton_host *h, const struct baton_decision *d,
    size_t *lenp)
{
	const char *const	*acts, *const *aud;
	const char		*name, *value, *tool;
	const uint8_t		*jti;
	uint64_t		 u;
	char			*buf = NULL;
	size_t			 i, k, n, na;
	FILE			*f;

	if ((f = open_memstream(&buf, lenp)) == NULL)
		return (NULL);
	fprintf(f, "{\"phase\":\"%s\"", h->phase(d) == BATON_PHASE_VERIFY ?
	    "verify" : "issue");
	json_kv(f, "op", h->op(d));
	json_kv(f, "service", h->service(d));
	json_kv(f, "agent", h->agent(d));
	json_kv(f, "subject", h->subject(d));
	fprintf(f, ",\"uid\":%u", (unsigned)h->peer_uid(d));
	json_kv(f, "exe", h->peer_exe(d));
	json_kv(f, "cgroup", h->peer_cgroup(d));
	json_kv(f, "tool", h->tool(d));
	json_kv(f, "action", h->action(d));
	json_kv(f, "audience", h->audience(d));
	fputs(",\"args\":{", f);
	for (i = 0; h->arg(d, i, &name, &value) == 0; i++) {
		fputs(i > 0 ? "," : "", f);
		json_str(f, name);
		fputc(':', f);
		json_str(f, value);
	}
	fputs("},\"usage\":{", f);
	for (i = 0; h->usage(d, i, &name, &u) == 0; i++) {
		fputs(i > 0 ? "," : "", f);
		json_str(f, name);
		fprintf(f, ":%llu", (unsigned long long)u);
	}
	fprintf(f, "},\"grant\":{\"wildcard\":%s,\"tools\":{",
	    h->grant_wildcard(d) ? "true" : "false");
	n = h->grant_ntools(d);
	for (i = 0; i < n; i++) {
		tool = h->grant_tool(d, i);
		fputs(i > 0 ? "," : "", f);
		json_str(f, tool);
		fputs(":{\"actions\":", f);
		if (h->grant_actions(d, tool, &acts, &na))
			fputs("\"*\"", f);
		else {
			fputc('[', f);
			for (k = 0; k < na; k++) {
				fputs(k > 0 ? "," : "", f);
				json_str(f, acts[k]);
			}
			fputc(']', f);
		}
		fputc('}', f);
	}
	fputs("}}", f);
	if (h->grant_audiences(d, &aud, &na) == 0) {
		fputs(",\"aud\":[", f);
		for (k = 0; k < na; k++) {
			fputs(k > 0 ? "," : "", f);
			json_str(f, aud[k]);
		}
		fputc(']', f);
	}
	fprintf(f, ",\"lifetime\":%llu,\"depth\":%llu,\"depth_left\":%llu",
	    (unsigned long long)h->lifetime(d),
	    (unsigned long long)h->depth(d),
	    (unsigned long long)h->depth_left(d));
	fputs(",\"chain\":[", f);
	n = h->chain_len(d);
	for (i = 0; i < n; i++) {
		fputs(i > 0 ? ",{\"agent\":" : "{\"agent\":", f);
		json_str(f, h->chain_agent(d, i));
		if ((jti = h->chain_jti(d, i)) != NULL) {
			fputs(",\"jti\":\"", f);
			for (k = 0; k < 16; k++)
				fprintf(f, "%02x", jti[k]);
			fputc('"', f);
		}
		fputc('}', f);
	}
	fputs("]}\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return (NULL);
	}
	return (buf);
}

static long
ms_left(const struct timespec *deadline)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000);
}

static enum baton_answer
exec_authorize(void *state, const struct baton_decision *d, char *reason,
    size_t len)
{
	static char		 path_env[] = "PATH=/usr/bin:/bin";
	char			*envp[] = { path_env, NULL };
	struct execmod		*e = state;
	posix_spawn_file_actions_t fa;
	struct pollfd		 pfd[2];
	struct timespec		 deadline;
	char			*in, *out = NULL, *argv[2], *nl;
	size_t			 inlen, inoff = 0, outlen = 0;
	ssize_t			 n;
	pid_t			 pid;
	int			 to[2] = { -1, -1 }, from[2] = { -1, -1 };
	int			 status, rc, killed = 0, overflow = 0;
	enum baton_answer	 a = BATON_ANSWER_ERROR;

	if ((in = facts(e->host, d, &inlen)) == NULL) {
		snprintf(reason, len, "cannot build the facts");
		return (BATON_ANSWER_ERROR);
	}
	if (pipe2(to, O_CLOEXEC) != 0 || pipe2(from, O_CLOEXEC) != 0) {
		snprintf(reason, len, "pipe: %s", strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, to[0], 0);
	posix_spawn_file_actions_adddup2(&fa, from[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	argv[0] = e->program;
	argv[1] = NULL;
	rc = posix_spawn(&pid, e->program, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(to[0]);
	close(from[1]);
	to[0] = from[1] = -1;
	if (rc != 0) {
		snprintf(reason, len, "%s: %s", e->program, strerror(rc));
		goto out;
	}
	fcntl(to[1], F_SETFL, O_NONBLOCK);
	/* One byte past the bound tells overflow, one more ends the text. */
	if ((out = malloc((size_t)e->max_output + 2)) == NULL)
		abort();
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += e->timeout_ms / 1000;
	deadline.tv_nsec += (e->timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	/* Feed stdin, drain stdout, until EOF, overflow or the deadline. */
	for (;;) {
		long	left = ms_left(&deadline);

		if (left <= 0) {
			killed = 1;
			break;
		}
		pfd[0].fd = from[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = to[1];
		pfd[1].events = POLLOUT;
		if (poll(pfd, to[1] != -1 ? 2 : 1, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			killed = 1;
			break;
		}
		if (to[1] != -1 && (pfd[1].revents & (POLLOUT | POLLERR |
		    POLLHUP))) {
			n = write(to[1], in + inoff, inlen - inoff);
			if (n > 0)
				inoff += (size_t)n;
			if (n == -1 && errno != EAGAIN && errno != EINTR)
				inoff = inlen;	/* it stopped reading: fine */
			if (inoff == inlen) {
				close(to[1]);
				to[1] = -1;
			}
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(from[0], out + outlen,
			    (size_t)e->max_output + 1 - outlen);
			if (n == 0 || (n == -1 && errno != EINTR))
				break;
			if (n > 0)
				outlen += (size_t)n;
			if (outlen > (size_t)e->max_output) {
				overflow = killed = 1;
				break;
			}
		}
	}
	if (killed)
		kill(pid, SIGKILL);
	/* Output closed: the program should be done; give it what is left. */
	while ((rc = waitpid(pid, &status, WNOHANG)) == 0) {
		if (ms_left(&deadline) <= 0) {
			kill(pid, SIGKILL);
			killed = 1;
			rc = waitpid(pid, &status, 0);
			break;
		}
		usleep(1000);
	}
	out[outlen] = '\0';
	if ((nl = strchr(out, '\n')) != NULL)
		*nl = '\0';
	if (overflow)
		snprintf(reason, len, "%s: more than %ld bytes of output",
		    e->program, e->max_output);
	else if (killed)
		snprintf(reason, len, "%s: no answer within %ld ms, killed",
		    e->program, e->timeout_ms);
	else if (rc == -1)
		snprintf(reason, len, "waitpid: %s", strerror(errno));
	else if (WIFSIGNALED(status))
		snprintf(reason, len, "%s: killed by signal %d", e->program,
		    WTERMSIG(status));
	else if (WEXITSTATUS(status) == 0)
		a = BATON_ANSWER_OK;
	else if (WEXITSTATUS(status) == 1) {
		snprintf(reason, len, "%s", out[0] != '\0' ? out :
		    "denied by the program");
		a = BATON_ANSWER_DENY;
	} else
		snprintf(reason, len, "%s: exit status %d", e->program,
		    WEXITSTATUS(status));
out:
	if (to[0] != -1)
		close(to[0]);
	if (to[1] != -1)
		close(to[1]);
	if (from[0] != -1)
		close(from[0]);
	if (from[1] != -1)
		close(from[1]);
	free(out);
	free(in);
	return (a);
}

static void
exec_fini(void *state)
{
	struct execmod	*e = state;

	free(e->program);
	free(e);
}

static const struct baton_module execmod = {
	.magic = BATON_MODULE_MAGIC,
	.abi = BATON_MODULE_ABI,
	.size = sizeof(struct baton_module),
	.name = "exec",
	.init = exec_init,
	.authorize = exec_authorize,
	.fini = exec_fini,
};

BATON_MODULE_EXPORT const struct baton_module *baton_module_entry(void);

const struct baton_module *
baton_module_entry(void)
{
	return (&execmod);
}
