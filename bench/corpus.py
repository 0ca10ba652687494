"""Corpus and fuzzing benchmark: the full bad-input corpus (every CLI item as its own
process) and 100 hypothesis round-trips per export format.

Runs ``tests/test_corpus.py`` and ``tests/test_fuzz.py`` with the long settings and
writes ``bench/results/corpus.json`` (items tried, 4xx rate, statuses, CLI exits) and
``bench/results/fuzz.json`` (round-trips per format, answers to generated queries).

Usage: ``python bench/corpus.py`` (about 5 minutes on 2 cores).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "MEDEDKG_CORPUS_FULL": "1",
        "MEDEDKG_CORPUS_RESULTS": str(RESULTS / "corpus.json"),
        "HYPOTHESIS_PROFILE": "bench",
        "MEDEDKG_FUZZ_QUERIES": "300",
        "MEDEDKG_FUZZ_RESULTS": str(RESULTS / "fuzz.json"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_corpus.py", "tests/test_fuzz.py"],
        cwd=ROOT,
        env=env,
        check=False,
    )  # fmt: skip
    for name in ("corpus.json", "fuzz.json"):
        path = RESULTS / name
        if path.exists():
            print(f"{path.relative_to(ROOT)}: {path.read_text()}")
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
