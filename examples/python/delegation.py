#!/usr/bin/env python3
"""delegation.py: an orchestrator delegates to two workers, and the last
one calls a baton-guarded tool server.

1. the orchestrator mints a root token for db_query and file_read, one
   hour, at most 1000 rows, at most five hops below it;
2. it hands worker A db_query only, for 30 minutes and 100 rows;
3. worker A hands worker B db_query for 15 minutes;
4. worker B calls the tool server of server.py, which verifies through
   the broker and serves no more than the effective 100 rows.

Every token comes from batond ($BATON_SOCKET); no process here holds a
key, and no step could widen what it was given (step 5 tries).  Run:

    BATON_SOCKET=/tmp/b/batond.sock python3 examples/python/delegation.py
"""

import json
import os
import sys

import baton

AUDIENCE = "mcp-db"


def delegate(c: baton.Client) -> dict:
    """The three tokens of the chain."""
    root = c.mint(["db_query:read", "file_read"], 3600,
                  as_agent="orchestrator", subject="root", max_depth=5,
                  aud=AUDIENCE, limits={"db_query.max_rows": 1000})
    token_a = c.attenuate(root, as_agent="orchestrator",
                          tools=["db_query:read"], ttl=1800,
                          limits={"db_query.max_rows": 100})
    token_b = c.attenuate(token_a, as_agent="worker-a",
                          tools=["db_query:read"], ttl=900)
    return {"root": root, "a": token_a, "b": token_b}


def main() -> int:
    with baton.Client() as c:
        t = delegate(c)
        print(c.inspect(t["b"]).tree, end="")

        # the tool server's check, here through the client directly
        r = c.verify(t["b"], "db_query", action="read", aud=AUDIENCE)
        f = r.facts
        print("verify:", r.reason)
        print(json.dumps({k: f.get(k) for k in (
            "tools", "wildcard", "actions", "limits", "depth", "iss",
            "sub", "delegators")}, sort_keys=True))

        # worker B may not use what worker A never received
        print("file_read with B's token:",
              c.verify(t["b"], "file_read", aud=AUDIENCE).reason)

        # nor can anyone widen a token: the broker refuses, not clamps
        try:
            c.attenuate(t["b"], as_agent="worker-b",
                        limits={"db_query.max_rows": 500},
                        tools=["db_query:read"])
        except baton.Denied as e:
            print("widening refused:", e.reason)

        # worker B calls the FastAPI server over HTTP (in-process here)
        try:
            from fastapi.testclient import TestClient
        except ImportError:
            print("(fastapi or httpx missing: not calling server.py)")
            return 0
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from server import app
        http = TestClient(app)
        call = {"method": "tools/call", "params": {
            "name": "db_query", "arguments": {"table": "orders",
                                              "rows": 500}}}
        resp = http.post("/mcp", json=call,
                         headers={"Authorization": "Bearer " + t["b"]})
        print("POST /mcp with B's token:", resp.status_code,
              json.dumps(resp.json(), sort_keys=True))
        resp = http.post("/mcp", json=call)
        print("POST /mcp without a token:", resp.status_code,
              resp.json()["detail"]["reason"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
