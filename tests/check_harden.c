/*
 * check_harden.c: what protects the keys inside a running batond (locked,
 * undumpable memory, no ptrace, no core), the refusal of hostile state
 * files at start, and the optional seccomp filter: a forbidden call
 * kills the broker, and every operation still works under it.
 */

#include "config.h"

#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <sodium.h>

#include "broker-util.h"
#include "plugin-util.h"

#define NOBODY	65534

static struct tb	T;

#define NEED_ROOT() do {						\
	if (geteuid() != 0) {						\
		printf("SKIP %s: needs root (setuid, chown)\n",	\
		    __func__);						\
		return;							\
	}								\
} while (0)

/* Run a shell command with $S set to dir. */
static void
sh(const char *dir, const char *text)
{
	char	cmd[2048];

	snprintf(cmd, sizeof cmd, "S='%s'; %s", dir, text);
	ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

/* One line of /proc/PID/FILE starting with key, or "" if none. */
static void
proc_line(pid_t pid, const char *file, const char *key, char *out,
    size_t len)
{
	char	 path[64], line[512];
	FILE	*f;

	*out = '\0';
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, key, strlen(key)) == 0) {
			snprintf(out, len, "%s", line);
			break;
		}
	fclose(f);
}

/*
 * Does a process of uid NOBODY (no capabilities) get to ptrace pid?
 * 0: attached (and detached again), else the errno of the refusal.
 */
static int
ptrace_as_nobody(pid_t pid)
{
	pid_t	c;
	int	status;

	ck_assert_int_ge(c = fork(), 0);
	if (c == 0) {
		if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 ||
		    setuid(NOBODY) != 0)
			_exit(100);
		if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) != 0)
			_exit(errno);
		waitpid(pid, &status, __WALL);
		ptrace(PTRACE_DETACH, pid, NULL, NULL);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(c, &status, 0), c);
	ck_assert(WIFEXITED(status));
	ck_assert_int_ne(WEXITSTATUS(status), 100);
	return (WEXITSTATUS(status));
}

/* ---- keys in memory --------------------------------------------------------- */

/*
 * The broker as an ordinary uid: its keys sit in locked pages kept out
 * of core dumps, it cannot dump core, and a process of its own uid
 * cannot ptrace it (PR_SET_DUMPABLE 0), while it can ptrace an ordinary
 * process of that uid (the control: otherwise EPERM would prove
 * nothing).
 */
START_TEST(test_key_memory)
{
	struct rlimit	 rl = { 1 << 20, 1 << 20 };
	char		 line[512], path[64], *buf = NULL;
	size_t		 cap = 0;
	ssize_t		 n;
	pid_t		 ctl;
	FILE		*f;
	int		 status, lo_dd = 0;

	NEED_ROOT();
	/* Core files allowed by the parent: the broker must lower it. */
	ck_assert_int_eq(setrlimit(RLIMIT_CORE, &rl), 0);
	tb_init(&T, NULL, NULL);
	ck_assert_int_eq(chown(T.dir, NOBODY, NOBODY), 0);
	T.run_uid = NOBODY;
	ck_assert_int_eq(tb_launch(&T), 0);

	proc_line(T.pid, "status", "Uid:", line, sizeof line);
	ck_assert_msg(strstr(line, "65534") != NULL, "%s", line);
#if !defined(__SANITIZE_ADDRESS__)
	/* ASan makes mlock a no-op (its shadow memory could not be locked). */
	proc_line(T.pid, "status", "VmLck:", line, sizeof line);
	ck_assert_msg(strtol(line + 6, NULL, 10) > 0, "nothing locked: %s",
	    line);
#define LOCKED	" lo"
#else
#define LOCKED	" "
#endif
	proc_line(T.pid, "limits", "Max core file size", line, sizeof line);
	ck_assert_msg(strstr(line, " 0 ") != NULL, "%s", line);
	/* A mapping both locked ("lo") and out of core dumps ("dd"). */
	snprintf(path, sizeof path, "/proc/%d/smaps", (int)T.pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while ((n = getline(&buf, &cap, f)) != -1)
		if (strncmp(buf, "VmFlags:", 8) == 0 &&
		    strstr(buf, LOCKED) != NULL && strstr(buf, " dd") != NULL)
			lo_dd = 1;
	fclose(f);
	free(buf);
	ck_assert_msg(lo_dd, "no locked, undumpable mapping in %s", path);

	/* The control: same uid, dumpable, attachable. */
	ck_assert_int_ge(ctl = fork(), 0);
	if (ctl == 0) {
		if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 ||
		    setuid(NOBODY) != 0)
			_exit(1);
		prctl(PR_SET_DUMPABLE, 1);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	usleep(100000);
	ck_assert_int_eq(ptrace_as_nobody(ctl), 0);
	kill(ctl, SIGKILL);
	waitpid(ctl, &status, 0);
	ck_assert_int_eq(ptrace_as_nobody(T.pid), EPERM);

	ck_assert_int_eq(tb_stop(&T), 0);
	tb_cleanup(&T);
}
END_TEST

/*
 * The wipe: a freed key's secret pages (sodium_malloc'd: seed, signing
 * key, MAC key) are gone from the process, so nothing of it is left to
 * a later read, dump or swap.  The read after baton_key_free must fault.
 */
START_TEST(test_key_wipe)
{
	struct baton_key	*k;
	const volatile uint8_t	*seed;
	uint8_t			 copy[BATON_SEED_LEN];
	pid_t			 c;
	size_t			 i;
	int			 status;

	ck_assert_int_ge(sodium_init(), 0);
	ck_assert_int_ge(c = fork(), 0);
	if (c == 0) {
		if (baton_key_generate(&k) != 0)
			_exit(11);
		seed = baton_key_seed(k);
		for (i = 0; i < sizeof copy; i++)
			copy[i] = seed[i];
		if (sodium_is_zero(copy, sizeof copy))
			_exit(12);
		baton_key_free(k);
		/* Must fault here. */
		_exit(seed[0] == copy[0] ? 13 : 14);
	}
	ck_assert_int_eq(waitpid(c, &status, 0), c);
#if defined(__SANITIZE_ADDRESS__)
	/* ASan catches the fault, reports it and exits 1. */
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		return;
#endif
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV,
	    "a freed key's seed was still readable (status %#x)", status);
}
END_TEST

/* ---- hostile state files -------------------------------------------------- */

/*
 * Each case damages a sound state directory (S: its path) after a first
 * start; the next start must refuse with the message.  Root runs these,
 * so "uid 0" is the broker's.
 */
static const struct {
	const char	*cmd;
	const char	*msg;
} hostile_state[] = {
	{ "chmod 0770 $S", "state: must be owned by uid 0 and not group- or "
	    "world-writable" },
	{ "chmod 0703 $S", "state: must be owned by uid 0 and not group- or "
	    "world-writable" },
	{ "chown 65534 $S", "state: must be owned by uid 0 and not group- or "
	    "world-writable" },
	{ "chmod 0703 $S/keys", "keys: mode 0703, must be 0700" },
	{ "chmod 0640 $S/keys/*.key", ".key: mode 0640, must be 0600" },
	{ "chown 65534 $S/keys/*.key", ".key: owned by uid 65534, not the "
	    "broker's uid 0" },
	{ "cd $S/keys && k=$(ls *.key) && mv $k ../k && ln -s ../k $k",
	    ".key: Too many levels of symbolic links" },
	{ "cd $S/keys && k=$(ls *.key) && rm $k && mkfifo -m 0600 $k",
	    ".key: not a regular file" },
	{ "chmod 0640 $S/journal", "journal: must be a regular file of mode "
	    "0600 owned by uid 0" },
	{ "chown 65534 $S/journal", "journal: must be a regular file of mode "
	    "0600 owned by uid 0" },
	{ "mv $S/journal $S/j && ln -s j $S/journal",
	    "journal: Too many levels of symbolic links" },
	/* A FIFO must be refused, not hang the start waiting for a writer. */
	{ "rm $S/journal && mkfifo -m 0600 $S/journal", "journal: must be a "
	    "regular file of mode 0600 owned by uid 0" },
	{ "rm $S/journal && mkdir -m 0700 $S/journal", "journal: must be a "
	    "regular file of mode 0600 owned by uid 0" },
};

START_TEST(test_hostile_state)
{
	int	i = _i;

	NEED_ROOT();
	tb_init(&T, NULL, NULL);
	ck_assert_int_eq(tb_launch(&T), 0);
	ck_assert_int_eq(tb_stop(&T), 0);
	sh(T.state, hostile_state[i].cmd);
	ck_assert_int_eq(tb_launch(&T), 1);
	ck_assert_msg(tb_log_has(&T, "refusing to start"), "case %d", i);
	ck_assert_msg(tb_log_has(&T, hostile_state[i].msg), "case %d: no "
	    "\"%s\"", i, hostile_state[i].msg);
	tb_cleanup(&T);
}
END_TEST

/* ---- seccomp ---------------------------------------------------------------- */

#ifdef HAVE_SECCOMP

static int	log_wait(const char *);

/*
 * One call of each kind the filter forbids; "" is the control, and
 * "inet" what a Redis client over TCP does, which must go through.
 */
static const char *const forbidden[] = {
	"", "inet", "fork", "execve", "ptrace", "socket-packet", "socket-raw",
	"kill", "ioctl", "fionread",
};

/*
 * The test build makes the call named in BATON_TEST_FORBIDDEN right
 * after installing the filter: it must die of SIGSYS, not carry on.
 */
START_TEST(test_seccomp_forbidden)
{
	const char	*what = forbidden[_i];
	int		 status, fd, i, alive;
	pid_t		 pid;

	tb_init(&T, "development-mode yes\nseccomp yes\n", NULL);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(T.log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(fd, 1);
		dup2(fd, 2);
		if (*what != '\0')
			setenv("BATON_TEST_FORBIDDEN", what, 1);
		execl(BATOND_TEST_BUILD_PATH, "batond", "-f", "-c", T.conf,
		    "--socket", T.sock, "--state-dir", T.state, (char *)NULL);
		_exit(127);
	}
	T.pid = pid;
	alive = *what == '\0' || strcmp(what, "inet") == 0;
	for (i = 0; i < 1000; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			T.pid = 0;
			break;
		}
		if (alive && (fd = tb_connect(&T)) != -1) {
			close(fd);
			break;
		}
		usleep(10000);
	}
	if (alive) {
		/* The control, and allowed calls: alive and answering. */
		ck_assert(log_wait("seccomp filter installed"));
		if (*what != '\0')
			ck_assert(log_wait("test: inet calls made"));
		ck_assert_int_ne(T.pid, 0);
		ck_assert_int_ge(fd = tb_connect(&T), 0);
		close(fd);
		ck_assert_int_eq(tb_stop(&T), 0);
	} else {
		ck_assert(tb_log_has(&T, "seccomp filter installed"));
		ck_assert_msg(T.pid == 0, "%s: still running", what);
		ck_assert_msg(WIFSIGNALED(status) &&
		    WTERMSIG(status) == SIGSYS, "%s: status %#x, not SIGSYS",
		    what, status);
		ck_assert(!tb_log_has(&T, "returned"));
	}
	tb_cleanup(&T);
}
END_TEST

static char *
tok_of(struct resp *r)
{
	char	tok[BATON_MAX_TEXT + 1];

	ck_assert_int_eq(r->status, 0);
	ck_assert_int_eq(get_str(&r->body, "token", tok, sizeof tok), 0);
	resp_free(r);
	return (strdup(tok));
}

static void
expect_ok(int fd, struct msg *m)
{
	struct resp	r;

	ck_assert_int_eq(rpc(fd, m, &r), 0);
	ck_assert_int_eq(r.status, 0);
	resp_free(&r);
}

static int
log_wait(const char *needle)
{
	int	i;

	for (i = 0; i < 500 && !tb_log_has(&T, needle); i++)
		usleep(10000);
	return (tb_log_has(&T, needle));
}

/* How many times needle is in the log (its first 64 KiB). */
static int
log_count(const char *needle)
{
	char	buf[65536], *p;
	ssize_t	n;
	int	fd, c = 0;

	if ((fd = open(T.log, O_RDONLY)) == -1)
		return (0);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	for (p = buf; (p = strstr(p, needle)) != NULL; p++)
		c++;
	return (c);
}

/*
 * Every operation under the filter, through the production batond and
 * "seccomp yes" in its configuration: mint, attenuate, present, verify,
 * revoke, inspect, pubkeys, status, rotate, rotate now, reload by
 * request and by SIGHUP, journal compaction, a restart on the same
 * state, and a drain on SIGTERM that exits 0.
 */
START_TEST(test_seccomp_ops)
{
	struct msg	 m;
	struct resp	 r;
	char		 line[256], *root, *child, *pres;
	int		 fd, n;

	tb_init(&T, "development-mode yes\nseccomp yes\ncompact-interval 1\n"
	    "rate-limit 0\n", NULL);
	ck_assert_int_eq(tb_launch(&T), 0);
	/* The socket answers a moment before the filter is in. */
	ck_assert(log_wait("seccomp filter installed"));
	proc_line(T.pid, "status", "Seccomp:", line, sizeof line);
	ck_assert_str_eq(line, "Seccomp:\t2\n");
	ck_assert_int_ge(fd = tb_connect(&T), 0);

	root = tb_mint(fd, "orchestrator", "db_query", "read", 100, 600, 0,
	    NULL);
	ck_assert_ptr_nonnull(root);
	msg_start(&m, BATON_OP_ATTENUATE, 2, 3);
	pk_kv_str(&m.pk, "token", root);
	pk_kv_str(&m.pk, "as", "worker");
	pk_kv_uint(&m.pk, "ttl", 300);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	child = tok_of(&r);
	msg_start(&m, BATON_OP_PRESENT, 3, 4);
	pk_kv_str(&m.pk, "token", child);
	pk_kv_str(&m.pk, "tool", "db_query");
	pk_kv_str(&m.pk, "action", "read");
	pk_kv_str(&m.pk, "aud", "tools.example");
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	pres = tok_of(&r);
	ck_assert_int_eq(tb_verify(fd, pres, "db_query", "read",
	    "tools.example", &r), 0);
	ck_assert_int_eq(get_bool(&r.body, "allow"), 1);
	resp_free(&r);
	/* Single use: consumed, and durably so. */
	ck_assert_int_eq(tb_verify(fd, pres, "db_query", "read",
	    "tools.example", &r), 0);
	ck_assert_int_eq(get_bool(&r.body, "allow"), 0);
	resp_free(&r);
	msg_start(&m, BATON_OP_REVOKE, 4, 1);
	pk_kv_str(&m.pk, "token", child);
	expect_ok(fd, &m);
	ck_assert_int_eq(tb_verify(fd, child, "db_query", "read", NULL, &r),
	    0);
	ck_assert_int_eq(get_uint(&r.body, "reason"), BATON_R_REVOKED);
	resp_free(&r);
	msg_start(&m, BATON_OP_INSPECT, 5, 1);
	pk_kv_str(&m.pk, "token", root);
	expect_ok(fd, &m);
	msg_start(&m, BATON_OP_PUBKEYS, 6, 0);
	expect_ok(fd, &m);
	msg_start(&m, BATON_OP_STATUS, 7, 0);
	expect_ok(fd, &m);
	/* Rotation writes a key file; an emergency one removes the old. */
	msg_start(&m, BATON_OP_ROTATE, 8, 0);
	expect_ok(fd, &m);
	ck_assert_int_eq(tb_verify(fd, root, "db_query", "read", NULL, &r),
	    0);
	ck_assert_int_eq(get_bool(&r.body, "allow"), 1);
	resp_free(&r);
	msg_start(&m, BATON_OP_ROTATE, 9, 1);
	pk_kv_bool(&m.pk, "now", 1);
	expect_ok(fd, &m);
	ck_assert_int_eq(tb_verify(fd, root, "db_query", "read", NULL, &r),
	    0);
	ck_assert_int_eq(get_bool(&r.body, "allow"), 0);
	resp_free(&r);
	/* The old key is gone: mint, delegate and revoke on the new one. */
	free(root);
	free(child);
	root = tb_mint(fd, "orchestrator", "db_query", "read", 100, 600, 0,
	    NULL);
	ck_assert_ptr_nonnull(root);
	msg_start(&m, BATON_OP_ATTENUATE, 2, 3);
	pk_kv_str(&m.pk, "token", root);
	pk_kv_str(&m.pk, "as", "worker");
	pk_kv_uint(&m.pk, "ttl", 300);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	child = tok_of(&r);
	msg_start(&m, BATON_OP_REVOKE, 4, 1);
	pk_kv_str(&m.pk, "token", child);
	expect_ok(fd, &m);
	/* Reload: by request, then by signal. */
	msg_start(&m, BATON_OP_RELOAD, 10, 0);
	expect_ok(fd, &m);
	kill(T.pid, SIGHUP);
	ck_assert(log_wait("SIGHUP: reloading"));
	for (n = 0; n < 500; n++) {
		/* Count the reloads: two once the signal's is done. */
		char	buf[65536], *p;
		ssize_t	k;
		int	lfd, c = 0;

		lfd = open(T.log, O_RDONLY);
		k = read(lfd, buf, sizeof buf - 1);
		close(lfd);
		buf[k > 0 ? k : 0] = '\0';
		for (p = buf; (p = strstr(p, "configuration reloaded")) != NULL;
		    p++)
			c++;
		if (c >= 2)
			break;
		usleep(10000);
	}
	ck_assert_int_lt(n, 500);
	/*
	 * Compaction (one a second) rewrites and renames the journal: the
	 * one at start-up on the main thread, then at least two on threads
	 * of their own, which lower their priority (setpriority, allowed
	 * for nice 19 only) under the filter.
	 */
	for (n = 0; n < 500 && log_count("journal: compacted to") < 3; n++)
		usleep(10000);
	ck_assert_int_ge(log_count("journal: compacted to"), 3);
	ck_assert(!tb_log_has(&T, "cannot lower"));
	msg_start(&m, BATON_OP_STATUS, 11, 0);
	expect_ok(fd, &m);
	close(fd);
	/* Drain: SIGTERM, exit 0; the state reopens, revocation kept. */
	ck_assert_int_eq(tb_stop(&T), 0);
	ck_assert_int_eq(tb_launch(&T), 0);
	ck_assert_int_ge(fd = tb_connect(&T), 0);
	ck_assert_int_eq(tb_verify(fd, child, "db_query", "read", NULL, &r),
	    0);
	ck_assert_int_eq(get_uint(&r.body, "reason"), BATON_R_REVOKED);
	resp_free(&r);
	ck_assert_int_eq(tb_verify(fd, root, "db_query", "read", NULL, &r),
	    0);
	ck_assert_int_eq(get_bool(&r.body, "allow"), 1);
	resp_free(&r);
	close(fd);
	ck_assert_int_eq(tb_stop(&T), 0);
	ck_assert(!tb_log_has(&T, "SIGSYS"));
	free(root);
	free(child);
	free(pres);
	tb_cleanup(&T);
}
END_TEST

/*
 * The exec module spawns programs: under the filter it is refused when
 * its stack loads, at start and at a reload, with the reason, instead
 * of the first decision killing the broker.
 */
START_TEST(test_seccomp_exec_refused)
{
	char	conf[1024], dir[400], path[500];
	FILE	*f;
	int	fd;
	struct resp r;
	struct msg m;

	tb_init(&T, NULL, NULL);
	snprintf(dir, sizeof dir, "%s/stacks", T.dir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(path, sizeof path, "%s/verify.d", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/verify.d/default", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("required exec program=/bin/true\n", f);
	fclose(f);
	snprintf(conf, sizeof conf, "development-mode yes\nseccomp yes\n"
	    "stack-dir %s\n", dir);
	ck_assert_ptr_nonnull(f = fopen(T.conf, "w"));
	fputs(conf, f);
	fclose(f);
	T.use_conf = 1;
	ck_assert_int_eq(tb_launch(&T), 1);
	ck_assert(tb_log_has(&T, "module exec: exec spawns programs, which "
	    "the seccomp filter forbids"));

	/* Started without it, then reloaded onto it: refused, kept. */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(tb_launch(&T), 0);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("required exec program=/bin/true\n", f);
	fclose(f);
	/* Even with "seccomp no" now: the filter in force stays. */
	snprintf(conf, sizeof conf, "development-mode yes\nseccomp no\n"
	    "stack-dir %s\n", dir);
	ck_assert_ptr_nonnull(f = fopen(T.conf, "w"));
	fputs(conf, f);
	fclose(f);
	ck_assert_int_ge(fd = tb_connect(&T), 0);
	msg_start(&m, BATON_OP_RELOAD, 1, 0);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	ck_assert_int_ne(r.status, 0);
	resp_free(&r);
	ck_assert(tb_log_has(&T, "reload refused"));
	msg_start(&m, BATON_OP_STATUS, 2, 0);
	expect_ok(fd, &m);
	close(fd);
	ck_assert_int_eq(tb_stop(&T), 0);
	tb_cleanup(&T);
}
END_TEST

/*
 * Modules named for the first time at a reload, under the filter: the
 * loader's dlopen (open, mmap with PROT_EXEC, mprotect), the deny
 * module's decision, and the audit module's writer thread and trail.
 */
START_TEST(test_seccomp_module_reload)
{
	char	 moddir[256], sdir[256], conf[1024], audit[400], stack[600];
	char	 line[256], *tok, *trail;
	struct resp r;
	int	 fd;

	pu_moddir(moddir, sizeof moddir);
	setenv("BATON_TEST_MODULE_DIR", moddir, 1);
	pu_tmpdir(sdir, sizeof sdir);
	pu_mkdir(sdir, "verify.d");
	snprintf(audit, sizeof audit, "%s/audit.log", sdir);
	tb_init(&T, NULL, NULL);
	snprintf(conf, sizeof conf, "development-mode yes\nseccomp yes\n"
	    "stack-dir %s\n", sdir);
	pu_write(T.dir, "baton.conf", conf);
	T.use_conf = 1;
	T.binary = BATOND_TEST_BUILD_PATH;
	ck_assert_int_eq(tb_launch(&T), 0);
	ck_assert(log_wait("seccomp filter installed"));
	ck_assert_int_ge(fd = tb_connect(&T), 0);
	tok = tb_mint(fd, "orchestrator", "db_query", "read", 0, 600, 0, NULL);
	ck_assert_ptr_nonnull(tok);
	ck_assert_int_eq(tb_verify(fd, tok, "db_query", "read", NULL, &r), 0);
	ck_assert_int_eq(get_bool(&r.body, "allow"), 1);
	resp_free(&r);

	snprintf(stack, sizeof stack, "required deny\noptional audit "
	    "file=%s\n", audit);
	snprintf(conf, sizeof conf, "%s/verify.d", sdir);
	pu_write(conf, "default", stack);
	kill(T.pid, SIGHUP);
	ck_assert(log_wait("configuration reloaded"));
	ck_assert_int_eq(tb_verify(fd, tok, "db_query", "read", NULL, &r), 0);
	ck_assert_int_eq(get_bool(&r.body, "allow"), 0);
	resp_free(&r);
	close(fd);
	proc_line(T.pid, "status", "Seccomp:", line, sizeof line);
	ck_assert_str_eq(line, "Seccomp:\t2\n");
	ck_assert_int_eq(tb_stop(&T), 0);
	/* The trail holds the refusal, written by the module's thread. */
	ck_assert_ptr_nonnull(trail = pu_slurp(audit));
	ck_assert_ptr_nonnull(strstr(trail, "db_query"));
	free(trail);
	free(tok);
	tb_cleanup(&T);
	pu_rmrf(moddir);
	pu_rmrf(sdir);
}
END_TEST

#endif /* HAVE_SECCOMP */

/* "seccomp" takes yes or no, and nothing else. */
START_TEST(test_seccomp_option)
{
	tb_init(&T, "development-mode yes\nseccomp maybe\n", NULL);
	ck_assert_int_eq(tb_launch(&T), 1);
	ck_assert(tb_log_has(&T, "baton.conf:2: seccomp: expected yes or "
	    "no"));
	tb_cleanup(&T);
}
END_TEST

static Suite *
harden_suite(void)
{
	Suite	*s = suite_create("harden");
	TCase	*tc = tcase_create("keys");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_key_memory);
	tcase_add_test(tc, test_key_wipe);
	tcase_add_loop_test(tc, test_hostile_state, 0,
	    sizeof hostile_state / sizeof hostile_state[0]);
	suite_add_tcase(s, tc);
	tc = tcase_create("seccomp");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_seccomp_option);
#ifdef HAVE_SECCOMP
	tcase_add_loop_test(tc, test_seccomp_forbidden, 0,
	    sizeof forbidden / sizeof forbidden[0]);
	tcase_add_test(tc, test_seccomp_ops);
	tcase_add_test(tc, test_seccomp_exec_refused);
	tcase_add_test(tc, test_seccomp_module_reload);
#endif
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	signal(SIGPIPE, SIG_IGN);
#if defined(__SANITIZE_ADDRESS__)
	{
		/*
		 * LeakSanitizer checks at exit from a task made with clone
		 * and ptrace, which the seccomp filter kills: no leak check
		 * for the brokers here (check_broker has them).
		 */
		const char	*ao = getenv("ASAN_OPTIONS");
		char		 opts[512];

		snprintf(opts, sizeof opts, "%s%sdetect_leaks=0",
		    ao != NULL ? ao : "", ao != NULL && *ao ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
	}
#endif
	sr = srunner_create(harden_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
