"""Which HTTP layer, and what the request path costs: MedEdKG's app served by waitress
(``mededkg serve``, the default) and by granian (``webapp.wsgi:create``, the same app,
the same query workers), against ``oxigraph serve-read-only`` — all three on the same
store folder, the same clients, interleaved in one run.

    python bench/http_layer.py                       # the real graph, ~4 min
    python bench/http_layer.py --store var/store --rounds 3 --duration 5

It answers one question before any redesign of the serving path (issue 18): is the
time per request in the HTTP layer or in the hop to the query worker? Writes
``bench/results/http-layer.json`` (every point) and prints the medians as a table:
queries/s, and each server's ratio to Oxigraph's in the same round.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyoxigraph as ox

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import clients  # noqa: E402

ROOT = BENCH.parent
OUT = BENCH / "results" / "http-layer.json"


def start_granian(store_path: Path, threads: int) -> clients.Server:
    """The app behind granian (WSGI, one process, *threads* blocking threads), with
    MedEdKG's settings at their defaults but the rate limit (we are the only client)."""
    port = clients.free_port()
    exe = Path(sys.executable).parent / "granian"
    env = dict(
        os.environ,
        MEDEDKG_STORE_PATH=str(store_path),
        MEDEDKG_RATE_LIMIT="0",
        MEDEDKG_THREADS=str(threads),
    )
    cmd = [str(exe), "--interface", "wsgi", "--factory", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--blocking-threads", str(threads)]
    cmd += ["--log-level", "error", "webapp.wsgi:create"]
    return clients._spawn("granian", cmd, port, "/sparql", env)


def lookups(store_path: Path, count: int = 300) -> list[str]:
    """Every property of one typed subject: *count* subjects of the store."""
    store = ox.Store.read_only(str(store_path.resolve()))
    subjects = [
        row[0].value
        for row in store.query(  # type: ignore[union-attr]
            f"SELECT DISTINCT ?s WHERE {{ GRAPH ?g {{ ?s a ?c }} }} LIMIT {count}"
        )
    ]
    return [f"SELECT ?p ?o WHERE {{ <{s}> ?p ?o }}" for s in subjects]


def competency_queries() -> list[str]:
    """The competency queries (``queries/cq*.rq``), as the endpoint's CQ mix."""
    return [clients.query_text(p) for p in sorted((ROOT / "queries").glob("cq*.rq"))]


def build_real_graph(work: Path) -> Path:
    """``mededkg build`` of this checkout into *work*; the store link."""
    store = work / "store"
    subprocess.run(
        [sys.executable, "-m", "mededkg", "build", "-q", "--store-path", str(store)],
        check=True,
    )
    return store


def run(
    store_path: Path, rounds: int, duration: float, counts: list[int], threads: int
) -> list[dict[str, Any]]:
    """Every round: every mix × client count × server, the servers' order rotated."""
    starters: dict[str, Callable[[], clients.Server]] = {
        "waitress": lambda: clients.start_mededkg(store_path, threads=threads),
        "granian": lambda: start_granian(store_path, threads),
        "oxigraph": lambda: clients.start_oxigraph(store_path),
    }
    servers = {name: start() for name, start in starters.items()}
    mixes = {"lookup": lookups(store_path), "cq": competency_queries()}
    points = []
    try:
        for round_ in range(rounds):
            for mix, queries in mixes.items():
                for n in counts:
                    names = list(servers)
                    shift = round_ % len(names)
                    for name in names[shift:] + names[:shift]:
                        server = servers[name]
                        clients.throughput(server, queries[:4], 1, 0.5)  # warm
                        point = clients.throughput(server, queries, n, duration)
                        point.update(round=round_, mix=mix, layer=name)
                        points.append(point)
                        print(
                            f"round {round_} {mix:6} {n:2} clients {name:8} "
                            f"{point['qps']:8.1f} q/s, {point['errors']} errors",
                            file=sys.stderr,
                        )
    finally:
        for server in servers.values():
            server.stop()
    return points


def table(points: list[dict[str, Any]]) -> str:
    """Medians over rounds; each ratio taken within a round, then its median."""
    lines = [
        "| mix | clients | waitress q/s | granian q/s | oxigraph q/s "
        "| waitress ÷ oxigraph | granian ÷ oxigraph |",
        "|---|---|---|---|---|---|---|",
    ]
    keys = sorted(
        {(p["mix"], p["clients"]) for p in points},
        key=lambda k: (k[0] != "lookup", k[1]),
    )
    for mix, n in keys:
        mine = [p for p in points if p["mix"] == mix and p["clients"] == n]
        by_round: dict[int, dict[str, float]] = {}
        for p in mine:
            by_round.setdefault(p["round"], {})[p["layer"]] = p["qps"]
        qps = {
            layer: statistics.median(r[layer] for r in by_round.values())
            for layer in ("waitress", "granian", "oxigraph")
        }
        ratio = {
            layer: statistics.median(
                r[layer] / r["oxigraph"] for r in by_round.values() if r["oxigraph"]
            )
            for layer in ("waitress", "granian")
        }
        lines.append(
            f"| {mix} | {n} | {qps['waitress']:.0f} | {qps['granian']:.0f} "
            f"| {qps['oxigraph']:.0f} | {ratio['waitress']:.2f} "
            f"| {ratio['granian']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--store", type=Path, help="a built store (default: build the real graph)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument(
        "--threads", type=int, default=8, help="HTTP threads (the default setting)"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.clients.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or build_real_graph(Path(tmp))
        points = run(store.resolve(), args.rounds, args.duration, counts, args.threads)
    text = table(points)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": "python bench/http_layer.py " + " ".join(argv or sys.argv[1:]),
        "nproc": os.cpu_count(),
        "points": points,
        "table": text,
    }
    tmp_out = args.out.with_suffix(".tmp")
    tmp_out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    tmp_out.replace(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
