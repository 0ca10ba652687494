"""What a hand-off costs a lookup: probes of the request path, against Oxigraph.

    python bench/request_path.py                         # real graph's store, ~3 min
    python bench/request_path.py --store var/store --rounds 3 --duration 4

Issue 18 asks for lookups at ≥ 0.5× ``oxigraph serve-read-only`` with one client.
This measures where that is lost. Besides Oxigraph's own server and ``mededkg serve``
(the default settings, rate limit off), it runs three *probes* — not servers: no
limits, no headers, no error handling, a parser that reads only what the bench
client sends — each on the same store folder, answering the same lookups with
pyoxigraph's JSON serialiser:

- ``inline``: one process, one thread: a ``selectors`` loop reads the request and
  runs the query in the same thread (nothing handed off);
- ``hop``: the same loop, but the query goes to one worker process over a pipe and
  the loop waits for the answer (one process hand-off, as MedEdKG's query workers);
- ``waitress``: waitress with a three-line WSGI app that runs the query in its task
  thread (waitress's own hand-off from its main loop to a task thread).

Every server gets the same clients (``bench/clients.py``: keep-alive
``http.client`` threads in one process), interleaved, the order rotated each round.
Writes ``bench/results/request-path.json`` and prints the medians with each one's
ratio to Oxigraph in the same round.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import selectors
import socket
import statistics
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pyoxigraph as ox

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import clients  # noqa: E402
import http_layer  # noqa: E402

OUT = BENCH / "results" / "request-path.json"
PROBES = ("inline", "hop", "waitress")


def _answer(store: ox.Store, query: str) -> bytes:
    results = store.query(query, use_default_graph_as_union=True)
    assert isinstance(results, ox.QuerySolutions | ox.QueryBoolean)
    body = results.serialize(format=ox.QueryResultsFormat.JSON)
    assert body is not None
    return body


def _response(body: bytes) -> bytes:
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def _query_of(head: bytes, body: bytes) -> str:
    target = head.split(b" ", 2)[1]
    if b"?" in target:  # GET /sparql?query=…
        return parse_qs(target.partition(b"?")[2].decode())["query"][0]
    return body.decode()


def _worker(conn: Connection, store_path: str) -> None:
    store = ox.Store.read_only(store_path)
    while True:
        try:
            query = conn.recv_bytes().decode()
        except EOFError:  # the probe is gone (spawned: no copy of its end here)
            return
        conn.send_bytes(_answer(store, query))


def probe(kind: str, port: int, store_path: str) -> None:
    """Serve lookups on *port* as the probe *kind* (``inline`` or ``hop``)."""
    if kind == "waitress":
        _waitress(port, store_path)
        return
    store = ox.Store.read_only(store_path)
    pipe: Connection | None = None
    if kind == "hop":
        pipe, child = multiprocessing.Pipe()
        multiprocessing.Process(
            target=_worker, args=(child, store_path), daemon=True
        ).start()
    listener = socket.create_server(("127.0.0.1", port), backlog=1024)
    listener.setblocking(False)
    loop = selectors.DefaultSelector()
    loop.register(listener, selectors.EVENT_READ)
    pending: dict[socket.socket, bytes] = {}
    while True:
        for key, _ in loop.select():
            if key.fileobj is listener:
                conn, _ = listener.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                pending[conn] = b""
                loop.register(conn, selectors.EVENT_READ)
                continue
            conn = key.fileobj  # type: ignore[assignment]
            data = conn.recv(65536)
            if not data:
                loop.unregister(conn)
                conn.close()
                del pending[conn]
                continue
            buffer = pending[conn] + data
            while b"\r\n\r\n" in buffer:
                head, _, rest = buffer.partition(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if len(rest) < length:
                    break
                query, buffer = _query_of(head, rest[:length]), rest[length:]
                if pipe is None:
                    body = _answer(store, query)
                else:
                    pipe.send_bytes(query.encode())
                    body = pipe.recv_bytes()
                conn.sendall(_response(body))
            pending[conn] = buffer


def _waitress(port: int, store_path: str) -> None:
    from waitress import serve

    store = ox.Store.read_only(store_path)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = _answer(store, environ["wsgi.input"].read(length).decode())
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/sparql-results+json"),
                ("Content-Length", str(len(body))),
            ],
        )
        return [body]

    serve(app, host="127.0.0.1", port=port, threads=8, _quiet=True)


def start_probe(kind: str, store_path: Path) -> clients.Server:
    port = clients.free_port()
    cmd = [sys.executable, __file__, "--probe", kind, "--port", str(port)]
    cmd += ["--store", str(store_path.resolve())]
    return clients._spawn(kind, cmd, port, "/sparql")


def run(
    store_path: Path, rounds: int, duration: float, counts: list[int]
) -> list[dict[str, Any]]:
    queries = http_layer.lookups(store_path)
    servers = [clients.start_oxigraph(store_path)]
    servers += [start_probe(kind, store_path) for kind in PROBES]
    servers.append(clients.start_mededkg(store_path))
    servers[-1].name = "mededkg serve"
    points: list[dict[str, Any]] = []
    try:
        for round_ in range(rounds):
            order = servers[round_ % len(servers) :] + servers[: round_ % len(servers)]
            for count in counts:
                for server in order:
                    point = clients.throughput(server, queries, count, duration)
                    point["round"] = round_
                    points.append(point)
                    print(json.dumps(point), file=sys.stderr, flush=True)
    finally:
        for server in servers:
            server.stop()
    return points


def table(points: list[dict[str, Any]], counts: list[int]) -> str:
    names = list(dict.fromkeys(p["server"] for p in points))
    ratio: dict[tuple[str, int], list[float]] = {}
    qps: dict[tuple[str, int], list[float]] = {}
    for p in points:
        base = next(
            q["qps"] for q in points
            if q["server"] == "oxigraph" and q["round"] == p["round"]
            and q["clients"] == p["clients"]
        )  # fmt: skip
        key = (p["server"], p["clients"])
        qps.setdefault(key, []).append(p["qps"])
        ratio.setdefault(key, []).append(p["qps"] / base if base else 0.0)
    lines = [
        "| server | " + " | ".join(f"{n} client{'s' * (n > 1)}" for n in counts) + " |",
        "|---" * (len(counts) + 1) + "|",
    ]
    for name in names:
        cells = [
            f"{statistics.median(qps[name, n]):.0f} q/s "
            f"({statistics.median(ratio[name, n]):.2f}×)"
            for n in counts
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=http_layer.ROOT / "var" / "store")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--probe", choices=PROBES, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        probe(args.probe, args.port, str(args.store))
        return 0
    counts = [int(n) for n in args.clients.split(",")]
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    points = run(args.store, args.rounds, args.duration, counts)
    text = table(points, counts)
    print(text)
    record = {
        "started": started,
        "command": " ".join(
            ["python", "bench/request_path.py", *(argv or sys.argv[1:])]
        ),
        "nproc": os.cpu_count(),
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "points": points,
        "table": text,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
