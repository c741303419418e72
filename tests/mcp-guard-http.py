#!/usr/bin/env python3
# mcp-guard-http.py: baton-mcp-guard --listen in front of
# tests/mcp-http-server.py on 127.0.0.1, against the real batond that
# tests/mcp-guard.sh started.  Checks what the client gets and what the
# upstream server was sent (it logs every request).
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

GUARD = os.environ["GUARD"]
BATON = os.environ["BATON"]
T = os.environ["T"]
UPSTREAM = os.path.join(os.environ["top_srcdir"], "tests",
                        "mcp-http-server.py")
AUD = "files"
TIMEOUT = 2 * float(os.environ.get("RECV_TIMEOUT", "5"))
fails = 0


def ok(name, cond, detail=""):
    global fails
    if cond:
        print("ok - " + name)
    else:
        fails += 1
        print("FAIL - %s %s" % (name, detail))


def mint(*args):
    p = subprocess.run([BATON, "mint", "--as", "orchestrator"] + list(args),
                       capture_output=True, text=True, check=True)
    return p.stdout.strip()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


LOG = os.path.join(T, "http.log")
GO = os.path.join(T, "go")
PORTFILE = os.path.join(T, "upstream.port")
up = subprocess.Popen([sys.executable, UPSTREAM, LOG, GO, PORTFILE])
for _ in range(200):
    if os.path.exists(PORTFILE):
        break
    time.sleep(0.05)
up_port = int(open(PORTFILE).read())
port = free_port()
guard = subprocess.Popen([GUARD, "--listen", "127.0.0.1:%d" % port,
                          "--upstream", "http://127.0.0.1:%d/mcp" % up_port,
                          "--aud", AUD],
                         stderr=open(os.path.join(T, "guard-http.err"), "w"))
ok("guard listens", wait_port(port))


def logged():
    try:
        with open(LOG) as f:
            return [json.loads(x) for x in f]
    except FileNotFoundError:
        return []


def post(body, token=None, headers=None, raw=False):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    h = {"Content-Type": "application/json",
         "Accept": "application/json, text/event-stream"}
    if token is not None:
        h["Authorization"] = "Bearer " + token
    h.update(headers or {})
    c.request("POST", "/mcp", body if raw else json.dumps(body), h)
    r = c.getresponse()
    return r, c


def answer(r):
    data = r.read()
    try:
        return json.loads(data)
    except ValueError:
        return data


try:
    tok = mint("--tool", "echo", "--tool", "stream", "--aud", AUD)
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}

    # ---- the bearer token --------------------------------------------------------
    r, c = post(init)
    body = answer(r)
    ok("no token: 401", r.status == 401, r.status)
    ok("no token: WWW-Authenticate: Bearer", (r.getheader("WWW-Authenticate")
       or "").startswith("Bearer realm=\"baton\""), r.getheader(
       "WWW-Authenticate"))
    r, c = post(init, token="bt1_!!!")
    answer(r)
    ok("bad token: 401 invalid_token", r.status == 401 and
       'error="invalid_token"' in (r.getheader("WWW-Authenticate") or ""),
       r.getheader("WWW-Authenticate"))
    r, c = post(init, token=mint("--tool", "echo", "--aud", "elsewhere"))
    answer(r)
    ok("another audience: 401 audience_mismatch", r.status == 401 and
       "audience_mismatch" in (r.getheader("WWW-Authenticate") or ""),
       r.getheader("WWW-Authenticate"))
    r, c = post(init, token=mint("--tool", "echo"))
    answer(r)
    ok("no audience: 401", r.status == 401, r.status)
    ok("refused requests never went upstream", logged() == [], logged())

    # ---- allowed requests -------------------------------------------------------
    r, c = post(init, token=tok, headers={"Mcp-Session-Id": "sess-1",
                                          "Connection": "keep-alive, X-Hop",
                                          "X-Hop": "secret"})
    body = answer(r)
    ok("initialize: 200 from upstream", r.status == 200 and
       body["result"]["serverInfo"]["name"] == "mcp-http-server.py", body)
    ok("Mcp-Session-Id comes back", r.getheader("Mcp-Session-Id") == "sess-1")
    last = logged()[-1]
    ok("no Authorization upstream", not any(k.lower() == "authorization"
                                            for k in last["headers"]), last)
    ok("Mcp-Session-Id goes upstream", last["headers"].get("Mcp-Session-Id") ==
       "sess-1", last)
    ok("upstream path", last["path"] == "/mcp", last)
    ok("headers named by Connection stay", "X-Hop" not in last["headers"],
       last)
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "echo", "arguments": {"x": 1},
        "_meta": {"io.baton/token": tok, "progressToken": 3}}}
    r, c = post(call, token=tok)
    body = answer(r)
    ok("allowed call: 200", r.status == 200 and "result" in body, body)
    got = json.loads(body["result"]["content"][0]["text"])
    ok("_meta token stripped upstream", got.get("_meta") == {"progressToken": 3},
       got)
    ok("the token never went upstream", tok not in json.dumps(logged()))

    # ---- denied calls ------------------------------------------------------------
    n = len(logged())
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "db_query", "arguments": {}}}
    r, c = post(call, token=tok)
    body = answer(r)
    ok("tool not granted: 403", r.status == 403, r.status)
    ok("with the JSON-RPC denial", body.get("id") == 3 and
       body.get("error", {}).get("code") == -31403 and
       body["error"].get("data") == {"reason": "tool_not_granted"}, body)
    rev = mint("--tool", "echo", "--aud", AUD)
    subprocess.run([BATON, "revoke", rev], check=True, capture_output=True)
    call["params"]["name"] = "echo"
    r, c = post(call, token=rev)
    body = answer(r)
    ok("revoked: 403 revoked", r.status == 403 and body.get("error", {})
       .get("data") == {"reason": "revoked"}, body)
    r, c = post([{"jsonrpc": "2.0", "id": 4, "method": "ping"}, call], token=tok)
    body = answer(r)
    ok("batch with a call: 403", r.status == 403 and isinstance(body, list) and
       body[0]["error"]["data"] == {"reason": "batch_refused"}, body)
    r, c = post(b"not json", token=tok, raw=True)
    answer(r)
    ok("not JSON: 400", r.status == 400, r.status)
    r, c = post(b'{"method":"ping","Method":"tools/call","id":1}', token=tok,
                raw=True)
    answer(r)
    ok("keys equal but for case: 400", r.status == 400, r.status)
    ok("denied requests never went upstream", len(logged()) == n, logged()[n:])
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.sendall(("POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Length: %d\r\n\r\n" % (tok, 5 << 20)).encode())
    status_line = s.makefile("rb").readline()
    s.close()
    ok("body over the limit: 413", b" 413 " in status_line, status_line)

    # ---- streaming -------------------------------------------------------------
    call = {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
            "params": {"name": "stream", "arguments": {}}}
    r, c = post(call, token=tok)
    ok("SSE: 200 text/event-stream", r.status == 200 and
       r.getheader("Content-Type") == "text/event-stream",
       (r.status, r.getheader("Content-Type")))
    first = [r.readline() for _ in range(3)]
    ok("the first event arrives before the second is sent",
       b"notifications/progress" in first[1] and not os.path.exists(GO), first)
    open(GO, "w").close()
    rest = r.read()
    ok("then the second", b'"id": 5' in rest and b"done" in rest, rest)
    # a client that hangs up mid-stream ends that exchange only
    os.unlink(GO)
    call["id"] = 6
    r, c = post(call, token=tok)
    first = r.readline()
    c.close()
    r.close()
    time.sleep(0.2)
    open(GO, "w").close()
    time.sleep(0.2)
    r, c = post(init, token=tok)
    ok("a client hanging up mid-stream: the guard goes on",
       r.status == 200 and "result" in answer(r))
    # a client that does not read: the guard holds back the upstream
    # rather than buffer the whole stream
    flood = mint("--tool", "flood", "--aud", AUD)
    r, c = post({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                 "params": {"name": "flood"}}, token=flood)
    r.readline()
    time.sleep(3)
    with open("/proc/%d/status" % guard.pid) as f:
        rss = [int(x.split()[1]) for x in f if x.startswith("VmRSS:")][0]
    # (valgrind's own memory would swamp the figure)
    ok("a slow reader: the guard buffers little (%d KiB)" % rss,
       rss < 24 * 1024 or os.environ.get("GUARD_VALGRIND") == "1", rss)
    c.close()
    r.close()
    r, c = post({"jsonrpc": "2.0", "id": 8, "method": "tools/call",
                 "params": {"name": "flood"}}, token=flood)
    got = 0
    while True:
        piece = r.read1(1 << 20)
        if not piece:
            break
        got += len(piece)
        if got < 4 << 20:
            time.sleep(0.01)    # slow at first: paused, then resumed
    ok("and a reader gets the whole stream (%d bytes)" % got,
       got == 1024 * (65536 + 8), got)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    c.request("GET", "/mcp", headers={"Authorization": "Bearer " + tok,
                                      "Accept": "text/event-stream"})
    r = c.getresponse()
    data = r.read()
    ok("GET stream passes", r.status == 200 and b"notifications/message" in data,
       data)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    c.request("GET", "/mcp")
    r = c.getresponse()
    r.read()
    ok("GET without a token: 401", r.status == 401)
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    c.request("DELETE", "/mcp", headers={"Authorization": "Bearer " + tok})
    r = c.getresponse()
    r.read()
    ok("DELETE passes", r.status == 200, r.status)

    # ---- upstream down, shutdown ---------------------------------------------
    up.terminate()
    up.wait()
    r, c = post(init, token=tok)
    answer(r)
    ok("upstream down: 502", r.status == 502, r.status)
    guard.send_signal(signal.SIGTERM)
    try:
        st = guard.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        guard.kill()
        st = "hung"
    ok("SIGTERM: exit 0", st == 0, st)

finally:
    for p in (guard, up):
        if p.poll() is None:
            p.kill()
            p.wait()

print("%d failure(s)" % fails if fails else "all passed")
sys.exit(1 if fails else 0)
