"""Hard query limits: queries run in worker processes that can be killed.

pyoxigraph evaluates a query inside Rust with no timeout or cancellation, so a query
that never yields a row (an aggregate over a huge join, a catastrophic regex) cannot be
stopped from Python in the same process. Each worker is a separate process with the
store opened read-only; the caller waits at most ``timeout + GRACE`` seconds, then kills
the worker (SIGKILL) and starts a fresh one. A caller that finds every worker busy for
``queue_timeout`` seconds gets :class:`Overloaded` (HTTP 503) instead of queueing
forever, and one client may have at most ``client_queries`` queries running at once
(:class:`ClientSlots`), so it cannot hold every worker.

Workers give up the network before they open the store (:mod:`mededkg.isolation`), run
the engine on a thread whose stack is large enough for any text the size limit lets
through, and turn every engine or serializer error into an answer: only a crash ends a
worker, and a crash is answered and the worker replaced. With a ``service_allowlist``,
a query that rdflib's parser shows to call only allow-listed endpoints is answered
``federate`` and run again on the pool's networked twin.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import gc
import multiprocessing
import os
import queue
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Generic, TypeVar

from mededkg import isolation
from mededkg.errors import MedEdKGError, QueryError, QueryTimeout
from mededkg.query import federation
from mededkg.query.answers import (
    Answer,
    Job,
    OutOfMemory,
    WorkerFailed,
    answer,
    checked,
    engine_error,
)
from mededkg.query.gate import Limits
from mededkg.storage import EmbeddedStore, Store

T = TypeVar("T")
W = TypeVar("W")

_PR_SET_PDEATHSIG = 1

#: Seconds a caller waits beyond the query time limit before killing the worker (the
#: worker's own per-row deadline usually answers first).
GRACE = 1.0

#: What a worker sends once it has started, cut its network and opened the store.
READY = "ready"

#: Seconds a new worker may take to say :data:`READY` before it counts as failed.
STARTUP_TIMEOUT = 60.0

#: Seconds after which a running query that keeps its worker's CPU busy gets the
#: lowest CPU priority, so that quick queries in the other workers go first while it
#: runs into the time limit (see :func:`_await_answer`).
SLOW_QUERY = 0.2


class Overloaded(MedEdKGError):
    """Every query worker stayed busy for longer than the queue timeout."""


class ClientBusy(Overloaded):
    """The client already has ``client_queries`` queries running (HTTP 429)."""


#: Stack of the thread that runs the engine in a worker, per KB of the longest query
#: allowed: Oxigraph's parser recurses once per bracket (about 3 KB of stack each),
#: so a text of ``query_max_kb`` cannot overflow it, however its brackets are hidden.
STACK_PER_QUERY_KB = 4 * 1024 * 1024


#: How a worker dies at its address-space cap: Rust and C++ abort on a failed
#: allocation (SIGABRT); Python raises MemoryError, which the worker reports itself.
_MEMORY_DEATHS = (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS)


class QueryPool:
    """A fixed number of query worker processes over one on-disk store.

    Args:
        store_path: the built store each worker opens read-only.
        limits: time, row and SERVICE limits applied to every query.
        workers: how many queries may run at once.
        queue_timeout: how long a query may wait for a free worker.
        memory_mb: address-space cap of each worker in MB (0 = none).
        in_memory: each worker copies the store into memory (``serve_in_memory``).
        isolate: workers give up the network before their first query (False only
            for the networked twin that runs allow-listed SERVICE queries).
        client_queries: most queries one client may have running (0 = no cap).
    """

    def __init__(
        self,
        store_path: Path,
        limits: Limits,
        *,
        workers: int,
        queue_timeout: float,
        memory_mb: int = 0,
        in_memory: bool = False,
        isolate: bool = True,
        client_queries: int = 0,
    ) -> None:
        self.store_path = store_path
        self.limits = limits
        self.queue_timeout = queue_timeout
        self.memory_mb = memory_mb
        self.in_memory = in_memory
        self.isolate = isolate
        self.clients = ClientSlots(client_queries)
        self._context = multiprocessing.get_context("spawn")
        self._idle: IdleWorkers[_Worker] = IdleWorkers()
        self._lock = threading.Lock()
        self._all: list[_Worker] = []
        self._closed = False
        self._generation = 0
        #: workers that died without answering (killed at the time limit: not counted)
        self.crashes = 0
        for _ in range(workers):
            self._idle.put(self._start())

    def run(self, job: Job, client: str = "") -> Answer:
        """Run *job* for *client* (its IP) on a free worker within the limits.

        Raises:
            ClientBusy: *client* already has ``client_queries`` queries running.
            Overloaded: no worker became free within ``queue_timeout``.
            QueryTimeout: the query ran past the time limit (its worker was killed).
            QueryError, ParameterError: the query or its parameters are bad.
            OutOfMemory: the query hit the worker's memory cap (it was replaced).
            WorkerFailed: the worker died (it was replaced).
        """
        with self.clients.slot(client):
            return self._run(job)

    def _run(self, job: Job) -> Answer:
        try:
            worker = self._idle.get(self.queue_timeout)
        except queue.Empty:
            raise Overloaded(
                f"all {len(self._all)} query workers are busy; retry in a few seconds"
            ) from None
        if worker.generation != self._generation:
            worker = self._restart(worker)
        try:
            if not worker.ready:
                self._await_ready(worker)
            worker.conn.send(job)
            answered, demoted = _await_answer(worker, self.limits.timeout + GRACE)
            if not answered:
                self._replace(worker)
                raise QueryTimeout(
                    f"the query ran longer than the time limit of "
                    f"{self.limits.timeout:g} s and was stopped; add a LIMIT or narrow "
                    "the patterns"
                )
            answer: Answer = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError) as error:
            worker.process.join(timeout=1)
            exitcode = worker.process.exitcode
            self.crashes += 1
            self._replace(worker)
            if self.memory_mb and exitcode in _MEMORY_DEATHS:
                raise OutOfMemory(_out_of_memory(self.memory_mb)) from error
            raise WorkerFailed("the query worker stopped unexpectedly") from error
        # a worker left at the lowest priority (an unprivileged server cannot raise
        # it again) would starve every later query on a busy host: replace it
        restored = not demoted or _set_priority(worker, 0)
        if worker.generation != self._generation or not restored:
            self._replace(worker)  # (or the store was reloaded while it ran)
        else:
            self._idle.put(worker, warm=True)
        return checked(answer)

    def _await_ready(self, worker: _Worker) -> None:
        """Wait until a new *worker* has started (a query's time limit and CPU count
        start after that, not with the worker's imports and store opening)."""
        if not worker.conn.poll(STARTUP_TIMEOUT):
            self._replace(worker)
            raise WorkerFailed(
                f"a query worker did not start within {STARTUP_TIMEOUT:g} s"
            )
        if worker.conn.recv() != READY:
            raise OSError("the query worker did not say it was ready")
        worker.ready = True

    def reload(self, store_path: Path) -> None:
        """Serve later queries from the build at *store_path*.

        Idle workers are replaced at once; a worker busy with a query finishes it on
        the previous build and is replaced afterwards.
        """
        with self._lock:
            self.store_path = store_path
            self._generation += 1
        stale: list[_Worker] = []
        while True:
            try:
                stale.append(self._idle.get_nowait())
            except queue.Empty:
                break
        for worker in stale:
            self._idle.put(self._restart(worker))

    @property
    def size(self) -> int:
        """How many workers the pool keeps."""
        return len(self._all)

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            self._closed = True
            workers, self._all = self._all, []
        for worker in workers:
            worker.kill()

    def _start(self) -> _Worker:
        with self._lock:
            path, generation = self.store_path, self._generation
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve,
            args=(
                child,
                str(path),
                self.limits,
                self.memory_mb,
                self.in_memory,
                self.isolate,
                os.getpid(),
            ),
            daemon=True,
            name="mededkg-query-worker",
        )
        process.start()
        child.close()
        worker = _Worker(process, parent, generation)
        with self._lock:
            self._all.append(worker)
        return worker

    def _restart(self, worker: _Worker) -> _Worker:
        """Kill *worker* and return a fresh one on the current build."""
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        return self._start()

    def _replace(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
            closed = self._closed
        if not closed:
            self._idle.put(self._start())


class IdleWorkers(Generic[W]):
    """The idle query workers; the one that answered last is taken first.

    A worker that has just answered has the store's pages in its cache and is
    likely still on a CPU; taking the workers in turn would send each repetition of
    a query to a cold one (the benchmark's engine baseline is a single process). A
    new worker waits at the other end, so no query waits for a worker to start while
    a started one is idle.

    >>> idle = IdleWorkers()
    >>> idle.put("new"); idle.put("warm", warm=True)
    >>> idle.get(0), idle.get(0)
    ('warm', 'new')
    """

    def __init__(self) -> None:
        self._workers: collections.deque[W] = collections.deque()
        self._ready = threading.Condition()

    def put(self, worker: W, *, warm: bool = False) -> None:
        """Add *worker*: taken next if *warm*, else after every other."""
        with self._ready:
            if warm:
                self._workers.append(worker)
            else:
                self._workers.appendleft(worker)
            self._ready.notify()

    def get(self, timeout: float) -> W:
        """The warmest idle worker, waiting up to *timeout* seconds for one.

        Raises:
            queue.Empty: none became idle in time.
        """
        with self._ready:
            if not self._ready.wait_for(lambda: self._workers, timeout):
                raise queue.Empty
            return self._workers.pop()

    def get_nowait(self) -> W:
        """An idle worker now, or :class:`queue.Empty`."""
        return self.get(0)


class ClientSlots:
    """At most *per_client* queries running at once for each client key.

    One more is refused at once: a client waiting for its own turn would still hold
    one of the server's HTTP threads, and enough of them would starve the others.

    >>> slots = ClientSlots(1)
    >>> with slots.slot("a"):
    ...     slots.running("a")
    1
    """

    def __init__(self, per_client: int) -> None:
        self.per_client = per_client
        self._running: dict[str, int] = {}
        self._lock = threading.Lock()

    def running(self, client: str) -> int:
        """How many queries *client* has running now."""
        with self._lock:
            return self._running.get(client, 0)

    @contextlib.contextmanager
    def slot(self, client: str) -> Iterator[None]:
        """Hold one of *client*'s slots for the duration of the block.

        Raises:
            ClientBusy: all its slots are taken.
        """
        if self.per_client <= 0:
            yield
            return
        with self._lock:
            if self._running.get(client, 0) >= self.per_client:
                raise ClientBusy(
                    f"you already have {self.per_client} "
                    f"quer{'y' if self.per_client == 1 else 'ies'} running (setting "
                    "client_queries); wait for its answer before sending the next"
                )
            self._running[client] = self._running.get(client, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                left = self._running[client] - 1
                if left:
                    self._running[client] = left
                else:
                    del self._running[client]


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    generation: int = 0
    #: the worker has said :data:`READY` (started, isolated, store open)
    ready: bool = False
    _killing: threading.Lock = field(default_factory=threading.Lock)
    _killed: bool = False

    def kill(self) -> None:
        """Kill the process and close the pipe, once, whichever threads ask.

        Two threads (a query past its time limit, and ``close()`` or ``reload()``)
        may both kill one worker: ``Connection.close`` is not thread-safe, and a
        second ``os.close`` of a pipe number the system has since given to another
        file (a server's socket, its wake-up pipe) would close that file instead.
        """
        with self._killing:
            if self._killed:
                return
            self._killed = True
            with contextlib.suppress(Exception):
                self.process.kill()
                self.process.join(timeout=5)
            with contextlib.suppress(Exception):
                self.conn.close()


def _set_priority(worker: _Worker, niceness: int) -> bool:
    """Set the worker's CPU niceness; False if the system refused (back to 0 needs
    privileges)."""
    pid = worker.process.pid
    if pid is None:
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, pid, niceness)
    except OSError:
        return False
    return True


def _await_answer(worker: _Worker, limit: float) -> tuple[bool, bool]:
    """Wait up to *limit* seconds for *worker*'s answer: ``(answered, demoted)``.

    A query still running after :data:`SLOW_QUERY` seconds drops to the lowest CPU
    priority once its worker has computed for half as long again (CPU time), so quick
    queries in the other workers go first. A quick query that is only slow because
    the host is busy keeps its priority: demoted, it could starve behind every other
    process until its time limit.
    """
    deadline = time.monotonic() + limit
    demoted = False
    busy_since: float | None = None
    while (left := deadline - time.monotonic()) > 0:
        if worker.conn.poll(left if demoted else min(SLOW_QUERY, left)):
            return True, demoted
        if demoted or worker.process.pid is None:
            continue
        used = _cpu_seconds(worker.process.pid)
        if busy_since is None:
            busy_since = used
        if used is None or busy_since is None or used - busy_since >= SLOW_QUERY / 2:
            demoted = _set_priority(worker, 19)  # (no /proc: by wall time alone)
    return False, demoted


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) process *pid* has used, from Linux's
    ``/proc``; None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return None


def _out_of_memory(memory_mb: int) -> str:
    return (
        f"the query used more than the memory limit of {memory_mb} MB and was "
        "stopped; add a LIMIT or narrow the patterns"
    )


def _die_with_parent(parent: int) -> None:
    """Exit when the server process *parent* is gone (even killed with SIGKILL), so
    no worker outlives it with nobody to enforce the time limit: a watchdog thread
    checks every half second (a worker busy in the engine never reads its pipe)."""

    def alive() -> bool:
        return os.getppid() == parent

    def watch() -> None:
        while alive():
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _limit_malloc_arenas() -> None:
    """Keep glibc's malloc to two arenas: each arena reserves 64 MB of address space
    that counts against ``RLIMIT_AS`` though it is never used, so with one arena per
    thread a worker could hit its cap on a cheap query."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(-8, 2)  # M_ARENA_MAX


def _serve(
    conn: Connection,
    store_path: str,
    limits: Limits,
    memory_mb: int = 0,
    in_memory: bool = False,
    isolate: bool = True,
    parent: int = 0,
) -> None:
    """Worker main: give up the network, cap the address space, open the store once,
    then answer jobs on a large-stack thread until the pipe closes."""
    if isolate:
        isolation.cut_network()  # first: a user namespace needs one thread
    if parent:
        _die_with_parent(parent)
    if memory_mb:
        _limit_malloc_arenas()
        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    store = EmbeddedStore.open(Path(store_path), in_memory=in_memory)
    conn.send(READY)  # the caller's clock for the first query starts now
    threading.stack_size(
        max(32 * 1024 * 1024, limits.max_query_kb * STACK_PER_QUERY_KB)
    )
    loop = threading.Thread(
        target=_answer_jobs, args=(conn, store, limits, memory_mb), name="engine"
    )
    loop.start()
    loop.join()


def _answer_jobs(
    conn: Connection, store: Store, limits: Limits, memory_mb: int
) -> None:
    while True:
        try:
            job: Job = conn.recv()
        except (EOFError, OSError):
            # collect here what errors left in cycles: pyoxigraph's results must be
            # dropped on the thread that made them, not at exit on the main thread
            gc.collect()
            return
        try:
            reply = answer(store, limits, job)
        except MemoryError:
            message = _out_of_memory(memory_mb)
            reply = Answer("error", error="OutOfMemory", message=message)
        except RecursionError:
            reply = Answer(
                "error", error="QueryError", message=federation.nested_message()
            )
        conn.send(reply)


#: Modules the update process server imports once, for every child it forks.
WRITE_PRELOAD = ("mededkg.pipeline.write",)


def start_fork_server(preload: tuple[str, ...] = WRITE_PRELOAD) -> None:
    """Start the fork server of :func:`run_isolated` now (a server with writes on
    calls this at start, so the first update does not wait for it)."""
    import multiprocessing.forkserver

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    multiprocessing.forkserver.ensure_running()


def run_isolated(
    function: Callable[..., T], *args: object, preload: tuple[str, ...] = ()
) -> T:
    """Run ``function(*args)`` in a fresh child process and return its result.

    The child is forked from a clean fork server (with *preload* imported once), so
    untrusted text never meets a parser or engine inside the server process; the
    *function* decides how the child gives up the network (it must run
    :func:`mededkg.isolation.cut_network` before the engine sees the text). An error
    the child raises is raised here; a child that dies is :class:`WorkerFailed`.
    """
    context = multiprocessing.get_context("forkserver")
    if preload:
        context.set_forkserver_preload(list(preload))
    parent, child = context.Pipe(duplex=False)
    process = context.Process(
        target=_call,
        args=(child, function, args, os.getpid()),
        daemon=True,
        name="mededkg-write",
    )
    process.start()
    child.close()
    try:
        kind, value = parent.recv()
    except (EOFError, OSError) as error:
        process.join(timeout=5)
        raise WorkerFailed(
            f"the process applying the request stopped unexpectedly (exit code "
            f"{process.exitcode}); nothing was changed"
        ) from error
    finally:
        parent.close()
    process.join(timeout=5)
    if kind == "error":
        assert isinstance(value, BaseException)
        raise value
    return value  # type: ignore[no-any-return]


def _call(
    conn: Connection,
    function: Callable[..., object],
    args: tuple[object, ...],
    server: int = 0,
) -> None:
    # no thread here (the child may still need a user namespace): the kernel kills
    # it when its parent, the fork server, exits, which it does when the server does
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if server and os.getppid() == 1:
        os._exit(1)
    try:
        reply: tuple[str, object] = ("ok", function(*args))
    except MedEdKGError as error:
        reply = ("error", error)
    except RecursionError:
        reply = ("error", QueryError(federation.nested_message()))
    except Exception as error:  # the engine's or a library's: report, do not crash
        reply = ("error", QueryError(engine_error(error)))
    try:
        conn.send(reply)
    except Exception:  # an error that does not pickle: send its class and message
        conn.send(("error", MedEdKGError(str(reply[1]))))
    conn.close()
