"""ctypes declarations of libbaton-agent and libbaton-verify (ABI 0).

The structures and prototypes below mirror include/baton/client.h,
agent.h and verify.h.  They are written for the libraries' soname major 0
(libbaton-agent.so.0, libbaton-verify.so.0): a future ABI bump changes the
soname, so an incompatible library is never loaded by accident.

Where the libraries come from, in order:

1. ``BATON_LIBDIR``: a directory holding them (a build tree's
   ``libclient/.libs``, or a private install);
2. the dynamic loader's own search (``LD_LIBRARY_PATH``, ld.so.cache, the
   system directories), by soname;
3. ``ctypes.util.find_library``, by the link name the pkg-config files
   give (``-lbaton-agent``);
4. the ``libdir`` that ``pkg-config`` reports for baton-agent and
   baton-verify (an install under /usr/local whose ldconfig has not run).

Each library is loaded on first use, so a tool server that only verifies
needs only libbaton-verify.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import threading
from ctypes import (POINTER, Structure, c_char_p, c_int, c_int64, c_size_t,
                    c_uint, c_uint64, c_void_p)
from typing import Dict, Optional

from .errors import LibraryNotFound

ABI_MAJOR = 0

# Function results (baton/types.h).
OK = 0
ENOMEM = -1
EINVAL = -2
EMALFORMED = -3
EDENIED = -4
EIO = -5
ETIMEOUT = -6
EUNAVAIL = -7
EPROTO = -8
ETOOBIG = -9
ENOKEY = -10
EPERM = -11

ARG_STR = 1
ARG_INT = 2
ARG_BOOL = 3


class ClientOpts(Structure):
    _fields_ = [("version", c_uint), ("socket_path", c_char_p),
                ("timeout_ms", c_int), ("client_name", c_char_p)]


class MintOpts(Structure):
    _fields_ = [("version", c_uint), ("grants", c_void_p), ("as_", c_char_p),
                ("subject", c_char_p), ("ttl", c_uint64),
                ("max_depth", c_int), ("single_use", c_int),
                ("holder", c_char_p)]


class AttenuateOpts(Structure):
    _fields_ = [("version", c_uint), ("grants", c_void_p), ("as_", c_char_p),
                ("ttl", c_uint64), ("max_depth", c_int),
                ("single_use", c_int), ("holder", c_char_p)]


class PresentOpts(Structure):
    _fields_ = [("version", c_uint), ("tool", c_char_p),
                ("action", c_char_p), ("audience", c_char_p),
                ("as_", c_char_p), ("ttl", c_uint64)]


class CallArg(Structure):
    _fields_ = [("name", c_char_p), ("type", c_int), ("str", c_char_p),
                ("num", c_int64)]


class CallUsage(Structure):
    _fields_ = [("name", c_char_p), ("value", c_uint64)]


class VerifyOpts(Structure):
    _fields_ = [("version", c_uint), ("tool", c_char_p),
                ("action", c_char_p), ("audience", c_char_p),
                ("args", POINTER(CallArg)), ("nargs", c_size_t),
                ("usage", POINTER(CallUsage)), ("nusage", c_size_t),
                ("now", c_uint64), ("leeway", c_uint)]


# Every options structure is version 1 in ABI 0.
OPTS_VERSION = 1

_P = c_void_p          # an opaque handle
_PP = POINTER(c_void_p)  # its out-parameter

# Prototypes both libraries export (the connection and the strings).
_COMMON = {
    "baton_client_open": (c_int, [_PP, POINTER(ClientOpts)]),
    "baton_client_free": (None, [_P]),
    "baton_client_socket": (c_char_p, [_P]),
    "baton_client_last_error": (c_char_p, [_P]),
    "baton_client_last_reason": (c_int, [_P]),
    "baton_default_socket": (c_char_p, []),
    "baton_version": (c_char_p, []),
    "baton_strerror": (c_char_p, [c_int]),
    "baton_reason_name": (c_char_p, [c_int]),
    "baton_reason_text": (c_char_p, [c_int]),
}

_AGENT = dict(_COMMON, **{
    "baton_grantset_new": (c_int, [_PP]),
    "baton_grantset_free": (None, [_P]),
    "baton_grantset_add_tool": (c_int, [_P, c_char_p, c_char_p]),
    "baton_grantset_add_limit": (c_int, [_P, c_char_p, c_char_p, c_uint64]),
    "baton_grantset_add_where": (c_int, [_P, c_char_p, c_char_p, c_char_p]),
    "baton_grantset_add_audience": (c_int, [_P, c_char_p]),
    "baton_grantset_add_ctx": (c_int, [_P, c_char_p, c_char_p]),
    "baton_issued_token": (c_char_p, [_P]),
    "baton_issued_jti": (c_char_p, [_P]),
    "baton_issued_exp": (c_uint64, [_P]),
    "baton_issued_free": (None, [_P]),
    "baton_client_mint": (c_int, [_PP, _P, POINTER(MintOpts)]),
    "baton_client_attenuate": (c_int, [_PP, _P, c_char_p,
                                       POINTER(AttenuateOpts)]),
    "baton_client_present": (c_int, [_PP, _P, c_char_p,
                                     POINTER(PresentOpts)]),
    "baton_client_revoke_jti": (c_int, [_P, c_char_p]),
    "baton_client_revoke_token": (c_int, [_P, c_char_p]),
    # strings the caller frees: c_void_p, so ctypes does not copy and lose
    # the pointer
    "baton_client_pubkeys": (c_int, [_PP, _P]),
    "baton_client_status": (c_int, [_PP, _P, c_int]),
    "baton_string_free": (None, [_P]),
    "baton_inspect_token": (c_int, [_PP, c_char_p, POINTER(c_int)]),
    "baton_inspect_free": (None, [_P]),
    "baton_inspect_json": (c_char_p, [_P]),
    "baton_inspect_tree": (c_char_p, [_P]),
})

_VERIFY = dict(_COMMON, **{
    "baton_verify": (c_int, [_PP, _P, c_char_p, POINTER(VerifyOpts)]),
    "baton_verify_offline": (c_int, [_PP, _P, c_char_p, POINTER(VerifyOpts)]),
    "baton_keybundle_parse": (c_int, [_PP, c_char_p, c_size_t]),
    "baton_keybundle_count": (c_size_t, [_P]),
    "baton_keybundle_free": (None, [_P]),
    "baton_verify_result_free": (None, [_P]),
    "baton_verify_result_allowed": (c_int, [_P]),
    "baton_verify_result_reason": (c_int, [_P]),
    "baton_verify_result_reason_name": (c_char_p, [_P]),
    "baton_verify_result_json": (c_char_p, [_P]),
})

# What each library is called, and where it comes from.
_LIBS = {
    "agent": ("baton-agent", _AGENT),
    "verify": ("baton-verify", _VERIFY),
}

_lock = threading.Lock()
_loaded: Dict[str, ctypes.CDLL] = {}


def soname(which: str) -> str:
    """The file name the loader looks for, e.g. ``libbaton-agent.so.0``."""
    return "lib%s.so.%d" % (_LIBS[which][0], ABI_MAJOR)


def _pkgconfig_libdir(name: str) -> Optional[str]:
    exe = shutil.which("pkg-config")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--variable=libdir", name],
                             capture_output=True, text=True, timeout=10,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    d = out.stdout.strip()
    return d if out.returncode == 0 and d else None


def _candidates(which: str):
    """The paths to try, in order, and a note of each for the error."""
    name = _LIBS[which][0]
    so = soname(which)
    libdir = os.environ.get("BATON_LIBDIR")
    if libdir:
        # An explicit directory is the only place looked at: a test of a
        # build tree must never pick up an installed copy instead.
        yield os.path.join(libdir, so), "BATON_LIBDIR=" + libdir
        return
    yield so, "the dynamic loader's search path"
    found = ctypes.util.find_library(name)
    if found and found != so:
        # find_library answers the linker name's target; accept only
        # the ABI this module is written for
        if found.endswith(".so.%d" % ABI_MAJOR) or ".so.%d." % ABI_MAJOR \
                in found:
            yield found, "ctypes.util.find_library(%r)" % name
    d = _pkgconfig_libdir(name)
    if d:
        yield os.path.join(d, so), "pkg-config --variable=libdir " + name


def _declare(lib: ctypes.CDLL, protos) -> None:
    for fn, (restype, argtypes) in protos.items():
        f = getattr(lib, fn)
        f.restype = restype
        f.argtypes = argtypes


def load(which: str) -> ctypes.CDLL:
    """Load (once) and return ``"agent"`` or ``"verify"``.

    Raises LibraryNotFound naming what to install when it cannot be found.
    """
    lib = _loaded.get(which)
    if lib is not None:
        return lib
    with _lock:
        lib = _loaded.get(which)
        if lib is not None:
            return lib
        tried = []
        for path, how in _candidates(which):
            try:
                lib = ctypes.CDLL(path)
            except OSError as e:
                tried.append("%s (%s): %s" % (path, how, e))
                continue
            try:
                _declare(lib, _LIBS[which][1])
            except AttributeError as e:
                tried.append("%s (%s): not the baton ABI %d: %s"
                             % (path, how, ABI_MAJOR, e))
                continue
            _loaded[which] = lib
            return lib
        name = _LIBS[which][0]
        raise LibraryNotFound(
            "cannot load lib%s (%s): install the Debian package lib%s%d, "
            "or build baton from source and `make install` (then run "
            "ldconfig), or set BATON_LIBDIR to the directory holding %s.  "
            "Tried: %s" % (name, soname(which), name, ABI_MAJOR,
                            soname(which), "; ".join(tried)))


def text(p: Optional[bytes]) -> Optional[str]:
    """A borrowed C string as str (None stays None)."""
    return None if p is None else p.decode("utf-8", "replace")
