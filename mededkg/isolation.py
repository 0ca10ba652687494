"""Kernel-enforced network isolation of the processes that evaluate untrusted SPARQL.

Oxigraph follows ``SERVICE <iri>`` and ``LOAD <iri>`` by opening a connection. Rather
than reading each query to find such IRIs (a second reading that always differs from
the engine's somewhere), the query workers and the update process give up the network
before they see their first query, in two independent ways:

1. **a network namespace of their own** (``unshare(CLONE_NEWNET)``; without root, in a
   new user namespace, ``CLONE_NEWUSER | CLONE_NEWNET``): the process sees no network
   interface but a loopback that is down, so every ``connect`` fails;
2. **a seccomp filter**: ``socket()`` may only create ``AF_UNIX`` sockets (the pipe to
   the server), and ``io_uring_setup`` and ``setns`` fail, so no internet socket can be
   made at all, not even in the namespace the process came from.

Both are irreversible for the process and its threads. :func:`verify` then tries to
reach the loopback interface: only a failure other than "connection refused" counts
as isolated. :func:`probe` runs all of this in a throwaway child at start, so the
server knows (and says) what the host gives; where neither works, the network stays
open and :mod:`mededkg.query.federation` refuses every query it cannot check (fail
closed).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import multiprocessing
import multiprocessing.connection
import os
import platform
import socket
import struct
from dataclasses import dataclass

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

# classic BPF opcodes (linux/filter.h)
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_RET_ALLOW = 0x7FFF0000
_RET_EPERM = 0x00050000 | errno.EPERM  # SECCOMP_RET_ERRNO | EPERM

# offsets in struct seccomp_data: nr, arch, instruction_pointer, args[0] (low word)
_NR, _ARCH, _ARG0 = 0, 4, 16


@dataclass(frozen=True)
class _Arch:
    audit: int
    socket: int
    setns: int
    io_uring_setup: int
    x32: bool = False


#: Syscall numbers of the architectures the filter knows (asm/unistd.h).
_ARCHES = {
    "x86_64": _Arch(0xC000003E, socket=41, setns=308, io_uring_setup=425, x32=True),
    "aarch64": _Arch(0xC00000B7, socket=198, setns=268, io_uring_setup=425),
}


@dataclass(frozen=True)
class Isolation:
    """What cut a process off the network."""

    namespace: bool = False
    seccomp: bool = False
    verified: bool = False

    @property
    def closed(self) -> bool:
        """The process cannot open a network connection (checked by :func:`verify`)."""
        return self.verified and (self.namespace or self.seccomp)

    def describe(self) -> str:
        """One line for the server's start message and the service description."""
        if not self.closed:
            return (
                "query workers keep the network: this host allows neither a network "
                "namespace nor a seccomp filter, so SERVICE and LOAD are refused and "
                "only queries rdflib's parser can check are run (see docs/security.md)"
            )
        ways = [
            name
            for name, used in (
                ("a network namespace of their own", self.namespace),
                ("a seccomp filter (AF_UNIX sockets only)", self.seccomp),
            )
            if used
        ]
        return "query workers have no network: " + " and ".join(ways)


#: This process's isolation, once :func:`cut_network` has run here.
_CURRENT: Isolation | None = None


def current() -> Isolation:
    """The isolation of this process (all False unless :func:`cut_network` ran)."""
    return _CURRENT or Isolation()


def network_closed() -> bool:
    """True if this process has verifiably no network."""
    return current().closed


def cut_network() -> Isolation:
    """Give up the network for good, in this process and every thread it starts.

    Call it before any other thread starts (a user namespace needs a single-threaded
    process) and before reading untrusted input.
    """
    global _CURRENT
    namespace = _new_network_namespace()
    seccomp = _install_seccomp_filter()
    _CURRENT = Isolation(namespace, seccomp, verified=verify())
    return _CURRENT


def verify() -> bool:
    """True if a TCP connection to this host's loopback cannot even be attempted.

    Port 9 (discard) has no listener: with the network present the kernel answers
    "connection refused"; without it, ``socket()`` is refused (seccomp) or the
    network is unreachable (empty namespace).
    """
    try:
        probe_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return True
    with probe_socket:
        probe_socket.settimeout(1.0)
        try:
            probe_socket.connect(("127.0.0.1", 9))
        except ConnectionRefusedError:
            return False
        except OSError as error:
            return error.errno in (errno.ENETUNREACH, errno.EPERM, errno.EACCES)
        return False


def probe() -> Isolation:
    """Apply the isolation in a throwaway child process and report what held."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_probe_child, args=(child,), daemon=True)
    process.start()
    child.close()
    result = Isolation()
    with contextlib.suppress(EOFError, OSError):
        if parent.poll(30):
            result = parent.recv()
    process.join(timeout=5)
    parent.close()
    return result


def _probe_child(conn: multiprocessing.connection.Connection) -> None:
    conn.send(cut_network())
    conn.close()


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _new_network_namespace() -> bool:
    """Move this process into a new, empty network namespace (root, or a user
    namespace where the kernel allows unprivileged ones)."""
    if not hasattr(os, "fork") or platform.system() != "Linux":
        return False
    try:
        libc = _libc()
    except OSError:
        return False
    for flags in (CLONE_NEWNET, CLONE_NEWUSER | CLONE_NEWNET):
        if libc.unshare(flags) == 0:
            return True
    return False


def _filter_program(arch: _Arch) -> list[tuple[int, int, int, int]]:
    """The seccomp program: ``(code, jt, jf, k)`` instructions.

    Any other architecture's syscalls (and x86_64's x32 ABI) fail; ``socket`` fails
    unless its family is ``AF_UNIX``; ``setns`` and ``io_uring_setup`` fail; every
    other syscall is allowed.
    """
    return [
        (_LD_W_ABS, 0, 0, _ARCH),
        (_JEQ_K, 1, 0, arch.audit),  # our architecture: go on
        (_RET_K, 0, 0, _RET_EPERM),
        (_LD_W_ABS, 0, 0, _NR),
        (_JGE_K, 0, 1, 0x40000000 if arch.x32 else 0xFFFFFFFF),  # x32 ABI
        (_RET_K, 0, 0, _RET_EPERM),
        (_JEQ_K, 4, 0, arch.socket),
        (_JEQ_K, 1, 0, arch.setns),
        (_JEQ_K, 0, 1, arch.io_uring_setup),
        (_RET_K, 0, 0, _RET_EPERM),
        (_RET_K, 0, 0, _RET_ALLOW),  # (from the io_uring_setup test: not it)
        # socket(): allow AF_UNIX only
        (_LD_W_ABS, 0, 0, _ARG0),
        (_JEQ_K, 0, 1, socket.AF_UNIX),
        (_RET_K, 0, 0, _RET_ALLOW),
        (_RET_K, 0, 0, _RET_EPERM),
    ]


def _install_seccomp_filter() -> bool:
    """Install the filter of :func:`_filter_program` (Linux x86_64 and aarch64)."""
    arch = _ARCHES.get(platform.machine())
    if arch is None or platform.system() != "Linux":
        return False
    program = _filter_program(arch)
    packed = b"".join(struct.pack("=HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(packed, len(packed))

    class _Prog(ctypes.Structure):
        _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))

    prog = _Prog(len(program), ctypes.addressof(buffer))
    try:
        libc = _libc()
    except OSError:
        return False
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return bool(
        libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) == 0
    )
