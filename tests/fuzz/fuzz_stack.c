/*
 * fuzz_stack.c: a stack directory (baton-stack(5)) through stacks_load:
 * verify.d and issue.d files, includes and sources.conf, with the
 * plugins' modules checking their lines' arguments.  A loaded set then
 * decides one verify and one mint.
 *
 * The input is the files, each opened by a line "== NAME" (NAME one of
 * verify.d/FILE, issue.d/FILE or sources.conf); text before the first
 * such line is verify.d/default.
 */

#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batond.h"
#include "fuzz.h"
#include "fuzzmod.h"

#define MAX_FILES	8

static struct config	*cfg;
static char		 top[256];
static struct baton_token tok;
static struct baton_effective eff;

/* The broker's configuration lock, for stacks_acquire. */
struct config *
broker_config(void)
{
	return (cfg);
}

void
broker_config_release(void)
{
}

static void
empty(const char *sub)
{
	char		 path[512];
	DIR		*dp;
	struct dirent	*de;

	snprintf(path, sizeof path, "%s/%s", top, sub);
	if ((dp = opendir(path)) == NULL)
		abort();
	while ((de = readdir(dp)) != NULL)
		if (de->d_name[0] != '.')
			(void)unlinkat(dirfd(dp), de->d_name, 0);
	closedir(dp);
}

static int
unlink_sources(void)
{
	char	path[512];

	snprintf(path, sizeof path, "%s/sources.conf", top);
	return (unlink(path));
}

static void
setup(void)
{
	char	path[512];
	const char *text;

	snprintf(top, sizeof top, "%s/stack", fuzz_dir());
	snprintf(path, sizeof path, "%s/verify.d", top);
	if (mkdir(top, 0755) != 0 || chmod(top, 0755) != 0 ||
	    mkdir(path, 0755) != 0 || chmod(path, 0755) != 0)
		abort();
	snprintf(path, sizeof path, "%s/issue.d", top);
	if (mkdir(path, 0755) != 0 || chmod(path, 0755) != 0)
		abort();
	text = fuzz_sample_token(1);	/* tools, audiences, limits */
	if (baton_token_open(&tok, text, strlen(text), fuzz_keyring(),
	    BATON_CHECK_TAG) != BATON_R_OK ||
	    baton_effective(&tok, &eff) != BATON_R_OK)
		abort();
}

/* Split the input into files; -1 when a name is not one we take. */
static int
write_files(const uint8_t *data, size_t size)
{
	const uint8_t	*p = data, *end = data + size, *next, *nl;
	char		 name[80], *slash;
	size_t		 n;
	int		 nfiles = 0, named = 0;

	snprintf(name, sizeof name, "verify.d/default");
	for (;;) {
		/* a line "== NAME" names the file that follows it */
		if (end - p >= 3 && memcmp(p, "== ", 3) == 0) {
			p += 3;
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			n = (size_t)(nl - p);
			if (n == 0 || n >= 64)
				return (-1);
			memcpy(name, p, n);
			name[n] = '\0';
			if (strcmp(name, "sources.conf") != 0) {
				if ((slash = strchr(name, '/')) == NULL)
					return (-1);
				*slash = '\0';
				if ((strcmp(name, "verify.d") != 0 &&
				    strcmp(name, "issue.d") != 0) ||
				    !module_name_ok(slash + 1))
					return (-1);
				*slash = '/';
			}
			named = 1;
			p = nl < end ? nl + 1 : end;
		}
		/* the file runs up to the next such line, or the end */
		for (next = p; next < end; next = nl + 1) {
			if ((nl = memchr(next, '\n', (size_t)(end - next))) ==
			    NULL) {
				next = end;
				break;
			}
			if (end - (nl + 1) >= 3 &&
			    memcmp(nl + 1, "== ", 3) == 0) {
				next = nl + 1;
				break;
			}
		}
		n = (size_t)(next - p);
		if (named || n > 0) {
			if (++nfiles > MAX_FILES ||
			    fuzz_write_file(top, name, p, n) != 0)
				return (-1);
		}
		if (next >= end)
			return (0);
		p = next;
	}
}

static void
decide(const char *service)
{
	struct decision		d;
	struct baton_request	req;
	struct trace		tr;
	char			why[256];
	enum authz_result	r;

	memset(&req, 0, sizeof req);
	req.tool = "db_query";
	req.action = "read";
	req.audience = "db";
	req.now = eff.nbf;
	memset(&d, 0, sizeof d);
	memset(&tr, 0, sizeof tr);
	d.op = BATON_OP_VERIFY;
	d.service = service;
	d.tok = &tok;
	d.req = &req;
	d.eff = &eff;
	d.tool = req.tool;
	d.action = req.action;
	d.aud1 = req.audience;
	d.why = why;
	d.whylen = sizeof why;
	d.trace = &tr;
	why[0] = '\0';
	r = stacks_authorize(&d);
	FUZZ_ASSERT(r == AUTHZ_OK || r == AUTHZ_DENY || r == AUTHZ_ERROR ||
	    r == AUTHZ_IGNORE);
	trace_free(&tr);
	memset(&d, 0, sizeof d);
	d.op = BATON_OP_MINT;
	d.service = "issue";
	d.agent = "orchestrator";
	d.block = &tok.blocks[0];
	d.ttl = 600;
	d.why = why;
	d.whylen = sizeof why;
	r = stacks_authorize(&d);
	FUZZ_ASSERT(r == AUTHZ_OK || r == AUTHZ_DENY || r == AUTHZ_ERROR ||
	    r == AUTHZ_IGNORE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*cause = NULL;
	int	 rc;

	if (top[0] == '\0')
		setup();
	empty("verify.d");
	empty("issue.d");
	(void)unlink_sources();
	if (write_files(data, size) != 0)
		return (0);
	cfg = config_default();
	cfg->stack_dir = xstrdup(top);
	rc = stacks_load(cfg, &cause);
	FUZZ_ASSERT((rc == 0) == (cause == NULL));
	if (rc == 0 && cfg->stacks != NULL) {
		decide("db");
		decide("files");
		stacks_release(cfg->stacks);
	}
	free(cause);
	config_free(cfg);
	cfg = NULL;
	return (0);
}
