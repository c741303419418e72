/*
 * check_client.c: libbaton-agent and libbaton-verify against a real batond
 * started on a socket in a temporary directory, through the public API only.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "baton/agent.h"
#include "baton/verify.h"

#ifndef BATOND_PATH
#define BATOND_PATH "./batond"
#endif
#ifndef BATOND_PATH2
#define BATOND_PATH2 "./broker/batond"
#endif

struct broker {
	char	dir[64];
	char	sock[128];
	pid_t	pid;
};

static struct broker	B;	/* the suite's broker, started in the parent */

/* Start batond in dir; wait until it answers. */
static int
broker_start(struct broker *b, int fresh)
{
	struct baton_client_opts	 o = BATON_CLIENT_OPTS_INIT;
	struct baton_client		*c;
	char				 state[160], log[160];
	const char			*path = getenv("BATOND");
	int				 i, fd;

	if (fresh) {
		snprintf(b->dir, sizeof(b->dir), "/tmp/baton-cc.XXXXXX");
		if (mkdtemp(b->dir) == NULL)
			return -1;
	}
	snprintf(b->sock, sizeof(b->sock), "%s/batond.sock", b->dir);
	snprintf(state, sizeof(state), "%s/state", b->dir);
	snprintf(log, sizeof(log), "%s/batond.log", b->dir);
	mkdir(state, 0700);
	if (path == NULL)
		path = access(BATOND_PATH, X_OK) == 0 ? BATOND_PATH :
		    BATOND_PATH2;
	if ((b->pid = fork()) == -1)
		return -1;
	if (b->pid == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(path, "batond", "-f", "--socket", b->sock, "--state-dir",
		    state, (char *)NULL);
		_exit(127);
	}
	o.socket_path = b->sock;
	o.timeout_ms = 1000;
	for (i = 0; i < 200; i++) {
		if (baton_client_open(&c, &o) == 0) {
			baton_client_free(c);
			return 0;
		}
		usleep(25000);
	}
	return -1;
}

static void
broker_stop(struct broker *b)
{
	int	st;

	if (b->pid > 0) {
		kill(b->pid, SIGTERM);
		waitpid(b->pid, &st, 0);
		b->pid = 0;
	}
}

static void
broker_rm(struct broker *b)
{
	char	cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", b->dir);
}

static void
suite_setup(void)
{
	if (broker_start(&B, 1) != 0) {
		fprintf(stderr, "check_client: batond did not start\n");
		exit(99);
	}
}

static void
suite_teardown(void)
{
	broker_stop(&B);
	broker_rm(&B);
}

static struct baton_client *
client(void)
{
	struct baton_client_opts	 o = BATON_CLIENT_OPTS_INIT;
	struct baton_client		*c = NULL;

	o.socket_path = B.sock;
	o.timeout_ms = 3000;
	ck_assert_int_eq(baton_client_open(&c, &o), 0);
	return c;
}

/* Mint a root: db_query (read, 1000 rows), file_read; 1 h, depth 5. */
static struct baton_issued *
mint_root(struct baton_client *c)
{
	struct baton_mint_opts	 mo = BATON_MINT_OPTS_INIT;
	struct baton_grantset	*gs;
	struct baton_issued	*t = NULL;

	ck_assert_int_eq(baton_grantset_new(&gs), 0);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "db_query", "read"), 0);
	ck_assert_int_eq(baton_grantset_add_limit(gs, "db_query", "max_rows",
	    1000), 0);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "file_read", NULL), 0);
	ck_assert_int_eq(baton_grantset_add_ctx(gs, "workflow", "wf-1"), 0);
	mo.grants = gs;
	mo.as = "orchestrator";
	mo.subject = "alice";
	mo.ttl = 3600;
	mo.max_depth = 5;
	ck_assert_int_eq(baton_client_mint(&t, c, &mo), 0);
	baton_grantset_free(gs);
	return t;
}

/* Attenuate parent to db_query with an optional row limit and ttl. */
static int
narrow(struct baton_issued **out, struct baton_client *c, const char *parent,
    const char *as, uint64_t ttl, uint64_t rows)
{
	struct baton_attenuate_opts	 ao = BATON_ATTENUATE_OPTS_INIT;
	struct baton_grantset		*gs;
	int				 ret;

	ck_assert_int_eq(baton_grantset_new(&gs), 0);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "db_query", "read"), 0);
	if (rows > 0)
		ck_assert_int_eq(baton_grantset_add_limit(gs, "db_query",
		    "max_rows", rows), 0);
	ao.grants = gs;
	ao.as = as;
	ao.ttl = ttl;
	ret = baton_client_attenuate(out, c, parent, &ao);
	baton_grantset_free(gs);
	return ret;
}

static int
verify_tool(struct baton_verify_result **res, struct baton_client *c,
    const char *tok, const char *tool, const char *action)
{
	struct baton_verify_opts	vo = BATON_VERIFY_OPTS_INIT;

	vo.tool = tool;
	vo.action = action;
	return baton_verify(res, c, tok, &vo);
}

/* ---- connection ------------------------------------------------------------ */

START_TEST(test_open_free)
{
	struct baton_client_opts	 o = BATON_CLIENT_OPTS_INIT;
	struct baton_client		*c = NULL;

	baton_client_free(NULL);
	ck_assert_int_eq(baton_client_open(NULL, NULL), BATON_EINVAL);
	o.version = 99;
	ck_assert_int_eq(baton_client_open(&c, &o), BATON_EINVAL);
	ck_assert_ptr_null(c);
	o.version = BATON_CLIENT_OPTS_VERSION;
	o.timeout_ms = -1;
	ck_assert_int_eq(baton_client_open(&c, &o), BATON_EINVAL);
	c = client();
	ck_assert_str_eq(baton_client_socket(c), B.sock);
	ck_assert_str_eq(baton_client_last_error(c), "");
	ck_assert_int_eq(baton_client_last_reason(c), BATON_R_OK);
	baton_client_free(c);
	ck_assert_ptr_nonnull(baton_default_socket());
	ck_assert_str_eq(baton_version(), PACKAGE_VERSION);
	ck_assert_str_eq(baton_strerror(BATON_EUNAVAIL),
	    baton_strerror(BATON_EUNAVAIL));
}
END_TEST

START_TEST(test_env_socket)
{
	struct baton_client	*c = NULL;

	setenv("BATON_SOCKET", B.sock, 1);
	ck_assert_int_eq(baton_client_open(&c, NULL), 0);
	ck_assert_str_eq(baton_client_socket(c), B.sock);
	baton_client_free(c);
	setenv("BATON_SOCKET", "/nonexistent/baton.sock", 1);
	ck_assert_int_eq(baton_client_open(&c, NULL), BATON_EUNAVAIL);
	ck_assert_ptr_null(c);
	unsetenv("BATON_SOCKET");
}
END_TEST

START_TEST(test_broker_down)
{
	struct baton_client_opts	 o = BATON_CLIENT_OPTS_INIT;
	struct baton_client		*c = NULL;
	char				 path[128];

	snprintf(path, sizeof(path), "%s/nobody.sock", B.dir);
	o.socket_path = path;
	ck_assert_int_eq(baton_client_open(&c, &o), BATON_EUNAVAIL);
	ck_assert_ptr_null(c);
}
END_TEST

/* A server that accepts connections but never answers. */
START_TEST(test_timeout)
{
	struct baton_client_opts	 o = BATON_CLIENT_OPTS_INIT;
	struct baton_client		*c = NULL;
	struct sockaddr_un		 sun;
	struct timespec			 t0, t1;
	char				 path[128];
	int				 fd;
	long				 ms;

	snprintf(path, sizeof(path), "%s/mute.sock", B.dir);
	unlink(path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path));
	ck_assert_int_ne(fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	o.socket_path = path;
	o.timeout_ms = 300;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(baton_client_open(&c, &o), BATON_ETIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, 250);
	ck_assert_int_lt(ms, 2000);
	close(fd);
	unlink(path);
}
END_TEST

/* The broker restarts under an open handle: the next call reconnects. */
START_TEST(test_reconnect)
{
	struct broker			 b2;
	struct baton_client_opts	 o = BATON_CLIENT_OPTS_INIT;
	struct baton_client		*c = NULL;
	struct baton_issued		*t = NULL;

	memset(&b2, 0, sizeof(b2));
	ck_assert_int_eq(broker_start(&b2, 1), 0);
	o.socket_path = b2.sock;
	o.timeout_ms = 3000;
	ck_assert_int_eq(baton_client_open(&c, &o), 0);
	t = mint_root(c);
	baton_issued_free(t);
	broker_stop(&b2);
	ck_assert_int_eq(broker_start(&b2, 0), 0);
	t = mint_root(c);	/* asserts success through the reconnect */
	baton_issued_free(t);
	broker_stop(&b2);
	t = NULL;
	ck_assert_int_eq(baton_client_pubkeys((char **)&t, c), BATON_EUNAVAIL);
	ck_assert_ptr_null(t);
	ck_assert_str_ne(baton_client_last_error(c), "");
	baton_client_free(c);
	broker_rm(&b2);
}
END_TEST

/*
 * A fake broker that answers hello, reads one more request, counts its op
 * and closes without answering: the answer is lost after the broker may
 * have acted on the request.
 */
struct lossy {
	int	lfd;
	int	nconn;		/* connections to serve */
	int	ops[16];	/* requests seen after hello, by op */
};

static int
read_full(int fd, uint8_t *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = read(fd, p, len)) <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read one frame: its op and request id; -1 on EOF or nonsense. */
static int
read_req(int fd, unsigned *op, uint32_t *id)
{
	uint8_t		hdr[4], body[65536];
	uint32_t	len;

	if (read_full(fd, hdr, 4) != 0)
		return -1;
	len = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
	if (len < 3 || len > sizeof(body) || read_full(fd, body, len) != 0 ||
	    body[0] != 0x93 || body[1] > 0x7f)
		return -1;
	*op = body[1];
	if (body[2] < 0x80)
		*id = body[2];
	else if (body[2] == 0xcc)
		*id = body[3];
	else if (body[2] == 0xcd)
		*id = (uint32_t)body[3] << 8 | body[4];
	else if (body[2] == 0xce)
		*id = (uint32_t)body[3] << 24 | (uint32_t)body[4] << 16 |
		    (uint32_t)body[5] << 8 | body[6];
	else
		return -1;
	return 0;
}

static void *
lossy_serve(void *arg)
{
	struct lossy	*l = arg;
	struct pollfd	 pfd;
	uint8_t		 resp[] = { 0, 0, 0, 19, 0x94, 0xcc, 0x81, 0xce,
			    0, 0, 0, 0, 0x00, 0x81, 0xa7, 'v', 'e', 'r', 's', 'i',
			    'o', 'n', 0x01 };
	unsigned	 op;
	uint32_t	 id;
	int		 i, fd;

	for (i = 0; i < l->nconn; i++) {
		pfd.fd = l->lfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 3000) != 1 ||
		    (fd = accept(l->lfd, NULL, NULL)) == -1)
			break;
		if (read_req(fd, &op, &id) == 0 && op == 1) {
			resp[8] = id >> 24;
			resp[9] = id >> 16;
			resp[10] = id >> 8;
			resp[11] = id;
			if (write(fd, resp, sizeof(resp)) == (ssize_t)sizeof(resp) &&
			    read_req(fd, &op, &id) == 0 && op < 16)
				l->ops[op]++;
		}
		close(fd);
	}
	return NULL;
}

/*
 * The answer to a verify is lost after the broker read it: the library
 * must not send it again (a single-use token would be spent twice and the
 * allowed call reported as replayed).  Idempotent requests are retried.
 */
START_TEST(test_no_double_send)
{
	struct baton_client_opts	 o = BATON_CLIENT_OPTS_INIT;
	struct baton_client		*c = NULL;
	struct baton_verify_result	*res = NULL;
	struct sockaddr_un		 sun;
	struct lossy			 l;
	pthread_t			 th;
	char				 path[128], *s = NULL;

	memset(&l, 0, sizeof(l));
	l.nconn = 3;
	snprintf(path, sizeof(path), "%s/lossy.sock", B.dir);
	unlink(path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	ck_assert_int_ne(l.lfd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(l.lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(l.lfd, 4), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, lossy_serve, &l), 0);
	o.socket_path = path;
	o.timeout_ms = 2000;
	ck_assert_int_eq(baton_client_open(&c, &o), 0);
	/* connection 1: verify, answer lost: not repeated */
	ck_assert_int_eq(verify_tool(&res, c, "bt1_AAAA", "db_query", NULL),
	    BATON_EUNAVAIL);
	ck_assert_ptr_null(res);
	ck_assert_ptr_nonnull(strstr(baton_client_last_error(c),
	    "not repeated"));
	/* connections 2 and 3: status, answer lost, retried once */
	ck_assert_int_eq(baton_client_status(&s, c, 0), BATON_EUNAVAIL);
	ck_assert_ptr_null(s);
	pthread_join(th, NULL);
	ck_assert_int_eq(l.ops[5], 1);		/* verify: once */
	ck_assert_msg(l.ops[9] == 2, "status sent %d times: %s", l.ops[9], baton_client_last_error(c));
	baton_client_free(c);
	close(l.lfd);
	unlink(path);
}
END_TEST

/*
 * An answer frame {op|0x80, id, ok, {"x": val}} in msgpack, with its
 * length header, into out; its size.
 */
static size_t
answer(uint8_t *out, unsigned op, uint32_t id, const char *val)
{
	size_t	vlen = strlen(val), n = 0, body;

	body = 1 + 2 + 5 + 1 + 1 + 2 + 3 + vlen;
	out[n++] = (uint8_t)(body >> 24);
	out[n++] = (uint8_t)(body >> 16);
	out[n++] = (uint8_t)(body >> 8);
	out[n++] = (uint8_t)body;
	out[n++] = 0x94;
	out[n++] = 0xcc;
	out[n++] = (uint8_t)(op | 0x80);
	out[n++] = 0xce;
	out[n++] = (uint8_t)(id >> 24);
	out[n++] = (uint8_t)(id >> 16);
	out[n++] = (uint8_t)(id >> 8);
	out[n++] = (uint8_t)id;
	out[n++] = 0x00;
	out[n++] = 0x81;
	out[n++] = 0xa1;
	out[n++] = 'x';
	out[n++] = 0xda;
	out[n++] = (uint8_t)(vlen >> 8);
	out[n++] = (uint8_t)vlen;
	memcpy(out + n, val, vlen);
	return n + vlen;
}

static char	bigval[9000];

/*
 * A fake broker whose answers arrive as the library must not assume they
 * do: hello; then an abandoned answer and the real one in a single write;
 * then an answer larger than the library's read-ahead, in two writes.
 */
static void *
batched_serve(void *arg)
{
	static uint8_t	 out[2 * 10000];
	int		 lfd = *(int *)arg, fd;
	unsigned	 op;
	uint32_t	 id;
	size_t		 n;

	if ((fd = accept(lfd, NULL, NULL)) == -1)
		return NULL;
	if (read_req(fd, &op, &id) != 0 || op != 1)
		goto out;
	(void)answer(out, 1, id, "");
	memcpy(out + 14, "\xa7version\x01", 9);	/* hello: {"version": 1} */
	n = 14 + 9;
	out[3] = (uint8_t)(n - 4);
	if (write(fd, out, n) != (ssize_t)n || read_req(fd, &op, &id) != 0)
		goto out;
	n = answer(out, op, id - 1, "old");
	n += answer(out + n, op, id, "new");
	if (write(fd, out, n) != (ssize_t)n || read_req(fd, &op, &id) != 0)
		goto out;
	n = answer(out, op, id, bigval);
	if (write(fd, out, 100) != 100)
		goto out;
	usleep(50000);
	if (write(fd, out + 100, n - 100) != (ssize_t)(n - 100))
		goto out;
	(void)read_req(fd, &op, &id);
out:
	close(fd);
	return NULL;
}

START_TEST(test_read_ahead)
{
	struct baton_client_opts	 o = BATON_CLIENT_OPTS_INIT;
	struct baton_client		*c = NULL;
	struct sockaddr_un		 sun;
	pthread_t			 th;
	char				 path[128], *s = NULL;
	int				 lfd;

	memset(bigval, 'b', sizeof(bigval) - 1);
	snprintf(path, sizeof(path), "%s/batched.sock", B.dir);
	unlink(path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	ck_assert_int_ne(lfd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, batched_serve, &lfd), 0);
	o.socket_path = path;
	o.timeout_ms = 2000;
	ck_assert_int_eq(baton_client_open(&c, &o), 0);
	ck_assert_int_eq(baton_client_status(&s, c, 0), 0);
	ck_assert_ptr_nonnull(strstr(s, "new"));
	ck_assert_ptr_null(strstr(s, "old"));
	baton_string_free(s);
	ck_assert_int_eq(baton_client_status(&s, c, 0), 0);
	ck_assert_ptr_nonnull(strstr(s, bigval));
	baton_string_free(s);
	baton_client_free(c);
	pthread_join(th, NULL);
	close(lfd);
	unlink(path);
}
END_TEST

/*
 * A fake broker that answers hello on every connection and each other
 * request i with the raw body map issue_bodies[i]: the issue answers
 * (mint, attenuate, present) a broker could send.
 */
struct issue_body {
	const char	*b;
	size_t		 len;
};

#define IB(s)	{ s, sizeof(s) - 1 }
static const struct issue_body issue_bodies[] = {
	/* 0: {token, jti, exp} */
	IB("\x83\xa5token\xa5" "bt1_x\xa3jti\xd9\x20"
	    "0123456789abcdef0123456789abcdef\xa3" "exp\x07"),
	/* 1: no token */
	IB("\x81\xa3jti\xa2" "ab"),
	/* 2: a token that is not a string */
	IB("\x81\xa5token\x05"),
	/* 3: the last of repeated keys counts */
	IB("\x82\xa5token\xa5" "bt1_a\xa5token\x01"),
	/* 4: the same, the other way: a token; no jti, no exp */
	IB("\x82\xa5token\x01\xa5token\xa5" "bt1_b"),
	/* 5: a string ends at its NUL; a bin jti is its hex; exp < 0 */
	IB("\x83\xa5token\xa8" "bt1_c\0zz\xa3jti\xc4\x10"
	    "\x01\x23\x45\x67\x89\xab\xcd\xef\x01\x23\x45\x67\x89\xab\xcd\xef"
	    "\xa3" "exp\xff"),
	/* 6: a jti of the wrong length, an exp that is a string */
	IB("\x83\xa5token\xa5" "bt1_d\xa3jti\xa5short\xa3" "exp\xa1" "9"),
	/* 7: a byte msgpack does not use */
	IB("\x82\xa5token\xa5" "bt1_e\xa1x\xc1"),
	/* 8: a token that is not UTF-8 */
	IB("\x81\xa5token\xa5" "bt1_\xff"),
	/* 9: an exp past INT64_MAX */
	IB("\x82\xa5token\xa5" "bt1_f\xa3" "exp\xcf\x80\0\0\0\0\0\0\0"),
	/* 10: a bin token (its hex is no token); exp as a signed int */
	IB("\x82\xa5token\xc4\x04" "bt1_\xa3" "exp\xd3\0\0\0\0\0\0\0\x09"),
	/* 11: a uint key, a nested map; "bt1_" alone is no token */
	IB("\x83\x07\x81\xa1k\xc0\xa5token\xa4" "bt1_\xa1y\x90"),
};
#undef IB
#define NISSUE	(sizeof(issue_bodies) / sizeof(issue_bodies[0]))

static void *
issue_serve(void *arg)
{
	static uint8_t	 out[256];
	int		 lfd = *(int *)arg, fd;
	unsigned	 op;
	uint32_t	 id;
	size_t		 i = 0, n;

	while (i < NISSUE) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			return NULL;
		while (i < NISSUE && read_req(fd, &op, &id) == 0) {
			(void)answer(out, op, id, "");
			if (op == 1) {	/* hello: {"version": 1} */
				memcpy(out + 13, "\x81\xa7version\x01", 10);
				n = 13 + 10;
			} else {
				memcpy(out + 13, issue_bodies[i].b,
				    issue_bodies[i].len);
				n = 13 + issue_bodies[i].len;
				i++;
			}
			out[3] = (uint8_t)(n - 4);
			if (write(fd, out, n) != (ssize_t)n)
				break;
		}
		close(fd);
	}
	return NULL;
}

/*
 * Issue answers read from the frame as their JSON form would read: the
 * same token, jti and exp, the same refusals with the same messages.
 */
START_TEST(test_issue_answers)
{
	struct baton_client_opts	 o = BATON_CLIENT_OPTS_INIT;
	struct baton_present_opts	 po = BATON_PRESENT_OPTS_INIT;
	struct baton_client		*c = NULL;
	struct baton_issued		*t = NULL;
	struct sockaddr_un		 sun;
	pthread_t			 th;
	char				 path[128];
	int				 lfd;

	snprintf(path, sizeof(path), "%s/issue.sock", B.dir);
	unlink(path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	ck_assert_int_ne(lfd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, issue_serve, &lfd), 0);
	o.socket_path = path;
	o.timeout_ms = 2000;
	ck_assert_int_eq(baton_client_open(&c, &o), 0);
	po.tool = "db_query";
	po.action = "read";
	po.audience = "db";
	/* 0 */
	ck_assert_int_eq(baton_client_present(&t, c, "bt1_AAAA", &po), 0);
	ck_assert_str_eq(baton_issued_token(t), "bt1_x");
	ck_assert_str_eq(baton_issued_jti(t),
	    "0123456789abcdef0123456789abcdef");
	ck_assert_uint_eq(baton_issued_exp(t), 7);
	baton_issued_free(t);
	/* 1, 2, 3 */
	ck_assert_int_eq(narrow(&t, c, "bt1_AAAA", "a", 0, 0), BATON_EPROTO);
	ck_assert_ptr_null(t);
	ck_assert_str_eq(baton_client_last_error(c),
	    "broker answered without a token");
	ck_assert_int_eq(baton_client_present(&t, c, "bt1_AAAA", &po),
	    BATON_EPROTO);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(baton_client_present(&t, c, "bt1_AAAA", &po),
	    BATON_EPROTO);
	ck_assert_ptr_null(t);
	ck_assert_str_eq(baton_client_last_error(c),
	    "broker answered without a token");
	/* 4 */
	ck_assert_int_eq(baton_client_present(&t, c, "bt1_AAAA", &po), 0);
	ck_assert_str_eq(baton_issued_token(t), "bt1_b");
	ck_assert_str_eq(baton_issued_jti(t), "");
	ck_assert_uint_eq(baton_issued_exp(t), 0);
	baton_issued_free(t);
	/* 5 */
	ck_assert_int_eq(baton_client_present(&t, c, "bt1_AAAA", &po), 0);
	ck_assert_str_eq(baton_issued_token(t), "bt1_c");
	ck_assert_str_eq(baton_issued_jti(t),
	    "0123456789abcdef0123456789abcdef");
	ck_assert_uint_eq(baton_issued_exp(t), 0);
	baton_issued_free(t);
	/* 6 */
	ck_assert_int_eq(baton_client_present(&t, c, "bt1_AAAA", &po), 0);
	ck_assert_str_eq(baton_issued_token(t), "bt1_d");
	ck_assert_str_eq(baton_issued_jti(t), "");
	ck_assert_uint_eq(baton_issued_exp(t), 0);
	baton_issued_free(t);
	/* 7, 8, 9: malformed bodies (each drops the connection) */
	ck_assert_int_eq(baton_client_present(&t, c, "bt1_AAAA", &po),
	    BATON_EPROTO);
	ck_assert_ptr_null(t);
	ck_assert_str_eq(baton_client_last_error(c),
	    "broker sent a malformed response body");
	ck_assert_int_eq(baton_client_present(&t, c, "bt1_AAAA", &po),
	    BATON_EPROTO);
	ck_assert_str_eq(baton_client_last_error(c),
	    "broker sent a malformed response body");
	ck_assert_int_eq(baton_client_present(&t, c, "bt1_AAAA", &po),
	    BATON_EPROTO);
	ck_assert_str_eq(baton_client_last_error(c),
	    "broker sent a malformed response body");
	ck_assert_ptr_null(t);
	/* 10, 11 */
	ck_assert_int_eq(baton_client_present(&t, c, "bt1_AAAA", &po),
	    BATON_EPROTO);
	ck_assert_str_eq(baton_client_last_error(c),
	    "broker answered without a token");
	ck_assert_int_eq(baton_client_present(&t, c, "bt1_AAAA", &po),
	    BATON_EPROTO);
	ck_assert_str_eq(baton_client_last_error(c),
	    "broker answered without a token");
	ck_assert_ptr_null(t);
	baton_client_free(c);
	pthread_join(th, NULL);
	close(lfd);
	unlink(path);
}
END_TEST

/*
 * A fake broker for verify: answers hello, then request i with the body
 * verify_bodies[i], and keeps the body map of each request to compare.
 */
static const struct issue_body verify_bodies[] = {
#define IB(s)	{ s, sizeof(s) - 1 }
	/* 0: allowed */
	IB("\x82\xa5" "allow\xc3\xa6reason\x00"),
	/* 1: denied, a reason */
	IB("\x82\xa5" "allow\xc2\xa6reason\x07"),
	/* 2: a negative reason (negative fixint) */
	IB("\x82\xa5" "allow\xc2\xa6reason\xff"),
	/* 3: allowed, the reason as int 8 */
	IB("\x82\xa5" "allow\xc3\xa6reason\xd0\x00"),
	/* 4: uint 16 */
	IB("\x82\xa5" "allow\xc2\xa6reason\xcd\x01\x02"),
	/* 5: int 64 */
	IB("\x82\xa5" "allow\xc2\xa6reason\xd3\xff\xff\xff\xff\xff\xff\xff\xfe"),
	/* 6: a reason that is not an integer */
	IB("\x82\xa5" "allow\xc2\xa6reason\xa1x"),
	/* 7: allow that is not a boolean */
	IB("\x82\xa5" "allow\x01\xa6reason\x00"),
	/* 8: the last of repeated keys counts */
	IB("\x83\xa5" "allow\xc3\xa6reason\x00\xa5" "allow\xc2"),
	/* 9: no allow */
	IB("\x81\xa6reason\x00"),
	/* 10: a reason past INT64_MAX */
	IB("\x82\xa5" "allow\xc3\xa6reason\xcf\x80\0\0\0\0\0\0\0"),
	/* 11: no reason */
	IB("\x81\xa5" "allow\xc3"),
	/* 12 to 16: int 32, int 16, uint 32, uint 64; uint 8 and facts */
	IB("\x82\xa5" "allow\xc2\xa6reason\xd2\xff\xff\xff\xfd"),
	IB("\x82\xa5" "allow\xc2\xa6reason\xd1\xff\xfc"),
	IB("\x82\xa5" "allow\xc2\xa6reason\xce\x00\x00\x00\x09"),
	IB("\x82\xa5" "allow\xc2\xa6reason\xcf\0\0\0\0\0\0\0\x0b"),
	IB("\x83\xa5" "allow\xc2\xa6reason\xcc\xc8\xa5" "facts\x81\xa3iss"
	    "\xa1i"),
#undef IB
};
#define NVERIFY	(sizeof(verify_bodies) / sizeof(verify_bodies[0]))

struct verify_fake {
	int	lfd;
	uint8_t	req[NVERIFY][1024];	/* each request's body map */
	size_t	reqlen[NVERIFY];
};

static void *
verify_serve(void *arg)
{
	struct verify_fake	*v = arg;
	static uint8_t		 out[256];
	uint8_t			 hdr[4], body[1024];
	uint32_t		 len, id;
	size_t			 i = 0, n, skip;
	int			 fd;

	while (i < NVERIFY) {
		if ((fd = accept(v->lfd, NULL, NULL)) == -1)
			return NULL;
		while (i < NVERIFY) {
			if (read_full(fd, hdr, 4) != 0)
				break;
			len = (uint32_t)hdr[0] << 24 | hdr[1] << 16 |
			    hdr[2] << 8 | hdr[3];
			if (len < 4 || len > sizeof(body) ||
			    read_full(fd, body, len) != 0 || body[0] != 0x93)
				break;
			/* [op, id, {...}]: the id as its size says */
			skip = body[2] < 0x80 ? 1 : body[2] == 0xcc ? 2 :
			    body[2] == 0xcd ? 3 : 5;
			id = 0;
			for (n = 1; n < skip; n++)
				id = id << 8 | body[2 + n];
			if (skip == 1)
				id = body[2];
			(void)answer(out, body[1], id, "");
			if (body[1] == 1) {	/* hello: {"version": 1} */
				memcpy(out + 13, "\x81\xa7version\x01", 10);
				n = 13 + 10;
			} else {
				v->reqlen[i] = len - 2 - skip;
				memcpy(v->req[i], body + 2 + skip,
				    v->reqlen[i]);
				memcpy(out + 13, verify_bodies[i].b,
				    verify_bodies[i].len);
				n = 13 + verify_bodies[i].len;
				i++;
			}
			out[3] = (uint8_t)(n - 4);
			if (write(fd, out, n) != (ssize_t)n)
				break;
		}
		close(fd);
	}
	return NULL;
}

/* The request body v kept for request i is exactly want. */
static void
req_is(const struct verify_fake *v, size_t i, const char *want, size_t len)
{
	ck_assert_msg(v->reqlen[i] == len && memcmp(v->req[i], want, len) == 0,
	    "request %zu: %zu bytes, not the %zu expected", i, v->reqlen[i],
	    len);
}

/*
 * The verify request as the wire carries it, whatever its strings'
 * lengths; the answer's allow and reason read from its bytes as its JSON
 * form reads them, whatever their encoding.
 */
START_TEST(test_verify_wire)
{
	struct baton_client_opts	 o = BATON_CLIENT_OPTS_INIT;
	struct baton_verify_opts	 vo = BATON_VERIFY_OPTS_INIT;
	struct baton_client		*c = NULL;
	struct baton_verify_result	*r = NULL;
	struct baton_call_arg		 args[3];
	struct baton_call_usage		 use;
	static struct verify_fake	 v;
	struct sockaddr_un		 sun;
	pthread_t			 th;
	char				 path[128], tool40[41], tool300[301];
	char				 want[1024], tok300[301];
	size_t				 n;

	memset(&v, 0, sizeof(v));
	memset(tool40, 't', 40);
	tool40[40] = '\0';
	memset(tool300, 'u', 300);
	tool300[300] = '\0';
	memcpy(tok300, "bt1_", 4);
	memset(tok300 + 4, 'A', 296);
	tok300[300] = '\0';
	snprintf(path, sizeof(path), "%s/verify.sock", B.dir);
	unlink(path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	ck_assert_int_ne(v.lfd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(v.lfd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	ck_assert_int_eq(listen(v.lfd, 4), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, verify_serve, &v), 0);
	o.socket_path = path;
	o.timeout_ms = 2000;
	ck_assert_int_eq(baton_client_open(&c, &o), 0);

	/* 0: tool, action, audience; allowed */
	vo.tool = "db_query";
	vo.action = "read";
	vo.audience = "db";
	ck_assert_int_eq(baton_verify(&r, c, "bt1_AAAA", &vo), 0);
	ck_assert_int_eq(baton_verify_result_allowed(r), 1);
	ck_assert_int_eq(baton_verify_result_reason(r), BATON_R_OK);
	baton_verify_result_free(r);
	/* 1: explain, a 40-byte tool (str 8); reason 7 */
	vo.tool = tool40;
	vo.action = vo.audience = NULL;
	ck_assert_int_eq(baton_explain(&r, c, "bt1_AAAA", &vo),
	    BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(r), 7);
	baton_verify_result_free(r);
	/* 2: a 300-byte tool and token (str 16); reason -1 */
	vo.tool = tool300;
	ck_assert_int_eq(baton_verify(&r, c, tok300, &vo), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(r), -1);
	baton_verify_result_free(r);
	/* 3: args and usage after the strings; allowed (int 8 reason) */
	memset(args, 0, sizeof(args));
	args[0].name = "n";
	args[0].type = BATON_ARG_INT;
	args[0].num = 5;
	args[1].name = "b";
	args[1].type = BATON_ARG_BOOL;
	args[1].num = 1;
	args[2].name = "s";
	args[2].type = BATON_ARG_STR;
	args[2].str = "hi";
	use.name = "rows";
	use.value = 10;
	vo.tool = "t";
	vo.audience = "db";
	vo.args = args;
	vo.nargs = 3;
	vo.usage = &use;
	vo.nusage = 1;
	ck_assert_int_eq(baton_verify(&r, c, "bt1_AAAA", &vo), 0);
	baton_verify_result_free(r);
	vo.args = NULL;
	vo.nargs = 0;
	vo.usage = NULL;
	vo.nusage = 0;
	vo.audience = NULL;
	/* 4, 5, 6 */
	ck_assert_int_eq(baton_verify(&r, c, "bt1_AAAA", &vo), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(r), 258);
	baton_verify_result_free(r);
	ck_assert_int_eq(baton_verify(&r, c, "bt1_AAAA", &vo), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(r), -2);
	baton_verify_result_free(r);
	ck_assert_int_eq(baton_verify(&r, c, "bt1_AAAA", &vo), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(r), BATON_R_BAD_CHAIN);
	baton_verify_result_free(r);
	/* 7: allow not a boolean */
	ck_assert_int_eq(baton_verify(&r, c, "bt1_AAAA", &vo), BATON_EPROTO);
	ck_assert_ptr_null(r);
	/* 8: allow true, then false */
	ck_assert_int_eq(baton_verify(&r, c, "bt1_AAAA", &vo), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(r), BATON_R_POLICY_DENIED);
	baton_verify_result_free(r);
	/* 9: no allow; 10: malformed (the connection is dropped) */
	ck_assert_int_eq(baton_verify(&r, c, "bt1_AAAA", &vo), BATON_EPROTO);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(baton_verify(&r, c, "bt1_AAAA", &vo), BATON_EPROTO);
	ck_assert_ptr_null(r);
	ck_assert_str_eq(baton_client_last_error(c),
	    "broker sent a malformed response body");
	/* 11: no reason: not allowed */
	ck_assert_int_eq(baton_verify(&r, c, "bt1_AAAA", &vo), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(r), BATON_R_BAD_CHAIN);
	baton_verify_result_free(r);
	/* 12 to 15: reasons in the other widths */
	ck_assert_int_eq(baton_verify(&r, c, "bt1_AAAA", &vo), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(r), -3);
	baton_verify_result_free(r);
	ck_assert_int_eq(baton_verify(&r, c, "bt1_AAAA", &vo), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(r), -4);
	baton_verify_result_free(r);
	ck_assert_int_eq(baton_verify(&r, c, "bt1_AAAA", &vo), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(r), 9);
	baton_verify_result_free(r);
	ck_assert_int_eq(baton_verify(&r, c, "bt1_AAAA", &vo), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(r), 11);
	baton_verify_result_free(r);
	/* 16: uint 8, and the facts read from the kept body */
	ck_assert_int_eq(baton_verify(&r, c, "bt1_AAAA", &vo), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(r), 200);
	ck_assert_str_eq(baton_verify_result_iss(r), "i");
	baton_verify_result_free(r);
	baton_client_free(c);
	pthread_join(th, NULL);

	/* what went out */
#define REQ_IS(i, s)	req_is(&v, i, s, sizeof(s) - 1)
	REQ_IS(0, "\x84\xa5token\xa8" "bt1_AAAA\xa4tool\xa8" "db_query"
	    "\xa6" "action\xa4read\xa3" "aud\xa2" "db");
	n = (size_t)snprintf(want, sizeof(want), "\x83\xa7" "explain\xc3"
	    "\xa5token\xa8" "bt1_AAAA\xa4tool\xd9\x28%s", tool40);
	req_is(&v, 1, want, n);
	memcpy(want, "\x82\xa5token\xda\x01\x2c", 10);
	memcpy(want + 10, tok300, 300);
	memcpy(want + 310, "\xa4tool\xda\x01\x2c", 8);
	memcpy(want + 318, tool300, 300);
	req_is(&v, 2, want, 618);
	REQ_IS(3, "\x85\xa5token\xa8" "bt1_AAAA\xa4tool\xa1t\xa3" "aud"
	    "\xa2" "db\xa4" "args\x83\xa1n\x05\xa1" "b\xc3\xa1s\xa2hi"
	    "\xa5usage\x81\xa4rows\x0a");
	REQ_IS(4, "\x82\xa5token\xa8" "bt1_AAAA\xa4tool\xa1t");
#undef REQ_IS
	close(v.lfd);
	unlink(path);
}
END_TEST

/* ---- deadlines on the blocking socket ------------------------------------ */

/*
 * A fake broker that answers hello, then for request i waits delay[i][0]
 * ms, writes the first cut[i] bytes of an answer {"x": "slow"}, waits
 * delay[i][1] ms and writes the rest.  A negative delay: never; it then
 * reads until the client hangs up.
 */
struct slow {
	int	lfd;
	int	nreq;
	int	delay[4][2];
	size_t	cut[4];
};

static void
hang(int fd)
{
	char	b[512];

	while (read(fd, b, sizeof(b)) > 0)
		;
}

static void *
slow_serve(void *arg)
{
	struct slow	*sl = arg;
	uint8_t		 out[64];
	unsigned	 op;
	uint32_t	 id;
	size_t		 n;
	int		 i, fd;

	if ((fd = accept(sl->lfd, NULL, NULL)) == -1)
		return NULL;
	if (read_req(fd, &op, &id) != 0 || op != 1)
		goto out;
	(void)answer(out, 1, id, "");
	memcpy(out + 14, "\xa7version\x01", 9);	/* hello: {"version": 1} */
	n = 14 + 9;
	out[3] = (uint8_t)(n - 4);
	if (write(fd, out, n) != (ssize_t)n)
		goto out;
	for (i = 0; i < sl->nreq; i++) {
		if (read_req(fd, &op, &id) != 0)
			break;
		n = answer(out, op, id, "slow");
		if (sl->delay[i][0] < 0) {
			hang(fd);
			break;
		}
		usleep(sl->delay[i][0] * 1000);
		if (write(fd, out, sl->cut[i]) != (ssize_t)sl->cut[i])
			break;
		if (sl->delay[i][1] < 0) {
			hang(fd);
			break;
		}
		usleep(sl->delay[i][1] * 1000);
		if (write(fd, out + sl->cut[i], n - sl->cut[i]) !=
		    (ssize_t)(n - sl->cut[i]))
			break;
	}
out:
	close(fd);
	return NULL;
}

/* Listen on NAME in the suite's directory; serve with slow_serve. */
static struct baton_client *
slow_start(struct slow *sl, pthread_t *th, const char *name, int timeout_ms)
{
	struct baton_client_opts	 o = BATON_CLIENT_OPTS_INIT;
	struct baton_client		*c = NULL;
	struct sockaddr_un		 sun;
	char				 path[128];

	snprintf(path, sizeof(path), "%s/%s", B.dir, name);
	unlink(path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	ck_assert_int_ne(sl->lfd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(sl->lfd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	ck_assert_int_eq(listen(sl->lfd, 4), 0);
	ck_assert_int_eq(pthread_create(th, NULL, slow_serve, sl), 0);
	o.socket_path = path;
	o.timeout_ms = timeout_ms;
	ck_assert_int_eq(baton_client_open(&c, &o), 0);
	return c;
}

static void
slow_stop(struct slow *sl, pthread_t th, struct baton_client *c)
{
	baton_client_free(c);	/* hangs up: the server stops waiting */
	pthread_join(th, NULL);
	close(sl->lfd);
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec	t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A broker that takes a verify and never answers: the deadline holds. */
START_TEST(test_timeout_verify)
{
	struct slow			 sl;
	struct baton_client		*c;
	struct baton_verify_result	*res = NULL;
	struct timespec			 t0;
	pthread_t			 th;
	long				 ms;

	memset(&sl, 0, sizeof(sl));
	sl.nreq = 1;
	sl.delay[0][0] = -1;
	c = slow_start(&sl, &th, "mute2.sock", 300);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(verify_tool(&res, c, "bt1_AAAA", "db_query", NULL),
	    BATON_ETIMEOUT);
	ms = ms_since(&t0);
	ck_assert_ptr_null(res);
	ck_assert_int_ge(ms, 250);
	ck_assert_int_lt(ms, 2000);
	ck_assert_ptr_nonnull(strstr(baton_client_last_error(c),
	    "did not answer"));
	slow_stop(&sl, th, c);
}
END_TEST

/* Half an answer, then nothing: a timeout, not a hang. */
START_TEST(test_timeout_half_frame)
{
	struct slow	 sl;
	struct baton_client *c;
	struct timespec	 t0;
	pthread_t	 th;
	char		*s = NULL;
	long		 ms;

	memset(&sl, 0, sizeof(sl));
	sl.nreq = 1;
	sl.cut[0] = 10;
	sl.delay[0][1] = -1;
	c = slow_start(&sl, &th, "half.sock", 300);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(baton_client_status(&s, c, 0), BATON_ETIMEOUT);
	ms = ms_since(&t0);
	ck_assert_ptr_null(s);
	ck_assert_int_ge(ms, 250);
	ck_assert_int_lt(ms, 2000);
	slow_stop(&sl, th, c);
}
END_TEST

/*
 * The first part of the answer comes late and the rest never: the second
 * recv must wait only for what is left of the deadline (600 ms in all),
 * not for a whole timeout again (1000 ms).
 */
START_TEST(test_timeout_partial_late)
{
	struct slow	 sl;
	struct baton_client *c;
	struct timespec	 t0;
	pthread_t	 th;
	char		*s = NULL;
	long		 ms;

	memset(&sl, 0, sizeof(sl));
	sl.nreq = 1;
	sl.cut[0] = 10;
	sl.delay[0][0] = 400;
	sl.delay[0][1] = -1;
	c = slow_start(&sl, &th, "late.sock", 600);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(baton_client_status(&s, c, 0), BATON_ETIMEOUT);
	ms = ms_since(&t0);
	ck_assert_int_ge(ms, 550);
	ck_assert_msg(ms < 900, "timed out after %ld ms, not 600", ms);
	slow_stop(&sl, th, c);
}
END_TEST

/*
 * A late answer that still makes it shortens the socket's wait; the next
 * call, slower than that shortened wait but within its own deadline, must
 * still get its answer.
 */
START_TEST(test_timeout_restored)
{
	struct slow	 sl;
	struct baton_client *c;
	struct timespec	 t0;
	pthread_t	 th;
	char		*s = NULL;
	long		 ms;

	memset(&sl, 0, sizeof(sl));
	sl.nreq = 3;
	sl.cut[0] = 10;
	sl.delay[0][0] = 300;		/* the rest at 400 of 600 ms */
	sl.delay[0][1] = 100;
	sl.cut[1] = 10;
	sl.delay[1][0] = 450;		/* longer than the 300 ms left above */
	sl.cut[2] = 10;
	c = slow_start(&sl, &th, "restored.sock", 600);
	ck_assert_int_eq(baton_client_status(&s, c, 0), 0);
	ck_assert_ptr_nonnull(strstr(s, "slow"));
	baton_string_free(s);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_msg(baton_client_status(&s, c, 0) == 0, "%s",
	    baton_client_last_error(c));
	ms = ms_since(&t0);
	ck_assert_ptr_nonnull(strstr(s, "slow"));
	baton_string_free(s);
	ck_assert_int_ge(ms, 400);
	ck_assert_int_eq(baton_client_status(&s, c, 0), 0);
	baton_string_free(s);
	slow_stop(&sl, th, c);
}
END_TEST

/* Every entry point refuses NULL and unknown option versions. */
START_TEST(test_bad_args)
{
	struct baton_client		*c = client();
	struct baton_grantset		*gs = NULL, *wild = NULL, *empty = NULL;
	struct baton_issued		*t = NULL, *root;
	struct baton_mint_opts		 mo = BATON_MINT_OPTS_INIT;
	struct baton_attenuate_opts	 ao = BATON_ATTENUATE_OPTS_INIT;
	struct baton_present_opts	 po = BATON_PRESENT_OPTS_INIT;
	struct baton_verify_opts	 vo = BATON_VERIFY_OPTS_INIT;
	struct baton_verify_result	*res = NULL;
	struct baton_keybundle		*kb = NULL;
	struct baton_inspect		*in = NULL;
	struct baton_call_arg		 arg;
	struct baton_call_usage		 use;
	char				*s = NULL, *big;
	uint64_t			 max;

	root = mint_root(c);
	ck_assert_int_eq(baton_grantset_new(NULL), BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_new(&gs), 0);
	ck_assert_int_eq(baton_grantset_add_tool(NULL, "t", NULL),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_tool(gs, NULL, NULL),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_limit(gs, NULL, "n", 1),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_where(gs, "t", NULL, "eq:1"),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_where(gs, "t", "a", NULL),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_audience(gs, NULL), BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_audience(gs, "a\nb"),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_ctx(gs, NULL, "v"), BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "db_query", "read"), 0);
	ck_assert_int_eq(baton_grantset_new(&empty), 0);
	ck_assert_int_eq(baton_grantset_new(&wild), 0);
	ck_assert_int_eq(baton_grantset_add_tool(wild, "*", NULL), 0);

	/* mint */
	mo.grants = gs;
	ck_assert_int_eq(baton_client_mint(NULL, c, &mo), BATON_EINVAL);
	ck_assert_int_eq(baton_client_mint(&t, NULL, &mo), BATON_EINVAL);
	ck_assert_int_eq(baton_client_mint(&t, c, NULL), BATON_EINVAL);
	mo.version = BATON_MINT_OPTS_VERSION + 1;
	ck_assert_int_eq(baton_client_mint(&t, c, &mo), BATON_EINVAL);
	mo.version = BATON_MINT_OPTS_VERSION;
	mo.grants = NULL;
	ck_assert_int_eq(baton_client_mint(&t, c, &mo), BATON_EINVAL);
	mo.grants = empty;
	ck_assert_int_eq(baton_client_mint(&t, c, &mo), BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_tool(wild, "db_query", NULL), 0);
	mo.grants = wild;	/* "*" and a named tool */
	ck_assert_int_eq(baton_client_mint(&t, c, &mo), BATON_EINVAL);
	ck_assert_ptr_null(t);

	/* attenuate */
	ao.grants = gs;
	ck_assert_int_eq(baton_client_attenuate(NULL, c,
	    baton_issued_token(root), &ao), BATON_EINVAL);
	ck_assert_int_eq(baton_client_attenuate(&t, NULL,
	    baton_issued_token(root), &ao), BATON_EINVAL);
	ck_assert_int_eq(baton_client_attenuate(&t, c, NULL, &ao),
	    BATON_EMALFORMED);
	ck_assert_int_eq(baton_client_attenuate(&t, c, "", &ao),
	    BATON_EMALFORMED);
	ao.version = 0;
	ck_assert_int_eq(baton_client_attenuate(&t, c,
	    baton_issued_token(root), &ao), BATON_EINVAL);
	ao.version = BATON_ATTENUATE_OPTS_VERSION;
	ao.grants = wild;
	ck_assert_int_eq(baton_client_attenuate(&t, c,
	    baton_issued_token(root), &ao), BATON_EINVAL);
	ck_assert_ptr_null(t);

	/* present */
	po.tool = "db_query";
	po.action = "read";
	po.audience = "db";
	ck_assert_int_eq(baton_client_present(NULL, c,
	    baton_issued_token(root), &po), BATON_EINVAL);
	ck_assert_int_eq(baton_client_present(&t, c,
	    baton_issued_token(root), NULL), BATON_EINVAL);
	ck_assert_int_eq(baton_client_present(&t, c, NULL, &po),
	    BATON_EMALFORMED);
	po.version = 7;
	ck_assert_int_eq(baton_client_present(&t, c,
	    baton_issued_token(root), &po), BATON_EINVAL);
	po.version = BATON_PRESENT_OPTS_VERSION;
	po.action = "";
	ck_assert_int_eq(baton_client_present(&t, c,
	    baton_issued_token(root), &po), BATON_EINVAL);
	po.action = "read";
	po.audience = NULL;
	ck_assert_int_eq(baton_client_present(&t, c,
	    baton_issued_token(root), &po), BATON_EINVAL);
	ck_assert_ptr_null(t);

	/* revoke, pubkeys, status */
	ck_assert_int_eq(baton_client_revoke_jti(NULL,
	    "00112233445566778899aabbccddeeff"), BATON_EINVAL);
	ck_assert_int_eq(baton_client_revoke_jti(c, NULL), BATON_EINVAL);
	ck_assert_int_eq(baton_client_revoke_jti(c, "0011"), BATON_EINVAL);
	ck_assert_int_eq(baton_client_revoke_jti(c,
	    "zz112233445566778899aabbccddeeff"), BATON_EINVAL);
	ck_assert_int_eq(baton_client_revoke_jti(c,
	    "00112233445566778899aabbccddeeff00"), BATON_EINVAL);
	ck_assert_int_eq(baton_client_revoke_token(NULL,
	    baton_issued_token(root)), BATON_EINVAL);
	ck_assert_int_eq(baton_client_revoke_token(c, NULL), BATON_EMALFORMED);
	ck_assert_int_eq(baton_client_pubkeys(NULL, c), BATON_EINVAL);
	ck_assert_int_eq(baton_client_pubkeys(&s, NULL), BATON_EINVAL);
	ck_assert_int_eq(baton_client_status(NULL, c, 0), BATON_EINVAL);
	ck_assert_int_eq(baton_client_status(&s, NULL, 0), BATON_EINVAL);
	ck_assert_ptr_null(s);

	/* verify: every bad option is EINVAL with no result */
	vo.tool = "db_query";
	ck_assert_int_eq(baton_verify(NULL, c, baton_issued_token(root), &vo),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_verify(&res, NULL, baton_issued_token(root),
	    &vo), BATON_EINVAL);
	ck_assert_int_eq(baton_verify(&res, c, NULL, &vo), BATON_EINVAL);
	ck_assert_int_eq(baton_verify(&res, c, baton_issued_token(root), NULL),
	    BATON_EINVAL);
	vo.version = BATON_VERIFY_OPTS_VERSION + 1;
	ck_assert_int_eq(baton_verify(&res, c, baton_issued_token(root), &vo),
	    BATON_EINVAL);
	vo.version = BATON_VERIFY_OPTS_VERSION;
	vo.tool = "";
	ck_assert_int_eq(baton_verify(&res, c, baton_issued_token(root), &vo),
	    BATON_EINVAL);
	vo.tool = "db_query";
	vo.nargs = 1;		/* args NULL */
	ck_assert_int_eq(baton_verify(&res, c, baton_issued_token(root), &vo),
	    BATON_EINVAL);
	memset(&arg, 0, sizeof(arg));
	arg.type = BATON_ARG_STR;
	arg.name = "table";	/* str NULL */
	vo.args = &arg;
	ck_assert_int_eq(baton_verify(&res, c, baton_issued_token(root), &vo),
	    BATON_EINVAL);
	arg.name = NULL;
	arg.str = "orders";
	ck_assert_int_eq(baton_verify(&res, c, baton_issued_token(root), &vo),
	    BATON_EINVAL);
	vo.nargs = 0;
	vo.args = NULL;
	use.name = NULL;
	use.value = 1;
	vo.usage = &use;
	vo.nusage = 1;
	ck_assert_int_eq(baton_verify(&res, c, baton_issued_token(root), &vo),
	    BATON_EINVAL);
	vo.nusage = 0;
	vo.usage = NULL;
	ck_assert_ptr_null(res);
	/* a token with a newline in it, and one over the size cap: denied */
	ck_assert_int_eq(verify_tool(&res, c, "bt1_AAAA\nAAAA", "db_query",
	    NULL), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(res), BATON_R_BAD_BASE64);
	baton_verify_result_free(res);
	res = NULL;
	ck_assert_ptr_nonnull(big = malloc(200000));
	memset(big, 'A', 199999);
	memcpy(big, "bt1_", 4);
	big[199999] = '\0';
	ck_assert_int_eq(verify_tool(&res, c, big, "db_query", NULL),
	    BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(res), BATON_R_TOO_LARGE);
	baton_verify_result_free(res);
	res = NULL;
	ck_assert_int_eq(narrow(&t, c, big, "a", 0, 0), BATON_EMALFORMED);
	free(big);

	/* offline and key bundles */
	ck_assert_int_eq(baton_keybundle_parse(NULL, "{}", 2), BATON_EINVAL);
	ck_assert_int_eq(baton_keybundle_parse(&kb, NULL, 0), BATON_EINVAL);
	ck_assert_int_eq(baton_keybundle_load(NULL, "/dev/null"),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_keybundle_load(&kb, NULL), BATON_EINVAL);
	ck_assert_int_eq(baton_keybundle_load(&kb, "/dev/null"),
	    BATON_EMALFORMED);
	ck_assert_ptr_null(kb);
	ck_assert_uint_eq(baton_keybundle_count(NULL), 0);
	baton_keybundle_free(NULL);
	ck_assert_int_eq(baton_verify_offline(&res, NULL,
	    baton_issued_token(root), &vo), BATON_EINVAL);
	ck_assert_int_eq(baton_verify_offline(NULL, NULL,
	    baton_issued_token(root), &vo), BATON_EINVAL);
	ck_assert_ptr_null(res);

	/* inspection, arguments, getters on NULL */
	ck_assert_int_eq(baton_inspect_token(NULL, "bt1_", NULL), BATON_EINVAL);
	ck_assert_int_eq(baton_inspect_token(&in, NULL, NULL), BATON_EINVAL);
	ck_assert_ptr_null(in);
	ck_assert_int_eq(baton_call_arg_parse(NULL, s), BATON_EINVAL);
	ck_assert_int_eq(baton_call_arg_parse(&arg, NULL), BATON_EINVAL);
	ck_assert_ptr_null(baton_issued_token(NULL));
	ck_assert_ptr_null(baton_issued_jti(NULL));
	ck_assert_uint_eq(baton_issued_exp(NULL), 0);
	ck_assert_int_eq(baton_verify_result_allowed(NULL), 0);
	ck_assert_ptr_null(baton_verify_result_json(NULL));
	ck_assert_ptr_null(baton_verify_result_iss(NULL));
	ck_assert_ptr_null(baton_verify_result_ctx(NULL, "k"));
	ck_assert_int_eq(baton_verify_result_limit(NULL, "n", &max),
	    BATON_EINVAL);
	ck_assert_ptr_null(baton_inspect_json(NULL));
	ck_assert_ptr_null(baton_inspect_block_kind(NULL, 0));
	ck_assert_ptr_null(baton_client_socket(NULL));
	ck_assert_str_eq(baton_client_last_error(NULL), "");
	baton_issued_free(NULL);
	baton_verify_result_free(NULL);
	baton_inspect_free(NULL);
	baton_string_free(NULL);

	baton_grantset_free(gs);
	baton_grantset_free(wild);
	baton_grantset_free(empty);
	baton_issued_free(root);
	baton_client_free(c);
}
END_TEST

/* ---- mint, attenuate, verify --------------------------------------------- */

START_TEST(test_mint_verify)
{
	struct baton_client		*c = client();
	struct baton_issued		*t = mint_root(c);
	struct baton_verify_result	*res = NULL;
	uint64_t			 max = 0;

	ck_assert_str_eq(baton_issued_token(t) == NULL ? "" :
	    (strncmp(baton_issued_token(t), "bt1_", 4) == 0 ? "bt1_" : "?"),
	    "bt1_");
	ck_assert_uint_eq(strlen(baton_issued_jti(t)), 32);
	ck_assert_uint_gt(baton_issued_exp(t), (uint64_t)time(NULL));
	ck_assert_int_eq(verify_tool(&res, c, baton_issued_token(t),
	    "db_query", "read"), 0);
	ck_assert(baton_verify_result_allowed(res));
	ck_assert_int_eq(baton_verify_result_reason(res), BATON_R_OK);
	ck_assert_str_eq(baton_verify_result_reason_name(res), "ok");
	ck_assert_str_eq(baton_verify_result_iss(res), "orchestrator");
	ck_assert_str_eq(baton_verify_result_sub(res), "alice");
	ck_assert_uint_eq(baton_verify_result_depth(res), 0);
	ck_assert_int_eq(baton_verify_result_limit(res, "max_rows", &max), 0);
	ck_assert_uint_eq(max, 1000);
	ck_assert_int_eq(baton_verify_result_limit(res, "max_calls", &max),
	    BATON_EINVAL);
	ck_assert(!baton_verify_result_wildcard(res));
	ck_assert_uint_eq(baton_verify_result_ntools(res), 2);
	ck_assert_str_eq(baton_verify_result_tool(res, 0), "db_query");
	ck_assert_ptr_null(baton_verify_result_tool(res, 5));
	ck_assert_uint_eq(baton_verify_result_chain_len(res), 1);
	ck_assert_str_eq(baton_verify_result_chain_agent(res, 0),
	    "orchestrator");
	ck_assert_str_eq(baton_verify_result_chain_jti(res, 0),
	    baton_issued_jti(t));
	ck_assert_str_eq(baton_verify_result_ctx(res, "workflow"), "wf-1");
	ck_assert_ptr_null(baton_verify_result_ctx(res, "nope"));
	ck_assert_uint_eq(baton_verify_result_exp(res), baton_issued_exp(t));
	ck_assert_ptr_nonnull(strstr(baton_verify_result_json(res),
	    "\"allow\": true"));
	baton_verify_result_free(res);
	baton_verify_result_free(NULL);
	baton_issued_free(t);
	baton_issued_free(NULL);
	baton_client_free(c);
}
END_TEST

START_TEST(test_chain)
{
	struct baton_client		*c = client();
	struct baton_issued		*root = mint_root(c), *a = NULL, *b = NULL;
	struct baton_issued		*x = NULL;
	struct baton_verify_result	*res = NULL;
	uint64_t			 max = 0;

	ck_assert_int_eq(narrow(&a, c, baton_issued_token(root), "orchestrator",
	    1800, 100), 0);
	ck_assert_int_eq(narrow(&b, c, baton_issued_token(a), "worker-a", 900,
	    0), 0);
	ck_assert_int_eq(verify_tool(&res, c, baton_issued_token(b),
	    "db_query", "read"), 0);
	ck_assert_uint_eq(baton_verify_result_depth(res), 2);
	ck_assert_str_eq(baton_verify_result_iss(res), "orchestrator");
	ck_assert_str_eq(baton_verify_result_sub(res), "alice");
	ck_assert_int_eq(baton_verify_result_limit(res, "max_rows", &max), 0);
	ck_assert_uint_eq(max, 100);
	ck_assert_uint_eq(baton_verify_result_chain_len(res), 3);
	ck_assert_str_eq(baton_verify_result_chain_agent(res, 1),
	    "orchestrator");
	ck_assert_str_eq(baton_verify_result_chain_agent(res, 2), "worker-a");
	ck_assert_uint_le(baton_verify_result_exp(res), time(NULL) + 900);
	baton_verify_result_free(res);
	res = NULL;

	/* file_read was not delegated */
	ck_assert_int_eq(verify_tool(&res, c, baton_issued_token(b),
	    "file_read", NULL), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(res),
	    BATON_R_TOOL_NOT_GRANTED);
	ck_assert(!baton_verify_result_allowed(res));
	baton_verify_result_free(res);

	/* widening is refused, never clamped */
	ck_assert_int_eq(narrow(&x, c, baton_issued_token(a), "worker-a", 7200,
	    0), BATON_EDENIED);
	ck_assert_int_eq(baton_client_last_reason(c), BATON_R_TTL_TOO_LONG);
	ck_assert_str_ne(baton_client_last_error(c), "");
	ck_assert_int_eq(narrow(&x, c, baton_issued_token(a), "worker-a", 60,
	    500), BATON_EDENIED);
	ck_assert_int_eq(baton_client_last_reason(c), BATON_R_WIDEN_LIMIT);
	ck_assert_ptr_null(x);
	baton_issued_free(root);
	baton_issued_free(a);
	baton_issued_free(b);
	baton_client_free(c);
}
END_TEST

START_TEST(test_widen_tool)
{
	struct baton_client		*c = client();
	struct baton_issued		*root = mint_root(c), *x = NULL;
	struct baton_attenuate_opts	 ao = BATON_ATTENUATE_OPTS_INIT;
	struct baton_grantset		*gs;

	ck_assert_int_eq(baton_grantset_new(&gs), 0);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "shell", NULL), 0);
	ao.grants = gs;
	ao.as = "orchestrator";
	ck_assert_int_eq(baton_client_attenuate(&x, c, baton_issued_token(root),
	    &ao), BATON_EDENIED);
	ck_assert_int_eq(baton_client_last_reason(c), BATON_R_WIDEN_TOOL);
	baton_grantset_free(gs);
	/* a child can never ask for "*" */
	ck_assert_int_eq(baton_grantset_new(&gs), 0);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "*", NULL), 0);
	ao.grants = gs;
	ck_assert_int_eq(baton_client_attenuate(&x, c, baton_issued_token(root),
	    &ao), BATON_EINVAL);
	baton_grantset_free(gs);
	/* NULL opts: inherit everything */
	ck_assert_int_eq(baton_client_attenuate(&x, c, baton_issued_token(root),
	    NULL), 0);
	baton_issued_free(x);
	baton_issued_free(root);
	baton_client_free(c);
}
END_TEST

START_TEST(test_denials)
{
	struct baton_client		*c = client();
	struct baton_mint_opts		 mo = BATON_MINT_OPTS_INIT;
	struct baton_verify_opts	 vo = BATON_VERIFY_OPTS_INIT;
	struct baton_grantset		*gs;
	struct baton_issued		*t = NULL;
	struct baton_verify_result	*res = NULL;
	struct baton_call_arg		 arg;
	struct baton_call_usage		 use = { "max_rows", 5000 };
	char				 kv[64];

	ck_assert_int_eq(baton_grantset_new(&gs), 0);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "db_query", "read"), 0);
	ck_assert_int_eq(baton_grantset_add_limit(gs, "db_query", "max_rows",
	    100), 0);
	ck_assert_int_eq(baton_grantset_add_where(gs, "db_query", "table",
	    "in:orders,users"), 0);
	ck_assert_int_eq(baton_grantset_add_audience(gs, "db"), 0);
	mo.grants = gs;
	mo.as = "orchestrator";
	mo.ttl = 600;
	ck_assert_int_eq(baton_client_mint(&t, c, &mo), 0);
	baton_grantset_free(gs);

	vo.tool = "db_query";
	vo.action = "write";
	vo.audience = "db";
	ck_assert_int_eq(baton_verify(&res, c, baton_issued_token(t), &vo),
	    BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(res),
	    BATON_R_ACTION_NOT_GRANTED);
	baton_verify_result_free(res);

	vo.action = "read";
	vo.audience = "mail";
	ck_assert_int_eq(baton_verify(&res, c, baton_issued_token(t), &vo),
	    BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(res),
	    BATON_R_AUDIENCE_MISMATCH);
	baton_verify_result_free(res);

	vo.audience = "db";
	snprintf(kv, sizeof(kv), "table=secrets");
	ck_assert_int_eq(baton_call_arg_parse(&arg, kv), 0);
	vo.args = &arg;
	vo.nargs = 1;
	ck_assert_int_eq(baton_verify(&res, c, baton_issued_token(t), &vo),
	    BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(res),
	    BATON_R_ARGUMENT_REJECTED);
	baton_verify_result_free(res);

	snprintf(kv, sizeof(kv), "table=orders");
	ck_assert_int_eq(baton_call_arg_parse(&arg, kv), 0);
	ck_assert_int_eq(baton_verify(&res, c, baton_issued_token(t), &vo), 0);
	baton_verify_result_free(res);

	vo.usage = &use;
	vo.nusage = 1;
	ck_assert_int_eq(baton_verify(&res, c, baton_issued_token(t), &vo),
	    BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(res),
	    BATON_R_LIMIT_EXCEEDED);
	baton_verify_result_free(res);

	/* no tool: the caller's mistake, not a decision */
	vo.tool = NULL;
	res = (struct baton_verify_result *)1;
	ck_assert_int_eq(baton_verify(&res, c, baton_issued_token(t), &vo),
	    BATON_EINVAL);
	ck_assert_ptr_null(res);
	baton_issued_free(t);
	baton_client_free(c);
}
END_TEST

START_TEST(test_malformed)
{
	struct baton_client		*c = client();
	struct baton_verify_result	*res = NULL;
	struct baton_issued		*t = NULL;
	struct baton_inspect		*in = NULL;
	struct baton_present_opts	 po = BATON_PRESENT_OPTS_INIT;
	int				 reason = -1;

	ck_assert_int_eq(verify_tool(&res, c, "bt1_AAAA", "db_query", NULL),
	    BATON_EDENIED);
	ck_assert_int_ne(baton_verify_result_reason(res), BATON_R_OK);
	baton_verify_result_free(res);
	ck_assert_int_eq(verify_tool(&res, c, "not a token", "db_query", NULL),
	    BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(res), BATON_R_BAD_PREFIX);
	baton_verify_result_free(res);
	ck_assert_int_eq(narrow(&t, c, "nope", "a", 0, 0), BATON_EMALFORMED);
	po.tool = "db_query";
	po.action = "read";
	po.audience = "db";
	ck_assert_int_eq(baton_client_present(&t, c, "nope", &po),
	    BATON_EMALFORMED);
	ck_assert_int_eq(baton_client_revoke_token(c, "nope"),
	    BATON_EMALFORMED);
	ck_assert_int_eq(baton_inspect_token(&in, "xyz", &reason),
	    BATON_EMALFORMED);
	ck_assert_int_eq(reason, BATON_R_BAD_PREFIX);
	ck_assert_ptr_null(in);
	ck_assert_int_eq(baton_inspect_token(&in, "bt1_!!!!", &reason),
	    BATON_EMALFORMED);
	ck_assert_int_eq(reason, BATON_R_BAD_BASE64);
	/* the connection survives bad input */
	ck_assert_int_eq(verify_tool(&res, c, "bt1_AAAA", "db_query", NULL),
	    BATON_EDENIED);
	baton_verify_result_free(res);
	baton_client_free(c);
}
END_TEST

START_TEST(test_present_single_use)
{
	struct baton_client		*c = client();
	struct baton_issued		*root = mint_root(c), *p = NULL;
	struct baton_issued		*x = NULL;
	struct baton_present_opts	 po = BATON_PRESENT_OPTS_INIT;
	struct baton_verify_opts	 vo = BATON_VERIFY_OPTS_INIT;
	struct baton_verify_result	*res = NULL;

	po.tool = "db_query";
	po.action = "read";
	po.audience = "db";
	po.as = "orchestrator";
	po.ttl = 60;
	ck_assert_int_eq(baton_client_present(&p, c, baton_issued_token(root),
	    &po), 0);
	ck_assert_uint_le(baton_issued_exp(p), (uint64_t)time(NULL) + 61);
	vo.tool = "db_query";
	vo.action = "read";
	vo.audience = "db";
	ck_assert_int_eq(baton_verify(&res, c, baton_issued_token(p), &vo), 0);
	baton_verify_result_free(res);
	ck_assert_int_eq(baton_verify(&res, c, baton_issued_token(p), &vo),
	    BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(res), BATON_R_REPLAYED);
	baton_verify_result_free(res);
	/* a presented token cannot be extended */
	ck_assert_int_eq(narrow(&x, c, baton_issued_token(p), "x", 0, 0),
	    BATON_EDENIED);
	ck_assert_ptr_null(x);
	po.tool = NULL;
	ck_assert_int_eq(baton_client_present(&x, c, "bt1_x", &po),
	    BATON_EINVAL);
	ck_assert_ptr_null(x);
	baton_issued_free(p);
	baton_issued_free(root);
	baton_client_free(c);
}
END_TEST

START_TEST(test_revoke)
{
	struct baton_client		*c = client();
	struct baton_issued		*root = mint_root(c), *a = NULL, *b = NULL;
	struct baton_issued		*sib = NULL;
	struct baton_verify_result	*res = NULL;

	ck_assert_int_eq(narrow(&a, c, baton_issued_token(root), "orchestrator",
	    600, 100), 0);
	ck_assert_int_eq(narrow(&b, c, baton_issued_token(a), "worker-a", 300,
	    0), 0);
	ck_assert_int_eq(narrow(&sib, c, baton_issued_token(root),
	    "orchestrator", 600, 50), 0);
	ck_assert_int_eq(baton_client_revoke_token(c, baton_issued_token(a)),
	    0);
	ck_assert_int_eq(verify_tool(&res, c, baton_issued_token(b),
	    "db_query", "read"), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(res), BATON_R_REVOKED);
	baton_verify_result_free(res);
	ck_assert_int_eq(verify_tool(&res, c, baton_issued_token(sib),
	    "db_query", "read"), 0);
	baton_verify_result_free(res);

	/* by jti: the root, and with it everything */
	ck_assert_int_eq(baton_client_revoke_jti(c, "zz"), BATON_EINVAL);
	ck_assert_int_eq(baton_client_revoke_jti(c,
	    "0123456789abcdef0123456789abcdeg"), BATON_EINVAL);
	ck_assert_int_eq(baton_client_revoke_jti(c, baton_issued_jti(root)),
	    0);
	ck_assert_int_eq(verify_tool(&res, c, baton_issued_token(sib),
	    "db_query", "read"), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(res), BATON_R_REVOKED);
	baton_verify_result_free(res);
	baton_issued_free(root);
	baton_issued_free(a);
	baton_issued_free(b);
	baton_issued_free(sib);
	baton_client_free(c);
}
END_TEST

/* ---- offline -------------------------------------------------------------- */

static struct baton_keybundle *
bundle(struct baton_client *c)
{
	struct baton_keybundle	*kb = NULL;
	char			*s = NULL;

	ck_assert_int_eq(baton_client_pubkeys(&s, c), 0);
	ck_assert_int_eq(baton_keybundle_parse(&kb, s, strlen(s)), 0);
	ck_assert_uint_ge(baton_keybundle_count(kb), 1);
	baton_string_free(s);
	return kb;
}

START_TEST(test_offline)
{
	struct baton_client		*c = client();
	struct baton_issued		*root = mint_root(c), *a = NULL;
	struct baton_keybundle		*kb = bundle(c);
	struct baton_verify_opts	 vo = BATON_VERIFY_OPTS_INIT;
	struct baton_verify_result	*res = NULL;
	uint64_t			 max = 0;
	char				*bad;
	size_t				 len;

	ck_assert_int_eq(narrow(&a, c, baton_issued_token(root), "orchestrator",
	    600, 100), 0);
	vo.tool = "db_query";
	vo.action = "read";
	ck_assert_int_eq(baton_verify_offline(&res, kb, baton_issued_token(a),
	    &vo), 0);
	ck_assert_uint_eq(baton_verify_result_depth(res), 1);
	ck_assert_str_eq(baton_verify_result_iss(res), "orchestrator");
	ck_assert_int_eq(baton_verify_result_limit(res, "max_rows", &max), 0);
	ck_assert_uint_eq(max, 100);
	ck_assert_uint_eq(baton_verify_result_chain_len(res), 2);
	baton_verify_result_free(res);

	vo.tool = "file_read";
	ck_assert_int_eq(baton_verify_offline(&res, kb, baton_issued_token(a),
	    &vo), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(res),
	    BATON_R_TOOL_NOT_GRANTED);
	baton_verify_result_free(res);

	vo.tool = "db_query";
	vo.now = (uint64_t)time(NULL) + 100000;
	ck_assert_int_eq(baton_verify_offline(&res, kb, baton_issued_token(a),
	    &vo), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(res), BATON_R_EXPIRED);
	baton_verify_result_free(res);
	vo.now = 0;

	/* a flipped byte in the middle: no valid signature */
	bad = strdup(baton_issued_token(a));
	len = strlen(bad);
	bad[len / 2] = bad[len / 2] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(baton_verify_offline(&res, kb, bad, &vo),
	    BATON_EDENIED);
	ck_assert_int_ne(baton_verify_result_reason(res), BATON_R_OK);
	baton_verify_result_free(res);
	free(bad);

	ck_assert_int_eq(baton_verify_offline(&res, NULL,
	    baton_issued_token(a), &vo), BATON_EINVAL);
	baton_keybundle_free(kb);

	/* the same bundle from a file, as `baton pubkeys --json > FILE` */
	{
		char	 path[128], *s = NULL;
		FILE	*f;

		snprintf(path, sizeof(path), "%s/keys.json", B.dir);
		ck_assert_int_eq(baton_client_pubkeys(&s, c), 0);
		ck_assert_ptr_nonnull(f = fopen(path, "w"));
		fputs(s, f);
		ck_assert_int_eq(fclose(f), 0);
		baton_string_free(s);
		kb = NULL;
		ck_assert_int_eq(baton_keybundle_load(&kb, path), 0);
		ck_assert_int_eq(baton_verify_offline(&res, kb,
		    baton_issued_token(a), &vo), 0);
		ck_assert(baton_verify_result_allowed(res));
		baton_verify_result_free(res);
		baton_keybundle_free(kb);
	}
	baton_keybundle_free(NULL);
	baton_issued_free(root);
	baton_issued_free(a);
	baton_client_free(c);
}
END_TEST

/* Every fact a result gives through its accessors, as one text. */
static void
facts_text(const struct baton_verify_result *r, char *buf, size_t len)
{
	FILE		*f;
	uint64_t	 max = 0;
	size_t		 i, n;
	int		 lim;

#define S(x)	((x) != NULL ? (x) : "(null)")
	ck_assert_ptr_nonnull(f = fmemopen(buf, len, "w"));
	fprintf(f, "allowed %d reason %d %s iss %s sub %s exp %llu depth %llu "
	    "wildcard %d tools", baton_verify_result_allowed(r),
	    baton_verify_result_reason(r), baton_verify_result_reason_name(r),
	    S(baton_verify_result_iss(r)), S(baton_verify_result_sub(r)),
	    (unsigned long long)baton_verify_result_exp(r),
	    (unsigned long long)baton_verify_result_depth(r),
	    baton_verify_result_wildcard(r));
	n = baton_verify_result_ntools(r);
	for (i = 0; i <= n; i++)
		fprintf(f, " %s", S(baton_verify_result_tool(r, i)));
	lim = baton_verify_result_limit(r, "max_rows", &max);
	fprintf(f, " max_rows %d %llu", lim, (unsigned long long)max);
	fprintf(f, " ctx %s %s chain", S(baton_verify_result_ctx(r,
	    "workflow")), S(baton_verify_result_ctx(r, "nope")));
	n = baton_verify_result_chain_len(r);
	for (i = 0; i <= n; i++)
		fprintf(f, " %s/%s", S(baton_verify_result_chain_agent(r, i)),
		    S(baton_verify_result_chain_jti(r, i)));
	ck_assert_int_eq(fclose(f), 0);
#undef S
}

struct facts_race {
	const struct baton_verify_result	*r;
	char					 text[2048];
};

static void *
facts_reader(void *arg)
{
	struct facts_race	*fr = arg;

	facts_text(fr->r, fr->text, sizeof(fr->text));
	return NULL;
}

/*
 * Through the broker a result keeps the answer's msgpack and builds its
 * JSON only when a fact or the JSON is first asked for.  Whichever comes
 * first, and from however many threads, the facts are the same, and the
 * same as those an offline verify computes from the token itself.
 */
START_TEST(test_lazy_facts)
{
	struct baton_client		*c = client();
	struct baton_issued		*root = mint_root(c), *a = NULL;
	struct baton_keybundle		*kb = bundle(c);
	struct baton_verify_opts	 vo = BATON_VERIFY_OPTS_INIT;
	struct baton_verify_result	*r1 = NULL, *r2 = NULL, *r3 = NULL;
	struct facts_race		 fr[4];
	pthread_t			 th[4];
	char				 t1[2048], t2[2048], t3[2048], *j1;
	char				*big;
	int				 i;

	ck_assert_int_eq(narrow(&a, c, baton_issued_token(root), "worker",
	    600, 100), 0);
	vo.tool = "db_query";
	vo.action = "read";
	/* facts first, then the JSON; and the other way round */
	ck_assert_int_eq(baton_verify(&r1, c, baton_issued_token(a), &vo), 0);
	facts_text(r1, t1, sizeof(t1));
	ck_assert_ptr_nonnull(strstr(t1, "depth 1 "));
	ck_assert_ptr_nonnull(strstr(t1, "max_rows 0 100"));
	ck_assert_ptr_nonnull(j1 = strdup(baton_verify_result_json(r1)));
	ck_assert_int_eq(baton_verify(&r2, c, baton_issued_token(a), &vo), 0);
	ck_assert_str_eq(baton_verify_result_json(r2), j1);
	facts_text(r2, t2, sizeof(t2));
	ck_assert_str_eq(t2, t1);
	baton_verify_result_free(r2);
	/*
	 * The offline result keeps its own decoded token and builds its
	 * facts from it on first use: the caller's text may be gone by then,
	 * and four threads asking at once read the same facts.
	 */
	ck_assert_ptr_nonnull(big = strdup(baton_issued_token(a)));
	ck_assert_int_eq(baton_verify_offline(&r3, kb, big, &vo), 0);
	memset(big, 'A', strlen(big));
	free(big);
	for (i = 0; i < 4; i++) {
		fr[i].r = r3;
		ck_assert_int_eq(pthread_create(&th[i], NULL, facts_reader,
		    &fr[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_str_eq(fr[i].text, t1);
	}
	ck_assert_ptr_nonnull(strstr(baton_verify_result_json(r3),
	    "\"offline\": true"));
	baton_verify_result_free(r3);
	/* and the JSON first, then the facts */
	ck_assert_int_eq(baton_verify_offline(&r3, kb, baton_issued_token(a),
	    &vo), 0);
	ck_assert_ptr_nonnull(strstr(baton_verify_result_json(r3),
	    "\"reason_name\": \"ok\""));
	facts_text(r3, t3, sizeof(t3));
	ck_assert_str_eq(t3, t1);
	baton_verify_result_free(r3);
	/* four threads ask a fresh result for its facts at once */
	ck_assert_int_eq(baton_verify(&r2, c, baton_issued_token(a), &vo), 0);
	for (i = 0; i < 4; i++) {
		fr[i].r = r2;
		ck_assert_int_eq(pthread_create(&th[i], NULL, facts_reader,
		    &fr[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_str_eq(fr[i].text, t1);
	}
	ck_assert_str_eq(baton_verify_result_json(r2), j1);
	baton_verify_result_free(r2);
	baton_verify_result_free(r1);
	free(j1);

	/* a denial with facts, online and offline */
	vo.tool = "file_read";
	r1 = r3 = NULL;
	ck_assert_int_eq(baton_verify(&r1, c, baton_issued_token(a), &vo),
	    BATON_EDENIED);
	ck_assert_int_eq(baton_verify_offline(&r3, kb, baton_issued_token(a),
	    &vo), BATON_EDENIED);
	facts_text(r1, t1, sizeof(t1));
	facts_text(r3, t3, sizeof(t3));
	ck_assert_str_eq(t1, t3);
	ck_assert_ptr_nonnull(strstr(t1, "worker"));
	baton_verify_result_free(r1);
	baton_verify_result_free(r3);

	/* a denial with no answer at all: the reason alone, facts empty */
	ck_assert_ptr_nonnull(big = malloc(200000));
	memset(big, 'A', 199999);
	memcpy(big, "bt1_", 4);
	big[199999] = '\0';
	r1 = NULL;
	ck_assert_int_eq(baton_verify(&r1, c, big, &vo), BATON_EDENIED);
	facts_text(r1, t1, sizeof(t1));
	ck_assert_ptr_nonnull(strstr(t1, "iss (null) sub (null) exp 0"));
	snprintf(t2, sizeof(t2), "{\n  \"allow\": false,\n  \"facts\": {},\n"
	    "  \"reason\": %d,\n  \"reason_name\": \"%s\"\n}",
	    BATON_R_TOO_LARGE, baton_reason_name(BATON_R_TOO_LARGE));
	ck_assert_str_eq(baton_verify_result_json(r1), t2);
	baton_verify_result_free(r1);
	free(big);

	baton_keybundle_free(kb);
	baton_issued_free(root);
	baton_issued_free(a);
	baton_client_free(c);
}
END_TEST

START_TEST(test_offline_unknown_key)
{
	static const char other[] = "{\"keys\": [{\"pk\": "
	    "\"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c\""
	    "}]}";
	struct baton_client		*c = client();
	struct baton_issued		*root = mint_root(c);
	struct baton_keybundle		*kb = NULL;
	struct baton_verify_opts	 vo = BATON_VERIFY_OPTS_INIT;
	struct baton_verify_result	*res = NULL;

	ck_assert_int_eq(baton_keybundle_parse(&kb, other, strlen(other)), 0);
	vo.tool = "db_query";
	ck_assert_int_eq(baton_verify_offline(&res, kb,
	    baton_issued_token(root), &vo), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(res), BATON_R_UNKNOWN_KEY);
	baton_verify_result_free(res);
	baton_keybundle_free(kb);
	baton_issued_free(root);
	baton_client_free(c);
}
END_TEST

/*
 * A bundle's not_after is enforced offline as by the broker: a token that
 * outlives a retired key, or any token once the key is past its end, is
 * refused with key_retired.
 */
START_TEST(test_offline_retired_key)
{
	struct baton_client		*c = client();
	struct baton_issued		*root = mint_root(c);
	struct baton_keybundle		*kb = NULL;
	struct baton_verify_opts	 vo = BATON_VERIFY_OPTS_INIT;
	struct baton_verify_result	*res = NULL;
	uint64_t			 now = (uint64_t)time(NULL);
	char				*s = NULL, *at, edited[4096];
	int				 n;

	ck_assert_int_eq(baton_client_pubkeys(&s, c), 0);
	ck_assert_ptr_nonnull(at = strstr(s, "\"not_after\": 0"));
	/* The key retires 10 s from now; the root token lives an hour. */
	n = snprintf(edited, sizeof edited, "%.*s\"not_after\": %llu%s",
	    (int)(at - s), s, (unsigned long long)(now + 10),
	    at + strlen("\"not_after\": 0"));
	ck_assert_int_lt(n, (int)sizeof edited);
	baton_string_free(s);
	ck_assert_int_eq(baton_keybundle_parse(&kb, edited, strlen(edited)),
	    0);
	vo.tool = "db_query";
	vo.action = "read";
	ck_assert_int_eq(baton_verify_offline(&res, kb,
	    baton_issued_token(root), &vo), BATON_EDENIED);
	ck_assert_int_eq(baton_verify_result_reason(res), BATON_R_KEY_RETIRED);
	baton_verify_result_free(res);
	baton_keybundle_free(kb);
	baton_issued_free(root);
	baton_client_free(c);
}
END_TEST

START_TEST(test_keybundle_errors)
{
	static const struct {
		const char	*text;
		int		 want;
	} cases[] = {
		{ "", BATON_EMALFORMED },
		{ "not json", BATON_EMALFORMED },
		{ "[]", BATON_EMALFORMED },
		{ "{\"keys\": []}", BATON_ENOKEY },
		{ "{\"keys\": [{\"pk\": \"00\"}]}", BATON_EMALFORMED },
		{ "{\"keys\": [{\"kid\": \"0000000000000000\", \"pk\": "
		  "\"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c\""
		  "}]}", BATON_EMALFORMED },	/* kid does not match */
		{ "{\"keys\": {}}", BATON_EMALFORMED },
	};
	struct baton_keybundle	*kb = NULL;
	size_t			 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(baton_keybundle_parse(&kb, cases[i].text,
		    strlen(cases[i].text)) == cases[i].want, "case %zu", i);
		ck_assert_ptr_null(kb);
	}
	ck_assert_int_eq(baton_keybundle_load(&kb, "/nonexistent/keys.json"),
	    BATON_EIO);
}
END_TEST

/* ---- grant sets, arguments, inspection ------------------------------------- */

START_TEST(test_grantset)
{
	static const struct {
		const char	*pred;
		int		 ok;
	} preds[] = {
		{ "eq:orders", 1 }, { "eq:42", 1 }, { "eq:true", 1 },
		{ "in:a,b,c", 1 }, { "in:1,2", 1 }, { "prefix:/srv/", 1 },
		{ "glob:*.csv", 1 }, { "range:1..100", 1 }, { "range:-5..5", 1 },
		{ "maxlen:64", 1 }, { "eq:", 1 },
		{ "", 0 }, { "eq", 0 }, { "regex:.*", 0 }, { "range:5..1", 0 },
		{ "range:1-5", 0 }, { "range:a..b", 0 }, { "maxlen:-1", 0 },
		{ "maxlen:x", 0 }, { "in:", 0 },
	};
	struct baton_grantset	*gs = NULL;
	size_t			 i;

	baton_grantset_free(NULL);
	ck_assert_int_eq(baton_grantset_new(&gs), 0);
	for (i = 0; i < sizeof(preds) / sizeof(preds[0]); i++)
		ck_assert_msg((baton_grantset_add_where(gs, "t", "a",
		    preds[i].pred) == 0) == preds[i].ok, "pred %s",
		    preds[i].pred);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "t", "READ"),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "t", "read,,write"),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "t", "read,"),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "t", ",read"),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "", NULL), BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "a b", NULL),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "t", "read,write"), 0);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "t", "read"), 0);
	ck_assert_int_eq(baton_grantset_add_limit(gs, "t", "", 1),
	    BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_limit(gs, "t", "max_rows", 5), 0);
	ck_assert_int_eq(baton_grantset_add_limit(gs, "t", "max_rows", 9), 0);
	ck_assert_int_eq(baton_grantset_add_audience(gs, ""), BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_ctx(gs, "step", "1"), 0);
	ck_assert_int_eq(baton_grantset_add_ctx(gs, "step", "2"), 0);
	ck_assert_int_eq(baton_grantset_add_ctx(gs, "k", NULL), BATON_EINVAL);
	ck_assert_int_eq(baton_grantset_add_tool(gs, "*", "read"),
	    BATON_EINVAL);
	baton_grantset_free(gs);
}
END_TEST

START_TEST(test_call_arg)
{
	struct baton_call_arg	a;
	char			b1[] = "rows=42", b2[] = "neg=-7", b3[] = "f=true",
				b4[] = "s=hello=world", b5[] = "=x", b6[] = "x",
				b7[] = "big=99999999999999999999", b8[] = "e=";

	ck_assert_int_eq(baton_call_arg_parse(&a, b1), 0);
	ck_assert_int_eq(a.type, BATON_ARG_INT);
	ck_assert_int_eq(a.num, 42);
	ck_assert_str_eq(a.name, "rows");
	ck_assert_int_eq(baton_call_arg_parse(&a, b2), 0);
	ck_assert_int_eq(a.num, -7);
	ck_assert_int_eq(baton_call_arg_parse(&a, b3), 0);
	ck_assert_int_eq(a.type, BATON_ARG_BOOL);
	ck_assert_int_eq(a.num, 1);
	ck_assert_int_eq(baton_call_arg_parse(&a, b4), 0);
	ck_assert_int_eq(a.type, BATON_ARG_STR);
	ck_assert_str_eq(a.str, "hello=world");
	ck_assert_int_eq(baton_call_arg_parse(&a, b5), BATON_EINVAL);
	ck_assert_int_eq(baton_call_arg_parse(&a, b6), BATON_EINVAL);
	ck_assert_int_eq(baton_call_arg_parse(&a, b7), 0);
	ck_assert_int_eq(a.type, BATON_ARG_STR);	/* too big: a string */
	ck_assert_int_eq(baton_call_arg_parse(&a, b8), 0);
	ck_assert_str_eq(a.str, "");
}
END_TEST

START_TEST(test_inspect)
{
	struct baton_client	*c = client();
	struct baton_issued	*root = mint_root(c), *a = NULL;
	struct baton_inspect	*in = NULL;
	json_t			*doc;
	int			 reason = -1;

	ck_assert_int_eq(narrow(&a, c, baton_issued_token(root), "orchestrator",
	    600, 100), 0);
	ck_assert_int_eq(baton_inspect_token(&in, baton_issued_token(a),
	    &reason), 0);
	ck_assert_int_eq(reason, BATON_R_OK);
	ck_assert_uint_eq(baton_inspect_nblocks(in), 2);
	ck_assert_str_eq(baton_inspect_block_kind(in, 0), "mint");
	ck_assert_str_eq(baton_inspect_block_kind(in, 1), "attenuate");
	ck_assert_str_eq(baton_inspect_block_agent(in, 0), "orchestrator");
	ck_assert_str_eq(baton_inspect_block_agent(in, 1), "orchestrator");
	ck_assert_str_eq(baton_inspect_block_jti(in, 0), baton_issued_jti(root));
	ck_assert_uint_eq(baton_inspect_block_exp(in, 1), baton_issued_exp(a));
	ck_assert_ptr_null(baton_inspect_block_kind(in, 2));
	ck_assert_ptr_nonnull(strstr(baton_inspect_tree(in), "max_rows<=100"));
	ck_assert_ptr_nonnull(strstr(baton_inspect_tree(in), "for alice"));
	ck_assert_ptr_nonnull(doc = json_loads(baton_inspect_json(in), 0,
	    NULL));
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "blocks")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    json_object_get(json_object_get(json_array_get(json_object_get(doc,
	    "blocks"), 1), "grants"), "db_query"), "limits"), "max_rows")), 100);
	json_decref(doc);
	baton_inspect_free(in);
	baton_inspect_free(NULL);
	baton_issued_free(root);
	baton_issued_free(a);
	baton_client_free(c);
}
END_TEST

START_TEST(test_status_pubkeys)
{
	struct baton_client	*c = client();
	char			*s = NULL;
	json_t			*doc;

	ck_assert_int_eq(baton_client_status(&s, c, 0), 0);
	ck_assert_ptr_nonnull(doc = json_loads(s, 0, NULL));
	ck_assert(json_is_object(json_object_get(doc, "counters")));
	json_decref(doc);
	baton_string_free(s);
	ck_assert_int_eq(baton_client_status(&s, c, 1), 0);
	ck_assert_ptr_nonnull(strstr(s, "# TYPE"));
	baton_string_free(s);
	ck_assert_int_eq(baton_client_pubkeys(&s, c), 0);
	ck_assert_ptr_nonnull(doc = json_loads(s, 0, NULL));
	ck_assert_uint_ge(json_array_size(json_object_get(doc, "keys")), 1);
	json_decref(doc);
	baton_string_free(s);
	baton_string_free(NULL);
	ck_assert_int_eq(baton_client_pubkeys(NULL, c), BATON_EINVAL);
	baton_client_free(c);
}
END_TEST

/* ---- threads: one shared handle and one handle per thread ----------------- */

struct tharg {
	struct baton_client	*shared;
	const char		*token;
	int			 ok;
};

static void *
hammer(void *p)
{
	struct tharg			*ta = p;
	struct baton_client		*own = NULL;
	struct baton_client_opts	 o = BATON_CLIENT_OPTS_INIT;
	struct baton_verify_result	*res;
	int				 i;

	o.socket_path = B.sock;
	if (baton_client_open(&own, &o) != 0)
		return NULL;
	for (i = 0; i < 25; i++) {
		res = NULL;
		if (verify_tool(&res, i % 2 ? own : ta->shared, ta->token,
		    "db_query", "read") == 0)
			__atomic_add_fetch(&ta->ok, 1, __ATOMIC_SEQ_CST);
		baton_verify_result_free(res);
	}
	baton_client_free(own);
	return NULL;
}

START_TEST(test_threads)
{
	struct baton_client	*c = client();
	struct baton_issued	*root = mint_root(c);
	struct tharg		 ta = { c, NULL, 0 };
	pthread_t		 th[4];
	int			 i;

	ta.token = baton_issued_token(root);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer, &ta), 0);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(ta.ok, 100);
	baton_issued_free(root);
	baton_client_free(c);
}
END_TEST

static Suite *
client_suite(void)
{
	Suite	*s = suite_create("client");
	TCase	*tc;

	tc = tcase_create("offline");
	tcase_add_test(tc, test_grantset);
	tcase_add_test(tc, test_call_arg);
	tcase_add_test(tc, test_keybundle_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("broker");
	tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
	tcase_add_test(tc, test_open_free);
	tcase_add_test(tc, test_env_socket);
	tcase_add_test(tc, test_broker_down);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_reconnect);
	tcase_add_test(tc, test_no_double_send);
	tcase_add_test(tc, test_read_ahead);
	tcase_add_test(tc, test_issue_answers);
	tcase_add_test(tc, test_verify_wire);
	tcase_add_test(tc, test_timeout_verify);
	tcase_add_test(tc, test_timeout_half_frame);
	tcase_add_test(tc, test_timeout_partial_late);
	tcase_add_test(tc, test_timeout_restored);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_mint_verify);
	tcase_add_test(tc, test_chain);
	tcase_add_test(tc, test_widen_tool);
	tcase_add_test(tc, test_denials);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_present_single_use);
	tcase_add_test(tc, test_revoke);
	tcase_add_test(tc, test_offline);
	tcase_add_test(tc, test_lazy_facts);
	tcase_add_test(tc, test_offline_unknown_key);
	tcase_add_test(tc, test_offline_retired_key);
	tcase_add_test(tc, test_inspect);
	tcase_add_test(tc, test_status_pubkeys);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(client_suite());
	int	 failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
