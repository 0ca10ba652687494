"""Names the linker finds in the Hipo university list (graph ``hipo``).

``mededkg link`` accepts links from institutions to Hipo records
(``data/links/institutions-hipo.sssom.tsv``); each linked record's name — often an older
English name, "Wenzhou Medical College" for 温州医科大学 — becomes a ``skos:altLabel``
of the institution, derived from the Hipo record and citing the Hipo source.
"""

from __future__ import annotations

import json
from pathlib import Path

from rdflib import Graph, URIRef

from mededkg.importer.common import en, source
from mededkg.matching.link import HIPO_NAMESPACE, hipo_iri
from mededkg.matching.sssom import expand, read_sssom
from mededkg.namespaces import DCTERMS, PROV, SKOS

HIPO = "hipo-universities"
LINKSET = "institutions-hipo.sssom.tsv"


def names_graph(
    folder: Path, links_dir: Path | None, known: dict[str, set[str]]
) -> Graph:
    """Each Hipo-linked institution's Hipo name, unless *known* (subject IRI → names
    the graph already has) holds it."""
    graph = Graph()
    path = links_dir / LINKSET if links_dir else None
    if path is None or not path.is_file():
        return graph
    with (folder / "china_subset.json").open(encoding="utf-8") as handle:
        items = json.load(handle)
    by_iri: dict[str, str] = {}
    for item in items:
        by_iri.setdefault(hipo_iri(item, HIPO_NAMESPACE), item["name"])
    mapping_set = read_sssom(path)
    src = source(HIPO)
    for row in mapping_set.rows:
        if row["predicate_id"] != "skos:exactMatch" or row.get("predicate_modifier"):
            continue
        subject = expand(row["subject_id"], mapping_set.curie_map)
        target = str(expand(row["object_id"], mapping_set.curie_map))
        name = by_iri.get(target, "").strip()
        if not name:
            continue
        subject_iri = URIRef(str(subject))
        if name.lower() in {n.lower() for n in known.get(str(subject_iri), set())}:
            continue
        graph.add((subject_iri, SKOS.altLabel, en(name)))
        graph.add((subject_iri, PROV.wasDerivedFrom, URIRef(target)))
        graph.add((subject_iri, DCTERMS.source, src))
    return graph
