"""baton.Client against a real batond: every method and its error paths."""

import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

import baton

JTI = re.compile(r"[0-9a-f]{32}")


# ---- mint ------------------------------------------------------------------

def test_mint_returns_token_text_with_jti_and_exp(client):
    before = int(time.time())
    t = client.mint(["db_query:read,write", "file_read"], 600)
    assert isinstance(t, str) and isinstance(t, baton.Token)
    assert t.startswith("bt1_")
    assert JTI.fullmatch(t.jti)
    assert before + 600 <= t.exp <= int(time.time()) + 600
    # the secret never shows through repr
    assert str(t) not in repr(t) and t.jti in repr(t)
    blocks = client.inspect(t).blocks
    assert blocks[0]["jti"] == t.jti
    assert blocks[0]["grants"]["db_query"]["actions"] == ["read", "write"]
    assert "file_read" in blocks[0]["grants"]


def test_token_pickles_for_worker_processes(client):
    import copy
    import pickle
    t = client.mint(["db_query"], 600)
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        u = pickle.loads(pickle.dumps(t, proto))
        assert u == t and u.jti == t.jti and u.exp == t.exp
        assert isinstance(u, baton.Token)
    assert copy.deepcopy(t).jti == t.jti


def test_mint_every_option(client):
    t = client.mint("db_query:read", 300, aud=["mcp-db", "mcp-db2"],
                    subject="alice", as_agent="orchestrator", max_depth=2,
                    limits={"db_query.max_rows": 100,
                            "db_query.max_calls": 5},
                    single_use=True, holder="worker-a",
                    where={"db_query.table": "in:orders,users",
                           "db_query.sql": ["prefix:SELECT", "maxlen:64"]},
                    ctx={"workflow": "wf-1"})
    b = client.inspect(t).blocks[0]
    assert b["iss"] == "orchestrator" and b["sub"] == "alice"
    assert b["aud"] == ["mcp-db", "mcp-db2"]
    assert b["max_depth"] == 2 and b["single_use"] is True
    assert b["holder"] == "worker-a"
    assert b["grants"]["db_query"]["limits"] == {"max_calls": 5,
                                                  "max_rows": 100}
    assert set(b["grants"]["db_query"]["where"]) == {"sql", "table"}
    assert b["ctx"] == {"workflow": "wf-1"}


def test_mint_ttl_none_is_broker_default(client):
    t = client.mint(["t"], None)
    assert t.exp > time.time()


def test_mint_wildcard(client):
    t = client.mint(["*"], 60)
    r = client.verify(t, "anything")
    assert r.allowed and r.facts["wildcard"] is True


@pytest.mark.parametrize("kwargs,exc", [
    (dict(tools=[], ttl=60), baton.InvalidRequest),
    (dict(tools=["*", "db"], ttl=60), baton.InvalidRequest),
    (dict(tools=["db:READ"], ttl=60), baton.InvalidRequest),
    (dict(tools=["db"], ttl=0), baton.InvalidRequest),
    (dict(tools=["db"], ttl=-5), baton.InvalidRequest),
    (dict(tools=["db"], ttl="60"), TypeError),
    (dict(tools=["db"], ttl=True), TypeError),
    (dict(tools=[b"db"], ttl=60), TypeError),
    (dict(tools=["db\0x"], ttl=60), baton.InvalidRequest),
    (dict(tools=["db"], ttl=60, subject="a\0b"), baton.InvalidRequest),
    (dict(tools=["db"], ttl=60, limits={"shell.max_calls": 1}),
     baton.InvalidRequest),
    (dict(tools=["db"], ttl=60, limits={"max_rows": 1}),
     baton.InvalidRequest),
    (dict(tools=["db"], ttl=60, limits={"db.": 1}), baton.InvalidRequest),
    (dict(tools=["db"], ttl=60, limits={"db.max_rows": -1}),
     baton.InvalidRequest),
    (dict(tools=["db"], ttl=60, limits={"db.max_rows": 2**64}),
     baton.InvalidRequest),
    (dict(tools=["db"], ttl=60, limits={"db.max_rows": "5"}), TypeError),
    (dict(tools=["db"], ttl=60, where={"db.table": "regex:x"}),
     baton.InvalidRequest),
    (dict(tools=["db"], ttl=60, where={"other.table": "eq:x"}),
     baton.InvalidRequest),
    (dict(tools=["db"], ttl=60, max_depth=-1), baton.InvalidRequest),
    (dict(tools=["db"], ttl=60, aud=[""]), baton.InvalidRequest),
    (dict(tools=["db"], ttl=60, ctx={"": "x"}), baton.InvalidRequest),
])
def test_mint_bad_arguments(client, kwargs, exc):
    with pytest.raises(exc):
        client.mint(kwargs.pop("tools"), kwargs.pop("ttl"), **kwargs)


def test_mint_over_max_depth_is_refused_by_broker(client):
    # the broker, not Python, owns the cap (max_depth 0..15)
    with pytest.raises(baton.InvalidRequest):
        client.mint(["db"], 60, max_depth=99)


# ---- attenuate ----------------------------------------------------------------

def test_attenuate_narrows_and_inherits(client):
    root = client.mint(["db_query:read,write", "file_read"], 600,
                       as_agent="orchestrator", limits={
                           "db_query.max_rows": 1000})
    a = client.attenuate(root, tools=["db_query:read"], ttl=300,
                         as_agent="orchestrator",
                         limits={"db_query.max_rows": 100})
    assert a.exp <= root.exp and a.jti != root.jti
    b = client.attenuate(a, as_agent="worker-a")        # inherit all
    r = client.verify(b, "db_query", action="read")
    assert r.allowed and r.facts["depth"] == 2
    assert r.facts["delegators"] == ["orchestrator", "orchestrator",
                                     "worker-a"]
    assert r.limit("max_rows") == 100
    assert not client.verify(b, "db_query", action="write").allowed
    assert client.verify(b, "file_read").reason == "tool_not_granted"
    # the parent keeps what it had
    assert client.verify(root, "file_read").allowed


def test_attenuate_audience_only_keeps_tools(client):
    root = client.mint(["db_query"], 600)
    a = client.attenuate(root, aud="mcp-db")
    assert client.verify(a, "db_query", aud="mcp-db").allowed
    assert client.verify(a, "db_query", aud="other").reason == \
        "audience_mismatch"


@pytest.mark.parametrize("kwargs,reason", [
    (dict(ttl=10**6), "ttl_too_long"),
    (dict(tools=["shell"]), "widen_tool"),
    (dict(tools=["db_query:write"]), "widen_action"),
    (dict(tools=["db_query:read"], limits={"db_query.max_rows": 5000}),
     "widen_limit"),
    (dict(max_depth=9), "widen_depth"),
])
def test_attenuate_widening_is_denied(client, kwargs, reason):
    root = client.mint(["db_query:read"], 600, max_depth=3,
                       limits={"db_query.max_rows": 1000})
    with pytest.raises(baton.Denied) as ei:
        client.attenuate(root, **kwargs)
    assert ei.value.reason == reason
    assert ei.value.code == -4
    assert reason in str(ei.value)


def test_attenuate_no_depth_left(client):
    root = client.mint(["db"], 600, max_depth=0)
    with pytest.raises(baton.Denied) as ei:
        client.attenuate(root)
    assert ei.value.reason == "no_depth_left"


def test_attenuate_bad_token(client):
    with pytest.raises(baton.Malformed):
        client.attenuate("not-a-token")
    with pytest.raises(TypeError):
        client.attenuate(None)


def test_attenuate_limit_needs_tool(client):
    root = client.mint(["db_query"], 600)
    with pytest.raises(baton.InvalidRequest, match="does not grant"):
        client.attenuate(root, limits={"db_query.max_rows": 5})


# ---- present ----------------------------------------------------------------

def test_present_is_single_use_and_bound(client):
    root = client.mint(["db_query:read,write"], 600, holder="worker-b")
    # a holder-bound token is refused unpresented
    assert client.verify(root, "db_query", action="read",
                         aud="mcp-db").reason == "not_presented"
    p = client.present(root, tool="db_query", action="read", aud="mcp-db",
                       as_agent="worker-b", ttl=60)
    assert p.exp <= int(time.time()) + 60
    assert not client.verify(p, "db_query", action="write",
                             aud="mcp-db").allowed
    r = client.verify(p, "db_query", action="read", aud="mcp-db")
    assert r.allowed and r.facts["presented"] is True
    again = client.verify(p, "db_query", action="read", aud="mcp-db")
    assert not again and again.reason == "replayed"


def test_present_by_another_agent_is_denied(client):
    root = client.mint(["db_query:read"], 600, holder="worker-b")
    with pytest.raises(baton.Denied) as ei:
        client.present(root, tool="db_query", action="read", aud="mcp-db",
                       as_agent="worker-c")
    assert ei.value.reason == "holder_mismatch"


def test_present_needs_tool_action_aud(client):
    root = client.mint(["db_query:read"], 600)
    with pytest.raises(TypeError):
        client.present(root, tool="db_query", action="read")
    with pytest.raises(baton.Malformed):
        client.present("junk", tool="db_query", action="read", aud="x")
    with pytest.raises(baton.Denied) as ei:
        client.present(root, tool="db_query", action="read", aud="x",
                       ttl=1000)
    assert ei.value.reason == "ttl_too_long"


# ---- verify -----------------------------------------------------------------

def test_verify_allowed_facts(client):
    t = client.mint(["db_query:read"], 600, as_agent="orchestrator",
                    subject="alice", aud="mcp-db", ctx={"step": "3"},
                    limits={"db_query.max_rows": 10})
    r = client.verify(t, "db_query", action="read", aud="mcp-db",
                      usage={"max_rows": 10})
    assert r.allowed is True and bool(r) is True
    assert r.reason == "ok" and r.reason_code == 0
    f = r.facts
    assert f["iss"] == "orchestrator" and f["sub"] == "alice"
    assert f["tools"] == ["db_query"] and f["actions"] == ["read"]
    assert f["depth"] == 0 and f["exp"] == t.exp
    assert f["jtis"] == [t.jti] and f["ctx"] == {"step": "3"}
    assert r.limit("max_rows") == 10 and r.limit("nope", 7) == 7
    with pytest.raises(Exception):
        r.allowed = False        # frozen


@pytest.mark.parametrize("call,reason", [
    (dict(tool="file_read"), "tool_not_granted"),
    (dict(tool="db_query", action="write"), "action_not_granted"),
    (dict(tool="db_query", action="read", aud="other"), "audience_mismatch"),
    (dict(tool="db_query", action="read", aud="mcp-db",
          args={"table": "secrets"}), "argument_rejected"),
    (dict(tool="db_query", action="read", aud="mcp-db",
          args={"table": "orders", "n": "5"}), "argument_rejected"),
    (dict(tool="db_query", action="read", aud="mcp-db",
          args={"table": "orders", "n": 11}), "argument_rejected"),
    (dict(tool="db_query", action="read", aud="mcp-db",
          args={"table": "orders", "n": 5, "dry": "true"}),
     "argument_rejected"),
    (dict(tool="db_query", action="read", aud="mcp-db",
          args={"table": "orders", "n": 5, "dry": True},
          usage={"max_rows": 101}), "limit_exceeded"),
    (dict(tool="db_query", action="read", aud="mcp-db",
          args={"table": "orders", "n": 5, "dry": True},
          usage={"max_rows": 100}), "ok"),
])
def test_verify_reasons(client, call, reason):
    t = client.mint(["db_query:read"], 600, aud="mcp-db",
                    limits={"db_query.max_rows": 100},
                    where={"db_query.table": "in:orders,users",
                           "db_query.n": "range:1..10",
                           "db_query.dry": "eq:true"})
    tool = call.pop("tool")
    r = client.verify(t, tool, **call)
    assert r.reason == reason
    assert r.allowed is (reason == "ok")
    assert bool(r) is r.allowed


@pytest.mark.parametrize("token,reason", [
    ("garbage", "bad_prefix"),
    ("bt1_!!!", "bad_base64"),
    ("bt1_" + "A" * 200000, "too_large"),
])
def test_verify_not_a_token_is_a_denial(client, token, reason):
    r = client.verify(token, "db_query")
    assert not r.allowed and r.reason == reason


def test_verify_tampered_token(client):
    t = client.mint(["db_query"], 600)
    flip = "A" if t[40] != "A" else "B"
    r = client.verify(t[:40] + flip + t[41:], "db_query")
    assert not r.allowed
    assert r.reason in ("bad_signature", "malformed", "bad_payload",
                        "bad_base64")


def test_verify_expired(client, expiring):
    t = expiring()
    r = client.verify(t, "db_query", action="read", aud="mcp-db")
    assert not r.allowed and r.reason == "expired"


@pytest.mark.parametrize("kwargs,exc", [
    (dict(tool=""), baton.InvalidRequest),
    (dict(tool=None), TypeError),
    (dict(tool="db_query", args={"x": 1.5}), TypeError),
    (dict(tool="db_query", args={"x": None}), TypeError),
    (dict(tool="db_query", args={"x": 2**63}), baton.InvalidRequest),
    (dict(tool="db_query", args={"x": "a\0b"}), baton.InvalidRequest),
    (dict(tool="db_query", usage={"max_rows": -1}), baton.InvalidRequest),
    (dict(tool="db_query", usage={"max_rows": 1.0}), TypeError),
])
def test_verify_bad_arguments(client, kwargs, exc):
    t = client.mint(["db_query"], 600)
    with pytest.raises(exc):
        client.verify(t, **kwargs)


# ---- revoke -------------------------------------------------------------------

def test_revoke_token_and_subtree(client):
    root = client.mint(["db_query"], 600)
    a = client.attenuate(root, ttl=300)
    b = client.attenuate(a, ttl=200)
    client.revoke(a)
    assert client.verify(a, "db_query").reason == "revoked"
    assert client.verify(b, "db_query").reason == "revoked"
    assert client.verify(root, "db_query").allowed
    client.revoke(a)            # twice is harmless


def test_revoke_jti(client):
    root = client.mint(["db_query"], 600)
    a = client.attenuate(root, ttl=300)
    client.revoke_jti(root.jti)
    assert client.verify(a, "db_query").reason == "revoked"
    with pytest.raises(baton.InvalidRequest):
        client.revoke_jti("1234")


def test_revoke_bad_token(client):
    with pytest.raises(baton.Malformed):
        client.revoke("not-a-token")
    t = client.mint(["db_query"], 600)
    flip = "A" if t[40] != "A" else "B"
    with pytest.raises((baton.Denied, baton.Malformed)):
        client.revoke(t[:40] + flip + t[41:])


# ---- inspect, pubkeys, status -------------------------------------------------

def test_inspect_offline(client):
    root = client.mint(["db_query:read"], 600, as_agent="orchestrator",
                       subject="alice")
    a = client.attenuate(root, ttl=300, as_agent="worker-a")
    i = baton.inspect(a)
    assert isinstance(i, baton.Inspection)
    assert [b["kind"] for b in i.blocks] == ["mint", "attenuate"]
    assert i.blocks[1]["delegator"] == "worker-a"
    assert i.effective["depth"] == 1 and len(i.kid) == 16
    assert "mint by orchestrator for alice" in i.tree
    assert "signature NOT checked" in i.tree
    assert client.inspect(a) == i


@pytest.mark.parametrize("token,reason", [
    ("junk", "bad_prefix"), ("bt1_###", "bad_base64"),
    ("bt1_AAAA", "malformed"),
])
def test_inspect_malformed(token, reason):
    with pytest.raises(baton.Malformed) as ei:
        baton.inspect(token)
    assert ei.value.reason == reason
    assert isinstance(ei.value, ValueError)


def test_pubkeys_and_status(client):
    k = client.pubkeys()
    assert len(k["keys"]) == 1 and len(k["keys"][0]["kid"]) == 16
    assert len(baton.KeyBundle(k)) == 1
    s = client.status()
    assert s["counters"]["op_hello"] >= 1
    p = client.status(prometheus=True)
    assert isinstance(p, str) and "# TYPE" in p


# ---- offline verification -------------------------------------------------------

def test_verify_offline_forms(client, tmp_path):
    k = client.pubkeys()
    t = client.mint(["db_query:read"], 600, aud="mcp-db",
                    limits={"db_query.max_rows": 50})
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(k))
    for keys in (k, json.dumps(k), json.dumps(k).encode(),
                 baton.KeyBundle(k), baton.KeyBundle.load(path), path):
        r = baton.verify_offline(t, keys, "db_query", action="read",
                                 aud="mcp-db", usage={"max_rows": 50})
        assert r.allowed and r.limit("max_rows") == 50
    r = baton.verify_offline(t, k, "db_query", action="write")
    assert r.reason == "action_not_granted"
    r = baton.verify_offline(t, k, "db_query", action="read",
                             now=t.exp + 10)
    assert r.reason == "expired"
    r = baton.verify_offline(t, k, "db_query", action="read", aud="mcp-db",
                             now=t.exp + 10, leeway=30)
    assert r.allowed
    assert baton.verify_offline("junk", k, "db_query").reason == "bad_prefix"


def test_verify_offline_cannot_see_revocation(client):
    # documented: only the broker knows revocations and spent tokens
    k = client.pubkeys()
    t = client.mint(["db_query"], 600)
    client.revoke(t)
    assert client.verify(t, "db_query").reason == "revoked"
    assert baton.verify_offline(t, k, "db_query").allowed


def test_verify_offline_unknown_key(client):
    other = {"keys": [{"kid": "0123456789abcdef", "pk": "00" * 32}]}
    t = client.mint(["db_query"], 600)
    with pytest.raises(baton.Malformed):   # the kid must match the key
        baton.KeyBundle(other)
    k = client.pubkeys()
    k2 = json.loads(json.dumps(k))
    k2["keys"][0]["pk"] = "11" * 32
    with pytest.raises(baton.Malformed):
        baton.verify_offline(t, k2, "db_query")


@pytest.mark.parametrize("keys,exc", [
    ("{", baton.Malformed), ({"keys": []}, baton.NoKey),
    ({"nokeys": 1}, baton.Malformed), (42, TypeError),
])
def test_keybundle_bad(keys, exc):
    with pytest.raises(exc):
        baton.KeyBundle(keys)


# ---- the connection -------------------------------------------------------------

def test_socket_from_environment(broker, monkeypatch):
    monkeypatch.setenv("BATON_SOCKET", broker.socket)
    with baton.Client() as c:
        assert c.socket_path == broker.socket
        assert c.status()["counters"]["op_hello"] >= 1


def test_default_socket_is_a_path():
    assert baton.default_socket().endswith("batond.sock")
    assert re.fullmatch(r"\d+\.\d+\.\d+", baton.version())


def test_broker_down(dead_socket):
    c = baton.Client(dead_socket, timeout=1)
    with pytest.raises(baton.BrokerUnavailable) as ei:
        c.mint(["db"], 60)
    assert dead_socket in str(ei.value)
    assert ei.value.code == -7
    with pytest.raises(baton.BrokerUnavailable):
        c.verify("bt1_x", "db")
    c.close()


def test_reconnect_after_broker_restart(own_broker):
    c = baton.Client(own_broker.socket)
    t = c.mint(["db"], 600)
    assert c.verify(t, "db").allowed
    own_broker.stop()
    with pytest.raises(baton.BrokerUnavailable):
        c.status()
    own_broker.start()
    # the key persists in the state directory, so the old token holds
    assert c.verify(t, "db").allowed
    assert c.status()["counters"]["op_verify"] >= 1
    c.close()


def test_closed_client(broker):
    c = baton.Client(broker.socket)
    c.status()
    with c:
        pass
    with pytest.raises(baton.Error, match="closed"):
        c.status()
    c.close()                   # twice is fine


@pytest.mark.parametrize("timeout,exc", [
    (0, baton.InvalidRequest), (-1, baton.InvalidRequest),
    (float("inf"), baton.InvalidRequest), (float("nan"), baton.InvalidRequest),
    ("5", TypeError), (None, TypeError),
])
def test_bad_timeout(timeout, exc):
    with pytest.raises(exc):
        baton.Client("/x", timeout=timeout)


def test_bad_socket_path():
    with pytest.raises(baton.InvalidRequest):       # over sun_path
        baton.Client("/" + "x" * 200).status()
    with pytest.raises(baton.InvalidRequest):       # would be cut short
        baton.Client("/tmp/a\0b")
    with pytest.raises(TypeError):
        baton.Client(b"/tmp/sock")


def test_silent_peer_times_out(tmp_path):
    path = str(tmp_path / "silent.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    try:
        c = baton.Client(path, timeout=0.3)
        t0 = time.monotonic()
        with pytest.raises(baton.Timeout) as ei:
            c.status()
        assert time.monotonic() - t0 < 3
        assert isinstance(ei.value, baton.BrokerUnavailable)
        c.close()
    finally:
        srv.close()


def test_not_a_broker_is_a_protocol_error(tmp_path):
    path = str(tmp_path / "liar.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)

    def answer():
        conn, _ = srv.accept()
        with conn:
            conn.recv(65536)
            # a well-framed answer that is not msgpack [op, id, body]
            conn.sendall(struct.pack(">I", 3) + b"\xc1\xc1\xc1")
            time.sleep(0.5)
    th = threading.Thread(target=answer)
    th.start()
    try:
        c = baton.Client(path, timeout=2)
        with pytest.raises(baton.ProtocolError):
            c.status()
        c.close()
    finally:
        th.join()
        srv.close()


def test_threads_share_a_client(client):
    t = client.mint(["db_query:read"], 600, limits={"db_query.max_rows": 9})
    errors = []

    def work():
        try:
            for _ in range(25):
                r = client.verify(t, "db_query", action="read")
                assert r.allowed and r.limit("max_rows") == 9
                assert client.verify(t, "nope").reason == "tool_not_granted"
        except BaseException as e:        # noqa: B902 - reported below
            errors.append(e)
    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []


def test_forked_child_gets_its_own_connection(client):
    t = client.mint(["db_query"], 600)
    assert client.verify(t, "db_query").allowed     # parent connected
    before = client.status()["counters"]["op_hello"]
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                     # pragma: no cover
        os.close(r)
        ok = 0
        try:
            ok = int(client.verify(t, "db_query").allowed and
                     client.status()["counters"]["op_hello"] > before)
        finally:
            os.write(w, b"%d" % ok)
            os._exit(0)
    os.close(w)
    got = os.read(r, 8)
    os.close(r)
    os.waitpid(pid, 0)
    assert got == b"1"      # the child said hello on a connection of its own
    # and the parent's connection still answers in step
    assert client.verify(t, "db_query").allowed
    assert client.verify(t, "nope").reason == "tool_not_granted"


def test_missing_library_names_the_package(tmp_path):
    env = dict(os.environ, BATON_LIBDIR=str(tmp_path))
    code = ("import baton\n"
            "try:\n"
            "    baton.Client('/x').status()\n"
            "except baton.LibraryNotFound as e:\n"
            "    print(e)\n"
            "    raise SystemExit(3)\n")
    p = subprocess.run([sys.executable, "-c", code], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 3, p.stderr
    assert "libbaton-agent0" in p.stdout
    assert "BATON_LIBDIR" in p.stdout
    assert "libbaton-agent.so.0" in p.stdout


def test_exception_hierarchy():
    for cls in (baton.BrokerUnavailable, baton.Timeout, baton.ProtocolError,
                baton.Denied, baton.InvalidRequest, baton.TooBig,
                baton.Malformed, baton.PermissionDenied, baton.NoKey,
                baton.OutOfMemory, baton.SystemCallError,
                baton.LibraryNotFound):
        assert issubclass(cls, baton.Error)
    assert issubclass(baton.Timeout, baton.BrokerUnavailable)
    assert issubclass(baton.InvalidRequest, ValueError)
    assert issubclass(baton.LibraryNotFound, ImportError)


def test_help_shows_the_api():
    import pydoc
    text = pydoc.render_doc(baton, renderer=pydoc.plaintext)
    for name in ("Client", "VerifyResult", "BrokerUnavailable",
                 "verify_offline", "require_baton", "mint(self, tools",
                 "verify(self, token", "BATON_LIBDIR"):
        assert name in text, name


def _params(fn):
    import inspect
    return [(p.name, p.kind.name, p.default) for p in
            inspect.signature(fn).parameters.values()]


def test_normative_signatures():
    """The names issue 13 fixes, which scripts rely on."""
    E = __import__("inspect").Parameter.empty
    assert _params(baton.Client)[:2] == [
        ("socket_path", "POSITIONAL_OR_KEYWORD", None),
        ("timeout", "POSITIONAL_OR_KEYWORD", 5.0)]
    assert _params(baton.Client.mint)[:11] == [
        ("self", "POSITIONAL_OR_KEYWORD", E),
        ("tools", "POSITIONAL_OR_KEYWORD", E),
        ("ttl", "POSITIONAL_OR_KEYWORD", E),
        ("aud", "KEYWORD_ONLY", None), ("subject", "KEYWORD_ONLY", None),
        ("as_agent", "KEYWORD_ONLY", None),
        ("max_depth", "KEYWORD_ONLY", None),
        ("limits", "KEYWORD_ONLY", None),
        ("single_use", "KEYWORD_ONLY", False),
        ("holder", "KEYWORD_ONLY", None),
        ("where", "KEYWORD_ONLY", None)]
    assert _params(baton.Client.attenuate)[:4] == [
        ("self", "POSITIONAL_OR_KEYWORD", E),
        ("token", "POSITIONAL_OR_KEYWORD", E),
        ("tools", "KEYWORD_ONLY", None), ("ttl", "KEYWORD_ONLY", None)]
    assert _params(baton.Client.verify) == [
        ("self", "POSITIONAL_OR_KEYWORD", E),
        ("token", "POSITIONAL_OR_KEYWORD", E),
        ("tool", "POSITIONAL_OR_KEYWORD", E),
        ("action", "KEYWORD_ONLY", None), ("aud", "KEYWORD_ONLY", None),
        ("args", "KEYWORD_ONLY", None), ("usage", "KEYWORD_ONLY", None)]
    assert _params(baton.Client.revoke) == [
        ("self", "POSITIONAL_OR_KEYWORD", E),
        ("token", "POSITIONAL_OR_KEYWORD", E)]
    for name in ("allowed", "reason", "facts"):
        assert name in baton.VerifyResult.__dataclass_fields__
    assert baton.VerifyResult.__dataclass_params__.frozen
    pytest.importorskip("fastapi")
    from baton.fastapi import require_baton
    assert _params(require_baton)[:3] == [
        ("tool", "POSITIONAL_OR_KEYWORD", E),
        ("action", "POSITIONAL_OR_KEYWORD", None),
        ("audience", "POSITIONAL_OR_KEYWORD", None)]
