"""Load benchmark: 32 loopback clients against ``mededkg serve`` over the real graph
(cheap lookups, the competency queries of ``queries/``, two pathological clients,
and one client that floods), for 60 s by default.

Prints the figures and writes ``bench/results/load.json``: requests and statuses by
kind, cheap-query p50/p99, named-query p99, the longest pathological answer, the
``Retry-After`` values the flooder saw, and the largest resident memory of the
server's process tree against its cap. Bounded in time; stops by itself.

Usage: ``python bench/load.py [--seconds 60] [--pause 0.2 1.0] [--store var/store]``
(build first).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mededkg.resources import default_root  # noqa: E402
from tests.test_under_load import (  # noqa: E402
    client_session,
    run_load,
    start_server,
    stop_server,
)

RESULTS = Path(__file__).parent / "results" / "load.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--store", default=str(default_root() / "var" / "store"))
    parser.add_argument(
        "--pause",
        type=float,
        nargs=2,
        default=(0.2, 1.0),
        help="seconds a client waits between requests (min max)",
    )
    args = parser.parse_args()
    process, url = start_server(Path(args.store), default_root())
    try:
        listing = requests.get(url + "/api/queries", timeout=30).json()
        names = tuple(q["name"] for q in listing if q["name"].startswith("cq"))
        with client_session("127.0.0.9") as warm:  # warm the workers' caches
            for name in names:
                warm.get(f"{url}/api/queries/{name}", timeout=60)
        result = run_load(
            url,
            seconds=args.seconds,
            server_pid=process.pid,
            named=names,
            pause=(args.pause[0], args.pause[1]),
        )
    finally:
        stop_server(process)
    result["named_queries"] = list(names)
    print(json.dumps(result, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
