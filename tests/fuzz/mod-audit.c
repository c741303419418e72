/* mod-audit.c: plugins/audit.c with its entry renamed, for the fuzz targets. */
#define baton_module_entry fuzz_entry_audit
#include "../../plugins/audit.c"
