"""Link discovery: match the graph's entities to the records of an external dataset.

The pipeline is four plain steps (the CLI's ``mededkg link`` chains them):

1. **Entities** — :func:`graph_entities` reads institutions, hospitals or disciplines
   from the project's graphs: their names (``rdfs:label``, ``skos:prefLabel``,
   ``skos:altLabel`` in any language), acronyms, web domains and places.
2. **Target records** — a reader streams the external dataset as
   :class:`TargetRecord` items: :func:`read_ror_json` (a ROR dump, schema v1 or v2, of
   any size: parsed with ``ijson``, never loaded whole), :func:`read_hipo` (the Hipo
   university list), :func:`read_table` (CSV/TSV with name and id columns),
   :func:`read_rdf` (an RDF file) and :func:`read_sparql` (a SPARQL endpoint).
3. **Matching** — :class:`Matcher` indexes the (few) entities by blocking keys (folded
   name tokens, Chinese bigrams, domains), then scores each streamed record against the
   entities it shares a key with: the best name-pair similarity
   (:mod:`mededkg.matching.similarity`), plus web-domain, acronym and place evidence.
   A pair whose
   places conflict (:func:`mededkg.matching.gazetteer.compare`: Henan / Hunan, Jinzhou /
   Binzhou) is never a candidate.
4. **Decision** — :func:`decide` turns the scored candidates into accepted links
   (``skos:exactMatch``, or ``skos:closeMatch`` to a record that is no longer active),
   review items (below the threshold, ambiguous, conflicting with an existing mapping)
   and unlinked entities; :func:`write_linkset` writes them as an SSSOM file and a
   review file, keeping every row a curator touched.

Every candidate carries its evidence as text, which becomes the SSSOM ``comment``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mededkg.matching import lexicon
from mededkg.matching.link.decide import decide, existing_mappings
from mededkg.matching.link.entities import graph_entities, union_graph
from mededkg.matching.link.linkset import (
    compress,
    describe,
    justification,
    linkset_paths,
    today_iso,
    write_linkset,
)
from mededkg.matching.link.match import KIND_PENALTY, Matcher
from mededkg.matching.link.model import (
    ENTITY_CLASSES,
    HIPO_NAMESPACE,
    LINK_COLUMNS,
    RECORD_KINDS,
    REVIEW_COLUMNS,
    TARGET_KINDS,
    TOOL,
    TOOL_AUTHOR,
    Candidate,
    Decision,
    Entity,
    LinkError,
    LinkResult,
    OverwriteRefused,
    TargetRecord,
    Thresholds,
    WriteReport,
    registered_domain,
    tool_version,
)
from mededkg.matching.link.readers import (
    DEFAULT_SPARQL,
    default_target_name,
    detect_kind,
    hipo_iri,
    read_hipo,
    read_rdf,
    read_ror_json,
    read_sparql,
    read_table,
    records_from,
)

__all__ = [
    "DEFAULT_SPARQL",
    "ENTITY_CLASSES",
    "HIPO_NAMESPACE",
    "KIND_PENALTY",
    "LINK_COLUMNS",
    "RECORD_KINDS",
    "REVIEW_COLUMNS",
    "TARGET_KINDS",
    "TOOL",
    "TOOL_AUTHOR",
    "Candidate",
    "Decision",
    "Entity",
    "LinkError",
    "LinkResult",
    "Matcher",
    "OverwriteRefused",
    "RunReport",
    "TargetRecord",
    "Thresholds",
    "WriteReport",
    "compress",
    "decide",
    "default_target_name",
    "describe",
    "detect_kind",
    "existing_mappings",
    "graph_entities",
    "hipo_iri",
    "justification",
    "link",
    "linkset_paths",
    "read_hipo",
    "read_rdf",
    "read_ror_json",
    "read_sparql",
    "read_table",
    "records_from",
    "registered_domain",
    "run",
    "today_iso",
    "tool_version",
    "union_graph",
    "write_linkset",
]


def link(
    entities: Sequence[Entity],
    records: Iterable[TargetRecord],
    *,
    thresholds: Thresholds | None = None,
    existing: dict[str, dict[str, str]] | None = None,
    use_domains: bool = True,
    words: lexicon.Lexicon | None = None,
    kinds: Iterable[str] = (),
) -> tuple[LinkResult, Matcher]:
    """Match *entities* against the streamed *records* and decide (steps 3 and 4);
    with *words*, a Chinese entity name's agreement with a record's English name
    counts (:mod:`mededkg.matching.lexicon`); with *kinds*, a record of another kind
    of organisation ranks lower (:data:`RECORD_KINDS`)."""
    matcher = Matcher(
        entities, use_domains=use_domains, words=words, kinds=kinds
    ).add_all(records)
    return (
        decide(
            entities, matcher.candidates(), thresholds=thresholds, existing=existing
        ),
        matcher,
    )


@dataclass(frozen=True)
class RunReport:
    """What :func:`run` did: how many entities and target records, the decisions,
    and what was written."""

    entities: int
    records: int
    result: LinkResult
    written: WriteReport


def run(
    dataset: Any,
    targets: Sequence[str],
    *,
    links_dir: Path,
    entities: str = "institutions",
    kind: str = "auto",
    target_name: str | None = None,
    id_column: str = "id",
    name_columns: Sequence[str] = ("name",),
    id_prefix: str = "",
    sparql_query: str = DEFAULT_SPARQL,
    thresholds: Thresholds | None = None,
    date: str | None = None,
    force: bool = False,
    translate: bool = False,
) -> RunReport:
    """The whole of ``mededkg link``: the entities of *dataset*, the records of
    *targets* (read as *kind*, ``auto`` to detect), matched and decided, written as
    the linkset and review file of *links_dir*. With *translate*, a word table
    learned from the entities' own names in both scripts
    (:func:`mededkg.matching.lexicon.learn`) weighs how well an entity's Chinese name
    translates a record's English name.

    Raises:
        LinkError: targets of different kinds, an unreadable target, or a linkset a
            curator changed (without *force*).
    """
    if kind == "auto":
        kinds = sorted({detect_kind(t) for t in targets})
        if len(kinds) > 1:
            raise LinkError(
                ", ".join(targets), f"the targets are of different kinds: {kinds}"
            )
        kind = kinds[0]
    thresholds = thresholds or Thresholds()
    name = target_name or default_target_name(targets[0], kind)
    found = graph_entities(union_graph(dataset), entities)
    sssom_path, _ = linkset_paths(links_dir, entities, name)
    records = itertools.chain.from_iterable(
        records_from(
            target,
            kind,
            id_column=id_column,
            name_columns=tuple(name_columns) or ("name",),
            id_prefix=id_prefix,
            sparql_query=sparql_query,
        )
        for target in targets
    )
    result, matcher = link(
        found,
        records,
        thresholds=thresholds,
        existing=existing_mappings(links_dir, exclude=sssom_path),
        kinds=RECORD_KINDS.get(entities, ()),
        words=(
            lexicon.learn(lexicon.pairs(e.names for e in found)) if translate else None
        ),
    )
    prefixes = {"hipo": HIPO_NAMESPACE} if kind == "hipo" else {}
    if id_prefix:
        prefixes[name] = id_prefix
    written = write_linkset(
        result,
        links_dir=links_dir,
        entities=entities,
        target=name,
        description=describe(entities, targets, kind, thresholds.accept),
        prefixes=prefixes,
        date=date,
        today=today_iso(),
        force=force,
    )
    return RunReport(len(found), matcher.records, result, written)
