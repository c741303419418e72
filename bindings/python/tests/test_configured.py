"""The refusals only a configured broker gives: an agents map that lets
this uid act only as "orchestrator" and verify only for "mcp-db"."""

import pytest

import baton


@pytest.fixture
def c(configured_broker):
    with baton.Client(configured_broker.socket) as cl:
        yield cl


def test_mint_as_another_agent_is_denied(c):
    with pytest.raises(baton.Denied) as ei:
        c.mint(["db_query"], 60, as_agent="worker-x")
    assert ei.value.reason == "identity_denied"
    assert "identity_denied" in str(ei.value)


def test_attenuate_as_another_agent_is_denied(c):
    t = c.mint(["db_query"], 60, as_agent="orchestrator")
    with pytest.raises(baton.Denied) as ei:
        c.attenuate(t, as_agent="worker-x")
    assert ei.value.reason == "identity_denied"


def test_verify_for_a_foreign_audience_is_not_permitted(c):
    t = c.mint(["db_query"], 60, aud=["mcp-db", "other"])
    assert c.verify(t, "db_query", aud="mcp-db").allowed
    with pytest.raises(baton.PermissionDenied):
        c.verify(t, "db_query", aud="other")


def test_fastapi_answers_500_when_it_may_not_verify(c):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient
    from baton.fastapi import require_baton

    app = FastAPI()

    @app.get("/mine")
    def mine(auth=Depends(require_baton("db_query", audience="mcp-db",
                                        client=c))):
        return {"ok": True}

    @app.get("/theirs")
    def theirs(auth=Depends(require_baton("db_query", audience="other",
                                          client=c))):
        return {"ok": True}
    t = c.mint(["db_query"], 60, aud=["mcp-db", "other"])
    http = TestClient(app)
    h = {"Authorization": "Bearer " + t}
    assert http.get("/mine", headers=h).status_code == 200
    r = http.get("/theirs", headers=h)
    assert r.status_code == 500
    assert r.json()["detail"]["reason"] == "verifier_error"
