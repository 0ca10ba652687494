"""First answer: seconds from ``mededkg serve`` on a machine with no store yet (what
``make run`` does on a fresh clone, once the dependencies are installed) to the first
``ASK { ?s ?p ?o }`` answered true — the build with the default settings, then the
server's start. Each run uses a new, empty store folder; the runs are sequential.

    python bench/first_answer.py [--runs 3] [--out bench/results/first-answer.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clients

MEDEDKG = Path(sys.executable).with_name("mededkg")
STEP = re.compile(r"^\s+(load|reason|validate|dumps|store)\s+[\d,]+\s+\w+\s+([\d.]+) s")


def first_answer() -> dict[str, Any]:
    """One run: serve with an empty store folder, poll until ASK answers true."""
    with tempfile.TemporaryDirectory() as folder:
        port = clients.free_port()
        log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by Server.stop)
        env = {**os.environ, "MEDEDKG_RATE_LIMIT": "0"}
        start = time.perf_counter()
        process = subprocess.Popen(
            [str(MEDEDKG), "serve", "--port", str(port), "--store-path",
             str(Path(folder) / "store")],
            stdout=subprocess.DEVNULL, stderr=log, env=env,
        )  # fmt: skip
        server = clients.Server("mededkg", process, port, "/sparql", log)
        try:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(server.log_tail())
                try:
                    status, body = clients.request(server, "ASK { ?s ?p ?o }")
                    if status == 200 and json.loads(body).get("boolean") is True:
                        break
                except OSError:
                    pass
                time.sleep(0.05)
            seconds = time.perf_counter() - start
            steps = {
                m.group(1): float(m.group(2))
                for m in map(STEP.match, server.log_tail(20000).splitlines())
                if m
            }
        finally:
            server.stop()
    return {"seconds": round(seconds, 2), "steps": steps}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    runs = [first_answer() for _ in range(args.runs)]
    summary = {
        "median_seconds": statistics.median(r["seconds"] for r in runs),
        "runs": runs,
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    text = json.dumps(summary, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
