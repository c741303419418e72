#!/usr/bin/env python3
# mcp-http-server.py: a small Streamable HTTP MCP server on 127.0.0.1 for
# the guard's tests.  It logs every request it gets (method, path, headers,
# body) to LOG, answers JSON-RPC from what it was sent, and streams the
# "stream" tool's answer as SSE: one event, then, once the file GO exists,
# the second, so a test can see the first arrive before the second is sent.
#
# usage: mcp-http-server.py LOG GO PORTFILE
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG, GO, PORTFILE = sys.argv[1], sys.argv[2], sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, body):
        with open(LOG, "a") as f:
            f.write(json.dumps({"method": self.command, "path": self.path,
                                "headers": dict(self.headers.items()),
                                "body": body}) + "\n")

    def send_json(self, obj, code=200):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Mcp-Session-Id", "sess-1")
        self.end_headers()
        self.wfile.write(data)

    def sse(self, events, wait_between=False):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for i, ev in enumerate(events):
            if i > 0 and wait_between:
                t0 = time.time()
                while not os.path.exists(GO) and time.time() - t0 < 10:
                    time.sleep(0.02)
            self.wfile.write(("event: message\ndata: %s\n\n" %
                              json.dumps(ev)).encode())
            self.wfile.flush()
        self.close_connection = True

    def do_GET(self):
        self.record(None)
        self.sse([{"jsonrpc": "2.0", "method": "notifications/message",
                   "params": {"level": "info", "data": "hello"}}])

    def do_DELETE(self):
        self.record(None)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode()
        self.record(body)
        msg = json.loads(body)
        if isinstance(msg, list):
            self.send_json([{"jsonrpc": "2.0", "id": m["id"], "result": {}}
                            for m in msg if "id" in m])
            return
        rid = msg.get("id")
        if rid is None:
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        method = msg.get("method")
        if method == "tools/call" and msg["params"]["name"] == "flood":
            # 64 MiB of events, as fast as the guard takes them
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            ev = b"data: " + b"x" * 65536 + b"\n\n"
            try:
                for _ in range(1024):
                    self.wfile.write(ev)
            except OSError:
                pass
            self.close_connection = True
            return
        if method == "tools/call" and msg["params"]["name"] == "stream":
            self.sse([{"jsonrpc": "2.0", "method": "notifications/progress",
                       "params": {"progressToken": 1, "progress": 1}},
                      {"jsonrpc": "2.0", "id": rid, "result": {
                          "content": [{"type": "text", "text": "done"}]}}],
                     wait_between=True)
            return
        if method == "tools/call":
            self.send_json({"jsonrpc": "2.0", "id": rid, "result": {
                "content": [{"type": "text",
                             "text": json.dumps(msg["params"])}]}})
            return
        self.send_json({"jsonrpc": "2.0", "id": rid, "result": {
            "protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
            "serverInfo": {"name": "mcp-http-server.py", "version": "1"}}})


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
