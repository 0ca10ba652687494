"""MedEdKG benchmarks, one command: build, endpoint overhead, throughput, LUBM.

    python bench/run.py [--sizes 10k,100k,1M] [--quick] [--no-lubm]

For each size a synthetic graph shaped like the real data (``bench/synthetic.py``) is
added to the project's own build; then:

1. **build**: each step (load, reason, validate, store, dumps) timed with its peak
   memory, in its own process (``bench/pipeline.py``);
2. **endpoint vs engine**: every ``queries/*.rq`` through ``mededkg serve`` (HTTP,
   JSON results) and on pyoxigraph directly, median of a few runs, as a ratio;
3. **throughput**: 1, 8 and 32 keep-alive clients for a fixed time on loopback, on
   the competency-query mix and on cheap lookups, against ``mededkg serve`` and
   ``oxigraph serve`` on the same storage kind, side by side: by default both read
   the same store folder on disk (``serve-read-only``); with ``--serve-in-memory``
   both serve from memory (Oxigraph's in-memory store holding the same quads).
   Every row says which (``storage``); no ratio compares memory with disk.

Then **LUBM(1)**: the project plus the LUBM ontology and data (``--add``), built with
the fast reasoner (and, unless ``--quick``, with owlrl too), its 14 queries through
the endpoint, answers compared with the reference answers (completeness, soundness).

Prints tables; writes ``bench/results/results.json`` and ``bench/results/README.md``
(with the machine described). Every figure carries ``os.getloadavg()``: the machine
may be shared.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import functools
import gzip
import importlib.metadata
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyoxigraph as ox

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clients
import synthetic

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LUBM = BENCH / "lubm"
RESULTS = BENCH / "results"
SYN_IRI = synthetic.SYN
#: Queries that need the network (SERVICE to Wikidata) are not benchmarked.
SKIP_QUERIES = {"federated-wikidata-inception"}
LUBM_EXPECTED = {
    1: 4, 2: 0, 3: 6, 4: 34, 5: 719, 6: 7790, 7: 67,
    8: 7790, 9: 208, 10: 4, 11: 224, 12: 15, 13: 1, 14: 5916,
}  # fmt: skip


def machine() -> dict[str, Any]:
    """Describe the machine and the software versions."""
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    free = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout
    packages: dict[str, str | None] = {}
    for name in ("pyoxigraph", "oxigraph", "rdflib", "owlrl", "pyshacl", "flask",
                 "waitress", "psutil"):  # fmt: skip
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "free_g": free.strip(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": packages,
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


def run_pipeline(
    store_path: Path, added: list[Path], *, reasoner: str, dumps: bool, stream: bool
) -> dict[str, Any]:
    """One build in its own process (so its peak memory is its own)."""
    cmd = [sys.executable, str(BENCH / "pipeline.py"), "--store-path", str(store_path)]
    cmd += ["--reasoner", reasoner]
    for path in added:
        cmd += ["--add", str(path)]
    if not dumps:
        cmd.append("--no-dumps")
    if stream:
        cmd.append("--stream")
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        return {"error": done.stderr[-2000:], "seconds": time.perf_counter() - start}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def named_queries() -> dict[str, str]:
    """Every ``queries/*.rq`` except those that need the network."""
    return {
        p.stem: clients.query_text(p)
        for p in sorted((ROOT / "queries").glob("*.rq"))
        if p.stem not in SKIP_QUERIES
    }


def lookup_queries(count: int, institutions: int) -> list[str]:
    """Cheap lookups: every property of one synthetic institution or hospital."""
    rng = random.Random(1)
    out = []
    for _ in range(count):
        kind = rng.choice(("institution", "hospital"))
        n = rng.randrange(
            max(1, institutions if kind == "institution" else 2 * institutions)
        )
        out.append(f"SELECT ?p ?o WHERE {{ <{SYN_IRI}{kind}/{n}> ?p ?o }}")
    return out


def latency(
    store_path: Path,
    server: clients.Server,
    queries: dict[str, str],
    *,
    repeat: int,
    budget: float,
    limit: int,
    in_memory: bool = False,
) -> list[dict[str, Any]]:
    """Each query on the engine and through the endpoint, interleaved run by run:
    medians and the ratio.

    The engine runs in a child process stopped after *budget* seconds per query; the
    endpoint stops a query at its own ``query_timeout`` (504). Either way the row says
    so (``engine_ms`` None, ``status`` 504) instead of the run stalling.
    """
    engine = clients.Engine(store_path, in_memory=in_memory)
    rows = []
    try:
        for name, text in queries.items():
            engine_s, engine_rows = engine.median(text, limit, 1, budget)
            status, body = clients.request(server, text)  # warm (worker, caches)
            http_s = None
            if status == 200:
                status, body = clients.request(server, text)
                both = None
                if engine_s is not None:
                    both = _interleaved(engine, server, text, limit, repeat, budget)
                if both is not None:
                    engine_s, http_s = both
                else:
                    http_s = clients.median_time(
                        functools.partial(clients.request, server, text), repeat, budget
                    )
            rows.append({
                "query": name,
                "status": status,
                "rows_engine": engine_rows,
                "rows_http": _rows(body) if status == 200 else None,
                "engine_ms": _ms(engine_s),
                "http_ms": _ms(http_s),
                "ratio": round(http_s / engine_s, 2) if engine_s and http_s else None,
                "loadavg": [round(x, 2) for x in os.getloadavg()],
            })  # fmt: skip
            print(f"  {name}: {rows[-1]}", file=sys.stderr)
    finally:
        engine.close()
    return rows


def _interleaved(
    engine: clients.Engine,
    server: clients.Server,
    text: str,
    limit: int,
    repeat: int,
    budget: float,
) -> tuple[float, float] | None:
    """Median seconds of the engine and of the endpoint over *repeat* rounds of one
    engine run then one request (fewer past *budget*), so a busy moment of the
    machine falls on both sides alike; None if the engine ran past its budget."""
    engine_runs: list[float] = []
    http_runs: list[float] = []
    spent = time.perf_counter()
    for _ in range(repeat):
        seconds, _ = engine.median(text, limit, 1, budget)
        if seconds is None:
            break
        engine_runs.append(seconds)
        start = time.perf_counter()
        clients.request(server, text)
        http_runs.append(time.perf_counter() - start)
        if time.perf_counter() - spent > budget:
            break
    if not engine_runs:
        return None
    return statistics.median(engine_runs), statistics.median(http_runs)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(1000 * seconds, 2)


def _rows(body: bytes) -> int | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if "boolean" in data:
        return 1
    return len(data.get("results", {}).get("bindings", []))


def throughput_runs(
    store_path: Path,
    ours: clients.Server,
    mixes: dict[str, list[str]],
    counts: list[int],
    seconds: float,
    *,
    in_memory: bool = False,
) -> list[dict[str, Any]]:
    """Both servers on the same storage kind (*in_memory* or both from the store
    folder), every mix and client count; ratio = ours / oxigraph."""
    theirs = clients.start_oxigraph(store_path, in_memory=in_memory)
    storage = "memory" if in_memory else "disk"
    out = []
    try:
        for mix, queries in mixes.items():
            for n in counts:
                for server in (ours, theirs):
                    clients.throughput(
                        server, queries[:4], 1, min(1.0, seconds)
                    )  # warm
                a = clients.throughput(ours, queries, n, seconds)
                b = clients.throughput(theirs, queries, n, seconds)
                ratio = round(a["qps"] / b["qps"], 2) if b["qps"] else None
                out.append({
                    "mix": mix, "clients": n, "storage": storage,
                    "mededkg": a, "oxigraph": b, "qps_ratio": ratio,
                })  # fmt: skip
    finally:
        theirs.stop()
    return out


def _serve_settings(args: argparse.Namespace) -> dict[str, str]:
    settings: dict[str, str] = {}
    if args.query_workers is not None:
        settings["query_workers"] = str(args.query_workers)
    if args.serve_in_memory:
        settings["serve_in_memory"] = "true"
    return settings


def bench_size(label: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Generate, build, measure latency and throughput at one size."""
    size = synthetic.parse_size(label)
    data = work / f"synthetic-{label}.nt"
    start = time.perf_counter()
    with data.open("w", encoding="utf-8") as out:
        generated = synthetic.write(size, out)
    gen_s = time.perf_counter() - start
    print(f"[{label}] generated {generated} triples in {gen_s:.1f} s", file=sys.stderr)
    store_path = work / f"store-{label}" / "store"
    stream = size > synthetic.parse_size(args.stream_above)
    build = run_pipeline(
        store_path, [data], reasoner=args.reasoner,
        dumps=size <= synthetic.parse_size(args.dumps_limit), stream=stream,
    )  # fmt: skip
    build["generate_seconds"] = round(gen_s, 2)
    build["synthetic_triples"] = generated
    result: dict[str, Any] = {"size": label, "build": build}
    print(f"[{label}] build: {json.dumps(build)[:400]}", file=sys.stderr)
    if "error" in build:
        return result
    server = clients.start_mededkg(
        store_path, threads=args.threads, **_serve_settings(args)
    )
    try:
        result["latency"] = latency(
            store_path, server, named_queries(), repeat=args.repeat,
            budget=args.query_budget, limit=10000,
            in_memory=args.serve_in_memory,
        )  # fmt: skip
        institutions = generated // 110
        mixes = {  # lookups first: no slow query of the other mix still running
            "lookup": lookup_queries(500, institutions),
            "cq": [q for n, q in named_queries().items() if n.startswith("cq")],
        }
        result["server_rss_mb_after_latency"] = server.rss_mb()
        result["throughput"] = throughput_runs(
            store_path, server, mixes, args.clients, args.duration,
            in_memory=args.serve_in_memory,
        )  # fmt: skip
        result["server_rss_mb_after_throughput"] = server.rss_mb()
    finally:
        server.stop()
    shutil.rmtree(store_path.parent, ignore_errors=True)
    data.unlink()
    return result


def lubm_reference(number: int) -> tuple[list[str], set[tuple[str, ...]]]:
    """The reference answer rows of LUBM query *number* (header, rows)."""
    with (LUBM / "answers_lubm1" / f"answers_query{number}.csv").open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        return header, {tuple(row) for row in reader if row}


def lubm_rows(answer: dict[str, Any], header: list[str]) -> set[tuple[str, ...]]:
    """Rows of a SPARQL JSON result in the column order of the reference CSV."""
    out = set()
    for binding in answer["results"]["bindings"]:
        out.add(tuple(binding.get(v, {}).get("value", "") for v in header))
    return out


def bench_lubm(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """LUBM(1): build with --add, 14 queries through the endpoint, vs reference."""
    data = work / "lubm1.nt"
    with gzip.open(LUBM / "data_lubm1_University0_all.nt.gz", "rb") as src:
        data.write_bytes(src.read())
    added = [LUBM / "ontology" / "univ-bench.2004ns.ttl", data]
    out: dict[str, Any] = {"builds": {}, "queries": []}
    reasoners = ["fast"] if args.quick else args.lubm_reasoners.split(",")
    stores = {}
    for reasoner in reasoners:
        store_path = work / f"lubm-{reasoner}" / "store"
        build = run_pipeline(store_path, added, reasoner=reasoner, dumps=False,
                             stream=False)  # fmt: skip
        out["builds"][reasoner] = build
        print(f"[lubm/{reasoner}] {json.dumps(build)[:400]}", file=sys.stderr)
        if "error" not in build:
            stores[reasoner] = store_path
    if "fast" not in stores:
        return out
    server = clients.start_mededkg(
        stores["fast"], threads=args.threads, **_serve_settings(args)
    )
    others = {r: ox.Store.read_only(str(p.resolve())) for r, p in stores.items()}
    try:
        for number in range(1, 15):
            text = (LUBM / "queries" / f"q{number}.rq").read_text()
            header, reference = lubm_reference(number)
            start = time.perf_counter()
            status, body = clients.request(server, text)
            seconds = time.perf_counter() - start
            got = lubm_rows(json.loads(body), header) if status == 200 else set()
            both = len(got & reference)
            row: dict[str, Any] = {
                "query": f"Q{number}",
                "reference": len(reference),
                "answers": len(got),
                "complete": both == len(reference),
                "sound": both == len(got),
                "completeness": round(both / len(reference), 4) if reference else 1.0,
                "soundness": round(both / len(got), 4) if got else 1.0,
                "http_ms": round(1000 * seconds, 1),
            }
            for reasoner, store in others.items():
                solutions = store.query(text, use_default_graph_as_union=True)
                assert isinstance(solutions, ox.QuerySolutions)
                row[f"count_{reasoner}"] = len({tuple(map(str, s)) for s in solutions})
            out["queries"].append(row)
    finally:
        server.stop()
        del others
    for reasoner in stores:
        shutil.rmtree(stores[reasoner].parent, ignore_errors=True)
    data.unlink()
    return out


# ---------------------------------------------------------------------------- tables


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join("" if c is None else str(c) for c in r) + " |" for r in rows
    ]
    return "\n".join(lines)


#: How each storage kind of a throughput table is described.
_STORAGE = {
    "disk": "the same on-disk store folder (the default configuration)",
    "memory": "memory (`--serve-in-memory`; Oxigraph's in-memory store, same quads)",
}


def tables(results: dict[str, Any]) -> str:
    """All results as Markdown tables."""
    parts: list[str] = []
    for entry in results["sizes"]:
        label, build = entry["size"], entry["build"]
        parts.append(f"### {label} synthetic triples (+ the real graph)\n")
        if "error" in build:
            parts.append(f"build failed: `{build['error'][-300:]}`\n")
            continue
        rows = [
            [s["step"], s.get("triples"), s["seconds"], s.get("cpu_seconds"),
             s.get("peak_rss_mb"), s["loadavg"][0]]
            for s in build["steps"]
        ]  # fmt: skip
        whole = build.get("build", {})
        rows.append(["**build, wall** (validate runs beside reason and store)", "",
                     whole.get("seconds"), whole.get("cpu_seconds"),
                     build["peak_rss_mb"], ""])  # fmt: skip
        parts.append(_table(
            ["step", "triples", "wall s", "CPU s", "peak RSS MB", "load avg"], rows
        ))  # fmt: skip
        for note in build.get("notes", []):
            parts.append(f"\n- {note}")
        if "server_rss_mb_after_throughput" in entry:
            parts.append(
                "\n- `mededkg serve` resident memory (server + query workers): "
                f"{entry['server_rss_mb_after_latency']} MB after the latency runs, "
                f"{entry['server_rss_mb_after_throughput']} MB after the throughput"
            )
        if "latency" in entry:
            parts.append(
                "\n\nEndpoint vs engine (median, ms; ratio = HTTP / engine):\n"
            )
            parts.append(_table(
                ["query", "status", "rows", "engine ms", "HTTP ms", "ratio"],
                [[r["query"], r["status"], r["rows_http"],
                  r["engine_ms"] if r["engine_ms"] is not None else "> budget",
                  r["http_ms"], r["ratio"]]
                 for r in entry["latency"]],
            ))  # fmt: skip
        if "throughput" in entry:
            storage = entry["throughput"][0].get("storage", "disk")
            parts.append(
                "\n\nThroughput (q/s) and latency (ms), MedEdKG vs oxigraph serve, "
                f"both serving from {_STORAGE[storage]}:\n"
            )
            parts.append(_table(
                ["mix", "clients", "MedEdKG q/s", "p50", "p99", "errors",
                 "oxigraph q/s", "p50", "p99", "ratio"],
                [[t["mix"], t["clients"], t["mededkg"]["qps"], t["mededkg"]["p50_ms"],
                  t["mededkg"]["p99_ms"], t["mededkg"]["errors"], t["oxigraph"]["qps"],
                  t["oxigraph"]["p50_ms"], t["oxigraph"]["p99_ms"], t["qps_ratio"]]
                 for t in entry["throughput"]],
            ))  # fmt: skip
        parts.append("\n")
    lubm = results.get("lubm")
    if lubm:
        parts.append("### LUBM(1)\n")
        for reasoner, build in lubm["builds"].items():
            if "error" in build:
                parts.append(f"- {reasoner}: build failed `{build['error'][-300:]}`")
                continue
            steps = ", ".join(
                f"{s['step']} {s['seconds']} s (CPU {s.get('cpu_seconds')} s)"
                for s in build["steps"]
            )
            whole = build.get("build", {})
            parts.append(f"- build with `{reasoner}`: {steps}; "
                         f"**build {whole.get('seconds')} s wall, "
                         f"{whole.get('cpu_seconds')} s CPU**, "
                         f"peak {build['peak_rss_mb']} MB, load avg "
                         f"{build['steps'][-1]['loadavg'][0]}")  # fmt: skip
        extra = [
            k
            for k in (lubm["queries"][0] if lubm["queries"] else {})
            if k.startswith("count_")
        ]
        parts.append("\n" + _table(
            ["query", "reference", "answers", "complete", "sound", "HTTP ms", *extra],
            [[q["query"], q["reference"], q["answers"], q["complete"], q["sound"],
              q["http_ms"], *(q[k] for k in extra)] for q in lubm["queries"]],
        ))  # fmt: skip
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", help="default 10k,100k,1M (--quick: 2k)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2k triples, 1 s per point, 2 repeats, LUBM fast reasoner only",
    )
    parser.add_argument("--no-lubm", action="store_true")
    parser.add_argument(
        "--lubm-reasoners",
        default="fast,owlrl",
        help="reasoners LUBM(1) is built with (owlrl, the reference, takes ~7 min)",
    )
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument(
        "--duration", type=float, help="seconds per throughput point (10; quick 1)"
    )
    parser.add_argument("--repeat", type=int, help="runs per query (7; quick 2)")
    parser.add_argument(
        "--query-budget", type=float, help="seconds per query at most (20; quick 5)"
    )
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--query-workers",
        type=int,
        help="query worker processes (default: the server's own default setting)",
    )
    parser.add_argument(
        "--serve-in-memory",
        action="store_true",
        help="mededkg serves an in-memory copy (the engine baseline is one too)",
    )
    parser.add_argument("--reasoner", default="fast", choices=("fast", "owlrl"))
    parser.add_argument(
        "--dumps-limit", default="100k", help="time the downloads up to this size"
    )
    parser.add_argument(
        "--stream-above",
        default="2M",
        help="above this size: bulk load, no reasoning or validation",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    defaults = (
        {"sizes": "2k", "duration": 1.0, "repeat": 2, "query_budget": 5.0}
        if args.quick
        else {
            "sizes": "10k,100k,1M",
            "duration": 10.0,
            "repeat": 7,
            "query_budget": 20.0,
        }
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.clients = [int(n) for n in args.clients.split(",")]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mededkg-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python", "bench/run.py", *(argv or sys.argv[1:])]),
        "machine": machine(),
        "settings": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
        },
        "sizes": [],
    }
    try:
        for label in args.sizes.split(","):
            results["sizes"].append(bench_size(label.strip(), args, work))
        if not args.no_lubm:
            results["lubm"] = bench_lubm(args, work)
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    text = tables(results)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "quick.json" if args.quick else "results.json"
    (args.out / name).write_text(
        json.dumps(results, indent=1, ensure_ascii=False) + "\n"
    )
    if not args.quick:
        (args.out / "README.md").write_text(readme(results, text, args.out))
    return 0


def readme(results: dict[str, Any], text: str, out: Path) -> str:
    """The README.md of a results folder *out*: the machine, the command, the tables."""
    m = results["machine"]
    docs = os.path.relpath(ROOT / "docs" / "benchmarks.md", out.resolve())
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    return (
        "# Benchmark results\n\n"
        f"Produced by `{results['command']}` on {results['started']} "
        f"(see [docs/benchmarks.md]({docs}) for what is measured and "
        "the targets). Raw figures: [results.json](results.json).\n\n"
        "## Machine\n\n"
        f"- CPU: {m['cpu']} — `nproc` {m['nproc']}\n"
        f"- Python {m['python']} on {m['platform']}\n"
        f"- packages: {packages}\n"
        f"- load average at start {m['loadavg_start']}, at end {m.get('loadavg_end')} "
        "(the machine may be shared: every figure carries the load average)\n\n"
        f"```\n$ free -g\n{m['free_g']}\n```\n\n## Results\n\n{text}\n"
    )


if __name__ == "__main__":
    raise SystemExit(main())
