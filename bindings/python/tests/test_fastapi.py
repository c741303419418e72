"""baton.fastapi.require_baton protecting a FastAPI app, against a real
batond: every answer the dependency can give."""

import pytest

fastapi = pytest.importorskip("fastapi")
pytest.importorskip("httpx")            # FastAPI's TestClient needs it

from fastapi import Depends, FastAPI, Request  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

import baton  # noqa: E402
from baton.fastapi import (json_args, path_args, query_args,  # noqa: E402
                           require_baton, set_default_client)


def make_app(client):
    app = FastAPI()

    @app.get("/rows")
    def rows(auth: baton.VerifyResult = Depends(require_baton(
            tool="db_query", action="read", audience="mcp-db",
            client=client))):
        return {"depth": auth.facts["depth"], "sub": auth.facts.get("sub"),
                "max_rows": auth.limit("max_rows", 10),
                "reason": auth.reason}

    @app.get("/table")
    def table(request: Request, auth: baton.VerifyResult = Depends(
            require_baton("db_query", "read", "mcp-db", client=client,
                          args=query_args))):
        assert request.state.baton is auth
        return {"table": request.query_params["table"]}

    @app.get("/table/{table}")
    def table_path(table: str, auth=Depends(require_baton(
            "db_query", "read", "mcp-db", client=lambda: client,
            args=path_args))):
        return {"table": table}

    @app.post("/mcp")
    def mcp(auth=Depends(require_baton("db_query", "read", "mcp-db",
                                       client=client, args=json_args()))):
        return {"ok": auth.allowed}

    @app.get("/default")
    def default(auth=Depends(require_baton("db_query", "read", "mcp-db"))):
        return {"ok": auth.allowed}
    return app


@pytest.fixture
def api(client):
    return TestClient(make_app(client))


@pytest.fixture
def tok(client):
    def mint(**kw):
        kw.setdefault("aud", "mcp-db")
        return client.mint(kw.pop("tools", ["db_query:read"]),
                           kw.pop("ttl", 600), **kw)
    return mint


def bearer(t):
    return {"Authorization": "Bearer " + t}


def assert_401(resp, reason, error="invalid_token"):
    assert resp.status_code == 401, resp.text
    assert resp.json()["detail"]["reason"] == reason
    www = resp.headers["www-authenticate"]
    assert www.startswith('Bearer realm="baton"')
    if error:
        assert 'error="%s"' % error in www
    else:
        assert "error=" not in www


def assert_403(resp, reason):
    assert resp.status_code == 403, resp.text
    assert resp.json()["detail"]["reason"] == reason
    assert resp.json()["detail"]["message"]
    assert 'error="insufficient_scope"' in resp.headers["www-authenticate"]


def test_allowed_hands_facts_to_endpoint(api, tok, client):
    root = tok(subject="alice", limits={"db_query.max_rows": 1000})
    a = client.attenuate(root, ttl=300, tools=["db_query:read"],
                         limits={"db_query.max_rows": 100})
    r = api.get("/rows", headers=bearer(a))
    assert r.status_code == 200, r.text
    assert r.json() == {"depth": 1, "sub": "alice", "max_rows": 100,
                        "reason": "ok"}


def test_scheme_is_case_insensitive(api, tok):
    r = api.get("/rows", headers={"Authorization": "bearer " + tok()})
    assert r.status_code == 200


def test_not_granted(api, tok):
    assert_403(api.get("/rows", headers=bearer(tok(tools=["file_read"]))),
               "tool_not_granted")
    assert_403(api.get("/rows", headers=bearer(tok(
        tools=["db_query:write"]))), "action_not_granted")


def test_expired(api, expiring):
    assert_401(api.get("/rows", headers=bearer(expiring())), "expired")


def test_revoked(api, tok, client):
    t = tok()
    assert api.get("/rows", headers=bearer(t)).status_code == 200
    client.revoke(t)
    assert_401(api.get("/rows", headers=bearer(t)), "revoked")


def test_replayed_single_use(api, tok):
    t = tok(single_use=True)
    assert api.get("/rows", headers=bearer(t)).status_code == 200
    assert_401(api.get("/rows", headers=bearer(t)), "replayed")


def test_presented_token_once(api, tok, client):
    root = tok(holder="worker-b")
    assert_403(api.get("/rows", headers=bearer(root)), "not_presented")
    p = client.present(root, tool="db_query", action="read", aud="mcp-db",
                       as_agent="worker-b")
    assert api.get("/rows", headers=bearer(p)).status_code == 200
    assert_401(api.get("/rows", headers=bearer(p)), "replayed")


def test_wrong_audience(api, tok):
    assert_401(api.get("/rows", headers=bearer(tok(aud="other-server"))),
               "audience_mismatch")


@pytest.mark.parametrize("header", [
    "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer  bt1_x",
    "Bearer bt1_x y", "bt1_x", "Bearer bt1_\u00e9".encode("latin-1"),
])
def test_malformed_header(api, header):
    r = api.get("/rows", headers={"Authorization": header})
    assert_401(r, "malformed_header", "invalid_request")


def test_two_authorization_headers(api, tok):
    t = tok()
    r = api.get("/rows", headers=[("Authorization", "Bearer " + t),
                                  ("Authorization", "Bearer " + t)])
    assert_401(r, "malformed_header", "invalid_request")


def test_missing_header(api):
    assert_401(api.get("/rows"), "missing_token", None)


@pytest.mark.parametrize("token,reason", [
    ("not-a-token", "bad_prefix"), ("bt1_AAAA", "malformed"),
])
def test_not_a_token(api, token, reason):
    assert_401(api.get("/rows", headers=bearer(token)), reason)


def test_tampered_token(api, tok):
    t = tok()
    flip = "A" if t[40] != "A" else "B"
    r = api.get("/rows", headers=bearer(t[:40] + flip + t[41:]))
    assert r.status_code == 401


def test_broker_down_is_503(dead_socket, tok):
    api = TestClient(make_app(baton.Client(dead_socket, timeout=1)))
    r = api.get("/rows", headers=bearer(tok()))
    assert r.status_code == 503, r.text
    assert r.json()["detail"]["reason"] == "broker_unavailable"
    # the socket path stays in the server's log, not in the answer
    assert dead_socket not in r.text


def test_broker_stops_mid_life(own_broker):
    c = baton.Client(own_broker.socket)
    t = c.mint(["db_query:read"], 600, aud="mcp-db")
    api = TestClient(make_app(c))
    assert api.get("/rows", headers=bearer(t)).status_code == 200
    own_broker.stop()
    assert api.get("/rows", headers=bearer(t)).status_code == 503
    c.close()


def test_query_arguments(api, tok):
    t = tok(where={"db_query.table": "in:orders,users"})
    r = api.get("/table", params={"table": "orders"}, headers=bearer(t))
    assert r.status_code == 200 and r.json() == {"table": "orders"}
    assert_403(api.get("/table", params={"table": "secrets"},
                       headers=bearer(t)), "argument_rejected")
    # an absent argument fails its constraint
    assert_403(api.get("/table", headers=bearer(t)), "argument_rejected")
    # the endpoint must not read a value the token never saw
    r = api.get("/table?table=orders&table=secrets", headers=bearer(t))
    assert r.status_code == 400
    assert r.json()["detail"]["reason"] == "duplicate_argument"


def test_query_arguments_are_typed(api, tok):
    t = tok(where={"db_query.table": "range:1..5"})
    assert api.get("/table?table=3", headers=bearer(t)).status_code == 200
    assert_403(api.get("/table?table=7", headers=bearer(t)),
               "argument_rejected")


def test_path_arguments(api, tok):
    t = tok(where={"db_query.table": "prefix:pub_"})
    assert api.get("/table/pub_orders", headers=bearer(t)).status_code == 200
    assert_403(api.get("/table/secrets", headers=bearer(t)),
               "argument_rejected")


def test_json_arguments(api, tok):
    t = tok(where={"db_query.table": "eq:orders", "db_query.n": "range:1..9"})
    call = {"method": "tools/call",
            "params": {"name": "db_query",
                       "arguments": {"table": "orders", "n": 5}}}
    assert api.post("/mcp", json=call, headers=bearer(t)).status_code == 200
    call["params"]["arguments"]["n"] = 50
    assert_403(api.post("/mcp", json=call, headers=bearer(t)),
               "argument_rejected")
    # a list where a scalar was constrained is left out, so it fails
    call["params"]["arguments"]["n"] = [5]
    assert_403(api.post("/mcp", json=call, headers=bearer(t)),
               "argument_rejected")
    r = api.post("/mcp", content=b"{not json", headers=bearer(t))
    assert_403(r, "argument_rejected")


def test_default_client_from_environment(api, tok, broker, monkeypatch,
                                         dead_socket):
    monkeypatch.setenv("BATON_SOCKET", broker.socket)
    set_default_client(None)
    try:
        assert api.get("/default", headers=bearer(tok())).status_code == 200
        set_default_client(baton.Client(dead_socket))
        assert api.get("/default", headers=bearer(tok())).status_code == 503
    finally:
        set_default_client(None)


def test_openapi_declares_bearer(api):
    doc = api.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["baton"]["scheme"] == \
        "bearer"
    assert doc["paths"]["/rows"]["get"]["security"] == [{"baton": []}]


def test_tool_is_required():
    with pytest.raises(TypeError):
        require_baton("")
