"""Build time, like for like: ``mededkg build`` with the default settings, on the real
graph and on LUBM(1) (the project plus the LUBM ontology and data, ``--add``), wall
time and the time of each step, for one or more versions of the code run interleaved
(A B A B …: load that comes and goes hits every version alike).

    python bench/build_time.py [--rounds 3] [--no-lubm] [--out FILE]
        [--tree before=/path/to/an/old/checkout] [--tree after=.]

A *tree* is a checkout of MedEdKG; each build runs ``python -m mededkg build`` with that
tree first on ``PYTHONPATH`` (the current virtual environment's packages) and a new,
empty store folder. Without ``--tree``: this checkout only. Prints medians per version
and case, and writes every run to ``--out`` (default
``bench/results/build-time.json``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LUBM = ROOT.parent / "shared" / "bench" / "lubm"
STEP = re.compile(r"^\s+(load|reason|validate|dumps|store)\s+[\d,]+\s+\w+\s+([\d.]+) s")


def build_once(tree: Path, added: list[Path], work: Path) -> dict[str, Any]:
    """One ``mededkg build`` of *tree* (plus *added*) into a new store: wall seconds
    and each step's seconds as the CLI printed them."""
    store = Path(tempfile.mkdtemp(dir=work)) / "store"
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "MEDEDKG_ROOT": str(tree),
        "COLUMNS": "200",
    }
    command = [sys.executable, "-m", "mededkg", "build", "--store-path", str(store)]
    for path in added:
        command += ["--add", str(path)]
    start = time.perf_counter()
    # cwd: ``python -m`` puts the working folder first on sys.path.
    done = subprocess.run(
        command, env=env, cwd=work, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    shutil.rmtree(store.parent, ignore_errors=True)
    if done.returncode != 0:
        raise RuntimeError(f"build of {tree} failed:\n{done.stderr[-2000:]}")
    steps = {
        m.group(1): float(m.group(2))
        for line in done.stderr.splitlines()
        if (m := STEP.match(line))
    }
    return {"seconds": round(seconds, 2), "steps": steps}


def main() -> None:
    """Run the rounds, print the medians, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", action="append", default=[], metavar="LABEL=PATH")
    parser.add_argument("--no-lubm", action="store_true")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench/results/build-time.json"
    )
    args = parser.parse_args()
    trees = [
        (label, Path(path).resolve())
        for label, _, path in (spec.partition("=") for spec in args.tree)
    ] or [("this", ROOT)]
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        cases: dict[str, list[Path]] = {"real graph": []}
        if not args.no_lubm:
            data = work / "lubm1.nt"
            with gzip.open(LUBM / "data_lubm1_University0_all.nt.gz", "rb") as src:
                data.write_bytes(src.read())
            cases["LUBM(1)"] = [LUBM / "ontology" / "univ-bench.2004ns.ttl", data]
        for number in range(1, args.rounds + 1):
            for case, added in cases.items():
                for label, tree in trees:
                    run = {"round": number, "case": case, "version": label}
                    run |= build_once(tree, added, work)
                    print(json.dumps(run), file=sys.stderr, flush=True)
                    runs.append(run)
    summary = []
    for case in dict.fromkeys(r["case"] for r in runs):
        for label, _ in trees:
            mine = [r for r in runs if r["case"] == case and r["version"] == label]
            steps = sorted({s for r in mine for s in r["steps"]})
            summary.append(
                {
                    "case": case,
                    "version": label,
                    "median_seconds": statistics.median(r["seconds"] for r in mine),
                    "median_steps": {
                        s: statistics.median(r["steps"].get(s, 0.0) for r in mine)
                        for s in steps
                    },
                }
            )
    for row in summary:
        steps = ", ".join(f"{k} {v:.2f}" for k, v in row["median_steps"].items())
        head = f"{row['case']:<11} {row['version']:<8} {row['median_seconds']:6.2f} s"
        print(f"{head}  ({steps})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "command": "python bench/build_time.py " + " ".join(sys.argv[1:]),
                "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "cpus": os.cpu_count(),
                "summary": summary,
                "runs": runs,
            },
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
