/*
 * fuzz_sources.c: a sources.conf (baton-sources(5)) through sources_load,
 * then each configured database's chain asked once, the files source
 * answering NOTFOUND and the fuzzsrc module by the jti's first byte.
 */

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batond.h"
#include "fuzz.h"
#include "fuzzmod.h"

static int	dfd = -1;

/* sources.c's callers' lock: unused here, but stack.c is linked in. */
struct config *
broker_config(void)
{
	return (NULL);
}

void
broker_config_release(void)
{
}

static enum baton_status
files(const struct baton_query *q, void *arg)
{
	(void)q;
	(void)arg;
	return (BATON_STATUS_NOTFOUND);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src_chain	 chains[SRC_NDB];
	struct baton_query	 q;
	const uint8_t		 jtis[2][16] = { { 7 }, { 1 } };
	const uint64_t		 exps[2] = { 1800000600, 1800000600 };
	enum baton_status	 st;
	char			 path[512], *cause = NULL;
	size_t			 db;
	int			 rc;

	if (dfd == -1) {
		snprintf(path, sizeof path, "%s/sources", fuzz_dir());
		if (mkdir(path, 0755) != 0 || chmod(path, 0755) != 0 ||
		    (dfd = open(path, O_RDONLY | O_DIRECTORY)) == -1)
			abort();
	}
	snprintf(path, sizeof path, "%s/sources", fuzz_dir());
	if (fuzz_write_file(path, "sources.conf", data, size) != 0)
		abort();
	memset(chains, 0, sizeof chains);
	rc = sources_load(dfd, chains, &cause);
	FUZZ_ASSERT((rc == 0) == (cause == NULL));
	if (rc != 0) {
		for (db = 0; db < SRC_NDB; db++)
			FUZZ_ASSERT(chains[db].n == 0 && chains[db].items ==
			    NULL);
		free(cause);
		return (0);
	}
	for (db = 0; db < SRC_NDB; db++) {
		if (!chains[db].configured)
			continue;
		FUZZ_ASSERT(chains[db].n > 0);
		memset(&q, 0, sizeof q);
		q.size = sizeof q;
		q.db = (enum baton_database)db;
		q.agent = "worker";
		q.exe = q.cgroup = "";
		q.uid = 1000;
		if (db != BATON_DB_AGENTS) {
			q.jtis = jtis;
			q.exps = exps;
			q.njtis = 2;
		}
		st = sources_resolve(&chains[db], &q, files, NULL);
		FUZZ_ASSERT(st <= BATON_STATUS_TRYAGAIN);
	}
	sources_free(chains);
	return (0);
}
