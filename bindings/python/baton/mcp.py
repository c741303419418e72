"""A token verifier for MCP servers built on the MCP Python SDK.

The SDK's HTTP transports authenticate bearer tokens through an object
with the TokenVerifier protocol: ``async def verify_token(token) ->
AccessToken | None``.  :class:`BatonTokenVerifier` is such an object::

    from mcp.server.fastmcp import FastMCP
    from mcp.server.auth.settings import AuthSettings
    from baton.mcp import BatonTokenVerifier

    mcp = FastMCP("db", token_verifier=BatonTokenVerifier(
                      tool="db_query", action="read", audience="mcp-db"),
                  auth=AuthSettings(...))

Each call asks the broker (in a worker thread) whether the token allows
``tool`` / ``action`` for ``audience``.  Allowed: an access token with the
token, ``client_id`` (the agent that wrote the token's last block, i.e.
the one presenting it), ``scopes`` (the granted tool names, ``["*"]`` for
a wildcard token), ``expires_at`` (the effective expiry) and ``resource``
(the audience).  Denied: None, which the SDK answers with 401.  No
decision (broker down): :class:`baton.BrokerUnavailable` is raised rather
than calling a good token bad; the request fails, closed.

The SDK verifies a token once per HTTP request, before the tool is known;
so ``tool`` is the one tool the server guards.  A server with several
tools verifies each call itself with :meth:`baton.Client.verify`.  A
single-use (presented) token is spent by this check.

When the SDK is installed, its own ``AccessToken`` model is returned;
otherwise :class:`AccessToken`, a dataclass with the same fields.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Union

from .client import Client, VerifyResult

__all__ = ["AccessToken", "BatonTokenVerifier"]


@dataclass(frozen=True)
class AccessToken:
    """The fields of the MCP SDK's AccessToken, and the baton decision."""

    token: str
    client_id: str
    scopes: List[str]
    expires_at: Optional[int] = None
    resource: Optional[str] = None
    result: Optional[VerifyResult] = field(default=None, repr=False)

    def __repr__(self) -> str:  # never the token text
        return ("AccessToken(client_id=%r, scopes=%r, expires_at=%r, "
                "resource=%r)" % (self.client_id, self.scopes,
                                  self.expires_at, self.resource))


def _sdk_access_token() -> Optional[Callable[..., Any]]:
    try:
        from mcp.server.auth.provider import AccessToken as SdkAccessToken
    except ImportError:
        return None
    return SdkAccessToken


class BatonTokenVerifier:
    """A TokenVerifier (MCP Python SDK protocol) that asks batond.

    ``tool``, ``action``, ``audience``: the call every token must allow.
    ``client``: a :class:`baton.Client` or a function returning one
    (default: a Client from ``BATON_SOCKET``, made on first use).
    """

    def __init__(self, tool: str, action: Optional[str] = None,
                 audience: Optional[str] = None, *,
                 client: Union[Client, Callable[[], Client], None] = None
                 ) -> None:
        if not isinstance(tool, str) or not tool:
            raise TypeError("tool must be a non-empty str")
        self.tool = tool
        self.action = action
        self.audience = audience
        self._client = client
        self._made: Optional[Client] = None

    def client(self) -> Client:
        """The client verifications go through."""
        if isinstance(self._client, Client):
            return self._client
        if self._client is not None:
            return self._client()
        if self._made is None:
            self._made = Client()
        return self._made

    def decide(self, token: str) -> VerifyResult:
        """The broker's decision on ``token`` (blocking)."""
        return self.client().verify(token, self.tool, action=self.action,
                                    aud=self.audience)

    async def verify_token(self, token: str) -> Any:
        """The access token when ``token`` allows the guarded call, else
        None.  Raises baton.BrokerUnavailable when there is no decision."""
        r = await asyncio.get_running_loop().run_in_executor(
            None, self.decide, token)
        if not r.allowed:
            return None
        f = r.facts
        delegators = f.get("delegators") or []
        client_id = delegators[-1] if delegators else (f.get("iss") or "")
        scopes = ["*"] if f.get("wildcard") else list(f.get("tools") or [])
        exp = f.get("exp")
        fields = dict(token=token, client_id=client_id, scopes=scopes,
                      expires_at=exp if isinstance(exp, int) else None,
                      resource=self.audience)
        sdk = _sdk_access_token()
        if sdk is not None:
            return sdk(**fields)
        return AccessToken(result=r, **fields)
