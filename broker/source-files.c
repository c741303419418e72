/*
 * source-files.c: the built-in "files" lookup source: agents from the
 * agents map, revocation and replay state from the local journal.
 */

#include <stdio.h>
#include <string.h>

#include "batond.h"

static int
dev_privileged(const struct peer *p)
{
	return (p->uid == 0 || p->uid == broker.uid);
}

static int
agent_matches(const struct agent *a, const struct peer *p)
{
	if (a->uid != p->uid)
		return (0);
	/* An exe rule needs pinned /proc facts; without them, fail closed. */
	if (a->exe != NULL && (!p->pinned || strcmp(a->exe, p->exe) != 0))
		return (0);
	/* The same for a cgroup rule: an unpinned cgroup may be anyone's. */
	if (a->cgroup != NULL && (!p->pinned || p->cgroup[0] == '\0' ||
	    strcmp(a->cgroup, p->cgroup) != 0))
		return (0);
	return (1);
}

static int
files_agent_allowed(const struct config *cfg, const struct peer *p,
    const char *agent)
{
	char	own[32];
	size_t	i;

	if (cfg->agents == NULL) {
		/* Development mode. */
		if (dev_privileged(p))
			return (0);
		snprintf(own, sizeof own, "uid:%u", (unsigned)p->uid);
		return (strcmp(agent, own) == 0 ? 0 : BATON_EDENIED);
	}
	for (i = 0; i < cfg->agents->n; i++) {
		if (strcmp(cfg->agents->list[i].id, agent) == 0 &&
		    agent_matches(&cfg->agents->list[i], p))
			return (0);
	}
	return (BATON_EDENIED);
}

static int
files_agent_default(const struct config *cfg, const struct peer *p,
    char *buf, size_t len)
{
	size_t	i;

	if (cfg->agents == NULL) {
		snprintf(buf, len, "uid:%u", (unsigned)p->uid);
		return (0);
	}
	for (i = 0; i < cfg->agents->n; i++) {
		if (agent_matches(&cfg->agents->list[i], p)) {
			if (strlen(cfg->agents->list[i].id) >= len)
				return (BATON_ETOOBIG);
			snprintf(buf, len, "%s", cfg->agents->list[i].id);
			return (0);
		}
	}
	return (BATON_EDENIED);
}

static int
files_verify_allowed(const struct config *cfg, const struct peer *p,
    const char *aud)
{
	const struct agent	*a;
	size_t			 i, k;

	if (cfg->agents == NULL)
		return (0);
	for (i = 0; i < cfg->agents->n; i++) {
		a = &cfg->agents->list[i];
		if (!agent_matches(a, p))
			continue;
		if (aud == NULL)
			return (0);
		for (k = 0; k < a->nverify; k++)
			if (strcmp(a->verify[k], aud) == 0 ||
			    strcmp(a->verify[k], "*") == 0)
				return (0);
	}
	/* Mapped but not for this audience, or not mapped at all. */
	return (BATON_EPERM);
}

static int
files_revoked(const uint8_t (*jtis)[BATON_JTI_LEN], size_t n)
{
	return (journal_has_any(JOURNAL_REVOKE, jtis, n));
}

static int
files_revoke(const uint8_t *jti, uint64_t exp, const struct writer *who,
    uint64_t *ticket, char **cause)
{
	uint8_t	one[1][BATON_JTI_LEN];

	memcpy(one[0], jti, BATON_JTI_LEN);
	return (journal_add(JOURNAL_REVOKE, (const uint8_t (*)[BATON_JTI_LEN])one,
	    &exp, 1, 0, who, ticket, cause));
}

static int
files_consume(const uint8_t (*jtis)[BATON_JTI_LEN], const uint64_t *exps,
    size_t n, const uint8_t *root, const struct writer *who, uint64_t *ticket,
    char **cause)
{
	(void)root;
	return (journal_add(JOURNAL_SPENT, jtis, exps, n, 1, who, ticket,
	    cause));
}

const struct source source_files = {
	"files",
	files_agent_allowed,
	files_agent_default,
	files_verify_allowed,
	files_revoked,
	files_revoke,
	files_consume
};
