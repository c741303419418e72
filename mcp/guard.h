/*
 * guard.h: baton-mcp-guard's internal interface between the relay (the
 * process, the pipes and the event loop, guard.c) and the JSON-RPC
 * decisions made on each line (rpc.c).
 */
#ifndef BATON_MCP_GUARD_H
#define BATON_MCP_GUARD_H

#include <sys/types.h>
#include <stddef.h>

#include <jansson.h>

#define GUARD_TOKEN_KEY		"io.baton/token"
#define GUARD_MAX_LINE		(4u * 1024 * 1024)
#define GUARD_DENIED		(-31403)	/* JSON-RPC error code */
#define GUARD_EXIT_FAIL		125		/* the guard itself failed */

struct baton_client;

/* TOOL=ACTION: the action a call of TOOL performs (--action). */
struct guard_action {
	char			*tool;
	const char		*action;
};

/* A tools/list request whose answer is to be filtered. */
struct guard_pending {
	struct guard_pending	*next;
	json_t			*id;
	int			 all;	/* the token grants every tool */
	json_t			*tools;	/* else: the granted tool names */
};

struct guard {
	/* configuration */
	const char		*socket_path;	/* NULL: libbaton's default */
	const char		*aud;
	const char		*token_key;
	size_t			 max_line;
	int			 timeout_ms;
	int			 filter_tools;
	struct guard_action	*actions;
	size_t			 nactions;
	const char		*action_arg;
	int			 allow_no_aud;	/* tokens without an audience */

	/* state */
	struct baton_client	*client;	/* opened on first use */
	struct guard_pending	*pending;
	size_t			 npending;
	void			*relay;		/* guard.c's own */
};

/*
 * rpc.c: one complete line (without its newline) from the client or the
 * server.  Each either passes it on through guard_to_server() or
 * guard_to_client(), changes it (token stripped, tools/list filtered), or
 * answers it itself.  line may be overwritten (it may hold a token).
 */
void	rpc_from_client(struct guard *, char *line, size_t len);
void	rpc_from_server(struct guard *, char *line, size_t len);
/* A line over the limit came from the client (1) or the server (0). */
void	rpc_too_long(struct guard *, int from_client);
void	rpc_free(struct guard *);
/*
 * Streamable HTTP.  rpc_http_bearer(): NULL when the bearer token is one
 * the broker issued for --aud and still valid, else the reason name.
 * rpc_http_post(): decide a POST body with the bearer token.  Returns 0
 * to forward (*fwd: a changed body, or NULL to forward it as it came),
 * else an HTTP status with *answer, the JSON-RPC answer (or NULL).
 * Free both with free().
 */
const char *rpc_http_bearer(struct guard *, const char *token);
int	rpc_http_post(struct guard *, const char *body, size_t len,
	    const char *token, char **fwd, char **answer);

/* http.c: the Streamable HTTP mode; returns the exit status. */
int	http_main(struct guard *, const char *listen, const char *upstream);
/*
 * http.c's decisions, apart from the event loop.  http_decide(): one
 * request, given its Authorization header (or NULL), whether it is a
 * POST, and its body.  Returns 0 to forward (*fwd: a changed body, or
 * NULL), else the HTTP status with *answer (free both with free()) and,
 * for 401, *why (NULL: no credentials, else the reason name; static).
 * http_pass_header(): 1 if header name goes on, given the request's
 * Connection header (or NULL); Content-Length only with keep_length.
 */
int	http_decide(struct guard *, const char *auth, int post,
	    const char *body, size_t len, char **fwd, char **answer,
	    const char **why);
int	http_pass_header(const char *name, const char *conn, int keep_length);

/* guard.c: queue one line (a newline is added) towards either side. */
void	guard_to_server(struct guard *, const char *buf, size_t len);
void	guard_to_client(struct guard *, const char *buf, size_t len);
void	guard_log(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif /* BATON_MCP_GUARD_H */
