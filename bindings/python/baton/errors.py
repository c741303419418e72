"""The exceptions of the baton binding, one per BATON_E* code.

Every failure of a call raises a subclass of :class:`baton.Error`; no
failure ever turns into an allow.  A verification that the broker answers
with "deny" is not an exception: :meth:`baton.Client.verify` returns a
:class:`baton.VerifyResult` whose ``allowed`` is False.
"""

from __future__ import annotations

from typing import Optional


class Error(Exception):
    """Base of every baton error.

    ``code`` is the library's negative BATON_E* code (0 for errors found in
    Python before any call), ``reason`` the decision reason name when the
    broker refused ("widen_tool", "identity_denied", ...), else None.
    """

    def __init__(self, message: str, code: int = 0,
                 reason: Optional[str] = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class LibraryNotFound(Error, ImportError):
    """libbaton-agent or libbaton-verify could not be loaded."""


class BrokerUnavailable(Error):
    """No decision could be had from the broker: it is not running, not
    answering, or the connection broke after the request went out
    (BATON_EUNAVAIL).  Treat as a denial; a tool server answers 503."""


class Timeout(BrokerUnavailable):
    """The broker did not answer within the client's timeout
    (BATON_ETIMEOUT)."""


class ProtocolError(BrokerUnavailable):
    """The peer is not a compatible baton broker (BATON_EPROTO)."""


class Denied(Error):
    """The broker refused a mint, attenuate, present or revoke
    (BATON_EDENIED); ``reason`` names why, e.g. "ttl_too_long"."""


class InvalidRequest(Error, ValueError):
    """An argument is invalid, or the broker found the request malformed
    (BATON_EINVAL)."""


class TooBig(InvalidRequest):
    """The request is over the 64 KiB frame limit (BATON_ETOOBIG)."""


class Malformed(Error, ValueError):
    """A token, key bundle or answer is malformed (BATON_EMALFORMED);
    ``reason`` names the defect when known, e.g. "bad_prefix"."""


class PermissionDenied(Error):
    """The caller may not use this operation (BATON_EPERM), e.g. verify
    for an audience it does not serve, or revoke by jti without admin
    rights."""


class NoKey(Error):
    """A key bundle holds no usable key (BATON_ENOKEY)."""


class OutOfMemory(Error, MemoryError):
    """The library ran out of memory (BATON_ENOMEM)."""


class SystemCallError(Error, OSError):
    """A system call failed, e.g. reading a file (BATON_EIO)."""
