#!/usr/bin/env python3
# mcp-guard.py: baton-mcp-guard in front of tests/mcp-server.py, against
# the real batond that tests/mcp-guard.sh started; tokens come from the
# baton CLI.  Every case checks what the client got back and what crossed
# the guard to the server (the server logs each line it receives).
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

GUARD = os.environ["GUARD"]
BATON = os.environ["BATON"]
T = os.environ["T"]
SERVER = os.path.join(os.environ["top_srcdir"], "tests", "mcp-server.py")
AUD = "files"
fails = 0
nguards = 0


def ok(name, cond, detail=""):
    global fails
    if cond:
        print("ok - " + name)
    else:
        fails += 1
        print("FAIL - %s %s" % (name, detail))


def baton(*args):
    p = subprocess.run([BATON] + list(args), capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("baton %s: %s" % (args, p.stderr))
    return p.stdout.strip()


def mint(*args):
    return baton("mint", "--as", "orchestrator", *args)


class Guard:
    def __init__(self, *opts, status=0, env=None, aud=AUD, server=None):
        global nguards
        nguards += 1
        self.wire = os.path.join(T, "wire.%d" % nguards)
        self.errf = os.path.join(T, "guard.%d.err" % nguards)
        open(self.wire, "w").close()
        cmd = [GUARD] + (["--aud", aud] if aud else []) + list(opts)
        cmd += ["--"] + (server or [sys.executable, SERVER, self.wire,
                                    str(status)])
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=open(self.errf, "w"), env=env)
        self.q = queue.Queue()
        self.reading = False    # until the first recv(): a client that
        self.next_id = 0        # does not read

    def _read(self):
        for line in self.p.stdout:
            self.q.put(line)
        self.q.put(None)

    def raw(self, data):
        self.p.stdin.write(data)
        self.p.stdin.flush()

    def send(self, msg):
        self.raw((json.dumps(msg) + "\n").encode())

    def recv(self, timeout=float(os.environ.get("RECV_TIMEOUT", "5"))):
        if not self.reading:
            self.reading = True
            threading.Thread(target=self._read, daemon=True).start()
        try:
            line = self.q.get(timeout=timeout)
        except queue.Empty:
            return "timeout"
        return None if line is None else json.loads(line)

    def request(self, method, params=None):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return self.recv()

    def call(self, name, args=None, token=None, meta=None):
        params = {"name": name}
        if args is not None:
            params["arguments"] = args
        if token is not None or meta:
            params["_meta"] = dict(meta or {})
            if token is not None:
                params["_meta"]["io.baton/token"] = token
        return self.request("tools/call", params)

    def wire_text(self):
        with open(self.wire) as f:
            return f.read()

    def close(self, timeout=10):
        self.p.stdin.close()
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return "hung"

    def err(self):
        with open(self.errf) as f:
            return f.read()


def denied(name, resp, reason, rid=None):
    e = resp.get("error") if isinstance(resp, dict) else None
    ok(name + ": denied as " + reason,
       e is not None and e.get("code") == -31403 and
       e.get("data") == {"reason": reason} and reason in e.get("message") and
       (rid is None or resp.get("id") == rid), repr(resp))


def allowed(name, resp):
    ok(name + ": allowed", isinstance(resp, dict) and "result" in resp,
       repr(resp))
    if isinstance(resp, dict) and "result" in resp:
        return json.loads(resp["result"]["content"][0]["text"])
    return {}


# ---- usage ------------------------------------------------------------------
for args, frag in ((["--", "true"], "--aud AUDIENCE is required"),
                   (["--aud", "x"], "no server to run"),
                   (["--aud", "x", "--pass-env", "BATON_SOCKET", "--",
                     "true"], "never reach the server"),
                   (["--aud", "x", "--max-line", "abc", "--", "true"],
                    "bad --max-line"),
                   (["--aud", "x", "--action", "db", "--", "true"],
                    "want TOOL=ACTION"),
                   (["--aud", "x", "--frob", "--", "true"],
                    "unknown option '--frob'")):
    p = subprocess.run([GUARD] + args, capture_output=True, text=True)
    ok("usage %s: exit 125" % args, p.returncode == 125, p.returncode)
    ok("usage %s: says '%s'" % (args, frag), frag in p.stderr, p.stderr)
p = subprocess.run([GUARD, "--help"], capture_output=True, text=True)
ok("--help", p.returncode == 0 and "--filter-tools-list" in p.stdout)
p = subprocess.run([GUARD, "--aud", "x", "--", os.path.join(T, "nothing")],
                   capture_output=True, text=True)
ok("missing server: exit 127", p.returncode == 127, p.returncode)
ok("missing server: says so", "cannot run" in p.stderr, p.stderr)

# ---- pass-through, an allowed call, the token stripped --------------------
echo_tok = mint("--tool", "echo", "--tool", "ask", "--aud", AUD,
                "--ttl", "600")
g = Guard()
r = g.request("initialize", {"protocolVersion": "2025-06-18",
                             "capabilities": {}, "clientInfo": {"name": "t"}})
ok("initialize passes", r.get("result", {}).get("serverInfo", {})
   .get("name") == "mcp-server.py", repr(r))
g.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
r = g.request("ping")
ok("ping passes", r == {"jsonrpc": "2.0", "id": g.next_id, "result": {}},
   repr(r))
args = {"msg": "hi", "n": 3, "yes": True, "nested": {"a": [1, None, 2.5]}}
r = g.call("echo", args, token=echo_tok, meta={"progressToken": 7})
got = allowed("echo", r)
ok("call answered with its id", r.get("id") == g.next_id, repr(r))
ok("arguments reach the server intact", got.get("params", {})
   .get("arguments") == args, repr(got))
ok("token stripped, other _meta kept", got.get("params", {}).get("_meta") ==
   {"progressToken": 7}, repr(got))
r = g.call("echo", {"x": 1}, token=echo_tok)
got = allowed("echo again (a reusable token)", r)
ok("_meta left out when only the token was in it",
   "_meta" not in got.get("params", {}), repr(got))
r = g.request("resources/list", {"_meta": {"io.baton/token": echo_tok}})
ok("other requests pass", r.get("error", {}).get("code") == -32601, repr(r))
ok("the token never reaches the server", echo_tok not in g.wire_text())
ok("the token key never reaches the server",
   "io.baton/token" not in g.wire_text())

# ---- notifications and server-initiated requests, both ways, in order ----
g.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 99}})
g.next_id += 1
g.send({"jsonrpc": "2.0", "id": g.next_id, "method": "tools/call",
        "params": {"name": "ask", "arguments": {},
                   "_meta": {"io.baton/token": echo_tok}}})
call_id = g.next_id
m1, m2 = g.recv(), g.recv()
ok("server notification reaches the client first",
   m1.get("method") == "notifications/progress", repr(m1))
ok("then the server's request", m2.get("method") == "sampling/createMessage"
   and m2.get("id") == "s1", repr(m2))
g.send({"jsonrpc": "2.0", "id": "s1", "result": {"model": "m",
        "role": "assistant", "content": {"type": "text", "text": "yes"}}})
r = g.recv()
got = allowed("ask", r)
ok("the client's answer reached the server", got.get("sampled", {})
   .get("model") == "m" and r.get("id") == call_id, repr(r))
r = g.call("seen", {}, token=mint("--tool", "seen", "--aud", AUD))
got = allowed("seen", r)
ok("the server saw every message in order", got == [
    "initialize", "notifications/initialized", "ping", "tools/call",
    "tools/call", "resources/list", "notifications/cancelled", "tools/call",
    "tools/call"], repr(got))

# ---- denials ----------------------------------------------------------------
parent = mint("--tool", "echo", "--tool", "db_query", "--aud", AUD)
child = subprocess.run([BATON, "attenuate", "-", "--tool", "echo"],
                       input=parent, capture_output=True,
                       text=True).stdout.strip()
allowed("a delegated token", g.call("echo", {"x": 1}, token=child))
baton("revoke", parent)
before = g.wire_text()
r = g.call("echo", {"x": 1}, token=child)
denied("its parent revoked (cascade)", r, "revoked")
r = g.call("db_query", {"table": "orders"}, token=echo_tok)
denied("tool not granted", r, "tool_not_granted", g.next_id)
r = g.call("echo", {"x": 1})
denied("no token", r, "token_missing", g.next_id)
r = g.call("echo", {"x": 1}, meta={"other": 1})
denied("no token, other _meta", r, "token_missing")
r = g.call("echo", {"x": 1}, token=42)
denied("token not a string", r, "malformed")
r = g.call("echo", {"x": 1}, token="bt1_!!!")
denied("token not base64url", r, "bad_base64")
r = g.call("echo", {"x": 1}, token="not a token")
denied("token without its prefix", r, "bad_prefix")
r = g.call("echo", {"x": 1}, token=echo_tok[:-8])
ok("truncated token: denied", r.get("error", {}).get("code") == -31403,
   repr(r))
other = mint("--tool", "echo", "--aud", "elsewhere")
r = g.call("echo", {"x": 1}, token=other)
denied("wrong audience", r, "audience_mismatch")
noaud = mint("--tool", "echo")
r = g.call("echo", {"x": 1}, token=noaud)
denied("a token issued for no audience", r, "audience_mismatch")
revoked = mint("--tool", "echo", "--aud", AUD)
baton("revoke", revoked)
r = g.call("echo", {"x": 1}, token=revoked)
denied("revoked", r, "revoked")
short = mint("--tool", "echo", "--aud", AUD, "--ttl", "1")
single = baton("present", "--tool", "echo", "--action", "read", "--aud", AUD,
               mint("--tool", "echo:read", "--aud", AUD))
g.request("ping")
r = g.request("tools/call", {"name": "echo"})
denied("no params._meta at all", r, "token_missing")
r = g.request("tools/call", {"arguments": {}, "_meta":
                             {"io.baton/token": echo_tok}})
denied("no tool name", r, "bad_request")
r = g.request("tools/call", {"name": "echo", "arguments": [1],
                             "_meta": {"io.baton/token": echo_tok}})
denied("arguments not an object", r, "bad_request")
r = g.request("tools/call", {"name": "echo", "Name": "secrets",
                             "_meta": {"io.baton/token": echo_tok}})
denied("keys equal but for case", r, "bad_request")
r = g.call("echo\nbaton-mcp-guard: forged\x1b[2J", {}, token=echo_tok)
denied("a tool name with a newline", r, "bad_request")
ok("... cannot forge a log line", "\nbaton-mcp-guard: forged" not in g.err()
   and "\x1b" not in g.err(), g.err())
g.send({"jsonrpc": "2.0", "method": "tools/call", "params": {
    "name": "echo", "_meta": {"io.baton/token": echo_tok}}})
r = g.request("ping")
ok("a tools/call notification is dropped, unanswered",
   r.get("id") == g.next_id and "result" in r, repr(r))
after = g.wire_text()[len(before):]
ok("no denied call reached the server", '"tools/call"' not in after, after)
ok("denials are logged without tokens", "denied tools/call db_query: "
   "tool_not_granted" in g.err() and echo_tok not in g.err(), g.err())

# ---- single use, expiry -------------------------------------------------------
g2 = Guard("--action", "echo=read")
r = g2.call("echo", {"x": 1}, token=single)
allowed("presented single-use token", r)
r = g2.call("echo", {"x": 1}, token=single)
denied("replayed", r, "replayed")
time.sleep(2.1)
r = g2.call("echo", {"x": 1}, token=short)
denied("expired", r, "expired")
ok("guard with --action exits 0 on EOF", g2.close() == 0)
g2 = Guard("--allow-no-audience")
allowed("--allow-no-audience: a token issued for no audience",
        g2.call("echo", {"x": 1}, token=noaud))
denied("--allow-no-audience: another audience still", g2.call(
    "echo", {"x": 1}, token=other), "audience_mismatch")
g2.close()

# ---- another _meta key ------------------------------------------------------
g2 = Guard("--token-key", "example.com/cap")
r = g2.call("echo", {"x": 1}, meta={"example.com/cap": echo_tok})
got = allowed("--token-key: the token under that key", r)
ok("--token-key: stripped too", "_meta" not in got.get("params", {}) and
   echo_tok not in g2.wire_text(), repr(got))
denied("--token-key: the default key is just another key",
       g2.call("echo", {"x": 1}, token=echo_tok), "token_missing")
g2.close()

# ---- actions and arguments ------------------------------------------------
g3 = Guard("--action", "db_query=read", "--action-arg", "op")
wtok = mint("--tool", "db_query:write", "--aud", AUD)
r = g3.call("db_query", {"table": "orders"}, token=wtok)
denied("action outside the grant (--action)", r, "action_not_granted")
rtok = mint("--tool", "db_query:read", "--aud", AUD,
            "--where", "db_query.table=in:orders,users",
            "--where", "db_query.limit=range:1..100")
r = g3.call("db_query", {"table": "orders", "limit": 10}, token=rtok)
allowed("argument inside the grant", r)
r = g3.call("db_query", {"table": "secrets", "limit": 10}, token=rtok)
denied("string argument outside the grant", r, "argument_rejected")
r = g3.call("db_query", {"table": "orders", "limit": 1000}, token=rtok)
denied("integer argument outside the grant", r, "argument_rejected")
r = g3.call("db_query", {"table": ["orders"], "limit": 10}, token=rtok)
denied("nested value of a constrained argument", r, "argument_rejected")
r = g3.call("db_query", {"table": "orders", "limit": 10.0}, token=rtok)
denied("real value of a constrained argument", r, "argument_rejected")
r = g3.call("db_query", {"limit": 10}, token=rtok)
denied("constrained argument missing", r, "argument_rejected")
r = g3.call("db_query", {"table": "orders", "Table": "secrets", "limit": 10},
            token=rtok)
denied("argument names equal but for case", r, "bad_request")
r = g3.call("db_query", {"table": "orders", "tabl\u017fe": "x", "limit": 1},
            token=rtok)
allowed("a different argument name is fine", r)
btok = mint("--tool", "file_browser:read", "--aud", AUD)
r = g3.call("file_browser", {"op": "delete", "path": "/x"}, token=btok)
denied("action from --action-arg outside the grant", r, "action_not_granted")
r = g3.call("file_browser", {"op": "read", "path": "/x"}, token=btok)
allowed("action from --action-arg inside the grant", r)
g3.raw(b'{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}\n')
r = g3.recv()
ok("duplicate keys: a parse error", r.get("error", {}).get("code") ==
   -32700 and r.get("id") is None, repr(r))
g3.raw(b'{"jsonrpc":"2.0","id":5,"method":"ping","Method":"tools/call"}\n')
r = g3.recv()
ok("method keys equal but for case: refused",
   r.get("error", {}).get("code") == -32600, repr(r))
g3.raw(b'not json\n')
r = g3.recv()
ok("not JSON: a parse error", r.get("error", {}).get("code") == -32700,
   repr(r))
ok("refused lines never reach the server", "not json" not in
   g3.wire_text() and '"Method"' not in g3.wire_text())
g3.close()

# ---- batches ------------------------------------------------------------------
g4 = Guard("--max-line", "1024")
g4.send([{"jsonrpc": "2.0", "id": 1, "method": "ping"},
         {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
          "params": {"name": "echo", "_meta": {"io.baton/token": echo_tok}}}])
r = g4.recv()
ok("a batch with a call: every request denied",
   isinstance(r, list) and [x["id"] for x in r] == [1, 2] and
   all(x["error"]["data"] == {"reason": "batch_refused"} for x in r),
   repr(r))
g4.send([[{"jsonrpc": "2.0", "id": 4, "method": "tools/call",
          "params": {"name": "echo", "_meta": {"io.baton/token": echo_tok}}}],
         {"jsonrpc": "2.0", "method": "notifications/initialized"}])
r = g4.recv()
ok("a nested batch: refused", r.get("error", {}).get("data") ==
   {"reason": "batch_refused"} and r.get("id") is None, repr(r))
g4.send([{"jsonrpc": "2.0", "id": 3, "method": "ping",
          "params": {"_meta": {"io.baton/token": echo_tok}}},
         {"jsonrpc": "2.0", "method": "notifications/initialized"}])
r = g4.recv()
ok("a batch without a call passes", r == [{"jsonrpc": "2.0", "id": 3,
                                           "result": {}}], repr(r))
ok("batch: no call and no token reached the server", "tools/call" not in
   g4.wire_text() and echo_tok not in g4.wire_text(), g4.wire_text())

# ---- bounded lines ---------------------------------------------------------
g4.raw(b'{"jsonrpc":"2.0","id":9,"method":"ping","params":{"pad":"' +
       b"x" * 3000 + b'"}}\n')
r = g4.recv()
ok("over-long line: a JSON-RPC error", r.get("error", {}).get("code") ==
   -32600 and "longer than 1024" in r["error"]["message"], repr(r))
g4.raw(b'{"jsonrpc":"2.0","id":10,"method":"ping","params":{"pad":"')
for i in range(40):
    g4.raw(b"y" * 1000)
g4.raw(b'"}}\n{"jsonrpc":"2.0","id":11,"method":"ping"}\n')
r = g4.recv()
ok("over-long line in pieces: one error", r.get("error", {}).get("code") ==
   -32600, repr(r))
r = g4.recv()
ok("and the guard keeps going", r == {"jsonrpc": "2.0", "id": 11,
                                      "result": {}}, repr(r))
ok("over-long lines never reach the server", "xxx" not in g4.wire_text() and
   "yyy" not in g4.wire_text())
ok("exit status on EOF", g4.close() == 0)

# ---- a client slower than the server ---------------------------------------
g4 = Guard()
g4.send({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
    "name": "flood", "_meta": {"io.baton/token": mint("--tool", "flood",
                                                       "--aud", AUD)}}})
time.sleep(3)
with open("/proc/%d/status" % g4.p.pid) as f:
    rss = [int(x.split()[1]) for x in f if x.startswith("VmRSS:")][0]
# (valgrind's own memory would swamp the figure)
ok("a client that does not read: the guard buffers little (%d KiB)" % rss,
   rss < 24 * 1024 or os.environ.get("GUARD_VALGRIND") == "1", rss)
n = 0
while True:
    m = g4.recv()
    if not isinstance(m, dict) or "id" in m:
        break
    n += 1
ok("then every message arrives, in order", n == 1024 and
   m.get("result") is not None, (n, m))
ok("exit status 0", g4.close() == 0)

# ---- the environment --------------------------------------------------------
env = dict(os.environ)
env.update({"SECRET_KEY": "s3cret", "KEEP_ME": "kept", "PATH": "/usr/bin:/bin"})
g5 = Guard("--pass-env", "KEEP_ME", env=env)
got = allowed("env", g5.call("env", {}, token=mint("--tool", "env", "--aud",
                                                   AUD)))
ok("--pass-env passes KEEP_ME", got.get("KEEP_ME") == "kept", repr(got))
ok("PATH passes", got.get("PATH") == "/usr/bin:/bin", repr(got))
ok("other variables stay", "SECRET_KEY" not in got, repr(got))
ok("the guard's own (BATON_SOCKET) stay", not any(
    k.startswith("BATON") for k in got), repr(got))
ok("exit status 0", g5.close() == 0)

# ---- tools/list --------------------------------------------------------------
g6 = Guard("--filter-tools-list")
both = mint("--tool", "echo", "--tool", "db_query:read", "--aud", AUD)


def names(r):
    return [t["name"] for t in r.get("result", {}).get("tools", [])]


r = g6.request("tools/list", {"_meta": {"io.baton/token": both}})
ok("filtered list: granted tools only", names(r) == ["echo", "db_query"],
   repr(r))
r = g6.request("tools/list")
ok("no token: no tools", names(r) == [] and "result" in r, repr(r))
r = g6.request("tools/list", {"_meta": {"io.baton/token": other}})
ok("another audience's token: no tools", names(r) == [], repr(r))
r = g6.request("tools/list", {"_meta": {"io.baton/token": noaud}})
ok("a token for no audience: no tools", names(r) == [], repr(r))
star = mint("--tool", "*", "--aud", AUD)
r = g6.request("tools/list", {"_meta": {"io.baton/token": star}})
ok("wildcard token: every tool", len(names(r)) == 6, repr(r))
ok("tools/list tokens never reach the server", both not in g6.wire_text()
   and star not in g6.wire_text())
g6.close()
g7 = Guard()
r = g7.request("tools/list")
ok("without --filter-tools-list the list passes", len(names(r)) == 6,
   repr(r))
g7.close()

# ---- broker down --------------------------------------------------------------
g8 = Guard("--socket", os.path.join(T, "no-broker.sock"))
r = g8.call("echo", {"x": 1}, token=echo_tok)
denied("broker down", r, "unavailable")
ok("broker down: nothing forwarded", "tools/call" not in g8.wire_text())
g8.close()

# ---- shutdown ---------------------------------------------------------------
g9 = Guard(status=3)
g9.request("ping")
ok("the server's exit status is the guard's", g9.close() == 3)
g10 = Guard()
g10.request("ping")
g10.p.send_signal(signal.SIGTERM)
try:
    st = g10.p.wait(timeout=10)
except subprocess.TimeoutExpired:
    st = "hung"
ok("SIGTERM: passed on, the server reaped", st == 128 + signal.SIGTERM,
   st)
g11 = Guard(server=["sh", "-c", "read x; exit 7"])
g11.raw(b"{}\n")
try:
    st = g11.p.wait(timeout=10)
except subprocess.TimeoutExpired:
    st = "hung"
ok("the server exits first: its status", st == 7, st)
g12 = Guard(server=["sh", "-c", "kill -KILL $$"])
try:
    st = g12.p.wait(timeout=10)
except subprocess.TimeoutExpired:
    st = "hung"
ok("the server killed by a signal: 128 + 9", st == 137, st)

print("%d failure(s)" % fails if fails else "all passed")
sys.exit(1 if fails else 0)
