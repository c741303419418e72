"""server.py: an MCP-style tool server on FastAPI, guarded by baton.

POST /mcp takes a JSON-RPC ``tools/call`` for ``db_query``; the caller
sends its token as ``Authorization: Bearer bt1_...``.  The dependency asks
batond whether the token allows db_query/read for this service
("mcp-db") with the call's arguments, and hands the endpoint the token's
effective facts: how many hops it travelled, on whose behalf, and the row
limit to enforce.  Nothing here holds a key.

Run it (batond listening on $BATON_SOCKET):

    BATON_SOCKET=/tmp/b/batond.sock uvicorn server:app --port 8000
    curl -X POST localhost:8000/mcp -H "Authorization: Bearer $TOKEN_B" \\
      -H 'Content-Type: application/json' \\
      -d '{"method": "tools/call", "params": {"name": "db_query",
           "arguments": {"table": "orders", "rows": 500}}}'
"""

from typing import Any, Dict

from fastapi import Body, Depends, FastAPI

import baton
from baton.fastapi import json_args, require_baton

AUDIENCE = "mcp-db"
DEFAULT_ROWS = 10       # served when the token sets no max_rows

app = FastAPI(title="db tool server (baton example)")


@app.post("/mcp")
def db_query(call: Dict[str, Any] = Body(...),
             auth: baton.VerifyResult = Depends(require_baton(
                 tool="db_query", action="read", audience=AUDIENCE,
                 args=json_args("params", "arguments")))) -> Dict[str, Any]:
    facts = auth.facts
    arguments = call.get("params", {}).get("arguments", {})
    wanted = arguments.get("rows", DEFAULT_ROWS)
    limit = auth.limit("max_rows", DEFAULT_ROWS)
    return {
        "depth": facts["depth"],            # hops from the root token
        "subject": facts.get("sub"),        # on whose behalf
        "chain": facts["delegators"],       # who delegated to whom
        "rows": min(wanted, limit) if isinstance(wanted, int) else 0,
        "max_rows": limit,
    }
