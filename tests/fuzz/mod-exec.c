/* mod-exec.c: plugins/exec.c with its entry renamed, for the fuzz targets. */
#define baton_module_entry fuzz_entry_exec
#include "../../plugins/exec.c"
