/* mod-permit.c: plugins/permit.c with its entry renamed, for the fuzz targets. */
#define baton_module_entry fuzz_entry_permit
#include "../../plugins/permit.c"
