/*
 * bench_redis.c: what the redis source (baton_redis(8)) adds to a verify
 * and to a single-use consume.  Starts a redis-server on a Unix socket
 * (in memory, no persistence) and three brokers (the test build, which
 * loads modules from the build tree): "files" (no sources.conf), "redis"
 * (revocation: redis, replay: redis) and "redis, no local tier" (the
 * same with redis-local-cache 0).  Then, in alternating rounds, times
 *
 *	verify		a plain token: a revocation lookup
 *	consume		the first verify of a single-use token: a spend
 *	replay		a second verify of a spent token: refused
 *	revoked		a verify of a revoked token: refused
 *
 * through each broker and prints the median per operation.  The last two
 * are what the local tier answers without a network trip.
 *
 * usage: bench_redis [-n PER_ROUND] [-r ROUNDS]	(default 100, 61)
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <baton/agent.h>
#include <baton/verify.h>

#ifndef BATOND_TEST_PATH
#define BATOND_TEST_PATH "tests/batond-test"
#endif
#ifndef PLUGINS_LIBDIR
#define PLUGINS_LIBDIR "plugins/.libs"
#endif

enum { B_FILES, B_REDIS, B_NOTIER, NB };
enum { OP_VERIFY, OP_CONSUME, OP_REPLAY, OP_REVOKED, NOP };

static const char *const bname[NB] = {
	"files", "redis", "redis, no local tier"
};
static const char *const opname[NOP] = {
	"verify", "consume", "replay", "revoked"
};

struct broker {
	pid_t			 pid;
	char			 sock[300];
	struct baton_client	*c;
};

static char		 dir[64], rsock[128];
static pid_t		 rpid;
static struct broker	 br[NB];
static size_t		 per_round = 100;
static int		 rounds = 61;

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
die(const char *what, int err)
{
	fprintf(stderr, "bench_redis: %s: %s\n", what,
	    err ? baton_strerror(err) : strerror(errno));
	exit(1);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL || fputs(text, f) < 0 ||
	    fclose(f) != 0 || chmod(path, mode) != 0)
		die(path, 0);
}

static int
sock_ready(const char *path)
{
	struct stat	st;

	return (stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
}

static void
start_redis(void)
{
	int	i;

	snprintf(rsock, sizeof rsock, "%s/redis.sock", dir);
	if ((rpid = fork()) < 0)
		die("fork", 0);
	if (rpid == 0) {
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		execlp("redis-server", "redis-server", "--port", "0",
		    "--unixsocket", rsock, "--unixsocketperm", "700", "--dir",
		    dir, "--save", "", "--appendonly", "no", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500 && !sock_ready(rsock); i++)
		usleep(10000);
	if (!sock_ready(rsock))
		die("redis-server did not start (is it installed?)", 0);
}

/* Broker b, with the signing key of broker 0 when b > 0. */
static void
start_broker(int b)
{
	struct baton_client_opts	 o = BATON_CLIENT_OPTS_INIT;
	char				 sub[128], conf[512], state[160],
					 text[1024], sdir[160], cmd[512];
	int				 i, err;

	snprintf(sub, sizeof sub, "%s/b%d", dir, b);
	snprintf(state, sizeof state, "%s/state", sub);
	snprintf(sdir, sizeof sdir, "%s/stacks", sub);
	snprintf(conf, sizeof conf, "%s/baton.conf", sub);
	snprintf(br[b].sock, sizeof br[b].sock, "%s/sock", sub);
	if (mkdir(sub, 0755) != 0 || mkdir(sdir, 0755) != 0)
		die("mkdir", 0);
	if (b > 0) {
		/* One key for all three: the same token verifies at each. */
		if (mkdir(state, 0700) != 0)
			die("mkdir", 0);
		snprintf(cmd, sizeof cmd, "cp -a %s/b0/state/keys %s/", dir,
		    state);
		if (system(cmd) != 0)
			die("copying the key", 0);
		snprintf(text, sizeof text, "%s/sources.conf", sdir);
		write_file(text, "revocation: redis\nreplay: redis\n", 0644);
	}
	snprintf(text, sizeof text, "development-mode yes\nrate-limit 0\n"
	    "stack-dir %s\nredis-address unix:%s\nredis-prefix bench:\n%s",
	    sdir, rsock, b == B_NOTIER ? "redis-local-cache 0\n" : "");
	write_file(conf, text, 0644);
	if ((br[b].pid = fork()) < 0)
		die("fork", 0);
	if (br[b].pid == 0) {
		setenv("BATON_TEST_MODULE_DIR", PLUGINS_LIBDIR, 1);
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);
		execl(BATOND_TEST_PATH, "batond", "-f", "-c", conf, "--socket",
		    br[b].sock, "--state-dir", state, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500 && !sock_ready(br[b].sock); i++)
		usleep(10000);
	if (!sock_ready(br[b].sock))
		die("batond did not start", 0);
	o.socket_path = br[b].sock;
	o.client_name = "bench_redis";
	if ((err = baton_client_open(&br[b].c, &o)) != 0)
		die("connect", err);
}

static char *
mint(int single_use)
{
	struct baton_mint_opts	 mo = BATON_MINT_OPTS_INIT;
	struct baton_grantset	*gs;
	struct baton_issued	*t;
	char			*s;
	int			 err;

	if (baton_grantset_new(&gs) != 0 ||
	    baton_grantset_add_tool(gs, "db_query", "read") != 0)
		die("grantset", 0);
	mo.grants = gs;
	mo.ttl = 3600;
	mo.single_use = single_use;
	if ((err = baton_client_mint(&t, br[B_FILES].c, &mo)) != 0)
		die("mint", err);
	if ((s = strdup(baton_issued_token(t))) == NULL)
		die("strdup", 0);
	baton_issued_free(t);
	baton_grantset_free(gs);
	return (s);
}

/* One verify; dies unless the answer is the one expected. */
static void
verify(struct baton_client *c, const char *tok, int want_allow)
{
	struct baton_verify_opts	 vo = BATON_VERIFY_OPTS_INIT;
	struct baton_verify_result	*r;
	int				 err;

	vo.tool = "db_query";
	vo.action = "read";
	/* 0 allowed, BATON_EDENIED denied with a result, else no answer. */
	err = baton_verify(&r, c, tok, &vo);
	if (err != 0 && err != BATON_EDENIED)
		die("verify", err);
	if (baton_verify_result_allowed(r) != want_allow) {
		fprintf(stderr, "bench_redis: verify: %s, expected %s\n",
		    baton_verify_result_reason_name(r), want_allow ? "allow" :
		    "deny");
		exit(1);
	}
	baton_verify_result_free(r);
}

/* Microseconds per verify of op through broker b, over n tokens. */
static double
time_op(int b, int op, char **toks, size_t n)
{
	double	t0;
	size_t	i;

	t0 = now_us();
	for (i = 0; i < n; i++)
		verify(br[b].c, toks[op == OP_VERIFY || op == OP_REVOKED ? 0 :
		    i], op == OP_VERIFY || op == OP_CONSUME);
	return ((now_us() - t0) / (double)n);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	double	(*us)[NB][NOP];
	double	*col;
	char	*plain, *dead, **once[NB], cmd[128];
	size_t	 i;
	int	 ch, r, b, k, op, err;

	while ((ch = getopt(argc, argv, "n:r:")) != -1) {
		switch (ch) {
		case 'n':
			per_round = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: bench_redis [-n PER_ROUND] "
			    "[-r ROUNDS]\n");
			return (2);
		}
	}
	if (per_round == 0 || rounds < 1 || rounds > 1000)
		die("-n and -r: at least 1, at most 1000 rounds", EINVAL);
	snprintf(dir, sizeof dir, "/tmp/baton-bench-redis.XXXXXX");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", 0);
	chmod(dir, 0755);
	start_redis();
	for (b = 0; b < NB; b++)
		start_broker(b);
	plain = mint(0);
	dead = mint(0);
	if ((err = baton_client_revoke_token(br[B_REDIS].c, dead)) != 0 ||
	    (err = baton_client_revoke_token(br[B_FILES].c, dead)) != 0)
		die("revoke", err);
	us = calloc((size_t)rounds, sizeof *us);
	col = calloc((size_t)rounds, sizeof *col);
	if (us == NULL || col == NULL)
		die("calloc", 0);
	for (b = 0; b < NB; b++) {
		verify(br[b].c, plain, 1);	/* warm: connections, cache */
		verify(br[b].c, dead, 0);
	}
	/* Single-use tokens for every round and broker, minted untimed. */
	for (b = 0; b < NB; b++) {
		if ((once[b] = calloc(per_round * (size_t)rounds,
		    sizeof *once[b])) == NULL)
			die("calloc", 0);
		for (i = 0; i < per_round * (size_t)rounds; i++)
			once[b][i] = mint(1);
	}
	/*
	 * Short rounds, each starting at another broker: the machine's
	 * other load falls on all three alike, and medians drop the rest.
	 */
	for (op = 0; op < NOP; op++) {
		for (r = 0; r < rounds; r++) {
			for (k = 0; k < NB; k++) {
				char	*v[1] = { plain }, *d[1] = { dead };

				b = (r + k) % NB;
				us[r][b][op] = time_op(b, op, op == OP_VERIFY ?
				    v : op == OP_REVOKED ? d :
				    once[b] + (size_t)r * per_round, per_round);
			}
		}
	}
	for (b = 0; b < NB; b++) {
		for (i = 0; i < per_round * (size_t)rounds; i++)
			free(once[b][i]);
		free(once[b]);
	}
	printf("bench_redis: %d rounds of %zu per operation, medians in "
	    "microseconds per verify\n\n", rounds, per_round);
	printf("| operation | %s | %s | %s |\n|---|---:|---:|---:|\n",
	    bname[0], bname[1], bname[2]);
	for (op = 0; op < NOP; op++) {
		printf("| %s |", opname[op]);
		for (b = 0; b < NB; b++) {
			for (r = 0; r < rounds; r++)
				col[r] = us[r][b][op];
			qsort(col, (size_t)rounds, sizeof col[0], cmp_double);
			printf(" %.1f |", col[rounds / 2]);
		}
		printf("\n");
	}
	for (b = 0; b < NB; b++) {
		baton_client_free(br[b].c);
		kill(br[b].pid, SIGTERM);
		waitpid(br[b].pid, NULL, 0);
	}
	kill(rpid, SIGTERM);
	waitpid(rpid, NULL, 0);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_redis: could not remove %s\n", dir);
	free(us);
	free(col);
	free(plain);
	free(dead);
	return (0);
}
