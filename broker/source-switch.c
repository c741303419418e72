/*
 * source-switch.c: the lookup source batond uses: sources.conf's chain for
 * each database, with the built-in "files" source (source-files.c) as
 * one of its members, and files alone when sources.conf says nothing.
 *
 * Module sources answer "may this peer act as this agent", "is one of
 * these jtis revoked" and "spend these jtis".  The agent a peer acts as
 * by default, who may verify for which audience, and writing a
 * revocation stay with files.
 */

#include <stdlib.h>
#include <string.h>

#include "batond.h"

struct files_args {
	const struct config	*cfg;
	const struct peer	*peer;
	const struct writer	*who;
	uint64_t		*ticket;
	char			**cause;
	int			 rc;
};

static enum baton_status
status_of(int rc)
{
	if (rc == 0)
		return (BATON_STATUS_SUCCESS);
	if (rc == BATON_EDENIED || rc == BATON_EPERM)
		return (BATON_STATUS_NOTFOUND);
	return (BATON_STATUS_UNAVAIL);
}

static enum baton_status
files_agents(const struct baton_query *q, void *arg)
{
	struct files_args	*a = arg;

	return (status_of(source_files.agent_allowed(a->cfg, a->peer,
	    q->agent)));
}

static int
sw_agent_allowed(const struct config *cfg, const struct peer *p,
    const char *agent)
{
	const struct src_chain	*c = stacks_sources(cfg->stacks,
				    BATON_DB_AGENTS);
	struct baton_query	 q;
	struct files_args	 a = { cfg, p, NULL, NULL, NULL, 0 };

	/* The caller holds the configuration: its stacks cannot go. */
	if (c == NULL)
		return (source_files.agent_allowed(cfg, p, agent));
	memset(&q, 0, sizeof q);
	q.size = sizeof q;
	q.db = BATON_DB_AGENTS;
	q.agent = agent;
	q.uid = (uint32_t)p->uid;
	q.exe = p->exe;
	q.cgroup = p->cgroup;
	switch (sources_resolve(c, &q, files_agents, &a)) {
	case BATON_STATUS_SUCCESS:
		return (0);
	case BATON_STATUS_NOTFOUND:
		return (BATON_EDENIED);
	default:
		return (BATON_EUNAVAIL);
	}
}

static int
sw_agent_default(const struct config *cfg, const struct peer *p, char *buf,
    size_t len)
{
	return (source_files.agent_default(cfg, p, buf, len));
}

static int
sw_verify_allowed(const struct config *cfg, const struct peer *p,
    const char *aud)
{
	return (source_files.verify_allowed(cfg, p, aud));
}

static enum baton_status
files_revoked(const struct baton_query *q, void *arg)
{
	int	rc;

	(void)arg;
	rc = source_files.revoked(q->jtis, q->njtis);
	if (rc < 0)
		return (BATON_STATUS_UNAVAIL);
	return (rc > 0 ? BATON_STATUS_SUCCESS : BATON_STATUS_NOTFOUND);
}

static int
sw_revoked(const uint8_t (*jtis)[BATON_JTI_LEN], size_t n)
{
	struct stackset		*ss = stacks_acquire();
	const struct src_chain	*c = stacks_sources(ss, BATON_DB_REVOCATION);
	struct baton_query	 q;
	enum baton_status	 st;

	if (c == NULL) {
		stacks_release(ss);
		return (source_files.revoked(jtis, n));
	}
	memset(&q, 0, sizeof q);
	q.size = sizeof q;
	q.db = BATON_DB_REVOCATION;
	q.jtis = jtis;
	q.njtis = n;
	q.root = n > 0 ? jtis[0] : NULL;	/* callers list block 0 first */
	st = sources_resolve(c, &q, files_revoked, NULL);
	stacks_release(ss);
	if (st == BATON_STATUS_SUCCESS)
		return (1);
	if (st == BATON_STATUS_NOTFOUND)
		return (0);
	return (BATON_EUNAVAIL);
}

static enum baton_status
files_revoke(const struct baton_query *q, void *arg)
{
	struct files_args	*a = arg;

	a->rc = source_files.revoke(q->jtis[0], q->exps[0], a->who, a->ticket,
	    a->cause);
	return (a->rc == 0 ? BATON_STATUS_SUCCESS : BATON_STATUS_UNAVAIL);
}

/*
 * A revocation goes to every store of the revocation chain (files: the
 * journal; a module: its update hook), and is answered only once they
 * acknowledged it.
 */
static int
sw_revoke(const uint8_t *jti, uint64_t exp, const struct writer *who,
    uint64_t *ticket, char **cause)
{
	struct stackset		*ss = stacks_acquire();
	const struct src_chain	*c = stacks_sources(ss, BATON_DB_REVOCATION);
	struct baton_query	 q;
	struct files_args	 a = { NULL, NULL, who, ticket, cause, 0 };
	uint8_t			 one[1][BATON_JTI_LEN];
	enum baton_status	 st;

	if (c == NULL) {
		stacks_release(ss);
		return (source_files.revoke(jti, exp, who, ticket, cause));
	}
	memcpy(one[0], jti, BATON_JTI_LEN);
	memset(&q, 0, sizeof q);
	q.size = sizeof q;
	q.db = BATON_DB_REVOCATION;
	q.jtis = (const uint8_t (*)[BATON_JTI_LEN])one;
	q.exps = &exp;
	q.njtis = 1;
	st = sources_update(c, &q, files_revoke, &a);
	stacks_release(ss);
	if (st == BATON_STATUS_SUCCESS) {
		free(*cause);
		*cause = NULL;
		return (0);
	}
	if (a.rc == BATON_ETOOBIG && *cause != NULL)
		return (BATON_ETOOBIG);
	if (*cause == NULL)
		*cause = xstrdup("revocation source unavailable");
	return (BATON_EUNAVAIL);
}

static enum baton_status
files_consume(const struct baton_query *q, void *arg)
{
	struct files_args	*a = arg;

	a->rc = source_files.consume(q->jtis, q->exps, q->njtis, q->root,
	    a->who, a->ticket, a->cause);
	return (status_of(a->rc));
}

static int
sw_consume(const uint8_t (*jtis)[BATON_JTI_LEN], const uint64_t *exps,
    size_t n, const uint8_t *root, const struct writer *who, uint64_t *ticket,
    char **cause)
{
	struct stackset		*ss = stacks_acquire();
	const struct src_chain	*c = stacks_sources(ss, BATON_DB_REPLAY);
	struct baton_query	 q;
	struct files_args	 a = { NULL, NULL, who, ticket, cause, 0 };
	enum baton_status	 st;

	if (c == NULL) {
		stacks_release(ss);
		return (source_files.consume(jtis, exps, n, root, who, ticket,
		    cause));
	}
	memset(&q, 0, sizeof q);
	q.size = sizeof q;
	q.db = BATON_DB_REPLAY;
	q.jtis = jtis;
	q.exps = exps;
	q.njtis = n;
	q.root = root;
	st = sources_resolve(c, &q, files_consume, &a);
	stacks_release(ss);
	if (st == BATON_STATUS_SUCCESS || st == BATON_STATUS_NOTFOUND) {
		/* files may have failed before a later source answered. */
		free(*cause);
		*cause = NULL;
		return (st == BATON_STATUS_SUCCESS ? 0 : BATON_EDENIED);
	}
	/* files over the caller's journal cap says so, as without a chain. */
	if (a.rc == BATON_ETOOBIG && *cause != NULL)
		return (BATON_ETOOBIG);
	if (*cause == NULL)
		*cause = xstrdup("replay source unavailable");
	return (BATON_EUNAVAIL);
}

const struct source source_switch = {
	"switch",
	sw_agent_allowed,
	sw_agent_default,
	sw_verify_allowed,
	sw_revoked,
	sw_revoke,
	sw_consume
};
