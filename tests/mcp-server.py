#!/usr/bin/env python3
# mcp-server.py: a small, real stdio MCP tool server for the guard's tests.
# It logs every line it receives to WIRE (so a test can check what crossed
# the guard), answers from what it was sent, and can ask the client
# something (sampling) in the middle of a call.
#
# usage: mcp-server.py WIRE [EXIT-STATUS]
import json
import os
import sys

wire = open(sys.argv[1], "a")
status = int(sys.argv[2]) if len(sys.argv) > 2 else 0

TOOLS = ["echo", "env", "db_query", "file_browser", "ask", "secrets"]


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def result(rid, value):
    send({"jsonrpc": "2.0", "id": rid,
          "result": {"content": [{"type": "text",
                                  "text": json.dumps(value)}]}})


seen = []
for line in sys.stdin:
    wire.write(line if line.endswith("\n") else line + "\n")
    wire.flush()
    try:
        msg = json.loads(line)
    except ValueError:
        send({"jsonrpc": "2.0", "id": None,
              "error": {"code": -32700, "message": "server: parse error"}})
        continue
    if isinstance(msg, list):
        send([{"jsonrpc": "2.0", "id": m.get("id"), "result": {}}
              for m in msg if "id" in m])
        continue
    method = msg.get("method")
    rid = msg.get("id")
    if method is None:
        seen.append("response:%s" % rid)
        continue
    seen.append(method)
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": rid, "result": {
            "protocolVersion": "2025-06-18",
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "mcp-server.py", "version": "1"}}})
    elif method == "ping":
        send({"jsonrpc": "2.0", "id": rid, "result": {}})
    elif method == "tools/list":
        send({"jsonrpc": "2.0", "id": rid, "result": {
            "tools": [{"name": t, "inputSchema": {"type": "object"}}
                      for t in TOOLS]}})
    elif method == "tools/call":
        p = msg["params"]
        name = p["name"]
        if name == "env":
            result(rid, dict(os.environ))
        elif name == "ask":
            # a server-initiated request and a notification, mid-call
            send({"jsonrpc": "2.0", "method": "notifications/progress",
                  "params": {"progressToken": 1, "progress": 1}})
            send({"jsonrpc": "2.0", "id": "s1",
                  "method": "sampling/createMessage",
                  "params": {"messages": [], "maxTokens": 1}})
            answer = json.loads(sys.stdin.readline())
            wire.write(json.dumps(answer) + "\n")
            wire.flush()
            result(rid, {"sampled": answer.get("result")})
        elif name == "flood":
            # 64 MiB of notifications, as fast as the guard takes them
            note = json.dumps({"jsonrpc": "2.0",
                               "method": "notifications/message",
                               "params": {"data": "x" * 65536}}) + "\n"
            for _ in range(1024):
                sys.stdout.write(note)
            sys.stdout.flush()
            result(rid, "flooded")
        elif name == "seen":
            result(rid, seen)
        else:
            result(rid, {"tool": name, "params": p})
    elif rid is not None:
        send({"jsonrpc": "2.0", "id": rid,
              "error": {"code": -32601, "message": "no method " + method}})
sys.exit(status)
