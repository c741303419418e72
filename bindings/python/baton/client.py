"""The broker client, verification results and offline helpers.

Everything here calls libbaton-agent (mint, attenuate, present, revoke,
pubkeys, status, inspect) or libbaton-verify (verify, verify_offline)
through ctypes; no token rule is implemented in Python.
"""

from __future__ import annotations

import json
import math
import os
import threading
import weakref
from ctypes import byref, c_int, c_void_p, string_at
from dataclasses import dataclass, field
from typing import (Any, Callable, Dict, Iterable, List, Mapping, Optional,
                    Tuple, TypeVar, Union)

from . import _native as N
from .errors import (Denied, Error, BrokerUnavailable, InvalidRequest,
                     Malformed, NoKey, OutOfMemory, PermissionDenied,
                     ProtocolError, SystemCallError, Timeout, TooBig)

__all__ = ["Client", "Token", "VerifyResult", "Inspection", "KeyBundle",
           "verify_offline", "inspect", "default_socket", "version",
           "reason_text"]

ArgValue = Union[str, int, bool]
Tools = Union[str, Iterable[str]]
KeysLike = Union["KeyBundle", Mapping[str, Any], str, bytes, "os.PathLike[str]"]

_CLIENT_NAME = b"baton-python"
_INT_MAX = 2**31 - 1
_U64_MAX = 2**64 - 1
_I64_MIN, _I64_MAX = -2**63, 2**63 - 1

_CODE_CLASS = {
    N.ENOMEM: OutOfMemory,
    N.EINVAL: InvalidRequest,
    N.EMALFORMED: Malformed,
    N.EDENIED: Denied,
    N.EIO: SystemCallError,
    N.ETIMEOUT: Timeout,
    N.EUNAVAIL: BrokerUnavailable,
    N.EPROTO: ProtocolError,
    N.ETOOBIG: TooBig,
    N.ENOKEY: NoKey,
    N.EPERM: PermissionDenied,
}


def _error(lib, code: int, what: str, handle=None,
           reason: Optional[int] = None) -> Error:
    """The exception for a failed call; the broker's explanation and the
    decision reason come from the handle when there is one."""
    detail = None
    rname = None
    if handle is not None:
        detail = N.text(lib.baton_client_last_error(handle))
    msg = "%s: %s" % (what, detail or N.text(lib.baton_strerror(code)))
    if handle is not None:
        if code == N.EDENIED and reason is None:
            reason = lib.baton_client_last_reason(handle)
    if reason is not None and reason != 0:
        rname = N.text(lib.baton_reason_name(reason))
        if rname and rname not in msg:
            msg += " (%s)" % rname
    return _CODE_CLASS.get(code, Error)(msg, code, rname)


def _b(value: Any, what: str) -> bytes:
    """A Python string as the NUL-terminated UTF-8 the C API wants.

    An embedded NUL would silently cut the string short in C ("db\\0x"
    would become "db"), so it is refused here.
    """
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise TypeError("%s must be a str, not %s"
                        % (what, type(value).__name__))
    if "\0" in value:
        raise InvalidRequest("%s contains a NUL character" % what)
    return value.encode("utf-8")


def _ob(value: Any, what: str) -> Optional[bytes]:
    return None if value is None else _b(value, what)


def _uint(value: Any, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s"
                        % (what, type(value).__name__))
    if not lo <= value <= hi:
        raise InvalidRequest("%s must be in %d..%d, not %d"
                             % (what, lo, hi, value))
    return value


def _strs(value: Union[None, str, Iterable[str]], what: str) -> List[str]:
    """One string or an iterable of them (never a str's characters)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    out = list(value)
    for v in out:
        if not isinstance(v, str):
            raise TypeError("%s must hold strs, not %s"
                            % (what, type(v).__name__))
    return out


def _split_dotted(key: Any, what: str) -> Tuple[str, str]:
    """"TOOL.NAME" -> (TOOL, NAME): the name is after the last dot, as the
    CLI's --limit and --where read it."""
    if not isinstance(key, str):
        raise TypeError("%s keys must be strs" % what)
    tool, dot, name = key.rpartition(".")
    if not dot or not tool or not name:
        raise InvalidRequest("bad %s key %r: want TOOL.NAME, e.g. "
                             "db_query.max_rows" % (what, key))
    return tool, name


class Token(str):
    """A token the broker issued: the ``bt1_...`` text itself (a str), with
    the new block's ``jti`` (32 hex digits) and ``exp`` (unix seconds).

    Its repr shows the jti, never the secret text, so a token that ends
    up in a log or a traceback through repr() does not leak.
    """

    jti: str
    exp: int

    def __new__(cls, text: str, jti: str, exp: int) -> "Token":
        t = super().__new__(cls, text)
        t.jti = jti
        t.exp = exp
        return t

    def __getnewargs__(self) -> Tuple[str, str, int]:  # type: ignore
        # pickle and copy: a token handed to a worker process keeps its
        # jti and exp
        return (str(self), self.jti, self.exp)

    def __repr__(self) -> str:
        return "<baton.Token jti=%s exp=%d>" % (self.jti, self.exp)


@dataclass(frozen=True)
class VerifyResult:
    """A decision: ``allowed``, the stable ``reason`` name ("ok" when
    allowed, else e.g. "expired", "tool_not_granted"), its number
    ``reason_code``, and the token's effective ``facts`` as the broker
    computed them: ``tools``, ``wildcard``, ``actions``, ``limits`` of the
    requested tool, ``depth``, ``iss``, ``sub``, ``aud``, ``exp``,
    ``delegators`` and ``jtis`` (the chain from the root), ``ctx``...

    The facts of a denied result are for diagnostics only.  ``bool(result)``
    is ``result.allowed``, so ``if client.verify(...):`` means what it says.
    """

    allowed: bool
    reason: str
    facts: Dict[str, Any] = field(default_factory=dict)
    reason_code: int = 0

    def __bool__(self) -> bool:
        return self.allowed

    def limit(self, name: str, default: Optional[int] = None) -> Optional[int]:
        """The effective limit ``name`` of the requested tool (the minimum
        over the chain, e.g. ``limit("max_rows")``), or ``default`` when the
        token sets none.  The tool server enforces it."""
        v = (self.facts.get("limits") or {}).get(name)
        return v if isinstance(v, int) else default

    @property
    def reason_text(self) -> str:
        """The reason as an English sentence."""
        return reason_text(self.reason_code)


@dataclass(frozen=True)
class Inspection:
    """A token decoded WITHOUT any signature check, for showing a chain to
    a person, never for a decision: the key id ``kid``, the ``blocks`` (one
    dict per block: kind, jti, iat, exp, iss or delegator, grants...), the
    ``effective`` grant, and ``tree``, a readable rendering."""

    kid: str
    blocks: Tuple[Dict[str, Any], ...]
    effective: Dict[str, Any]
    tree: str


def default_socket() -> str:
    """The broker socket libbaton was built to use when neither the
    argument nor ``BATON_SOCKET`` names one."""
    return N.text(N.load("agent").baton_default_socket()) or ""


def version() -> str:
    """The version of the loaded libbaton-agent, e.g. "0.1.0"."""
    return N.text(N.load("agent").baton_version()) or ""


def reason_text(code: int) -> str:
    """A one-line English description of a decision reason number."""
    return N.text(N.load("verify").baton_reason_text(int(code))) or ""


def _take_string(lib, p: c_void_p) -> str:
    """Copy and free a string the library allocated."""
    try:
        return string_at(p.value).decode("utf-8")
    finally:
        lib.baton_string_free(p)


def _issued(lib, p: c_void_p) -> Token:
    try:
        return Token(N.text(lib.baton_issued_token(p)) or "",
                     N.text(lib.baton_issued_jti(p)) or "",
                     int(lib.baton_issued_exp(p)))
    finally:
        lib.baton_issued_free(p)


class _GrantSet:
    """A baton_grantset built from the Python arguments; a context manager
    that frees it.  ``ptr`` is None when nothing was asked for (attenuate
    then inherits everything)."""

    def __init__(self, lib, *, tools, limits, where, aud, ctx,
                 mint: bool) -> None:
        self.lib = lib
        self.ptr: Optional[c_void_p] = None
        tools_l = _strs(tools, "tools")
        auds = _strs(aud, "aud")
        limits = dict(limits or {})
        where = dict(where or {})
        ctx = dict(ctx or {})
        if mint and not tools_l:
            raise InvalidRequest("mint needs at least one tool")
        if not (tools_l or auds or limits or where or ctx):
            return
        names = []
        specs = []
        for spec in tools_l:
            name, colon, actions = spec.partition(":")
            names.append(name)
            specs.append((name, actions if colon else None, spec))
        if "*" in names and len(names) > 1:
            raise InvalidRequest("tool '*' grants every tool: name no "
                                 "other tool with it")
        # The library adds a tool that a limit or a where names when no
        # tool did, with any action: limits={"shell.max_calls": 1} would
        # silently grant all of shell.  The CLI refuses that; so does this.
        lim = [(_split_dotted(k, "limits"), v) for k, v in limits.items()]
        whr = [(_split_dotted(k, "where"), v) for k, v in where.items()]
        for (tool, _), _v in lim + whr:
            if tool not in names:
                raise InvalidRequest(
                    "limits or where name tool %r, which tools does not "
                    "grant: add it to tools" % tool)
        p = c_void_p()
        self._check(lib.baton_grantset_new(byref(p)), "grant set")
        self.ptr = p
        try:
            for name, actions, spec in specs:
                self._check(lib.baton_grantset_add_tool(
                    p, _b(name, "tool"), _ob(actions, "actions")),
                    "bad tool %r: want NAME or NAME:ACTION,... (lowercase "
                    "actions)" % spec)
            for (tool, name), v in lim:
                v = _uint(v, "limit %s.%s" % (tool, name), 0, _U64_MAX)
                self._check(lib.baton_grantset_add_limit(
                    p, _b(tool, "tool"), _b(name, "limit name"), v),
                    "bad limit %s.%s" % (tool, name))
            for (tool, arg), preds in whr:
                for pred in _strs(preds, "where predicates"):
                    self._check(lib.baton_grantset_add_where(
                        p, _b(tool, "tool"), _b(arg, "argument"),
                        _b(pred, "predicate")),
                        "bad where %s.%s=%s: a predicate is eq:V, in:A,B,"
                        " prefix:P, glob:G, range:LO..HI or maxlen:N"
                        % (tool, arg, pred))
            for a in auds:
                self._check(lib.baton_grantset_add_audience(
                    p, _b(a, "aud")), "bad audience %r" % a)
            for k, v in ctx.items():
                self._check(lib.baton_grantset_add_ctx(
                    p, _b(k, "ctx key"), _b(v, "ctx value")),
                    "bad ctx %r" % k)
        except BaseException:
            self.close()
            raise

    def _check(self, rc: int, what: str) -> None:
        if rc != 0:
            raise _error(self.lib, rc, what)

    def close(self) -> None:
        if self.ptr is not None:
            self.lib.baton_grantset_free(self.ptr)
            self.ptr = None

    def __enter__(self) -> "_GrantSet":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _verify_opts(tool, action, aud, args, usage, now=0, leeway=0):
    """struct baton_verify_opts, and the objects it points into."""
    keep: List[Any] = []
    arr = None
    items = list((args or {}).items())
    if items:
        arr = (N.CallArg * len(items))()
        for i, (k, v) in enumerate(items):
            a = arr[i]
            a.name = _b(k, "argument name")
            if isinstance(v, bool):
                a.type, a.num = N.ARG_BOOL, int(v)
            elif isinstance(v, int):
                a.type = N.ARG_INT
                a.num = _uint(v, "argument %s" % k, _I64_MIN, _I64_MAX)
            elif isinstance(v, str):
                a.type, a.str = N.ARG_STR, _b(v, "argument %s" % k)
            else:
                raise TypeError("argument %s must be a str, int or bool, "
                                "not %s" % (k, type(v).__name__))
        keep.append(arr)
    uarr = None
    uitems = list((usage or {}).items())
    if uitems:
        uarr = (N.CallUsage * len(uitems))()
        for i, (k, v) in enumerate(uitems):
            uarr[i].name = _b(k, "usage name")
            uarr[i].value = _uint(v, "usage %s" % k, 0, _U64_MAX)
        keep.append(uarr)
    o = N.VerifyOpts()
    o.version = N.OPTS_VERSION
    o.tool = _b(tool, "tool")
    o.action = _ob(action, "action")
    o.audience = _ob(aud, "aud")
    o.args = arr
    o.nargs = len(items)
    o.usage = uarr
    o.nusage = len(uitems)
    o.now = now
    o.leeway = leeway
    return o, keep


def _result(lib, rc: int, p: c_void_p, what: str, handle=None) -> VerifyResult:
    """A VerifyResult from baton_verify's answer; frees p.  Allowed only
    when the call returned 0 AND the result says allowed."""
    try:
        if rc not in (0, N.EDENIED) or not p:
            raise _error(lib, rc if rc != 0 else N.EPROTO, what, handle)
        doc = json.loads(N.text(lib.baton_verify_result_json(p)) or "{}")
        code = int(lib.baton_verify_result_reason(p))
        allowed = (rc == 0 and lib.baton_verify_result_allowed(p) == 1
                   and code == 0)
        facts = doc.get("facts")
        return VerifyResult(
            allowed=allowed,
            reason=N.text(lib.baton_verify_result_reason_name(p)) or "",
            facts=facts if isinstance(facts, dict) else {},
            reason_code=code)
    finally:
        lib.baton_verify_result_free(p)


class KeyBundle:
    """Trusted public keys for :func:`verify_offline`: the JSON document
    of ``baton pubkeys --json`` or :meth:`Client.pubkeys`.

    ``KeyBundle(text_or_dict)`` parses one; ``KeyBundle.load(path)`` reads
    a file.  ``len(bundle)`` is the number of keys.
    """

    def __init__(self, keys: Union[str, bytes, Mapping[str, Any]]) -> None:
        self._lib = N.load("verify")
        self._ptr: Optional[c_void_p] = None
        if isinstance(keys, Mapping):
            data = json.dumps(dict(keys)).encode("utf-8")
        elif isinstance(keys, str):
            data = keys.encode("utf-8")
        elif isinstance(keys, bytes):
            data = keys
        else:
            raise TypeError("a key bundle is JSON text or a dict, not %s"
                            % type(keys).__name__)
        p = c_void_p()
        rc = self._lib.baton_keybundle_parse(byref(p), data, len(data))
        if rc != 0:
            raise _error(self._lib, rc, "key bundle")
        self._ptr = p

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "KeyBundle":
        """Read a bundle from a file."""
        with open(path, "rb") as f:
            return cls(f.read())

    def __len__(self) -> int:
        return int(self._lib.baton_keybundle_count(self._ptr))

    def close(self) -> None:
        """Free the keys now rather than when garbage-collected."""
        if self._ptr is not None:
            self._lib.baton_keybundle_free(self._ptr)
            self._ptr = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def __repr__(self) -> str:
        return "<baton.KeyBundle keys=%d>" % (len(self) if self._ptr else 0)


def verify_offline(token: str, keys: KeysLike, tool: str, *,
                   action: Optional[str] = None, aud: Optional[str] = None,
                   args: Optional[Mapping[str, ArgValue]] = None,
                   usage: Optional[Mapping[str, int]] = None,
                   now: Optional[int] = None,
                   leeway: int = 0) -> VerifyResult:
    """Decide offline, against trusted public keys, whether ``token``
    allows calling ``tool``: signature, time, chain rules and the request
    binding.  It CANNOT see revocations or spent single-use tokens, which
    only the broker knows; use :meth:`Client.verify` wherever that matters.

    ``keys`` is a :class:`KeyBundle`, the dict :meth:`Client.pubkeys`
    returns, its JSON text, or a path (``pathlib.Path``) to such a file.
    ``now`` (unix seconds) and ``leeway`` (clock skew, seconds) default to
    the current time and 0.  Returns a :class:`VerifyResult`; raises
    :class:`baton.Error` only when no decision could be made.
    """
    if isinstance(keys, os.PathLike):
        kb = KeyBundle.load(keys)
    elif isinstance(keys, KeyBundle):
        kb = keys
    else:
        kb = KeyBundle(keys)
    lib = N.load("verify")
    o, keep = _verify_opts(tool, action, aud, args, usage,
                           0 if now is None else
                           _uint(now, "now", 0, _U64_MAX),
                           _uint(leeway, "leeway", 0, 2**32 - 1))
    tok = _b(token, "token")
    p = c_void_p()
    rc = lib.baton_verify_offline(byref(p), kb._ptr, tok, byref(o))
    del keep
    return _result(lib, rc, p, "verify offline")


def inspect(token: str) -> Inspection:
    """Decode ``token`` WITHOUT checking its signature, for display.
    Raises :class:`baton.Malformed` (with ``reason``) when it is not a
    token."""
    lib = N.load("agent")
    p = c_void_p()
    reason = c_int(0)
    rc = lib.baton_inspect_token(byref(p), _b(token, "token"), byref(reason))
    if rc != 0:
        raise _error(lib, rc, "inspect", reason=reason.value)
    try:
        doc = json.loads(N.text(lib.baton_inspect_json(p)) or "{}")
        tree = N.text(lib.baton_inspect_tree(p)) or ""
    finally:
        lib.baton_inspect_free(p)
    return Inspection(kid=doc.get("kid", ""),
                      blocks=tuple(doc.get("blocks", ())),
                      effective=doc.get("effective", {}), tree=tree)


T = TypeVar("T")

# Every live Client, so that a forked child can drop the connections it
# inherited: parent and child writing frames on one socket would mix their
# requests and answers.
_clients: "weakref.WeakSet[Client]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for c in list(_clients):
        c._forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class Client:
    """A connection to batond, the baton broker.

    ``socket_path``: the broker's socket; None means the ``BATON_SOCKET``
    environment variable, else the build-time default (:func:`default_socket`).
    ``timeout``: seconds each call may take as a whole (connect, send,
    answer).

    The connection opens on first use (so creating a Client never fails
    because the broker is down; the call does, with
    :class:`baton.BrokerUnavailable`), and is reopened once,
    transparently, after the broker closed it.  A Client may be shared
    between threads: calls are serialized as the C handle serializes them.
    A child process made by fork opens connections of its own on first
    use.  Use it as a context manager, or call :meth:`close`.

    Example::

        with baton.Client() as c:
            root = c.mint(["db_query:read", "file_read"], 3600,
                          as_agent="orchestrator", subject="alice",
                          limits={"db_query.max_rows": 1000})
            worker = c.attenuate(root, tools=["db_query:read"], ttl=1800,
                                 limits={"db_query.max_rows": 100})
            r = c.verify(worker, "db_query", action="read")
            if r:
                serve(min(wanted, r.limit("max_rows", 10)))
    """

    def __init__(self, socket_path: Optional[Union[str, "os.PathLike[str]"]]
                 = None, timeout: float = 5.0) -> None:
        if socket_path is not None:
            _b(socket_path, "socket_path")
            socket_path = os.fspath(socket_path)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError("timeout must be a number of seconds")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise InvalidRequest("timeout must be a positive number of "
                                 "seconds, not %r" % timeout)
        self._path = socket_path
        self._timeout = float(timeout)
        self._timeout_ms = min(_INT_MAX, max(1, math.ceil(timeout * 1000)))
        # one C handle per library: a handle belongs to the library that
        # opened it
        self._handles: Dict[str, c_void_p] = {}
        self._locks = {"agent": threading.Lock(),
                       "verify": threading.Lock()}
        self._closed = False
        _clients.add(self)

    # ---- connection ----------------------------------------------------

    @property
    def socket_path(self) -> str:
        """The socket this client talks to."""
        if self._path is not None:
            return self._path
        return os.environ.get("BATON_SOCKET") or default_socket()

    @property
    def timeout(self) -> float:
        """The per-call timeout, seconds."""
        return self._timeout

    def _open(self, which: str, lib) -> c_void_p:
        if self._closed:
            raise Error("the baton client is closed")
        h = self._handles.get(which)
        if h is not None:
            return h
        o = N.ClientOpts(N.OPTS_VERSION, _ob(self._path, "socket_path"),
                         self._timeout_ms, _CLIENT_NAME)
        h = c_void_p()
        rc = lib.baton_client_open(byref(h), byref(o))
        if rc != 0:
            raise _error(lib, rc, "cannot reach the broker at %s"
                         % self.socket_path)
        self._handles[which] = h
        return h

    def _call(self, which: str, what: str,
              fn: Callable[[Any, c_void_p], Tuple[int, T]]) -> T:
        """Run fn(lib, handle) -> (rc, value) under the handle's lock and
        turn a failure into the exception, with the broker's explanation
        read before any other thread can use the handle."""
        lib = N.load(which)
        with self._locks[which]:
            h = self._open(which, lib)
            rc, value = fn(lib, h)
            if rc != 0:
                raise _error(lib, rc, what, h)
            return value

    def _forget(self) -> None:
        """In a forked child: abandon the parent's handles without freeing
        them (a lock inside may have been held by a thread that does not
        exist here), so the next call opens a connection of its own."""
        self._handles = {}
        self._locks = {"agent": threading.Lock(),
                       "verify": threading.Lock()}

    def close(self) -> None:
        """Close the connections.  Further calls raise baton.Error."""
        for which, lock in self._locks.items():
            with lock:
                h = self._handles.pop(which, None)
                if h is not None:
                    N.load(which).baton_client_free(h)
        self._closed = True

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def __repr__(self) -> str:
        return "<baton.Client socket=%r timeout=%g%s>" % (
            self.socket_path, self._timeout,
            " closed" if self._closed else "")

    # ---- libbaton-agent ------------------------------------------------

    def mint(self, tools: Tools, ttl: Optional[int], *,
             aud: Union[None, str, Iterable[str]] = None,
             subject: Optional[str] = None, as_agent: Optional[str] = None,
             max_depth: Optional[int] = None,
             limits: Optional[Mapping[str, int]] = None,
             single_use: bool = False, holder: Optional[str] = None,
             where: Optional[Mapping[str, Union[str, Iterable[str]]]] = None,
             ctx: Optional[Mapping[str, str]] = None) -> Token:
        """Mint a root token; returns its text (a :class:`Token`).

        ``tools``: CLI-style grants, ``"db_query:read,write"`` (those
        actions) or ``"file_read"`` (any action), or ``"*"`` alone (every
        tool).  ``ttl``: seconds (None: the broker's default).  ``aud``:
        the tool-server audiences it is for.  ``subject``: the principal.
        ``as_agent``: the agent id to mint as (the broker checks the
        caller may).  ``max_depth``: delegation hops allowed below it.
        ``limits``: ``{"db_query.max_rows": 100}``.  ``where``: argument
        constraints, ``{"db_query.table": "in:orders,users"}`` (a list for
        several predicates).  ``single_use``, ``holder`` (bind to an agent
        id), ``ctx`` (signed correlation values, never used for decisions).

        Every tool a limit or where names must be in ``tools``.  Raises
        :class:`baton.Denied` (reason e.g. "identity_denied") when the
        broker refuses, :class:`baton.InvalidRequest` for bad arguments,
        :class:`baton.BrokerUnavailable` when it cannot be reached.
        """
        lib = N.load("agent")
        o = N.MintOpts()
        o.version = N.OPTS_VERSION
        o.as_ = _ob(as_agent, "as_agent")
        o.subject = _ob(subject, "subject")
        o.ttl = 0 if ttl is None else _uint(ttl, "ttl", 1, _U64_MAX)
        o.max_depth = -1 if max_depth is None else \
            _uint(max_depth, "max_depth", 0, _INT_MAX)
        o.single_use = 1 if single_use else 0
        o.holder = _ob(holder, "holder")
        with _GrantSet(lib, tools=tools, limits=limits, where=where,
                       aud=aud, ctx=ctx, mint=True) as gs:
            o.grants = gs.ptr

            def run(lib, h):
                p = c_void_p()
                rc = lib.baton_client_mint(byref(p), h, byref(o))
                return rc, (_issued(lib, p) if rc == 0 else None)
            return self._call("agent", "mint", run)

    def attenuate(self, token: str, *, tools: Optional[Tools] = None,
                  ttl: Optional[int] = None,
                  aud: Union[None, str, Iterable[str]] = None,
                  as_agent: Optional[str] = None,
                  max_depth: Optional[int] = None,
                  limits: Optional[Mapping[str, int]] = None,
                  single_use: bool = False, holder: Optional[str] = None,
                  where: Optional[Mapping[str, Union[str, Iterable[str]]]]
                  = None,
                  ctx: Optional[Mapping[str, str]] = None) -> Token:
        """Delegate: append a narrower block to ``token``; returns the new
        token.  Arguments as in :meth:`mint`; whatever is left out is
        inherited (``tools=None``: the parent's tools; ``ttl=None``: its
        remaining time).  ``as_agent`` is the delegator.

        The broker refuses any widening rather than clamping it:
        :class:`baton.Denied` with reason "ttl_too_long", "widen_tool",
        "widen_action", "widen_limit", "widen_audience", "widen_depth" or
        "no_depth_left".  Raises :class:`baton.Malformed` when ``token`` is
        not a token.
        """
        lib = N.load("agent")
        o = N.AttenuateOpts()
        o.version = N.OPTS_VERSION
        o.as_ = _ob(as_agent, "as_agent")
        o.ttl = 0 if ttl is None else _uint(ttl, "ttl", 1, _U64_MAX)
        o.max_depth = -1 if max_depth is None else \
            _uint(max_depth, "max_depth", 0, _INT_MAX)
        o.single_use = 1 if single_use else 0
        o.holder = _ob(holder, "holder")
        tok = _b(token, "token")
        with _GrantSet(lib, tools=tools, limits=limits, where=where,
                       aud=aud, ctx=ctx, mint=False) as gs:
            o.grants = gs.ptr

            def run(lib, h):
                p = c_void_p()
                rc = lib.baton_client_attenuate(byref(p), h, tok, byref(o))
                return rc, (_issued(lib, p) if rc == 0 else None)
            return self._call("agent", "attenuate", run)

    def present(self, token: str, *, tool: str, action: str, aud: str,
                as_agent: Optional[str] = None,
                ttl: Optional[int] = None) -> Token:
        """Make a per-call token from ``token``: single use, at most 120
        seconds, bound to one ``tool``, ``action`` and audience ``aud``.
        A holder-bound token can only be presented by its holder
        (``as_agent``), and tool servers refuse such a token unpresented.
        """
        o = N.PresentOpts()
        o.version = N.OPTS_VERSION
        o.tool = _b(tool, "tool")
        o.action = _b(action, "action")
        o.audience = _b(aud, "aud")
        o.as_ = _ob(as_agent, "as_agent")
        o.ttl = 0 if ttl is None else _uint(ttl, "ttl", 1, _U64_MAX)
        tok = _b(token, "token")

        def run(lib, h):
            p = c_void_p()
            rc = lib.baton_client_present(byref(p), h, tok, byref(o))
            return rc, (_issued(lib, p) if rc == 0 else None)
        return self._call("agent", "present", run)

    def revoke(self, token: str) -> None:
        """Revoke ``token`` (its last block): it and every token delegated
        from it stop verifying; its parents stay valid."""
        tok = _b(token, "token")
        self._call("agent", "revoke",
                   lambda lib, h: (lib.baton_client_revoke_token(h, tok),
                                   None))

    def revoke_jti(self, jti: str) -> None:
        """Revoke any block by its jti (32 hex digits), and with it every
        token that contains it.  Needs admin rights on a configured broker
        (:class:`baton.PermissionDenied` otherwise)."""
        j = _b(jti, "jti")
        self._call("agent", "revoke",
                   lambda lib, h: (lib.baton_client_revoke_jti(h, j), None))

    def inspect(self, token: str) -> Inspection:
        """:func:`baton.inspect`: decode without checking (offline)."""
        return inspect(token)

    def pubkeys(self) -> Dict[str, Any]:
        """The broker's trusted public keys, the bundle
        :func:`verify_offline` and :class:`KeyBundle` read:
        ``{"keys": [{"kid", "pk", "not_after", "signing"}...]}``."""
        def run(lib, h):
            p = c_void_p()
            rc = lib.baton_client_pubkeys(byref(p), h)
            return rc, (_take_string(lib, p) if rc == 0 else None)
        return json.loads(self._call("agent", "pubkeys", run))

    def status(self, prometheus: bool = False) -> Union[Dict[str, Any], str]:
        """The broker's status and counters: a dict, or with
        ``prometheus=True`` the Prometheus text exposition."""
        def run(lib, h):
            p = c_void_p()
            rc = lib.baton_client_status(byref(p), h, 1 if prometheus else 0)
            return rc, (_take_string(lib, p) if rc == 0 else None)
        s = self._call("agent", "status", run)
        return s if prometheus else json.loads(s)

    # ---- libbaton-verify -----------------------------------------------

    def verify(self, token: str, tool: str, *, action: Optional[str] = None,
               aud: Optional[str] = None,
               args: Optional[Mapping[str, ArgValue]] = None,
               usage: Optional[Mapping[str, int]] = None) -> VerifyResult:
        """Ask the broker whether ``token`` allows this call: ``tool``,
        ``action``, ``aud`` (the audience this service is), the call's
        ``args`` (str, int or bool values, checked against the token's
        argument constraints) and ``usage`` figures (``{"max_rows": 250}``,
        checked against its limits).  The broker checks everything,
        revocation included, and spends single-use tokens when it allows.

        Returns a :class:`VerifyResult`, allowed or not (a deny is not an
        exception).  Raises :class:`baton.BrokerUnavailable` (or
        :class:`baton.Timeout`) when no decision was made, including when
        the connection broke after the request went out (the broker may
        have spent a single-use token, so it is never asked twice), and
        :class:`baton.PermissionDenied` when this process may not verify
        for ``aud``.  Treat every exception as a denial.
        """
        o, keep = _verify_opts(tool, action, aud, args, usage)
        tok = _b(token, "token")

        def run(lib, h):
            p = c_void_p()
            rc = lib.baton_verify(byref(p), h, tok, byref(o))
            if rc not in (0, N.EDENIED):
                lib.baton_verify_result_free(p)
                return rc, None
            return 0, _result(lib, rc, p, "verify", h)
        try:
            return self._call("verify", "verify", run)
        finally:
            del keep
