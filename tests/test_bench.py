"""Smoke tests of the benchmarks: the synthetic generator and `bench/run.py --quick`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import synthetic  # noqa: E402

ROR_PATTERN = re.compile(r"^0[a-hj-km-np-tv-z0-9]{6}[0-9]{2}$")


def test_synthetic_graph_is_shaped_like_the_data_and_clearly_synthetic() -> None:
    text = "\n".join(synthetic.generate(5000)) + "\n"
    triples = [q.triple for q in ox.parse(text, format=ox.RdfFormat.N_TRIPLES)]
    assert 5000 <= len(triples) <= 5050
    assert all(t.subject.value.startswith(synthetic.SYN) for t in triples)
    types = {
        t.object.value.rsplit("#", 1)[-1]
        for t in triples
        if t.predicate.value.endswith("#type")
    }
    assert {"Hospital", "Programme", "SecondLevelDiscipline", "GovernmentBody"} <= types
    rors = [t.object.value for t in triples if t.predicate.value.endswith("#rorId")]
    assert rors and all(ROR_PATTERN.match(r) and r.startswith("0zz") for r in rors)
    assert all(r.endswith("00") for r in rors), "check digits 00: never a valid ROR id"
    codes = [t.object.value for t in triples if t.predicate.value.endswith("#moeCode")]
    assert codes and all(c.startswith("99") and len(c) == 10 for c in codes)


def test_synthetic_sizes_parse() -> None:
    assert [synthetic.parse_size(s) for s in ("10k", "1M", "10M", "1234")] == [
        10_000,
        1_000_000,
        10_000_000,
        1234,
    ]


def test_quick_benchmark_runs_and_writes_json(tmp_path: Path) -> None:
    cmd = [sys.executable, str(BENCH / "run.py"), "--quick", "--no-lubm"]
    cmd += ["--sizes", "500", "--clients", "1,2", "--duration", "0.3", "--repeat", "1"]
    cmd += ["--dumps-limit", "0", "--out", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Endpoint vs engine" in done.stdout
    results = json.loads((tmp_path / "quick.json").read_text())
    size = results["sizes"][0]
    assert [s["step"] for s in size["build"]["steps"]] == [
        "load",
        "reason",
        "validate",
        "store",
    ]
    assert all(row["status"] == 200 for row in size["latency"])
    assert all(row["rows_http"] == row["rows_engine"] for row in size["latency"])
    assert {t["mix"] for t in size["throughput"]} == {"cq", "lookup"}
    assert results["machine"]["nproc"]
