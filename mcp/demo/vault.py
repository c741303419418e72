#!/usr/bin/env python3
# vault.py: the MCPVault guide's MCP server: db_query over a 250-row orders
# table, returning at most max_rows rows (the argument the token's
# constraint bounds, checked by baton before the call arrives here), and
# file_read under a root directory.
#
# usage: vault.py ROOT
import os
import sqlite3
import sys

sys.dont_write_bytecode = True      # nothing written next to the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcpstdio import ToolError, serve  # noqa: E402

root = os.path.abspath(sys.argv[1])
db = sqlite3.connect(":memory:")
db.execute("create table orders (id integer, amount integer)")
db.executemany("insert into orders values (?, ?)",
               [(i, (i * 37) % 1000) for i in range(1, 251)])


def db_query(a):
    n = a.get("max_rows")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ToolError("max_rows: a positive integer")
    rows = db.execute("select id, amount from orders order by id limit ?",
                      (n,)).fetchall()
    return {"rows": len(rows), "last_id": rows[-1][0] if rows else None}


def file_read(a):
    path = os.path.normpath(os.path.join(root, str(a.get("path", ""))))
    if not path.startswith(root + "/"):
        raise ToolError("outside the root")
    with open(path) as f:
        return f.read()


serve("vault", {"db_query": ("rows of orders, at most max_rows", db_query),
                "file_read": ("a file under the root", file_read)})
