/*
 * check_faults.c: a real batond under a wall clock that steps.
 *
 * clock: tests/batond-test adds the seconds in the file BATON_TEST_CLOCK
 * to its wall clock (broker/clock.c); no expired token and no spent or
 * revoked jti comes back after a step back, and compaction under a clock
 * stepped forward forgets nothing still live.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
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
	char	*brief, *fresh;
	int	 fd;

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
	ck_assert_uint_ge(status_uint(fd, "clock_behind"), 90);
	ck_assert(tb_log_has(&T, "the wall clock stepped back"));
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
