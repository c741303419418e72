#!/usr/bin/env python3
# enterprise.py: the AgentTrust demonstration's tool server, over MCP stdio.
# sql_query runs SELECTs on a small SQLite database, customer_lookup looks
# a customer up, code_executor evaluates arithmetic, email_sender appends
# to an outbox, file_browser lists, reads or deletes under a root, and
# secrets_vault reads a secret: each answers from its input.
#
# usage: enterprise.py DIR   (DIR holds outbox, files/ and secrets.json)
import ast
import json
import operator
import os
import sqlite3
import sys

sys.dont_write_bytecode = True      # nothing written next to the sources
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcpstdio import ToolError, serve  # noqa: E402

base = sys.argv[1]
db = sqlite3.connect(":memory:")
db.executescript("""
create table employees (name text, dept text, title text);
insert into employees values ('Ada', 'Engineering', 'Staff engineer'),
  ('Grace', 'Engineering', 'Manager'), ('Linus', 'Engineering', 'Engineer'),
  ('Joan', 'Sales', 'Account executive'), ('Ken', 'Finance', 'Controller');
""")
CUSTOMERS = {"acme corporation": {"id": "C-1001", "tier": "gold"},
             "globex": {"id": "C-1002", "tier": "silver"}}


def sql_query(a):
    q = str(a.get("query", ""))
    if not q.lower().lstrip().startswith("select"):
        raise ToolError("only SELECT")
    try:
        return db.execute(q).fetchall()
    except sqlite3.Error as e:
        raise ToolError(str(e))


def customer_lookup(a):
    c = CUSTOMERS.get(str(a.get("name", "")).lower())
    if c is None:
        raise ToolError("no such customer")
    return c


OPS = {ast.Add: operator.add, ast.Sub: operator.sub,
       ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv}


def arith(n):
    if isinstance(n, ast.Constant) and isinstance(n.value, int):
        return n.value
    if isinstance(n, ast.BinOp) and type(n.op) in OPS:
        return OPS[type(n.op)](arith(n.left), arith(n.right))
    raise ToolError("integer arithmetic only")


def code_executor(a):
    try:
        return arith(ast.parse(str(a.get("code", "")), mode="eval").body)
    except (SyntaxError, ZeroDivisionError) as e:
        raise ToolError(str(e))


def email_sender(a):
    with open(os.path.join(base, "outbox"), "a") as f:
        f.write(json.dumps(a) + "\n")
    return "sent to %s" % a.get("to")


def file_browser(a):
    root = os.path.join(base, "files")
    path = os.path.normpath(os.path.join(root, str(a.get("path", "."))))
    if path != root and not path.startswith(root + "/"):
        raise ToolError("outside the root")
    op = a.get("op")
    if op == "list":
        return sorted(os.listdir(path))
    if op == "read":
        return open(path).read()
    if op == "delete":
        os.unlink(path)
        return "deleted"
    raise ToolError("op is list, read or delete")


def secrets_vault(a):
    with open(os.path.join(base, "secrets.json")) as f:
        return json.load(f).get(str(a.get("name")))


serve("enterprise", {
    "sql_query": ("SELECT over the employees table", sql_query),
    "customer_lookup": ("a customer by name", customer_lookup),
    "code_executor": ("evaluate integer arithmetic", code_executor),
    "email_sender": ("send an email", email_sender),
    "file_browser": ("list, read or delete a file", file_browser),
    "secrets_vault": ("read a secret", secrets_vault),
})
