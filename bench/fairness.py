"""Fair share: a cheap client's latency while two others send pathological queries.

Starts ``mededkg serve`` as a process (default settings but for a free port and the
store path) over the project's own build, or uses ``--url``. Three clients, each a
process of its own with its own loopback source address, because the server keys its
per-client limits on the client IP:

- two **attackers** (127.0.0.2, 127.0.0.3), each with ``--connections`` keep-alive
  connections that send pathological queries back to back: a five-way cartesian
  product under COUNT, a CONCAT chain that doubles a string to 128 MiB and returns it,
  and the classic catastrophic regex ``^(a+)+$`` matched against a 1 MiB string for
  every triple;
- a **victim** (127.0.0.4) alternating ``ASK { ?s ?p ?o }`` and a one-subject lookup
  on one keep-alive connection, paced at ``--victim-rate`` requests/s.

The victim is measured alone (baseline), then with both attackers, in one run. A
victim request that is not answered 200 counts as slower than any answer in the
percentiles. Target (issue 14): the victim's p99 under attack ≤ 200 ms.

Writes ``bench/results/fairness/NAME.json`` and ``NAME.md`` (the machine, the code
under test, the tables). Exit codes: 0 target met, 1 not met, 2 usage error.

    python bench/fairness.py [--duration 20] [--url URL | --store PATH]
                             [--code-commit REV] [--name latest]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import http.client
import ipaddress
import json
import math
import multiprocessing
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clients
import run

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results" / "fairness"
TARGET_P99_MS = 200.0
ATTACKERS = ("127.0.0.2", "127.0.0.3")
VICTIM = "127.0.0.4"
#: Where the parent's own requests (warm-up, finding a subject) come from.
SETUP = "127.0.0.1"


def _doubled(var: str, seed: str, times: int) -> str:
    """BINDs that double *seed* *times* times, the last one bound to ``?{var}N``.

    >>> _doubled("s", "ab", 2)
    'BIND("ab" AS ?s0) BIND(CONCAT(?s0, ?s0) AS ?s1) BIND(CONCAT(?s1, ?s1) AS ?s2)'
    """
    binds = [f'BIND("{seed}" AS ?{var}0)']
    binds += [
        f"BIND(CONCAT(?{var}{i}, ?{var}{i}) AS ?{var}{i + 1})" for i in range(times)
    ]
    return " ".join(binds)


#: The attackers' queries. Each needs far more than the default 30-s time limit or
#: far more than the default 32-MB answer cap.
PATHOLOGICAL = {
    # 23,619 triples to the fifth power: never yields its single row.
    "cartesian": (
        "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
        "?m ?n2 ?o }"
    ),
    # 16 characters doubled 23 times: a 128 MiB string (plus its halves) in the
    # worker, and as the answer if nothing caps it.
    "concat": f"SELECT ?s23 WHERE {{ {_doubled('s', '0123456789abcdef', 23)} }}",
    # Oxigraph's regex engine runs in linear time, so ^(a+)+$ does not backtrack;
    # matching it against 1 MiB of 'a's plus each object is ~3 ms a triple, ~70 s
    # for the whole graph.
    "regex": (
        "SELECT (COUNT(*) AS ?n) WHERE { ?x ?y ?z . "
        f"{_doubled('a', 'a' * 16, 16)} "
        'FILTER(REGEX(CONCAT(?a16, STR(?z)), "^(a+)+$")) }'
    ),
}
ASK = "ASK { ?s ?p ?o }"
FIND_SUBJECT = "SELECT ?s WHERE { ?s a ?type FILTER(isIRI(?s)) } LIMIT 1"
JSON = "application/sparql-results+json"


@dataclass(frozen=True)
class Target:
    """The SPARQL endpoint: host, port and path."""

    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> Target:
        """Read *url*, which must point into 127.0.0.0/8.

        >>> Target.parse("http://127.0.0.1:8000/sparql")
        Target(host='127.0.0.1', port=8000, path='/sparql')

        Raises:
            ValueError: not an http URL on an IPv4 loopback address.
        """
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"{url!r}: expected http://127.x.x.x:PORT/sparql")
        address = ipaddress.ip_address(socket.gethostbyname(parts.hostname))
        if address not in ipaddress.ip_network("127.0.0.0/8"):
            raise ValueError(
                f"{url!r} resolves to {address}: this benchmark only sends traffic "
                "to 127.0.0.0/8"
            )
        return cls(str(address), parts.port or 80, parts.path or "/sparql")

    def connect(self, source: str, timeout: float) -> http.client.HTTPConnection:
        """A keep-alive connection whose socket is bound to *source*."""
        return http.client.HTTPConnection(
            self.host, self.port, timeout=timeout, source_address=(source, 0)
        )


def post(
    target: Target, conn: http.client.HTTPConnection, query: str
) -> tuple[int, int]:
    """POST *query* on *conn*, read and drop the answer; return status and bytes.

    The answer is read in 1 MiB pieces so a huge one never sits in the client.
    """
    conn.request(
        "POST",
        target.path,
        body=query.encode(),
        headers={"Content-Type": "application/sparql-query", "Accept": JSON},
    )
    response = conn.getresponse()
    size = 0
    while chunk := response.read(1 << 20):
        size += len(chunk)
    return response.status, size


# ------------------------------------------------------------------------- clients


def _attacker(
    pipe: Connection, target: Target, source: str, connections: int, offset: int
) -> None:
    """One attacking client: *connections* threads send the pathological queries
    back to back (each thread cycles through them, starting at a different one)
    until the parent says stop; then report what was sent and answered."""
    pipe.send("ready")
    pipe.recv()  # go
    kinds = list(PATHOLOGICAL)
    stop = threading.Event()
    lock = threading.Lock()
    tally: dict[str, dict[str, Any]] = {
        k: {"sent": 0, "statuses": collections.Counter(), "seconds": [], "bytes": []}
        for k in kinds
    }
    conns: list[http.client.HTTPConnection] = []

    def loop(index: int) -> None:
        conn = target.connect(source, timeout=600)
        with lock:
            conns.append(conn)
        for i in range(offset + index, 10**9):
            if stop.is_set():
                break
            kind = kinds[i % len(kinds)]
            start = time.perf_counter()
            try:
                status, size = post(target, conn, PATHOLOGICAL[kind])
                outcome = str(status)
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                outcome = "cut" if stop.is_set() else f"error {type(error).__name__}"
                size = 0
            seconds = time.perf_counter() - start
            with lock:
                entry = tally[kind]
                entry["sent"] += 1
                entry["statuses"][outcome] += 1
                if outcome != "cut":
                    entry["seconds"].append(seconds)
                    entry["bytes"].append(size)

    threads = [
        threading.Thread(target=loop, args=(i,), daemon=True)
        for i in range(connections)
    ]
    for thread in threads:
        thread.start()
    pipe.recv()  # stop
    stop.set()
    with lock:
        for conn in conns:  # unblock threads waiting for an answer
            if conn.sock is not None:
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_RDWR)
    for thread in threads:
        thread.join(30)
    report = {}
    for kind, entry in tally.items():
        secs, sizes = entry["seconds"], entry["bytes"]
        report[kind] = {
            "sent": entry["sent"],
            "statuses": dict(sorted(entry["statuses"].items())),
            "median_s": round(statistics.median(secs), 3) if secs else None,
            "max_s": round(max(secs), 3) if secs else None,
            "largest_answer_bytes": max(sizes) if sizes else None,
        }
    pipe.send(report)


def _victim(
    pipe: Connection, target: Target, source: str, subject: str, rate: float
) -> None:
    """The cheap client: ASK and a one-subject lookup, alternately, on one
    keep-alive connection, at most *rate* requests/s (0 = back to back), for as
    long as the parent says; report every request as (offset s, kind, status, ms)."""
    queries = [("ask", ASK), ("lookup", f"SELECT ?p ?o WHERE {{ <{subject}> ?p ?o }}")]
    pipe.send("ready")
    seconds: float = pipe.recv()
    conn = target.connect(source, timeout=120)
    samples: list[tuple[float, str, str, float]] = []
    begin = time.monotonic()
    due = begin
    for i in range(10**9):
        now = time.monotonic()
        if now - begin >= seconds:
            break
        if rate and now < due:
            time.sleep(due - now)
        due = max(due, now) + (1 / rate if rate else 0)
        kind, query = queries[i % 2]
        start = time.perf_counter()
        try:
            status, _ = post(target, conn, query)
            outcome = str(status)
        except (OSError, http.client.HTTPException) as error:
            conn.close()
            outcome = f"error {type(error).__name__}"
        ms = (time.perf_counter() - start) * 1000
        samples.append((round(start - begin, 3), kind, outcome, round(ms, 3)))
    conn.close()
    pipe.send(samples)


@contextlib.contextmanager
def _process(target: Any, *args: Any) -> Iterator[Connection]:
    """Run *target* in a spawned process; yield its pipe once it says ready."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=target, args=(child, *args), daemon=True)
    process.start()
    child.close()
    try:
        if not parent.poll(60) or parent.recv() != "ready":
            raise RuntimeError(f"{target.__name__} did not start")
        yield parent
    finally:
        process.join(60)
        if process.is_alive():
            process.kill()
            process.join()
        parent.close()


# ------------------------------------------------------------------------- server


class Sampler:
    """Peak memory and worker replacements of the server during a window: a thread
    reads the server's process tree every half second."""

    def __init__(self, server: clients.Server | None) -> None:
        self.server = server
        self.peak_mb = 0
        self.pids: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree(self) -> list[psutil.Process]:
        assert self.server is not None
        root = psutil.Process(self.server.process.pid)
        return [root, *root.children(recursive=True)]

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            try:
                procs = self._tree()
                self.peak_mb = max(
                    self.peak_mb, round(sum(p.memory_info().rss for p in procs) / 2**20)
                )
                self.pids.update(p.pid for p in procs)
            except psutil.Error:
                pass

    def __enter__(self) -> Sampler:
        if self.server is not None:
            self._before = {p.pid for p in self._tree()}
            self.pids.update(self._before)
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self.server is not None:
            self._thread.join()

    def report(self) -> dict[str, Any]:
        """Peak RSS (server + workers) and processes that started in the window."""
        if self.server is None:
            return {}
        return {
            "server_peak_rss_mb": self.peak_mb,
            "processes_started": len(self.pids - self._before),
        }


def stop_server(server: clients.Server) -> list[str]:
    """Stop the server, then its processes that outlived it (killed, as they would
    otherwise go on running a query with nobody to stop them); describe those."""
    try:
        children = psutil.Process(server.process.pid).children(recursive=True)
    except psutil.Error:
        children = []
    server.stop()
    _, alive = psutil.wait_procs(children, timeout=5)
    survivors = []
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            survivors.append(
                f"pid {proc.pid}, {proc.cpu_percent(0.5):.0f}% CPU: {proc.name()}"
            )
            proc.kill()
    psutil.wait_procs(alive, timeout=5)
    return survivors


def code_under_test(env: dict[str, str], commit: str | None) -> dict[str, Any]:
    """Which ``mededkg`` the server imports, and its commit (dirty files listed)."""
    done = subprocess.run(
        [sys.executable, "-c", "import mededkg; print(mededkg.__file__)"],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    package = Path(done.stdout.strip()).parent
    out: dict[str, Any] = {"package": str(package)}
    if commit:
        out["commit"] = commit
        out["source"] = "git archive of that commit (no uncommitted changes)"
        return out

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(package.parent), *args],
            capture_output=True,
            text=True,
        ).stdout.strip()

    out["commit"] = git("rev-parse", "HEAD") or None
    dirty = git("status", "--porcelain", "--", "mededkg", "webapp").splitlines()
    out["uncommitted_server_files"] = [line[3:] for line in dirty]
    return out


def export_commit(rev: str, into: Path) -> str:
    """Extract the tree of *rev* of this repository into *into*; return the hash."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", rev + "^{commit}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
        capture_output=True,
        check=True,
    ).stdout
    into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as tmp:
        tmp.write(archive)
        tmp.seek(0)
        with tarfile.open(fileobj=tmp) as tar:
            tar.extractall(into, filter="data")
    return commit


def build_store(store: Path, env: dict[str, str]) -> float:
    """``mededkg build`` of the project's own data into *store*; return seconds."""
    exe = Path(sys.executable).parent / "mededkg"
    start = time.perf_counter()
    subprocess.run(
        [str(exe), "build", "-q", "--store-path", str(store)],
        env=env,
        cwd="/",
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return round(time.perf_counter() - start, 1)


def find_subject(target: Target) -> str:
    """One typed subject of the graph, for the lookup; also warms the workers."""
    conn = target.connect(SETUP, timeout=60)
    try:
        for _ in range(20):
            post(target, conn, ASK)
        conn.request(
            "POST",
            target.path,
            body=FIND_SUBJECT.encode(),
            headers={"Content-Type": "application/sparql-query", "Accept": JSON},
        )
        response = conn.getresponse()
        body = json.loads(response.read())
    finally:
        conn.close()
    bindings = body["results"]["bindings"]
    if not bindings:
        raise RuntimeError("the graph has no typed subject to look up")
    return str(bindings[0]["s"]["value"])


# ------------------------------------------------------------------------ figures


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of sorted *values*.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5), percentile([1.0, 2.0, 3.0, 4.0], 0.99)
    (2.0, 4.0)
    """
    return values[max(0, math.ceil(p * len(values)) - 1)]


def summarise(samples: list[tuple[float, str, str, float]]) -> dict[str, Any]:
    """Count, statuses and p50/p95/p99/max in ms; a request not answered 200 counts
    as slower than any answer ("not 200")."""
    latencies = sorted(
        ms if status == "200" else math.inf for _, _, status, ms in samples
    )

    def show(value: float) -> float | str:
        return "not 200" if value == math.inf else round(value, 2)

    out: dict[str, Any] = {
        "requests": len(samples),
        "statuses": dict(sorted(collections.Counter(s[2] for s in samples).items())),
    }
    for name, p in (("p50_ms", 0.5), ("p95_ms", 0.95), ("p99_ms", 0.99)):
        out[name] = show(percentile(latencies, p)) if latencies else None
    out["max_ms"] = show(latencies[-1]) if latencies else None
    answered = [ms for _, _, status, ms in samples if status == "200"]
    out["max_answered_ms"] = round(max(answered), 2) if answered else None
    return out


def window(
    target: Target,
    subject: str,
    args: argparse.Namespace,
    server: clients.Server | None,
    *,
    attack: bool,
) -> dict[str, Any]:
    """One measurement window: the victim for ``args.duration`` seconds, alone or
    after the attackers have had ``args.ramp`` seconds to fill the workers."""
    result: dict[str, Any] = {"loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    attackers = ATTACKERS if attack else ()
    with Sampler(server) as sampler, _open_attackers(target, attackers, args) as pipes:
        for pipe in pipes:
            pipe.send("go")
        if attack:
            time.sleep(args.ramp)
        with _process(_victim, target, VICTIM, subject, args.victim_rate) as victim:
            victim.send(args.duration)
            samples = victim.recv()
        for pipe in pipes:
            pipe.send("stop")
        reports = [pipe.recv() for pipe in pipes]
    result["victim"] = summarise(samples)
    result["victim"]["by_query"] = {
        kind: summarise([s for s in samples if s[1] == kind])
        for kind in ("ask", "lookup")
    }
    result["victim_samples"] = samples
    result["attackers"] = [
        {"source": source, "connections": args.connections, "queries": report}
        for source, report in zip(attackers, reports, strict=True)
    ]
    result.update(sampler.report())
    result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


@contextlib.contextmanager
def _open_attackers(
    target: Target, sources: Sequence[str], args: argparse.Namespace
) -> Iterator[list[Connection]]:
    """Start one attacker process per source address; yield their pipes."""
    with contextlib.ExitStack() as stack:
        yield [
            stack.enter_context(
                _process(_attacker, target, source, args.connections, index)
            )
            for index, source in enumerate(sources)
        ]


# ------------------------------------------------------------------------- report


def _statuses(counts: dict[str, int]) -> str:
    return ", ".join(f"{status} × {n}" for status, n in counts.items()) or "none"


def _size(size: int | None) -> str:
    if size is None:
        return ""
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size} B"


def verdict(results: dict[str, Any]) -> str:
    """The pass/fail line."""
    p99 = results["attack"]["victim"]["p99_ms"]
    alone = results["baseline"]["victim"]["p99_ms"]
    word = "PASS" if results["met"] else "FAIL"
    return (
        f"{word}: victim p99 under attack {_ms(p99)} (target ≤ {TARGET_P99_MS:g} ms); "
        f"alone {_ms(alone)}"
    )


def _ms(value: float | str | None) -> str:
    return f"{value} ms" if isinstance(value, float | int) else str(value)


def markdown(results: dict[str, Any]) -> str:
    """The results as Markdown: verdict, code and settings, tables, machine."""
    m, code = results["machine"], results["code"]
    base, attack = results["baseline"], results["attack"]
    lines = [
        f"# Fairness under attack: {results['name']}",
        "",
        f"Produced by `{results['command']}` on {results['started']} (what is "
        "measured: [docs/benchmarks.md](../../../docs/benchmarks.md#fairness-under-"
        f"attack)). Raw figures: [{results['name']}.json]({results['name']}.json).",
        "",
    ]
    if results["note"]:
        lines += [results["note"], ""]
    lines += [f"**{verdict(results)}**", "", "## Code and settings", ""]
    if "commit" in code:
        lines.append(f"- code: commit `{code['commit']}`, package `{code['package']}`")
        if code.get("source"):
            lines[-1] += f"; {code['source']}"
        if code.get("uncommitted_server_files"):
            lines.append(
                "- uncommitted changes in the served code: "
                + ", ".join(f"`{f}`" for f in code["uncommitted_server_files"])
            )
    else:
        lines.append(f"- code: {code['server']}")
    lines.append(f"- server: {results['server']['description']}")
    lines.append(
        f"- clients: attackers {', '.join(ATTACKERS)} with {results['connections']} "
        "keep-alive connections each, sending the queries below back to back "
        "(each connection cycles through them); victim "
        f"{VICTIM}, ASK and a lookup of `<{results['subject']}>` alternately on one "
        "keep-alive connection, "
        + (
            f"at most {results['victim_rate']:g} requests/s"
            if results["victim_rate"]
            else "back to back"
        )
        + f"; each client a process of its own; {results['duration']:g} s per window, "
        f"the attackers start {results['ramp']:g} s before the victim's window"
    )
    lines += [
        "",
        "## Victim",
        "",
        "A request not answered 200 counts as slower than any answer ('not 200').",
        "",
        "| window | requests | p50 ms | p95 ms | p99 ms | max ms | statuses |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [
        ("alone", base["victim"]),
        ("under attack", attack["victim"]),
        ("under attack, ASK", attack["victim"]["by_query"]["ask"]),
        ("under attack, lookup", attack["victim"]["by_query"]["lookup"]),
    ]
    for label, v in rows:
        lines.append(
            f"| {label} | {v['requests']} | {v['p50_ms']} | {v['p95_ms']} | "
            f"{v['p99_ms']} | {v['max_ms']} | {_statuses(v['statuses'])} |"
        )
    if results["victim_rate"]:
        lines += [
            "",
            f"At its pace the victim sends up to "
            f"{results['victim_rate'] * results['duration']:.0f} requests a window; "
            "fewer means it was waiting for answers.",
        ]
    lines += [
        "",
        "## Attackers",
        "",
        "`cut` = still waiting when the window ended (not an answer).",
        "",
        "| client | query | sent | statuses | median s | max s | largest answer |",
        "|---|---|---|---|---|---|---|",
    ]
    for attacker in attack["attackers"]:
        for kind, q in attacker["queries"].items():
            lines.append(
                f"| {attacker['source']} | {kind} | {q['sent']} | "
                f"{_statuses(q['statuses'])} | {q['median_s']} | {q['max_s']} | "
                f"{_size(q['largest_answer_bytes'])} |"
            )
    if "server_peak_rss_mb" in attack:
        lines += [
            "",
            f"Server (process + query workers): peak RSS {base['server_peak_rss_mb']} "
            f"MB alone, {attack['server_peak_rss_mb']} MB under attack; processes "
            f"started during the attack window: {attack['processes_started']} (a "
            "query worker is replaced whenever the hard time limit or the memory cap "
            "stops one).",
        ]
    outlived = results["server"].get("outlived_the_server")
    if outlived:
        lines += [
            "",
            f"**{len(outlived)} server processes outlived `mededkg serve`** "
            "(stopped with SIGTERM after the attack window) and went on running: "
            + "; ".join(outlived)
            + ". The benchmark killed them.",
        ]
    lines += ["", "Queries:", ""]
    for kind, text in PATHOLOGICAL.items():
        shown = text if len(text) < 200 else text[:150] + " … " + text[-60:]
        lines.append(f"- {kind} ({len(text)} bytes): `{shown}`")
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    lines += [
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']} — `nproc` {m['nproc']} (servers and clients share them)",
        f"- Python {m['python']} on {m['platform']}",
        f"- packages: {packages}",
        f"- load average: start {m['loadavg_start']}; alone window "
        f"{base['loadavg_start']} → {base['loadavg_end']}; attack window "
        f"{attack['loadavg_start']} → {attack['loadavg_end']}",
        "",
        f"```\n$ free -g\n{m['free_g']}\n```",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration",
        type=float,
        default=20.0,
        help="seconds the victim is measured in each window (default 20)",
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=2.0,
        help="seconds the attackers run before the victim's window (default 2)",
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=4,
        help="connections per attacker (default 4, the default query_workers: "
        "without a per-client cap one attacker alone could hold every worker)",
    )
    parser.add_argument(
        "--victim-rate",
        type=float,
        default=40.0,
        help="the victim's requests/s at most (default 40, under the default "
        "rate_limit of 50/s; 0 = back to back)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--url",
        help="a running endpoint on 127.0.0.0/8, e.g. http://127.0.0.1:8000/sparql",
    )
    where.add_argument(
        "--store",
        type=Path,
        help="a built store to serve (default: build the project's own data into a "
        "temporary folder)",
    )
    parser.add_argument(
        "--code-commit",
        metavar="REV",
        help="build and serve with the code of this commit (git archive) instead "
        "of the checkout",
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a server setting to change from its default (repeatable)",
    )
    parser.add_argument("--name", default="latest", help="stem of the result files")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--note", default="", help="a paragraph for the Markdown")
    args = parser.parse_args(argv)
    if args.url and (args.code_commit or args.settings):
        parser.error("--code-commit and --set start a server; --url uses one")
    try:
        target = Target.parse(args.url) if args.url else None
        settings = dict(item.split("=", 1) for item in args.settings)
    except ValueError as error:
        parser.error(str(error))
    results: dict[str, Any] = {
        "name": args.name,
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["python", "bench/fairness.py", *(argv or sys.argv[1:])]),
        "note": args.note,
        "machine": run.machine(),
        "target_p99_ms": TARGET_P99_MS,
        "duration": args.duration,
        "ramp": args.ramp,
        "connections": args.connections,
        "victim_rate": args.victim_rate,
        "queries": PATHOLOGICAL,
    }
    work = Path(tempfile.mkdtemp(prefix="mededkg-fairness-"))
    server: clients.Server | None = None
    try:
        if target is not None:
            results["code"] = {"server": f"the server at {args.url} (not started here)"}
            results["server"] = {"description": f"already running at {args.url}"}
        else:
            env = dict(os.environ)
            commit = None
            if args.code_commit:
                commit = export_commit(args.code_commit, work / "code")
                paths = [str(work / "code"), env.get("PYTHONPATH", "")]
                env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
            results["code"] = code_under_test(env, commit)
            store = args.store
            built = ""
            if store is None:
                store = work / "store"
                seconds = build_store(store, env)
                built = f" (built here with `mededkg build`, {seconds} s)"
            server = clients.start_serve(store, env=env, **settings)
            target = Target("127.0.0.1", server.port, server.path)
            changed = ", ".join(f"{k}={v}" for k, v in settings.items())
            results["server"] = {
                "description": f"`mededkg serve` over the project's own store{built}; "
                "default settings except port (a free one) and store_path"
                + (f", and {changed}" if changed else ""),
                "settings_changed": settings,
            }
        results["subject"] = find_subject(target)
        print("victim alone …", file=sys.stderr)
        results["baseline"] = window(
            target, results["subject"], args, server, attack=False
        )
        print("victim with two attackers …", file=sys.stderr)
        results["attack"] = window(
            target, results["subject"], args, server, attack=True
        )
    finally:
        if server is not None:
            results["server"]["log_tail"] = server.log_tail(1000)
            results["server"]["outlived_the_server"] = stop_server(server)
        shutil.rmtree(work, ignore_errors=True)
    p99 = results["attack"]["victim"]["p99_ms"]
    results["met"] = isinstance(p99, float | int) and p99 <= TARGET_P99_MS
    results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    text = markdown(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(
        json.dumps(results, indent=1, ensure_ascii=False) + "\n"
    )
    (args.out / f"{args.name}.md").write_text(text)
    print(text)
    print(verdict(results))
    return 0 if results["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
