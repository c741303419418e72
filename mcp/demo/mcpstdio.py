# mcpstdio.py: the stdio side of MCP that the demo's tool servers share:
# newline-delimited JSON-RPC on standard input and output, initialize,
# ping, tools/list and tools/call.  Each server passes its tools as
# name -> (description, function of the call's arguments).
import json
import sys


class ToolError(Exception):
    """A tool refusing its arguments: answered as a result with isError."""


def _send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def serve(name, tools):
    for line in sys.stdin:
        try:
            msg = json.loads(line)
        except ValueError:
            _send({"jsonrpc": "2.0", "id": None,
                   "error": {"code": -32700, "message": "parse error"}})
            continue
        method, rid = msg.get("method"), msg.get("id")
        if method is None or rid is None:
            continue                    # responses and notifications
        if method == "initialize":
            res = {"protocolVersion": "2025-06-18",
                   "capabilities": {"tools": {}},
                   "serverInfo": {"name": name, "version": "1"}}
        elif method == "ping":
            res = {}
        elif method == "tools/list":
            res = {"tools": [{"name": t, "description": d,
                              "inputSchema": {"type": "object"}}
                             for t, (d, _) in sorted(tools.items())]}
        elif method == "tools/call":
            p = msg.get("params") or {}
            if p.get("name") not in tools:
                _send({"jsonrpc": "2.0", "id": rid, "error": {
                    "code": -32602, "message": "unknown tool"}})
                continue
            try:
                value = tools[p["name"]][1](p.get("arguments") or {})
                res = {"content": [{"type": "text",
                                    "text": json.dumps(value)}],
                       "isError": False}
            except ToolError as e:
                res = {"content": [{"type": "text", "text": str(e)}],
                       "isError": True}
        else:
            _send({"jsonrpc": "2.0", "id": rid, "error": {
                "code": -32601, "message": "method not found"}})
            continue
        _send({"jsonrpc": "2.0", "id": rid, "result": res})
