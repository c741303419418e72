/* fuzz_agents.c: an agents file through the broker's agents parser. */

#include <stdlib.h>
#include <string.h>

#include "batond.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agents	*a;
	char		*cause = NULL;
	size_t		 i;
	int		 rc;

	a = xcalloc(1, sizeof *a);
	rc = agents_parse(a, (const char *)data, size, "fuzz.agents", &cause);
	FUZZ_ASSERT((rc == 0) == (cause == NULL));
	if (rc == 0) {
		for (i = 0; i < a->n; i++) {
			FUZZ_ASSERT(a->list[i].id != NULL);
			FUZZ_ASSERT(a->list[i].nverify <= BATOND_MAX_VERIFY);
			FUZZ_ASSERT(a->list[i].exe == NULL ||
			    a->list[i].exe[0] == '/');
		}
	}
	free(cause);
	agents_free(a);
	return (0);
}
