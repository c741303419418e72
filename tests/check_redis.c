/*
 * check_redis.c: the redis source (plugins/redis.c, baton_redis(8)) with
 * a real redis-server on a Unix socket in a temp dir and two or three
 * real brokers sharing it, each with its own state directory and the same
 * signing key (copied before start: federation is not this test's).
 * Skipped (77) when redis-server is not installed.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker-util.h"
#include "plugin-util.h"

#define REDIS_SERVER	"redis-server"
#define PASSWORD	"s3cret-redis-pw-4711"
#define WRONG_PASSWORD	"wrong-redis-pw-0815"

static char		 moddir[256], sdir[256], rdir[256], rsock[300];
static pid_t		 rpid;
static struct tb	 A, B, C;

/* ---- a redis-server of our own ------------------------------------------- */

/* PING over the socket: 1 when it answers +PONG. */
static int
redis_pings(void)
{
	struct sockaddr_un	sun;
	char			buf[16];
	ssize_t			n;
	int			fd, ok = 0;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(rsock) >= sizeof sun.sun_path)
		return (0);
	memcpy(sun.sun_path, rsock, strlen(rsock) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (0);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0 &&
	    write(fd, "PING\r\n", 6) == 6 && (n = read(fd, buf,
	    sizeof buf - 1)) > 0) {
		buf[n] = '\0';
		/* +PONG, or -NOAUTH when a password is required */
		ok = buf[0] == '+' || strncmp(buf, "-NOAUTH", 7) == 0;
	}
	close(fd);
	return (ok);
}

/* Start redis-server with append-only persistence, so a kill keeps data. */
static void
redis_start(const char *password)
{
	char	logf[300];
	int	i, fd;

	snprintf(logf, sizeof logf, "%s/redis.log", rdir);
	if ((rpid = fork()) == 0) {
		fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		if (password != NULL)
			execlp(REDIS_SERVER, REDIS_SERVER, "--port", "0",
			    "--unixsocket", rsock, "--unixsocketperm", "700",
			    "--dir", rdir, "--save", "", "--appendonly", "yes",
			    "--appendfsync", "always", "--requirepass", password,
			    (char *)NULL);
		else
			execlp(REDIS_SERVER, REDIS_SERVER, "--port", "0",
			    "--unixsocket", rsock, "--unixsocketperm", "700",
			    "--dir", rdir, "--save", "", "--appendonly", "yes",
			    "--appendfsync", "always", (char *)NULL);
		_exit(127);
	}
	ck_assert_int_gt(rpid, 0);
	for (i = 0; i < 500 && !redis_pings(); i++)
		usleep(10000);
	ck_assert_msg(redis_pings(), "redis-server did not start");
}

static void
redis_stop(int sig)
{
	int	status;

	if (rpid <= 0)
		return;
	kill(rpid, sig);
	waitpid(rpid, &status, 0);
	rpid = 0;
}

/* ---- brokers -------------------------------------------------------------- */

static void
prepare(struct tb *t, const char *extra)
{
	char	conf[2048], agents[512];
	uid_t	uid = getuid();

	snprintf(agents, sizeof agents,
	    "agent data-analyst uid=%u verify=*\n", (unsigned)uid);
	tb_init(t, "", agents);
	snprintf(conf, sizeof conf, "agents-file %s\nstack-dir %s\n"
	    "rate-limit 0\nworkers 2\nredis-address unix:%s\n"
	    "redis-prefix test:\nredis-retry-max 100\n%s", t->agents, sdir,
	    rsock, extra != NULL ? extra : "");
	pu_write(t->dir, "baton.conf", conf);
}

/* The same signing key as from: copied into t's state dir before start. */
static void
share_key(struct tb *t, const struct tb *from)
{
	char	cmd[1024];

	ck_assert_int_eq(mkdir(t->state, 0700), 0);
	snprintf(cmd, sizeof cmd, "cp -a %s/keys %s/", from->state, t->state);
	ck_assert_int_eq(system(cmd), 0);
}

static void
setup(void)
{
	pu_moddir(moddir, sizeof moddir);
	setenv("BATON_TEST_MODULE_DIR", moddir, 1);
	pu_tmpdir(sdir, sizeof sdir);
	pu_write(sdir, "sources.conf", "revocation: redis\nreplay: redis\n");
	pu_tmpdir(rdir, sizeof rdir);
	chmod(rdir, 0700);
	snprintf(rsock, sizeof rsock, "%s/redis.sock", rdir);
}

static void
teardown(void)
{
	redis_stop(SIGTERM);
	pu_rmrf(moddir);
	pu_rmrf(sdir);
	pu_rmrf(rdir);
}

/* Redis, then A, then B (and C) with A's key. */
static void
up(int three)
{
	redis_start(NULL);
	prepare(&A, NULL);
	ck_assert_int_eq(tb_launch(&A), 0);
	prepare(&B, NULL);
	share_key(&B, &A);
	ck_assert_int_eq(tb_launch(&B), 0);
	if (three) {
		prepare(&C, NULL);
		share_key(&C, &A);
		ck_assert_int_eq(tb_launch(&C), 0);
	}
}

static void
down(int three)
{
	ck_assert_int_eq(tb_stop(&A), 0);
	ck_assert_int_eq(tb_stop(&B), 0);
	tb_cleanup(&A);
	tb_cleanup(&B);
	if (three) {
		ck_assert_int_eq(tb_stop(&C), 0);
		tb_cleanup(&C);
	}
}

/* The reason a verify gave (0: allowed). */
static int
verify(int fd, const char *tok)
{
	struct resp	r;
	int		why;

	ck_assert_int_eq(tb_verify(fd, tok, "sql_query", "read", NULL, &r), 0);
	ck_assert_int_eq(r.status, 0);
	why = (int)get_uint(&r.body, "reason");
	ck_assert_int_eq(get_bool(&r.body, "allow"), why == 0);
	resp_free(&r);
	return (why);
}

static char *
mint(int fd, int single_use)
{
	char	*tok = tb_mint(fd, "data-analyst", "sql_query", "read", 0, 600,
		    single_use, NULL);

	ck_assert_ptr_nonnull(tok);
	return (tok);
}

static char *
attenuate(int fd, const char *tok)
{
	struct msg	 m;
	struct resp	 r;
	char		 buf[BATON_MAX_TEXT + 1], *out = NULL;

	msg_start(&m, BATON_OP_ATTENUATE, 4, 2);
	pk_kv_str(&m.pk, "token", tok);
	pk_kv_uint(&m.pk, "ttl", 300);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	ck_assert_int_eq(r.status, 0);
	if (get_str(&r.body, "token", buf, sizeof buf) == 0)
		out = strdup(buf);
	resp_free(&r);
	ck_assert_ptr_nonnull(out);
	return (out);
}

/* Revoke tok: the wire status (0 once the sources acknowledged it). */
static int
revoke_tok(int fd, const char *tok, char *msg, size_t len)
{
	struct msg	m;
	struct resp	r;
	int		st;

	msg_start(&m, BATON_OP_REVOKE, 5, 1);
	pk_kv_str(&m.pk, "token", tok);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	st = r.status;
	msg[0] = '\0';
	get_str(&r.body, "message", msg, len);
	resp_free(&r);
	return (st);
}

/* The Prometheus text of status has needle. */
static int
prometheus_has(struct tb *t, const char *needle)
{
	struct msg	 m;
	struct resp	 r;
	char		*text = malloc(65536);
	int		 fd = tb_connect(t), found;

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(text);
	msg_start(&m, BATON_OP_STATUS, 8, 1);
	pk_kv_str(&m.pk, "format", "prometheus");
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(get_str(&r.body, "text", text, 65536), 0);
	found = strstr(text, needle) != NULL;
	resp_free(&r);
	free(text);
	close(fd);
	return (found);
}

/* source_health["revocation/redis"].up and .state from status. */
static int
health(struct tb *t, char *state, size_t len)
{
	struct msg	m;
	struct resp	r;
	struct mpr	h, one;
	int		fd = tb_connect(t), up;

	ck_assert_int_ge(fd, 0);
	msg_start(&m, BATON_OP_STATUS, 6, 0);
	ck_assert_int_eq(rpc(fd, &m, &r), 0);
	ck_assert_int_eq(r.status, 0);
	ck_assert_int_eq(map_get(&r.body, "source_health", &h), 0);
	ck_assert_int_eq(map_get(&h, "revocation/redis", &one), 0);
	up = get_bool(&one, "up");
	ck_assert_int_eq(get_str(&one, "state", state, len), 0);
	resp_free(&r);
	close(fd);
	return (up);
}

static int
source_ack(struct tb *t, char *msg, size_t len)
{
	struct msg	m;
	struct resp	r;
	int		fd = tb_connect(t), st;

	msg_start(&m, BATON_OP_SOURCE_ACK, 7, 1);
	pk_kv_str(&m.pk, "source", "redis");
	if (rpc(fd, &m, &r) != 0) {
		char	*log = pu_slurp(t->log);
		size_t	 n = log != NULL ? strlen(log) : 0;

		ck_abort_msg("source-ack: no answer; the broker's log ends: %s",
		    log != NULL ? log + (n > 3000 ? n - 3000 : 0) : "(none)");
	}
	st = r.status;
	msg[0] = '\0';
	if (get_str(&r.body, st == 0 ? "acked" : "message", msg, len) != 0)
		msg[0] = '\0';
	resp_free(&r);
	close(fd);
	return (st);
}

/* The whole of a broker's log has needle (tb_log_has reads 64 KiB). */
static int
log_has(struct tb *t, const char *needle)
{
	char	*s = pu_slurp(t->log);
	int	 found = s != NULL && strstr(s, needle) != NULL;

	free(s);
	return (found);
}

/* ---- replay ---------------------------------------------------------------- */

START_TEST(test_replay_across)
{
	char	*once, *plain;
	int	 a, b;

	up(0);
	a = tb_connect(&A);
	b = tb_connect(&B);
	once = mint(a, 1);
	plain = mint(a, 0);
	/* The key is shared: an ordinary token verifies at both. */
	ck_assert_int_eq(verify(a, plain), 0);
	ck_assert_int_eq(verify(b, plain), 0);
	ck_assert_int_eq(verify(a, once), 0);
	ck_assert_int_eq(verify(b, once), BATON_R_REPLAYED);
	ck_assert_int_eq(verify(a, once), BATON_R_REPLAYED);
	free(once);
	free(plain);
	close(a);
	close(b);
	down(0);
}
END_TEST

struct racer {
	struct tb		*t;
	int			 fd;
	const char		*tok;
	pthread_barrier_t	*bar;
	int			 why;
};

static void *
race(void *arg)
{
	struct racer	*r = arg;
	struct resp	 resp;

	pthread_barrier_wait(r->bar);
	r->why = -1;
	if (tb_verify(r->fd, r->tok, "sql_query", "read", NULL, &resp) == 0) {
		if (resp.status == 0)
			r->why = (int)get_uint(&resp.body, "reason");
		resp_free(&resp);
	}
	return (NULL);
}

#define RACES	200

/* Three brokers, one single-use token, three verifies at once: one allow. */
START_TEST(test_replay_race)
{
	pthread_barrier_t	 bar;
	pthread_t		 th[3];
	struct racer		 rc[3];
	struct tb		*ts[3] = { &A, &B, &C };
	char			*tok;
	int			 i, k, allowed, replayed, fd;

	up(1);
	fd = tb_connect(&A);
	for (k = 0; k < 3; k++) {
		rc[k].t = ts[k];
		rc[k].fd = tb_connect(ts[k]);
		ck_assert_int_ge(rc[k].fd, 0);
	}
	for (i = 0; i < RACES; i++) {
		tok = mint(fd, 1);
		pthread_barrier_init(&bar, NULL, 3);
		for (k = 0; k < 3; k++) {
			rc[k].tok = tok;
			rc[k].bar = &bar;
			pthread_create(&th[k], NULL, race, &rc[k]);
		}
		allowed = replayed = 0;
		for (k = 0; k < 3; k++) {
			pthread_join(th[k], NULL);
			allowed += rc[k].why == 0;
			replayed += rc[k].why == BATON_R_REPLAYED;
		}
		pthread_barrier_destroy(&bar);
		ck_assert_msg(allowed == 1 && replayed == 2, "round %d: %d "
		    "allowed, %d replayed", i, allowed, replayed);
		free(tok);
	}
	for (k = 0; k < 3; k++)
		close(rc[k].fd);
	close(fd);
	down(1);
}
END_TEST

/* ---- revocation ------------------------------------------------------------ */

START_TEST(test_revoke_across)
{
	char	*tok, *child, *other, msg[512];
	int	 a, b;

	up(0);
	a = tb_connect(&A);
	b = tb_connect(&B);
	tok = mint(a, 0);
	child = attenuate(a, tok);
	other = mint(a, 0);
	ck_assert_int_eq(verify(a, tok), 0);
	ck_assert_int_eq(verify(a, child), 0);
	/* Through B: acknowledged only once Redis has it. */
	ck_assert_int_eq(revoke_tok(b, tok, msg, sizeof msg), 0);
	ck_assert_int_eq(verify(a, tok), BATON_R_REVOKED);
	ck_assert_int_eq(verify(a, child), BATON_R_REVOKED);
	ck_assert_int_eq(verify(b, child), BATON_R_REVOKED);
	ck_assert_int_eq(verify(a, other), 0);

	/* Redis gone: a revocation is refused, not acknowledged. */
	redis_stop(SIGKILL);
	ck_assert_int_eq(revoke_tok(b, other, msg, sizeof msg),
	    BATON_WIRE_EUNAVAIL);
	ck_assert_ptr_nonnull(strstr(msg, "revocation not recorded"));
	free(tok);
	free(child);
	free(other);
	close(a);
	close(b);
	down(0);
}
END_TEST

/* ---- Redis killed under load, then back with its data ---------------------- */

struct load {
	const char	*tok;
	struct tb	*t;
	volatile int	*stop;
	int		 allowed, unavail, other;
};

static void *
load(void *arg)
{
	struct load	*l = arg;
	struct resp	 r;
	int		 fd = tb_connect(l->t), why;

	while (!*l->stop && fd != -1) {
		if (tb_verify(fd, l->tok, "sql_query", "read", NULL, &r) != 0) {
			l->other++;
			break;
		}
		why = r.status == 0 ? (int)get_uint(&r.body, "reason") : -1;
		resp_free(&r);
		if (why == 0)
			l->allowed++;
		else if (why == BATON_R_UNAVAILABLE)
			l->unavail++;
		else
			l->other++;
	}
	if (fd != -1)
		close(fd);
	return (NULL);
}

START_TEST(test_redis_killed)
{
	volatile int	 stop = 0;
	struct load	 l[2];
	pthread_t	 th[2];
	char		*tok, *dead, *once, state[256], msg[512];
	int		 a, b, i, k, before;

	up(0);
	a = tb_connect(&A);
	b = tb_connect(&B);
	tok = mint(a, 0);
	dead = mint(a, 0);
	once = mint(a, 1);
	ck_assert_int_eq(revoke_tok(b, dead, msg, sizeof msg), 0);
	ck_assert_int_eq(verify(a, dead), BATON_R_REVOKED);	/* A saw it */
	for (k = 0; k < 2; k++) {
		memset(&l[k], 0, sizeof l[k]);
		l[k].tok = tok;
		l[k].t = k == 0 ? &A : &B;
		l[k].stop = &stop;
		pthread_create(&th[k], NULL, load, &l[k]);
	}
	usleep(200000);
	redis_stop(SIGKILL);
	/* Fail closed while it is gone... */
	for (i = 0; i < 500 && verify(a, tok) != BATON_R_UNAVAILABLE; i++)
		usleep(10000);
	ck_assert_int_eq(verify(a, tok), BATON_R_UNAVAILABLE);
	ck_assert_int_eq(verify(b, once), BATON_R_UNAVAILABLE);
	/* ...but what needs no Redis still answers: the local tier. */
	ck_assert_int_eq(verify(a, dead), BATON_R_REVOKED);
	ck_assert_int_eq(health(&A, state, sizeof state), 0);
	ck_assert_ptr_nonnull(strstr(state, "unavailable"));
	ck_assert(log_has(&A, "unavailable, failing closed"));
	ck_assert(prometheus_has(&A,
	    "baton_source_up{db=\"revocation\",source=\"redis\"} 0"));
	ck_assert(prometheus_has(&A,
	    "baton_source_up{db=\"replay\",source=\"redis\"} "));
	ck_assert(!prometheus_has(&A, "baton_source_unavailable_total 0\n"));
	before = l[0].unavail + l[1].unavail;
	usleep(200000);
	ck_assert_int_gt(l[0].unavail + l[1].unavail, before);

	/* Back with its data (append-only file): recovery, no restart. */
	redis_start(NULL);
	for (i = 0; i < 500 && verify(a, tok) != 0; i++)
		usleep(10000);
	ck_assert_int_eq(verify(a, tok), 0);
	for (i = 0; i < 500 && verify(b, tok) != 0; i++)
		usleep(10000);
	ck_assert_int_eq(verify(b, tok), 0);
	for (i = 0; i < 500 && health(&B, state, sizeof state) != 1; i++) {
		verify(b, tok);
		usleep(10000);
	}
	ck_assert_int_eq(health(&B, state, sizeof state), 1);
	ck_assert_ptr_nonnull(strstr(state, "ok"));
	ck_assert(log_has(&A, "available again"));
	/*
	 * Health is the latest outcome on any worker: one that learns of
	 * the restart late may say "down" once more, then "up".
	 */
	for (i = 0; i < 500 && !prometheus_has(&A,
	    "baton_source_up{db=\"revocation\",source=\"redis\"} 1"); i++) {
		verify(a, tok);
		usleep(10000);
	}
	ck_assert(prometheus_has(&A,
	    "baton_source_up{db=\"revocation\",source=\"redis\"} 1"));
	/* Redis kept the revocation; the refused spend spent nothing. */
	ck_assert_int_eq(verify(b, dead), BATON_R_REVOKED);
	ck_assert_int_eq(verify(b, once), 0);
	ck_assert_int_eq(verify(a, once), BATON_R_REPLAYED);
	stop = 1;
	for (k = 0; k < 2; k++)
		pthread_join(th[k], NULL);
	ck_assert_int_gt(l[0].allowed, 0);
	ck_assert_int_gt(l[0].unavail + l[1].unavail, 0);
	ck_assert_int_eq(l[0].other + l[1].other, 0);	/* never a wrong "no" */
	free(tok);
	free(dead);
	free(once);
	close(a);
	close(b);
	down(0);
}
END_TEST

/* ---- Redis back empty: reported, refused until acknowledged ---------------- */

START_TEST(test_redis_empty)
{
	char	*tok, *once, state[256], msg[1024], cmd[1024];
	int	 a, b;

	up(0);
	a = tb_connect(&A);
	b = tb_connect(&B);
	tok = mint(a, 0);
	once = mint(a, 1);
	ck_assert_int_eq(verify(a, tok), 0);
	ck_assert_int_eq(verify(b, tok), 0);
	ck_assert_int_eq(verify(a, once), 0);	/* spent, in Redis and A */

	/* Stopped, its files gone, started again: empty. */
	redis_stop(SIGKILL);
	snprintf(cmd, sizeof cmd, "rm -rf %s/appendonlydir %s/*.aof "
	    "%s/dump.rdb", rdir, rdir, rdir);
	ck_assert_int_eq(system(cmd), 0);
	redis_start(NULL);
	usleep(100000);
	ck_assert_int_eq(verify(a, tok), BATON_R_UNAVAILABLE);
	ck_assert_int_eq(verify(a, tok), BATON_R_UNAVAILABLE);
	ck_assert_int_eq(verify(b, tok), BATON_R_UNAVAILABLE);
	/* Not silently accepted: B would otherwise allow the spent token. */
	ck_assert_int_eq(verify(b, once), BATON_R_UNAVAILABLE);
	ck_assert_int_eq(health(&A, state, sizeof state), 0);
	ck_assert_ptr_nonnull(strstr(state, "lost"));
	ck_assert(log_has(&A, "Redis lost its data"));
	ck_assert(log_has(&B, "Redis lost its data"));
	/* Still refused a while later: waiting does not clear it. */
	usleep(1200000);
	ck_assert_int_eq(verify(a, tok), BATON_R_UNAVAILABLE);

	/* The operator acknowledges at A: A writes back what it knows. */
	ck_assert_msg(source_ack(&A, msg, sizeof msg) == 0, "ack: %s", msg);
	ck_assert_ptr_nonnull(strstr(msg, "lost state acknowledged"));
	ck_assert_ptr_nonnull(strstr(msg, "1 spent jtis"));
	ck_assert_int_eq(verify(a, tok), 0);
	ck_assert_int_eq(verify(a, once), BATON_R_REPLAYED);
	ck_assert(log_has(&A, "source-ack redis by uid"));
	/* B still refuses until acknowledged there too (with the CLI). */
	ck_assert_int_eq(verify(b, tok), BATON_R_UNAVAILABLE);
	snprintf(cmd, sizeof cmd, "%s --socket %s redis-ack >%s/ack.out "
	    "2>&1", BATON_CLI, B.sock, rdir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(verify(b, tok), 0);
	/* A's write-back reached B: the spent token stays spent. */
	ck_assert_int_eq(verify(b, once), BATON_R_REPLAYED);
	free(tok);
	free(once);
	close(a);
	close(b);
	down(0);
}
END_TEST

/* ---- under batond's seccomp filter ------------------------------------------ */

/* The filter lets the module reach Redis: connect, poll, timeouts. */
START_TEST(test_under_seccomp)
{
	char	*once, *tok, msg[512];
	int	 a, b;

	redis_start(NULL);
	prepare(&A, "seccomp yes\n");
	ck_assert_int_eq(tb_launch(&A), 0);
	prepare(&B, NULL);
	share_key(&B, &A);
	ck_assert_int_eq(tb_launch(&B), 0);
	a = tb_connect(&A);
	b = tb_connect(&B);
	once = mint(a, 1);
	tok = mint(a, 0);
	ck_assert_int_eq(verify(a, once), 0);
	ck_assert_int_eq(verify(b, once), BATON_R_REPLAYED);
	ck_assert_int_eq(revoke_tok(a, tok, msg, sizeof msg), 0);
	ck_assert_int_eq(verify(b, tok), BATON_R_REVOKED);
	/* Redis gone and back: reconnecting needs no more system calls. */
	redis_stop(SIGKILL);
	ck_assert_int_eq(verify(a, tok), BATON_R_REVOKED);	/* the tier */
	ck_assert_int_eq(verify(a, once), BATON_R_UNAVAILABLE);
	redis_start(NULL);
	free(tok);
	tok = mint(a, 0);
	ck_assert_int_ge(verify(a, tok), 0);
	usleep(200000);
	ck_assert_int_eq(verify(a, tok), 0);
	ck_assert(log_has(&A, "seccomp filter installed"));
	free(once);
	free(tok);
	close(a);
	close(b);
	down(0);
}
END_TEST

/* ---- credentials and configuration ----------------------------------------- */

/* A wrong password is refused; neither it nor the right one is logged. */
START_TEST(test_password_not_in_log)
{
	char	 pw[300], conf[600], *s, *tok;
	int	 a;

	redis_start(PASSWORD);
	snprintf(pw, sizeof pw, "%s/pw-wrong", rdir);
	pu_write(rdir, "pw-wrong", WRONG_PASSWORD "\n");
	chmod(pw, 0600);
	snprintf(conf, sizeof conf, "redis-password-file %s\n", pw);
	prepare(&A, conf);
	ck_assert_int_eq(tb_launch(&A), 0);
	a = tb_connect(&A);
	tok = mint(a, 0);
	ck_assert_int_eq(verify(a, tok), BATON_R_UNAVAILABLE);
	/* Now the right one: reload with a corrected file. */
	pu_write(rdir, "pw-wrong", PASSWORD "\n");
	chmod(pw, 0600);
	kill(A.pid, SIGHUP);
	usleep(300000);
	ck_assert_int_eq(verify(a, tok), 0);
	s = pu_slurp(A.log);
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(strstr(s, "AUTH refused"));
	ck_assert_ptr_null(strstr(s, PASSWORD));
	ck_assert_ptr_null(strstr(s, WRONG_PASSWORD));
	free(s);
	free(tok);
	close(a);
	ck_assert_int_eq(tb_stop(&A), 0);
	s = pu_slurp(A.log);
	ck_assert_ptr_null(strstr(s, PASSWORD));
	free(s);
	tb_cleanup(&A);
}
END_TEST

START_TEST(test_config_refused)
{
	char	pw[300], conf[600];

	redis_start(NULL);
	/* sources.conf names redis, baton.conf says nothing of it. */
	tb_init(&A, "", "");
	snprintf(conf, sizeof conf, "agents-file %s\nstack-dir %s\n",
	    A.agents, sdir);
	pu_write(A.dir, "baton.conf", conf);
	ck_assert_int_eq(tb_launch(&A), 1);
	ck_assert(tb_log_has(&A, "no redis-address in baton.conf"));
	tb_cleanup(&A);
	/* A password file others may read is refused, and not read. */
	snprintf(pw, sizeof pw, "%s/pw", rdir);
	pu_write(rdir, "pw", PASSWORD "\n");
	chmod(pw, 0644);
	snprintf(conf, sizeof conf, "redis-password-file %s\n", pw);
	prepare(&A, conf);
	ck_assert_int_eq(tb_launch(&A), 1);
	ck_assert(tb_log_has(&A, "mode 0600 or tighter"));
	ck_assert(!tb_log_has(&A, PASSWORD));
	tb_cleanup(&A);
}
END_TEST

static Suite *
redis_suite(void)
{
	Suite	*s = suite_create("redis");
	TCase	*tc = tcase_create("redis");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_replay_across);
	tcase_add_test(tc, test_replay_race);
	tcase_add_test(tc, test_revoke_across);
	tcase_add_test(tc, test_redis_killed);
	tcase_add_test(tc, test_redis_empty);
	tcase_add_test(tc, test_under_seccomp);
	tcase_add_test(tc, test_password_not_in_log);
	tcase_add_test(tc, test_config_refused);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	if (system("command -v " REDIS_SERVER " >/dev/null 2>&1") != 0) {
		printf("SKIP: %s is not installed\n", REDIS_SERVER);
		return (77);
	}
	sr = srunner_create(redis_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
