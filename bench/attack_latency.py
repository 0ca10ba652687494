"""Latency of a cheap query while a pathological one runs into the time limit.

Serves the built store (``mededkg build`` first) with waitress on a free loopback port,
sends one query that never yields a row (a five-way cartesian product under COUNT),
and meanwhile times cheap ``ASK`` queries from another client. Prints a table and
writes ``bench/results/attack_latency.json``.

Usage: ``python bench/attack_latency.py [--timeout 5] [--store var/store]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path

import requests

from mededkg.settings import load_config
from webapp import create_app
from webapp.server import make_server

PATHOLOGICAL = (
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . "
    "?m ?n2 ?o }"
)
CHEAP = "ASK { ?s ?p ?o }"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--store", default="")
    args = parser.parse_args()
    overrides = {"query_timeout": args.timeout, "store_path": args.store or None}
    config = load_config(overrides, {})
    server = make_server(create_app(config), config, host="127.0.0.1", port=0)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{server.effective_port}/sparql"
    headers = {"Accept": "application/sparql-results+json"}
    requests.get(url, params={"query": CHEAP}, headers=headers, timeout=30)
    outcome: dict[str, float] = {}

    def attack() -> None:
        start = time.perf_counter()
        response = requests.get(
            url, params={"query": PATHOLOGICAL}, headers=headers, timeout=60
        )
        outcome["status"] = response.status_code
        outcome["seconds"] = time.perf_counter() - start

    attacker = threading.Thread(target=attack)
    attacker.start()
    time.sleep(0.2)
    latencies: list[float] = []
    while attacker.is_alive():
        start = time.perf_counter()
        requests.get(url, params={"query": CHEAP}, headers=headers, timeout=30)
        latencies.append((time.perf_counter() - start) * 1000)
    attacker.join()
    latencies.sort()
    result = {
        "time_limit_s": args.timeout,
        "pathological_status": outcome["status"],
        "pathological_answered_after_s": round(outcome["seconds"], 3),
        "cheap_queries": len(latencies),
        "cheap_p50_ms": round(statistics.median(latencies), 2),
        "cheap_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
        "cheap_max_ms": round(latencies[-1], 2),
    }
    for key, value in result.items():
        print(f"{key:<32} {value}")
    out = Path(__file__).parent / "results" / "attack_latency.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    server.close()


if __name__ == "__main__":
    main()
