/* fuzzguard.h: what the guard's fuzz targets see of the stand-ins. */
#ifndef BATON_FUZZGUARD_H
#define BATON_FUZZGUARD_H

#include <stddef.h>

#include "guard.h"

/*
 * The stand-in broker answers by token: "bt1_all" grants every tool for
 * audience db; "bt1_db" grants db_query only (any other tool is denied
 * tool_not_granted, with the granted tools); "bt1_other" is allowed for
 * audience other; "bt1_noaud" has no audience; "bt1_down" finds the
 * broker unavailable; "bt1_perm" is refused to the guard (EPERM);
 * anything else is denied as malformed.
 */
struct fuzz_guard_counts {
	size_t	allowed;	/* calls (not list probes) the broker allowed */
	size_t	to_server;	/* lines the guard sent the server */
	size_t	to_client;
	size_t	calls_to_server; /* tools/call messages among them */
	size_t	tokens_to_server; /* params._meta tokens among them */
};
extern struct fuzz_guard_counts fuzz_guard;

/* A guard configured as the tests run it; free with fuzz_guard_free(). */
struct guard *fuzz_guard_new(int filter_tools, int allow_no_aud);
void	fuzz_guard_free(struct guard *);

/* A message going to the server: count its calls and tokens. */
void	fuzz_guard_check_server(const char *, size_t);

#endif /* BATON_FUZZGUARD_H */
