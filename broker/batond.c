/* batond.c: start-up, signals, configuration reload and request dispatch. */

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "batond.h"

struct broker broker = {
	.lock = PTHREAD_RWLOCK_INITIALIZER,
	.conns_lock = PTHREAD_MUTEX_INITIALIZER,
};

static const struct op_entry *const op_table[BATON_OP_MAX + 1] = {
	[BATON_OP_HELLO] = &op_hello_entry,
	[BATON_OP_MINT] = &op_mint_entry,
	[BATON_OP_ATTENUATE] = &op_attenuate_entry,
	[BATON_OP_PRESENT] = &op_present_entry,
	[BATON_OP_VERIFY] = &op_verify_entry,
	[BATON_OP_REVOKE] = &op_revoke_entry,
	[BATON_OP_INSPECT] = &op_inspect_entry,
	[BATON_OP_PUBKEYS] = &op_pubkeys_entry,
	[BATON_OP_STATUS] = &op_status_entry,
	[BATON_OP_ROTATE] = &op_rotate_entry,
	[BATON_OP_RELOAD] = &op_reload_entry,
	[BATON_OP_SOURCE_ACK] = &op_source_ack_entry,
};

static const char	*conf_path;	/* -c, or the default if it exists */
static const char	*opt_socket;
static const char	*opt_state_dir;
static unsigned		 running_workers;	/* changes at restart only */
static struct event_base *main_base;
static struct event	*ev_listen, *ev_listen_again;

/* ---- answers --------------------------------------------------------------- */

/* [op, id, status, ...: every answer's head, written in place. */
static void
head_put(msgpack_packer *pk, uint32_t op, uint32_t id, uint32_t status)
{
	char	*p;

	if ((p = baton_wire_room(pk, 16)) == NULL) {
		msgpack_pack_array(pk, 4);
		msgpack_pack_uint32(pk, op);
		msgpack_pack_uint32(pk, id);
		msgpack_pack_uint32(pk, status);
		return;
	}
	*p++ = (char)0x94;
	p = baton_put_uint(p, op);
	p = baton_put_uint(p, id);
	p = baton_put_uint(p, status);
	baton_wire_took(pk, p);
}

static void
req_head(struct request *r, int status)
{
	/*
	 * An answer begun and replaced may already hold a token: wiped.
	 * The buffer is kept, the one server.c lends included.
	 */
	baton_wire_reset(&r->sb, &r->pk);
	head_put(&r->pk, r->op | BATON_WIRE_RESPONSE, r->id, (uint32_t)status);
	r->status = status;
}

void
req_begin(struct request *r)
{
	req_head(r, BATON_WIRE_OK);
}

static void
req_error_body(struct request *r, int status, int reason, const char *msg)
{
	req_head(r, status);
	msgpack_pack_map(&r->pk, reason >= 0 ? 5 : 3);
	baton_pack_str(&r->pk, "error");
	baton_pack_str(&r->pk, baton_wire_err_name(status));
	baton_pack_str(&r->pk, "message");
	baton_pack_str(&r->pk, msg);
	baton_pack_str(&r->pk, "retry");
	baton_pack_str(&r->pk, baton_wire_err_retry(status));
	if (reason >= 0) {
		baton_pack_str(&r->pk, "reason");
		msgpack_pack_uint32(&r->pk, (uint32_t)reason);
		baton_pack_str(&r->pk, "reason_name");
		baton_pack_str(&r->pk, baton_reason_name(reason));
	}
	r->reason = reason;
}

int
req_error(struct request *r, int status, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	req_error_body(r, status, -1, msg);
	free(r->errmsg);
	r->errmsg = msg;
	return (-1);
}

int
req_deny(struct request *r, int reason)
{
	req_error_body(r, BATON_WIRE_EDENIED, reason, baton_reason_text(reason));
	return (-1);
}

/* Deny with the authorize stack's message after the reason's text. */
int
req_deny_msg(struct request *r, int reason, const char *msg)
{
	char	*text;

	if (msg == NULL || *msg == '\0')
		return (req_deny(r, reason));
	xasprintf(&text, "%s: %s", baton_reason_text(reason), msg);
	req_error_body(r, BATON_WIRE_EDENIED, reason, text);
	free(text);
	return (-1);
}

/* ---- configuration ------------------------------------------------------- */

/*
 * Fit the connection caps to the descriptor limit, raising the soft limit
 * toward the hard one first if it is short.  A broker out of descriptors
 * cannot accept, nor take the pidfds that pin its peers' identity; the
 * excess must be refused at the cap instead.  When the total is lowered,
 * the per-uid cap keeps its share of it, so that a few uids cannot take
 * every connection.
 */
static void
fit_descriptors(struct config *cfg)
{
	struct rlimit	rl, up;
	uint64_t	fixed, want, fit, peruid;

	fixed = BATOND_FD_FIXED +
	    BATOND_FD_PER_WORKER * (uint64_t)running_workers;
	want = fixed + BATOND_FD_PER_CONN * (uint64_t)cfg->max_conns;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
	    rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return;
	up = rl;
	up.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ?
	    want : rl.rlim_max;
	if (up.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &up) == 0)
		rl = up;
	if (rl.rlim_cur >= want)
		return;
	fit = rl.rlim_cur > fixed + BATOND_FD_PER_CONN ?
	    (rl.rlim_cur - fixed) / BATOND_FD_PER_CONN : 1;
	peruid = (uint64_t)cfg->max_conns_per_uid * fit / cfg->max_conns;
	if (peruid == 0)
		peruid = 1;
	log_warnx("descriptor limit %llu holds %llu connections (%d "
	    "descriptors each): max-connections %u lowered to %llu, "
	    "max-connections-per-uid %u to %llu; raise LimitNOFILE= or "
	    "ulimit -n", (unsigned long long)rl.rlim_cur,
	    (unsigned long long)fit, BATOND_FD_PER_CONN, cfg->max_conns,
	    (unsigned long long)fit, cfg->max_conns_per_uid,
	    (unsigned long long)peruid);
	cfg->max_conns = (unsigned)fit;
	cfg->max_conns_per_uid = (unsigned)peruid;
}

struct config *
broker_config(void)
{
	pthread_rwlock_rdlock(&broker.lock);
	return (broker.cfg);
}

void
broker_config_release(void)
{
	pthread_rwlock_unlock(&broker.lock);
}

static struct config *
load_config(char **cause)
{
	struct config	*cfg;

	if ((cfg = config_load(conf_path, cause)) == NULL)
		return (NULL);
	if (opt_socket != NULL) {
		free(cfg->socket_path);
		cfg->socket_path = xstrdup(opt_socket);
	}
	if (opt_state_dir != NULL) {
		free(cfg->state_dir);
		cfg->state_dir = xstrdup(opt_state_dir);
	}
#ifdef BATOND_TEST_BUILD
	/* Tests run whole suites under the filter (tests/broker-util.c). */
	if (getenv("BATON_TEST_SECCOMP") != NULL)
		cfg->seccomp = 1;
#endif
	/* A filter in force stays in force: a reload cannot lift it. */
	module_forbid_spawn(cfg->seccomp || broker.sandboxed);
	/* Last: a configuration is whole, stacks and modules included. */
	if (stacks_load(cfg, cause) != 0) {
		config_free(cfg);
		return (NULL);
	}
	return (cfg);
}

/* Swap in a new configuration, or keep the old one and say why. */
int
broker_reload(char **cause)
{
	static pthread_mutex_t	 reload_lock = PTHREAD_MUTEX_INITIALIZER;
	struct config		*cfg, *old;

	/*
	 * SIGHUP (main thread) and the reload operation (a worker) may come
	 * together; the parsers use getpwnam and getgrnam, which are not
	 * thread-safe.
	 */
	pthread_mutex_lock(&reload_lock);
	cfg = load_config(cause);
	/* Last: the trusted keys go in only with a configuration that did. */
	if (cfg != NULL && trust_load(cfg, cause) != 0) {
		stacks_release(cfg->stacks);
		config_free(cfg);
		cfg = NULL;
	}
	pthread_mutex_unlock(&reload_lock);
	if (cfg == NULL) {
		log_warnx("reload refused, keeping the old configuration: %s",
		    *cause);
		return (-1);
	}
	fit_descriptors(cfg);
	pthread_rwlock_wrlock(&broker.lock);
	old = broker.cfg;
	if (strcmp(old->socket_path, cfg->socket_path) != 0 ||
	    strcmp(old->state_dir, cfg->state_dir) != 0 ||
	    old->workers != cfg->workers)
		log_warnx("reload: socket, state-dir and workers change only "
		    "at restart");
	if (old->seccomp != cfg->seccomp)
		log_warnx("reload: seccomp changes only at restart (the "
		    "filter is %s)", broker.sandboxed ? "on" : "off");
	broker.cfg = cfg;
	pthread_rwlock_unlock(&broker.lock);
	/* Requests still deciding on the old stacks hold references. */
	stacks_release(old->stacks);
	config_free(old);
	log_info("configuration reloaded%s", cfg->agents == NULL ?
	    " (development mode)" : "");
	return (0);
}

int
broker_is_admin(const struct config *cfg, const struct peer *p)
{
	int	i;

	if (p->uid == 0)
		return (1);
	if (cfg->agents == NULL && p->uid == broker.uid)
		return (1);
	if (!cfg->has_admin_gid)
		return (0);
	/*
	 * Kernel-attested groups only (SO_PEERCRED, SO_PEERGROUPS): no NSS
	 * lookup on the request path, and a peer that dropped the group
	 * for privilege separation does not keep its rights.
	 */
	if (p->gid == cfg->admin_gid)
		return (1);
	for (i = 0; i < p->ngroups; i++)
		if (p->groups[i] == cfg->admin_gid)
			return (1);
	return (0);
}

/* ---- dispatch -------------------------------------------------------------- */

/*
 * "PREFIX" then the uid in decimal, as snprintf "%s%u" would write it:
 * the bucket name, made on every request, so without stdio.
 */
static void
rate_key(char key[32], const char *prefix, unsigned uid)
{
	char	digits[16], *p = digits + sizeof digits;
	size_t	plen = strlen(prefix), dlen;

	do {
		*--p = (char)('0' + uid % 10);
		uid /= 10;
	} while (uid != 0);
	dlen = (size_t)(digits + sizeof digits - p);
	memcpy(key, prefix, plen);
	memcpy(key + plen, p, dlen);
	key[plen + dlen] = '\0';
}

/*
 * Take one from the caller's bucket of that class (RATE_COSTLY: mint,
 * attenuate, present, revoke, the admin operations and spending a
 * single-use jti; RATE_VERIFY: verify and the other reads); 0 if the
 * request may go ahead, else -1 with the error set.
 *
 * Per uid, the kernel-attested identity every request has: agent ids
 * are per operation (and "as" is the caller's to choose), so a limit
 * keyed on them could be dodged by switching agents.
 */
static void
rate_of(const struct config *cfg, int class, unsigned *rate, unsigned *burst)
{
	*rate = class == RATE_VERIFY ? cfg->verify_rate_limit :
	    cfg->rate_limit;
	*burst = class == RATE_VERIFY ? 0 : cfg->rate_burst;
}

static int
rate_charge_at(struct request *r, int class, unsigned rate, unsigned burst)
{
	/* A worker's requests mostly come from one uid: its key, kept. */
	static _Thread_local struct {
		int		class;
		unsigned	uid;
		char		key[32];
	} last = { -1, 0, "" };
	unsigned	uid = (unsigned)r->peer->uid;

	if (last.class != class || last.uid != uid) {
		rate_key(last.key, class == RATE_VERIFY ? "verify:" : "uid:",
		    uid);
		last.class = class;
		last.uid = uid;
	}
	if (rate_take_burst(last.key, rate, burst) == 0)
		return (0);
	req_error(r, BATON_WIRE_ERATELIMIT, "rate limit of %u %s per second "
	    "exceeded", rate, class == RATE_VERIFY ? "verifies" : "requests");
	return (-1);
}

int
rate_charge(struct request *r, int class)
{
	struct config	*cfg;
	unsigned	 rate, burst;

	cfg = broker_config();
	rate_of(cfg, class, &rate, &burst);
	broker_config_release();
	return (rate_charge_at(r, class, rate, burst));
}

void
request_run(struct request *r)
{
	const struct op_entry	*e = NULL;
	struct config		*cfg;
	unsigned		 rate, burst;
	int			 admin, class;

	r->now = clock_now();
	r->reason = -1;
	if (r->op <= BATON_OP_MAX)
		e = op_table[r->op];
	if (e == NULL) {
		req_error(r, BATON_WIRE_EUNKNOWNOP, "unknown operation %u",
		    r->op);
		goto done;
	}
	/*
	 * Verifies and the other reads sign nothing and store nothing: a
	 * bucket of their own, so a tool server is not throttled by the
	 * limit on signing.  A verify that spends single-use jtis is
	 * charged to the other bucket as well, in op-verify.c.
	 */
	switch (r->op) {
	case BATON_OP_HELLO:
	case BATON_OP_VERIFY:
	case BATON_OP_INSPECT:
	case BATON_OP_PUBKEYS:
	case BATON_OP_STATUS:
		class = RATE_VERIFY;
		break;
	default:
		class = RATE_COSTLY;
		break;
	}
	cfg = broker_config();
	admin = e->admin && broker_is_admin(cfg, r->peer);
	rate_of(cfg, class, &rate, &burst);
	broker_config_release();
	if (rate_charge_at(r, class, rate, burst) != 0)
		goto done;
	if (e->admin && !admin) {
		req_error(r, BATON_WIRE_EPERM, "%s needs root or the admin "
		    "group", e->name);
		goto done;
	}
	if (e->exec(r) != 0 && r->status == BATON_WIRE_OK)
		req_error(r, BATON_WIRE_EINTERNAL, "internal error");
done:
	if (baton_wire_finish(&r->sb) == BATON_ETOOBIG) {
		req_error(r, BATON_WIRE_ETOOBIG, "answer too large");
		baton_wire_finish(&r->sb);
	}
	metrics_op(e != NULL ? (int)r->op : 0, r->status);
}

/* ---- start-up ---------------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f, "usage: batond [-fv] [-c file] [--socket path] "
	    "[--state-dir dir]\n"
	    "  -f, --foreground     stay in the foreground, log to stderr\n"
	    "  -c, --config FILE    configuration file (default %s)\n"
	    "  --socket PATH        listening socket (default %s)\n"
	    "  --state-dir DIR      keys and journal (default %s)\n"
	    "  -v, --verbose        log every decision\n"
	    "  --help, --version\n", BATOND_CONF, BATOND_SOCKET,
	    BATOND_STATE_DIR);
}

static void
harden(void)
{
	struct rlimit	rl = { 0, 0 };

	/* No core files and no ptrace by others: keys live in memory. */
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		fatal("setrlimit");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fatal("prctl");
	umask(077);
}

static int
check_state_dir(const char *dir, char **cause)
{
	struct stat	st;
	int		fd, rc = -1;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	/* fstat what we opened: a path can change between stat and use. */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
		xasprintf(cause, "%s: not a directory", dir);
		goto out;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		xasprintf(cause, "%s: must be owned by uid %u and not group- "
		    "or world-writable", dir, (unsigned)geteuid());
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	return (rc);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	char	*cause = NULL;

	(void)what;
	(void)arg;
	switch (sig) {
	case SIGHUP:
		log_info("SIGHUP: reloading");
		if (broker_reload(&cause) != 0)
			free(cause);
		break;
	case SIGTERM:
	case SIGINT:
		log_info("%s: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		broker.draining = 1;
		event_base_loopexit(main_base, NULL);
		break;
	}
}

static void
accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval	tv = { 0, BATOND_ACCEPT_PAUSE_MS * 1000 };

	(void)what;
	(void)arg;
	if (server_accept(fd) != 0) {
		/* Level-triggered: watching now would wake us at once. */
		event_del(ev_listen);
		evtimer_add(ev_listen_again, &tv);
	}
}

static void
listen_again_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (!broker.draining)
		event_add(ev_listen, NULL);
}

/* Compaction runs on a thread of its own: accepting must not wait. */
static void
compact_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	journal_compact_start();
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 'S' },
		{ "state-dir", required_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct event	*ev_hup, *ev_term, *ev_int, *ev_compact;
	struct timeval	 tv = { BATOND_COMPACT_INTERVAL, 0 };
	struct config	*cfg;
	sigset_t	 sigs;
	char		*cause = NULL, *sockpath;
	int		 ch, fg = 0, verbose = 0, lfd, activated = 0;

	while ((ch = getopt_long(argc, argv, "fc:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			fg = 1;
			break;
		case 'c':
			conf_path = optarg;
			break;
		case 'S':
			opt_socket = optarg;
			break;
		case 'D':
			opt_state_dir = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return (0);
		case 'V':
			printf("batond %s (protocol %d)\n", PACKAGE_VERSION,
			    BATON_WIRE_VERSION);
			return (0);
		default:
			usage(stderr);
			return (2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		return (2);
	}
	if (conf_path == NULL && access(BATOND_CONF, F_OK) == 0)
		conf_path = BATOND_CONF;

	harden();
	if (sodium_init() < 0)
		fatalx("libsodium cannot initialise");
	log_open(0, verbose);
	if ((cfg = load_config(&cause)) == NULL)
		fatalx("%s", cause);
	if (!fg || cfg->log_syslog)
		log_open(1, verbose);
	running_workers = cfg->workers;
	fit_descriptors(cfg);
	broker.cfg = cfg;
	broker.src = &source_switch;	/* sources.conf, else files */
	broker.uid = geteuid();
	broker.started = time(NULL);

	/*
	 * A file size limit (ulimit -f, LimitFSIZE=) must fail a write with
	 * EFBIG, which the journal refuses cleanly, not kill the broker.
	 */
	signal(SIGXFSZ, SIG_IGN);
	if (check_state_dir(cfg->state_dir, &cause) != 0 ||
	    keystore_open(cfg->state_dir, cfg->max_ttl, &cause) != 0 ||
	    trust_load(cfg, &cause) != 0 ||
	    journal_open(cfg->state_dir, &cause) != 0)
		fatalx("refusing to start: %s", cause);
	if (cfg->agents == NULL)
		log_warnx("DEVELOPMENT MODE: no agents-file; uid %u and root "
		    "may act as ANY agent, other uids as uid:N",
		    (unsigned)broker.uid);

	/*
	 * Hold the signals we handle until the event loop can take them: a
	 * SIGTERM just after the socket appears must drain, not kill.  The
	 * workers inherit the mask, so signals reach the main thread.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	if ((lfd = listen_systemd(&cause)) != -1)
		activated = 1;
	else if (cause != NULL)
		fatalx("refusing to start: %s", cause);
	else if ((lfd = listen_socket(cfg->socket_path, &cause)) == -1)
		fatalx("%s", cause);
	/* Workers may swap cfg on reload: keep what we created. */
	sockpath = xstrdup(cfg->socket_path);
	if (!fg && daemon(1, 0) != 0)
		fatal("daemon");

	signal(SIGPIPE, SIG_IGN);
	if ((main_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	/* After this, cfg belongs to the lock: reload may free it. */
	log_info("listening on %s, %u workers, state in %s",
	    activated ? "a socket from systemd" : cfg->socket_path,
	    cfg->workers, cfg->state_dir);
	tv.tv_sec = cfg->compact_interval;
	/*
	 * Keys read, socket bound, modules loaded, daemonized: from here on
	 * the broker needs only its steady-state system calls (sandbox.c).
	 */
	if (cfg->seccomp) {
		if (sandbox_install(&cause) != 0)
			fatalx("refusing to start: %s", cause);
		broker.sandboxed = 1;
		log_info("seccomp filter installed");
#ifdef BATOND_TEST_BUILD
		sandbox_test_forbidden(getenv("BATON_TEST_FORBIDDEN"));
#endif
	}
	server_start(cfg->workers);
	ev_listen = event_new(main_base, lfd, EV_READ | EV_PERSIST, accept_cb,
	    NULL);
	ev_listen_again = evtimer_new(main_base, listen_again_cb, NULL);
	ev_hup = evsignal_new(main_base, SIGHUP, signal_cb, NULL);
	ev_term = evsignal_new(main_base, SIGTERM, signal_cb, NULL);
	ev_int = evsignal_new(main_base, SIGINT, signal_cb, NULL);
	ev_compact = event_new(main_base, -1, EV_PERSIST, compact_cb, NULL);
	event_add(ev_listen, NULL);
	event_add(ev_hup, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_compact, &tv);
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);

	event_base_dispatch(main_base);

	/*
	 * Draining: no new connections; workers answer what they hold.  A
	 * second SIGTERM now must not kill us half-way through the exit once
	 * libevent puts the default handlers back: hold the signals again.
	 */
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	event_del(ev_listen);
	event_del(ev_listen_again);
	close(lfd);
	if (!activated)
		unlink(sockpath);
	server_drain();
	server_wait();
	event_free(ev_listen);
	event_free(ev_listen_again);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_compact);
	event_base_free(main_base);
	journal_close();
	keystore_close();
	stacks_release(broker.cfg->stacks);
	config_free(broker.cfg);
	free(sockpath);
	log_info("exiting");
	return (0);
}
