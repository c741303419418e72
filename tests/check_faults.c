/*
 * check_faults.c: a real batond on a disk that fills, fails or goes away,
 * and under a wall clock that steps.
 *
 * disk: a small tmpfs filled up (skipped when mount is not permitted),
 * syncs failing (tests/fault-journal.c), the state directory removed,
 * renamed or made unwritable while the broker runs.  Each time the broker
 * refuses what it cannot record and never acknowledges it, answers what
 * needs no write, says so in status and the log, and recovers by itself
 * once the fault is gone: nothing acknowledged lost, nothing doubled.
 *
 * clock: tests/batond-test adds the seconds in the file BATON_TEST_CLOCK
 * to its wall clock (broker/clock.c); no expired token and no spent or
 * revoked jti comes back after a step back, and compaction under a clock
 * stepped forward forgets nothing still live.
 */

#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <linux/capability.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "broker-util.h"

static struct tb	T;

/* The broker, started on T; a connection to it. */
static int
up(void)
{
	int	fd;

	ck_assert_msg(tb_launch(&T) == 0, "batond did not start; see %s",
	    T.log);
	ck_assert_int_ge(fd = tb_connect(&T), 0);
	return (fd);
}

static void
down(void)
{
	ck_assert_int_eq(tb_stop(&T), 0);
	tb_cleanup(&T);
}

static int
verify_reason(int fd, const char *token)
{
	struct resp	r;
	int		reason;

	ck_assert_int_eq(tb_verify(fd, token, "db_query", "read", NULL, &r),
	    0);
	ck_assert_int_eq(r.status, 0);
	reason = (int)get_uint(&r.body, "reason");
	resp_free(&r);
	return (reason);
}

/* revoke by token: the wire status, its message in msg ("" on success). */
static int
revoke_msg(int fd, const char *tok, char *msg, size_t len)
{
	struct msg	m;
	struct resp	r;
	int		st;

	msg_start(&m, BATON_OP_REVOKE, 9, 1);
	pk_kv_str(&m.pk, "token", tok);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	st = r.status;
	msg[0] = '\0';
	if (st != 0)
		get_str(&r.body, "message", msg, len);
	resp_free(&r);
	return (st);
}

/* A status field: the journal's health as a string, or a count. */
static void
status_str(int fd, const char *key, char *buf, size_t len)
{
	struct msg	m;
	struct resp	r;

	msg_start(&m, BATON_OP_STATUS, 42, 0);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(get_str(&r.body, key, buf, len), 0);
	resp_free(&r);
}

static uint64_t
status_uint(int fd, const char *key)
{
	struct msg	m;
	struct resp	r;
	uint64_t	v;

	msg_start(&m, BATON_OP_STATUS, 42, 0);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	ck_assert_int_eq(r.status, 0);
	v = get_uint(&r.body, key);
	resp_free(&r);
	return (v);
}

/* Wait up to 10 s for the journal's health to be want. */
static int
health_becomes(int fd, const char *want, char *got, size_t len)
{
	int	i;

	for (i = 0; i < 100; i++) {
		status_str(fd, "journal", got, len);
		if (strcmp(got, want) == 0)
			return (1);
		usleep(100000);
	}
	return (0);
}

/* How many lines of the broker's log hold s. */
static int
log_count(const char *s)
{
	FILE	*f;
	char	*line = NULL;
	size_t	 cap = 0;
	int	 n = 0;

	if ((f = fopen(T.log, "r")) == NULL)
		return (0);
	while (getline(&line, &cap, f) > 0)
		if (strstr(line, s) != NULL)
			n++;
	free(line);
	fclose(f);
	return (n);
}

static off_t
file_size(const char *path)
{
	struct stat	st;

	return (stat(path, &st) == 0 ? st.st_size : -1);
}

static char *
mint(int fd, uint64_t ttl, int single_use)
{
	char	*t;

	t = tb_mint(fd, NULL, "db_query", "read", 0, ttl, single_use, NULL);
	ck_assert_ptr_nonnull(t);
	return (t);
}

/* ---- a full disk ---------------------------------------------------------- */

static char	mnt[sizeof T.dir + 8];

/*
 * A 256 KiB tmpfs in T.dir for the state; 0, or -1 when mount is not
 * permitted.  It is mounted in a mount namespace of this test's own, so
 * a failed test, whose process dies, leaves nothing mounted behind.
 */
static int
tmpfs_up(void)
{
	snprintf(mnt, sizeof mnt, "%s/disk", T.dir);
	ck_assert_int_eq(mkdir(mnt, 0700), 0);
	if (unshare(CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV,
	    "size=256k,mode=0700") != 0)
		return (-1);
	return (0);
}

/* Write a file until the file system is full. */
static void
fill(const char *path)
{
	char	buf[4096];
	int	fd;

	memset(buf, 'x', sizeof buf);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600),
	    0);
	while (write(fd, buf, sizeof buf) > 0)
		;
	ck_assert_int_eq(errno, ENOSPC);
	/* The last partial page too. */
	while (write(fd, buf, 1) > 0)
		;
	close(fd);
}

START_TEST(test_disk_full)
{
	struct msg	 m;
	struct resp	 r;
	char		*ok[200], *refused, *once, *keep, msg[512], filler[300];
	char		 health[256];
	int		 fd, n, i, st;

	tb_init(&T, "development-mode yes\nrate-limit 0\n", NULL);
	if (tmpfs_up() != 0) {
		printf("SKIP %s: mount not permitted\n", __func__);
		tb_cleanup(&T);
		return;
	}
	snprintf(T.state, sizeof T.state, "%s/state", mnt);
	snprintf(filler, sizeof filler, "%s/filler", mnt);
	fd = up();
	keep = mint(fd, 600, 0);
	once = mint(fd, 600, 1);
	fill(filler);

	/*
	 * The journal's last page still has room for some records: revoke
	 * until a write fails.  What was answered is on disk; the one that
	 * failed was not acknowledged, and is not held in memory either.
	 */
	for (n = 0; n < 200; n++) {
		ok[n] = mint(fd, 600, 0);
		if ((st = revoke_msg(fd, ok[n], msg, sizeof msg)) != 0)
			break;
	}
	ck_assert_int_lt(n, 200);
	ck_assert_int_eq(st, BATON_WIRE_EUNAVAIL);
	ck_assert_str_eq(msg, "revocation not recorded: journal write: No "
	    "space left on device");
	refused = ok[n];
	ck_assert_int_eq(verify_reason(fd, refused), 0);
	/* A single-use token cannot be spent: unavailable, and again. */
	ck_assert_int_eq(verify_reason(fd, once), BATON_R_UNAVAILABLE);
	ck_assert_int_eq(verify_reason(fd, once), BATON_R_UNAVAILABLE);
	/* 50 more refusals in a second or two: a line of log a second. */
	for (i = 0; i < 50; i++)
		ck_assert_int_eq(revoke_msg(fd, refused, msg, sizeof msg),
		    BATON_WIRE_EUNAVAIL);
	ck_assert_int_le(log_count("write: No space left on device"), 4);
	/* What needs no write goes on: verify, mint, inspect, status. */
	ck_assert_int_eq(verify_reason(fd, keep), 0);
	ck_assert_int_eq(verify_reason(fd, ok[0]), BATON_R_REVOKED);
	free(mint(fd, 60, 0));
	msg_start(&m, BATON_OP_INSPECT, 3, 1);
	pk_kv_str(&m.pk, "token", keep);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	ck_assert_int_eq(r.status, 0);
	resp_free(&r);
	status_str(fd, "journal", health, sizeof health);
	ck_assert_str_eq(health, "writes failing: No space left on device; "
	    "refusing what needs a record until they work");
	/* A new key cannot be written: refused, the old one signs on. */
	msg_start(&m, BATON_OP_ROTATE, 4, 0);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	ck_assert_int_eq(r.status, BATON_WIRE_EUNAVAIL);
	ck_assert_int_eq(get_str(&r.body, "message", msg, sizeof msg), 0);
	ck_assert_msg(strncmp(msg, "rotate: ", 8) == 0 &&
	    strstr(msg, "No space left on device") != NULL, "%s", msg);
	resp_free(&r);
	ck_assert_int_eq(verify_reason(fd, keep), 0);

	/* Room again: no restart, the next write works. */
	ck_assert_int_eq(unlink(filler), 0);
	ck_assert_int_eq(revoke_msg(fd, refused, msg, sizeof msg), 0);
	ck_assert_int_eq(verify_reason(fd, once), 0);
	ck_assert_int_eq(verify_reason(fd, once), BATON_R_REPLAYED);
	status_str(fd, "journal", health, sizeof health);
	ck_assert_str_eq(health, "ok");
	ck_assert_int_eq(log_count("journal: writes work again"), 1);
	close(fd);

	/* Restarted: every acknowledged record, each once. */
	ck_assert_int_eq(tb_stop(&T), 0);
	fd = up();
	for (i = 0; i <= n; i++) {
		ck_assert_int_eq(verify_reason(fd, ok[i]), BATON_R_REVOKED);
		free(ok[i]);
	}
	ck_assert_int_eq(verify_reason(fd, once), BATON_R_REPLAYED);
	ck_assert_uint_eq(status_uint(fd, "revoked"), (uint64_t)n + 1);
	ck_assert_uint_eq(status_uint(fd, "spent"), 1);
	snprintf(msg, sizeof msg, "%s/journal", T.state);
	ck_assert_int_eq(file_size(msg), 8 + 45 * (n + 2));
	free(keep);
	free(once);
	close(fd);
	ck_assert_int_eq(tb_stop(&T), 0);
	ck_assert_int_eq(umount(mnt), 0);
	tb_cleanup(&T);
}
END_TEST

/*
 * A file size limit (ulimit -f, LimitFSIZE=) with SIGXFSZ at its default,
 * which kills: room for the journal's header and two records.  The log
 * passes the limit at once; the journal's third record fails with EFBIG.
 */
START_TEST(test_file_size_limit)
{
	char	*t[3], msg[512];
	int	 fd, i;

	if (getenv("BATOND_VALGRIND") != NULL) {
		/* The limit and the signal would hit valgrind first. */
		printf("SKIP %s: valgrind's file size limit\n", __func__);
		return;
	}
	tb_init(&T, "development-mode yes\n", NULL);
	T.fsize_limit = 8 + 2 * 45;
	T.fsize_signal = 1;
	fd = up();
	for (i = 0; i < 3; i++)
		t[i] = mint(fd, 600, 0);
	ck_assert_int_eq(revoke_msg(fd, t[0], msg, sizeof msg), 0);
	ck_assert_int_eq(revoke_msg(fd, t[1], msg, sizeof msg), 0);
	ck_assert_int_eq(revoke_msg(fd, t[2], msg, sizeof msg),
	    BATON_WIRE_EUNAVAIL);
	ck_assert_str_eq(msg, "revocation not recorded: journal write: File "
	    "too large");
	ck_assert_int_eq(verify_reason(fd, t[1]), BATON_R_REVOKED);
	ck_assert_int_eq(verify_reason(fd, t[2]), 0);
	for (i = 0; i < 3; i++)
		free(t[i]);
	close(fd);
	down();
}
END_TEST

/* ---- syncs failing: broken, then rewritten -------------------------------- */

START_TEST(test_sync_fails)
{
	char	*a, *b, *c, *once, msg[512], flag[400], health[256], path[400];
	int	 fd, ffd;

	tb_init(&T, "development-mode yes\n", NULL);
	snprintf(flag, sizeof flag, "%s/disk-fails", T.dir);
	setenv("BATON_FAULT_SYNC_EIO", flag, 1);
	T.preload = FAULT_JOURNAL;
	fd = up();
	unsetenv("BATON_FAULT_SYNC_EIO");
	a = mint(fd, 600, 0);
	b = mint(fd, 600, 0);
	c = mint(fd, 600, 0);
	once = mint(fd, 600, 1);
	ck_assert_int_eq(revoke_msg(fd, a, msg, sizeof msg), 0);

	/* The disk fails: what was written is not acknowledged. */
	ck_assert_int_ge(ffd = open(flag, O_WRONLY | O_CREAT, 0600), 0);
	close(ffd);
	ck_assert_int_eq(revoke_msg(fd, b, msg, sizeof msg),
	    BATON_WIRE_EUNAVAIL);
	ck_assert_str_eq(msg, "not recorded: the journal could not be synced");
	ck_assert_int_eq(revoke_msg(fd, c, msg, sizeof msg),
	    BATON_WIRE_EUNAVAIL);
	ck_assert_str_eq(msg, "revocation not recorded: journal is broken "
	    "(sync failed: Input/output error); refusing writes until it is "
	    "rewritten (tried every second)");
	ck_assert_int_eq(verify_reason(fd, once), BATON_R_UNAVAILABLE);
	/* Reads go on; b, written but not acknowledged, holds anyway. */
	ck_assert_int_eq(verify_reason(fd, a), BATON_R_REVOKED);
	ck_assert_int_eq(verify_reason(fd, b), BATON_R_REVOKED);
	ck_assert_int_eq(verify_reason(fd, c), 0);
	status_str(fd, "journal", health, sizeof health);
	ck_assert_str_eq(health, "broken: sync failed: Input/output error; "
	    "refusing writes, rewriting it every second");
	/* Rewriting fails too while the disk does; said, not every time. */
	sleep(3);
	ck_assert_int_ge(log_count("still broken (sync failed: Input/output "
	    "error): cannot rewrite it"), 1);
	ck_assert_int_le(log_count("still broken"), 4);

	/* The disk is back: rewritten by itself, writes taken again. */
	ck_assert_int_eq(unlink(flag), 0);
	ck_assert_msg(health_becomes(fd, "ok", health, sizeof health),
	    "journal: %s", health);
	ck_assert_int_eq(log_count("rewritten in full after \"sync failed: "
	    "Input/output error\"; taking writes again"), 1);
	ck_assert_int_eq(revoke_msg(fd, c, msg, sizeof msg), 0);
	ck_assert_int_eq(verify_reason(fd, once), 0);
	ck_assert_int_eq(verify_reason(fd, once), BATON_R_REPLAYED);
	close(fd);

	/* Restarted on it: a, b, c revoked, once spent, each one record. */
	ck_assert_int_eq(tb_stop(&T), 0);
	T.preload = NULL;
	fd = up();
	ck_assert_int_eq(verify_reason(fd, a), BATON_R_REVOKED);
	ck_assert_int_eq(verify_reason(fd, b), BATON_R_REVOKED);
	ck_assert_int_eq(verify_reason(fd, c), BATON_R_REVOKED);
	ck_assert_int_eq(verify_reason(fd, once), BATON_R_REPLAYED);
	snprintf(path, sizeof path, "%s/journal", T.state);
	ck_assert_int_eq(file_size(path), 8 + 4 * 45);
	free(a);
	free(b);
	free(c);
	free(once);
	close(fd);
	down();
}
END_TEST

/* ---- the state directory removed, renamed, unwritable --------------------- */

START_TEST(test_state_dir_removed)
{
	char	*a, *b, *once, msg[512], health[256], cmd[400], path[400];
	int	 fd;

	tb_init(&T, "development-mode yes\n", NULL);
	fd = up();
	a = mint(fd, 600, 0);
	b = mint(fd, 600, 0);
	once = mint(fd, 600, 1);
	ck_assert_int_eq(revoke_msg(fd, a, msg, sizeof msg), 0);
	ck_assert_int_eq(verify_reason(fd, once), 0);

	/* rm -rf: writes would go to a file no start will read. */
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", T.state);
	ck_assert_int_eq(system(cmd), 0);
	status_str(fd, "journal", health, sizeof health);
	ck_assert_str_eq(health, "broken: the journal file was removed or "
	    "moved away; refusing writes, rewriting it every second");
	ck_assert_int_eq(revoke_msg(fd, b, msg, sizeof msg),
	    BATON_WIRE_EUNAVAIL);
	ck_assert_str_eq(msg, "revocation not recorded: journal is broken "
	    "(the journal file was removed or moved away); refusing writes "
	    "until it is rewritten (tried every second)");
	ck_assert_int_eq(verify_reason(fd, a), BATON_R_REVOKED);
	ck_assert_int_eq(verify_reason(fd, b), 0);
	ck_assert_int_eq(verify_reason(fd, once), BATON_R_REPLAYED);
	sleep(2);
	ck_assert_int_ge(log_count("cannot rewrite it"), 1);

	/* Made again, as start-up would take it: rewritten from memory. */
	ck_assert_int_eq(mkdir(T.state, 0700), 0);
	ck_assert_msg(health_becomes(fd, "ok", health, sizeof health),
	    "journal: %s", health);
	ck_assert_int_eq(revoke_msg(fd, b, msg, sizeof msg), 0);
	snprintf(path, sizeof path, "%s/journal", T.state);
	ck_assert_int_eq(file_size(path), 8 + 3 * 45);
	close(fd);
	/* The keys went with it: a restart makes new ones; the jtis stay. */
	ck_assert_int_eq(tb_stop(&T), 0);
	fd = up();
	ck_assert_uint_eq(status_uint(fd, "revoked"), 2);
	ck_assert_uint_eq(status_uint(fd, "spent"), 1);
	free(a);
	free(b);
	free(once);
	close(fd);
	down();
}
END_TEST

START_TEST(test_state_dir_renamed)
{
	char	*a, *b, msg[512], health[256], moved[400];
	int	 fd;

	tb_init(&T, "development-mode yes\n", NULL);
	fd = up();
	a = mint(fd, 600, 0);
	b = mint(fd, 600, 0);
	ck_assert_int_eq(revoke_msg(fd, a, msg, sizeof msg), 0);
	snprintf(moved, sizeof moved, "%s.moved", T.state);
	ck_assert_int_eq(rename(T.state, moved), 0);
	/* The first write notices, and is not acknowledged. */
	ck_assert_int_eq(revoke_msg(fd, b, msg, sizeof msg),
	    BATON_WIRE_EUNAVAIL);
	ck_assert_str_eq(msg, "not recorded: the journal could not be synced");
	status_str(fd, "journal", health, sizeof health);
	ck_assert_str_eq(health, "broken: the journal file was removed or "
	    "moved away; refusing writes, rewriting it every second");
	/* Put back: rewritten in place, b (written, unacknowledged) too. */
	ck_assert_int_eq(rename(moved, T.state), 0);
	ck_assert_msg(health_becomes(fd, "ok", health, sizeof health),
	    "journal: %s", health);
	ck_assert_int_eq(revoke_msg(fd, b, msg, sizeof msg), 0);
	close(fd);
	ck_assert_int_eq(tb_stop(&T), 0);
	fd = up();
	ck_assert_int_eq(verify_reason(fd, a), BATON_R_REVOKED);
	ck_assert_int_eq(verify_reason(fd, b), BATON_R_REVOKED);
	ck_assert_uint_eq(status_uint(fd, "revoked"), 2);
	free(a);
	free(b);
	close(fd);
	down();
}
END_TEST

/*
 * Root writes into a 0500 directory anyway: take the capabilities that
 * let it out of the bounding set, so the broker this test starts obeys
 * the mode as any other uid would.  0, or -1 when that is not permitted.
 */
static int
drop_dac_override(void)
{
	if (geteuid() != 0)
		return (0);
	if (prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0 ||
	    prctl(PR_CAPBSET_DROP, CAP_DAC_READ_SEARCH, 0, 0, 0) != 0 ||
	    prctl(PR_CAPBSET_DROP, CAP_FOWNER, 0, 0, 0) != 0)
		return (-1);
	return (0);
}

START_TEST(test_state_dir_unwritable)
{
	struct msg	 m;
	struct resp	 r;
	char		*a, *b, msg[512], health[256], want[600], keys[400];
	int		 fd;

	if (drop_dac_override() != 0) {
		printf("SKIP %s: cannot drop CAP_DAC_OVERRIDE\n", __func__);
		return;
	}
	tb_init(&T, "development-mode yes\ncompact-interval 1\n", NULL);
	fd = up();
	a = mint(fd, 600, 0);
	b = mint(fd, 600, 0);
	snprintf(keys, sizeof keys, "%s/keys", T.state);
	ck_assert_int_eq(chmod(T.state, 0500), 0);
	ck_assert_int_eq(chmod(keys, 0500), 0);
	/* The journal is open: records still go to disk, and hold. */
	ck_assert_int_eq(revoke_msg(fd, a, msg, sizeof msg), 0);
	/* Compaction cannot make its new file: said in status. */
	snprintf(want, sizeof want, "ok, but compaction fails: %s/journal.tmp: "
	    "Permission denied", T.state);
	ck_assert_msg(health_becomes(fd, want, health, sizeof health),
	    "journal: %s", health);
	/* Nor can a new key be written. */
	msg_start(&m, BATON_OP_ROTATE, 4, 0);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	ck_assert_int_eq(r.status, BATON_WIRE_EUNAVAIL);
	ck_assert_int_eq(get_str(&r.body, "message", msg, sizeof msg), 0);
	ck_assert_msg(strstr(msg, "Permission denied") != NULL, "%s", msg);
	resp_free(&r);
	ck_assert_int_eq(verify_reason(fd, b), 0);
	/* Writable again: the next compaction works. */
	ck_assert_int_eq(chmod(T.state, 0700), 0);
	ck_assert_int_eq(chmod(keys, 0700), 0);
	ck_assert_msg(health_becomes(fd, "ok", health, sizeof health),
	    "journal: %s", health);
	ck_assert_int_eq(revoke_msg(fd, b, msg, sizeof msg), 0);
	close(fd);
	ck_assert_int_eq(tb_stop(&T), 0);
	fd = up();
	ck_assert_int_eq(verify_reason(fd, a), BATON_R_REVOKED);
	ck_assert_int_eq(verify_reason(fd, b), BATON_R_REVOKED);
	free(a);
	free(b);
	close(fd);
	down();
}
END_TEST

/* ---- clock steps ---------------------------------------------------------- */

static char	clockfile[400];

/* The test build of batond, its wall clock offset by the file's seconds. */
static void
clock_init(const char *conf)
{
	tb_init(&T, conf, NULL);
	T.binary = TOP_BUILDDIR "/tests/batond-test";
	snprintf(clockfile, sizeof clockfile, "%s/clock", T.dir);
	setenv("BATON_TEST_CLOCK", clockfile, 1);
}

static void
clock_step(long long offset)
{
	FILE	*f;

	ck_assert_ptr_nonnull(f = fopen(clockfile, "w"));
	fprintf(f, "%lld\n", offset);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_clock_step_back)
{
	char		*brief, *fresh;
	uint64_t	 behind, now;
	int		 fd;

	clock_init("development-mode yes\n");
	clock_step(0);
	fd = up();
	brief = mint(fd, 5, 0);
	ck_assert_int_eq(verify_reason(fd, brief), 0);
	/* Forward past its expiry and the leeway: expired. */
	clock_step(100);
	ck_assert_int_eq(verify_reason(fd, brief), BATON_R_EXPIRED);
	/* And back: it stays expired; the broker says it is behind. */
	clock_step(0);
	ck_assert_int_eq(verify_reason(fd, brief), BATON_R_EXPIRED);
	ck_assert_uint_ge(behind = status_uint(fd, "clock_behind"), 90);
	ck_assert(tb_log_has(&T, "the wall clock stepped back"));
	/* At half speed: 3 s later the wall clock is 1.5 s closer. */
	sleep(3);
	now = status_uint(fd, "clock_behind");
	ck_assert_msg(now + 1 <= behind && now + 2 >= behind, "behind %llu "
	    "s, 3 s later %llu s", (unsigned long long)behind,
	    (unsigned long long)now);
	/* Tokens minted meanwhile work. */
	fresh = mint(fd, 60, 0);
	ck_assert_int_eq(verify_reason(fd, fresh), 0);
	/* Caught up (here: stepped forward again), it follows the wall. */
	clock_step(200);
	ck_assert_uint_eq(status_uint(fd, "clock_behind"), 0);
	ck_assert(tb_log_has(&T, "the wall clock caught up"));
	free(brief);
	free(fresh);
	close(fd);
	down();
	unsetenv("BATON_TEST_CLOCK");
}
END_TEST

START_TEST(test_clock_forward_compact_back)
{
	char	*once, *revoked, *live, msg[512], path[400];
	int	 fd, i;

	clock_init("development-mode yes\ncompact-interval 1\n");
	clock_step(0);
	fd = up();
	once = mint(fd, 60, 1);
	revoked = mint(fd, 60, 0);
	live = mint(fd, 600, 0);
	ck_assert_int_eq(verify_reason(fd, once), 0);
	ck_assert_int_eq(revoke_msg(fd, revoked, msg, sizeof msg), 0);

	/*
	 * Eight hours forward: past both expiries plus the journal's
	 * six-hour margin.  Compactions run meanwhile, and drop nothing.
	 */
	clock_step(8 * 3600);
	ck_assert_int_eq(verify_reason(fd, once), BATON_R_EXPIRED);
	i = 0;
	while (tb_log_has(&T, "compacted to") == 0 && i++ < 50)
		usleep(100000);
	sleep(2);
	ck_assert_uint_eq(status_uint(fd, "spent"), 1);
	ck_assert_uint_eq(status_uint(fd, "revoked"), 1);
	snprintf(path, sizeof path, "%s/journal", T.state);
	ck_assert_int_eq(file_size(path), 8 + 2 * 45);
	close(fd);

	/*
	 * Stepped back, and restarted on it (the broker's time follows the
	 * wall clock again): the tokens are valid again by their exp, and
	 * still spent and revoked.
	 */
	clock_step(0);
	ck_assert_int_eq(tb_stop(&T), 0);
	fd = up();
	ck_assert_int_eq(verify_reason(fd, once), BATON_R_REPLAYED);
	ck_assert_int_eq(verify_reason(fd, revoked), BATON_R_REVOKED);
	ck_assert_int_eq(verify_reason(fd, live), 0);
	free(once);
	free(revoked);
	free(live);
	close(fd);
	down();
	unsetenv("BATON_TEST_CLOCK");
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("faults");
	TCase	*tc;
	SRunner	*sr;
	int	 failed;

	tc = tcase_create("disk");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_disk_full);
	tcase_add_test(tc, test_file_size_limit);
	tcase_add_test(tc, test_sync_fails);
	tcase_add_test(tc, test_state_dir_removed);
	tcase_add_test(tc, test_state_dir_renamed);
	tcase_add_test(tc, test_state_dir_unwritable);
	suite_add_tcase(s, tc);
	tc = tcase_create("clock");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_clock_step_back);
	tcase_add_test(tc, test_clock_forward_compact_back);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
