/* mod-deny.c: plugins/deny.c with its entry renamed, for the fuzz targets. */
#define baton_module_entry fuzz_entry_deny
#include "../../plugins/deny.c"
