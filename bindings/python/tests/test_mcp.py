"""baton.mcp.BatonTokenVerifier against a local stand-in for the MCP
Python SDK's TokenVerifier protocol and bearer backend (the SDK itself is
not installed here)."""

import asyncio
import time
from typing import List, Optional, Protocol, runtime_checkable

import pytest

import baton
from baton.mcp import AccessToken, BatonTokenVerifier


class SdkAccessToken(Protocol):
    token: str
    client_id: str
    scopes: List[str]
    expires_at: Optional[int]
    resource: Optional[str]


@runtime_checkable
class TokenVerifier(Protocol):
    """What mcp.server.auth.provider.TokenVerifier asks for."""

    async def verify_token(self, token: str) -> Optional[SdkAccessToken]:
        ...


async def bearer_backend(verifier: TokenVerifier, authorization: str):
    """The SDK's BearerAuthBackend.authenticate, reduced: None means 401."""
    if not authorization.lower().startswith("bearer "):
        return None
    info = await verifier.verify_token(authorization[7:])
    if not info:
        return None
    if info.expires_at and info.expires_at < int(time.time()):
        return None
    return info


def run(coro):
    return asyncio.run(coro)


def test_is_a_token_verifier(client):
    v = BatonTokenVerifier("db_query", "read", "mcp-db", client=client)
    assert isinstance(v, TokenVerifier)
    assert asyncio.iscoroutinefunction(v.verify_token)


def test_allowed_gives_access_token(client):
    root = client.mint(["db_query:read", "file_read"], 600,
                       as_agent="orchestrator", aud="mcp-db")
    a = client.attenuate(root, ttl=300, as_agent="worker-a")
    v = BatonTokenVerifier("db_query", "read", "mcp-db", client=client)
    info = run(bearer_backend(v, "Bearer " + a))
    assert isinstance(info, AccessToken)
    assert info.token == a
    assert info.client_id == "worker-a"
    assert sorted(info.scopes) == ["db_query", "file_read"]
    assert info.expires_at == a.exp
    assert info.resource == "mcp-db"
    assert info.result.allowed and info.result.facts["depth"] == 1
    assert a not in repr(info)


def test_wildcard_scopes(client):
    t = client.mint(["*"], 600)
    info = run(BatonTokenVerifier("x", client=client).verify_token(t))
    assert info.scopes == ["*"]


@pytest.mark.parametrize("mint,verifier", [
    (dict(tools=["file_read"]), dict()),
    (dict(tools=["db_query:write"]), dict()),
    (dict(tools=["db_query:read"], aud="other"), dict()),
    (dict(tools=["db_query:read"]), dict(tool="db_query", action="read",
                                         audience=None)),
])
def test_denied_is_none(client, mint, verifier):
    t = client.mint(mint.pop("tools"), 600, **mint)
    kw = dict(tool="db_query", action="read", audience="mcp-db")
    kw.update(verifier)
    v = BatonTokenVerifier(kw.pop("tool"), client=client, **kw)
    if verifier:        # the last case is allowed: no audience asked
        assert run(v.verify_token(t)) is not None
    else:
        assert run(v.verify_token(t)) is None


def test_not_a_token_revoked_replayed(client):
    v = BatonTokenVerifier("db_query", client=client)
    assert run(v.verify_token("junk")) is None
    t = client.mint(["db_query"], 600)
    client.revoke(t)
    assert run(v.verify_token(t)) is None
    s = client.mint(["db_query"], 600, single_use=True)
    assert run(v.verify_token(s)) is not None
    assert run(v.verify_token(s)) is None


def test_broker_down_raises(dead_socket, client):
    t = client.mint(["db_query"], 600)
    v = BatonTokenVerifier("db_query",
                           client=lambda: baton.Client(dead_socket))
    with pytest.raises(baton.BrokerUnavailable):
        run(v.verify_token(t))


def test_default_client_from_environment(client, broker, monkeypatch):
    monkeypatch.setenv("BATON_SOCKET", broker.socket)
    t = client.mint(["db_query"], 600, as_agent="orch")
    v = BatonTokenVerifier("db_query")
    assert run(v.verify_token(t)).client_id == "orch"
    assert v.client().socket_path == broker.socket
