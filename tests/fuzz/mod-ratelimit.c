/* mod-ratelimit.c: plugins/ratelimit.c with its entry renamed, for the fuzz targets. */
#define baton_module_entry fuzz_entry_ratelimit
#include "../../plugins/ratelimit.c"
