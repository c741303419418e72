/*
 * fuzzguard.c: baton-mcp-guard's relay and broker client, replaced for
 * the fuzz targets: what the guard sends either side is checked and
 * counted, and the broker is a function of the token text.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "baton/verify.h"

#include "fuzz.h"
#include "fuzzguard.h"

struct fuzz_guard_counts fuzz_guard;

/* ---- the relay (guard.c) -------------------------------------------------- */

void
guard_log(const char *fmt, ...)
{
	char	buf[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
}

static int
is_call(json_t *msg)
{
	json_t	*m = json_object_get(msg, "method");

	return (json_is_string(m) && strcmp(json_string_value(m),
	    "tools/call") == 0);
}

static int
has_token(json_t *msg)
{
	return (json_object_get(json_object_get(json_object_get(msg,
	    "params"), "_meta"), GUARD_TOKEN_KEY) != NULL);
}

void
fuzz_guard_check_server(const char *buf, size_t len)
{
	json_t	*msg, *el;
	size_t	 i;

	fuzz_guard.to_server++;
	if ((msg = json_loadb(buf, len, 0, NULL)) == NULL)
		return;
	if (json_is_array(msg)) {
		json_array_foreach(msg, i, el) {
			fuzz_guard.calls_to_server += is_call(el);
			fuzz_guard.tokens_to_server += has_token(el);
		}
	} else {
		fuzz_guard.calls_to_server += is_call(msg);
		fuzz_guard.tokens_to_server += has_token(msg);
	}
	json_decref(msg);
}

void
guard_to_server(struct guard *g, const char *buf, size_t len)
{
	(void)g;
	FUZZ_ASSERT(memchr(buf, '\n', len) == NULL);	/* one line */
	fuzz_guard_check_server(buf, len);
}

void
guard_to_client(struct guard *g, const char *buf, size_t len)
{
	(void)g;
	(void)buf;
	fuzz_guard.to_client++;
	FUZZ_ASSERT(memchr(buf, '\n', len) == NULL);
}

struct guard *
fuzz_guard_new(int filter_tools, int allow_no_aud)
{
	static char			 tool[] = "db_query";
	static struct guard_action	 act = { tool, "read" };
	struct guard			*g;

	memset(&fuzz_guard, 0, sizeof fuzz_guard);
	if ((g = calloc(1, sizeof *g)) == NULL)
		abort();
	g->socket_path = "/nonexistent/baton.sock";
	g->aud = "db";
	g->token_key = GUARD_TOKEN_KEY;
	g->max_line = 4096;
	g->timeout_ms = 1000;
	g->filter_tools = filter_tools;
	g->allow_no_aud = allow_no_aud;
	g->actions = &act;
	g->nactions = 1;
	g->action_arg = "action";
	return (g);
}

void
fuzz_guard_free(struct guard *g)
{
	rpc_free(g);
	free(g);
}

/* ---- the broker (libbaton-verify) ----------------------------------------- */

struct baton_client {
	char	last[64];
};

struct baton_verify_result {
	int	 allowed, reason, wildcard;
	size_t	 ntools;
	char	*json;
};

static const char *const granted[] = { "db_query" };

int
baton_client_open(struct baton_client **out, const struct baton_client_opts *o)
{
	FUZZ_ASSERT(o != NULL && o->version == BATON_CLIENT_OPTS_VERSION);
	if ((*out = calloc(1, sizeof **out)) == NULL)
		return (BATON_ENOMEM);
	return (0);
}

void
baton_client_free(struct baton_client *c)
{
	free(c);
}

const char *
baton_client_last_error(const struct baton_client *c)
{
	return (c->last);
}

int
baton_verify(struct baton_verify_result **out, struct baton_client *c,
    const char *token, const struct baton_verify_opts *o)
{
	struct baton_verify_result	*r;
	const char			*aud = "[\"db\"]";
	size_t				 i;
	int				 probe;

	*out = NULL;
	FUZZ_ASSERT(c != NULL && token != NULL && o != NULL);
	FUZZ_ASSERT(o->tool != NULL);
	probe = strcmp(o->tool, "io.baton/tools-list") == 0;
	/* every argument the guard hands over must be readable */
	FUZZ_ASSERT(o->nargs == 0 || o->args != NULL);
	for (i = 0; i < o->nargs; i++) {
		FUZZ_ASSERT(o->args[i].name != NULL);
		(void)strlen(o->args[i].name);
		if (o->args[i].type == BATON_ARG_STR)
			(void)strlen(o->args[i].str);
		else
			FUZZ_ASSERT(o->args[i].type == BATON_ARG_INT ||
			    o->args[i].type == BATON_ARG_BOOL);
	}
	if (o->action != NULL)
		(void)strlen(o->action);
	if (strcmp(token, "bt1_down") == 0)
		return (BATON_EUNAVAIL);
	if (strcmp(token, "bt1_perm") == 0)
		return (BATON_EPERM);
	if ((r = calloc(1, sizeof *r)) == NULL)
		abort();
	r->reason = BATON_R_MALFORMED;
	if (strcmp(token, "bt1_all") == 0) {
		r->allowed = r->wildcard = 1;
	} else if (strcmp(token, "bt1_db") == 0) {
		r->ntools = 1;
		r->allowed = strcmp(o->tool, "db_query") == 0;
		if (!r->allowed)
			r->reason = BATON_R_TOOL_NOT_GRANTED;
	} else if (strcmp(token, "bt1_other") == 0) {
		r->allowed = r->wildcard = 1;
		aud = "[\"other\"]";
	} else if (strcmp(token, "bt1_noaud") == 0) {
		r->allowed = r->wildcard = 1;
		aud = NULL;
	}
	if (r->allowed)
		r->reason = BATON_R_OK;
	if (asprintf(&r->json, "{\"allowed\":%s,\"facts\":{%s%s%s}}",
	    r->allowed ? "true" : "false", aud != NULL ? "\"aud\":" : "",
	    aud != NULL ? aud : "", "") == -1)
		abort();
	*out = r;
	if (!r->allowed)
		return (BATON_EDENIED);
	if (!probe)
		fuzz_guard.allowed++;
	return (0);
}

void
baton_verify_result_free(struct baton_verify_result *r)
{
	if (r == NULL)
		return;
	free(r->json);
	free(r);
}

int
baton_verify_result_reason(const struct baton_verify_result *r)
{
	return (r != NULL ? r->reason : BATON_R_UNAVAILABLE);
}

const char *
baton_verify_result_reason_name(const struct baton_verify_result *r)
{
	return (baton_reason_name(baton_verify_result_reason(r)));
}

int
baton_verify_result_wildcard(const struct baton_verify_result *r)
{
	return (r != NULL && r->wildcard);
}

size_t
baton_verify_result_ntools(const struct baton_verify_result *r)
{
	return (r != NULL ? r->ntools : 0);
}

const char *
baton_verify_result_tool(const struct baton_verify_result *r, size_t i)
{
	return (r != NULL && i < r->ntools ? granted[i] : NULL);
}

const char *
baton_verify_result_json(const struct baton_verify_result *r)
{
	return (r != NULL ? r->json : NULL);	/* as libbaton-verify's */
}
