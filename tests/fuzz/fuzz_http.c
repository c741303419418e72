/*
 * fuzz_http.c: a Streamable HTTP request through baton-mcp-guard's
 * decisions (mcp/http.c, mcp/rpc.c), without the event loop.
 *
 * The input is the request's head and body as on the wire, lines ending
 * in "\n" or "\r\n": "METHOD TARGET VERSION", header lines, an empty
 * line, the body.  What must hold: a request goes upstream only with a
 * bearer token the broker took; a POST holding a tools/call only when
 * the broker allowed a call; no token in params._meta goes upstream; the
 * Authorization header and hop-by-hop headers never do.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "fuzzguard.h"

#define MAX_HEADERS	64

struct header {
	char	*name, *value;
};

/* A copy of [p, end) as a string; NULL if it holds a NUL byte. */
static char *
str(const uint8_t *p, const uint8_t *end)
{
	char	*s;

	if (memchr(p, '\0', (size_t)(end - p)) != NULL)
		return (NULL);
	if ((s = malloc((size_t)(end - p) + 1)) == NULL)
		abort();
	memcpy(s, p, (size_t)(end - p));
	s[end - p] = '\0';
	return (s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guard	*g;
	struct header	 h[MAX_HEADERS];
	const uint8_t	*p = data, *end = data + size, *nl, *eol, *colon;
	const char	*auth = NULL, *conn = NULL, *why;
	char		*fwd, *answer, *body = NULL;
	size_t		 nh = 0, i, len = 0;
	int		 post = 0, status, first = 1;

	memset(h, 0, sizeof h);
	/* the head, up to an empty line */
	for (; p < end; p = nl < end ? nl + 1 : end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		eol = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
		if (eol == p) {
			p = nl < end ? nl + 1 : end;
			break;
		}
		if (first) {
			first = 0;
			post = eol - p >= 5 && memcmp(p, "POST ", 5) == 0;
			continue;
		}
		if (nh == MAX_HEADERS ||
		    (colon = memchr(p, ':', (size_t)(eol - p))) == NULL ||
		    (h[nh].name = str(p, colon)) == NULL)
			goto out;	/* not a request evhttp would take */
		for (colon++; colon < eol && (*colon == ' ' || *colon == '\t');
		    colon++)
			;
		if ((h[nh].value = str(colon, eol)) == NULL) {
			nh++;
			goto out;
		}
		if (strcasecmp(h[nh].name, "Authorization") == 0 &&
		    auth == NULL)
			auth = h[nh].value;
		if (strcasecmp(h[nh].name, "Connection") == 0 && conn == NULL)
			conn = h[nh].value;
		nh++;
	}
	if (post) {
		/* the body exactly, as on_request copies it, NUL-terminated */
		len = (size_t)(end - p);
		if ((body = malloc(len + 1)) == NULL)
			abort();
		memcpy(body, p, len);
		body[len] = '\0';
	}
	g = fuzz_guard_new(0, 0);
	status = http_decide(g, auth, post, body, len, &fwd, &answer, &why);
	FUZZ_ASSERT(status == 0 || status == 400 || status == 401 ||
	    status == 403 || status == 500 || status == 503);
	if (status != 0)
		FUZZ_ASSERT(fwd == NULL);
	if (status == 401 && why != NULL)
		FUZZ_ASSERT(strchr(why, '"') == NULL);	/* goes in a header */
	if (status == 0) {
		/* the broker took the bearer token */
		FUZZ_ASSERT(auth != NULL);
		if (fwd != NULL)
			fuzz_guard_check_server(fwd, strlen(fwd));
		else if (body != NULL)
			fuzz_guard_check_server(body, len);
		FUZZ_ASSERT(fuzz_guard.calls_to_server <= fuzz_guard.allowed);
		FUZZ_ASSERT(fuzz_guard.tokens_to_server == 0);
		for (i = 0; i < nh; i++)
			if (http_pass_header(h[i].name, conn, 0))
				FUZZ_ASSERT(strcasecmp(h[i].name,
				    "Authorization") != 0 &&
				    strcasecmp(h[i].name, "Connection") != 0 &&
				    strcasecmp(h[i].name, "Host") != 0);
	}
	if (answer != NULL)
		FUZZ_ASSERT(status != 0);
	free(fwd);
	free(answer);
	fuzz_guard_free(g);
out:
	for (i = 0; i < nh; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(body);
	return (0);
}
