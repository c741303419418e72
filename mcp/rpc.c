/*
 * rpc.c: what baton-mcp-guard decides about each JSON-RPC line.
 *
 * From the client: a tools/call is verified through the broker (tool =
 * params.name, the call's arguments, audience = --aud) and forwarded,
 * without its token, only when the broker allows it; anything else makes
 * the guard answer the same id with error -31403 and {"reason": NAME}.
 * The token is taken out of every other message too, so it never reaches
 * the server.  A line that does not parse, or whose keys could be read
 * differently by a lenient parser on the server (duplicates, keys equal
 * but for case), is never forwarded: the guard could not tell whether it
 * was a call.  Everything else passes byte for byte.
 *
 * From the server: everything passes byte for byte, except the answers to
 * tools/list requests when --filter-tools-list is on.
 */

#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "baton/verify.h"

#include "guard.h"

/* Reasons of the guard's own, next to the broker's (baton_reason_name). */
#define R_TOKEN_MISSING	"token_missing"	/* no token in _meta */
#define R_MALFORMED	"malformed"	/* the token is not a string */
#define R_UNAVAILABLE	"unavailable"	/* no answer from the broker */
#define R_BAD_REQUEST	"bad_request"	/* the call cannot be verified */
#define R_NOT_PERMITTED	"not_permitted"	/* the broker refused the guard */
#define R_BATCH		"batch_refused"	/* a call inside a JSON-RPC batch */

/* JSON-RPC's own error codes */
#define RPC_PARSE_ERROR		(-32700)
#define RPC_INVALID_REQUEST	(-32600)

#define MAX_PENDING	256	/* tools/list requests awaiting their answer */
/* a tool name no grant is expected to hold: see list_grant() */
#define LIST_PROBE	"io.baton/tools-list"

/* ---- output -------------------------------------------------------------- */

static void
wipe_string(json_t *s)
{
	if (json_is_string(s))
		explicit_bzero((char *)(uintptr_t)json_string_value(s),
		    json_string_length(s));
}

static void
send_json(struct guard *g, json_t *msg, int to_client)
{
	char	*s;
	size_t	 len;

	if ((s = json_dumps(msg, JSON_COMPACT)) == NULL) {
		guard_log("out of memory encoding a message");
		return;
	}
	len = strlen(s);
	if (to_client)
		guard_to_client(g, s, len);
	else
		guard_to_server(g, s, len);
	explicit_bzero(s, len);
	free(s);
}

/* An error answer to id (NULL: null), with {"reason": reason} when set. */
static json_t *
make_error(json_t *id, int code, const char *message, const char *reason)
{
	json_t	*msg, *err;

	msg = json_object();
	err = json_object();
	if (msg == NULL || err == NULL) {
		json_decref(msg);
		json_decref(err);
		guard_log("out of memory answering an error");
		return NULL;
	}
	json_object_set_new(msg, "jsonrpc", json_string("2.0"));
	json_object_set(msg, "id", id != NULL ? id : json_null());
	json_object_set_new(err, "code", json_integer(code));
	json_object_set_new(err, "message", json_string(message));
	if (reason != NULL)
		json_object_set_new(err, "data",
		    json_pack("{s:s}", "reason", reason));
	json_object_set_new(msg, "error", err);
	return msg;
}

static void
answer_error(struct guard *g, json_t *id, int code, const char *message,
    const char *reason)
{
	json_t	*msg;

	if ((msg = make_error(id, code, message, reason)) != NULL)
		send_json(g, msg, 1);
	json_decref(msg);
}

static const char *
reason_text(const char *reason)
{
	static const struct {
		const char	*name;
		const char	*text;
	} own[] = {
		{ R_TOKEN_MISSING, "no baton token in params._meta" },
		{ R_MALFORMED, "the baton token is not a string" },
		{ R_UNAVAILABLE, "the baton broker could not decide" },
		{ R_BAD_REQUEST, "the call cannot be verified as sent" },
		{ R_NOT_PERMITTED, "the broker does not let this guard "
		    "verify for its audience" },
		{ R_BATCH, "tools/call is not accepted inside a batch" },
	};
	size_t	 i;
	int	 r;

	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strcmp(own[i].name, reason) == 0)
			return own[i].text;
	for (r = 0; r <= BATON_R_MAX; r++)
		if (strcmp(baton_reason_name(r), reason) == 0)
			return baton_reason_text(r);
	return "denied";
}

/* The denial of call id, logged; NULL for a notification (no answer). */
static json_t *
denial(json_t *id, const char *what, const char *reason)
{
	char	msg[256];

	guard_log("denied %s: %s", what, reason);
	if (id == NULL)
		return NULL;
	(void)snprintf(msg, sizeof(msg), "baton: %s: %s", reason,
	    reason_text(reason));
	return make_error(id, GUARD_DENIED, msg, reason);
}

static void
deny(struct guard *g, json_t *id, const char *what, const char *reason)
{
	json_t	*msg;

	if ((msg = denial(id, what, reason)) != NULL)
		send_json(g, msg, 1);
	json_decref(msg);
}

/* ---- reading messages ---------------------------------------------------- */

/*
 * Fold a key the way the most lenient JSON decoders match names (Go's
 * encoding/json, for one): ASCII case, and the two non-ASCII letters that
 * fold onto ASCII ones, KELVIN SIGN and LATIN SMALL LETTER LONG S.
 */
static char *
fold_key(const char *k)
{
	char	*f, *p;

	if ((f = malloc(strlen(k) + 1)) == NULL)
		return NULL;
	for (p = f; *k != '\0'; k++) {
		if (strncmp(k, "\xe2\x84\xaa", 3) == 0) {
			*p++ = 'k';
			k += 2;
		} else if (strncmp(k, "\xc5\xbf", 2) == 0) {
			*p++ = 's';
			k += 1;
		} else if (*k >= 'A' && *k <= 'Z')
			*p++ = (char)(*k - 'A' + 'a');
		else
			*p++ = *k;
	}
	*p = '\0';
	return f;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * 1 if obj has two keys that a lenient decoder could take for one
 * ({"path": ..., "Path": ...}): the guard and the server would then read
 * different values.  Also 1 when out of memory: fail closed.
 */
static int
ambiguous_keys(json_t *obj)
{
	const char	*k;
	json_t		*v;
	char		**keys;
	size_t		 i, n = 0;
	int		 dup = 0;

	if (!json_is_object(obj) || json_object_size(obj) < 2)
		return 0;
	if ((keys = calloc(json_object_size(obj), sizeof(*keys))) == NULL)
		return 1;
	json_object_foreach(obj, k, v) {
		if ((keys[n] = fold_key(k)) == NULL) {
			dup = 1;
			goto out;
		}
		n++;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 1; i < n && !dup; i++)
		dup = strcmp(keys[i - 1], keys[i]) == 0;
out:
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	return dup;
}

/*
 * Take the token out of params._meta (and _meta out of params when that
 * leaves it empty).  Returns 1 and the token in *tok (a reference the
 * caller drops), 0 when there is none.
 */
static int
take_token(struct guard *g, json_t *params, json_t **tok)
{
	json_t	*meta, *t;

	*tok = NULL;
	meta = json_object_get(params, "_meta");
	if (!json_is_object(meta) ||
	    (t = json_object_get(meta, g->token_key)) == NULL)
		return 0;
	*tok = json_incref(t);
	json_object_del(meta, g->token_key);
	if (json_object_size(meta) == 0)
		json_object_del(params, "_meta");
	return 1;
}

static void
drop_token(json_t *tok)
{
	if (tok != NULL && tok->refcount == 1)
		wipe_string(tok);
	json_decref(tok);
}

/* ---- the broker ---------------------------------------------------------- */

static int
client_get(struct guard *g)
{
	struct baton_client_opts	co = BATON_CLIENT_OPTS_INIT;

	if (g->client != NULL)
		return 0;
	co.socket_path = g->socket_path;
	co.timeout_ms = g->timeout_ms;
	co.client_name = "baton-mcp-guard";
	return baton_client_open(&g->client, &co);
}

/* Why the broker gave no decision, as a reason name. */
static const char *
error_reason(struct guard *g, int err)
{
	guard_log("broker: %s%s%s", baton_strerror(err),
	    g->client != NULL && *baton_client_last_error(g->client) != '\0' ?
	    ": " : "", g->client != NULL ?
	    baton_client_last_error(g->client) : "");
	switch (err) {
	case BATON_EINVAL:
	case BATON_ETOOBIG:
	case BATON_EMALFORMED:
		return R_BAD_REQUEST;
	case BATON_EPERM:
		return R_NOT_PERMITTED;
	default:
		return R_UNAVAILABLE;
	}
}

/*
 * Ask the broker.  Returns NULL when allowed (*res then holds the
 * decision), else the reason name of the denial.
 */
static const char *
ask(struct guard *g, struct baton_verify_result **res, const char *token,
    const struct baton_verify_opts *vo)
{
	int	err;

	*res = NULL;
	if ((err = client_get(g)) != 0)
		return error_reason(g, err);
	err = baton_verify(res, g->client, token, vo);
	if (err == 0)
		return NULL;
	if (err == BATON_EDENIED)
		return baton_verify_result_reason_name(*res);
	return error_reason(g, err);
}

/*
 * Was the token issued for this server?  1 if its audience holds ours, 0
 * if it names others, or none and --allow-no-audience was not given: the
 * MCP specification wants a server to take only tokens issued for it.
 */
static int
for_us(struct guard *g, const struct baton_verify_result *res)
{
	json_t	*doc, *aud, *a;
	size_t	 i;
	int	 yes = 0;

	doc = json_loads(baton_verify_result_json(res), 0, NULL);
	aud = json_object_get(json_object_get(doc, "facts"), "aud");
	if (aud == NULL)
		yes = g->allow_no_aud;
	json_array_foreach(aud, i, a)
		if (json_is_string(a) &&
		    strcmp(json_string_value(a), g->aud) == 0)
			yes = 1;
	json_decref(doc);
	return yes;
}

/* ---- tools/call ---------------------------------------------------------- */

static const char *
call_action(struct guard *g, const char *tool, json_t *args)
{
	json_t	*a;
	size_t	 i;

	if (g->action_arg != NULL &&
	    json_is_string(a = json_object_get(args, g->action_arg)))
		return json_string_value(a);
	for (i = 0; i < g->nactions; i++)
		if (strcmp(g->actions[i].tool, tool) == 0)
			return g->actions[i].action;
	return NULL;
}

/*
 * The arguments libbaton-verify can carry: strings, integers, booleans.
 * Other values (objects, arrays, null, reals) are left out, so a token
 * that constrains one of them finds the argument missing and refuses.
 */
static int
call_args(json_t *args, struct baton_call_arg **out, size_t *nout)
{
	struct baton_call_arg	*a;
	const char		*k;
	json_t			*v;
	size_t			 n = 0;

	*out = NULL;
	*nout = 0;
	if (json_object_size(args) == 0)
		return 0;
	if ((a = calloc(json_object_size(args), sizeof(*a))) == NULL)
		return -1;
	json_object_foreach(args, k, v) {
		a[n].name = k;
		if (json_is_string(v)) {
			a[n].type = BATON_ARG_STR;
			a[n].str = json_string_value(v);
		} else if (json_is_integer(v)) {
			a[n].type = BATON_ARG_INT;
			a[n].num = json_integer_value(v);
		} else if (json_is_boolean(v)) {
			a[n].type = BATON_ARG_BOOL;
			a[n].num = json_is_true(v);
		} else
			continue;
		n++;
	}
	*out = a;
	*nout = n;
	return 0;
}

/*
 * Decide one tools/call, taking the token out of params._meta.  bearer:
 * the token to verify instead of that one (HTTP), or NULL.  Returns NULL
 * when the broker allows the call, else the reason name; *what names the
 * call for the log.
 */
static const char *
call_decide(struct guard *g, json_t *id, json_t *params, const char *bearer,
    char *what, size_t whatlen)
{
	struct baton_verify_opts	 vo = BATON_VERIFY_OPTS_INIT;
	struct baton_verify_result	*res = NULL;
	struct baton_call_arg		*args = NULL;
	json_t				*name, *jargs, *tok = NULL;
	const char			*why;
	size_t				 nargs = 0;
	char				*p;
	int				 had;

	name = json_object_get(params, "name");
	jargs = json_object_get(params, "arguments");
	(void)snprintf(what, whatlen, "tools/call %.64s%s",
	    json_is_string(name) ? json_string_value(name) : "?",
	    id == NULL ? " (a notification)" : "");
	/* the name is the client's: no line or escape of its own in logs */
	for (p = what; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	/* a notification is never forwarded: it would still run */
	if (id == NULL || !json_is_object(params) || !json_is_string(name) ||
	    (jargs != NULL && !json_is_object(jargs)) ||
	    ambiguous_keys(params) || ambiguous_keys(jargs)) {
		why = R_BAD_REQUEST;
		goto out;
	}
	had = take_token(g, params, &tok);
	if (bearer == NULL && !had) {
		why = R_TOKEN_MISSING;
		goto out;
	}
	if (bearer == NULL && !json_is_string(tok)) {
		why = R_MALFORMED;
		goto out;
	}
	if (call_args(jargs, &args, &nargs) != 0) {
		why = R_UNAVAILABLE;
		goto out;
	}
	vo.tool = json_string_value(name);
	vo.action = call_action(g, vo.tool, jargs);
	vo.audience = g->aud;
	vo.args = args;
	vo.nargs = nargs;
	why = ask(g, &res, bearer != NULL ? bearer : json_string_value(tok),
	    &vo);
	if (why == NULL && !for_us(g, res))
		why = baton_reason_name(BATON_R_AUDIENCE_MISMATCH);
out:
	baton_verify_result_free(res);
	free(args);
	drop_token(tok);
	return why;
}

static void
tools_call(struct guard *g, json_t *msg, json_t *id, json_t *params)
{
	const char	*why;
	char		 what[128];

	if ((why = call_decide(g, id, params, NULL, what, sizeof(what))) ==
	    NULL)
		send_json(g, msg, 0);
	else
		deny(g, id, what, why);
}

/* ---- tools/list -------------------------------------------------------- */

/*
 * What the token grants, for filtering a tool list.  The broker is asked
 * about a tool no grant names: a token that grants every tool allows it,
 * any other is denied as tool_not_granted after the signature, time and
 * chain checks held, with the granted tools in its facts.  Anything else
 * (missing, malformed, expired, another audience) grants nothing.
 * Revocation is not checked before tool_not_granted; the calls themselves
 * always are.
 */
static void
list_grant(struct guard *g, struct guard_pending *p, json_t *tok)
{
	struct baton_verify_opts	 vo = BATON_VERIFY_OPTS_INIT;
	struct baton_verify_result	*res = NULL;
	const char			*why;
	size_t				 i;

	if (!json_is_string(tok))
		return;
	vo.tool = LIST_PROBE;
	vo.audience = g->aud;
	why = ask(g, &res, json_string_value(tok), &vo);
	if (why == NULL && baton_verify_result_wildcard(res) &&
	    for_us(g, res)) {
		p->all = 1;
		goto out;
	}
	if (why != NULL && baton_verify_result_reason(res) !=
	    BATON_R_TOOL_NOT_GRANTED)
		goto out;
	if (!for_us(g, res))
		goto out;
	for (i = 0; i < baton_verify_result_ntools(res); i++)
		json_array_append_new(p->tools,
		    json_string(baton_verify_result_tool(res, i)));
out:
	baton_verify_result_free(res);
}

static void
tools_list(struct guard *g, json_t *msg, json_t *id, json_t *params,
    const char *line, size_t len)
{
	struct guard_pending	*p, **pp;
	json_t			*tok = NULL;
	int			 had;

	if (g->npending >= MAX_PENDING) {
		answer_error(g, id, RPC_INVALID_REQUEST, "baton-mcp-guard: "
		    "too many tools/list requests awaiting an answer", NULL);
		return;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->tools = json_array()) == NULL) {
		free(p);
		answer_error(g, id, RPC_INVALID_REQUEST, "baton-mcp-guard: "
		    "out of memory", NULL);
		return;
	}
	p->id = json_incref(id);
	had = json_is_object(params) && take_token(g, params, &tok);
	list_grant(g, p, tok);
	for (pp = &g->pending; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = p;
	g->npending++;
	if (had)
		send_json(g, msg, 0);
	else
		guard_to_server(g, line, len);
	drop_token(tok);
}

static void
pending_free(struct guard_pending *p)
{
	json_decref(p->id);
	json_decref(p->tools);
	free(p);
}

/* The answer to a filtered tools/list: keep what p grants. */
static void
filter_list(struct guard *g, json_t *msg, struct guard_pending *p)
{
	json_t	*tools, *kept, *t, *name, *n;
	size_t	 i, j;

	tools = json_object_get(json_object_get(msg, "result"), "tools");
	if (!json_is_array(tools) || p->all)
		return;
	if ((kept = json_array()) == NULL)
		return;
	json_array_foreach(tools, i, t) {
		name = json_object_get(t, "name");
		json_array_foreach(p->tools, j, n)
			if (json_equal(name, n)) {
				json_array_append(kept, t);
				break;
			}
	}
	json_object_set_new(json_object_get(msg, "result"), "tools", kept);
}

/* ---- the two directions -------------------------------------------------- */

static int
blank(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

static int
is_method(json_t *msg, const char *m)
{
	json_t	*method = json_object_get(msg, "method");

	return json_is_string(method) &&
	    strcmp(json_string_value(method), m) == 0;
}

/* 1 if the batch must be refused whole: it holds a call, or might. */
static int
batch_refused(struct guard *g, json_t *msg)
{
	json_t	*el;
	size_t	 i;

	json_array_foreach(msg, i, el) {
		/* nothing a lenient server might read as a call either */
		if (!json_is_object(el) || ambiguous_keys(el) ||
		    is_method(el, "tools/call") ||
		    (g->filter_tools && is_method(el, "tools/list")))
			return 1;
	}
	return 0;
}

/* The answer to a refused batch: one denial per request in it. */
static json_t *
batch_denials(json_t *msg)
{
	json_t	*el, *answers, *d;
	size_t	 i;

	guard_log("denied a batch holding tools/call: %s", R_BATCH);
	if ((answers = json_array()) == NULL)
		return NULL;
	json_array_foreach(msg, i, el) {
		if (!json_is_string(json_object_get(el, "method")) ||
		    json_object_get(el, "id") == NULL)
			continue;
		d = make_error(json_object_get(el, "id"), GUARD_DENIED,
		    "baton: " R_BATCH ": tools/call is not accepted inside "
		    "a batch", R_BATCH);
		json_array_append_new(answers, d);
	}
	if (json_array_size(answers) == 0) {
		json_decref(answers);
		answers = make_error(NULL, GUARD_DENIED, "baton: " R_BATCH
		    ": tools/call is not accepted inside a batch", R_BATCH);
	}
	return answers;
}

/* Take the token out of every message of a batch; 1 if one was there. */
static int
batch_strip(struct guard *g, json_t *msg)
{
	json_t	*el, *tok;
	size_t	 i;
	int	 stripped = 0;

	json_array_foreach(msg, i, el) {
		if (take_token(g, json_object_get(el, "params"), &tok)) {
			stripped = 1;
			drop_token(tok);
		}
	}
	return stripped;
}

static void
batch(struct guard *g, json_t *msg, const char *line, size_t len)
{
	json_t	*answers;

	if (batch_refused(g, msg)) {
		if ((answers = batch_denials(msg)) != NULL)
			send_json(g, answers, 1);
		json_decref(answers);
	} else if (batch_strip(g, msg))
		send_json(g, msg, 0);
	else
		guard_to_server(g, line, len);
}

void
rpc_from_client(struct guard *g, char *line, size_t len)
{
	json_t		*msg, *id, *params, *tok;
	json_error_t	 jerr;
	char		 text[256];

	if (blank(line, len)) {
		guard_to_server(g, line, len);
		return;
	}
	if ((msg = json_loadb(line, len, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL) {
		(void)snprintf(text, sizeof(text), "Parse error: column %d: "
		    "%s", jerr.column, jerr.text);
		answer_error(g, NULL, RPC_PARSE_ERROR, text, NULL);
		return;
	}
	if (json_is_array(msg)) {
		batch(g, msg, line, len);
		goto out;
	}
	if (!json_is_object(msg) || ambiguous_keys(msg)) {
		answer_error(g, NULL, RPC_INVALID_REQUEST, "Invalid Request: "
		    "not an object, or keys that differ only in case", NULL);
		goto out;
	}
	id = json_object_get(msg, "id");
	params = json_object_get(msg, "params");
	if (is_method(msg, "tools/call"))
		tools_call(g, msg, id, params);
	else if (g->filter_tools && id != NULL && is_method(msg, "tools/list"))
		tools_list(g, msg, id, params, line, len);
	else if (json_is_object(params) && take_token(g, params, &tok)) {
		/* not a call, but the token still stays here */
		drop_token(tok);
		send_json(g, msg, 0);
	} else
		guard_to_server(g, line, len);
out:
	json_decref(msg);
}

void
rpc_from_server(struct guard *g, char *line, size_t len)
{
	struct guard_pending	**pp, *p;
	json_t			 *msg, *id;

	if (g->pending == NULL) {
		guard_to_client(g, line, len);
		return;
	}
	msg = json_loadb(line, len, 0, NULL);
	if (!json_is_object(msg) || json_object_get(msg, "method") != NULL ||
	    (id = json_object_get(msg, "id")) == NULL) {
		json_decref(msg);
		guard_to_client(g, line, len);
		return;
	}
	for (pp = &g->pending; *pp != NULL; pp = &(*pp)->next)
		if (json_equal((*pp)->id, id))
			break;
	if ((p = *pp) == NULL) {
		json_decref(msg);
		guard_to_client(g, line, len);
		return;
	}
	*pp = p->next;
	g->npending--;
	filter_list(g, msg, p);
	send_json(g, msg, 1);
	pending_free(p);
	json_decref(msg);
}

/* ---- Streamable HTTP ------------------------------------------------------ */

const char *
rpc_http_bearer(struct guard *g, const char *token)
{
	struct baton_verify_opts	 vo = BATON_VERIFY_OPTS_INIT;
	struct baton_verify_result	*res = NULL;
	const char			*why;

	/* as list_grant(): a tool no grant names; see there */
	vo.tool = LIST_PROBE;
	vo.audience = g->aud;
	why = ask(g, &res, token, &vo);
	if (why != NULL && baton_verify_result_reason(res) ==
	    BATON_R_TOOL_NOT_GRANTED)
		why = NULL;
	if (why == NULL && !for_us(g, res))
		why = baton_reason_name(BATON_R_AUDIENCE_MISMATCH);
	baton_verify_result_free(res);
	return why;
}

static char *
dump(json_t *msg)
{
	char	*s;

	if ((s = json_dumps(msg, JSON_COMPACT)) == NULL)
		guard_log("out of memory encoding a message");
	return s;
}

int
rpc_http_post(struct guard *g, const char *body, size_t len,
    const char *token, char **fwd, char **answer)
{
	json_t		*msg, *ans = NULL, *tok;
	json_error_t	 jerr;
	const char	*why;
	char		 what[256];
	int		 status = 0;

	*fwd = *answer = NULL;
	if ((msg = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		(void)snprintf(what, sizeof(what), "Parse error: column %d: "
		    "%s", jerr.column, jerr.text);
		ans = make_error(NULL, RPC_PARSE_ERROR, what, NULL);
		status = 400;
	} else if (json_is_array(msg)) {
		if (batch_refused(g, msg)) {
			ans = batch_denials(msg);
			status = 403;
		} else if (batch_strip(g, msg))
			*fwd = dump(msg);
	} else if (!json_is_object(msg) || ambiguous_keys(msg)) {
		ans = make_error(NULL, RPC_INVALID_REQUEST, "Invalid Request: "
		    "not an object, or keys that differ only in case", NULL);
		status = 400;
	} else if (is_method(msg, "tools/call")) {
		why = call_decide(g, json_object_get(msg, "id"),
		    json_object_get(msg, "params"), token, what, sizeof(what));
		if (why == NULL) {
			/* allowed, but if it cannot be encoded, not sent */
			if ((*fwd = dump(msg)) == NULL)
				status = 500;
		} else {
			ans = denial(json_object_get(msg, "id"), what, why);
			if (ans == NULL)
				ans = make_error(NULL, GUARD_DENIED, "baton: "
				    "denied", why);
			status = 403;
		}
	} else if (take_token(g, json_object_get(msg, "params"), &tok)) {
		drop_token(tok);
		*fwd = dump(msg);
	}
	if (ans != NULL)
		*answer = dump(ans);
	json_decref(ans);
	json_decref(msg);
	return status;
}

void
rpc_too_long(struct guard *g, int from_client)
{
	char	text[128];

	if (!from_client) {
		guard_log("dropped a line from the server longer than %zu "
		    "bytes", g->max_line);
		return;
	}
	(void)snprintf(text, sizeof(text), "Invalid Request: "
	    "baton-mcp-guard: line longer than %zu bytes", g->max_line);
	guard_log("refused a line from the client longer than %zu bytes",
	    g->max_line);
	answer_error(g, NULL, RPC_INVALID_REQUEST, text, NULL);
}

void
rpc_free(struct guard *g)
{
	struct guard_pending	*p;

	while ((p = g->pending) != NULL) {
		g->pending = p->next;
		pending_free(p);
	}
	baton_client_free(g->client);
	g->client = NULL;
}
