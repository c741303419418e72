"""FastAPI integration: protect an endpoint with a baton token.

::

    from fastapi import Depends, FastAPI
    import baton
    from baton.fastapi import require_baton

    app = FastAPI()

    @app.post("/mcp")
    def db_query(auth: baton.VerifyResult = Depends(
            require_baton(tool="db_query", action="read",
                          audience="mcp-db"))):
        return {"depth": auth.facts["depth"], "subject": auth.facts["sub"],
                "max_rows": auth.limit("max_rows", 10)}

The dependency reads ``Authorization: Bearer bt1_...``, asks the broker
(in a worker thread, since the call blocks) whether the token allows
``tool`` / ``action`` for ``audience`` with the request's arguments when
``args=`` says where they are, and hands the allowed
:class:`baton.VerifyResult` to the endpoint (also as
``request.state.baton``).  Otherwise it raises FastAPI's HTTPException, so
the answer has FastAPI's usual shape, ``{"detail": {"reason": NAME,
"message": TEXT}}``:

====  =====================================================================
401   no Authorization header (``missing_token``), not ``Bearer TOKEN``
      (``malformed_header``, ``error="invalid_request"``), or a token that
      is no good here: malformed, bad signature, expired, not yet valid,
      revoked, replayed (single use), for another audience...
      (``error="invalid_token"``); always with ``WWW-Authenticate: Bearer``
403   a valid token that does not allow this call: tool_not_granted,
      action_not_granted, argument_rejected, limit_exceeded,
      not_presented, holder_mismatch, policy_denied, identity_denied
      (``error="insufficient_scope"``)
429   rate_limited
503   no decision: the broker is down, timed out, or failed closed
500   the verifier itself is misconfigured (e.g. this service may not
      verify for that audience); logged on the ``baton.fastapi`` logger
====  =====================================================================

Never 200 without an allow from the broker.  The broker is reached
through ``client=`` (a :class:`baton.Client`, or a callable returning
one), else a shared client made on first use from ``BATON_SOCKET``
(see :func:`set_default_client`).
"""

import inspect as _inspect
import json
import logging
import re
import threading
from typing import (Any, Awaitable, Callable, Dict, Mapping, Optional,
                    Union)

from fastapi import HTTPException, Request
from fastapi.openapi.models import HTTPBearer as _HTTPBearerModel
from fastapi.security.base import SecurityBase
from starlette.concurrency import run_in_threadpool

from .client import Client, VerifyResult
from .errors import BrokerUnavailable, Error

__all__ = ["require_baton", "BatonBearer", "query_args", "path_args",
           "json_args", "set_default_client", "default_client"]

log = logging.getLogger("baton.fastapi")

ArgsSource = Callable[[Request],
                      Union[Mapping[str, Any], Awaitable[Mapping[str, Any]]]]
ClientSource = Union[Client, Callable[[], Client], None]

# RFC 6750 b64token
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_INT = re.compile(r"-?[0-9]+")

# A valid token that does not allow this call: 403.
_FORBIDDEN = frozenset({
    "tool_not_granted", "action_not_granted", "argument_rejected",
    "limit_exceeded", "not_presented", "holder_mismatch", "policy_denied",
    "identity_denied",
})

_default_lock = threading.Lock()
_default: Optional[Client] = None


def set_default_client(client: Optional[Client]) -> None:
    """Set the client that dependencies made without ``client=`` use
    (None: make a new one from ``BATON_SOCKET`` on next use)."""
    global _default
    with _default_lock:
        _default = client


def default_client() -> Client:
    """The shared default client, made on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Client()
        return _default


def _typed(v: Any) -> Any:
    """A request value typed as ``baton verify --arg K=V`` types it: a
    decimal integer is an int, "true"/"false" a bool, else a str."""
    if isinstance(v, (bool, int)):
        return v
    v = str(v)
    if _INT.fullmatch(v) and -2**63 <= int(v) < 2**63:
        return int(v)
    if v in ("true", "false"):
        return v == "true"
    return v


def query_args(request: Request) -> Dict[str, Any]:
    """The query parameters as call arguments.  A parameter given twice
    is refused (400): the endpoint might read the other value."""
    out: Dict[str, Any] = {}
    for k, v in request.query_params.multi_items():
        if k in out:
            raise HTTPException(400, detail={
                "reason": "duplicate_argument",
                "message": "query parameter %r given more than once" % k})
        out[k] = _typed(v)
    return out


def path_args(request: Request) -> Dict[str, Any]:
    """The path parameters as call arguments."""
    return {k: _typed(v) for k, v in request.path_params.items()}


def json_args(*path: str) -> Callable[[Request], Awaitable[Dict[str, Any]]]:
    """Call arguments from the JSON body, at ``path`` inside it; with no
    path, ``params.arguments`` as in an MCP ``tools/call``.  Strings, ints
    and bools are passed on; other values, and a body that is not JSON,
    are left out, so a constraint on them fails (argument_rejected)."""
    keys = path or ("params", "arguments")

    async def read(request: Request) -> Dict[str, Any]:
        try:
            doc: Any = json.loads(await request.body())
        except ValueError:
            return {}
        for k in keys:
            doc = doc.get(k) if isinstance(doc, dict) else None
        if not isinstance(doc, dict):
            return {}
        return {k: v for k, v in doc.items()
                if isinstance(k, str) and isinstance(v, (str, int, bool))}
    return read


def _unauthorized(reason: str, message: str,
                  error: Optional[str] = None) -> HTTPException:
    challenge = 'Bearer realm="baton"'
    if error is not None:
        challenge += ', error="%s", error_description="%s"' % (error, reason)
    return HTTPException(401, detail={"reason": reason, "message": message},
                         headers={"WWW-Authenticate": challenge})


class BatonBearer(SecurityBase):
    """The dependency :func:`require_baton` returns.  A FastAPI security
    scheme, so the OpenAPI document shows the endpoint wants a bearer
    token."""

    def __init__(self, tool: str, action: Optional[str] = None,
                 audience: Optional[str] = None, *,
                 client: ClientSource = None,
                 args: Optional[ArgsSource] = None) -> None:
        if not isinstance(tool, str) or not tool:
            raise TypeError("tool must be a non-empty str")
        self.tool = tool
        self.action = action
        self.audience = audience
        self.client = client
        self.args = args
        self.model = _HTTPBearerModel(
            bearerFormat="baton",
            description="a baton token (bt1_...) for tool %s" % tool)
        self.scheme_name = "baton"

    def _client(self) -> Client:
        if self.client is None:
            return default_client()
        if isinstance(self.client, Client):
            return self.client
        return self.client()

    async def __call__(self, request: Request) -> VerifyResult:
        values = request.headers.getlist("authorization")
        if not values:
            raise _unauthorized("missing_token",
                                "an Authorization: Bearer token is required")
        scheme, sep, token = values[0].partition(" ")
        if len(values) > 1 or scheme.lower() != "bearer" or not sep or \
                not _B64TOKEN.fullmatch(token):
            raise _unauthorized("malformed_header",
                                "want Authorization: Bearer TOKEN",
                                "invalid_request")
        args: Optional[Mapping[str, Any]] = None
        if self.args is not None:
            got = self.args(request)
            args = await got if _inspect.isawaitable(got) else got
        try:
            client = self._client()
            r = await run_in_threadpool(
                client.verify, token, self.tool, action=self.action,
                aud=self.audience, args=args)
        except BrokerUnavailable as e:
            log.error("baton: no decision for %s: %s", self.tool, e)
            raise HTTPException(503, detail={
                "reason": "broker_unavailable",
                "message": "the authorization broker is unavailable"},
                headers={"Retry-After": "1"})
        except Error as e:
            log.error("baton: cannot verify for %s: %s", self.tool, e)
            raise HTTPException(500, detail={
                "reason": "verifier_error",
                "message": "the token could not be verified"})
        if r.allowed:
            request.state.baton = r
            return r
        msg = r.reason_text
        if r.reason in _FORBIDDEN:
            raise HTTPException(403, detail={"reason": r.reason,
                                             "message": msg},
                                headers={"WWW-Authenticate":
                                         'Bearer realm="baton", '
                                         'error="insufficient_scope", '
                                         'error_description="%s"'
                                         % r.reason})
        if r.reason == "rate_limited":
            raise HTTPException(429, detail={"reason": r.reason,
                                             "message": msg})
        if r.reason == "unavailable":
            raise HTTPException(503, detail={"reason": r.reason,
                                             "message": msg})
        raise _unauthorized(r.reason, msg, "invalid_token")


def require_baton(tool: str, action: Optional[str] = None,
                  audience: Optional[str] = None, *,
                  client: ClientSource = None,
                  args: Optional[ArgsSource] = None) -> BatonBearer:
    """A FastAPI dependency that lets a request through only when its
    bearer token allows calling ``tool`` (with ``action``, as the service
    ``audience``), and returns the :class:`baton.VerifyResult`.

    ``args``: where the call's arguments are, checked against the token's
    argument constraints: :func:`query_args`, :func:`path_args`,
    ``json_args("params", "arguments")``, or any function of the Request
    (may be async) returning a dict.  ``client``: a :class:`baton.Client`
    or a function returning one; default: :func:`default_client`.
    """
    return BatonBearer(tool, action, audience, client=client, args=args)
