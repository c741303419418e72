/* log.c: logging to stderr or syslog, and allocation that may be fatal. */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "batond.h"

static int	log_to_syslog;
static int	log_verbose;

void
log_open(int use_syslog, int verbose)
{
	log_to_syslog = use_syslog;
	log_verbose = verbose;
	if (use_syslog)
		openlog("batond", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

#define LOG_PREFIX	"batond: "
#define LOG_PREFIX_LEN	(sizeof(LOG_PREFIX) - 1)

/*
 * line holds LOG_PREFIX_LEN bytes of room, then the message (at most 1023
 * bytes and a NUL), then room for a newline.
 */
/*
 * Tool names, agent ids and messages come from clients: a newline or
 * escape in one must not forge a log line or drive a terminal.  C0 and
 * DEL become '?'; eight bytes are looked at a time (a byte below 0x20
 * borrows into its top bit, and so does 0x7f xored to zero), and only a
 * word with one is rewritten.  The end of the string.
 */
static char *
log_clean(char *p)
{
	const uint64_t	ones = 0x0101010101010101ULL;
	const uint64_t	tops = 0x8080808080808080ULL;
	uint64_t	w, x;
	size_t		len = strlen(p), i, k;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		x = w ^ (0x7f * ones);
		if (((((w - 0x20 * ones) & ~w) | ((x - ones) & ~x)) & tops) == 0)
			continue;
		for (k = i; k < i + 8; k++)
			if ((unsigned char)p[k] < 0x20 || p[k] == 0x7f)
				p[k] = '?';
	}
	for (; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			p[i] = '?';
	return (p + len);
}

static void
log_line(int pri, char *line)
{
	char	*buf = line + LOG_PREFIX_LEN, *p, *q;
	ssize_t	 n;

	memcpy(line, LOG_PREFIX, LOG_PREFIX_LEN);
	p = log_clean(buf);
	if (log_to_syslog)
		syslog(pri, "%s", buf);
	else {
		/*
		 * One write, as unbuffered stderr makes it, without stdio;
		 * the rest if a pipe took only part of it.
		 */
		*p++ = '\n';
		q = line;
		while (q < p) {
			n = write(STDERR_FILENO, q, (size_t)(p - q));
			if (n > 0)
				q += n;
			else if (n == 0 || errno != EINTR)
				break;
		}
	}
}

static void
log_vwrite(int pri, const char *fmt, va_list ap)
{
	char	line[LOG_PREFIX_LEN + 1024 + 1];

	/* the message goes after the prefix: formatted once, one write */
	vsnprintf(line + LOG_PREFIX_LEN, 1024, fmt, ap);
	log_line(pri, line);
}

/* A message built by the caller, as log_info("%s", msg) would log it. */
void
log_info_str(const char *msg)
{
	char	line[LOG_PREFIX_LEN + 1024 + 1];
	size_t	len = strlen(msg);

	if (len > 1023)
		len = 1023;
	memcpy(line + LOG_PREFIX_LEN, msg, len);
	line[LOG_PREFIX_LEN + len] = '\0';
	log_line(LOG_INFO, line);
}

static void __attribute__((format(printf, 2, 3)))
log_write(int pri, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(pri, fmt, ap);
	va_end(ap);
}

/*
 * At most one line a second per key, for lines a peer can make us repeat
 * (a client reconnecting in a loop, an accept that keeps failing): a flood
 * must not fill the disk or the journal.  The first line of a new second
 * says how many the last one held back.
 */
#define LOG_LIMIT_KEYS	16

static struct {
	pthread_mutex_t	lock;
	struct {
		char		key[32];
		time_t		sec;
		unsigned long	held;
	} k[LOG_LIMIT_KEYS];
} ll = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
log_vlimited(int pri, const char *key, const char *fmt, va_list ap)
{
	struct timespec	ts;
	char		buf[1024];
	unsigned long	held;
	size_t		i, oldest = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&ll.lock);
	for (i = 0; i < LOG_LIMIT_KEYS; i++) {
		if (strcmp(ll.k[i].key, key) == 0)
			break;
		if (ll.k[i].sec < ll.k[oldest].sec)
			oldest = i;
	}
	if (i == LOG_LIMIT_KEYS) {
		i = oldest;
		snprintf(ll.k[i].key, sizeof ll.k[i].key, "%s", key);
		ll.k[i].sec = 0;
		ll.k[i].held = 0;
	} else if (ll.k[i].sec == ts.tv_sec) {
		ll.k[i].held++;
		pthread_mutex_unlock(&ll.lock);
		return;
	}
	ll.k[i].sec = ts.tv_sec;
	held = ll.k[i].held;
	ll.k[i].held = 0;
	pthread_mutex_unlock(&ll.lock);

	vsnprintf(buf, sizeof buf, fmt, ap);
	if (held != 0)
		log_write(pri, "%s (%lu like it suppressed)", buf, held);
	else
		log_write(pri, "%s", buf);
}

void
log_info_limited(const char *key, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlimited(LOG_INFO, key, fmt, ap);
	va_end(ap);
}

void
log_warnx_limited(const char *key, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlimited(LOG_WARNING, key, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, fmt, ap);
	va_end(ap);
}

int
log_debugging(void)
{
	return (log_verbose);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	char	buf[1024];
	int	saved = errno;
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_warnx("fatal: %s: %s", buf, strerror(saved));
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;
	char	buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_warnx("fatal: %s", buf);
	exit(1);
}

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		fatal("malloc");
	return (p);
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		fatal("calloc");
	return (p);
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		fatalx("reallocarray overflow");
	if ((p = realloc(p, n * size == 0 ? 1 : n * size)) == NULL)
		fatal("realloc");
	return (p);
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return (p);
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("strndup");
	return (p);
}

int
xasprintf(char **out, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vasprintf(out, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("vasprintf");
	return (n);
}
