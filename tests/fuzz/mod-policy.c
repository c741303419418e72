/* mod-policy.c: plugins/policy.c with its entry renamed, for the fuzz targets. */
#define baton_module_entry fuzz_entry_policy
#include "../../plugins/policy.c"
