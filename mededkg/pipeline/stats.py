"""Stats: what is in a store — triples per named graph, instances per class, sources."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import pyoxigraph as ox

from mededkg.query.gate import INTERNAL, SelectResult, execute
from mededkg.storage import Store


def internal_query(name: str) -> str:
    """The text of an internal query shipped in ``mededkg/sparql/<name>.rq``."""
    return (resources.files("mededkg") / "sparql" / f"{name}.rq").read_text("utf-8")


@dataclass(frozen=True)
class GraphStats:
    """One named graph: its IRI, size and what the data says about its origin."""

    iri: str
    triples: int
    title: str = ""
    source: str = ""
    license: str = ""


@dataclass(frozen=True)
class ClassStats:
    """One class: its IRI, labels and number of instances (asserted or inferred)."""

    iri: str
    label_en: str
    label_zh: str
    instances: int


@dataclass(frozen=True)
class Stats:
    """Counts over a whole store."""

    triples: int
    graphs: tuple[GraphStats, ...]
    classes: tuple[ClassStats, ...]


def stats(store: Store) -> Stats:
    """Count the store's triples per graph and instances per class."""
    described = {row["graph"]: row for row in _rows(store, "graph-descriptions")}
    graphs = tuple(
        GraphStats(
            iri=row["graph"],
            triples=int(row["triples"]),
            title=described.get(row["graph"], {}).get("title", ""),
            source=described.get(row["graph"], {}).get("source", ""),
            license=described.get(row["graph"], {}).get("license", ""),
        )
        for row in _rows(store, "graph-sizes")
    )
    classes = tuple(
        ClassStats(
            row["class"],
            row.get("label_en", ""),
            row.get("label_zh", ""),
            int(row["instances"]),
        )
        for row in _rows(store, "class-counts")
        if row.get("class")
    )
    return Stats(len(store), graphs, classes)


def _rows(store: Store, name: str) -> list[dict[str, str]]:
    result = execute(store, internal_query(name), limits=INTERNAL)
    assert isinstance(result, SelectResult)
    return [
        {
            var: term.value
            for var, term in zip(result.variables, row, strict=True)
            if isinstance(term, ox.NamedNode | ox.Literal)
        }
        for row in result.rows
    ]
