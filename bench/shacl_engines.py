"""SHACL engines on the same shapes and data: pyshacl (the build's validator, the
reference) against rudof's Rust engine (``pyrudof``), timed and compared result by
result.

    pip install -e '.[bench]'         # pyrudof
    python bench/shacl_engines.py [--add FILE…] [--out bench/results/shacl.json]

The data is what the build validates: every asserted graph of the project (plus the
``--add`` files), with the ontology for the class hierarchy; the shapes are the
project's. Each engine runs in this process after the data is loaded, timed from
reading its input to having the results (rudof reads N-Triples written beforehand:
that write is not timed for either). Results are compared as sets of (severity, focus
node, path, constraint component, value): the messages differ by design (pyshacl
reports the shape's ``sh:message``, rudof its own text), and ``conforms`` is computed
the build's way for both (no result of severity Violation).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rdflib import Graph

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mededkg.namespaces import ONTOLOGY_GRAPH, SHAPES_GRAPH, graph_iri  # noqa: E402
from mededkg.pipeline.build import data_graphs, load_dataset  # noqa: E402
from mededkg.pipeline.validate import validate  # noqa: E402
from mededkg.settings import load_config  # noqa: E402

SH = "http://www.w3.org/ns/shacl#"
Key = tuple[str, str, str, str, str]


def _iri(text: object) -> str:
    """An IRI as rudof and pyshacl print it, without angle brackets."""
    value = "" if text is None else str(text)
    return value[1:-1] if value.startswith("<") and value.endswith(">") else value


def run_pyshacl(data: list[Graph], shapes: Graph, ontology: Graph) -> dict[str, Any]:
    start = time.perf_counter()
    report = validate(data, shapes, ontology)
    seconds = time.perf_counter() - start
    keys = {
        (r.severity, r.focus_node, r.path, r.constraint, r.value)
        for r in report.results
    }
    return {"seconds": seconds, "keys": keys}


def run_rudof(data_file: Path, shapes_file: Path) -> dict[str, Any]:
    import pyrudof

    rudof = pyrudof.Rudof(pyrudof.RudofConfig())
    start = time.perf_counter()
    rudof.read_data(str(data_file), format=pyrudof.RDFFormat.NTriples)
    rudof.read_shacl(str(shapes_file))
    report = rudof.validate_shacl()
    seconds = time.perf_counter() - start
    keys = {
        (
            _iri(e.severity).removeprefix(SH),
            _iri(e.focus_node),
            _iri(e.path),
            _iri(e.constraint_component).removeprefix(SH),
            "" if e.value is None else str(e.value),
        )
        for e in report
    }
    return {"seconds": seconds, "keys": keys}


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
    with tempfile.TemporaryDirectory() as folder:
        union = Graph()
        for graph in (*data, ontology):
            for triple in graph:
                union.add(triple)
        data_file = Path(folder) / "data.nt"
        union.serialize(data_file, format="nt", encoding="utf-8")
        shapes_file = Path(folder) / "shapes.ttl"
        shapes.serialize(shapes_file, format="turtle")
        triples = len(union)
        del union
        engines = {
            "pyshacl": run_pyshacl(data, shapes, ontology),
            "rudof": run_rudof(data_file, shapes_file),
        }
    reference = engines["pyshacl"]["keys"]
    summary: dict[str, Any] = {"triples_validated": triples, "engines": {}}
    for name, result in engines.items():
        keys = result["keys"]
        summary["engines"][name] = {
            "seconds": round(result["seconds"], 2),
            "results": len(keys),
            "by_severity": dict(Counter(k[0] for k in keys)),
            "conforms": not any(k[0] == "Violation" for k in keys),
            "missing_vs_pyshacl": sorted(reference - keys)[:20],
            "extra_vs_pyshacl": sorted(keys - reference)[:20],
            "same_results_as_pyshacl": keys == reference,
        }
    text = json.dumps(summary, indent=1, ensure_ascii=False)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
