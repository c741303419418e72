/*
 * check_harden.c: what protects the keys inside a running batond (locked,
 * undumpable memory, no ptrace, no core), and the refusal of hostile
 * state files at start.
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
	proc_line(T.pid, "status", "VmLck:", line, sizeof line);
	ck_assert_msg(strtol(line + 6, NULL, 10) > 0, "nothing locked: %s",
	    line);
	proc_line(T.pid, "limits", "Max core file size", line, sizeof line);
	ck_assert_msg(strstr(line, " 0 ") != NULL, "%s", line);
	/* A mapping both locked ("lo") and out of core dumps ("dd"). */
	snprintf(path, sizeof path, "/proc/%d/smaps", (int)T.pid);
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	while ((n = getline(&buf, &cap, f)) != -1)
		if (strncmp(buf, "VmFlags:", 8) == 0 &&
		    strstr(buf, " lo") != NULL && strstr(buf, " dd") != NULL)
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
			_exit(1);
		seed = baton_key_seed(k);
		for (i = 0; i < sizeof copy; i++)
			copy[i] = seed[i];
		if (sodium_is_zero(copy, sizeof copy))
			_exit(2);
		baton_key_free(k);
		/* Must fault here. */
		_exit(seed[0] == copy[0] ? 3 : 4);
	}
	ck_assert_int_eq(waitpid(c, &status, 0), c);
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
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	signal(SIGPIPE, SIG_IGN);
	sr = srunner_create(harden_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
