"""Smoke tests of the benchmarks: the synthetic generator and `bench/run.py --quick`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox

from mededkg.pipeline.build import build
from mededkg.resources import default_root
from mededkg.settings import Config
from tests.conftest import make_config

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


def test_synthetic_graph_added_to_the_project_conforms_to_the_shapes(
    tmp_path: Path,
) -> None:
    """The bench builds reason and validate the synthetic graph whole: a violation
    would stop every measured build (as the missing evidence nodes once did)."""
    data = tmp_path / "synthetic.nt"
    data.write_text("\n".join(synthetic.generate(3000)) + "\n", encoding="utf-8")
    config = make_config(default_root(), tmp_path / "store")
    result = build(config, [data], write=False)  # raises ValidationFailed otherwise
    assert result.report.conforms
    assert any(
        q.subject.value.startswith(synthetic.SYN + "evidence/") for q in result.quads
    )


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
    # the steps of `mededkg build` itself, as it reports them (validation runs
    # beside reasoning and the store write; the downloads are listed, not written)
    steps = [s["step"] for s in size["build"]["steps"]]
    assert sorted(steps) == ["dumps", "load", "reason", "store", "validate"]
    assert size["build"]["build"]["conforms"] is True
    # each step happens within the build: none is longer than the build's wall time
    wall = size["build"]["build"]["seconds"]
    assert all(s["seconds"] <= wall for s in size["build"]["steps"])
    assert all(row["status"] == 200 for row in size["latency"])
    assert all(row["rows_http"] == row["rows_engine"] for row in size["latency"])
    assert {t["mix"] for t in size["throughput"]} == {"cq", "lookup"}
    assert {t["storage"] for t in size["throughput"]} == {"disk"}
    assert "both serving from the same on-disk store folder" in done.stdout
    assert results["machine"]["nproc"]


def test_oxigraph_baseline_serves_the_same_quads_from_disk_and_from_memory(
    fixture_config: Config,
) -> None:
    """Like for like: the in-memory baseline (``--serve-in-memory`` runs) holds every
    quad of the store folder the on-disk baseline reads."""
    import clients

    count = "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"
    answers = {}
    for in_memory in (False, True):
        server = clients.start_oxigraph(fixture_config.store_path, in_memory=in_memory)
        try:
            status, body = clients.request(server, count)
        finally:
            server.stop()
        assert status == 200, body
        answers[in_memory] = json.loads(body)["results"]["bindings"][0]["n"]["value"]
    assert answers[True] == answers[False]
    assert int(answers[True]) == len(
        ox.Store.read_only(str(fixture_config.store_path.resolve()))
    )


# --- the held-out set of the reconciliation benchmark (issue 16, part 5) ------------
def test_reconcile_heldout_set_is_generated_by_its_rules_and_kept_apart() -> None:
    """The held-out set, built from the real sources, keeps its invariants.

    No row (query, expected id) is also in the tuning batch; every row names a rule
    that the module docstring documents; the negatives are not medical in the graph
    (MOE) or not Chinese (Hipo); the positives are graph resources joined by ROR id,
    except ``linker-only`` rows (index resources whose ROR record is not joined);
    the committed CSV is what the rules generate.
    """
    import reconcile_accuracy as bench

    root = BENCH.parent
    joins = bench.graph_joins(root)
    tuning = bench.build_cases(root)
    heldout, dropped = bench.build_heldout(root, tuning, joins)
    assert not {(c.query, c.expected) for c in heldout} & {
        (c.query, c.expected) for c in tuning
    }
    doc = bench.__doc__ or ""
    for case in heldout:
        assert case.form in bench.RULES and f"``{case.form}``" in doc, case
    for reason in dropped:
        assert reason.split(":", 1)[1] in bench.RULES, reason
    positives = [c for c in heldout if c.expected]
    assert len(positives) >= 500
    joined = [c for c in positives if c.form != "linker-only"]
    assert {c.expected for c in joined} <= set(joins.by_ror.values())
    assert {c.source[len("ror:") :] for c in joined} <= set(joins.by_ror)
    # linker-only: subjects of the index whose ROR record the graph does not join
    linker_only = [c for c in positives if c.form == "linker-only"]
    assert {c.expected for c in linker_only} <= joins.indexed
    assert not {c.source[len("ror:") :] for c in linker_only} & set(joins.by_ror)
    moe = bench._csv(root / "data/sources/china-heis-moe/china_heis_moe_list.csv")
    code_of = {f"moe:{r['seq']}": r["moe_code"] for r in moe}
    medical_names = {bench._fold(c.query) for c in positives}
    negatives = [c for c in heldout if not c.expected]
    moe_negatives = {c.source for c in negatives if c.source.startswith("moe:")}
    assert len(moe_negatives) == bench.MOE_NEGATIVES
    assert not {code_of[s] for s in moe_negatives} & set(joins.by_moe)
    assert not moe_negatives & {c.source for c in tuning if not c.expected}
    hipo = [c for c in negatives if c.form == "negative-hipo"]
    assert len(hipo) == bench.HIPO_NEGATIVES
    assert not {c.source[len("hipo:") :] for c in hipo} & bench.NOT_FOREIGN
    assert not {bench._fold(c.query) for c in negatives} & medical_names
    assert bench.batch_csv(heldout) == bench.HELDOUT.read_text("utf-8"), (
        "bench/data/reconcile-heldout.csv is stale: "
        "run python bench/reconcile_accuracy.py --heldout"
    )
