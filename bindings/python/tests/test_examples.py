"""examples/python: the delegation story and its FastAPI tool server,
run against a real batond."""

import importlib.util
import os
import subprocess
import sys

import pytest

import baton
from conftest import TOP_SRCDIR

EXAMPLES = TOP_SRCDIR / "examples" / "python"


def test_delegation_script(broker):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    # the baton under test, wherever pytest found it
    pkg = os.path.dirname(os.path.dirname(baton.__file__))
    path = os.pathsep.join(filter(None, [pkg, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, BATON_SOCKET=broker.socket, PYTHONPATH=path,
               PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([sys.executable, str(EXAMPLES / "delegation.py")],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    for want in ("mint by orchestrator for root",
                 "attenuate by worker-a", "effective: depth 2",
                 "verify: ok", '"depth": 2', '"limits": {"max_rows": 100}',
                 "file_read with B's token: tool_not_granted",
                 "widening refused: widen_limit",
                 'POST /mcp with B\'s token: 200',
                 '"rows": 100', "POST /mcp without a token: 401"):
        assert want in out, (want, out)
    assert "bt1_" not in out        # tokens are never printed


@pytest.fixture
def server(broker, monkeypatch):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from baton.fastapi import set_default_client
    monkeypatch.setenv("BATON_SOCKET", broker.socket)
    set_default_client(None)
    spec = importlib.util.spec_from_file_location(
        "baton_example_server", EXAMPLES / "server.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    yield mod
    set_default_client(None)


def test_server_serves_within_the_limit(server, client):
    from fastapi.testclient import TestClient
    sys.path.insert(0, str(EXAMPLES))
    try:
        import delegation
    finally:
        sys.path.remove(str(EXAMPLES))
    t = delegation.delegate(client)
    http = TestClient(server.app)

    def call(token, rows):
        body = {"method": "tools/call", "params": {
            "name": "db_query", "arguments": {"table": "t", "rows": rows}}}
        return http.post("/mcp", json=body,
                         headers={"Authorization": "Bearer " + token})
    r = call(t["b"], 500)
    assert r.status_code == 200
    assert r.json() == {"depth": 2, "subject": "root",
                        "chain": ["orchestrator", "orchestrator",
                                  "worker-a"],
                        "rows": 100, "max_rows": 100}
    assert call(t["b"], 7).json()["rows"] == 7
    # the root token allows 1000 rows
    assert call(t["root"], 5000).json()["max_rows"] == 1000
    client.revoke(t["a"])
    r = call(t["b"], 5)
    assert r.status_code == 401 and r.json()["detail"]["reason"] == "revoked"
    assert call(t["root"], 5).status_code == 200
    other = client.mint(["db_query:read"], 60, aud="another-server")
    assert call(other, 5).status_code == 401
