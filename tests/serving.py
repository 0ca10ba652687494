"""``mededkg serve`` as a real process for tests and benchmarks: start it on a free
loopback port, read the URL it reports, keep reading its stderr so a full pipe never
blocks it, and stop it with its query workers."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: The line ``mededkg serve`` prints once it listens.
SERVING = re.compile(r"serving MedEdKG on (http://\S+/)")
#: How many lines of stderr after the start a :class:`Served` keeps.
LOG_LINES = 50


@dataclass
class Served:
    """A running server: its process, its URL (ending in ``/``), what it printed before
    it listened, and the last lines it printed since."""

    process: subprocess.Popen[bytes]
    url: str
    startup: list[str]
    log: list[str] = field(default_factory=list)


def start_serve(
    *args: str,
    timeout: float = 60,
    command: Sequence[str] = (sys.executable, "-m", "mededkg"),
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Served:
    """Run ``mededkg serve --port 0 --quiet ARGS`` in a session of its own (so
    :func:`kill_session` reaches its query workers) and wait for its URL.

    *command* is how ``mededkg`` is started (default: this interpreter's package;
    an installed console script for the wheel test), in *cwd* with *env*.

    Raises:
        AssertionError: with what it printed, if it did not start within *timeout*.
    """
    process = subprocess.Popen(
        [*command, "serve", "--port", "0", "--quiet", *args],
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=None if env is None else dict(env),
        start_new_session=True,
    )
    assert process.stderr is not None
    startup: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline().decode("utf-8", "replace")
        if not line:
            break
        startup.append(line)
        match = SERVING.search(line)
        if match:
            served = Served(process, match.group(1), startup)
            threading.Thread(target=_drain, args=(served,), daemon=True).start()
            return served
    kill_session(process)
    raise AssertionError("the server did not start:\n" + "".join(startup))


def kill_session(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process started in a session of its own and everything in that
    session (a server's query workers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def _drain(served: Served) -> None:
    stderr = served.process.stderr
    assert stderr is not None
    with stderr:  # closed at the end of the stream
        for raw in stderr:
            served.log.append(raw.decode("utf-8", "replace").rstrip())
            del served.log[:-LOG_LINES]
