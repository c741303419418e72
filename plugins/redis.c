/*
 * redis.c: baton_redis(8), the "redis" lookup source: revocation and
 * replay state shared through one Redis by brokers on several hosts.
 *
 * Keys, under redis-prefix (default "baton:"):
 *
 *	PREFIXr:{JTI}		a revocation; expires with the block it names
 *	PREFIXs:{ROOT}:JTI	a spent single-use jti; ROOT (block 0's jti of
 *				its chain) is a hash tag, so every key one
 *				spend touches lives in one Cluster slot
 *	PREFIXmarker		written at first connect; its absence later
 *				means Redis lost what it held
 *
 * A spend is one Lua script: every key checked, then every key set with
 * its expiry, or none (Redis runs a script alone, so two brokers racing
 * for one jti get one 0 and one refusal).  A revocation is answered only
 * after Redis acknowledged the SET.
 *
 * The local tier remembers what this broker saw revoked or spent, until
 * it expires, and answers those without a network trip; "not revoked"
 * and "spend now" always ask Redis.  Each worker thread has its own
 * connection (thread-specific data), reconnecting with a doubling
 * backoff.  When Redis cannot be reached, or came back without the
 * marker this broker remembers (in STATE_DIR/redis-marker), the source
 * answers UNAVAIL (sources.conf decides what that means) until it can,
 * or until an operator acknowledges the loss (baton redis-ack).
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include <baton/module.h>

#define RS_JTI		16
#define RS_HEX		(RS_JTI * 2 + 1)
#define RS_KEY_MAX	160
#define RS_MAX_JTIS	64		/* a chain and a lineage, with room */
#define RS_MARKER_EVERY	1000000ULL	/* usec between marker checks */
#define RS_BACKOFF_MIN	50000ULL	/* usec */
#define RS_PASSWORD_MAX	512

/* Spend all or none; returns 0, or the 1-based index of a spent key. */
static const char spend_lua[] =
    "for i=1,#KEYS do "
    "if redis.call('EXISTS',KEYS[i])==1 then return i end "
    "end "
    "for i=1,#KEYS do "
    "redis.call('SET',KEYS[i],'1','EX',tonumber(ARGV[i])) "
    "end "
    "return 0";

struct conn {
	redisContext	*c;
	uint64_t	 next_try;	/* usec: no attempt before */
	uint64_t	 backoff;	/* usec */
	uint64_t	 checked;	/* usec: marker last seen */
	char		 sha[41];	/* the spend script, loaded */
	struct conn	*next;		/* the instance's, for fini */
};

/* The local tier: jti -> (root, until), open addressing. */
struct centry {
	uint8_t		 jti[RS_JTI];
	uint8_t		 root[RS_JTI];
	uint64_t	 until;		/* unix seconds; 0: empty slot */
};

struct cache {
	struct centry	*slot;
	size_t		 cap, n;	/* cap: a power of two, or 0: off */
};

struct rs {
	const struct baton_host	*h;
	char			 addr[300];	/* as configured, for messages */
	char			 path[108];	/* unix: */
	char			 host[256];
	int			 port;		/* 0: unix */
	unsigned		 db;
	char			 prefix[65];
	char			*password;	/* NULL: no AUTH */
	unsigned		 connect_ms, timeout_ms, retry_max_ms;
	char			 marker_file[PATH_MAX];
	pthread_key_t		 key;
	pthread_mutex_t		 lock;		/* everything below */
	struct conn		*conns;
	struct cache		 rev;		/* revoked jtis */
	struct cache		 spent;		/* spent jtis, with roots */
	char			 marker[RS_HEX];	/* "" until known */
	int			 lost;		/* came back empty: refuse */
	int			 down;
	char			 why[200];
};

static void
hex(char *out, const uint8_t *in)
{
	static const char	d[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < RS_JTI; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * RS_JTI] = '\0';
}

static void
key_revoked(const struct rs *rs, char *out, const uint8_t *jti)
{
	char	x[RS_HEX];

	hex(x, jti);
	snprintf(out, RS_KEY_MAX, "%sr:{%s}", rs->prefix, x);
}

static void
key_spent(const struct rs *rs, char *out, const uint8_t *root,
    const uint8_t *jti)
{
	char	x[RS_HEX], y[RS_HEX];

	hex(y, jti);
	if (root == NULL) {
		snprintf(out, RS_KEY_MAX, "%ss:{baton}:%s", rs->prefix, y);
		return;
	}
	hex(x, root);
	snprintf(out, RS_KEY_MAX, "%ss:{%s}:%s", rs->prefix, x, y);
}

static void
count(const struct rs *rs, const char *name)
{
	if (BATON_HAS(rs->h, count) && rs->h->count != NULL)
		rs->h->count(name);
}

/* ---- the local tier -------------------------------------------------------- */

static size_t
slot_of(const struct cache *c, const uint8_t *jti)
{
	uint64_t	v;

	memcpy(&v, jti, sizeof v);	/* jtis are random */
	return ((size_t)v & (c->cap - 1));
}

/* Until when jti is known here, 0 if not; lock held. */
static uint64_t
cache_find(const struct cache *c, const uint8_t *jti, uint64_t now)
{
	size_t	i, k;

	if (c->cap == 0)
		return (0);
	for (i = slot_of(c, jti), k = 0; k < c->cap; i = (i + 1) & (c->cap - 1),
	    k++) {
		if (c->slot[i].until == 0)
			return (0);
		if (memcmp(c->slot[i].jti, jti, RS_JTI) == 0)
			return (c->slot[i].until > now ? c->slot[i].until : 0);
	}
	return (0);
}

/* Drop what expired, rehashing the rest in place of a new table. */
static void
cache_sweep(struct cache *c, uint64_t now)
{
	struct centry	*old = c->slot;
	size_t		 i, j;

	c->slot = calloc(c->cap, sizeof *c->slot);
	if (c->slot == NULL) {
		c->slot = old;
		return;
	}
	c->n = 0;
	for (i = 0; i < c->cap; i++) {
		if (old[i].until <= now)
			continue;
		for (j = slot_of(c, old[i].jti); c->slot[j].until != 0;
		    j = (j + 1) & (c->cap - 1))
			;
		c->slot[j] = old[i];
		c->n++;
	}
	free(old);
}

/* Remember jti until; a full tier forgets nothing live, it just skips. */
static void
cache_add(struct cache *c, const uint8_t *jti, const uint8_t *root,
    uint64_t until, uint64_t now)
{
	size_t	i;

	if (c->cap == 0 || until <= now)
		return;
	if (c->n >= c->cap / 4 * 3)
		cache_sweep(c, now);
	if (c->n >= c->cap / 4 * 3)
		return;
	for (i = slot_of(c, jti); c->slot[i].until != 0;
	    i = (i + 1) & (c->cap - 1)) {
		if (memcmp(c->slot[i].jti, jti, RS_JTI) == 0) {
			if (until > c->slot[i].until)
				c->slot[i].until = until;
			return;
		}
	}
	memcpy(c->slot[i].jti, jti, RS_JTI);
	if (root != NULL)
		memcpy(c->slot[i].root, root, RS_JTI);
	else
		memset(c->slot[i].root, 0, RS_JTI);
	c->slot[i].until = until;
	c->n++;
}

/* ---- state: up, down, lost --------------------------------------------------- */

static void
set_down(struct rs *rs, const char *what, const char *detail)
{
	int	was;

	pthread_mutex_lock(&rs->lock);
	was = rs->down;
	rs->down = 1;
	snprintf(rs->why, sizeof rs->why, "%s: %s", what, detail);
	pthread_mutex_unlock(&rs->lock);
	if (!was)
		rs->h->log(BATON_LOG_WARN, "redis (%s): unavailable, "
		    "failing closed: %s: %s", rs->addr, what, detail);
}

static void
set_up(struct rs *rs)
{
	int	was;

	pthread_mutex_lock(&rs->lock);
	was = rs->down;
	rs->down = 0;
	pthread_mutex_unlock(&rs->lock);
	if (was) {
		count(rs, "source_reconnects");
		rs->h->log(BATON_LOG_INFO, "redis (%s): available again",
		    rs->addr);
	}
}

static int
is_lost(struct rs *rs)
{
	int	l;

	pthread_mutex_lock(&rs->lock);
	l = rs->lost;
	pthread_mutex_unlock(&rs->lock);
	return (l);
}

static void
drop(struct conn *cn)
{
	if (cn->c != NULL)
		redisFree(cn->c);
	cn->c = NULL;
	cn->sha[0] = '\0';
}

/* Remember the marker across restarts: write it next to the journal. */
static void
marker_save(struct rs *rs, const char *m)
{
	char	tmp[PATH_MAX + 8];
	int	fd;

	if (rs->marker_file[0] == '\0')
		return;
	snprintf(tmp, sizeof tmp, "%s.%p", rs->marker_file, (void *)rs);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1)
		goto fail;
	if (write(fd, m, strlen(m)) != (ssize_t)strlen(m) || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		goto fail;
	}
	close(fd);
	if (rename(tmp, rs->marker_file) != 0) {
		unlink(tmp);
		goto fail;
	}
	return;
fail:
	rs->h->log(BATON_LOG_WARN, "redis: cannot keep the marker in %s: %s",
	    rs->marker_file, strerror(errno));
}

static void
marker_load(struct rs *rs)
{
	char	buf[RS_HEX + 1];
	ssize_t	n;
	int	fd;

	if (rs->marker_file[0] == '\0')
		return;
	if ((fd = open(rs->marker_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1)
		return;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n == RS_HEX - 1) {
		buf[n] = '\0';
		memcpy(rs->marker, buf, RS_HEX);
	}
}

/*
 * Compare Redis's marker with ours.  None anywhere: write one (NX: the
 * first broker wins, the others adopt it).  Ours but none in Redis, or
 * another: Redis lost what it held; refuse until acknowledged.  0 when
 * the connection works, -1 on an I/O or protocol failure.
 */
static int
marker_check(struct rs *rs, struct conn *cn, int adopt)
{
	redisReply	*r;
	char		 key[RS_KEY_MAX], fresh[RS_HEX], seen[RS_HEX] = "";
	uint8_t		 rnd[RS_JTI];
	int		 lost = 0, saved = 0;

	snprintf(key, sizeof key, "%smarker", rs->prefix);
	if ((r = redisCommand(cn->c, "GET %s", key)) == NULL)
		return (-1);
	if (r->type == REDIS_REPLY_STRING && r->len == RS_HEX - 1)
		memcpy(seen, r->str, RS_HEX);
	else if (r->type != REDIS_REPLY_NIL) {
		set_down(rs, "marker", r->type == REDIS_REPLY_ERROR ? r->str :
		    "unexpected reply");
		freeReplyObject(r);
		return (-1);
	}
	freeReplyObject(r);
	pthread_mutex_lock(&rs->lock);
	if (seen[0] == '\0' && rs->marker[0] != '\0' && !adopt)
		lost = 1;
	else if (seen[0] != '\0' && rs->marker[0] != '\0' &&
	    strcmp(seen, rs->marker) != 0 && !adopt)
		lost = 1;
	if (lost && !rs->lost) {
		rs->lost = 1;
		pthread_mutex_unlock(&rs->lock);
		count(rs, "source_lost_state");
		rs->h->log(BATON_LOG_WARN, "WARNING: redis (%s): Redis "
		    "lost its data (marker %s, expected %s): revocations and "
		    "spent single-use tokens other brokers recorded may be "
		    "gone; refusing until an operator runs baton redis-ack",
		    rs->addr,
		    seen[0] != '\0' ? seen : "missing", rs->marker);
		return (0);
	}
	pthread_mutex_unlock(&rs->lock);
	if (lost)
		return (0);
	if (seen[0] == '\0') {
		randombytes_buf(rnd, sizeof rnd);
		hex(fresh, rnd);
		if ((r = redisCommand(cn->c, "SET %s %s NX", key, fresh)) ==
		    NULL)
			return (-1);
		freeReplyObject(r);
		if ((r = redisCommand(cn->c, "GET %s", key)) == NULL)
			return (-1);
		if (r->type == REDIS_REPLY_STRING && r->len == RS_HEX - 1)
			memcpy(seen, r->str, RS_HEX);
		freeReplyObject(r);
		if (seen[0] == '\0')
			return (-1);
	}
	pthread_mutex_lock(&rs->lock);
	if (strcmp(rs->marker, seen) != 0) {
		memcpy(rs->marker, seen, RS_HEX);
		saved = 1;
	}
	pthread_mutex_unlock(&rs->lock);
	if (saved)
		marker_save(rs, seen);
	return (0);
}

/* ---- connections --------------------------------------------------------- */

static int
session_start(struct rs *rs, struct conn *cn)
{
	redisReply	*r;

	if (rs->password != NULL) {
		/* The password goes on the wire, never into a message. */
		if ((r = redisCommand(cn->c, "AUTH %s", rs->password)) == NULL)
			return (-1);
		if (r->type == REDIS_REPLY_ERROR) {
			set_down(rs, "AUTH refused", r->str);
			freeReplyObject(r);
			return (-1);
		}
		freeReplyObject(r);
	}
	if (rs->db != 0) {
		if ((r = redisCommand(cn->c, "SELECT %u", rs->db)) == NULL)
			return (-1);
		if (r->type == REDIS_REPLY_ERROR) {
			set_down(rs, "SELECT refused", r->str);
			freeReplyObject(r);
			return (-1);
		}
		freeReplyObject(r);
	}
	if ((r = redisCommand(cn->c, "SCRIPT LOAD %s", spend_lua)) == NULL)
		return (-1);
	if (r->type != REDIS_REPLY_STRING || r->len != 40) {
		set_down(rs, "SCRIPT LOAD refused", r->type ==
		    REDIS_REPLY_ERROR ? r->str : "unexpected reply");
		freeReplyObject(r);
		return (-1);
	}
	memcpy(cn->sha, r->str, 40);
	cn->sha[40] = '\0';
	freeReplyObject(r);
	return (0);
}

/*
 * This thread's connection, connected and checked, or NULL (the source
 * is then unavailable for this request: no waiting on a dead server).
 * While backing off no attempt is made unless now_or_never.
 */
static struct conn *
conn_get(struct rs *rs, int now_or_never)
{
	struct conn	*cn = pthread_getspecific(rs->key);
	struct timeval	 tv;
	uint64_t	 now = rs->h->clock_usec();

	if (cn == NULL) {
		if ((cn = calloc(1, sizeof *cn)) == NULL)
			return (NULL);
		pthread_mutex_lock(&rs->lock);
		cn->next = rs->conns;
		rs->conns = cn;
		pthread_mutex_unlock(&rs->lock);
		pthread_setspecific(rs->key, cn);
	}
	if (cn->c != NULL) {
		if (now - cn->checked < RS_MARKER_EVERY)
			return (cn);
		if (marker_check(rs, cn, 0) == 0) {
			cn->checked = now;
			return (cn);
		}
		/* Stale (Redis restarted?): one fresh attempt at once. */
		drop(cn);
		cn->next_try = 0;
	}
	if (now < cn->next_try && !now_or_never)
		return (NULL);
	tv.tv_sec = rs->connect_ms / 1000;
	tv.tv_usec = (rs->connect_ms % 1000) * 1000;
	if (rs->port == 0)
		cn->c = redisConnectUnixWithTimeout(rs->path, tv);
	else
		cn->c = redisConnectWithTimeout(rs->host, rs->port, tv);
	if (cn->c == NULL || cn->c->err) {
		set_down(rs, "connect", cn->c != NULL ? cn->c->errstr :
		    "out of memory");
		goto fail;
	}
	tv.tv_sec = rs->timeout_ms / 1000;
	tv.tv_usec = (rs->timeout_ms % 1000) * 1000;
	if (redisSetTimeout(cn->c, tv) != REDIS_OK)
		goto io;
	if (session_start(rs, cn) != 0 || marker_check(rs, cn, 0) != 0)
		goto io;
	cn->checked = now;
	cn->backoff = 0;
	set_up(rs);
	return (cn);
io:
	if (cn->c != NULL && cn->c->err)
		set_down(rs, "session", cn->c->errstr);
fail:
	drop(cn);
	cn->backoff = cn->backoff == 0 ? RS_BACKOFF_MIN : cn->backoff * 2;
	if (cn->backoff > (uint64_t)rs->retry_max_ms * 1000)
		cn->backoff = (uint64_t)rs->retry_max_ms * 1000;
	cn->next_try = now + cn->backoff;
	return (NULL);
}

/* A command failed on cn: next request reconnects at once. */
static enum baton_status
conn_failed(struct rs *rs, struct conn *cn, const char *what)
{
	set_down(rs, what, cn->c != NULL && cn->c->err ? cn->c->errstr :
	    "unexpected reply");
	drop(cn);
	cn->next_try = 0;
	count(rs, "source_unavailable");
	return (BATON_STATUS_UNAVAIL);
}

static enum baton_status
unavailable(struct rs *rs)
{
	count(rs, "source_unavailable");
	return (BATON_STATUS_UNAVAIL);
}

/* ---- the hooks --------------------------------------------------------- */

/* Is one of q's jtis revoked?  The local tier first, then Redis. */
static enum baton_status
revoked(struct rs *rs, const struct baton_query *q)
{
	struct conn	*cn;
	redisReply	*r;
	char		 key[RS_KEY_MAX];
	uint64_t	 now = rs->h->now();
	size_t		 i, got;
	int		 hit = 0, bad = 0;
	long long	 ttl;

	pthread_mutex_lock(&rs->lock);
	for (i = 0; i < q->njtis && !hit; i++)
		hit = cache_find(&rs->rev, q->jtis[i], now) != 0;
	pthread_mutex_unlock(&rs->lock);
	if (hit) {
		count(rs, "source_local_hits");
		return (BATON_STATUS_SUCCESS);
	}
	if ((cn = conn_get(rs, 0)) == NULL || is_lost(rs))
		return (unavailable(rs));
	/* One round trip: a PTTL per key (one slot each on Cluster). */
	for (i = 0; i < q->njtis; i++) {
		key_revoked(rs, key, q->jtis[i]);
		if (redisAppendCommand(cn->c, "PTTL %s", key) != REDIS_OK)
			return (conn_failed(rs, cn, "PTTL"));
	}
	for (i = 0, got = 0; i < q->njtis; i++) {
		if (redisGetReply(cn->c, (void **)&r) != REDIS_OK || r == NULL)
			return (conn_failed(rs, cn, "PTTL"));
		if (r->type != REDIS_REPLY_INTEGER)
			bad = 1;
		else if (r->integer >= 0 || r->integer == -1) {
			/* -1: kept without expiry (set by hand): revoked. */
			ttl = r->integer == -1 ? 86400000LL : r->integer;
			pthread_mutex_lock(&rs->lock);
			cache_add(&rs->rev, q->jtis[i], NULL,
			    now + (uint64_t)ttl / 1000 + 1, now);
			pthread_mutex_unlock(&rs->lock);
			got++;
		}
		freeReplyObject(r);
	}
	if (bad)
		return (conn_failed(rs, cn, "PTTL"));
	set_up(rs);
	return (got > 0 ? BATON_STATUS_SUCCESS : BATON_STATUS_NOTFOUND);
}

/* Seconds from now until exp, at least one. */
static uint64_t
ttl_of(uint64_t exp, uint64_t now)
{
	return (exp > now ? exp - now : 1);
}

/* Spend every jti of q, all or none, in one script. */
static enum baton_status
spend(struct rs *rs, const struct baton_query *q)
{
	const uint8_t	*root = BATON_HAS(q, root) ? q->root : NULL;
	const char	*argv[3 + 2 * RS_MAX_JTIS];
	size_t		 argl[3 + 2 * RS_MAX_JTIS];
	char		 keys[RS_MAX_JTIS][RS_KEY_MAX], ttls[RS_MAX_JTIS][24];
	char		 nkeys[16];
	struct conn	*cn;
	redisReply	*r;
	uint64_t	 now = rs->h->now();
	size_t		 i, n = q->njtis;
	int		 hit = 0, pass;

	if (n == 0)
		return (BATON_STATUS_SUCCESS);
	if (n > RS_MAX_JTIS)
		return (unavailable(rs));
	pthread_mutex_lock(&rs->lock);
	for (i = 0; i < n && !hit; i++)
		hit = cache_find(&rs->spent, q->jtis[i], now) != 0;
	pthread_mutex_unlock(&rs->lock);
	if (hit) {
		count(rs, "source_local_hits");
		return (BATON_STATUS_NOTFOUND);		/* spent before */
	}
	if ((cn = conn_get(rs, 0)) == NULL || is_lost(rs))
		return (unavailable(rs));
	snprintf(nkeys, sizeof nkeys, "%zu", n);
	for (i = 0; i < n; i++) {
		key_spent(rs, keys[i], root, q->jtis[i]);
		snprintf(ttls[i], sizeof ttls[i], "%llu",
		    (unsigned long long)ttl_of(q->exps[i], now));
		argv[3 + i] = keys[i];
		argl[3 + i] = strlen(keys[i]);
		argv[3 + n + i] = ttls[i];
		argl[3 + n + i] = strlen(ttls[i]);
	}
	argv[2] = nkeys;
	argl[2] = strlen(nkeys);
	/* NOSCRIPT (scripts flushed) means not run: EVAL the text then. */
	for (pass = 0; pass < 2; pass++) {
		argv[0] = pass == 0 ? "EVALSHA" : "EVAL";
		argv[1] = pass == 0 ? cn->sha : spend_lua;
		argl[0] = strlen(argv[0]);
		argl[1] = strlen(argv[1]);
		r = redisCommandArgv(cn->c, (int)(3 + 2 * n), argv, argl);
		if (r == NULL)
			return (conn_failed(rs, cn, "spend"));
		if (pass == 0 && r->type == REDIS_REPLY_ERROR &&
		    strncmp(r->str, "NOSCRIPT", 8) == 0) {
			freeReplyObject(r);
			continue;
		}
		break;
	}
	if (r->type != REDIS_REPLY_INTEGER || r->integer < 0 ||
	    (size_t)r->integer > n) {
		set_down(rs, "spend", r->type == REDIS_REPLY_ERROR ? r->str :
		    "unexpected reply");
		freeReplyObject(r);
		return (unavailable(rs));
	}
	pthread_mutex_lock(&rs->lock);
	if (r->integer == 0) {
		for (i = 0; i < n; i++)
			cache_add(&rs->spent, q->jtis[i], root, q->exps[i],
			    now);
	} else {
		i = (size_t)r->integer - 1;
		cache_add(&rs->spent, q->jtis[i], root, q->exps[i], now);
	}
	pthread_mutex_unlock(&rs->lock);
	set_up(rs);
	i = (size_t)r->integer;
	freeReplyObject(r);
	return (i == 0 ? BATON_STATUS_SUCCESS : BATON_STATUS_NOTFOUND);
}

static enum baton_status
rs_lookup(void *state, const struct baton_query *q)
{
	struct rs	*rs = state;

	if (q->db == BATON_DB_REVOCATION)
		return (revoked(rs, q));
	if (q->db == BATON_DB_REPLAY)
		return (spend(rs, q));
	return (BATON_STATUS_UNAVAIL);
}

/* SET every key with its expiry, pipelined; 0 once Redis said OK to all. */
static int
write_revocations(struct rs *rs, struct conn *cn, const uint8_t (*jtis)[16],
    const uint64_t *exps, size_t n, uint64_t now)
{
	redisReply	*r;
	char		 key[RS_KEY_MAX];
	size_t		 i;
	int		 bad = 0;

	for (i = 0; i < n; i++) {
		key_revoked(rs, key, jtis[i]);
		if (redisAppendCommand(cn->c, "SET %s 1 EX %llu", key,
		    (unsigned long long)ttl_of(exps[i], now)) != REDIS_OK)
			return (-1);
	}
	for (i = 0; i < n; i++) {
		if (redisGetReply(cn->c, (void **)&r) != REDIS_OK || r == NULL)
			return (-1);
		if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK") != 0)
			bad = 1;
		freeReplyObject(r);
	}
	return (bad ? -1 : 0);
}

/* A revocation: answered SUCCESS only after Redis acknowledged it. */
static enum baton_status
rs_update(void *state, const struct baton_query *q)
{
	struct rs	*rs = state;
	struct conn	*cn;
	uint64_t	 now = rs->h->now();
	size_t		 i;

	if (q->db != BATON_DB_REVOCATION || q->exps == NULL)
		return (BATON_STATUS_UNAVAIL);
	if ((cn = conn_get(rs, 0)) == NULL || is_lost(rs))
		return (unavailable(rs));
	if (write_revocations(rs, cn, q->jtis, q->exps, q->njtis, now) != 0)
		return (conn_failed(rs, cn, "SET"));
	pthread_mutex_lock(&rs->lock);
	for (i = 0; i < q->njtis; i++)
		cache_add(&rs->rev, q->jtis[i], NULL, q->exps[i], now);
	pthread_mutex_unlock(&rs->lock);
	set_up(rs);
	return (BATON_STATUS_SUCCESS);
}

static int
rs_health(void *state, char *buf, size_t len)
{
	struct rs	*rs = state;
	int		 rc = 0;

	pthread_mutex_lock(&rs->lock);
	if (rs->lost) {
		snprintf(buf, len, "lost: Redis at %s came back without its "
		    "marker; refusing until baton redis-ack", rs->addr);
		rc = 1;
	} else if (rs->down) {
		snprintf(buf, len, "unavailable: %s (%s)", rs->addr, rs->why);
		rc = 1;
	} else
		snprintf(buf, len, "ok: %s, database %u, %zu in the local "
		    "tier", rs->addr, rs->db, rs->rev.n + rs->spent.n);
	pthread_mutex_unlock(&rs->lock);
	return (rc);
}

/*
 * The operator accepts what Redis holds now: adopt its marker (or write
 * one), then write back what the local tier still knows, so this
 * broker's revocations and spends survive the loss.
 */
static int
rs_ack(void *state, char *msg, size_t len)
{
	struct rs	*rs = state;
	struct conn	*cn;
	redisReply	*r;
	const struct centry *e;
	char		 key[RS_KEY_MAX];
	uint64_t	 now = rs->h->now();
	size_t		 i, sent = 0, nrev = 0, nspent = 0;
	int		 was, bad = 0;

	/* An operator waits for this answer: no backoff. */
	if ((cn = conn_get(rs, 1)) == NULL) {
unreachable:
		pthread_mutex_lock(&rs->lock);
		snprintf(msg, len, "Redis at %s is unreachable: %s", rs->addr,
		    rs->why);
		pthread_mutex_unlock(&rs->lock);
		return (-1);
	}
	pthread_mutex_lock(&rs->lock);
	was = rs->lost;
	pthread_mutex_unlock(&rs->lock);
	if (marker_check(rs, cn, 1) != 0) {
		/* This thread's connection may predate a restart: once more. */
		drop(cn);
		if ((cn = conn_get(rs, 1)) == NULL)
			goto unreachable;
	}
	if (marker_check(rs, cn, 1) != 0) {
		conn_failed(rs, cn, "marker");
		snprintf(msg, len, "Redis at %s failed", rs->addr);
		return (-1);
	}
	/* One pipeline: the tier is small, and Redis answers in order. */
	pthread_mutex_lock(&rs->lock);
	for (i = 0; i < rs->rev.cap; i++) {
		e = &rs->rev.slot[i];
		if (e->until <= now)
			continue;
		key_revoked(rs, key, e->jti);
		if (redisAppendCommand(cn->c, "SET %s 1 EX %llu", key,
		    (unsigned long long)ttl_of(e->until, now)) != REDIS_OK)
			bad = 1;
		sent++;
		nrev++;
	}
	for (i = 0; i < rs->spent.cap; i++) {
		e = &rs->spent.slot[i];
		if (e->until <= now)
			continue;
		key_spent(rs, key, e->root, e->jti);
		if (redisAppendCommand(cn->c, "SET %s 1 EX %llu", key,
		    (unsigned long long)ttl_of(e->until, now)) != REDIS_OK)
			bad = 1;
		sent++;
		nspent++;
	}
	pthread_mutex_unlock(&rs->lock);
	for (i = 0; i < sent && !bad; i++) {
		if (redisGetReply(cn->c, (void **)&r) != REDIS_OK || r == NULL) {
			bad = 1;
			break;
		}
		if (r->type == REDIS_REPLY_ERROR)
			bad = 1;
		freeReplyObject(r);
	}
	if (bad) {
		conn_failed(rs, cn, "write back");
		snprintf(msg, len, "Redis at %s failed while the local tier "
		    "was written back; still refusing", rs->addr);
		return (-1);
	}
	pthread_mutex_lock(&rs->lock);
	rs->lost = 0;
	snprintf(msg, len, "%s marker %s adopted; %zu revocations and %zu "
	    "spent jtis from the local tier written back", was ? "lost state "
	    "acknowledged," : "nothing was lost,", rs->marker, nrev, nspent);
	pthread_mutex_unlock(&rs->lock);
	set_up(rs);
	return (0);
}

/* ---- init, fini ----------------------------------------------------------- */

static int
read_password(struct rs *rs, const char *path, char *err, size_t errlen)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) ==
	    -1) {
		snprintf(err, errlen, "redis-password-file %s: %s", path,
		    strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "redis-password-file %s: must be a "
		    "regular file owned by root or uid %u, mode 0600 or "
		    "tighter", path, (unsigned)geteuid());
		close(fd);
		return (-1);
	}
	if ((buf = calloc(1, RS_PASSWORD_MAX + 2)) == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	n = read(fd, buf, RS_PASSWORD_MAX + 1);
	close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n <= 0 || n > RS_PASSWORD_MAX || strlen(buf) != (size_t)n ||
	    strpbrk(buf, "\r\n") != NULL) {
		sodium_memzero(buf, RS_PASSWORD_MAX + 2);
		free(buf);
		snprintf(err, errlen, "redis-password-file %s: want one line "
		    "of 1 to %d bytes", path, RS_PASSWORD_MAX);
		return (-1);
	}
	rs->password = buf;
	return (0);
}

static unsigned
number(const struct baton_host *h, const char *name, unsigned dflt)
{
	const char	*v = h->setting(name);

	/* The broker checked its range when it read baton.conf. */
	return (v != NULL ? (unsigned)strtoul(v, NULL, 10) : dflt);
}

static void
rs_free(struct rs *rs)
{
	struct conn	*cn, *next;

	for (cn = rs->conns; cn != NULL; cn = next) {
		next = cn->next;
		drop(cn);
		free(cn);
	}
	if (rs->password != NULL) {
		sodium_memzero(rs->password, RS_PASSWORD_MAX + 2);
		free(rs->password);
	}
	free(rs->rev.slot);
	free(rs->spent.slot);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}

static int
rs_init(const struct baton_host *h, int argc, char *const *argv,
    void **state, char *err, size_t errlen)
{
	struct rs	*rs;
	const char	*v, *colon;
	size_t		 want, cap;

	(void)argv;
	if (argc != 0) {
		snprintf(err, errlen, "takes no arguments: the connection is "
		    "set in baton.conf (redis-address...)");
		return (-1);
	}
	if (!BATON_HAS(h, setting) || h->setting == NULL) {
		snprintf(err, errlen, "this broker does not hand modules their "
		    "baton.conf settings");
		return (-1);
	}
	if ((v = h->setting("redis-address")) == NULL) {
		snprintf(err, errlen, "no redis-address in baton.conf");
		return (-1);
	}
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium failed to start");
		return (-1);
	}
	if ((rs = calloc(1, sizeof *rs)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	pthread_mutex_init(&rs->lock, NULL);
	rs->h = h;
	snprintf(rs->addr, sizeof rs->addr, "%s", v);
	/* The broker checked the form: unix:/PATH, HOST:PORT, [V6]:PORT. */
	if (strncmp(v, "unix:", 5) == 0)
		snprintf(rs->path, sizeof rs->path, "%s", v + 5);
	else {
		colon = strrchr(v, ':');
		if (v[0] == '[')
			snprintf(rs->host, sizeof rs->host, "%.*s",
			    (int)(colon - v - 2), v + 1);
		else
			snprintf(rs->host, sizeof rs->host, "%.*s",
			    (int)(colon - v), v);
		rs->port = atoi(colon + 1);
	}
	rs->db = number(h, "redis-database", 0);
	snprintf(rs->prefix, sizeof rs->prefix, "%s",
	    (v = h->setting("redis-prefix")) != NULL ? v : "baton:");
	rs->connect_ms = number(h, "redis-connect-timeout", 1000);
	rs->timeout_ms = number(h, "redis-timeout", 1000);
	rs->retry_max_ms = number(h, "redis-retry-max", 5000);
	want = number(h, "redis-local-cache", 65536);
	if (want > 0) {
		/* Room for want live entries under a 3/4 load. */
		for (cap = 16; cap / 4 * 3 < want; cap *= 2)
			;
		rs->rev.cap = rs->spent.cap = cap;
		rs->rev.slot = calloc(cap, sizeof *rs->rev.slot);
		rs->spent.slot = calloc(cap, sizeof *rs->spent.slot);
		if (rs->rev.slot == NULL || rs->spent.slot == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if ((v = h->setting("redis-password-file")) != NULL &&
	    read_password(rs, v, err, errlen) != 0)
		goto fail;
	if ((v = h->setting("state-dir")) != NULL)
		snprintf(rs->marker_file, sizeof rs->marker_file,
		    "%s/redis-marker", v);
	marker_load(rs);
	if (pthread_key_create(&rs->key, NULL) != 0) {
		snprintf(err, errlen, "no thread key left");
		goto fail;
	}
	*state = rs;
	return (0);
fail:
	rs_free(rs);
	return (-1);
}

static void
rs_fini(void *state)
{
	struct rs	*rs = state;

	pthread_key_delete(rs->key);
	rs_free(rs);
}

static const struct baton_module redis = {
	.magic = BATON_MODULE_MAGIC,
	.abi = BATON_MODULE_ABI,
	.size = sizeof(struct baton_module),
	.name = "redis",
	.init = rs_init,
	.lookup = rs_lookup,
	.fini = rs_fini,
	.update = rs_update,
	.health = rs_health,
	.ack = rs_ack,
};

BATON_MODULE_EXPORT const struct baton_module *baton_module_entry(void);

const struct baton_module *
baton_module_entry(void)
{
	return (&redis);
}
