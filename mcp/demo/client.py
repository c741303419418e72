#!/usr/bin/env python3
# client.py: the demo's MCP client.  Runs COMMAND (baton-mcp-guard in
# front of a server), initializes, then sends one tools/call per line of
# standard input, {"tool": T, "args": {...}, "token": "bt1_..."}, with the
# token in _meta["io.baton/token"], and prints one line per call:
# "allow TEXT", "deny REASON" (the guard's -31403) or "error MESSAGE".
#
# usage: client.py COMMAND [ARGS...] < calls
import json
import subprocess
import sys

p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, text=True)


def rpc(rid, method, params):
    p.stdin.write(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method,
                              "params": params}) + "\n")
    p.stdin.flush()
    for line in p.stdout:
        msg = json.loads(line)
        if msg.get("id") == rid and "method" not in msg:
            return msg
    sys.exit("client: the guard closed before answering %s" % method)


rpc(0, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                      "clientInfo": {"name": "baton-demo", "version": "1"}})
p.stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
for rid, line in enumerate(sys.stdin, 1):
    c = json.loads(line)
    m = rpc(rid, "tools/call", {"name": c["tool"], "arguments": c["args"],
                                "_meta": {"io.baton/token": c["token"]}})
    if "result" in m:
        r = m["result"]
        text = " ".join(x.get("text", "") for x in r.get("content", []))
        print(("error " if r.get("isError") else "allow ") + text)
    elif m["error"].get("code") == -31403:
        print("deny " + m["error"]["data"]["reason"])
    else:
        print("error " + m["error"].get("message", ""))
    sys.stdout.flush()
p.stdin.close()
sys.exit(p.wait())
