/*
 * audit.c: baton_audit(8), one JSON line per decision, appended to a file,
 * each line carrying the BLAKE2b-256 hash of the line before it, so that
 * changing, removing or inserting a line breaks the chain that
 * `baton audit-check` follows.  Tokens are never written: jtis only.
 *
 * Several stack lines (and the old and new configuration during a
 * reload) may name the same file: they share one descriptor and one
 * chain head, kept per path for the life of the process.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include <baton/module.h>

#define AUDIT_HASH_LEN	32
#define AUDIT_LINE_MAX	16384
#define AUDIT_TAIL	65536

struct trail {
	struct trail	*next;
	char		*path;
	int		 fd;
	char		 prev[AUDIT_HASH_LEN * 2 + 1];
	pthread_mutex_t	 lock;
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

static struct trail *
trail_open(const char *path, char *err, size_t errlen)
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
	pthread_mutex_init(&t->lock, NULL);
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
	if ((a->trail = trail_open(path, err, errlen)) == NULL) {
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

static void
audit_observe(void *state, const struct baton_decision *d)
{
	struct audit		*a = state;
	const struct baton_host	*h = a->host;
	struct trail		*t = a->trail;
	struct line		*l;
	const uint8_t		*jti;
	char			 num[64], hex[40];
	size_t			 i, n;
	ssize_t			 w;

	if ((l = calloc(1, sizeof *l)) == NULL)
		abort();
	snprintf(num, sizeof num, "{\"time\":%llu",
	    (unsigned long long)h->now());
	put_str(l, num);
	put_field(l, "service", h->service(d));
	put_field(l, "op", h->op(d));
	put_field(l, "agent", h->agent(d));
	put_field(l, "tool", h->tool(d));
	put_field(l, "action", h->action(d));
	put_field(l, "audience", h->audience(d));
	put_field(l, "decision", h->allowed(d) ? "allow" : "deny");
	put_field(l, "reason", h->reason(d));
	put_field(l, "message", h->message(d));
	snprintf(num, sizeof num, ",\"uid\":%u", (unsigned)h->peer_uid(d));
	put_str(l, num);
	put_str(l, ",\"jtis\":[");
	n = h->chain_len(d);
	for (i = 0; i < n; i++) {
		if ((jti = h->chain_jti(d, i)) == NULL)
			continue;
		sodium_bin2hex(hex, sizeof hex, jti, 16);
		put_str(l, i > 0 ? ",\"" : "\"");
		put_str(l, hex);
		put_str(l, "\"");
	}
	put_str(l, "]");
	pthread_mutex_lock(&t->lock);
	put_str(l, ",\"prev\":\"");
	put_str(l, t->prev);
	put_str(l, "\"}");
	if (l->full) {
		pthread_mutex_unlock(&t->lock);
		h->log(BATON_LOG_WARN, "audit %s: record too long, not "
		    "written", t->path);
		free(l);
		return;
	}
	/* One write per line: O_APPEND keeps lines whole. */
	l->buf[l->len] = '\n';
	w = write(t->fd, l->buf, l->len + 1);
	if (w == (ssize_t)(l->len + 1))
		hash_hex(t->prev, l->buf, l->len);
	pthread_mutex_unlock(&t->lock);
	if (w != (ssize_t)(l->len + 1))
		h->log(BATON_LOG_WARN, "audit %s: write failed: %s", t->path,
		    w == -1 ? strerror(errno) : "short write");
	free(l);
}

static void
audit_fini(void *state)
{
	/* The trail stays open: another configuration may share it. */
	free(state);
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
