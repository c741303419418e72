/* broker-util.c: a real batond in a temp dir, and a tiny raw-frame client. */

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker-util.h"

#ifndef BATOND_PATH
#define BATOND_PATH "./batond"
#endif

/*
 * BATON_TEST_SECCOMP=1 runs the test build of batond, which then
 * installs its seccomp filter whatever the configuration says: a whole
 * suite shows every operation still works under it.
 */
static const char *
default_binary(void)
{
#ifdef BATOND_TEST_BUILD_PATH
	if (getenv("BATON_TEST_SECCOMP") != NULL)
		return (BATOND_TEST_BUILD_PATH);
#endif
	return (BATOND_PATH);
}

static void
write_text(const char *path, const char *text)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL)
		abort();
	fputs(text, f);
	fclose(f);
}

void
tb_init(struct tb *t, const char *conf, const char *agents)
{
	memset(t, 0, sizeof *t);
	snprintf(t->dir, sizeof t->dir, "/tmp/batond-test.XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		abort();
	chmod(t->dir, 0755);	/* other uids connect in identity tests */
	snprintf(t->sock, sizeof t->sock, "%s/sock", t->dir);
	snprintf(t->state, sizeof t->state, "%s/state", t->dir);
	snprintf(t->conf, sizeof t->conf, "%s/baton.conf", t->dir);
	snprintf(t->agents, sizeof t->agents, "%s/agents", t->dir);
	snprintf(t->log, sizeof t->log, "%s/log", t->dir);
	if (agents != NULL)
		write_text(t->agents, agents);
	if (conf != NULL) {
		write_text(t->conf, conf);
		t->use_conf = 1;
	}
}

int
tb_connect(struct tb *t)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(t->sock) >= sizeof sun.sun_path)
		return (-1);
	memcpy(sun.sun_path, t->sock, strlen(t->sock) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Does the configuration file switch the seccomp filter on? */
static int
conf_has_seccomp(const char *path)
{
	FILE	*f;
	char	 line[512];
	int	 on = 0;

	if ((f = fopen(path, "r")) == NULL)
		return (0);
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "seccomp yes", 11) == 0)
			on = 1;
	fclose(f);
	return (on);
}

int
tb_launch(struct tb *t)
{
	const char	*argv[20];
	int		 fd, i, status, lfd, n = 0, filtered;

	filtered = getenv("BATON_TEST_SECCOMP") != NULL ||
	    (t->use_conf && conf_has_seccomp(t->conf));
	if ((t->pid = fork()) == -1)
		return (-1);
	if (t->pid == 0) {
		/* A failed test must not leave a broker behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		lfd = open(t->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(lfd, 2);
		dup2(lfd, 1);
		if (t->run_uid > 0) {
			/* Set after the log opened; a uid change clears it. */
			if (setgroups(0, NULL) != 0 ||
			    setgid((gid_t)t->run_uid) != 0 ||
			    setuid(t->run_uid) != 0)
				_exit(126);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
		}
		if (t->fsize_limit > 0) {
			/*
			 * Binds root too: the way to make the journal's
			 * writes fail (EFBIG, SIGXFSZ ignored) in a test.
			 */
			struct rlimit	rl;

			rl.rlim_cur = rl.rlim_max = (rlim_t)t->fsize_limit;
			if (!t->fsize_signal)
				signal(SIGXFSZ, SIG_IGN);
			setrlimit(RLIMIT_FSIZE, &rl);
		}
		if (t->nofile_limit > 0) {
			/* Hard too: the broker may raise soft up to hard. */
			struct rlimit	rl;

			rl.rlim_cur = rl.rlim_max = (rlim_t)t->nofile_limit;
			if (t->nofile_hard > t->nofile_limit)
				rl.rlim_max = (rlim_t)t->nofile_hard;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (filtered) {
			/*
			 * LeakSanitizer's exit check clones and ptraces,
			 * which the filter kills: no leak check then.
			 */
			const char	*ao = getenv("ASAN_OPTIONS");
			char		 opts[512];

			snprintf(opts, sizeof opts, "%s%sdetect_leaks=0",
			    ao != NULL ? ao : "", ao != NULL && *ao ? ":" : "");
			setenv("ASAN_OPTIONS", opts, 1);
		}
		if (t->preload != NULL) {
			/*
			 * An ASan build wants its runtime first in the link
			 * map and stops otherwise; the shim only wraps libc
			 * calls, so let the sanitized broker take it second.
			 */
			const char	*ao = getenv("ASAN_OPTIONS");
			char		 opts[512];

			snprintf(opts, sizeof opts, "%s%sverify_asan_link_order=0",
			    ao != NULL ? ao : "", ao != NULL && *ao ? ":" : "");
			setenv("ASAN_OPTIONS", opts, 1);
			setenv("LD_PRELOAD", t->preload, 1);
		}
		argv[n++] = "batond";
		if (getenv("BATOND_VALGRIND") != NULL) {
			/* make check BATOND_VALGRIND=1: memory errors exit 42 */
			argv[0] = "valgrind";
			argv[n++] = "-q";
			argv[n++] = "--error-exitcode=42";
			argv[n++] = "--leak-check=full";
			argv[n++] = "--errors-for-leak-kinds=definite";
			argv[n++] = t->binary != NULL ? t->binary :
			    default_binary();
		}
		if (!t->daemonize)
			argv[n++] = "-f";
		argv[n++] = "-v";
		if (t->use_conf) {
			argv[n++] = "-c";
			argv[n++] = t->conf;
		}
		argv[n++] = "--socket";
		argv[n++] = t->sock;
		argv[n++] = "--state-dir";
		argv[n++] = t->state;
		argv[n] = NULL;
		{
			/* execv wants char *const []: hand it copies. */
			char	*args[20];

			for (i = 0; i <= n; i++)
				args[i] = argv[i] == NULL ? NULL :
				    strdup(argv[i]);
			execv(strcmp(argv[0], "valgrind") == 0 ?
			    "/usr/bin/valgrind" : t->binary != NULL ?
			    t->binary : default_binary(), args);
		}
		_exit(127);
	}
	for (i = 0; i < 1500; i++) {
		if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
			t->pid = 0;
			return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		}
		if ((fd = tb_connect(t)) != -1) {
			close(fd);
			return (0);
		}
		usleep(10000);
	}
	return (-1);
}

int
tb_stop(struct tb *t)
{
	int	status, i;

	if (t->pid <= 0)
		return (-1);
	kill(t->pid, SIGTERM);
	for (i = 0; i < 500; i++) {
		if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
			t->pid = 0;
			return (WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		}
		usleep(10000);
	}
	kill(t->pid, SIGKILL);
	waitpid(t->pid, &status, 0);
	t->pid = 0;
	return (-1);
}

void
tb_kill9(struct tb *t)
{
	int	status;

	if (t->pid <= 0)
		return;
	kill(t->pid, SIGKILL);
	waitpid(t->pid, &status, 0);
	t->pid = 0;
}

void
tb_cleanup(struct tb *t)
{
	char	cmd[400];

	tb_kill9(t);
	if (getenv("BATON_TEST_KEEP") == NULL) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", t->dir);
	}
}

int
tb_log_has(struct tb *t, const char *needle)
{
	char	buf[65536];
	ssize_t	n;
	int	fd;

	if ((fd = open(t->log, O_RDONLY)) == -1)
		return (0);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return (strstr(buf, needle) != NULL);
}

void
msg_start(struct msg *m, int op, uint32_t id, size_t n)
{
	baton_wire_begin(&m->sb, &m->pk);
	msgpack_pack_array(&m->pk, 3);
	msgpack_pack_uint32(&m->pk, (uint32_t)op);
	msgpack_pack_uint32(&m->pk, id);
	msgpack_pack_map(&m->pk, n);
}

int
send_raw(int fd, const void *p, size_t len)
{
	const uint8_t	*b = p;
	ssize_t		 n;

	while (len > 0) {
		n = send(fd, b, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		b += n;
		len -= (size_t)n;
	}
	return (0);
}

int
msg_send(int fd, struct msg *m)
{
	int	rc;

	if (baton_wire_finish(&m->sb) != 0) {
		msgpack_sbuffer_destroy(&m->sb);
		return (-1);
	}
	rc = send_raw(fd, m->sb.data, m->sb.size);
	msgpack_sbuffer_destroy(&m->sb);
	return (rc);
}

void
pk_str(msgpack_packer *pk, const char *s)
{
	baton_pack_str(pk, s);
}

void
pk_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
	baton_pack_str(pk, k);
	baton_pack_str(pk, v);
}

void
pk_kv_uint(msgpack_packer *pk, const char *k, uint64_t v)
{
	baton_pack_str(pk, k);
	msgpack_pack_uint64(pk, v);
}

void
pk_kv_bool(msgpack_packer *pk, const char *k, int v)
{
	baton_pack_str(pk, k);
	if (v)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

static int
read_full(int fd, void *p, size_t len)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	uint8_t		*b = p;
	ssize_t		 n;

	while (len > 0) {
		if (poll(&pfd, 1, 5000) != 1)
			return (-1);
		n = read(fd, b, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		b += n;
		len -= (size_t)n;
	}
	return (0);
}

int
resp_read(int fd, struct resp *r)
{
	uint8_t		hdr[4];
	uint32_t	len;

	memset(r, 0, sizeof *r);
	if (read_full(fd, hdr, 4) != 0)
		return (-1);
	if ((len = baton_wire_frame_len(hdr)) == 0)
		return (-1);
	r->buf = malloc(len);
	r->len = len;
	if (r->buf == NULL || read_full(fd, r->buf, len) != 0) {
		resp_free(r);
		return (-1);
	}
	mpr_init(&r->body, r->buf, len);
	if (baton_wire_read_response(&r->body, &r->op, &r->id,
	    &r->status) != 0) {
		resp_free(r);
		return (-1);
	}
	return (0);
}

void
resp_free(struct resp *r)
{
	free(r->buf);
	r->buf = NULL;
}

int
map_get(const struct mpr *m, const char *key, struct mpr *out)
{
	struct mpr	 r = *m;
	const char	*k;
	uint32_t	 n, i, klen;

	if (mpr_map(&r, &n) != 0)
		return (-1);
	for (i = 0; i < n; i++) {
		if (mpr_str(&r, &k, &klen) != 0)
			return (-1);
		if (klen == strlen(key) && memcmp(k, key, klen) == 0) {
			*out = r;
			return (0);
		}
		if (mpr_skip(&r) != 0)
			return (-1);
	}
	return (-1);
}

int
get_str(const struct mpr *m, const char *key, char *buf, size_t len)
{
	struct mpr	 v;
	const char	*s;
	uint32_t	 slen;

	buf[0] = '\0';
	if (map_get(m, key, &v) != 0 || mpr_str(&v, &s, &slen) != 0 ||
	    slen >= len)
		return (-1);
	memcpy(buf, s, slen);
	buf[slen] = '\0';
	return (0);
}

uint64_t
get_uint(const struct mpr *m, const char *key)
{
	struct mpr	v;
	uint64_t	u;

	if (map_get(m, key, &v) != 0 || mpr_uint(&v, &u) != 0)
		return (UINT64_MAX);
	return (u);
}

int
get_bool(const struct mpr *m, const char *key)
{
	struct mpr	v;
	int		b;

	if (map_get(m, key, &v) != 0 || mpr_bool(&v, &b) != 0)
		return (-1);
	return (b);
}

int
rpc(int fd, struct msg *m, struct resp *r)
{
	/* Callers resp_free even after a failed send: nothing to free then. */
	memset(r, 0, sizeof *r);
	if (msg_send(fd, m) != 0)
		return (-1);
	return (resp_read(fd, r));
}

char *
tb_mint(int fd, const char *as, const char *tool, const char *action,
    uint64_t limit, uint64_t ttl, int single_use, const char *holder)
{
	struct msg	 m;
	struct resp	 r;
	char		 tok[BATON_MAX_TEXT + 1];
	char		*out = NULL;
	size_t		 n = 3 + (as != NULL) + (holder != NULL);

	msg_start(&m, BATON_OP_MINT, 1, n);
	if (as != NULL)
		pk_kv_str(&m.pk, "as", as);
	if (holder != NULL)
		pk_kv_str(&m.pk, "holder", holder);
	pk_kv_uint(&m.pk, "ttl", ttl);
	pk_kv_bool(&m.pk, "single_use", single_use);
	pk_str(&m.pk, "grants");
	msgpack_pack_map(&m.pk, 1);
	pk_str(&m.pk, tool);
	msgpack_pack_map(&m.pk, 1 + (limit != 0));
	pk_str(&m.pk, "actions");
	msgpack_pack_array(&m.pk, 1);
	pk_str(&m.pk, action);
	if (limit != 0) {
		pk_str(&m.pk, "limits");
		msgpack_pack_map(&m.pk, 1);
		pk_kv_uint(&m.pk, "max_rows", limit);
	}
	if (rpc(fd, &m, &r) != 0)
		return (NULL);
	if (r.status == 0 && get_str(&r.body, "token", tok, sizeof tok) == 0)
		out = strdup(tok);
	resp_free(&r);
	return (out);
}

int
tb_verify(int fd, const char *token, const char *tool, const char *action,
    const char *aud, struct resp *r)
{
	struct msg	m;

	msg_start(&m, BATON_OP_VERIFY, 2, 2 + (action != NULL) +
	    (aud != NULL));
	pk_kv_str(&m.pk, "token", token);
	pk_kv_str(&m.pk, "tool", tool);
	if (action != NULL)
		pk_kv_str(&m.pk, "action", action);
	if (aud != NULL)
		pk_kv_str(&m.pk, "aud", aud);
	return (rpc(fd, &m, r));
}
