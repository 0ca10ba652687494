"""SHACL engines on the same shapes and data, timed and compared result by result with
pyshacl (the reference):

- ``rudof`` — the build's default (``mededkg.pipeline.validate``, rudof's Rust engine
  through pyrudof, data handed over as N-Triples);
- ``pyshacl`` — the reference (``--validator pyshacl``);
- ``pyshacl-turbo`` and ``shacl-rust`` — two other Rust engines on PyPI, measured, not
  used (``pip install -e '.[bench]'``; skipped when missing).

    python bench/shacl_engines.py [--add FILE…] [--out bench/results/shacl.json]

The data is what the build validates: every asserted graph of the project (plus the
``--add`` files), with the ontology for the class hierarchy; the shapes are the
project's. Each engine runs in this process after the data is loaded, timed from its
input to its results (the N-Triples file shacl-rust reads is written beforehand and
not timed; rudof's own N-Triples hand-over is timed, as it is part of the build).
Results are compared as sets of (severity, focus node, path, constraint component,
value); the messages differ by design where a shape has no ``sh:message``.
``conforms`` is computed the build's way for every engine (no Violation).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from rdflib import RDF, Graph

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mededkg.namespaces import ONTOLOGY_GRAPH, SH, SHAPES_GRAPH, graph_iri  # noqa: E402
from mededkg.pipeline.build import data_graphs, load_dataset  # noqa: E402
from mededkg.pipeline.validate import validate  # noqa: E402
from mededkg.settings import load_config  # noqa: E402

Key = tuple[str, str, str, str, str]
Engine = Callable[[list[Graph], Graph, Graph, Path], set[Key]]


def _bare(text: object) -> str:
    """An IRI as the engines print it, without angle brackets."""
    value = "" if text is None else str(text)
    return value[1:-1] if value.startswith("<") and value.endswith(">") else value


def _ours(validator: str) -> Engine:
    def run(data: list[Graph], shapes: Graph, ontology: Graph, _: Path) -> set[Key]:
        report = validate(data, shapes, ontology, validator=validator)
        assert report.engine == validator, report.engine_note
        return {
            (r.severity, r.focus_node, r.path, r.constraint, r.value)
            for r in report.results
        }

    return run


def _turbo(data: list[Graph], shapes: Graph, ontology: Graph, _: Path) -> set[Key]:
    import pyshacl_turbo  # type: ignore[import-not-found]

    from mededkg.pipeline.validate import _result

    union = Graph()
    for graph in data:
        for triple in graph:
            union.add(triple)
    _, report_graph, _ = pyshacl_turbo.validate(
        union,
        shacl_graph=shapes,
        ont_graph=ontology,
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    results = (
        _result(report_graph, node)
        for node in report_graph.subjects(RDF.type, SH.ValidationResult)
    )
    return {(r.severity, r.focus_node, r.path, r.constraint, r.value) for r in results}


def _shacl_rust(
    data: list[Graph], shapes: Graph, ontology: Graph, nt: Path
) -> set[Key]:
    import shacl_rust  # type: ignore[import-not-found]

    shapes_file = nt.with_name("shapes.ttl")
    report = shacl_rust.validate_file(str(nt), str(shapes_file))
    return {
        (
            _bare(r.get("severity")).removeprefix(str(SH)),
            _bare(r.get("focusNode")),
            _bare(r.get("resultPath")),
            _bare(r.get("sourceConstraintComponent")).removeprefix(str(SH)),
            "" if r.get("value") is None else str(r["value"]),
        )
        for r in report["results"]
    }


ENGINES: dict[
    str, tuple[str, Callable[[list[Graph], Graph, Graph, Path], set[Key]]]
] = {
    "pyshacl": ("pyshacl", _ours("pyshacl")),
    "rudof": ("pyrudof", _ours("rudof")),
    "pyshacl-turbo": ("pyshacl_turbo", _turbo),
    "shacl-rust": ("shacl_rust", _shacl_rust),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--add", type=Path, action="append", default=[])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    config = load_config({}, {})
    dataset = load_dataset(config, args.add)
    data = data_graphs(dataset, config.base_iri)
    shapes = dataset.graph(graph_iri(config.base_iri, SHAPES_GRAPH))
    ontology = dataset.graph(graph_iri(config.base_iri, ONTOLOGY_GRAPH))
    summary: dict[str, Any] = {"engines": {}}
    with tempfile.TemporaryDirectory() as folder:
        nt = Path(folder) / "data.nt"
        with nt.open("wb") as out:
            for graph in (*data, ontology):
                graph.serialize(out, format="nt", encoding="utf-8")
        shapes.serialize(Path(folder) / "shapes.ttl", format="turtle")
        summary["triples_validated"] = sum(len(g) for g in (*data, ontology))
        keys: dict[str, set[Key]] = {}
        for name, (module, run) in ENGINES.items():
            try:
                version = metadata.version(module.replace("_", "-"))
            except metadata.PackageNotFoundError:
                summary["engines"][name] = {"skipped": f"{module} is not installed"}
                continue
            start = time.perf_counter()
            keys[name] = run(data, shapes, ontology, nt)
            seconds = time.perf_counter() - start
            summary["engines"][name] = {
                "version": version,
                "seconds": round(seconds, 2),
            }
    reference = keys["pyshacl"]
    for name, found in keys.items():
        summary["engines"][name].update(
            {
                "results": len(found),
                "by_severity": dict(Counter(k[0] for k in found)),
                "conforms": not any(k[0] == "Violation" for k in found),
                "missing_vs_pyshacl": sorted(reference - found)[:10],
                "extra_vs_pyshacl": sorted(found - reference)[:10],
                "same_results_as_pyshacl": found == reference,
            }
        )
    text = json.dumps(summary, indent=1, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
