/*
 * server.c: sockets, worker threads and connections (the memcached model).
 *
 * The main thread accepts, identifies the peer from the kernel, applies
 * the connection caps and hands the descriptor to a worker through that
 * worker's pipe.  Each worker runs its own event_base, so signing and
 * checking run on several cores and a slow client only ever holds its own
 * connection.  A connection's state changes in one function, conn_set_state.
 *
 * A request costs the worker one read and one send besides the wakeup:
 * a readable connection is read straight into the worker's scratch buffer
 * and its frames answered from there; only a frame cut by the read (or
 * left for later by the budget) is copied into a buffer of the
 * connection's own, so an idle connection holds no buffer.  An answer
 * goes to the socket at once when nothing is queued before it; the rest
 * of a short write is queued and sent when the socket is writable.
 *
 * An answer that depends on a journal record (revoke, spending a
 * single-use jti) is held, with every later answer on that connection,
 * until the journal's commit thread has synced the record: it marks each
 * worker's commit_pending and wakes it through its notify pipe, and the
 * worker sends what is on disk.  The event loop never waits for the
 * disk, so the other connections of a worker go on meanwhile.  Nothing
 * but the pipe reaches a worker from another thread, so the workers'
 * bases are made without locks: libevent would otherwise take its lock
 * twice on every request.
 */

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include <sodium.h>

#include "batond.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

/* At most one whole maximal frame is buffered for a connection. */
#define CONN_IN_MAX	(BATON_WIRE_HDR + BATON_WIRE_MAX_FRAME)
#define CONN_IN_MIN	512	/* least size of a connection's own buffer */
#define CONN_OUT_MIN	4096

enum conn_state { CONN_READING, CONN_PAUSED, CONN_CLOSING };

/* An answer waiting for the journal, and every answer after it. */
struct held {
	uint64_t		 ticket;	/* 0: needs nothing more */
	uint32_t		 op, id;
	uint8_t			*data;
	size_t			 len;
	TAILQ_ENTRY(held)	 entry;
};

static const char *const state_names[] = { "reading", "paused", "closing" };

struct worker;

struct conn {
	struct worker		*w;
	int			 fd;
	struct event		*rev;		/* readable */
	struct event		*idle;		/* armed while rev is */
	uint64_t		 last_read;	/* clock_usec of the last read */
	struct event		*wev;		/* writable, while out is queued */
	struct event		*resume;	/* budget spent: continue later */
	struct event		*slow;		/* a frame has started */
	struct timeval		 idle_tv;
	struct timeval		 slow_tv;	/* slow-timeout at connect */
	struct timeval		 write_tv;
	int			 slow_armed;
	int			 eof;		/* peer done sending */
	int			 broken;	/* a send failed: free at once */
	enum conn_state		 state;
	struct peer		 peer;
	/*
	 * Bytes read and not yet answered are in[inoff..inlen): the
	 * worker's scratch buffer while conn_process runs from a read,
	 * else the connection's own, NULL when it has none.
	 */
	uint8_t			*in;
	size_t			 inoff, inlen, insize;
	/* Answer bytes the socket has not taken: out[outoff..outlen). */
	uint8_t			*out;
	size_t			 outoff, outlen, outsize;
	TAILQ_HEAD(, held)	 held;
	size_t			 held_bytes;
	int			 holding;	/* on w->holding */
	TAILQ_ENTRY(conn)	 entry;
	TAILQ_ENTRY(conn)	 hold_entry;
};

struct worker {
	pthread_t		 thread;
	struct event_base	*base;
	int			 notify[2];
	struct event		*notify_ev;
	atomic_int		 commit_pending; /* the journal synced something */
	int			 draining;
	TAILQ_HEAD(, conn)	 conns;
	TAILQ_HEAD(, conn)	 holding;	/* conns with held answers */
	uint8_t			*scratch;	/* CONN_IN_MAX bytes, see above */
	msgpack_sbuffer		 answer;	/* lent to each request */
};

struct handoff {
	int		fd;
	struct peer	peer;
};

struct uidcount {
	uid_t		uid;
	unsigned	n;
};

static struct worker	*workers;
static unsigned		 nworkers, next_worker;
static struct uidcount	*uidcounts;
static size_t		 nuidcounts;
static int		 reserve_fd = -1;	/* see server_accept */

static void	conn_process(struct conn *);
static void	conn_free(struct conn *);
static void	conn_send(struct conn *, const char *, size_t);

/* ---- per-uid connection counts (under broker.conns_lock) ---------------- */

static struct uidcount *
uidcount_find(uid_t uid, int create)
{
	size_t	i;

	for (i = 0; i < nuidcounts; i++)
		if (uidcounts[i].uid == uid)
			return (&uidcounts[i]);
	if (!create)
		return (NULL);
	for (i = 0; i < nuidcounts; i++)
		if (uidcounts[i].n == 0) {
			uidcounts[i].uid = uid;
			return (&uidcounts[i]);
		}
	uidcounts = xreallocarray(uidcounts, nuidcounts + 1,
	    sizeof *uidcounts);
	uidcounts[nuidcounts].uid = uid;
	uidcounts[nuidcounts].n = 0;
	return (&uidcounts[nuidcounts++]);
}

static int
conn_admit(uid_t uid)
{
	struct config	*cfg;
	struct uidcount	*uc;
	unsigned	 max, maxuid;
	int		 ok = 0;

	cfg = broker_config();
	max = cfg->max_conns;
	maxuid = cfg->max_conns_per_uid;
	broker_config_release();
	pthread_mutex_lock(&broker.conns_lock);
	uc = uidcount_find(uid, 1);
	if (broker.nconns < max && uc->n < maxuid) {
		broker.nconns++;
		uc->n++;
		ok = 1;
	}
	pthread_mutex_unlock(&broker.conns_lock);
	return (ok);
}

static void
conn_release(uid_t uid)
{
	struct uidcount	*uc;

	pthread_mutex_lock(&broker.conns_lock);
	broker.nconns--;
	if ((uc = uidcount_find(uid, 0)) != NULL && uc->n > 0)
		uc->n--;
	pthread_mutex_unlock(&broker.conns_lock);
}

/* ---- per-identity rate limits: token buckets ----------------------------- */

#define RATE_SLOTS	256
#define RATE_PROBE	8	/* slots a key may occupy, from its hash */

static struct {
	pthread_mutex_t	lock;
	struct {
		char		key[64];
		double		tokens;
		uint64_t	last;
	} s[RATE_SLOTS];
} rl = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* FNV-1a: keys are the broker's own ("uid:1000"), not an attacker's. */
static size_t
rate_hash(const char *key)
{
	uint32_t	h = 2166136261u;

	for (; *key != '\0'; key++)
		h = (h ^ (uint8_t)*key) * 16777619u;
	return (h % RATE_SLOTS);
}

/*
 * 0 if a request may go ahead, -1 if the identity is over its rate: a
 * token bucket refilled at rate per second and holding at most burst
 * (0: rate, one second's worth).
 *
 * A key lives in one of RATE_PROBE slots after its hash, so a lookup on
 * every request reads a few slots rather than all of them; when all are
 * taken by others, the least recently seen gives way.
 *
 * The clock is read under the lock.  A time read before it could be
 * older than the one the last holder stored: the refill would then run
 * backwards in time, and with unsigned arithmetic wrap into a full bucket,
 * once per race between two workers.  The stored time never moves back.
 */
int
rate_take_burst(const char *key, unsigned rate, unsigned burst)
{
	size_t		h, i = RATE_SLOTS, k, victim;
	uint64_t	now_us;
	double		cap;
	int		rc = -1;

	if (rate == 0)
		return (0);
	cap = burst != 0 ? burst : rate;
	h = victim = rate_hash(key);
	pthread_mutex_lock(&rl.lock);
	now_us = clock_usec();
	for (k = 0; k < RATE_PROBE; k++) {
		size_t	j = (h + k) % RATE_SLOTS;

		if (strcmp(rl.s[j].key, key) == 0) {
			i = j;
			break;
		}
		if (rl.s[j].last < rl.s[victim].last)
			victim = j;
	}
	if (i == RATE_SLOTS) {
		/* Least recently seen slot; a full bucket for the newcomer. */
		i = victim;
		snprintf(rl.s[i].key, sizeof rl.s[i].key, "%s", key);
		rl.s[i].tokens = cap;
		rl.s[i].last = now_us;
	}
	if (now_us > rl.s[i].last) {
		rl.s[i].tokens += (double)(now_us - rl.s[i].last) * rate / 1e6;
		if (rl.s[i].tokens > cap)
			rl.s[i].tokens = cap;
		rl.s[i].last = now_us;
	}
	if (rl.s[i].tokens >= 1.0) {
		rl.s[i].tokens -= 1.0;
		rc = 0;
	}
	pthread_mutex_unlock(&rl.lock);
	return (rc);
}

int
rate_take(const char *key, unsigned rate)
{
	return (rate_take_burst(key, rate, 0));
}

/* ---- connections --------------------------------------------------------- */

/*
 * Reading, and the idle timeout with it.  The read event has no timeout
 * of its own: libevent would put it back in its timer heap on every
 * frame.  A read notes the time instead, and the idle timer, when it
 * fires, closes the connection or waits out the rest of the timeout.
 */
static void
conn_read_on(struct conn *c)
{
	event_add(c->rev, NULL);
	c->last_read = clock_usec();
	evtimer_add(c->idle, &c->idle_tv);
}

static void
conn_read_off(struct conn *c)
{
	event_del(c->rev);
	evtimer_del(c->idle);
}

static void
conn_set_state(struct conn *c, enum conn_state st)
{
	if (c->state == st)
		return;
	log_debug("conn pid %ld: %s -> %s", (long)c->peer.pid,
	    state_names[c->state], state_names[st]);
	if (c->state == CONN_CLOSING)
		fatalx("connection leaves the closing state");
	c->state = st;
	switch (st) {
	case CONN_READING:
		if (!c->eof)
			conn_read_on(c);
		break;
	case CONN_PAUSED:
		/*
		 * We stopped reading, not the peer stopped sending: a frame
		 * half read now must not count against the slow timeout.
		 * conn_process arms it afresh once reading resumes.
		 */
		conn_read_off(c);
		event_del(c->slow);
		c->slow_armed = 0;
		break;
	case CONN_CLOSING:
		conn_read_off(c);
		event_del(c->slow);
		break;
	}
}

/* Answer bytes not yet taken by the socket. */
static size_t
conn_queued(const struct conn *c)
{
	return (c->outlen - c->outoff);
}

/*
 * Close once the answers already queued are written.  Never frees here:
 * callers up the stack still hold c; the resume event frees it if there
 * is nothing left to write.
 */
static void
conn_close(struct conn *c)
{
	conn_set_state(c, CONN_CLOSING);
	if (conn_queued(c) == 0 && TAILQ_EMPTY(&c->held))
		event_active(c->resume, EV_TIMEOUT, 1);
}

/* Answer bytes not yet taken by the socket, held ones included. */
static size_t
conn_backlog(struct conn *c)
{
	return (conn_queued(c) + c->held_bytes);
}

static void
held_free(struct conn *c, struct held *h)
{
	TAILQ_REMOVE(&c->held, h, entry);
	c->held_bytes -= h->len;
	sodium_memzero(h->data, h->len);
	free(h->data);
	free(h);
}

/*
 * Send the held answers whose records are on disk, in order.  One whose
 * records never will be (the journal broke) is replaced by an error: it
 * was not acknowledged.
 */
static void
conn_release_held(struct conn *c)
{
	struct request	 r;
	struct held	*h;
	int		 st;

	while ((h = TAILQ_FIRST(&c->held)) != NULL) {
		st = h->ticket == 0 ? 1 : journal_committed(h->ticket);
		if (st == 0)
			return;
		if (st == 1)
			conn_send(c, (const char *)h->data, h->len);
		else {
			memset(&r, 0, sizeof r);
			r.conn = c;
			r.peer = &c->peer;
			r.op = h->op;
			r.id = h->id;
			req_error(&r, BATON_WIRE_EUNAVAIL, "not recorded: the "
			    "journal could not be synced");
			if (baton_wire_finish(&r.sb) == 0)
				conn_send(c, r.sb.data, r.sb.size);
			msgpack_sbuffer_destroy(&r.sb);
			free(r.errmsg);
		}
		held_free(c, h);
	}
	if (c->holding) {
		TAILQ_REMOVE(&c->w->holding, c, hold_entry);
		c->holding = 0;
	}
	if (c->state == CONN_CLOSING) {
		if (conn_queued(c) == 0)
			event_active(c->resume, EV_TIMEOUT, 1);
	} else if (c->state == CONN_PAUSED &&
	    conn_backlog(c) <= BATOND_OUT_MAX) {
		conn_set_state(c, CONN_READING);
		event_active(c->resume, EV_TIMEOUT, 1);
	}
}

/* Keep an answer back until its records, and those before it, are synced. */
static void
conn_hold(struct conn *c, const struct request *r)
{
	struct held	*h;

	h = xcalloc(1, sizeof *h);
	h->ticket = r->ticket;
	h->op = r->op;
	h->id = r->id;
	h->len = r->sb.size;
	h->data = xmalloc(h->len);
	memcpy(h->data, r->sb.data, h->len);
	TAILQ_INSERT_TAIL(&c->held, h, entry);
	c->held_bytes += h->len;
	if (!c->holding) {
		TAILQ_INSERT_TAIL(&c->w->holding, c, hold_entry);
		c->holding = 1;
	}
	/* Synced already (or broken): no need to wait for the wakeup. */
	conn_release_held(c);
}

/*
 * Buffers that held frames or answers are wiped before they are freed
 * or reused: requests and answers carry tokens.  What was consumed is
 * wiped as it goes, so only in[inoff..inlen) can still hold anything.
 */
static void
conn_in_drop(struct conn *c)
{
	if (c->in == NULL)
		return;
	sodium_memzero(c->in + c->inoff, c->inlen - c->inoff);
	if (c->in != c->w->scratch)
		free(c->in);
	c->in = NULL;
	c->inoff = c->inlen = c->insize = 0;
}

static void
conn_out_drop(struct conn *c)
{
	if (c->out == NULL)
		return;
	sodium_memzero(c->out + c->outoff, c->outlen - c->outoff);
	free(c->out);
	c->out = NULL;
	c->outoff = c->outlen = c->outsize = 0;
}

/* Resize a wiped-on-the-way buffer to size, keeping data[off..len). */
static uint8_t *
buf_move(uint8_t *data, size_t *off, size_t *len, size_t size)
{
	uint8_t	*p;
	size_t	 keep = *len - *off;

	p = xmalloc(size);
	if (keep > 0)
		memcpy(p, data + *off, keep);
	if (data != NULL) {
		sodium_memzero(data + *off, keep);
		free(data);
	}
	*off = 0;
	*len = keep;
	return (p);
}

/*
 * After conn_process: what the scratch buffer still holds (a frame cut
 * by the read, or frames the budget left for later) moves to a buffer of
 * the connection's own; an own buffer that is empty is freed.  A closing
 * connection reads no more frames: its input is dropped.
 */
static void
conn_in_settle(struct conn *c)
{
	size_t	left, size;

	if (c->in == NULL)
		return;
	left = c->inlen - c->inoff;
	if (left == 0 || c->state == CONN_CLOSING) {
		conn_in_drop(c);
		return;
	}
	if (c->in != c->w->scratch)
		return;
	size = left < CONN_IN_MIN / 2 ? CONN_IN_MIN : 2 * left;
	if (size > CONN_IN_MAX)
		size = CONN_IN_MAX;
	c->in = xmalloc(size);
	memcpy(c->in, c->w->scratch + c->inoff, left);
	sodium_memzero(c->w->scratch + c->inoff, left);
	c->inoff = 0;
	c->inlen = left;
	c->insize = size;
}

/*
 * Room to read into the connection's own buffer: what is left moves to
 * the front, and a full buffer doubles, up to one whole maximal frame.
 * Growing by what arrived, not by what the header announces, keeps a
 * peer that announces big frames and sends little from costing much.
 */
static void
conn_in_room(struct conn *c)
{
	size_t	left = c->inlen - c->inoff, size;

	if (c->inoff > 0) {
		memmove(c->in, c->in + c->inoff, left);
		sodium_memzero(c->in + left, c->inlen - left);
		c->inoff = 0;
		c->inlen = left;
	}
	if (c->inlen < c->insize || c->insize >= CONN_IN_MAX)
		return;
	size = 2 * c->insize;
	if (size > CONN_IN_MAX)
		size = CONN_IN_MAX;
	c->in = buf_move(c->in, &c->inoff, &c->inlen, size);
	c->insize = size;
}

static void
conn_free(struct conn *c)
{
	struct worker	*w = c->w;

	TAILQ_REMOVE(&w->conns, c, entry);
	if (c->holding)
		TAILQ_REMOVE(&w->holding, c, hold_entry);
	while (!TAILQ_EMPTY(&c->held))
		held_free(c, TAILQ_FIRST(&c->held));
	conn_in_drop(c);
	conn_out_drop(c);
	conn_release(c->peer.uid);
	peer_release(&c->peer);
	event_free(c->rev);
	event_free(c->idle);
	event_free(c->wev);
	event_free(c->resume);
	event_free(c->slow);
	close(c->fd);
	free(c);
	if (w->draining && TAILQ_EMPTY(&w->conns))
		event_base_loopexit(w->base, NULL);
}

/*
 * A send failed for good: the peer is gone, and nothing more can be said
 * to it.  Callers up the stack still hold c: the resume event frees it.
 */
static void
conn_broken(struct conn *c)
{
	log_debug("conn pid %ld: send: %s", (long)c->peer.pid,
	    strerror(errno));
	c->broken = 1;
	conn_out_drop(c);
	event_del(c->wev);
	conn_set_state(c, CONN_CLOSING);
	event_active(c->resume, EV_TIMEOUT, 1);
}

static ssize_t
conn_write(struct conn *c, const void *data, size_t len)
{
	ssize_t	n;

	do
		n = send(c->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		n = 0;
	return (n);
}

/*
 * Send an answer.  When nothing is queued before it, straight to the
 * socket: a verify answer nearly always fits, and the round trip then
 * costs this one send.  What the socket does not take is queued, in
 * order, and written when the socket is writable; a peer that leaves it
 * unread for write-timeout is dropped.
 */
static void
conn_send(struct conn *c, const char *data, size_t len)
{
	size_t	size;
	ssize_t	n = 0;

	if (c->broken)
		return;
	if (conn_queued(c) == 0) {
		if ((n = conn_write(c, data, len)) == -1) {
			conn_broken(c);
			return;
		}
		if ((size_t)n == len)
			return;
		data += n;
		len -= (size_t)n;
	}
	if (c->outsize - c->outlen < len) {
		size = c->outsize != 0 ? c->outsize : CONN_OUT_MIN;
		while (size < conn_queued(c) + len)
			size *= 2;
		if (size > c->outsize || c->outoff > 0) {
			c->out = buf_move(c->out, &c->outoff, &c->outlen, size);
			c->outsize = size;
		}
	}
	memcpy(c->out + c->outlen, data, len);
	c->outlen += len;
	if (conn_queued(c) == len)
		event_add(c->wev, &c->write_tv);
}

/* An error answer outside any request (bad frame head): then close. */
static void
conn_fatal(struct conn *c, uint32_t id, int status, const char *msg)
{
	struct request	r;

	memset(&r, 0, sizeof r);
	r.conn = c;
	r.peer = &c->peer;
	r.op = 0;
	r.id = id;
	req_error(&r, status, "%s", msg);
	if (baton_wire_finish(&r.sb) == 0)
		conn_send(c, r.sb.data, r.sb.size);
	msgpack_sbuffer_destroy(&r.sb);
	free(r.errmsg);
	metrics_count("frames_refused");
	metrics_op(0, status);
	conn_close(c);
}

static void
conn_frame(struct conn *c, const uint8_t *data, size_t len)
{
	struct worker	*w = c->w;
	struct request	r;
	uint32_t	op, id;

	memset(&r, 0, sizeof r);
	r.conn = c;
	r.peer = &c->peer;
	mpr_init(&r.body, data, len);
	if (baton_wire_read_request(&r.body, &op, &id) != 0) {
		conn_fatal(c, 0, BATON_WIRE_EBADREQ,
		    "unreadable message head: expected [op, id, body]");
		return;
	}
	r.op = op;
	r.id = id;
	/* The worker's answer buffer: no allocation per request. */
	r.sb = w->answer;
	request_run(&r);
	if (r.ticket != 0 || !TAILQ_EMPTY(&c->held))
		conn_hold(c, &r);
	else
		conn_send(c, r.sb.data, r.sb.size);
	/*
	 * Answers to mint, attenuate and present carry a token: wiped, as
	 * far as written (growing wiped the older buffers).  One grown past
	 * a maximal frame is not kept.
	 */
	if (r.sb.data != NULL)
		sodium_memzero(r.sb.data, r.sb.size);
	r.sb.size = 0;
	if (r.sb.alloc > 2 * CONN_IN_MAX) {
		msgpack_sbuffer_destroy(&r.sb);
		msgpack_sbuffer_init(&r.sb);
	}
	w->answer = r.sb;
	free(r.errmsg);
}

/* Answer the whole frames buffered, within the budget. */
static void
conn_frames(struct conn *c)
{
	uint8_t		*hdr;
	uint32_t	 len;
	size_t		 avail;
	int		 budget = BATOND_BUDGET;

	while (c->state == CONN_READING) {
		avail = c->inlen - c->inoff;
		if (avail < BATON_WIRE_HDR)
			break;
		hdr = c->in + c->inoff;
		if ((len = baton_wire_frame_len(hdr)) == 0) {
			/* Decided from the header alone, before buffering. */
			if (hdr[0] | hdr[1] | hdr[2] | hdr[3])
				conn_fatal(c, 0, BATON_WIRE_ETOOBIG,
				    "frame longer than 65536 bytes");
			else
				conn_fatal(c, 0, BATON_WIRE_EBADREQ,
				    "zero-length frame");
			return;
		}
		if (avail < BATON_WIRE_HDR + (size_t)len)
			break;
		if (budget-- == 0) {
			/* Fairness: let the other connections run first. */
			event_active(c->resume, EV_TIMEOUT, 1);
			return;
		}
		conn_frame(c, hdr + BATON_WIRE_HDR, len);
		/* Most requests carry a token. */
		sodium_memzero(hdr, BATON_WIRE_HDR + (size_t)len);
		c->inoff += BATON_WIRE_HDR + (size_t)len;
		if (c->state == CONN_CLOSING)
			return;
		if (conn_backlog(c) > BATOND_OUT_MAX)
			conn_set_state(c, CONN_PAUSED);
	}
	if (c->state != CONN_READING)
		return;
	/* Half-closed: every whole frame is answered, then we close. */
	if (c->eof) {
		conn_close(c);
		return;
	}
	/*
	 * A frame has begun: it must be complete within the slow timeout.
	 * The deadline is per frame: once a frame completed, the partial one
	 * now buffered gets a fresh one, or a client streaming pipelined
	 * requests (reads ending mid-frame) would be cut off while making
	 * progress.
	 */
	if (c->inlen > c->inoff) {
		if (!c->slow_armed || budget != BATOND_BUDGET) {
			evtimer_add(c->slow, &c->slow_tv);
			c->slow_armed = 1;
		}
	} else if (c->slow_armed) {
		evtimer_del(c->slow);
		c->slow_armed = 0;
	}
	if (c->w->draining)
		conn_close(c);
}

static void
conn_process(struct conn *c)
{
	conn_frames(c);
	conn_in_settle(c);
}

static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	uint8_t		*buf;
	size_t		 room;
	ssize_t		 n = 0;

	(void)what;
	c->last_read = clock_usec();
	if (c->in == NULL) {
		buf = c->w->scratch;
		room = CONN_IN_MAX;
	} else {
		conn_in_room(c);
		buf = c->in + c->inlen;
		room = c->insize - c->inlen;
	}
	/* No room: one whole maximal frame is buffered; answer it first. */
	if (room > 0) {
		do
			n = read(fd, buf, room);
		while (n == -1 && errno == EINTR);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			log_debug("conn pid %ld: read: %s", (long)c->peer.pid,
			    strerror(errno));
			conn_free(c);
			return;
		}
		if (n == 0) {
			/* Answer what it already sent before closing. */
			c->eof = 1;
			conn_read_off(c);
		}
	}
	if (c->in == NULL && n > 0) {
		c->in = buf;
		c->insize = CONN_IN_MAX;
	}
	c->inlen += (size_t)n;
	conn_process(c);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	ssize_t		 n;

	(void)fd;
	if (what & EV_TIMEOUT) {
		/* A peer that does not read its answers is gone. */
		log_debug("conn pid %ld: write timeout", (long)c->peer.pid);
		conn_free(c);
		return;
	}
	if ((n = conn_write(c, c->out + c->outoff, conn_queued(c))) == -1) {
		log_debug("conn pid %ld: send: %s", (long)c->peer.pid,
		    strerror(errno));
		conn_free(c);
		return;
	}
	sodium_memzero(c->out + c->outoff, (size_t)n);
	c->outoff += (size_t)n;
	if (conn_queued(c) > 0)
		return;
	event_del(c->wev);
	conn_out_drop(c);
	if (c->state == CONN_CLOSING) {
		/* Held answers still to come: their release frees c. */
		if (TAILQ_EMPTY(&c->held))
			conn_free(c);
		return;
	}
	if (c->state == CONN_PAUSED && conn_backlog(c) <= BATOND_OUT_MAX) {
		conn_set_state(c, CONN_READING);
		conn_process(c);
	}
}

static void
conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	if (c->broken)
		conn_free(c);
	else if (c->state != CONN_CLOSING)
		conn_process(c);
	else if (TAILQ_EMPTY(&c->held) && conn_queued(c) == 0)
		conn_free(c);
}

static void
conn_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	struct timeval	 tv;
	uint64_t	 idle, limit;

	(void)fd;
	(void)what;
	idle = clock_usec() - c->last_read;
	limit = (uint64_t)c->idle_tv.tv_sec * 1000000;
	if (idle < limit) {
		/* Read since the timer was set: the rest of the timeout. */
		tv.tv_sec = (time_t)((limit - idle) / 1000000);
		tv.tv_usec = (suseconds_t)((limit - idle) % 1000000);
		evtimer_add(c->idle, &tv);
		return;
	}
	log_debug("conn pid %ld: idle timeout", (long)c->peer.pid);
	conn_free(c);
}

static void
conn_slow_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	(void)fd;
	(void)what;
	log_debug("conn pid %ld: frame not complete in time", (long)c->peer.pid);
	conn_free(c);
}

static void
conn_new(struct worker *w, struct handoff *h)
{
	struct conn	*c;
	struct config	*cfg;

	c = xcalloc(1, sizeof *c);
	c->w = w;
	c->fd = h->fd;
	c->peer = h->peer;
	TAILQ_INIT(&c->held);
	c->rev = event_new(w->base, c->fd, EV_READ | EV_PERSIST,
	    conn_read_cb, c);
	c->wev = event_new(w->base, c->fd, EV_WRITE | EV_PERSIST,
	    conn_write_cb, c);
	c->resume = event_new(w->base, -1, 0, conn_resume_cb, c);
	c->slow = evtimer_new(w->base, conn_slow_cb, c);
	c->idle = evtimer_new(w->base, conn_idle_cb, c);
	if (c->rev == NULL || c->wev == NULL || c->resume == NULL ||
	    c->slow == NULL || c->idle == NULL)
		fatalx("cannot set up a connection");
	TAILQ_INSERT_TAIL(&w->conns, c, entry);
	cfg = broker_config();
	c->idle_tv.tv_sec = cfg->idle_timeout;
	c->slow_tv.tv_sec = cfg->slow_timeout;
	c->write_tv.tv_sec = cfg->write_timeout;
	broker_config_release();
	c->state = CONN_READING;
	conn_read_on(c);
}

/* ---- workers ------------------------------------------------------------- */

static void
worker_drain(struct worker *w)
{
	struct conn	*c, *next;

	w->draining = 1;
	if (TAILQ_EMPTY(&w->conns)) {
		event_base_loopexit(w->base, NULL);
		return;
	}
	/* Answer what is already buffered, then close. */
	TAILQ_FOREACH_SAFE(c, &w->conns, entry, next) {
		if (c->state == CONN_READING)
			conn_process(c);
		else if (c->state == CONN_PAUSED)
			conn_set_state(c, CONN_CLOSING);
	}
}

/* In a worker's pipe: commit_pending was set (no handoff to take). */
static struct handoff	commit_mark;

static void
worker_commit(struct worker *w)
{
	struct conn	*c, *next;

	TAILQ_FOREACH_SAFE(c, &w->holding, hold_entry, next)
		conn_release_held(c);
}

static void
worker_notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct handoff	*h;
	ssize_t		 n;

	(void)what;
	for (;;) {
		n = read(fd, &h, sizeof h);
		if (n != (ssize_t)sizeof h)
			break;
		if (h == &commit_mark)
			continue;
		if (h == NULL) {
			worker_drain(w);
			continue;
		}
		conn_new(w, h);
		free(h);
	}
	/* After the pipe is empty: a mark that did not fit is seen here. */
	if (atomic_exchange(&w->commit_pending, 0))
		worker_commit(w);
}

/*
 * On the journal's commit thread, under its lock: wake every worker,
 * once until it has looked.  A pipe too full for the mark is one the
 * worker is about to read to the end, and then it sees the flag.
 */
static void
server_committed(void)
{
	struct handoff	*mark = &commit_mark;
	unsigned	 i;
	ssize_t		 n;

	for (i = 0; i < nworkers; i++) {
		if (atomic_exchange(&workers[i].commit_pending, 1))
			continue;
		do
			n = write(workers[i].notify[1], &mark, sizeof mark);
		while (n == -1 && errno == EINTR);
	}
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;

	event_base_dispatch(w->base);
	tokcache_thread_end();	/* it holds bearer tokens */
	return (NULL);
}

/* Put a descriptor aside for refusing connections when we run out. */
static void
reserve_open(void)
{
	if (reserve_fd == -1)
		reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int
server_start(unsigned n)
{
	struct event_config	*ecfg;
	unsigned		 i;

	reserve_open();
	if (reserve_fd == -1)
		fatal("/dev/null");
	evthread_use_pthreads();
	if ((ecfg = event_config_new()) == NULL ||
	    event_config_set_flag(ecfg, EVENT_BASE_FLAG_NOLOCK) != 0)
		fatalx("event_config");
	nworkers = n;
	workers = xcalloc(n, sizeof *workers);
	for (i = 0; i < n; i++) {
		TAILQ_INIT(&workers[i].conns);
		TAILQ_INIT(&workers[i].holding);
		atomic_init(&workers[i].commit_pending, 0);
		workers[i].scratch = xmalloc(CONN_IN_MAX);
		if ((workers[i].base = event_base_new_with_config(ecfg)) ==
		    NULL)
			fatalx("event_base_new");
		if (pipe2(workers[i].notify, O_CLOEXEC | O_NONBLOCK) != 0)
			fatal("pipe2");
		workers[i].notify_ev = event_new(workers[i].base,
		    workers[i].notify[0], EV_READ | EV_PERSIST,
		    worker_notify_cb, &workers[i]);
		if (workers[i].notify_ev == NULL)
			fatalx("event_new");
		event_add(workers[i].notify_ev, NULL);
	}
	event_config_free(ecfg);
	journal_start(server_committed);
	for (i = 0; i < n; i++) {
		if (pthread_create(&workers[i].thread, NULL, worker_main,
		    &workers[i]) != 0)
			fatalx("pthread_create");
	}
	return (0);
}

static void
worker_send(struct worker *w, struct handoff *h)
{
	ssize_t	n;

	/* Pointer-sized writes to a pipe are atomic. */
	do
		n = write(w->notify[1], &h, sizeof h);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof h)
		fatal("worker notify");
}

/*
 * Out of descriptors with connections waiting: spend the reserve on
 * taking one and closing it, so the peer learns at once, rather than
 * leave it in the backlog until it gives up.  0 if one was refused.
 */
static int
accept_shed(int lfd, int why)
{
	int	fd;

	if (reserve_fd == -1)
		return (-1);
	close(reserve_fd);
	reserve_fd = -1;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd != -1)
		close(fd);
	/* Another thread may take the slot first: then we pause instead. */
	reserve_open();
	if (fd == -1)
		return (-1);
	metrics_count("connections_refused");
	log_warnx_limited("accept-shed", "connection refused: out of "
	    "descriptors (%s)", strerror(why));
	return (0);
}

/*
 * Called by the main loop when the listening socket is readable.  -1 when
 * the caller must stop watching it for a while: the listener is level
 * triggered, so a connection we cannot accept (no descriptor left, no
 * memory) would wake us again at once, for ever.
 */
int
server_accept(int lfd)
{
	struct handoff	*h;
	struct peer	 p;
	int		 fd, i, e;

	reserve_open();
	for (i = 0; i < 64; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			e = errno;
			if (e == EAGAIN || e == EINTR || e == ECONNABORTED)
				return (0);
			if ((e == EMFILE || e == ENFILE) &&
			    accept_shed(lfd, e) == 0)
				continue;
			log_warnx_limited("accept", "accept: %s; not accepting "
			    "for a while", strerror(e));
			return (-1);
		}
		if (broker.draining) {
			close(fd);
			continue;
		}
		if (peer_identify(fd, &p) != 0) {
			/* Out of descriptors for the pidfd, say: refused. */
			metrics_count("connections_refused");
			log_warnx_limited("identify", "connection refused: "
			    "cannot identify the peer: %s", strerror(errno));
			close(fd);
			continue;
		}
		if (!conn_admit(p.uid)) {
			metrics_count("connections_refused");
			log_info_limited("cap", "connection from uid %u "
			    "refused: over the cap", (unsigned)p.uid);
			peer_release(&p);
			close(fd);
			continue;
		}
		metrics_count("connections");
		h = xmalloc(sizeof *h);
		h->fd = fd;
		h->peer = p;
		worker_send(&workers[next_worker++ % nworkers], h);
	}
	return (0);
}

void
server_drain(void)
{
	unsigned	i;

	for (i = 0; i < nworkers; i++)
		worker_send(&workers[i], NULL);
}

void
server_wait(void)
{
	unsigned	i;

	for (i = 0; i < nworkers; i++)
		pthread_join(workers[i].thread, NULL);
	/* The commit thread must not wake a base about to be freed. */
	journal_set_notify(NULL);
	for (i = 0; i < nworkers; i++) {
		event_free(workers[i].notify_ev);
		event_base_free(workers[i].base);
		close(workers[i].notify[0]);
		close(workers[i].notify[1]);
		free(workers[i].scratch);
		msgpack_sbuffer_destroy(&workers[i].answer);
	}
	free(workers);
	free(uidcounts);
	if (reserve_fd != -1)
		close(reserve_fd);
	reserve_fd = -1;
}

/* ---- listening sockets --------------------------------------------------- */

int
listen_socket(const char *path, char **cause)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	char			*dir, *slash;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		xasprintf(cause, "%s: socket path too long", path);
		return (-1);
	}
	strncpy(sun.sun_path, path, sizeof sun.sun_path - 1);
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		/* Our umask is 077; everyone must reach the socket. */
		if (mkdir(dir, 0755) == 0)
			(void)chmod(dir, 0755);
		else if (errno != EEXIST)
			log_warnx("mkdir %s: %s", dir, strerror(errno));
	}
	free(dir);
	/* A stale socket from a crash; never remove anything else. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			xasprintf(cause, "%s: exists and is not a socket", path);
			return (-1);
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return (-1);
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0 ||
	    chmod(path, 0666) != 0 || listen(fd, 128) != 0) {
		/* Anyone may connect: identity comes from SO_PEERCRED. */
		xasprintf(cause, "%s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	return (fd);
}

/*
 * systemd socket activation without libsystemd: fd 3 when LISTEN_PID is
 * us.  -1 with *cause NULL when not activated; -1 with *cause set when
 * activated with something that is not a listening AF_UNIX stream socket
 * (a unit pointing at the wrong thing, or an inherited descriptor): we
 * would otherwise accept on a file, or on a TCP port open to the network,
 * whose peers have no kernel-attested identity.
 */
int
listen_systemd(char **cause)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	const char		*pid, *fds;
	int			 fl, type, listening;

	*cause = NULL;
	pid = getenv("LISTEN_PID");
	fds = getenv("LISTEN_FDS");
	if (pid == NULL || fds == NULL || atol(pid) != (long)getpid() ||
	    atoi(fds) < 1)
		return (-1);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if ((fl = fcntl(3, F_GETFL)) == -1) {
		xasprintf(cause, "LISTEN_FDS: fd 3 is not open: %s",
		    strerror(errno));
		return (-1);
	}
	len = sizeof type;
	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
		xasprintf(cause, "LISTEN_FDS: fd 3 is not a socket: %s",
		    strerror(errno));
		return (-1);
	}
	len = sizeof ss;
	memset(&ss, 0, sizeof ss);
	if (getsockname(3, (struct sockaddr *)&ss, &len) != 0 ||
	    ss.ss_family != AF_UNIX || type != SOCK_STREAM) {
		xasprintf(cause, "LISTEN_FDS: fd 3 must be an AF_UNIX stream "
		    "socket (ListenStream= with a path); peers are identified "
		    "by SO_PEERCRED");
		return (-1);
	}
	len = sizeof listening;
	if (getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
	    !listening) {
		xasprintf(cause, "LISTEN_FDS: fd 3 is an AF_UNIX stream socket "
		    "but not listening");
		return (-1);
	}
	fcntl(3, F_SETFL, fl | O_NONBLOCK);
	fcntl(3, F_SETFD, FD_CLOEXEC);
	return (3);
}
