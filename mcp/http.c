/*
 * http.c: baton-mcp-guard in front of a Streamable HTTP MCP server.  Every
 * request must carry "Authorization: Bearer bt1_..." that the broker
 * issued for --aud (401 with WWW-Authenticate otherwise); every tools/call
 * in a POST body is verified with it as in stdio mode (403 and the
 * JSON-RPC denial otherwise).  Allowed requests go upstream without the
 * Authorization header, and the answer, SSE streams included, comes back
 * chunk by chunk as it arrives, never buffered whole.
 */

#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "guard.h"

/* Idle seconds before a connection either way is dropped (SSE included). */
#define HTTP_TIMEOUT	600
/* Unsent bytes to a client beyond which the upstream is not read. */
#define STREAM_HIGH	(1024 * 1024)

struct proxy {
	struct guard		*g;
	struct event_base	*base;
	char			*host;		/* upstream */
	int			 port;
	char			*path;		/* with its query */
	char			*hosthdr;
};

/* One request on its way upstream and its answer on its way back. */
struct exchange {
	struct proxy		*px;
	struct evhttp_request	*req;	/* the client's; NULL once gone */
	struct evhttp_connection *uconn;
	struct evhttp_request	*ureq;	/* upstream; NULL once done */
	int			 started;	/* the reply is under way */
	int			 paused;	/* upstream not read */
};

/* Hop-by-hop headers, and those the guard never passes on. */
static int
skip_header(const char *name)
{
	static const char *const skip[] = {
		"Authorization", "Proxy-Authorization", "Connection",
		"Keep-Alive", "Proxy-Connection", "TE", "Trailer",
		"Transfer-Encoding", "Upgrade", "Host", "Content-Length",
		"Proxy-Authenticate", NULL
	};
	size_t	i;

	for (i = 0; skip[i] != NULL; i++)
		if (strcasecmp(skip[i], name) == 0)
			return 1;
	return 0;
}

/* 1 if name is one of the comma-separated tokens of a Connection header. */
static int
in_connection(const char *conn, const char *name)
{
	size_t	n = strlen(name), len;

	while (conn != NULL && *conn != '\0') {
		conn += strspn(conn, " \t,");
		len = strcspn(conn, " \t,");
		if (len == n && strncasecmp(conn, name, n) == 0)
			return 1;
		conn += len;
	}
	return 0;
}

/*
 * End-to-end headers pass: not the hop-by-hop ones, nor those the
 * Connection header names as such (RFC 9110, 7.6.1).
 */
int
http_pass_header(const char *name, const char *conn, int keep_length)
{
	return !((skip_header(name) && !(keep_length &&
	    strcasecmp(name, "Content-Length") == 0)) ||
	    in_connection(conn, name));
}

static void
copy_headers(struct evkeyvalq *to, struct evkeyvalq *from, int keep_length)
{
	struct evkeyval	*h;
	const char	*conn = evhttp_find_header(from, "Connection");

	TAILQ_FOREACH(h, from, next)
		if (http_pass_header(h->key, conn, keep_length))
			evhttp_add_header(to, h->key, h->value);
}

static void
reply(struct evhttp_request *req, int code, const char *reason,
    const char *json)
{
	struct evbuffer	*b = evbuffer_new();

	if (json != NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", "application/json");
		if (b != NULL)
			evbuffer_add(b, json, strlen(json));
	}
	evhttp_send_reply(req, code, reason, b);
	if (b != NULL)
		evbuffer_free(b);
}

/* RFC 6750: missing (why NULL) or invalid credentials. */
static void
unauthorized(struct evhttp_request *req, const char *why)
{
	char	hdr[256], body[256];

	if (why == NULL) {
		(void)snprintf(hdr, sizeof(hdr), "Bearer realm=\"baton\"");
		(void)snprintf(body, sizeof(body),
		    "{\"error\":\"invalid_request\"}");
	} else {
		(void)snprintf(hdr, sizeof(hdr), "Bearer realm=\"baton\", "
		    "error=\"invalid_token\", error_description=\"%s\"", why);
		(void)snprintf(body, sizeof(body), "{\"error\":"
		    "\"invalid_token\",\"error_description\":\"%s\"}", why);
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "WWW-Authenticate", hdr);
	reply(req, 401, "Unauthorized", body);
}

/* ---- the way back ---------------------------------------------------------- */

static void
free_conn(evutil_socket_t fd, short what, void *arg)
{
	evhttp_connection_free(arg);
}

/*
 * The client's request, no longer watched for the client hanging up: the
 * caller is about to finish it, after which evhttp frees it.
 */
static struct evhttp_request *
detach(struct exchange *ex)
{
	struct evhttp_request	*req = ex->req;

	if (req != NULL)
		evhttp_connection_set_closecb(
		    evhttp_request_get_connection(req), NULL, NULL);
	ex->req = NULL;
	return req;
}

/* End the exchange; the upstream connection goes once its callbacks end. */
static void
finish(struct exchange *ex)
{
	(void)detach(ex);
	if (ex->uconn != NULL)
		(void)event_base_once(ex->px->base, -1, EV_TIMEOUT, free_conn,
		    ex->uconn, NULL);
	free(ex);
}

static int
upstream_headers(struct evhttp_request *ureq, void *arg)
{
	struct exchange	*ex = arg;
	const char	*len;
	int		 code = evhttp_request_get_response_code(ureq);

	if (ex->req == NULL)
		return -1;
	/* a length says where the body ends; else it goes out chunked */
	len = evhttp_find_header(evhttp_request_get_input_headers(ureq),
	    "Content-Length");
	copy_headers(evhttp_request_get_output_headers(ex->req),
	    evhttp_request_get_input_headers(ureq), len != NULL);
	evhttp_send_reply_start(ex->req, code,
	    evhttp_request_get_response_code_line(ureq));
	ex->started = 1;
	return 0;
}

/* The client took what was queued: read the upstream again. */
static void
client_flushed(struct evhttp_connection *conn, void *arg)
{
	struct exchange	*ex = arg;

	if (ex->paused && ex->uconn != NULL) {
		ex->paused = 0;
		bufferevent_enable(evhttp_connection_get_bufferevent(ex->uconn),
		    EV_READ);
	}
}

/*
 * Pass a piece of the answer on as it comes.  A client slower than the
 * upstream server stops the reading of the upstream until it catches up,
 * so a stream is never held whole.
 */
static void
upstream_chunk(struct evhttp_request *ureq, void *arg)
{
	struct exchange			*ex = arg;
	struct evbuffer			*in = evhttp_request_get_input_buffer(ureq);
	struct evhttp_connection	*conn;

	if (ex->req == NULL || !ex->started) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	evhttp_send_reply_chunk_with_cb(ex->req, in, client_flushed, ex);
	conn = evhttp_request_get_connection(ex->req);
	if (conn != NULL && evbuffer_get_length(bufferevent_get_output(
	    evhttp_connection_get_bufferevent(conn))) > STREAM_HIGH) {
		ex->paused = 1;
		bufferevent_disable(evhttp_connection_get_bufferevent(
		    ex->uconn), EV_READ);
	}
}

static void
upstream_done(struct evhttp_request *ureq, void *arg)
{
	struct exchange		*ex = arg;
	struct evhttp_request	*req;

	ex->ureq = NULL;
	if (ex->req != NULL) {
		if (ureq == NULL ||
		    evhttp_request_get_response_code(ureq) == 0) {
			req = detach(ex);
			if (ex->started)
				evhttp_send_reply_end(req);
			else
				reply(req, 502, "Bad Gateway", NULL);
		} else {
			if (!ex->started)
				(void)upstream_headers(ureq, ex);
			upstream_chunk(ureq, ex);
			evhttp_send_reply_end(detach(ex));
		}
	}
	finish(ex);
}

static void
upstream_error(enum evhttp_request_error err, void *arg)
{
	guard_log("upstream: request failed (%d)", (int)err);
}

/* The client hung up: stop the upstream request too. */
static void
client_closed(struct evhttp_connection *conn, void *arg)
{
	struct exchange	*ex = arg;

	/*
	 * evhttp leaves a request it was not done with to its owner when
	 * the client goes (evhttp_connection_incoming_fail): free it here.
	 */
	if (ex->req != NULL &&
	    evhttp_request_get_connection(ex->req) == NULL)
		evhttp_request_free(ex->req);
	ex->req = NULL;
	if (ex->ureq != NULL) {
		/* no callback follows a cancel */
		evhttp_cancel_request(ex->ureq);
		ex->ureq = NULL;
		finish(ex);
	}
}

/* ---- the way there --------------------------------------------------------- */

static void
forward(struct proxy *px, struct evhttp_request *req, const char *body,
    size_t len)
{
	struct exchange	*ex;
	struct evbuffer	*out;

	if ((ex = calloc(1, sizeof(*ex))) == NULL) {
		reply(req, 500, "Internal Server Error", NULL);
		return;
	}
	ex->px = px;
	ex->req = req;
	ex->uconn = evhttp_connection_base_new(px->base, NULL, px->host,
	    (unsigned short)px->port);
	ex->ureq = evhttp_request_new(upstream_done, ex);
	if (ex->uconn == NULL || ex->ureq == NULL) {
		if (ex->ureq != NULL)
			evhttp_request_free(ex->ureq);
		ex->req = NULL;
		reply(req, 500, "Internal Server Error", NULL);
		finish(ex);
		return;
	}
	evhttp_connection_set_timeout(ex->uconn, HTTP_TIMEOUT);
	evhttp_request_set_header_cb(ex->ureq, upstream_headers);
	evhttp_request_set_chunked_cb(ex->ureq, upstream_chunk);
	evhttp_request_set_error_cb(ex->ureq, upstream_error);
	copy_headers(evhttp_request_get_output_headers(ex->ureq),
	    evhttp_request_get_input_headers(req), 0);
	evhttp_add_header(evhttp_request_get_output_headers(ex->ureq), "Host",
	    px->hosthdr);
	out = evhttp_request_get_output_buffer(ex->ureq);
	if (len > 0 && evbuffer_add(out, body, len) != 0) {
		evhttp_request_free(ex->ureq);
		ex->req = NULL;
		ex->ureq = NULL;
		reply(req, 500, "Internal Server Error", NULL);
		finish(ex);
		return;
	}
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    client_closed, ex);
	if (evhttp_make_request(ex->uconn, ex->ureq,
	    evhttp_request_get_command(req), px->path) != 0) {
		/* evhttp owns ureq from here, whatever the outcome */
		ex->ureq = NULL;
		reply(detach(ex), 502, "Bad Gateway", NULL);
		finish(ex);
	}
}

/*
 * What to do with one request, before anything goes upstream: auth is
 * its Authorization header (NULL: none), post whether it is a POST with
 * body.  0: forward it (*fwd a changed body, or NULL for the body as it
 * came); else the HTTP status, with *answer (a JSON-RPC answer, or NULL)
 * and for a 401 *why (NULL: no credentials; else the reason name).
 */
int
http_decide(struct guard *g, const char *auth, int post, const char *body,
    size_t len, char **fwd, char **answer, const char **why)
{
	char	*token;
	int	 status = 0;

	*fwd = *answer = NULL;
	*why = NULL;
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return 401;
	for (auth += 7; *auth == ' '; auth++)
		;
	if ((token = strdup(auth)) == NULL)
		return 500;
	if ((*why = rpc_http_bearer(g, token)) != NULL)
		status = strcmp(*why, "unavailable") == 0 ? 503 : 401;
	else if (post)
		status = rpc_http_post(g, body, len, token, fwd, answer);
	explicit_bzero(token, strlen(token));
	free(token);
	return status;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct proxy	*px = arg;
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	const char	*auth, *why;
	char		*body = NULL, *fwd = NULL, *answer = NULL;
	size_t		 len = evbuffer_get_length(in);
	int		 post, status;

	auth = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;
	if (post) {
		if ((body = malloc(len + 1)) == NULL) {
			reply(req, 500, "Internal Server Error", NULL);
			return;
		}
		(void)evbuffer_copyout(in, body, len);
		body[len] = '\0';
	}
	status = http_decide(px->g, auth, post, body, len, &fwd, &answer,
	    &why);
	switch (status) {
	case 0:
		if (!post)
			forward(px, req, NULL, 0);
		else if (fwd != NULL)
			forward(px, req, fwd, strlen(fwd));
		else
			forward(px, req, body, len);
		break;
	case 401:
		unauthorized(req, why);
		break;
	case 503:
		reply(req, 503, "Service Unavailable", NULL);
		break;
	default:
		reply(req, status, status == 403 ? "Forbidden" :
		    status == 400 ? "Bad Request" : "Internal Server Error",
		    answer);
		break;
	}
	if (body != NULL) {
		explicit_bzero(body, len);
		free(body);
	}
	free(fwd);
	free(answer);
}

/* ---- setting up -------------------------------------------------------------- */

static void
stop(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopexit(arg, NULL);
}

int
http_main(struct guard *g, const char *listen, const char *upstream)
{
	struct proxy		 px;
	struct evhttp		*http;
	struct evhttp_uri	*uri;
	struct event		*sigs[3];
	const char		*h, *p, *q;
	char			*addr, *colon, *end;
	size_t			 i;
	long			 port;
	int			 n;
	static const int	 signals[] = { SIGTERM, SIGINT, SIGHUP };

	memset(&px, 0, sizeof(px));
	px.g = g;
	if ((uri = evhttp_uri_parse(upstream)) == NULL ||
	    evhttp_uri_get_scheme(uri) == NULL ||
	    strcasecmp(evhttp_uri_get_scheme(uri), "http") != 0 ||
	    (h = evhttp_uri_get_host(uri)) == NULL || *h == '\0') {
		guard_log("bad --upstream '%s': want http://HOST[:PORT]/PATH",
		    upstream);
		return GUARD_EXIT_FAIL;
	}
	px.port = evhttp_uri_get_port(uri) > 0 ? evhttp_uri_get_port(uri) : 80;
	p = evhttp_uri_get_path(uri);
	q = evhttp_uri_get_query(uri);
	if (p == NULL || *p == '\0')
		p = "/";
	px.host = strdup(h);
	n = asprintf(&px.path, "%s%s%s", p, q != NULL ? "?" : "",
	    q != NULL ? q : "");
	if (n < 0 || px.host == NULL ||
	    asprintf(&px.hosthdr, "%s:%d", h, px.port) < 0) {
		guard_log("out of memory");
		return GUARD_EXIT_FAIL;
	}
	evhttp_uri_free(uri);

	if ((addr = strdup(listen)) == NULL ||
	    (colon = strrchr(addr, ':')) == NULL || colon == addr) {
		guard_log("bad --listen '%s': want ADDR:PORT", listen);
		return GUARD_EXIT_FAIL;
	}
	*colon = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || port < 1 ||
	    port > 65535) {
		guard_log("bad --listen '%s': want ADDR:PORT", listen);
		return GUARD_EXIT_FAIL;
	}

	if ((px.base = event_base_new()) == NULL ||
	    (http = evhttp_new(px.base)) == NULL) {
		guard_log("cannot start the event loop");
		return GUARD_EXIT_FAIL;
	}
	evhttp_set_max_body_size(http, (ev_ssize_t)g->max_line);
	evhttp_set_max_headers_size(http, 64 * 1024);
	evhttp_set_timeout(http, HTTP_TIMEOUT);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_DELETE);
	evhttp_set_gencb(http, on_request, &px);
	if (evhttp_bind_socket(http, addr, (unsigned short)port) != 0) {
		guard_log("cannot listen on %s: %s", listen, strerror(errno));
		return GUARD_EXIT_FAIL;
	}
	free(addr);
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if ((sigs[i] = evsignal_new(px.base, signals[i], stop,
		    px.base)) == NULL || event_add(sigs[i], NULL) != 0) {
			guard_log("cannot watch signal %d", signals[i]);
			return GUARD_EXIT_FAIL;
		}
	guard_log("listening on %s for audience %s, upstream %s", listen,
	    g->aud, upstream);
	(void)event_base_dispatch(px.base);

	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		event_free(sigs[i]);
	evhttp_free(http);
	event_base_free(px.base);
	free(px.host);
	free(px.path);
	free(px.hosthdr);
	return 0;
}
