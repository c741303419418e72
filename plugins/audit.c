/*
 * audit.c: baton_audit(8), one JSON line per decision, appended to a file,
 * each line carrying the BLAKE2b-256 hash of the line before it, so that
 * changing, removing or inserting a line breaks the chain that
 * `baton audit-check` follows.  Tokens are never written: jtis only.
 *
 * Several stack lines (and the old and new configuration during a
 * reload) may name the same file: they share one descriptor, one queue and
 * one chain head, kept per path for the life of the process.
 *
 * Writing is off the request path: a decision's record is queued, and one
 * writer thread per file chains and appends whatever has queued with one
 * write(2), within about AUDIT_GATHER (10 ms).  Once woken the writer lets
 * a batch gather that long first: woken per decision, its wake-up, write
 * and context switch cost a verify more than half again on two cores, and
 * woken every millisecond it still moved the client and the worker
 * between the cores often enough to cost a verify 28-38 % at the median
 * (bench/RESULTS.md); every 10 ms it is lost in the noise.  A full queue
 * makes deciders wait, never drops a record; releasing a configuration
 * (reload, exit) waits until everything queued is written.
 */

#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <baton/module.h>

#define AUDIT_HASH_LEN	32
#define AUDIT_LINE_MAX	16384
#define AUDIT_TAIL	65536
#define AUDIT_QUEUE	65536		/* records queued before deciders wait */
#define AUDIT_GATHER	10000000	/* ns a woken writer lets a batch gather */

struct rec {
	struct rec	*next;
	size_t		 len;
	char		 body[];	/* the record up to its "prev" */
};

struct trail {
	struct trail	*next;
	char		*path;
	int		 fd;
	char		 prev[AUDIT_HASH_LEN * 2 + 1];	/* the writer's */
	const struct baton_host *host;
	pthread_mutex_t	 lock;
	pthread_cond_t	 more, drained;
	struct rec	*head, *tail;
	size_t		 queued;	/* records not yet written */
	int		 started;	/* the writer thread runs */
};

struct audit {
	const struct baton_host	*host;
	struct trail		*trail;
};

static pthread_mutex_t	 trails_lock = PTHREAD_MUTEX_INITIALIZER;
static struct trail	*trails;

static void
hash_hex(char out[AUDIT_HASH_LEN * 2 + 1], const char *line, size_t len)
{
	uint8_t	h[AUDIT_HASH_LEN];

	crypto_generichash(h, sizeof h, (const uint8_t *)line, len, NULL, 0);
	sodium_bin2hex(out, AUDIT_HASH_LEN * 2 + 1, h, sizeof h);
}

/* The chain head: the hash of the last complete line, or all zeros. */
static int
seed(struct trail *t, char *err, size_t errlen)
{
	struct stat	 st;
	char		*buf, *end, *start;
	off_t		 off;
	ssize_t		 n;
	size_t		 len;

	memset(t->prev, '0', AUDIT_HASH_LEN * 2);
	t->prev[AUDIT_HASH_LEN * 2] = '\0';
	if (fstat(t->fd, &st) != 0 || st.st_size == 0)
		return (0);
	off = st.st_size > AUDIT_TAIL ? st.st_size - AUDIT_TAIL : 0;
	len = (size_t)(st.st_size - off);
	if ((buf = malloc(len + 1)) == NULL)
		abort();
	n = pread(t->fd, buf, len, off);
	if (n != (ssize_t)len) {
		snprintf(err, errlen, "%s: cannot read its tail", t->path);
		free(buf);
		return (-1);
	}
	buf[len] = '\0';
	/* The last line ends with the file's last newline. */
	for (end = buf + len; end > buf && end[-1] != '\n'; end--)
		;
	if (end == buf) {
		snprintf(err, errlen, "%s: no complete line in its last %d "
		    "bytes", t->path, AUDIT_TAIL);
		free(buf);
		return (-1);
	}
	end--;
	for (start = end; start > buf && start[-1] != '\n'; start--)
		;
	if (start == buf && off > 0) {
		snprintf(err, errlen, "%s: last line too long", t->path);
		free(buf);
		return (-1);
	}
	hash_hex(t->prev, start, (size_t)(end - start));
	free(buf);
	return (0);
}

static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

/* Take what has queued, chain it, append it with one write. */
static void *
trail_writer(void *arg)
{
	struct trail	*t = arg;
	struct rec	*batch, *r, *next;
	const struct timespec gather = { 0, AUDIT_GATHER };
	char		*out = NULL;
	size_t		 cap = 0, len, n, need;

	for (;;) {
		pthread_mutex_lock(&t->lock);
		while (t->head == NULL)
			pthread_cond_wait(&t->more, &t->lock);
		/*
		 * Deciders signal a writer that is not waiting for nothing
		 * (no system call): while it sleeps here they queue freely.
		 */
		if (t->queued < AUDIT_QUEUE / 2) {
			pthread_mutex_unlock(&t->lock);
			nanosleep(&gather, NULL);
			pthread_mutex_lock(&t->lock);
		}
		batch = t->head;
		t->head = t->tail = NULL;
		pthread_mutex_unlock(&t->lock);
		len = n = 0;
		for (r = batch; r != NULL; r = r->next) {
			need = len + r->len + sizeof ",\"prev\":\"\"}\n" +
			    AUDIT_HASH_LEN * 2;
			if (need > cap) {
				cap = need * 2;
				if ((out = realloc(out, cap)) == NULL)
					abort();
			}
			memcpy(out + len, r->body, r->len);
			n = len;
			len += r->len;
			len += (size_t)snprintf(out + len, cap - len,
			    ",\"prev\":\"%s\"}", t->prev);
			hash_hex(t->prev, out + n, len - n);
			out[len++] = '\n';
		}
		if (write_all(t->fd, out, len) != 0)
			t->host->log(BATON_LOG_WARN, "audit %s: write failed: "
			    "%s", t->path, strerror(errno));
		n = 0;
		for (r = batch; r != NULL; r = next) {
			next = r->next;
			free(r);
			n++;
		}
		pthread_mutex_lock(&t->lock);
		t->queued -= n;
		pthread_cond_broadcast(&t->drained);
		pthread_mutex_unlock(&t->lock);
	}
	return (NULL);
}

static struct trail *
trail_open(const struct baton_host *host, const char *path, char *err,
    size_t errlen)
{

	struct trail	*t;
	struct stat	 st;

	pthread_mutex_lock(&trails_lock);
	for (t = trails; t != NULL; t = t->next)
		if (strcmp(t->path, path) == 0)
			goto out;
	if ((t = calloc(1, sizeof *t)) == NULL || (t->path = strdup(path)) ==
	    NULL)
		abort();
	t->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW | O_NOCTTY, 0600);
	if (t->fd == -1) {
		snprintf(err, errlen, "%s: %s", path, errno == ELOOP ?
		    "is a symbolic link" : strerror(errno));
		goto fail;
	}
	if (fstat(t->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 022) != 0) {
		snprintf(err, errlen, "%s: must be a regular file, not group- "
		    "or world-writable", path);
		goto fail;
	}
	if (seed(t, err, errlen) != 0)
		goto fail;
	t->host = host;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->more, NULL);
	pthread_cond_init(&t->drained, NULL);
	t->next = trails;
	trails = t;
out:
	pthread_mutex_unlock(&trails_lock);
	return (t);
fail:
	if (t->fd != -1)
		close(t->fd);
	free(t->path);
	free(t);
	pthread_mutex_unlock(&trails_lock);
	return (NULL);
}

static int
audit_init(const struct baton_host *host, int argc, char *const *argv,
    void **state, char *err, size_t errlen)
{
	struct audit	*a;
	const char	*path = NULL;
	int		 i;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium cannot initialise");
		return (-1);
	}
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "file=", 5) == 0 && path == NULL &&
		    argv[i][5] == '/') {
			path = argv[i] + 5;
			continue;
		}
		snprintf(err, errlen, "bad argument \"%.64s\" (expected "
		    "file=/ABSOLUTE/PATH once)", argv[i]);
		return (-1);
	}
	if (path == NULL) {
		snprintf(err, errlen, "file=/ABSOLUTE/PATH is required");
		return (-1);
	}
	if ((a = calloc(1, sizeof *a)) == NULL)
		abort();
	a->host = host;
	if ((a->trail = trail_open(host, path, err, errlen)) == NULL) {
		free(a);
		return (-1);
	}
	*state = a;
	return (0);
}

/* A bounded line under construction; overflow marks it, never writes past. */
struct line {
	char	buf[AUDIT_LINE_MAX];
	size_t	len;
	int	full;
};

static void
put(struct line *l, const char *s, size_t n)
{
	if (l->full || n >= sizeof l->buf - l->len) {
		l->full = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void
put_str(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void
put_json(struct line *l, const char *s)
{
	char	esc[8];

	if (s == NULL) {
		put_str(l, "null");
		return;
	}
	put_str(l, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = *s;
			put(l, esc, 2);
		} else if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			snprintf(esc, sizeof esc, "\\u%04x", (unsigned char)*s);
			put_str(l, esc);
		} else
			put(l, s, 1);
	}
	put_str(l, "\"");
}

static void
put_field(struct line *l, const char *key, const char *value)
{
	put_str(l, ",\"");
	put_str(l, key);
	put_str(l, "\":");
	put_json(l, value);
}

/*
 * The writer starts with the first record, not at init: batond loads its
 * configuration before it forks into the background, and threads do not
 * survive a fork.  Called with t->lock held.
 */
static int
start_writer(struct trail *t)
{
	pthread_t	tid;
	sigset_t	all, old;
	int		rc;

	/* The broker's signals are for its main thread, not this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&tid, NULL, trail_writer, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return (-1);
	pthread_detach(tid);
	t->started = 1;
	return (0);
}

static void
audit_observe(void *state, const struct baton_decision *d)
{
	static __thread struct line	 l;
	struct audit			*a = state;
	const struct baton_host		*h = a->host;
	struct trail			*t = a->trail;
	struct rec			*r;
	const uint8_t			*jti;
	char				 num[64], hex[40];
	size_t				 i, n, first = 1;

	l.len = 0;
	l.full = 0;
	snprintf(num, sizeof num, "{\"time\":%llu",
	    (unsigned long long)h->now());
	put_str(&l, num);
	put_field(&l, "service", h->service(d));
	put_field(&l, "op", h->op(d));
	put_field(&l, "agent", h->agent(d));
	put_field(&l, "tool", h->tool(d));
	put_field(&l, "action", h->action(d));
	put_field(&l, "audience", h->audience(d));
	put_field(&l, "decision", h->allowed(d) ? "allow" : "deny");
	put_field(&l, "reason", h->reason(d));
	put_field(&l, "message", h->message(d));
	snprintf(num, sizeof num, ",\"uid\":%u", (unsigned)h->peer_uid(d));
	put_str(&l, num);
	put_str(&l, ",\"jtis\":[");
	n = h->chain_len(d);
	for (i = 0; i < n; i++) {
		if ((jti = h->chain_jti(d, i)) == NULL)
			continue;
		sodium_bin2hex(hex, sizeof hex, jti, 16);
		put_str(&l, first ? "\"" : ",\"");
		put_str(&l, hex);
		put_str(&l, "\"");
		first = 0;
	}
	put_str(&l, "]");
	if (l.full) {
		h->log(BATON_LOG_WARN, "audit %s: record too long, not "
		    "written", t->path);
		return;
	}
	if ((r = malloc(sizeof *r + l.len)) == NULL)
		abort();
	r->next = NULL;
	r->len = l.len;
	memcpy(r->body, l.buf, l.len);
	pthread_mutex_lock(&t->lock);
	if (!t->started && start_writer(t) != 0) {
		pthread_mutex_unlock(&t->lock);
		h->log(BATON_LOG_WARN, "audit %s: cannot start its writer",
		    t->path);
		free(r);
		return;
	}
	while (t->queued >= AUDIT_QUEUE)
		pthread_cond_wait(&t->drained, &t->lock);
	if (t->tail != NULL)
		t->tail->next = r;
	else
		t->head = r;
	t->tail = r;
	t->queued++;
	pthread_cond_signal(&t->more);
	pthread_mutex_unlock(&t->lock);
}

static void
audit_fini(void *state)
{
	struct audit	*a = state;
	struct trail	*t = a->trail;

	/*
	 * The trail stays open (another configuration may share it), but
	 * what this one queued is on disk before it is gone.
	 */
	pthread_mutex_lock(&t->lock);
	while (t->queued > 0)
		pthread_cond_wait(&t->drained, &t->lock);
	pthread_mutex_unlock(&t->lock);
	free(a);
}

static const struct baton_module audit = {
	.magic = BATON_MODULE_MAGIC,
	.abi = BATON_MODULE_ABI,
	.size = sizeof(struct baton_module),
	.name = "audit",
	.init = audit_init,
	.observe = audit_observe,
	.fini = audit_fini,
};

BATON_MODULE_EXPORT const struct baton_module *baton_module_entry(void);

const struct baton_module *
baton_module_entry(void)
{
	return (&audit);
}
