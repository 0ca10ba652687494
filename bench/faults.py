"""Fault benchmark: ``kill -9`` during a build, an export and acknowledged updates,
200 runs each (the CI tests run 10), on the fixture project.

Prints the counts and writes ``bench/results/faults.json``: for each harness the runs,
how many left the old and how many the new store or file, and any broken outcome
(there must be none); for updates, how many were acknowledged and how many were lost.

Usage: ``python bench/faults.py [--runs 200]`` (about 15 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import FIXTURE_ROOT
from tests.test_faults import (
    build_harness,
    copy_store,
    export_harness,
    mededkg,
    update_harness,
)

RESULTS = Path(__file__).parent / "results" / "faults.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    import subprocess

    results: dict[str, object] = {"runs_each": args.runs}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        subprocess.run(
            mededkg("build", "-q", "--root", str(FIXTURE_ROOT), "--store-path",
                    str(folder / "template" / "store")),
            check=True,
        )  # fmt: skip
        template = (folder / "template" / "store").resolve()
        for name, run in (
            ("build", lambda: build_harness(args.runs, folder / "build")),
            (
                "export",
                lambda: export_harness(
                    args.runs,
                    _mkdir(folder / "export"),
                    copy_store(template, folder / "export-store"),
                ),
            ),
            ("update", lambda: update_harness(args.runs, folder / "update", template)),
        ):
            start = time.monotonic()
            tally = run()
            results[name] = {
                **tally.as_dict(),
                "seconds": round(time.monotonic() - start),
            }
            print(name, json.dumps(results[name]), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS}")


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


if __name__ == "__main__":
    main()
