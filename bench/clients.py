"""HTTP measurement: start servers, time queries, drive concurrent clients.

Clients use :mod:`http.client` with one keep-alive connection per client thread, so the
same client code measures MedEdKG's endpoint and ``oxigraph serve`` side by side.
"""

from __future__ import annotations

import functools
import http.client
import itertools
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

import psutil
import pyoxigraph as ox

JSON = "application/sparql-results+json"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A server process on loopback, with the path of its SPARQL endpoint."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    path: str
    log: IO[bytes]

    def log_tail(self, size: int = 2000) -> str:
        """The end of what the server wrote to stderr."""
        self.log.seek(0, os.SEEK_END)
        self.log.seek(max(0, self.log.tell() - size))
        return self.log.read().decode(errors="replace")

    def _processes(self) -> list[psutil.Process]:
        """The server process and its worker processes."""
        root = psutil.Process(self.process.pid)
        return [root, *root.children(recursive=True)]

    def rss_mb(self) -> int:
        """Resident memory of the server and its worker processes, in MB."""
        try:
            return round(sum(p.memory_info().rss for p in self._processes()) / 2**20)
        except psutil.Error:
            return 0

    def cpu_percent(self, interval: float) -> float:
        """CPU use of the server and its worker processes over *interval* seconds,
        in percent of one core."""
        try:
            procs = self._processes()
            before = sum(sum(p.cpu_times()[:2]) for p in procs)
            time.sleep(interval)
            after = sum(sum(p.cpu_times()[:2]) for p in procs)
        except psutil.Error:
            return 0.0
        return 100 * (after - before) / interval

    def stop(self) -> None:
        """Terminate the process (and wait for it)."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def _spawn(
    name: str, cmd: list[str], port: int, path: str, env: dict[str, str] | None = None
) -> Server:
    """Start *cmd* with its stderr in a temporary file, never a pipe: a pipe nobody
    reads fills up (waitress logs a line per queued request under load) and the
    server then blocks on its next log line."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by Server.stop)
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log, env=env)
    return _wait_ready(Server(name, process, port, path, log))


def _wait_ready(server: Server, timeout: float = 120) -> Server:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}: "
                + server.log_tail()
            )
        try:
            status, _ = request(server, "ASK { ?s ?p ?o }")
            if status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.2)
    tail = server.log_tail()
    server.stop()
    raise RuntimeError(f"{server.name} did not answer within {timeout} s: {tail}")


def start_mededkg(store_path: Path, *, threads: int = 8, **settings: str) -> Server:
    """``mededkg serve`` on the built store, rate limit off (we are the only client)."""
    settings = {"threads": str(threads), "rate_limit": "0", **settings}
    return start_serve(store_path, **settings)


def start_serve(
    store_path: Path, *, env: dict[str, str] | None = None, **settings: str
) -> Server:
    """``mededkg serve`` on the built store and a free port, every other setting at
    its default unless given in *settings*; *env* replaces the environment (e.g. a
    ``PYTHONPATH`` that serves another checkout of the code)."""
    port = free_port()
    exe = Path(sys.executable).parent / "mededkg"
    cmd = [str(exe), "serve", "-q", "--store-path", str(store_path)]
    cmd += ["--port", str(port)]
    for name, value in settings.items():
        cmd += ["--" + name.replace("_", "-"), value]
    return _spawn("mededkg", cmd, port, "/sparql", env)


def start_oxigraph(store_path: Path, *, in_memory: bool = False) -> Server:
    """``oxigraph serve`` with the union default graph, on the same storage kind as the
    MedEdKG server it is compared with: ``serve-read-only`` on the same store folder
    (disk), or, with *in_memory*, ``serve`` without a location (Oxigraph's in-memory
    store) holding the same quads, posted to its Graph Store endpoint."""
    port = free_port()
    exe = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or "oxigraph"
    if in_memory:
        cmd = [exe, "serve", "--bind", f"127.0.0.1:{port}", "--union-default-graph"]
        server = _spawn("oxigraph (memory)", cmd, port, "/query")
        _post_store(server, store_path)
        return server
    cmd = [exe, "serve-read-only", "--location", str(store_path.resolve())]
    cmd += ["--bind", f"127.0.0.1:{port}", "--union-default-graph"]
    return _spawn("oxigraph", cmd, port, "/query")


def _post_store(server: Server, store_path: Path) -> None:
    """Load every quad of the store folder into *server* (``POST /store``)."""
    store = ox.Store.read_only(str(store_path.resolve()))
    data = store.dump(format=ox.RdfFormat.N_QUADS)
    del store
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    try:
        conn.request(
            "POST", "/store", body=data, headers={"Content-Type": "application/n-quads"}
        )
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    if response.status >= 300:
        server.stop()
        raise RuntimeError(f"loading {store_path} into oxigraph: {response.status}")


def request(
    server: Server, query: str, connection: http.client.HTTPConnection | None = None
) -> tuple[int, bytes]:
    """POST *query* (``application/sparql-query``), read the whole JSON answer."""
    own = connection is None
    conn = connection or http.client.HTTPConnection(
        "127.0.0.1", server.port, timeout=300
    )
    try:
        conn.request(
            "POST",
            server.path,
            body=query.encode(),
            headers={"Content-Type": "application/sparql-query", "Accept": JSON},
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if own:
            conn.close()


def drain(server: Server, timeout: float = 300) -> float:
    """Wait until *server* is idle again — its processes use under 10% of a core for
    a second and it answers a trivial query fast — so work left over by clients that
    gave up (both servers finish a query whose client has gone) does not count in the
    next measurement; return the seconds waited."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if server.cpu_percent(1.0) < 10:
            began = time.perf_counter()
            try:
                status, _ = request(server, "ASK {}")
            except OSError:
                status = 0
            if status == 200 and time.perf_counter() - began < 0.05:
                break
    return round(time.monotonic() - start, 1)


def engine_time(store: ox.Store, query: str, limit: int) -> tuple[float, int]:
    """Run *query* on pyoxigraph directly, reading at most *limit* rows."""
    start = time.perf_counter()
    result = store.query(query, use_default_graph_as_union=True)
    rows = 0
    if isinstance(result, ox.QuerySolutions):
        for solution in itertools.islice(result, limit):
            for variable in result.variables:
                solution[variable]
            rows += 1
    elif isinstance(result, ox.QueryTriples):
        rows = sum(1 for _ in itertools.islice(result, limit))
    else:
        rows = 1
    return time.perf_counter() - start, rows


class Engine:
    """pyoxigraph on the store folder in a child process, so that a query running
    past its budget is stopped (the process is killed and restarted) instead of
    stalling the benchmark: pyoxigraph cannot cancel a query in-process.

    Args:
        store_path: the built store, opened read-only.
        in_memory: time on an in-memory copy (as ``serve_in_memory`` serves).
    """

    def __init__(self, store_path: Path, *, in_memory: bool = False) -> None:
        self.store_path = store_path
        self.in_memory = in_memory
        self._context = multiprocessing.get_context("spawn")
        self._start()

    def _start(self) -> None:
        self._conn, child = self._context.Pipe()
        self._process = self._context.Process(
            target=_engine_loop,
            args=(child, str(self.store_path.resolve()), self.in_memory),
            daemon=True,
        )
        self._process.start()
        child.close()
        if not self._conn.poll(600) or self._conn.recv() != "ready":
            raise RuntimeError(f"the engine did not open {self.store_path}")

    def median(
        self, query: str, limit: int, repeat: int, budget: float
    ) -> tuple[float | None, int | None]:
        """Median seconds and rows of *query* (a warm-up run first), or
        ``(None, None)`` if it did not finish within *budget* seconds."""
        self._conn.send((query, limit, repeat, budget))
        if not self._conn.poll(budget + 5):
            self.close()
            self._start()
            return None, None
        result: tuple[float | None, int | None] = self._conn.recv()
        return result

    def close(self) -> None:
        """Stop the child process."""
        self._process.kill()
        self._process.join(10)
        self._conn.close()


def _engine_loop(conn: Connection, store_path: str, in_memory: bool) -> None:
    engine = ox.Store.read_only(store_path)
    if in_memory:
        memory = ox.Store()
        memory.bulk_extend(engine.quads_for_pattern(None, None, None, None))
        engine = memory
    conn.send("ready")
    while True:
        try:
            query, limit, repeat, budget = conn.recv()
        except EOFError:
            return
        deadline = time.monotonic() + budget
        _, rows = engine_time(engine, query, limit)  # warm-up, and the row count
        left = deadline - time.monotonic()
        if left <= 0:
            conn.send((None, None))
            continue
        seconds = median_time(
            functools.partial(engine_time, engine, query, limit), repeat, left
        )
        conn.send((seconds, rows))


def median_time(func: Callable[[], Any], repeat: int, budget: float) -> float:
    """Median wall time of *func* over *repeat* runs (fewer if past *budget* s)."""
    times: list[float] = []
    spent = time.perf_counter()
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
        if time.perf_counter() - spent > budget:
            break
    return statistics.median(times)


def throughput(
    server: Server, queries: Sequence[str], clients: int, seconds: float
) -> dict[str, Any]:
    """*clients* threads send *queries* round-robin for *seconds*; latencies in ms."""
    drained = drain(server)
    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def connect(offset: int) -> http.client.HTTPConnection:
        # each client from its own loopback address, as real clients are: the
        # server's per-client query cap (client_queries) keys on the address
        return http.client.HTTPConnection(
            "127.0.0.1",
            server.port,
            timeout=120,
            source_address=(f"127.0.{1 + offset // 250}.{1 + offset % 250}", 0),
        )

    def client(offset: int) -> None:
        nonlocal errors
        conn = connect(offset)
        mine: list[float] = []
        failed = 0
        for i in itertools.count(offset):
            if time.monotonic() >= stop:
                break
            start = time.perf_counter()
            try:
                status, _ = request(server, queries[i % len(queries)], conn)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = connect(offset)
                status = 0
            if status == 200:
                mine.append(time.perf_counter() - start)
            else:
                failed += 1
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += failed

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: float) -> float | None:
        if not latencies:
            return None
        return round(
            1000 * latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2
        )

    return {
        "server": server.name,
        "drained_before_s": drained,
        "clients": clients,
        "seconds": round(elapsed, 2),
        "requests": len(latencies),
        "errors": errors,
        "error_statuses": statuses,
        "qps": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def query_text(path: Path) -> str:
    """The query of a ``.rq`` file (header comments are fine for SPARQL)."""
    return path.read_text(encoding="utf-8")
