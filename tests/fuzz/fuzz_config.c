/* fuzz_config.c: baton.conf(5) text through the broker's config parser. */

#include <stdlib.h>
#include <string.h>

#include "batond.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*cfg;
	char		*cause = NULL;
	int		 rc;

	cfg = config_default();
	rc = config_parse(cfg, (const char *)data, size, "fuzz.conf", &cause);
	FUZZ_ASSERT((rc == 0) == (cause == NULL));
	if (rc == 0) {
		FUZZ_ASSERT(cfg->socket_path[0] == '/');
		FUZZ_ASSERT(cfg->state_dir[0] == '/');
		FUZZ_ASSERT(cfg->workers >= 1 && cfg->workers <= 64);
	}
	free(cause);
	config_free(cfg);
	return (0);
}
