"""Hard query limits: queries run in worker processes that can be killed.

pyoxigraph evaluates a query inside Rust with no timeout or cancellation, so a query
that never yields a row (an aggregate over a huge join, a catastrophic regex) cannot be
stopped from Python in the same process. Each worker is a separate process with the
store opened read-only; the caller waits at most ``timeout + GRACE`` seconds, then kills
the worker (SIGKILL) and starts a fresh one. A caller that finds every worker busy for
``queue_timeout`` seconds gets :class:`Overloaded` (HTTP 503) instead of queueing
forever.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import queue
import resource
import signal
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from mededkg.errors import MedEdKGError, ParameterError, QueryError, QueryTimeout
from mededkg.formats import rdf_format, result_format
from mededkg.query import GraphResult, Limits, Term, execute
from mededkg.store import Store

#: Seconds a caller waits beyond the query time limit before killing the worker (the
#: worker's own per-row deadline usually answers first).
GRACE = 1.0

#: Seconds after which a running query's worker gets the lowest CPU priority, so that
#: quick queries in the other workers go first while it runs into the time limit.
SLOW_QUERY = 0.2

_ERRORS: dict[str, type[MedEdKGError]] = {
    "QueryError": QueryError,
    "ParameterError": ParameterError,
    "QueryTimeout": QueryTimeout,
}


class Overloaded(MedEdKGError):
    """Every query worker stayed busy for longer than the queue timeout."""


class WorkerFailed(MedEdKGError):
    """A query worker died without answering (it is replaced)."""


class OutOfMemory(WorkerFailed):
    """A query needed more memory than a worker may use (its worker was replaced)."""


#: How a worker dies at its address-space cap: Rust and C++ abort on a failed
#: allocation (SIGABRT); Python raises MemoryError, which the worker reports itself.
_MEMORY_DEATHS = (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS)
_ERRORS["OutOfMemory"] = OutOfMemory


@dataclass(frozen=True)
class Job:
    """One query for a worker, with the formats to answer in."""

    sparql: str
    result_format: str | None
    rdf_format: str | None
    substitutions: dict[str, Term] = field(default_factory=dict)
    default_graph: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    base_iri: str | None = None


@dataclass(frozen=True)
class Answer:
    """A worker's answer: the serialized result, or an error."""

    kind: str  # "results" (SELECT/ASK), "graph" (CONSTRUCT/DESCRIBE) or "error"
    body: bytes = b""
    media_type: str = ""
    truncated: bool = False
    error: str = ""
    message: str = ""


class QueryPool:
    """A fixed number of query worker processes over one on-disk store.

    Args:
        store_path: the built store each worker opens read-only.
        limits: time, row and SERVICE limits applied to every query.
        workers: how many queries may run at once.
        queue_timeout: how long a query may wait for a free worker.
        memory_mb: address-space cap of each worker in MB (0 = none).
        in_memory: each worker copies the store into memory (``serve_in_memory``).
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
    ) -> None:
        self.store_path = store_path
        self.limits = limits
        self.queue_timeout = queue_timeout
        self.memory_mb = memory_mb
        self.in_memory = in_memory
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._all: list[_Worker] = []
        self._closed = False
        self._generation = 0
        for _ in range(workers):
            self._idle.put(self._start())

    def run(self, job: Job) -> Answer:
        """Run *job* on a free worker within the limits.

        Raises:
            Overloaded: no worker became free within ``queue_timeout``.
            QueryTimeout: the query ran past the time limit (its worker was killed).
            QueryError, ParameterError: the query or its parameters are bad.
            OutOfMemory: the query hit the worker's memory cap (it was replaced).
            WorkerFailed: the worker died (it was replaced).
        """
        try:
            worker = self._idle.get(timeout=self.queue_timeout)
        except queue.Empty:
            raise Overloaded(
                f"all {len(self._all)} query workers are busy; retry in a few seconds"
            ) from None
        if worker.generation != self._generation:
            worker = self._restart(worker)
        try:
            worker.conn.send(job)
            limit = self.limits.timeout + GRACE
            quick = worker.conn.poll(min(SLOW_QUERY, limit))
            if not quick:
                _set_priority(worker, 19)
            if not quick and not worker.conn.poll(max(0.0, limit - SLOW_QUERY)):
                self._replace(worker)
                raise QueryTimeout(
                    f"the query ran longer than the time limit of "
                    f"{self.limits.timeout:g} s and was stopped; add a LIMIT or narrow "
                    "the patterns"
                )
            answer: Answer = worker.conn.recv()
            if not quick:
                _set_priority(worker, 0)
        except (EOFError, OSError, BrokenPipeError) as error:
            worker.process.join(timeout=1)
            exitcode = worker.process.exitcode
            self._replace(worker)
            if self.memory_mb and exitcode in _MEMORY_DEATHS:
                raise OutOfMemory(_out_of_memory(self.memory_mb)) from error
            raise WorkerFailed("the query worker stopped unexpectedly") from error
        if worker.generation != self._generation:
            self._replace(worker)  # the store was reloaded while it ran
        else:
            self._idle.put(worker)
        return checked(answer)

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
            args=(child, str(path), self.limits, self.memory_mb, self.in_memory),
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


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    conn: Connection
    generation: int = 0

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.process.kill()
            self.process.join(timeout=5)
        with contextlib.suppress(Exception):
            self.conn.close()


def _set_priority(worker: _Worker, niceness: int) -> None:
    """Set the worker's CPU niceness (back to 0 needs privileges: else it stays)."""
    pid = worker.process.pid
    if pid is not None:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, pid, niceness)


def checked(answer: Answer) -> Answer:
    """Return *answer*, or raise the error it carries as its own exception class."""
    if answer.kind == "error":
        raise _ERRORS.get(answer.error, QueryError)(answer.message)
    return answer


def answer(store: Store, limits: Limits, job: Job) -> Answer:
    """Run *job* on *store* in this process and serialize the result (no hard limit:
    the worker processes call this, and so does a pool-less app)."""
    from mededkg.results import serialize_graph, serialize_results

    try:
        result = execute(
            store,
            job.sparql,
            limits=limits,
            substitutions=job.substitutions,
            default_graph=job.default_graph,
            named_graphs=job.named_graphs,
            base_iri=job.base_iri,
        )
    except MedEdKGError as error:
        return Answer("error", error=type(error).__name__, message=str(error))
    if isinstance(result, GraphResult):
        if job.rdf_format is None:
            return Answer("graph")
        fmt = rdf_format(job.rdf_format)
        body = serialize_graph(result, fmt)
        return Answer("graph", body, fmt.media_type, result.truncated)
    if job.result_format is None:
        return Answer("results")
    rfmt = result_format(job.result_format)
    body = serialize_results(result, rfmt)
    return Answer("results", body, rfmt.media_type, getattr(result, "truncated", False))


def _out_of_memory(memory_mb: int) -> str:
    return (
        f"the query used more than the memory limit of {memory_mb} MB and was "
        "stopped; add a LIMIT or narrow the patterns"
    )


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
) -> None:
    """Worker main loop: cap the address space, open the store once, then answer jobs
    until the pipe closes."""
    if memory_mb:
        _limit_malloc_arenas()
        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    store = Store.open(Path(store_path), in_memory=in_memory)
    while True:
        try:
            job: Job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = answer(store, limits, job)
        except MemoryError:
            message = _out_of_memory(memory_mb)
            reply = Answer("error", error="OutOfMemory", message=message)
        conn.send(reply)
