/* fuzzmods.c: modules, a made-up decision and scratch files for fuzzing. */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzzmod.h"

#define AUDIT_TRAILS	4	/* distinct trails: each keeps a descriptor */

/* ---- scratch files ------------------------------------------------------ */

static char	dir[64];

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path));
}

static void
rm_dir(void)
{
	if (dir[0] != '\0')
		(void)nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
fuzz_dir(void)
{
	const char	*t;

	if (dir[0] != '\0')
		return (dir);
	if ((t = getenv("TMPDIR")) == NULL || *t != '/' || strlen(t) > 40)
		t = "/tmp";
	snprintf(dir, sizeof dir, "%s/baton-fuzz.XXXXXX", t);
	if (mkdtemp(dir) == NULL) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(rm_dir);
	return (dir);
}

int
fuzz_write_file(const char *d, const char *name, const void *buf,
    size_t len)
{
	char	path[512];
	int	fd, rc = 0;

	snprintf(path, sizeof path, "%s/%s", d, name);
	(void)unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return (-1);
	if (len > 0 && write(fd, buf, len) != (ssize_t)len)
		rc = -1;
	close(fd);
	return (rc);
}

/* ---- the host ----------------------------------------------------------- */

#define D(x)	((const struct fuzz_decision *)(const void *)(x))

static void
h_log(enum baton_log_level level, const char *fmt, ...)
{
	char	buf[256];
	va_list	ap;

	(void)level;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);	/* format, drop */
	va_end(ap);
}

static uint64_t h_now(void) { return (1800000000); }
static uint64_t h_usec(void) { return (1800000000ULL * 1000000); }
static enum baton_phase
h_phase(const struct baton_decision *d) { return (D(d)->phase); }
static const char *h_op(const struct baton_decision *d) { return (D(d)->op); }
static const char *
h_service(const struct baton_decision *d) { return (D(d)->service); }
static const char *
h_agent(const struct baton_decision *d) { return (D(d)->agent); }
static const char *
h_subject(const struct baton_decision *d) { return (D(d)->subject); }
static uint32_t
h_uid(const struct baton_decision *d) { (void)d; return (1000); }
static const char *
h_exe(const struct baton_decision *d) { (void)d; return ("/usr/bin/agent"); }
static const char *
h_cgroup(const struct baton_decision *d) { (void)d; return (""); }
static const char *h_tool(const struct baton_decision *d) { return (D(d)->tool); }
static const char *
h_action(const struct baton_decision *d) { return (D(d)->action); }
static const char *
h_audience(const struct baton_decision *d) { return (D(d)->audience); }
static size_t h_nargs(const struct baton_decision *d) { (void)d; return (1); }

static int
h_arg(const struct baton_decision *d, size_t i, const char **name,
    const char **value)
{
	(void)d;
	if (i > 0)
		return (-1);
	*name = "table";
	*value = "orders";
	return (0);
}

static size_t h_nusage(const struct baton_decision *d) { (void)d; return (1); }

static int
h_usage(const struct baton_decision *d, size_t i, const char **name,
    uint64_t *value)
{
	(void)d;
	if (i > 0)
		return (-1);
	*name = "max_rows";
	*value = 10;
	return (0);
}

static int
h_wildcard(const struct baton_decision *d) { return (D(d)->wildcard); }
static size_t
h_ntools(const struct baton_decision *d) { return (D(d)->ntools); }

static const char *
h_grant_tool(const struct baton_decision *d, size_t i)
{
	return (i < D(d)->ntools ? D(d)->tools[i] : NULL);
}

static int
h_grant_actions(const struct baton_decision *x, const char *tool,
    const char *const **actions, size_t *n)
{
	const struct fuzz_decision	*d = D(x);
	size_t				 i;

	for (i = 0; i < d->ntools; i++)
		if (tool != NULL && strcmp(d->tools[i], tool) == 0 &&
		    d->actions[i] != NULL) {
			*actions = d->actions[i];
			*n = d->nactions[i];
			return (0);
		}
	return (1);
}

static int
h_grant_limit(const struct baton_decision *x, const char *tool,
    const char *name, uint64_t *max)
{
	const struct fuzz_decision	*d = D(x);

	if (tool == NULL || d->limit_name == NULL ||
	    strcmp(name, d->limit_name) != 0)
		return (-1);
	*max = d->limit_max;
	return (0);
}

static int
h_grant_audiences(const struct baton_decision *x, const char *const **aud,
    size_t *n)
{
	if (D(x)->aud == NULL)
		return (-1);
	*aud = D(x)->aud;
	*n = D(x)->naud;
	return (0);
}

static uint64_t
h_lifetime(const struct baton_decision *d) { return (D(d)->lifetime); }
static uint64_t h_ttl(const struct baton_decision *d) { return (D(d)->ttl); }
static uint64_t h_depth(const struct baton_decision *d) { return (D(d)->depth); }
static uint64_t
h_depth_left(const struct baton_decision *d) { return (D(d)->depth_left); }
static size_t
h_chain_len(const struct baton_decision *d) { return (D(d)->depth + 1); }

static const char *
h_chain_agent(const struct baton_decision *d, size_t i)
{
	return (i == 0 ? "orchestrator" : D(d)->agent);
}

static const uint8_t *
h_chain_jti(const struct baton_decision *d, size_t i)
{
	static const uint8_t	jti[16] = { 0x11, 0x22 };

	(void)d;
	(void)i;
	return (jti);
}

static int h_allowed(const struct baton_decision *d) { (void)d; return (1); }
static const char *
h_reason(const struct baton_decision *d) { (void)d; return ("ok"); }
static const char *
h_message(const struct baton_decision *d) { (void)d; return (NULL); }
static const uint8_t *
h_new_jti(const struct baton_decision *d) { (void)d; return (NULL); }

static const struct baton_host host = {
	.size = sizeof(struct baton_host),
	.abi = BATON_MODULE_ABI,
	.log = h_log,
	.now = h_now,
	.clock_usec = h_usec,
	.phase = h_phase,
	.op = h_op,
	.service = h_service,
	.agent = h_agent,
	.subject = h_subject,
	.peer_uid = h_uid,
	.peer_exe = h_exe,
	.peer_cgroup = h_cgroup,
	.tool = h_tool,
	.action = h_action,
	.audience = h_audience,
	.nargs = h_nargs,
	.arg = h_arg,
	.nusage = h_nusage,
	.usage = h_usage,
	.grant_wildcard = h_wildcard,
	.grant_ntools = h_ntools,
	.grant_tool = h_grant_tool,
	.grant_actions = h_grant_actions,
	.grant_limit = h_grant_limit,
	.grant_audiences = h_grant_audiences,
	.lifetime = h_lifetime,
	.ttl = h_ttl,
	.depth = h_depth,
	.depth_left = h_depth_left,
	.chain_len = h_chain_len,
	.chain_agent = h_chain_agent,
	.chain_jti = h_chain_jti,
	.allowed = h_allowed,
	.reason = h_reason,
	.message = h_message,
	.new_jti = h_new_jti,
};

const struct baton_host *
fuzz_host(void)
{
	return (&host);
}

/* ---- the modules -------------------------------------------------------- */

/* audit with its trail confined: file=/ANY becomes file=DIR/trailN. */
static int
audit_confined(const struct baton_host *h, int argc, char *const *argv,
    void **state, char *err, size_t errlen)
{
	char		**v, path[128];
	unsigned	  sum;
	int		  i, rc;
	const char	 *p;

	if ((v = calloc((size_t)argc + 1, sizeof *v)) == NULL)
		abort();
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "file=/", 6) == 0) {
			for (sum = 0, p = argv[i]; *p != '\0'; p++)
				sum = sum * 31 + (unsigned char)*p;
			snprintf(path, sizeof path, "file=%s/trail%u",
			    fuzz_dir(), sum % AUDIT_TRAILS);
			if ((v[i] = strdup(path)) == NULL)
				abort();
		} else if ((v[i] = strdup(argv[i])) == NULL)
			abort();
	}
	rc = fuzz_entry_audit()->init(h, argc, v, state, err, errlen);
	for (i = 0; i < argc; i++)
		free(v[i]);
	free(v);
	return (rc);
}

/* fuzzsrc: a lookup source that takes no arguments and answers by jti. */
static int
src_init(const struct baton_host *h, int argc, char *const *argv,
    void **state, char *err, size_t errlen)
{
	(void)h;
	(void)argv;
	*state = NULL;
	if (argc != 0) {
		snprintf(err, errlen, "takes no arguments");
		return (-1);
	}
	return (0);
}

static enum baton_status
src_lookup(void *state, const struct baton_query *q)
{
	(void)state;
	if (q->njtis > 0)
		return ((enum baton_status)(q->jtis[0][0] % 5));
	return (q->agent != NULL && strcmp(q->agent, "worker") == 0 ?
	    BATON_STATUS_SUCCESS : BATON_STATUS_NOTFOUND);
}

const char *const fuzz_module_names[] = {
	"policy", "ratelimit", "time", "exec", "audit", "permit", "deny",
	"fuzzsrc", NULL
};

const struct baton_module *
fuzz_module(const char *name)
{
	static struct baton_module	audit, exec, src;

	if (strcmp(name, "policy") == 0)
		return (fuzz_entry_policy());
	if (strcmp(name, "ratelimit") == 0)
		return (fuzz_entry_ratelimit());
	if (strcmp(name, "time") == 0)
		return (fuzz_entry_time());
	if (strcmp(name, "exec") == 0) {
		/* its arguments only: authorize would run what they name */
		exec = *fuzz_entry_exec();
		exec.authorize = NULL;
		return (&exec);
	}
	if (strcmp(name, "permit") == 0)
		return (fuzz_entry_permit());
	if (strcmp(name, "deny") == 0)
		return (fuzz_entry_deny());
	if (strcmp(name, "audit") == 0) {
		audit = *fuzz_entry_audit();
		audit.init = audit_confined;
		return (&audit);
	}
	if (strcmp(name, "fuzzsrc") == 0) {
		memset(&src, 0, sizeof src);
		src.magic = BATON_MODULE_MAGIC;
		src.abi = BATON_MODULE_ABI;
		src.size = sizeof src;
		src.name = "fuzzsrc";
		src.init = src_init;
		src.lookup = src_lookup;
		return (&src);
	}
	return (NULL);
}
