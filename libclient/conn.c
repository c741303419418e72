/* conn.c: the broker connection of libclient: framing, timeouts, reconnect. */

#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common.h"
#include "wire.h"
#include "client.h"

#ifndef BATON_DEFAULT_SOCKET
#define BATON_DEFAULT_SOCKET "/run/baton/batond.sock"
#endif

/*
 * Internal results.  BC_EBROKEN: the connection broke before the whole
 * request reached the broker (or the broker said it is shutting down), so
 * the broker cannot have acted on it and it may be sent again.  BC_ELOST:
 * the connection broke after the whole request was sent, so the broker may
 * have carried it out; repeating it could spend a single-use token twice.
 */
#define BC_EBROKEN	(-1000)
#define BC_ELOST	(-1001)

const char *
baton_default_socket(void)
{
	return BATON_DEFAULT_SOCKET;
}

const char *
baton_version(void)
{
	return PACKAGE_VERSION;
}

void
bc_seterr(struct baton_client *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

void
bc_free_secret(char *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

void
baton_string_free(char *s)
{
	bc_free_secret(s);
}

const char *
bc_json_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

uint64_t
bc_json_u64(const json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return 0;
	return (uint64_t)json_integer_value(v);
}

/* ---- msgpack to JSON, bounded: the broker's answers are still input ---- */

int
bc_mpr_to_json(struct mpr *r, int depth, json_t **out)
{
	json_t		*v = NULL, *e;
	const char	*s;
	const uint8_t	*b;
	uint32_t	 n, i, klen;
	uint64_t	 u;
	int64_t		 si;
	int		 bo;
	char		*hex, *key;

	*out = NULL;
	if (depth > BATON_MAX_NEST)
		return BATON_EPROTO;
	switch (mpr_peek(r)) {
	case MPR_NIL:
		if (mpr_nil(r) != 0)
			return BATON_EPROTO;
		v = json_null();
		break;
	case MPR_BOOL:
		if (mpr_bool(r, &bo) != 0)
			return BATON_EPROTO;
		v = json_boolean(bo);
		break;
	case MPR_UINT:
		if (mpr_uint(r, &u) != 0 || u > INT64_MAX)
			return BATON_EPROTO;
		v = json_integer((json_int_t)u);
		break;
	case MPR_INT:
		if (mpr_int(r, &si) != 0)
			return BATON_EPROTO;
		v = json_integer((json_int_t)si);
		break;
	case MPR_STR:
		if (mpr_str(r, &s, &n) != 0)
			return BATON_EPROTO;
		/* jansson checks UTF-8 and refuses what it cannot hold */
		if ((v = json_stringn(s, n)) == NULL)
			return BATON_EPROTO;
		break;
	case MPR_BIN:
		if (mpr_bin(r, &b, &n) != 0)
			return BATON_EPROTO;
		if ((hex = malloc((size_t)n * 2 + 1)) == NULL)
			return BATON_ENOMEM;
		baton_hex(hex, b, n);
		v = json_string(hex);
		free(hex);
		break;
	case MPR_ARRAY:
		if (mpr_array(r, &n) != 0)
			return BATON_EPROTO;
		if ((v = json_array()) == NULL)
			return BATON_ENOMEM;
		for (i = 0; i < n; i++) {
			if (bc_mpr_to_json(r, depth + 1, &e) != 0 ||
			    json_array_append_new(v, e) != 0)
				goto bad;
		}
		break;
	case MPR_MAP:
		if (mpr_map(r, &n) != 0)
			return BATON_EPROTO;
		if ((v = json_object()) == NULL)
			return BATON_ENOMEM;
		for (i = 0; i < n; i++) {
			if (mpr_peek(r) == MPR_UINT) {
				char	num[24];

				if (mpr_uint(r, &u) != 0)
					goto bad;
				snprintf(num, sizeof(num), "%llu",
				    (unsigned long long)u);
				key = strdup(num);
			} else {
				if (mpr_str(r, &s, &klen) != 0 ||
				    memchr(s, '\0', klen) != NULL)
					goto bad;
				key = strndup(s, klen);
			}
			if (key == NULL)
				goto bad;
			if (bc_mpr_to_json(r, depth + 1, &e) != 0) {
				free(key);
				goto bad;
			}
			if (json_object_set_new(v, key, e) != 0) {
				free(key);
				goto bad;
			}
			free(key);
		}
		break;
	case MPR_FLOAT:
	case MPR_EXT:
		/* nothing baton sends; keep the place so arrays stay aligned */
		if (mpr_skip(r) != 0)
			return BATON_EPROTO;
		v = json_null();
		break;
	default:
		return BATON_EPROTO;
	}
	if (v == NULL)
		return BATON_ENOMEM;
	*out = v;
	return 0;
bad:
	json_decref(v);
	return BATON_EPROTO;
}

int
bc_mp_to_json(const void *buf, size_t len, json_t **out)
{
	struct mpr	r;
	int		ret;

	mpr_init(&r, buf, len);
	if ((ret = bc_mpr_to_json(&r, 0, out)) != 0)
		return ret;
	if (mpr_done(&r) != 0) {
		json_decref(*out);
		*out = NULL;
		return BATON_EPROTO;
	}
	return 0;
}

/* ---- sockets with deadlines -------------------------------------------- */

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events until the deadline; 0, or BATON_ETIMEOUT / BATON_EIO. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd	pfd;
	int64_t		left;
	int		n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return BATON_ETIMEOUT;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return BATON_EIO;
	}
}

static int
write_all(int fd, const uint8_t *p, size_t len, int64_t deadline)
{
	ssize_t	n;
	int	ret;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((ret = wait_fd(fd, POLLOUT, deadline)) != 0)
				return ret;
			continue;
		}
		return BC_EBROKEN;
	}
	return 0;
}

/*
 * len bytes of the answer into p: first what the last recv read ahead,
 * then from the socket, into c->rbuf when the rest would fit there (so
 * one recv brings a header and its body), else straight into p.
 */
static int
read_exact(struct baton_client *c, uint8_t *p, size_t len, int64_t deadline)
{
	ssize_t	n;
	size_t	k;
	int	ret;

	while (len > 0) {
		if (c->roff < c->rlen) {
			k = c->rlen - c->roff < len ? c->rlen - c->roff : len;
			memcpy(p, c->rbuf + c->roff, k);
			c->roff += k;
			p += k;
			len -= k;
			if (c->roff == c->rlen) {
				sodium_memzero(c->rbuf, c->rlen);
				c->roff = c->rlen = 0;
			}
			continue;
		}
		if (len < sizeof(c->rbuf)) {
			n = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);
			if (n > 0) {
				c->rlen = (size_t)n;
				continue;
			}
		} else
			n = recv(c->fd, p, len, 0);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0)
			return BC_EBROKEN;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if ((ret = wait_fd(c->fd, POLLIN, deadline)) != 0)
				return ret;
			continue;
		}
		return BC_EBROKEN;
	}
	return 0;
}

static void
disconnect(struct baton_client *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	sodium_memzero(c->rbuf, c->rlen);
	c->roff = c->rlen = 0;
}

static int
connect_socket(struct baton_client *c, int64_t deadline)
{
	struct sockaddr_un	sun;
	socklen_t		slen;
	int			fd, ret, err;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(c->path) >= sizeof(sun.sun_path)) {
		bc_seterr(c, "socket path too long: %s", c->path);
		return BATON_EINVAL;
	}
	memcpy(sun.sun_path, c->path, strlen(c->path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		bc_seterr(c, "socket: %s", strerror(errno));
		return BATON_EIO;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		goto done;
	if (errno != EAGAIN && errno != EINPROGRESS && errno != EINTR) {
		bc_seterr(c, "cannot connect to the broker at %s: %s; "
		    "is batond running (or set BATON_SOCKET)?", c->path,
		    strerror(errno));
		close(fd);
		return BATON_EUNAVAIL;
	}
	/* a full listen backlog: wait for the broker, within the deadline */
	if ((ret = wait_fd(fd, POLLOUT, deadline)) != 0) {
		bc_seterr(c, "timed out connecting to the broker at %s",
		    c->path);
		close(fd);
		return ret;
	}
	err = 0;
	slen = sizeof(err);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &slen) == -1 ||
	    err != 0) {
		bc_seterr(c, "cannot connect to the broker at %s: %s",
		    c->path, strerror(err ? err : errno));
		close(fd);
		return BATON_EUNAVAIL;
	}
done:
	c->fd = fd;
	return 0;
}

/* Map a wire error status and its body to a BATON_E* code and a message. */
static int
map_status(struct baton_client *c, int status, const json_t *body)
{
	const char	*msg = bc_json_str(body, "message");
	const char	*name = bc_json_str(body, "error");
	json_t		*reason = json_object_get(body, "reason");

	if (name == NULL)
		name = baton_wire_err_name(status);
	bc_seterr(c, "broker: %s%s%s", name ? name : "error",
	    msg ? ": " : "", msg ? msg : "");
	switch (status) {
	case BATON_WIRE_EBADREQ:
		return BATON_EINVAL;
	case BATON_WIRE_EDENIED:
		if (json_is_integer(reason))
			c->last_reason = (int)json_integer_value(reason);
		if (c->last_reason == BATON_R_OK)
			c->last_reason = BATON_R_POLICY_DENIED;
		return BATON_EDENIED;
	case BATON_WIRE_ETOOBIG:
		return BATON_ETOOBIG;
	case BATON_WIRE_EVERSION:
	case BATON_WIRE_EUNKNOWNOP:
		return BATON_EPROTO;
	case BATON_WIRE_EPERM:
		return BATON_EPERM;
	case BATON_WIRE_EUNAVAIL:
	case BATON_WIRE_ERATELIMIT:
	case BATON_WIRE_EINTERNAL:
		return BATON_EUNAVAIL;
	case BATON_WIRE_ESHUTDOWN:
		return BC_EBROKEN;
	default:
		return BATON_EPROTO;
	}
}

/* One round trip on the current connection, no retry. */
static int
call_once(struct baton_client *c, uint32_t op, const msgpack_sbuffer *body,
    json_t **resp, int64_t deadline)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	struct mpr	 r;
	uint8_t		 hdr[BATON_WIRE_HDR], *buf = NULL;
	uint32_t	 id, flen = 0, rop, rid;
	int		 ret, status;
	json_t		*j = NULL;

	*resp = NULL;
	id = c->next_id++;
	baton_wire_begin(&sb, &pk);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint32(&pk, op);
	msgpack_pack_uint32(&pk, id);
	if (body != NULL && body->size > 0)
		msgpack_sbuffer_write(&sb, body->data, body->size);
	else
		msgpack_pack_map(&pk, 0);
	if (baton_wire_finish(&sb) != 0) {
		bc_seterr(c, "request larger than %d bytes",
		    BATON_WIRE_MAX_FRAME);
		ret = BATON_ETOOBIG;
		goto out;
	}
	if ((ret = write_all(c->fd, (const uint8_t *)sb.data, sb.size,
	    deadline)) != 0)
		goto out;
	/* The answer is not there yet: wait, rather than try a recv first. */
	if (c->rlen == 0 && (ret = wait_fd(c->fd, POLLIN, deadline)) != 0)
		goto out;
	for (;;) {
		/* from here on the broker may have acted on the request */
		if ((ret = read_exact(c, hdr, sizeof(hdr), deadline)) != 0) {
			if (ret == BC_EBROKEN)
				ret = BC_ELOST;
			goto out;
		}
		if ((flen = baton_wire_frame_len(hdr)) == 0) {
			bc_seterr(c, "broker sent a bad frame length");
			ret = BATON_EPROTO;
			goto out;
		}
		if ((buf = malloc(flen)) == NULL) {
			ret = BATON_ENOMEM;
			goto out;
		}
		if ((ret = read_exact(c, buf, flen, deadline)) != 0) {
			if (ret == BC_EBROKEN)
				ret = BC_ELOST;
			goto out;
		}
		mpr_init(&r, buf, flen);
		if (baton_wire_read_response(&r, &rop, &rid, &status) != 0) {
			bc_seterr(c, "broker sent a malformed response");
			ret = BATON_EPROTO;
			goto out;
		}
		/*
		 * An answer to an earlier, abandoned request: skip it.  Id 0
		 * with an error is the broker refusing a frame it could not
		 * read (PROTOCOL.md section 2): that is our answer.
		 */
		if (rid == 0 && rid != id && status != BATON_WIRE_OK)
			rop = op;
		else if (rid != id) {
			sodium_memzero(buf, flen);
			free(buf);
			buf = NULL;
			continue;
		}
		if (rop != op) {	/* read_response strips the 0x80 */
			bc_seterr(c, "broker answered the wrong operation");
			ret = BATON_EPROTO;
			goto out;
		}
		if ((ret = bc_mpr_to_json(&r, 0, &j)) != 0 ||
		    mpr_done(&r) != 0) {
			bc_seterr(c, "broker sent a malformed response body");
			ret = BATON_EPROTO;
			goto out;
		}
		break;
	}
	if (status != BATON_WIRE_OK) {
		ret = map_status(c, status, j);
		goto out;
	}
	*resp = j;
	j = NULL;
	ret = 0;
	c->last_ms = now_ms();
out:
	/* a timed-out or garbled stream cannot be resynchronized */
	if (ret == BATON_ETIMEOUT || ret == BATON_EPROTO)
		disconnect(c);
	if (ret == BATON_ETIMEOUT)
		bc_seterr(c, "the broker did not answer within %d ms",
		    c->timeout_ms);
	json_decref(j);
	/* the frames carry tokens (requests and issued answers): wipe them */
	if (buf != NULL)
		sodium_memzero(buf, flen);
	free(buf);
	if (sb.data != NULL)
		sodium_memzero(sb.data, sb.alloc);
	msgpack_sbuffer_destroy(&sb);
	return ret;
}

static int
hello(struct baton_client *c, int64_t deadline)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	json_t		*resp = NULL;
	int		 ret;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	baton_pack_str(&pk, "version");
	msgpack_pack_uint32(&pk, BATON_WIRE_VERSION);
	baton_pack_str(&pk, "client");
	baton_pack_str(&pk, c->name);
	ret = call_once(c, BATON_OP_HELLO, &sb, &resp, deadline);
	msgpack_sbuffer_destroy(&sb);
	if (ret == 0 && bc_json_u64(resp, "version") != BATON_WIRE_VERSION) {
		bc_seterr(c, "broker speaks protocol version %llu, not %d",
		    (unsigned long long)bc_json_u64(resp, "version"),
		    BATON_WIRE_VERSION);
		ret = BATON_EPROTO;
	}
	json_decref(resp);
	if (ret != 0)
		disconnect(c);
	if (ret == BC_EBROKEN) {
		bc_seterr(c, "the broker at %s closed the connection",
		    c->path);
		ret = BATON_EUNAVAIL;
	}
	return ret;
}

static int
reconnect(struct baton_client *c, int64_t deadline)
{
	int	ret;

	disconnect(c);
	if ((ret = connect_socket(c, deadline)) != 0)
		return ret;
	return hello(c, deadline);
}

/* Has the broker closed an idle connection (restart, idle timeout)? */
static int
stale(struct baton_client *c)
{
	struct pollfd	pfd;
	char		b;

	pfd.fd = c->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (pfd.revents & (POLLHUP | POLLERR))
		return 1;
	return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/*
 * Operations the broker may carry out twice with the same effect.  mint,
 * attenuate and present would issue a second token and lose the first;
 * verify may consume a single-use block.
 */
static int
idempotent(uint32_t op)
{
	switch (op) {
	case BATON_OP_HELLO:
	case BATON_OP_REVOKE:
	case BATON_OP_INSPECT:
	case BATON_OP_PUBKEYS:
	case BATON_OP_STATUS:
	case BATON_OP_RELOAD:
		return 1;
	default:
		return 0;
	}
}

int
bc_call(struct baton_client *c, uint32_t op, const msgpack_sbuffer *body,
    json_t **resp)
{
	return bc_call_reason(c, op, body, resp, NULL);
}

int
bc_call_reason(struct baton_client *c, uint32_t op,
    const msgpack_sbuffer *body, json_t **resp, int *reason)
{
	int64_t	deadline;
	int	ret, attempt;

	*resp = NULL;
	if (reason != NULL)
		*reason = BATON_R_OK;
	pthread_mutex_lock(&c->mu);
	c->err[0] = '\0';
	c->last_reason = BATON_R_OK;
	deadline = now_ms() + c->timeout_ms;
	ret = 0;
	/*
	 * A connection used within the last second cannot have met the
	 * broker's idle timeout (1 s at least); one closed otherwise (a
	 * restart) fails the send with EPIPE, before the broker could act,
	 * and is retried below.  So the probe's poll and recv are spent
	 * only on a connection that has been idle.
	 */
	if (c->fd != -1 && c->rlen == 0 && deadline - c->timeout_ms -
	    c->last_ms >= 1000 && stale(c))
		disconnect(c);
	if (c->fd == -1)
		ret = reconnect(c, deadline);
	/*
	 * Retry once on a broken connection, but only when the broker cannot
	 * have acted on the request (it never got all of it), or when acting
	 * twice does no harm.  A verify whose answer was lost is not
	 * repeated: the first one may have spent a single-use token, and
	 * the repeat would report "replayed" for a call that was allowed.
	 */
	for (attempt = 0; ret == 0; attempt++) {
		ret = call_once(c, op, body, resp, deadline);
		if (ret == BC_ELOST && idempotent(op))
			ret = BC_EBROKEN;
		if (ret != BC_EBROKEN || attempt > 0)
			break;
		ret = reconnect(c, deadline);
	}
	if (ret == BC_EBROKEN) {
		disconnect(c);
		bc_seterr(c, "the broker at %s closed the connection; "
		    "is batond running?", c->path);
		ret = BATON_EUNAVAIL;
	} else if (ret == BC_ELOST) {
		disconnect(c);
		bc_seterr(c, "the broker at %s closed the connection after "
		    "receiving the request, which may have been carried out; "
		    "not repeated", c->path);
		ret = BATON_EUNAVAIL;
	}
	/* read under the lock: another thread may use the handle next */
	if (reason != NULL && ret == BATON_EDENIED)
		*reason = c->last_reason;
	pthread_mutex_unlock(&c->mu);
	return ret;
}

int
baton_client_open(struct baton_client **out,
    const struct baton_client_opts *opts)
{
	struct baton_client	*c;
	const char		*path = NULL, *name = NULL;
	int			 ret;

	if (out == NULL)
		return BATON_EINVAL;
	*out = NULL;
	if (opts != NULL && opts->version != BATON_CLIENT_OPTS_VERSION)
		return BATON_EINVAL;
	if (opts != NULL && opts->timeout_ms < 0)
		return BATON_EINVAL;
	if (sodium_init() < 0)
		return BATON_EIO;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return BATON_ENOMEM;
	c->fd = -1;
	c->timeout_ms = BC_DEFAULT_TIMEOUT_MS;
	if (opts != NULL) {
		path = opts->socket_path;
		name = opts->client_name;
		if (opts->timeout_ms > 0)
			c->timeout_ms = opts->timeout_ms;
	}
	if (path == NULL || *path == '\0')
		path = getenv("BATON_SOCKET");
	if (path == NULL || *path == '\0')
		path = BATON_DEFAULT_SOCKET;
	c->path = strdup(path);
	c->name = strdup(name != NULL ? name : "libbaton");
	randombytes_buf(&c->next_id, sizeof(c->next_id));
	if (c->path == NULL || c->name == NULL ||
	    pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c->path);
		free(c->name);
		free(c);
		return BATON_ENOMEM;
	}
	if ((ret = reconnect(c, now_ms() + c->timeout_ms)) != 0) {
		baton_client_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

void
baton_client_free(struct baton_client *c)
{
	if (c == NULL)
		return;
	disconnect(c);
	pthread_mutex_destroy(&c->mu);
	free(c->path);
	free(c->name);
	free(c);
}

const char *
baton_client_socket(const struct baton_client *c)
{
	return c != NULL ? c->path : NULL;
}

const char *
baton_client_last_error(const struct baton_client *c)
{
	return c != NULL ? c->err : "";
}

int
baton_client_last_reason(const struct baton_client *c)
{
	return c != NULL ? c->last_reason : BATON_R_OK;
}
