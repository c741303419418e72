"""baton: delegation tokens for AI agents, checked by the batond broker.

This package binds libbaton-agent and libbaton-verify through ctypes: the
keys stay in batond, and every token rule is the C libraries' own.  An
orchestrator mints and delegates; a tool server verifies::

    import baton

    with baton.Client() as c:              # BATON_SOCKET, or the default
        root = c.mint(["db_query:read", "file_read"], 3600,
                      as_agent="orchestrator", subject="alice",
                      limits={"db_query.max_rows": 1000})
        worker = c.attenuate(root, tools=["db_query:read"], ttl=1800,
                             limits={"db_query.max_rows": 100})
        r = c.verify(worker, "db_query", action="read", aud="mcp-db",
                     args={"table": "orders"}, usage={"max_rows": 50})
        print(r.allowed, r.reason, r.facts["depth"], r.limit("max_rows"))

Names:

- :class:`Client` (``mint``, ``attenuate``, ``present``, ``verify``,
  ``revoke``, ``revoke_jti``, ``inspect``, ``pubkeys``, ``status``);
- :class:`VerifyResult` (``allowed``, ``reason``, ``facts``; false in a
  boolean context when denied), :class:`Token` (a str with ``jti`` and
  ``exp``), :class:`Inspection`;
- :func:`verify_offline` with a :class:`KeyBundle`, :func:`inspect`;
- exceptions under :class:`Error`: :class:`BrokerUnavailable`
  (:class:`Timeout`, :class:`ProtocolError`), :class:`Denied`,
  :class:`InvalidRequest` (:class:`TooBig`), :class:`Malformed`,
  :class:`PermissionDenied`, :class:`NoKey`, :class:`OutOfMemory`,
  :class:`SystemCallError`, :class:`LibraryNotFound`;
- :mod:`baton.fastapi`: ``Depends(require_baton(tool, action, audience))``;
- :mod:`baton.mcp`: :class:`baton.mcp.BatonTokenVerifier`, shaped like the
  MCP Python SDK's TokenVerifier.

The libraries are found through ``BATON_LIBDIR`` (a directory), else the
dynamic loader (sonames libbaton-agent.so.0, libbaton-verify.so.0), else
``pkg-config``; each loads on first use and a missing one raises
:class:`LibraryNotFound` naming what to install.  See libbaton-agent(3)
and libbaton-verify(3) for the semantics behind every call.
"""

from .client import (Client, Inspection, KeyBundle, Token, VerifyResult,
                     default_socket, inspect, reason_text, verify_offline,
                     version)
from .errors import (BrokerUnavailable, Denied, Error, InvalidRequest,
                     LibraryNotFound, Malformed, NoKey, OutOfMemory,
                     PermissionDenied, ProtocolError, SystemCallError,
                     Timeout, TooBig)

__version__ = "0.1.0"

__all__ = [
    "Client", "Inspection", "KeyBundle", "Token", "VerifyResult",
    "default_socket", "inspect", "reason_text", "verify_offline", "version",
    "Error", "BrokerUnavailable", "Timeout", "ProtocolError", "Denied",
    "InvalidRequest", "TooBig", "Malformed", "PermissionDenied", "NoKey",
    "OutOfMemory", "SystemCallError", "LibraryNotFound",
]
