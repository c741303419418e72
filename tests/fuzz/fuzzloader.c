/*
 * fuzzloader.c: the broker's module loader for the fuzz targets.  Names
 * are checked by the real module-loader.c, compiled in here under its own
 * module_load renamed; the modules come from fuzz_module(), so no file
 * is mapped.
 */

#include <stdlib.h>
#include <string.h>

#define module_load	fuzz_unused_module_load
#include "../../broker/module-loader.c"
#undef module_load

#include "fuzzmod.h"

const struct module *module_load(const char *, char **);

const struct module *
module_load(const char *name, char **cause)
{
	static struct module		 mods[16];
	const struct baton_module	*m;
	size_t				 i;

	if (!module_name_ok(name)) {
		xasprintf(cause, "bad module name \"%.64s\"", name);
		return (NULL);
	}
	for (i = 0; fuzz_module_names[i] != NULL; i++)
		if (strcmp(fuzz_module_names[i], name) == 0)
			break;
	if (fuzz_module_names[i] == NULL || i >= 16 ||
	    (m = fuzz_module(name)) == NULL) {
		xasprintf(cause, "%s/%s.so: No such file or directory",
		    module_dir(), name);
		return (NULL);
	}
	mods[i].name = fuzz_module_names[i];
	mods[i].desc = *m;
	return (&mods[i]);
}

/*
 * What module-host.c offers modules from metrics.c: its clock, and a
 * counter the fuzz targets do not keep.
 */
uint64_t
clock_usec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

void
metrics_count(const char *name)
{
	(void)name;
}
