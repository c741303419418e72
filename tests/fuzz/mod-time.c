/* mod-time.c: plugins/time.c with its entry renamed, for the fuzz targets. */
#define baton_module_entry fuzz_entry_time
#include "../../plugins/time.c"
