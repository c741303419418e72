/*
 * bench_broker.c: the broker's round trips against their physical floor.
 * Starts a real batond in a temporary directory, then times, in one run:
 * a raw Unix-socket round trip of the same frame sizes (floor), a raw
 * Ed25519 verification (floor), verify through the broker (one client and
 * two in parallel), mint, attenuate and present through the broker, and
 * offline verification with the public keys; it prints the ratios.
 *
 * With -s it then starts a second broker, the test build (which may load
 * modules from the build tree), whose verify.d/db stack is policy +
 * ratelimit + audit, and times verify through it against the first.
 *
 * usage: bench_broker [-s] [-b BATOND] [-n ITERATIONS]
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <baton/agent.h>
#include <baton/verify.h>

#ifndef BATOND_PATH
#define BATOND_PATH "batond"
#endif
#ifndef BATOND_TEST_PATH
#define BATOND_TEST_PATH "tests/batond-test"
#endif
#ifndef PLUGINS_LIBDIR
#define PLUGINS_LIBDIR "plugins/.libs"
#endif

static char	 sockpath[256], dir[64];
static const char *extra_conf = "";	/* more baton.conf lines */
static char	 stackdir[128];		/* -s: the stack directory */
static size_t	 iters = 5000;

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
	fprintf(stderr, "bench_broker: %s: %s\n", what,
	    err ? baton_strerror(err) : strerror(errno));
	exit(1);
}

/* ---- floor: a raw echo over a Unix socket, u32 length-prefixed -------- */

static int
read_full(int fd, void *buf, size_t len)
{
	uint8_t	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		if ((n = read(fd, p, len)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static int
write_full(int fd, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

struct echo {
	int	 lfd;
	size_t	 reply;	/* bytes answered to each frame */
};

static void *
echo_main(void *arg)
{
	struct echo	*e = arg;
	uint8_t		 buf[65536 + 4], hdr[4];
	uint32_t	 len;
	int		 fd;

	if ((fd = accept(e->lfd, NULL, NULL)) < 0)
		return NULL;
	for (;;) {
		if (read_full(fd, hdr, 4) != 0)
			break;
		len = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 |
		    hdr[3];
		if (len > 65536 || read_full(fd, buf + 4, len) != 0)
			break;
		buf[0] = e->reply >> 24;
		buf[1] = e->reply >> 16;
		buf[2] = e->reply >> 8;
		buf[3] = e->reply;
		if (write_full(fd, buf, e->reply + 4) != 0)
			break;
	}
	close(fd);
	return NULL;
}

/* Round trips of a req-byte frame answered by a rep-byte frame. */
static double
raw_rtt(size_t req, size_t rep)
{
	struct sockaddr_un	 sun;
	struct echo		 e;
	pthread_t		 t;
	uint8_t			 buf[65536 + 4];
	double			 t0, us;
	size_t			 i;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/echo.sock", dir);
	if ((e.lfd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(e.lfd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(e.lfd, 1) != 0)
		die("echo socket", 0);
	e.reply = rep;
	if (pthread_create(&t, NULL, echo_main, &e) != 0)
		die("pthread_create", 0);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		die("echo connect", 0);
	memset(buf, 0x5a, sizeof(buf));
	buf[0] = req >> 24;
	buf[1] = req >> 16;
	buf[2] = req >> 8;
	buf[3] = req;
	t0 = 0;
	for (i = 0; i < iters + iters / 10; i++) {
		if (i == iters / 10)
			t0 = now_us();
		if (write_full(fd, buf, req + 4) != 0 ||
		    read_full(fd, buf + 4, 4) != 0 ||
		    read_full(fd, buf + 8, rep) != 0)
			die("echo", 0);
		buf[0] = req >> 24;
		buf[1] = req >> 16;
		buf[2] = req >> 8;
		buf[3] = req;
	}
	us = (now_us() - t0) / iters;
	close(fd);
	pthread_join(t, NULL);
	close(e.lfd);
	unlink(sun.sun_path);
	return us;
}

/* ---- through the broker ------------------------------------------------ */

static struct baton_client *
connect_broker(void)
{
	struct baton_client_opts	 o = BATON_CLIENT_OPTS_INIT;
	struct baton_client		*c;
	int				 err;

	o.socket_path = sockpath;
	o.client_name = "bench_broker";
	if ((err = baton_client_open(&c, &o)) != 0)
		die("connect", err);
	return c;
}

static double
time_verify(struct baton_client *c, const char *token, size_t n)
{
	struct baton_verify_opts	 vo = BATON_VERIFY_OPTS_INIT;
	struct baton_verify_result	*r;
	double				 t0;
	size_t				 i;
	int				 err;

	vo.tool = "db_query";
	vo.action = "read";
	vo.audience = "db";
	t0 = 0;
	for (i = 0; i < n + n / 10; i++) {
		if (i == n / 10)
			t0 = now_us();
		if ((err = baton_verify(&r, c, token, &vo)) != 0)
			die("verify", err);
		baton_verify_result_free(r);
	}
	return (now_us() - t0) / n;
}

struct worker {
	const char	*token;
	double		 us;
};

static void *
verify_thread(void *arg)
{
	struct worker		*w = arg;
	struct baton_client	*c = connect_broker();

	w->us = time_verify(c, w->token, iters);
	baton_client_free(c);
	return NULL;
}

static pid_t
start_broker(const char *batond)
{
	struct stat	st;
	pid_t		pid;
	int		i;

	snprintf(dir, sizeof(dir), "/tmp/baton-bench.XXXXXX");
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", 0);
	snprintf(sockpath, sizeof(sockpath), "%s/batond.sock", dir);
	if ((pid = fork()) < 0)
		die("fork", 0);
	if (pid == 0) {
		char	 state[128], conf[128];
		FILE	*f;

		/* the default rate limit would measure the limiter, not us */
		snprintf(conf, sizeof(conf), "%s/baton.conf", dir);
		if ((f = fopen(conf, "w")) == NULL ||
		    fputs("development-mode yes\nrate-limit 0\n", f) < 0 ||
		    fputs(extra_conf, f) < 0 || fclose(f) != 0)
			_exit(127);
		snprintf(state, sizeof(state), "%s/state", dir);
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(127);
		execl(batond, batond, "-f", "-c", conf, "--socket", sockpath,
		    "--state-dir", state, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		if (stat(sockpath, &st) == 0 && S_ISSOCK(st.st_mode))
			return pid;
		usleep(10000);
	}
	die("batond did not start", 0);
	return -1;
}

/* ---- a stack of policy + ratelimit + audit ---------------------------- */

#define ROUNDS	21

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of n values (sorted in place). */
static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL || fputs(text, f) < 0 ||
	    fclose(f) != 0 || chmod(path, mode) != 0)
		die(path, 0);
}

/*
 * The test build of batond with verify.d/db = policy (the AgentTrust rules
 * and one for this token), ratelimit per agent, audit to a file; returns
 * its pid, with sockpath and dir pointing at it.
 */
static pid_t
start_stacked(const char *modsrc)
{
	static char	 conf[512];
	char		*sd = stackdir, path[256], cmd[2048];
	pid_t		 pid;

	snprintf(stackdir, sizeof(stackdir), "/tmp/baton-bench-stack.XXXXXX");
	if (mkdtemp(sd) == NULL)
		die("mkdtemp", 0);
	chmod(sd, 0755);
	/* Modules are copied, never linked: the loader refuses links. */
	snprintf(cmd, sizeof(cmd), "mkdir -m 755 %s/modules %s/verify.d && "
	    "cp %s/*.so %s/modules/ && chmod 755 %s/modules/*.so", sd, sd,
	    modsrc, sd, sd);
	if (system(cmd) != 0)
		die("copying the modules", 0);
	snprintf(path, sizeof(path), "%s/rules", sd);
	write_file(path, "allow worker-a db_query read max-ttl=3600\n"
	    "allow data-analyst sql_query read\n"
	    "allow customer-support customer_lookup read\n"
	    "allow code-assistant code_executor execute\n"
	    "deny * * delete\n"
	    "deny * secrets_vault *\n", 0644);
	/* BATON_BENCH_STACK: another stack, "@" standing for the dir. */
	if (getenv("BATON_BENCH_STACK") != NULL) {
		const char	*t = getenv("BATON_BENCH_STACK");
		size_t		 n = 0;

		for (; *t != '\0' && n + sizeof(stackdir) + 2 < sizeof(cmd);
		    t++) {
			if (*t == '@')
				n += (size_t)snprintf(cmd + n, sizeof(cmd) - n,
				    "%s", sd);
			else
				cmd[n++] = *t;
		}
		cmd[n] = '\0';
	} else
		snprintf(cmd, sizeof(cmd), "required policy rules=%s/rules\n"
		    "required ratelimit key=agent rate=1000000/s\n"
		    "optional audit file=%s/audit.log\n", sd, sd);
	snprintf(path, sizeof(path), "%s/verify.d/db", sd);
	write_file(path, cmd, 0644);
	snprintf(path, sizeof(path), "%s/modules", sd);
	setenv("BATON_TEST_MODULE_DIR", path, 1);
	snprintf(conf, sizeof(conf), "stack-dir %s\n", sd);
	extra_conf = conf;
	pid = start_broker(BATOND_TEST_PATH);
	extra_conf = "";
	return pid;
}

static void
mint_chain(struct baton_client *c, struct baton_issued **root,
    struct baton_issued **a, struct baton_issued **b,
    struct baton_mint_opts *mo, struct baton_attenuate_opts *ao)
{
	int	err;

	if ((err = baton_client_mint(root, c, mo)) != 0)
		die("mint", err);
	ao->as = "orchestrator";
	ao->ttl = 1800;
	if ((err = baton_client_attenuate(a, c, baton_issued_token(*root),
	    ao)) != 0)
		die("attenuate", err);
	ao->as = "worker-a";
	ao->ttl = 900;
	if ((err = baton_client_attenuate(b, c, baton_issued_token(*a),
	    ao)) != 0)
		die("attenuate", err);
}

int
main(int argc, char **argv)
{
	struct baton_mint_opts		 mo = BATON_MINT_OPTS_INIT;
	struct baton_attenuate_opts	 ao = BATON_ATTENUATE_OPTS_INIT;
	struct baton_present_opts	 po = BATON_PRESENT_OPTS_INIT;
	struct baton_verify_opts	 vo = BATON_VERIFY_OPTS_INIT;
	struct baton_grantset		*gs, *gs2;
	struct baton_client		*c;
	struct baton_issued		*root, *a, *b, *t;
	struct baton_keybundle		*kb;
	struct baton_verify_result	*r;
	struct worker			 w[2];
	pthread_t			 th[2];
	const char			*batond = BATOND_PATH;
	char				*keys;
	uint8_t				 pk[32], sk[64], sig[64], msg[64];
	double				 d_rtt, d_ed, d_ver, d_par, d_mint, d_att;
	double				 d_pres, d_off, t0;
	double				 d_min, d_pv_chain, d_pv_min;
	size_t				 len_chain = 0, len_min = 0;
	size_t				 i, tlen;
	int				 k;
	pid_t				 pid;
	int				 ch, err, status, stacked = 0;

	while ((ch = getopt(argc, argv, "b:n:s")) != -1) {
		switch (ch) {
		case 'b':
			batond = optarg;
			break;
		case 's':
			stacked = 1;
			break;
		case 'n':
			iters = strtoul(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: bench_broker [-s] [-b BATOND] "
			    "[-n ITERATIONS]\n");
			return 2;
		}
	}
	if (iters < 10 || sodium_init() < 0)
		die("bad iteration count", BATON_EINVAL);
	pid = start_broker(batond);
	c = connect_broker();

	if (baton_grantset_new(&gs) != 0 ||
	    baton_grantset_add_tool(gs, "db_query", "read") != 0 ||
	    baton_grantset_add_tool(gs, "file_read", "read") != 0 ||
	    baton_grantset_add_limit(gs, "db_query", "max_rows", 1000) != 0 ||
	    baton_grantset_add_audience(gs, "db") != 0 ||
	    baton_grantset_new(&gs2) != 0 ||
	    baton_grantset_add_limit(gs2, "db_query", "max_rows", 100) != 0)
		die("grantset", BATON_ENOMEM);
	mo.grants = gs;
	mo.as = "orchestrator";
	mo.subject = "root";
	mo.ttl = 3600;
	mo.max_depth = 5;
	if ((err = baton_client_mint(&root, c, &mo)) != 0)
		die("mint", err);
	ao.grants = gs2;
	ao.as = "orchestrator";
	ao.ttl = 1800;
	if ((err = baton_client_attenuate(&a, c, baton_issued_token(root),
	    &ao)) != 0)
		die("attenuate", err);
	ao.as = "worker-a";
	ao.ttl = 900;
	if ((err = baton_client_attenuate(&b, c, baton_issued_token(a),
	    &ao)) != 0)
		die("attenuate", err);
	tlen = strlen(baton_issued_token(b));

	/* floor: same-sized frames (request ~ token + 60 bytes, answer ~700) */
	d_rtt = raw_rtt(tlen + 60, 700);
	crypto_sign_keypair(pk, sk);
	memset(msg, 1, sizeof(msg));
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	t0 = now_us();
	for (i = 0; i < iters; i++)
		if (crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) != 0)
			die("ed25519", 0);
	d_ed = (now_us() - t0) / iters;

	d_ver = time_verify(c, baton_issued_token(b), iters);
	w[0].token = w[1].token = baton_issued_token(b);
	for (i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, verify_thread, &w[i]) != 0)
			die("pthread_create", 0);
	t0 = now_us();
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	d_par = (now_us() - t0) / (2.0 * iters);

	t0 = now_us();
	for (i = 0; i < iters / 5; i++) {
		if ((err = baton_client_mint(&t, c, &mo)) != 0)
			die("mint", err);
		baton_issued_free(t);
	}
	d_mint = (now_us() - t0) / (iters / 5);
	ao.as = "orchestrator";
	t0 = now_us();
	for (i = 0; i < iters / 5; i++) {
		if ((err = baton_client_attenuate(&t, c,
		    baton_issued_token(root), &ao)) != 0)
			die("attenuate", err);
		baton_issued_free(t);
	}
	d_att = (now_us() - t0) / (iters / 5);
	po.tool = "db_query";
	po.action = "read";
	po.audience = "db";
	po.as = "worker-b";
	po.ttl = 60;
	t0 = now_us();
	for (i = 0; i < iters / 5; i++) {
		if ((err = baton_client_present(&t, c, baton_issued_token(b),
		    &po)) != 0)
			die("present", err);
		baton_issued_free(t);
	}
	d_pres = (now_us() - t0) / (iters / 5);
	po.minimal = 1;
	t0 = now_us();
	for (i = 0; i < iters / 5; i++) {
		if ((err = baton_client_present(&t, c, baton_issued_token(b),
		    &po)) != 0)
			die("present --minimal", err);
		len_min = strlen(baton_issued_token(t));
		baton_issued_free(t);
	}
	d_min = (now_us() - t0) / (iters / 5);

	/* A call in full: present, then the tool server's verify (it spends). */
	vo.tool = "db_query";
	vo.action = "read";
	vo.audience = "db";
	for (k = 0; k < 2; k++) {
		po.minimal = k;
		t0 = now_us();
		for (i = 0; i < iters / 5; i++) {
			if ((err = baton_client_present(&t, c,
			    baton_issued_token(b), &po)) != 0)
				die("present", err);
			if ((err = baton_verify(&r, c,
			    baton_issued_token(t), &vo)) != 0)
				die("verify presented", err);
			if (k == 0)
				len_chain = strlen(baton_issued_token(t));
			baton_verify_result_free(r);
			baton_issued_free(t);
		}
		*(k == 0 ? &d_pv_chain : &d_pv_min) = (now_us() - t0) /
		    (iters / 5);
	}
	po.minimal = 0;

	if ((err = baton_client_pubkeys(&keys, c)) != 0 ||
	    (err = baton_keybundle_parse(&kb, keys, strlen(keys))) != 0)
		die("pubkeys", err);
	vo.tool = "db_query";
	vo.action = "read";
	vo.audience = "db";
	t0 = now_us();
	for (i = 0; i < iters; i++) {
		if ((err = baton_verify_offline(&r, kb, baton_issued_token(b),
		    &vo)) != 0)
			die("verify offline", err);
		baton_verify_result_free(r);
	}
	d_off = (now_us() - t0) / iters;

	printf("baton broker benchmark (%zu iterations, 3-block token of %zu "
	    "chars)\n", iters, tlen);
	printf("%-48s %9s %9s\n", "operation", "us/op", "x floor");
	printf("%-48s %9.2f %9s\n", "floor: raw Unix-socket round trip, same "
	    "sizes", d_rtt, "1.00");
	printf("%-48s %9.2f %9s\n", "floor: raw Ed25519 verify", d_ed, "1.00");
	printf("%-48s %9.2f %9.2f\n", "verify via broker, 1 client", d_ver,
	    d_ver / d_rtt);
	printf("%-48s %9.2f %9.2f\n", "verify via broker, 2 clients (per op)",
	    d_par, d_par / d_rtt);
	printf("%-48s %9.2f %9.2f\n", "verify offline (signature, rules)",
	    d_off, d_off / d_ed);
	printf("%-48s %9.2f %9.2f\n", "mint via broker", d_mint,
	    d_mint / d_rtt);
	printf("%-48s %9.2f %9.2f\n", "attenuate via broker", d_att,
	    d_att / d_rtt);
	printf("%-48s %9.2f %9.2f\n", "present via broker",
	    d_pres, d_pres / d_rtt);
	printf("%-48s %9.2f %9.2f\n", "present --minimal via broker",
	    d_min, d_min / d_rtt);
	printf("%-48s %9.2f %9.2f\n", "present + verify, chained (per call)",
	    d_pv_chain, d_pv_chain / d_rtt);
	printf("%-48s %9.2f %9.2f\n", "present --minimal + verify (per call)",
	    d_pv_min, d_pv_min / d_rtt);
	printf("presented token: %zu chars chained (4 blocks), %zu as a call "
	    "token\n", len_chain, len_min);
	printf("verify throughput: %.0f/s with 1 client, %.0f/s with 2\n",
	    1e6 / d_ver, 1e6 / d_par);

	if (stacked) {
		struct baton_client	*c2;
		struct baton_issued	*r2, *a2, *b2;
		char			 sock1[256], dir1[64];
		double			 d_plain, d_stack, p_us[ROUNDS];
		double			 s_us[ROUNDS], ratio[ROUNDS];
		pid_t			 pid2;
		int			 round;

		memcpy(sock1, sockpath, sizeof(sock1));
		memcpy(dir1, dir, sizeof(dir1));
		pid2 = start_stacked(PLUGINS_LIBDIR);
		c2 = connect_broker();
		mint_chain(c2, &r2, &a2, &b2, &mo, &ao);
		/*
		 * Alternate the two brokers in short rounds, so drift and a
		 * neighbour's load hit both alike, and take medians: on a
		 * shared machine a mean is one spike away from meaningless.
		 */
		for (round = 0; round < ROUNDS; round++) {
			p_us[round] = time_verify(c, baton_issued_token(b),
			    iters / ROUNDS);
			s_us[round] = time_verify(c2, baton_issued_token(b2),
			    iters / ROUNDS);
			ratio[round] = s_us[round] / p_us[round];
		}
		d_plain = median(p_us, ROUNDS);
		d_stack = median(s_us, ROUNDS);
		printf("%-48s %9.2f %9s\n", "verify, no stack (median round)",
		    d_plain, "1.00");
		printf("%-48s %9.2f %9.2f\n", "verify, policy+ratelimit+audit",
		    d_stack, median(ratio, ROUNDS));
		printf("the stack adds %.1f %% to a verify (median of %d "
		    "alternating rounds)\n", 100 * (median(ratio, ROUNDS) - 1),
		    ROUNDS);
		baton_issued_free(r2);
		baton_issued_free(a2);
		baton_issued_free(b2);
		baton_client_free(c2);
		kill(pid2, SIGTERM);
		waitpid(pid2, &status, 0);
		snprintf(sockpath, sizeof(sockpath), "rm -rf '%s' '%s'", dir,
		    stackdir);
		if (system(sockpath) != 0)
			fprintf(stderr, "bench_broker: cannot remove %s\n",
			    stackdir);
		memcpy(sockpath, sock1, sizeof(sock1));
		memcpy(dir, dir1, sizeof(dir1));
	}

	baton_keybundle_free(kb);
	baton_string_free(keys);
	baton_issued_free(root);
	baton_issued_free(a);
	baton_issued_free(b);
	baton_grantset_free(gs);
	baton_grantset_free(gs2);
	baton_client_free(c);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	snprintf(sockpath, sizeof(sockpath), "rm -rf '%s'", dir);
	if (system(sockpath) != 0)
		return 1;
	return 0;
}
