/*
 * fuzz_rpc.c: JSON-RPC lines through baton-mcp-guard's decisions
 * (mcp/rpc.c), both ways.  Each input line is one line from the client,
 * or from the server when it starts with '<'; the first byte of the input
 * sets the options (bit 0 --filter-tools-list, bit 1 --allow-no-audience).
 *
 * What must hold whatever the lines: no tools/call reaches the server
 * unless the broker allowed one, no token in params._meta reaches it,
 * and each side gets whole lines.
 */

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzzguard.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guard	*g;
	const uint8_t	*p, *end, *nl;
	char		*line;
	size_t		 n;

	if (size == 0)
		return (0);
	g = fuzz_guard_new(data[0] & 1, (data[0] & 2) != 0);
	for (p = data + 1, end = data + size; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		/* exactly the line, no terminator: as guard.c hands it */
		if ((line = malloc(n > 0 ? n : 1)) == NULL)
			abort();
		memcpy(line, p, n);
		if (n > 0 && line[0] == '<')
			rpc_from_server(g, line + 1, n - 1);
		else
			rpc_from_client(g, line, n);
		free(line);
	}
	FUZZ_ASSERT(fuzz_guard.calls_to_server <= fuzz_guard.allowed);
	FUZZ_ASSERT(fuzz_guard.tokens_to_server == 0);
	fuzz_guard_free(g);
	return (0);
}
