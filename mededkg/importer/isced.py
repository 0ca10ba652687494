"""ISCED 2011 levels and ISCED-F 2013 fields as SKOS concept schemes.

Source: data/sources/isced/ (isced2011-levels.csv, isced-f-2013-fields.csv).
"""

from __future__ import annotations

from pathlib import Path

from rdflib import RDF, Graph, Literal, URIRef

from mededkg.importer.common import en, iri, read_csv, source
from mededkg.namespaces import DCTERMS, PROV, SKOS

SLUG = "isced"
LEVELS_SCHEME = iri("isced-2011")
FIELDS_SCHEME = iri("isced-f-2013")


def level_iri(level: str) -> URIRef:
    """An ISCED 2011 level."""
    return iri("isced-2011-level", level)


def field_iri(code: str) -> URIRef:
    """An ISCED-F 2013 field."""
    return iri("isced-f-2013", code)


def build(folder: Path) -> Graph:
    """Both schemes from the CSV files in *folder*."""
    graph = Graph()
    src = source(SLUG)
    for scheme, label in (
        (LEVELS_SCHEME, "ISCED 2011 levels of education"),
        (FIELDS_SCHEME, "ISCED-F 2013 fields of education and training"),
    ):
        graph.add((scheme, RDF.type, SKOS.ConceptScheme))
        graph.add((scheme, SKOS.prefLabel, en(label)))
        graph.add((scheme, DCTERMS.source, src))
    for row in read_csv(folder / "isced2011-levels.csv"):
        concept = level_iri(row["level"])
        graph.add((concept, RDF.type, SKOS.Concept))
        graph.add((concept, SKOS.prefLabel, en(row["name_en"])))
        graph.add((concept, SKOS.notation, Literal(row["level"])))
        graph.add((concept, SKOS.inScheme, LEVELS_SCHEME))
        graph.add((concept, SKOS.topConceptOf, LEVELS_SCHEME))
        graph.add((concept, DCTERMS.source, src))
        graph.add((concept, PROV.wasDerivedFrom, URIRef(row["source_url"])))
    for row in read_csv(folder / "isced-f-2013-fields.csv"):
        concept = field_iri(row["code"])
        graph.add((concept, RDF.type, SKOS.Concept))
        graph.add((concept, SKOS.prefLabel, en(row["name_en"])))
        graph.add((concept, SKOS.notation, Literal(row["code"])))
        graph.add((concept, SKOS.inScheme, FIELDS_SCHEME))
        graph.add((concept, DCTERMS.source, src))
        if row["parent_code"]:
            graph.add((concept, SKOS.broader, field_iri(row["parent_code"])))
        else:
            graph.add((concept, SKOS.topConceptOf, FIELDS_SCHEME))
    return graph
